"""Small-area access (gapmap.access): hand-computed 2SFCA, the naive oracle, real LSOAs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gapmap.access import (
    AccessSettings,
    fca_from_pairs,
    load_small_areas,
    load_travel_times,
    small_area_access,
    straight_line_pairs,
    two_step_fca_naive,
)
from gapmap.errors import GapmapInputError

# A line of three small areas (BNG metres): A at 0 km and B at 10 km in district D1, C at 30 km
# in D2; 1,000, 3,000 and 2,000 residents. Two public IDVAs, at A and at C.
ORIGIN_X, ORIGIN_Y = 400_000.0, 300_000.0


def _small_areas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "small_area_code": ["A", "B", "C"],
            "small_area_name": ["Area A", "Area B", "Area C"],
            "district_code": ["D1", "D1", "D2"],
            "population": [1000.0, 3000.0, 2000.0],
            "x": ORIGIN_X + np.array([0.0, 10_000.0, 30_000.0]),
            "y": np.full(3, ORIGIN_Y),
        }
    )


def _services(rows: list[tuple[str, str, float, bool]]) -> gpd.GeoDataFrame:
    """(service_id, type, km along the line, confidential) -> services in BNG."""
    return gpd.GeoDataFrame(
        {
            "service_id": [r[0] for r in rows],
            "service_type": [r[1] for r in rows],
            "confidential": [r[3] for r in rows],
        },
        geometry=[shapely.Point(ORIGIN_X + r[2] * 1000, ORIGIN_Y) for r in rows],
        crs=27700,
    )


IDVAS = [("s1", "idva", 0.0, False), ("s2", "idva", 30.0, False)]


def test_hand_computed_two_step_floating_catchment():
    # Catchment 15 km. IDVA at A reaches A (0 km) and B (10 km): 4,000 residents, ratio 1/4,000.
    # IDVA at C reaches C only (B is 20 km away): 2,000 residents, ratio 1/2,000.
    # Scores per 100,000: A = B = 100,000/4,000 = 25; C = 100,000/2,000 = 50.
    result = small_area_access(
        _small_areas(), _services(IDVAS), settings=AccessSettings(catchment=15, beyond=5)
    )
    rows = result.scores.set_index("small_area_code")
    assert rows["score_per_100k"].to_dict() == pytest.approx({"A": 25.0, "B": 25.0, "C": 50.0})
    assert rows["nearest"].to_dict() == pytest.approx({"A": 0.0, "B": 10.0, "C": 0.0})
    assert rows["services_in_catchment"].to_dict() == {"A": 1, "B": 1, "C": 1}
    # Beyond 5 km: only B (3,000 of D1's 4,000 residents).
    d = result.districts.set_index("district_code")
    assert d.loc["D1", "population_beyond"] == 3000 and d.loc["D1", "share_beyond"] == pytest.approx(0.75)
    assert d.loc["D2", "population_beyond"] == 0 and d.loc["D2", "share_beyond"] == 0
    assert d.loc["D1", "small_areas_beyond"] == 1
    assert "Straight-line distance" in result.describe() and "15 km" in result.describe()


def test_hand_computed_linear_decay():
    # Linear decay, catchment 15 km: B is 10 km from the IDVA at A, weight 1 - 10/15 = 1/3.
    # Reached population at A: 1,000 + 3,000/3 = 2,000, ratio 1/2,000.
    # A = 100,000/2,000 = 50; B = (1/3) x 50 = 16.67; C = 50 as before.
    result = small_area_access(
        _small_areas(), _services(IDVAS), settings=AccessSettings(catchment=15, beyond=5, decay="linear")
    )
    rows = result.scores.set_index("small_area_code")["score_per_100k"]
    assert rows.to_dict() == pytest.approx({"A": 50.0, "B": 50.0 / 3, "C": 50.0})


def test_confidential_and_unlocated_services_never_count():
    # A confidential refuge beside B and a confidential IDVA at B: nothing changes for B, and
    # no refuge row exists at all (it would say where the refuge is).
    rows = [*IDVAS, ("r1", "refuge", 10.0, True), ("s3", "idva", 10.0, True)]
    services = _services(rows)
    services = pd.concat(
        [
            services,
            gpd.GeoDataFrame(
                {"service_id": ["s4"], "service_type": ["idva"], "confidential": [False]},
                geometry=[None],
                crs=27700,
            ),
        ],
        ignore_index=True,
    )
    result = small_area_access(_small_areas(), services, settings=AccessSettings(catchment=15, beyond=5))
    assert set(result.scores["service_type"]) == {"idva"}
    assert result.services_counted == {"idva": 2}
    b = result.scores.set_index("small_area_code").loc["B"]
    assert b["nearest"] == pytest.approx(10.0) and b["score_per_100k"] == pytest.approx(25.0)


def test_selection_keeps_neighbours_in_the_catchment():
    # Only D1 selected: C (in D2) still shares nothing with A's IDVA, and A's IDVA is still shared
    # by A and B, so D1's scores are those of the whole run.
    result = small_area_access(
        _small_areas(), _services(IDVAS), selection=["D1"], settings=AccessSettings(catchment=15, beyond=5)
    )
    assert list(result.scores["small_area_code"]) == ["A", "B"]
    assert list(result.scores["score_per_100k"]) == pytest.approx([25.0, 25.0])
    assert list(result.districts["district_code"]) == ["D1"]


def test_no_service_of_a_type_within_reach_is_beyond_and_scores_zero():
    result = small_area_access(
        _small_areas(),
        _services([("s1", "idva", 0.0, False)]),
        settings=AccessSettings(catchment=15, beyond=25),
    )
    c = result.scores.set_index("small_area_code").loc["C"]
    assert c["score_per_100k"] == 0 and c["nearest"] == pytest.approx(30.0) and bool(c["beyond"])


def test_travel_times_replace_straight_lines(tmp_path):
    # Minutes: A-s1 5, B-s1 25 (beyond a 20-minute catchment), C-s2 10, B-s2 15.
    # s1 reaches A only: ratio 1/1,000; s2 reaches B and C: 1/5,000.
    # A = 100; B = 20; C = 20 (per 100,000). Nearest: A 5, B 15, C 10.
    path = tmp_path / "tt.csv"
    path.write_text("origin,destination,minutes\nA,s1,5\nB,s1,25\nC,s2,10\nB,s2,15\nZ,s9,1\n")
    result = small_area_access(
        _small_areas(),
        _services(IDVAS),
        settings=AccessSettings(catchment=20, beyond=12),
        travel_times=load_travel_times(path),
    )
    rows = result.scores.set_index("small_area_code")
    assert rows["score_per_100k"].to_dict() == pytest.approx({"A": 100.0, "B": 20.0, "C": 20.0})
    assert rows["nearest"].to_dict() == pytest.approx({"A": 5.0, "B": 15.0, "C": 10.0})
    assert result.unit == "minutes" and "Travel time" in result.basis
    assert any("1 travel-time rows" in n for n in result.notes)


def test_bad_settings_and_files_are_readable_errors(tmp_path):
    with pytest.raises(GapmapInputError, match="decay"):
        AccessSettings(decay="cubic")
    bad = tmp_path / "sa.csv"
    bad.write_text("code,district_code,population,easting,northing\nX1,D1,-5,1,2\nX1,D1,7,a,2\n")
    with pytest.raises(GapmapInputError) as err:
        load_small_areas(bad)
    text = err.value.report.to_text()
    assert "row 2" in text and "row 3" in text and "population" in text and "earlier row" in text


# ----------------------------------------------------------------------------- the oracle

coords = st.floats(min_value=0, max_value=50_000, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    small=st.lists(st.tuples(coords, coords, st.integers(0, 5000)), min_size=1, max_size=25),
    services=st.lists(st.tuples(coords, coords), min_size=1, max_size=12),
    catchment_km=st.floats(min_value=1, max_value=40),
    decay=st.sampled_from(["none", "linear", "gaussian"]),
)
def test_fast_path_agrees_with_the_naive_oracle(small, services, catchment_km, decay):
    ox = np.array([s[0] for s in small])
    oy = np.array([s[1] for s in small])
    pop = np.array([s[2] for s in small], dtype=float)
    sx = np.array([s[0] for s in services])
    sy = np.array([s[1] for s in services])
    o, d, c = straight_line_pairs(ox, oy, sx, sy, catchment_km * 1000)
    fast = fca_from_pairs(o, d, c / 1000, pop, np.ones(len(sx)), catchment_km, decay)
    full = np.hypot(ox[:, None] - sx[None, :], oy[:, None] - sy[None, :]) / 1000
    naive = two_step_fca_naive(full, list(pop), [1.0] * len(sx), catchment_km, decay)
    assert fast == pytest.approx(naive, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    small=st.lists(st.tuples(coords, coords), min_size=1, max_size=40),
    services=st.lists(st.tuples(coords, coords), min_size=1, max_size=40),
    radius=st.floats(min_value=100, max_value=30_000),
)
def test_grid_pairs_are_exactly_the_pairs_in_reach(small, services, radius):
    ox, oy = np.array(small).T
    sx, sy = np.array(services).T
    o, d, dist = straight_line_pairs(ox, oy, sx, sy, radius)
    full = np.hypot(ox[:, None] - sx[None, :], oy[:, None] - sy[None, :])
    expected = {(int(i), int(j)) for i, j in zip(*np.nonzero(full <= radius), strict=True)}
    assert set(zip(o.tolist(), d.tolist(), strict=True)) == expected and len(o) == len(expected)
    assert dist == pytest.approx(full[o, d])


# ----------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_real_lsoas_of_leicestershire_and_lancashire(shared_data):
    polygons = gpd.read_file(shared_data / "lsoa" / "lsoa21_bsc_leics_lancs.geojson").to_crs(27700)
    built_in = load_small_areas()
    focus = built_in[built_in["small_area_code"].isin(polygons["lsoa21_code"])]
    # Every LSOA polygon of the shared file is a built-in small area, in the same district,
    # and its built-in point is the polygon's centroid (computed from the same BSC layer).
    assert len(focus) == len(polygons) == 1579
    merged = focus.merge(polygons, left_on="small_area_code", right_on="lsoa21_code")
    assert (merged["district_code"] == merged["ltla24_code"]).all()
    cent = shapely.centroid(merged.geometry.values)
    assert np.abs(shapely.get_x(cent) - merged["x"]).max() < 5  # metres (the built-in is rounded)

    # Two public IDVAs placed at LSOA centroids (Preston and Leicester) and one confidential one.
    first = {d: merged[merged["district_code"] == d].iloc[0] for d in ("E07000123", "E06000016")}
    services = gpd.GeoDataFrame(
        {"service_id": ["p", "l", "x"], "service_type": "idva", "confidential": [False, False, True]},
        geometry=[shapely.Point(r["x"], r["y"]) for r in (first["E07000123"], first["E06000016"])]
        + [shapely.Point(merged["x"].iloc[0], merged["y"].iloc[0])],
        crs=27700,
    )
    districts = sorted(set(polygons["ltla24_code"]))
    result = small_area_access(
        built_in, services, selection=districts, settings=AccessSettings(catchment=20, beyond=10)
    )
    rows = result.scores.set_index("small_area_code")
    assert len(rows) == 1579
    assert rows.loc[first["E07000123"]["small_area_code"], "nearest"] == pytest.approx(0.0)
    # The fast path agrees with the oracle over every LSOA of England within reach.
    near = built_in[
        (np.hypot(built_in["x"] - first["E07000123"]["x"], built_in["y"] - first["E07000123"]["y"]) <= 20_000)
        | (
            np.hypot(built_in["x"] - first["E06000016"]["x"], built_in["y"] - first["E06000016"]["y"])
            <= 20_000
        )
    ]
    sx = np.array([first["E07000123"]["x"], first["E06000016"]["x"]])
    sy = np.array([first["E07000123"]["y"], first["E06000016"]["y"]])
    full = np.hypot(near["x"].to_numpy()[:, None] - sx, near["y"].to_numpy()[:, None] - sy) / 1000
    oracle = dict(
        zip(
            near["small_area_code"],
            two_step_fca_naive(full, list(near["population"]), [1, 1], 20),
            strict=True,
        )
    )
    mine = rows["score_per_100k"] / 100_000
    for code, value in oracle.items():
        if code in mine.index:
            assert mine[code] == pytest.approx(value, rel=1e-9)
    # Shares are of Census 2021 residents: Preston's beyond-10-km share is between 0 and 1, and
    # the shares add up to the residents of the LSOAs flagged beyond.
    d = result.districts.set_index("district_code")
    assert (
        d.loc["E07000123", "population"]
        == focus.loc[focus["district_code"] == "E07000123", "population"].sum()
    )
    assert 0 < d.loc["E07000123", "share_beyond"] < 1
    assert d["population_beyond"].sum() == rows.loc[rows["beyond"], "population"].sum()
    # Rural Ribble Valley (no IDVA of its own) has more of its people beyond 10 km than Preston.
    assert d.loc["E07000124", "share_beyond"] > d.loc["E07000123", "share_beyond"]


# ----------------------------------------------------------------------------- the map


def test_voronoi_cells_tile_each_district_once():
    from gapmap.access_map import bands, small_area_cells

    # Two 10 km squares side by side, two small areas in the first and one in the second.
    districts = gpd.GeoDataFrame(
        {"area_code": ["D1", "D2"], "area_name": ["One", "Two"]},
        geometry=[shapely.box(0, 0, 10_000, 10_000), shapely.box(10_000, 0, 20_000, 10_000)],
        crs=27700,
    )
    small = pd.DataFrame(
        {
            "small_area_code": ["a", "b", "c"],
            "district_code": ["D1", "D1", "D2"],
            "x": [2_500.0, 7_500.0, 15_000.0],
            "y": [5_000.0, 5_000.0, 5_000.0],
        }
    )
    cells = small_area_cells(small, districts).set_index("small_area_code")
    # a and b split D1 down the middle (50 km2 each); c is the whole of D2.
    assert cells.area.to_dict() == pytest.approx({"a": 50e6, "b": 50e6, "c": 100e6})
    assert cells.loc["a"].geometry.contains(shapely.Point(2_500, 5_000))
    assert bands(15) == [0, 5, 10, 15, 20, np.inf]
