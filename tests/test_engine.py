"""The gap engine on a hand-computed fixture: four 10 km squares in British National Grid.

    C (E00000003) | D (E00000004, no population)      y 310-320 km
    A (E00000001) | B (E00000002)                     y 300-310 km
    x 400-410 km    x 410-420 km

Population:       females_16_plus  females  all_persons
    A                 50,000        60,000    120,000
    B                 25,000        30,000    100,000
    C                 25,000        30,000    100,000
    D                 (no row: "an area with no population")

Services (scored under the seed profile `seed_2013_2023`, pinned: its MARAC and per-women
refuge benchmarks exercise counts, catchments and the no-denominator split):
    S1  idva 3 FTE, serves A,B by code         -> A 2.0, B 1.0 (by females 16+: 50k : 25k)
    S2  idva 1 FTE, serves "*"                 -> A 0.5, B 0.25, C 0.25, D 0 (no denominator)
    S3  idva 0.5 FTE, point in C               -> C 0.5
    S4  idva without capacity, point in A      -> unmeasured in A
    S5  marac, 2 km circle centred on the A/B border
        land share A = B = (pi 2^2 / 2) / 100 = 0.0628; weights 50k : 25k -> A 2/3, B 1/3
    S6  marac, point in D (no population)      -> D 1 (split without denominator)
    S7  refuge 6 family spaces, confidential, serves C (a name resolved by the loader)
    S8  helpline, serves "*", no capacity
    S9  perpetrator programme 20 places, point in B, funding ends 2026-03-31
    S10 idva 1 FTE, point outside every area   -> unassigned
"""

from __future__ import annotations

import json
import math
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gapmap.config import default_config
from gapmap.engine import (
    ACCESS_COLUMNS,
    COVERAGE_COLUMNS,
    GAPS_COLUMNS,
    analyse,
    services_serving,
    worst_served,
)
from gapmap.errors import GapmapInputError
from gapmap.filters import ServiceFilter
from gapmap.schema import SERVICE_COLUMNS

CONFIG = default_config()
TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)

A, B, C, D = "E00000001", "E00000002", "E00000003", "E00000004"
KM = 1000.0


# ----------------------------------------------------------------------------- builders


def wgs84(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(x, y)
    return float(lon), float(lat)


def square(x0: float, y0: float, side: float = 10 * KM) -> shapely.Polygon:
    """A BNG square, stored in EPSG:4326 (vertices projected, as a boundary file would hold it)."""
    corners = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    return shapely.Polygon([wgs84(x, y) for x, y in corners])


def make_areas(specs: list[tuple[str, str, float, float]] | None = None) -> gpd.GeoDataFrame:
    specs = specs or [
        (A, "Alpha", 400 * KM, 300 * KM),
        (B, "Bravo", 410 * KM, 300 * KM),
        (C, "Charlie", 400 * KM, 310 * KM),
        (D, "Delta", 410 * KM, 310 * KM),
    ]
    return gpd.GeoDataFrame(
        {"area_code": [s[0] for s in specs], "area_name": [s[1] for s in specs]},
        geometry=[square(s[2], s[3]) for s in specs],
        crs=4326,
    )


def make_population() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": [A, B, C],
            "females_16_plus": [50_000.0, 25_000.0, 25_000.0],
            "females": [60_000.0, 30_000.0, 30_000.0],
            "all_persons": [120_000.0, 100_000.0, 100_000.0],
        }
    )


def service(service_id: str, service_type: str, *, bng: tuple[float, float] | None = None, **kw) -> dict:
    """One normalised service row; defaults from the vocabulary like the loader's."""
    st = CONFIG.service_types[service_type]
    lon, lat = wgs84(*bng) if bng is not None else (math.nan, math.nan)
    row = {
        "service_id": service_id,
        "name": f"Service {service_id}",
        "service_type": service_type,
        "provider": "",
        "tiers": st.tiers,
        "cohorts": st.cohorts,
        "abuse_types": st.abuse_types,
        "latitude": lat,
        "longitude": lon,
        "postcode": "",
        "address": "",
        "location_source": "latlon" if bng is not None else "",
        "serves": (),
        "catchment_km": math.nan,
        "capacity": math.nan,
        "capacity_unit": st.capacity_unit,
        "specialist_groups": (),
        "hours": "",
        "funding_end": pd.NaT,
        "confidential": st.confidential,
        "intervention": "",
        "source_row": 2,
        "geometry": shapely.Point(lon, lat) if bng is not None else None,
    }
    row.update(kw)
    return row


def make_services(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    frame["funding_end"] = pd.to_datetime(frame["funding_end"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


def fixture_services() -> gpd.GeoDataFrame:
    return make_services(
        [
            service("S1", "idva", serves=(A, B), capacity=3.0),
            service("S2", "idva", serves=("*",), capacity=1.0),
            service("S3", "idva", bng=(405 * KM, 315 * KM), capacity=0.5),
            service("S4", "idva", bng=(402 * KM, 305 * KM)),
            service("S5", "marac", bng=(410 * KM, 305 * KM), catchment_km=2.0),
            service("S6", "marac", bng=(415 * KM, 315 * KM)),
            service("S7", "refuge", serves=(C,), capacity=6.0, bng=(404 * KM, 314 * KM)),
            service("S8", "helpline", serves=("*",)),
            service(
                "S9",
                "perpetrator_programme",
                bng=(415 * KM, 305 * KM),
                capacity=20.0,
                funding_end=pd.Timestamp("2026-03-31"),
            ),
            service("S10", "idva", bng=(450 * KM, 350 * KM), capacity=1.0),
        ]
    )


def small_area_population() -> pd.DataFrame:
    """Two small areas per square whose population-weighted centre is the square's centre."""
    rows = []
    for code, cx, cy in [
        (A, 405 * KM, 305 * KM),
        (B, 415 * KM, 305 * KM),
        (C, 405 * KM, 315 * KM),
        (D, 415 * KM, 315 * KM),
    ]:
        for dx, pop in ((-3 * KM, 300.0), (1 * KM, 900.0)):  # (-3 x 300 + 1 x 900) / 1200 = 0
            lon, lat = wgs84(cx + dx, cy)
            rows.append({"area_code": code, "lon": lon, "lat": lat, "population": pop})
    return pd.DataFrame(rows)


SEED = "seed_2013_2023"


def run(**kw):
    kw.setdefault("profile", SEED)
    return analyse(make_areas(), make_population(), fixture_services(), CONFIG, **kw)


def gap(analysis, area: str, bench: str) -> pd.Series:
    rows = analysis.gaps[(analysis.gaps.area_code == area) & (analysis.gaps.benchmark_id == bench)]
    assert len(rows) == 1, (area, bench, rows)
    return rows.iloc[0]


def cell(analysis, area: str, tier: str, cohort: str) -> pd.Series:
    c = analysis.coverage
    rows = c[(c.area_code == area) & (c.tier == tier) & (c.cohort == cohort)]
    assert len(rows) == 1
    return rows.iloc[0]


# ----------------------------------------------------------------------------- gaps


# (area, benchmark) -> denominator, required, provided, ratio, shortfall, status, unmeasured
EXPECTED_GAPS = {
    (A, "idva_fte"): (50_000, 2.0, 2.5, 1.25, 0.0, "green", 1),
    (B, "idva_fte"): (25_000, 1.0, 1.25, 1.25, 0.0, "green", 0),
    (C, "idva_fte"): (25_000, 1.0, 0.75, 0.75, 0.25, "amber", 0),
    (D, "idva_fte"): (None, None, 0.0, None, None, "no_data", 0),
    ("ALL", "idva_fte"): (100_000, 4.0, 4.5, 1.125, 0.0, "green", 1),
    (A, "marac"): (50_000, 0.5, 2 / 3, 4 / 3, 0.0, "green", 0),
    (B, "marac"): (25_000, 0.25, 1 / 3, 4 / 3, 0.0, "green", 0),
    (C, "marac"): (25_000, 0.25, 0.0, 0.0, 0.25, "red", 0),
    (D, "marac"): (None, None, 1.0, None, None, "no_data", 0),
    ("ALL", "marac"): (100_000, 1.0, 1.0, 1.0, 0.0, "green", 0),
    (A, "refuge_family_spaces"): (60_000, 6.0, 0.0, 0.0, 6.0, "red", 0),
    (B, "refuge_family_spaces"): (30_000, 3.0, 0.0, 0.0, 3.0, "red", 0),
    (C, "refuge_family_spaces"): (30_000, 3.0, 6.0, 2.0, 0.0, "green", 0),
    (D, "refuge_family_spaces"): (None, None, 0.0, None, None, "no_data", 0),
    ("ALL", "refuge_family_spaces"): (120_000, 12.0, 6.0, 0.5, 6.0, "amber", 0),
    (A, "rape_crisis_centre"): (60_000, 0.12, 0.0, 0.0, 0.12, "red", 0),
    ("ALL", "rape_crisis_centre"): (120_000, 0.24, 0.0, 0.0, 0.24, "red", 0),
    ("ALL", "sarc"): (120_000, 0.24, 0.0, 0.0, 0.24, "red", 0),
    ("ALL", "helpline"): (None, 1.0, 1.0, 1.0, 0.0, "green", 0),
    ("ALL", "refuge_presence"): (None, 1.0, 1.0, 1.0, 0.0, "green", 0),
}


def assert_close(actual, expected, what):
    if expected is None:
        assert actual is None or (isinstance(actual, float) and math.isnan(actual)), what
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), what


@pytest.mark.parametrize(("key", "expected"), list(EXPECTED_GAPS.items()), ids=lambda v: str(v))
def test_gaps_match_hand_calculation(key, expected):
    row = gap(run(), *key)
    names = ("denominator", "required", "provided", "ratio", "shortfall")
    for name, value in zip(names, expected[:5], strict=True):
        assert_close(row[name], value, (key, name))
    assert row["status"] == expected[5]
    assert row["unmeasured_services"] == expected[6]


def test_gaps_shape_and_order():
    analysis = run()
    assert list(analysis.gaps.columns) == list(GAPS_COLUMNS)
    # 5 area benchmarks x (4 areas + ALL) + 2 selection benchmarks x ALL.
    assert len(analysis.gaps) == 5 * 5 + 2
    idva = analysis.gaps[analysis.gaps.benchmark_id == "idva_fte"]
    assert list(idva.area_code) == [A, B, C, D, "ALL"]
    all_row = idva.iloc[-1]
    assert all_row.area_name == "All selected areas"
    assert all_row.benchmark_label == "IDVA posts (FTE)"
    helpline = analysis.gaps[analysis.gaps.benchmark_id == "helpline"]
    assert list(helpline.area_code) == ["ALL"]


def test_summary_counts_and_benchmark_totals():
    s = run().summary
    assert s["profile"]["id"] == "seed_2013_2023"
    assert s["profile"]["label"] == CONFIG.profile(SEED).label
    # The seed profile's caveat travels with its outputs: it names where it departs.
    assert "per 10,000 women instead of per 10,000 population" in s["profile"]["caveat"]
    assert s["filters"] == "All services"
    assert s["services_in"] == 10
    assert s["services_after_filter"] == 10
    assert s["unassigned_services"] == 1  # S10
    assert s["services_serving_selection"] == 9
    idva = s["benchmarks"]["idva_fte"]
    assert idva["required"] == pytest.approx(4.0)
    assert idva["provided"] == pytest.approx(4.5)
    assert idva["ratio"] == pytest.approx(1.125)
    assert idva["status"] == "green"
    assert idva["unmeasured_services"] == 1
    assert idva["services_counted"] == 4  # S1-S4 (S10 serves nothing)
    assert idva["areas_without_denominator"] == 1
    assert s["benchmarks"]["marac"]["split_without_denominator"] == 1  # S6, only D
    assert s["benchmarks"]["helpline"]["provided"] == 1
    assert any("split by land share" in n for n in s["notes"])
    json.dumps(s, allow_nan=False)  # JSON-able, no NaN


# ----------------------------------------------------------------------------- assignment


def test_catchment_land_share_is_half_a_circle_in_each_square():
    a = run().assignments
    s5 = a[a.service_id == "S5"].set_index("area_code")
    half_circle_share = (math.pi * 2.0**2 / 2) / 100.0  # km^2 / km^2
    assert set(s5.index) == {A, B}
    assert s5.loc[A, "land_share"] == pytest.approx(half_circle_share, rel=1e-6)
    assert s5.loc[B, "land_share"] == pytest.approx(half_circle_share, rel=1e-6)
    assert set(s5["method"]) == {"catchment"}
    # weight = share by all persons: 120k : 100k.
    assert s5.loc[A, "weight"] == pytest.approx(120 / 220)


def test_assignment_methods():
    a = run().assignments
    by = a.groupby("service_id")
    assert set(by.get_group("S1").area_code) == {A, B}
    assert set(by.get_group("S1").method) == {"serves"}
    assert set(by.get_group("S2").area_code) == {A, B, C, D}
    assert set(by.get_group("S2").method) == {"everywhere"}
    assert list(by.get_group("S3").area_code) == [C]
    assert list(by.get_group("S3").method) == ["point"]
    assert list(by.get_group("S7").area_code) == [C]  # serves wins over the point
    assert "S10" not in set(a.service_id)
    # Weights of each service sum to 1 (capacity conserved).
    assert by["weight"].sum().to_numpy() == pytest.approx(np.ones(9))


def test_catchment_circle_covering_whole_square_and_circle_inside_square():
    areas = make_areas()
    services = make_services(
        [
            # 20 km circle at A's centre: covers all of A (the corners are 7.07 km away),
            # and parts of B, C and D.
            service("big", "outreach", bng=(405 * KM, 305 * KM), catchment_km=20.0, capacity=1.0),
            # 1 km circle well inside C.
            service("small", "outreach", bng=(405 * KM, 315 * KM), catchment_km=1.0, capacity=1.0),
        ]
    )
    a = analyse(areas, make_population(), services, CONFIG, profile=SEED).assignments
    big = a[a.service_id == "big"].set_index("area_code")["land_share"]
    assert big[A] == pytest.approx(1.0)
    # Oracle: shapely on a finely polygonised circle in BNG.
    circle = shapely.Point(405 * KM, 305 * KM).buffer(20 * KM, quad_segs=512)
    for code, x0, y0 in [(B, 410, 300), (C, 400, 310), (D, 410, 310)]:
        sq = shapely.box(x0 * KM, y0 * KM, (x0 + 10) * KM, (y0 + 10) * KM)
        assert big[code] == pytest.approx(circle.intersection(sq).area / sq.area, rel=1e-4)
    small = a[a.service_id == "small"]
    assert list(small.area_code) == [C]
    assert small.land_share.iloc[0] == pytest.approx(math.pi / 100.0, rel=1e-6)


def test_point_on_a_shared_border_goes_to_one_area_only():
    services = make_services([service("edge", "idva", bng=(410 * KM, 305 * KM), capacity=1.0)])
    a = analyse(make_areas(), make_population(), services, CONFIG, profile=SEED).assignments
    assert len(a) == 1
    assert a.area_code.iloc[0] in {A, B}


def test_unknown_serves_codes_are_ignored_and_duplicates_count_once():
    services = make_services([service("s", "idva", serves=(A, A, "E99999999"), capacity=2.0)])
    analysis = analyse(make_areas(), make_population(), services, CONFIG, profile=SEED)
    assert list(analysis.assignments.area_code) == [A]
    assert gap(analysis, A, "idva_fte").provided == pytest.approx(2.0)


def test_service_serving_only_areas_without_denominator_is_split_equally():
    services = make_services([service("s", "idva", serves=(D, "E00000005"), capacity=2.0)])
    areas = make_areas(
        [
            (A, "Alpha", 400 * KM, 300 * KM),
            (D, "Delta", 410 * KM, 310 * KM),
            ("E00000005", "Echo", 420 * KM, 310 * KM),
        ]
    )
    analysis = analyse(areas, make_population(), services, CONFIG, profile=SEED)
    assert gap(analysis, D, "idva_fte").provided == pytest.approx(1.0)
    assert gap(analysis, "E00000005", "idva_fte").provided == pytest.approx(1.0)
    assert analysis.summary["benchmarks"]["idva_fte"]["split_without_denominator"] == 1


# ----------------------------------------------------------------------------- selection


def test_partnership_selection_sees_only_its_share_of_star_services():
    analysis = run(selection=[A, B])
    assert analysis.selection == (A, B)
    idva_all = gap(analysis, "ALL", "idva_fte")
    assert idva_all.denominator == pytest.approx(75_000)
    assert idva_all.required == pytest.approx(3.0)
    assert idva_all.provided == pytest.approx(3.75)  # S1 3 + S2's 0.75 (C gets the other 0.25)
    assert idva_all.ratio == pytest.approx(1.25)
    presence = gap(analysis, "ALL", "refuge_presence")  # the refuge serves C only
    assert (presence.provided, presence.ratio, presence.shortfall, presence.status) == (0, 0, 1, "red")
    assert set(analysis.gaps.area_code) == {A, B, "ALL"}
    s = analysis.summary
    assert s["patchwork_cells_provided"] == 3
    assert s["patchwork_gaps"] == 1
    assert s["patchwork_index"] == pytest.approx(1 / 6)
    assert s["patchwork_index_weighted"] == pytest.approx(120 / (220 * 3))


def test_unknown_selection_code_is_a_clear_error():
    with pytest.raises(GapmapInputError, match="E12345678"):
        run(selection=[A, "E12345678"])


# ----------------------------------------------------------------------------- coverage


def test_coverage_cells_and_patchwork():
    analysis = run()
    cov = analysis.coverage
    assert list(cov.columns) == list(COVERAGE_COLUMNS)
    assert len(cov) == 4 * len(CONFIG.tiers) * len(CONFIG.cohorts)  # zeros included
    expected = {
        ("secondary", "victims"): {A: 4, B: 3, C: 3, D: 2},
        ("tertiary", "victims"): {A: 4, B: 3, C: 3, D: 2},
        ("tertiary", "cyp"): {A: 0, B: 0, C: 1, D: 0},
        ("secondary", "perpetrators"): {A: 0, B: 1, C: 0, D: 0},
    }
    for (tier, cohort), by_area in expected.items():
        for area, n in by_area.items():
            row = cell(analysis, area, tier, cohort)
            assert row.services == n, (tier, cohort, area)
            assert bool(row.patchwork_gap) == (n == 0), (tier, cohort, area)
    others = cov[~cov.set_index(["tier", "cohort"]).index.isin(list(expected))]
    assert (others.services == 0).all()
    assert not others.patchwork_gap.any()  # nobody has them: not a patchwork gap


def test_patchwork_index_and_tier_shares():
    s = run().summary
    assert s["patchwork_cells_provided"] == 4
    assert s["patchwork_gaps"] == 6  # A 2, B 1, C 1, D 2
    assert s["patchwork_index"] == pytest.approx(6 / 16)
    # Weighted by all persons; D has no population and weighs nothing.
    assert s["patchwork_population"] == "all_persons"
    assert s["patchwork_index_weighted"] == pytest.approx((2 * 120 + 100 + 100) / (320 * 4))
    shares = s["tier_shares"]
    # 9 services serve the selection; an idva (secondary + tertiary) counts 1/2 in each.
    assert shares["primary"]["services"] == pytest.approx(0.0)
    assert shares["secondary"]["services"] == pytest.approx(4 / 9)  # 4 idva halves + helpline + perp
    assert shares["tertiary"]["services"] == pytest.approx(5 / 9)
    assert shares["secondary"]["capacity"]["fte"] == pytest.approx(0.5)
    assert shares["tertiary"]["capacity"]["family_spaces"] == pytest.approx(1.0)
    assert shares["secondary"]["capacity"]["places"] == pytest.approx(1.0)
    assert s["tier_capacity_totals"]["fte"] == pytest.approx(4.5)


# ----------------------------------------------------------------------------- filters


def test_funding_cliff_filter_drops_ended_services():
    analysis = run(service_filter=ServiceFilter(on=date(2026, 4, 1)))
    assert analysis.summary["services_after_filter"] == 9
    assert analysis.summary["filters"] == "funded on 2026-04-01"
    assert cell(analysis, B, "secondary", "perpetrators").services == 0
    assert not analysis.coverage.patchwork_gap[analysis.coverage.cohort == "perpetrators"].any()
    kept = run(service_filter=ServiceFilter(on=date(2026, 3, 31)))
    assert kept.summary["services_after_filter"] == 10  # ends on the day: still funded


def test_type_filter():
    analysis = run(service_filter=ServiceFilter(service_types={"marac"}))
    assert analysis.summary["services_after_filter"] == 2
    assert gap(analysis, A, "idva_fte").provided == 0
    assert gap(analysis, A, "marac").provided == pytest.approx(2 / 3)


# ----------------------------------------------------------------------------- access


EXPECTED_KM = {
    "idva": {A: 3.0, B: 13.0, C: 0.0, D: 10.0},
    "marac": {A: 5.0, B: 5.0, C: 10.0, D: 0.0},
    "perpetrator_programme": {A: 10.0, B: 0.0, C: math.hypot(10, 10), D: 10.0},
}


def test_access_from_population_weighted_centres():
    analysis = run(small_area_population=small_area_population())
    acc = analysis.access
    assert list(acc.columns) == list(ACCESS_COLUMNS)
    # Refuges are confidential and S1/S2/S8 have no location: only these three types.
    assert set(acc.service_type) == set(EXPECTED_KM)
    for stype, by_area in EXPECTED_KM.items():
        for area, km in by_area.items():
            row = acc[(acc.service_type == stype) & (acc.area_code == area)]
            assert row.nearest_km.iloc[0] == pytest.approx(km, abs=1e-4), (stype, area)
    assert analysis.summary["access_origin"] == "population-weighted centre of small areas"
    worst = worst_served(acc, "idva", n=2)
    assert list(worst.area_code) == [B, D]


def test_access_without_small_areas_uses_a_point_inside_each_area():
    analysis = run()
    acc = analysis.access
    assert len(acc) == 4 * 3
    assert (acc.nearest_km >= 0).all()
    # Any point inside B is within 10 * sqrt(2) km of S9 (also in B).
    b = acc[(acc.area_code == B) & (acc.service_type == "perpetrator_programme")]
    assert b.nearest_km.iloc[0] <= 10 * math.sqrt(2)
    assert analysis.summary["access_origin"] == "a point inside each area"


def test_access_is_measured_when_first_read_and_pickles_before(monkeypatch):
    """The map never reads access: `analyse` leaves the nearest search to the first read."""
    import pickle

    from gapmap import engine

    def refuse(*args, **kwargs):
        raise AssertionError("the nearest search ran before access was read")

    monkeypatch.setattr(engine, "_nearest_by_group", refuse)
    analysis = run(small_area_population=small_area_population())
    assert analysis.summary["access_origin"] == "population-weighted centre of small areas"
    copy = pickle.loads(pickle.dumps(analysis))  # the app's cache pickles it unread
    with pytest.raises(AssertionError, match="before access was read"):
        _ = copy.access
    monkeypatch.undo()
    acc = copy.access
    row = acc[(acc.service_type == "idva") & (acc.area_code == B)]
    assert row.nearest_km.iloc[0] == pytest.approx(13.0, abs=1e-4)
    assert copy.access is acc  # built once, then kept


# ----------------------------------------------------------------------------- helpers


def test_services_serving_redacts_confidential_locations():
    services = fixture_services()
    analysis = analyse(make_areas(), make_population(), services, CONFIG, profile=SEED)
    in_c = services_serving(analysis, services, C)
    assert set(in_c.service_id) == {"S2", "S3", "S7", "S8"}
    refuge = in_c[in_c.service_id == "S7"].iloc[0]
    assert refuge.geometry is None and math.isnan(refuge.latitude)
    assert in_c.set_index("service_id").loc["S3", "share"] == pytest.approx(1.0)


def test_empty_service_list():
    analysis = analyse(make_areas(), make_population(), make_services([]), CONFIG, profile=SEED)
    idva = gap(analysis, A, "idva_fte")
    assert idva.provided == 0 and idva.status == "red"
    assert analysis.summary["patchwork_index"] is None
    assert analysis.access.empty
    assert (analysis.coverage.services == 0).all()


def test_required_zero_is_green_with_undefined_ratio():
    population = make_population()
    population.loc[population.area_code == B, "females_16_plus"] = 0.0
    analysis = analyse(make_areas(), population, fixture_services(), CONFIG, profile=SEED)
    row = gap(analysis, B, "idva_fte")
    assert row.required == 0 and math.isnan(row.ratio)
    assert (row.shortfall, row.status) == (0, "green")
    # S1 is now shared A : B = 50k : 0, so A gets all 3 FTE, and S2 A : C = 50k : 25k.
    assert gap(analysis, A, "idva_fte").provided == pytest.approx(3 + 2 / 3)


def test_status_agrees_with_config_status_for():
    g = run().gaps
    measured = g[g.status != "no_data"].dropna(subset=["ratio"])
    assert list(measured.status) == [CONFIG.status_for(r) for r in measured.ratio]


def test_only_star_services():
    services = make_services(
        [
            service("nat", "idva", serves=("*",), capacity=10.0),
            service("train", "professional_training", serves=("*",), capacity=30.0),
        ]
    )
    analysis = analyse(make_areas(), make_population(), services, CONFIG, profile=SEED, selection=[A, B])
    # Shared over the whole dataset by females 16+ (D has none): A 5/10, B 2.5/10.
    assert gap(analysis, A, "idva_fte").provided == pytest.approx(5.0)
    assert gap(analysis, "ALL", "idva_fte").provided == pytest.approx(7.5)
    # The selection holds (120k + 100k) / 320k of the all-persons population.
    assert analysis.summary["tier_capacity_totals"]["places"] == pytest.approx(30 * 220 / 320)
    assert analysis.summary["tier_shares"]["primary"]["capacity"]["places"] == pytest.approx(0.5)
    assert cell(analysis, A, "primary", "community").services == 1
    assert len(analysis.assignments) == 2 * 4


def test_projection_is_the_fixed_helmert_whatever_grids_the_machine_has():
    """BNG metres come from one fixed operation (OSGB36 to WGS 84 (6)), for the engine, the demo
    county and easting/northing inputs alike, not from whichever PROJ grids are installed."""
    from pyproj import Transformer

    from gapmap import projection

    helmert_bng = (
        "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps=airy "
        "+towgs84=446.448,-125.157,542.06,0.15,0.247,0.842,-20.489 +units=m +no_defs +type=crs"
    )
    lon = np.array([-2.0, -1.13, 0.12, -3.2])
    lat = np.array([49.0, 52.64, 51.5, 54.6])
    x, y = projection.to_bng(lon, lat)
    ref_x, ref_y = Transformer.from_crs("EPSG:4326", helmert_bng, always_xy=True).transform(lon, lat)
    assert np.allclose(x, ref_x, atol=1e-6) and np.allclose(y, ref_y, atol=1e-6)
    assert 454_000 < x[1] < 460_000 and 303_000 < y[1] < 306_000  # Leicester
    back_lon, back_lat = projection.to_wgs84(x, y)
    assert np.allclose(back_lon, lon, atol=1e-9) and np.allclose(back_lat, lat, atol=1e-9)


def test_replace_keeps_frames_not_read_yet_unbuilt():
    """A demand table or a note changes the summary; the frames nobody read stay unbuilt
    (dataclasses.replace would build them: millions of assignment rows on small areas)."""
    from gapmap.engine import _Deferred

    analysis = run()
    changed = analysis.replace(summary={**analysis.summary, "note": "x"})
    assert changed.summary["note"] == "x" and "note" not in analysis.summary
    for name in ("_access", "_assignments"):
        assert isinstance(changed.__dict__[name], _Deferred)
    assert changed.access.equals(analysis.access) and changed.assignments.equals(analysis.assignments)
    with pytest.raises(TypeError, match="no field 'sumary'"):
        analysis.replace(sumary={})
