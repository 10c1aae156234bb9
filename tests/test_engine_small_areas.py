"""Access from where residents live: the engine's `small_area_population`, filled from the
built-in LSOAs (Census 2021 usual residents) when the districts are England's built in.

Without it a district's access distances were measured from an arbitrary point inside its
polygon (`point_on_surface`), which for a long rural district can be far from its towns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from test_engine import EXPECTED_KM, run, small_area_population

from gapmap.access import built_in_small_area_population, engine_small_area_population, load_small_areas
from gapmap.dataset import load_dataset
from gapmap.engine import analyse

TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def test_small_areas_become_rows_keyed_by_their_district():
    small = pd.DataFrame(
        {
            "small_area_code": ["L1", "L2", "L3"],
            "district_code": ["E07000001", "E07000001", "E07000002"],
            "population": [1500.0, 500.0, 2000.0],
            "x": [450_000.0, 452_000.0, 460_000.0],
            "y": [300_000.0, 301_000.0, 310_000.0],
        }
    )
    rows = engine_small_area_population(small)
    assert list(rows["area_code"]) == ["E07000001", "E07000001", "E07000002"]
    assert list(rows["population"]) == [1500.0, 500.0, 2000.0]
    assert list(rows["x"]) == [450_000.0, 452_000.0, 460_000.0]
    assert list(rows["y"]) == [300_000.0, 301_000.0, 310_000.0]
    assert list(rows.columns) == ["area_code", "population", "x", "y"]  # no projection to lon/lat


def test_bng_points_given_with_the_rows_give_the_same_distances():
    plain = small_area_population()
    x, y = TO_BNG.transform(plain["lon"].to_numpy(), plain["lat"].to_numpy())
    with_xy = plain.assign(x=x, y=y).drop(columns=["lon", "lat"])
    acc = run(small_area_population=with_xy).access
    for stype, by_area in EXPECTED_KM.items():  # the hand-computed distances of test_engine
        for area, km in by_area.items():
            row = acc[(acc.service_type == stype) & (acc.area_code == area)]
            assert row.nearest_km.iloc[0] == pytest.approx(km, abs=1e-4), (stype, area)


@pytest.fixture(scope="module")
def england(tmp_path_factory):
    """England built in, with one public IDVA placed at the residents' centre of Rutland."""
    small = load_small_areas()
    rutland = small[small["district_code"] == "E06000017"]
    cx = float(np.average(rutland["x"], weights=rutland["population"]))
    cy = float(np.average(rutland["y"], weights=rutland["population"]))
    lon, lat = TO_WGS84.transform(cx, cy)
    path = tmp_path_factory.mktemp("england") / "services.csv"
    pd.DataFrame(
        {
            "service_id": ["S1"],
            "name": ["Rutland IDVA"],
            "service_type": ["idva"],
            "latitude": [round(lat, 7)],
            "longitude": [round(lon, 7)],
            "capacity": [1.0],
        }
    ).to_csv(path, index=False)
    return load_dataset(services=path)


def test_england_built_in_carries_its_lsoas_populations(england):
    small = england.small_area_population
    assert small is not None
    assert len(small) == 33_755
    assert small["population"].sum() == 56_490_046  # Census 2021 usual residents, England
    assert set(small["area_code"]) == set(england.areas["area_code"])  # all 296 districts


def test_england_access_is_measured_from_where_residents_live(england):
    analysis = analyse(
        england.areas,
        england.population,
        england.services,
        england.config,
        selection=["E06000017", "E07000131"],  # Rutland, Harborough
        small_area_population=england.small_area_population,
    )
    assert analysis.summary["access_origin"] == "population-weighted centre of small areas"
    km = analysis.access.set_index("area_code")["nearest_km"]
    # The service stands at Rutland's residents' centre (to the 7 decimal places of its
    # latitude and longitude, about a centimetre).
    assert km["E06000017"] == pytest.approx(0.0, abs=1e-4)
    assert km["E07000131"] > 5


def test_the_built_in_rows_are_a_copy():
    a = built_in_small_area_population()
    assert a is not None
    a.loc[0, "population"] = -1
    assert built_in_small_area_population().loc[0, "population"] != -1


def test_other_geographies_have_no_small_areas():
    from gapmap.dataset import load_demo

    assert load_demo().small_area_population is None


def test_a_level_keys_the_small_areas_by_its_own_areas(england):
    from gapmap.levels import at_level

    leicestershire = ["E06000016", "E06000017", "E07000129", "E07000130", "E07000131"]
    analysis = analyse(
        england.areas,
        england.population,
        england.services,
        england.config,
        selection=leicestershire,
        small_area_population=england.small_area_population,
    )
    level_dataset, _ = at_level(england, analysis, "pfa")
    small = level_dataset.small_area_population
    original = england.small_area_population
    # Every LSOA of England keeps its residents, now under its police force area's code: those
    # of Rutland under Leicestershire's force, the one area of the level selected.
    assert len(small) == len(original) and small["population"].sum() == 56_490_046
    assert small["area_code"].str.startswith("E23").all()
    rutland = (original["area_code"] == "E06000017").to_numpy()
    assert set(small.loc[rutland, "area_code"]) == set(level_dataset.areas["area_code"]) == {"E23000021"}


def test_the_built_in_rows_are_those_of_the_whole_small_area_file():
    # The built-in rows read four columns only; they must be what the full loader gives.
    light = built_in_small_area_population()
    full = engine_small_area_population(load_small_areas())
    assert light is not None and len(light) == len(full) > 30_000
    pd.testing.assert_frame_equal(light, full, check_exact=True)
