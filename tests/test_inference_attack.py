"""An attacker fits circles to every per-area figure and cannot find a refuge (issue 8, point 2).

The attacker sees every output: gaps.csv (`provided`, 4 decimals), the `assignments` table
(`weight`, `land_share`), coverage.csv (service counts per tier x cohort cell), access.csv and
the app's area profile (`present.serving_table`, "Share to this area"), for every area. From the
figures of one service (the attacker may also hold the list without it: a saved version) they
fit a circle, centre and radius unknown, by grid search (coarse to fine) over exact circle/area
overlaps, and take the best fit's centre as the service's position.

- Positive control: the attack recovers a NON-confidential service with a catchment to within
  a few hundred metres (so these tests can fail).
- The demo county: a confidential refuge given a point and `catchment_km` is refused at
  validation. The best a user can do is the point-in-area rule; every output is then the same
  wherever in its area (78,940 residents) the refuge is, and every circle fitting the figures
  best lies in that area, spread across it.
- A small-area grid (20 x 20 squares of 1 km, 1,500 residents each, like LSOAs): a located
  refuge is withheld from every area, so every output is the same wherever it is: the attacker
  learns nothing finer than the whole grid (600,000 residents).
"""

from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gapmap import present
from gapmap.config import default_config
from gapmap.csvtables import access_csv, coverage_csv, gaps_csv
from gapmap.engine import _area_edges, _catchment_links, analyse, services_serving
from gapmap.errors import ValidationReport
from gapmap.report import json_safe
from gapmap.schema import SERVICE_COLUMNS
from gapmap.services import validate_service_table

CONFIG = default_config()
THRESHOLD = CONFIG.min_confidential_population
TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)
KM = 1000.0


# ----------------------------------------------------------------------------- building data


def service_row(service_id: str, service_type: str, bng: tuple[float, float] | None, **kw) -> dict:
    """One normalised service row with the type's defaults (test_engine's, as the loader gives)."""
    from test_engine import service

    return service(service_id, service_type, bng=bng, **{"source_row": 99, **kw})


def with_rows(base: gpd.GeoDataFrame | None, rows: list[dict]) -> gpd.GeoDataFrame:
    extra = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    extra["funding_end"] = pd.to_datetime(extra["funding_end"]).astype("datetime64[ns]")
    extra = gpd.GeoDataFrame(extra, geometry="geometry", crs=4326)
    if base is None:
        return extra
    return gpd.GeoDataFrame(pd.concat([base, extra], ignore_index=True), geometry="geometry", crs=4326)


def grid_areas(n: int = 20, side: float = 1 * KM, x0: float = 400 * KM, y0: float = 300 * KM):
    """n x n BNG squares stored in EPSG:4326, and their population (1,500 residents each)."""
    codes, geoms = [], []
    for i in range(n):
        for j in range(n):
            x, y = x0 + i * side, y0 + j * side
            corners = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
            geoms.append(shapely.Polygon([TO_WGS84.transform(cx, cy) for cx, cy in corners]))
            codes.append(f"E01{i:03d}{j:03d}")
    areas = gpd.GeoDataFrame({"area_code": codes, "area_name": codes}, geometry=geoms, crs=4326)
    k = len(codes)
    population = pd.DataFrame(
        {
            "area_code": codes,
            "all_persons": np.full(k, 1500.0),
            "females": np.full(k, 760.0),
            "females_16_plus": np.full(k, 620.0),
            "persons_0_17": np.full(k, 320.0),
        }
    )
    return areas, population


# ----------------------------------------------------------------------------- what the attacker sees


def outputs(areas, population, services, profile_areas=None) -> dict[str, object]:
    """Every output an attacker could see, as comparable values (bytes and frames).

    `profile_areas` limits the area profiles built (each costs ~20 ms; an area's profile lists
    exactly the services with an `assignments` row there, and that table is compared in full).
    """
    analysis = analyse(areas, population, services, CONFIG)
    codes = areas["area_code"] if profile_areas is None else profile_areas
    profile = {
        code: present.serving_table(services_serving(analysis, services, code), CONFIG).to_csv(index=False)
        for code in codes
    }
    summary = json.dumps(json_safe(analysis.summary), sort_keys=True)
    return {
        "analysis": analysis,
        "gaps.csv": gaps_csv(analysis),
        "coverage.csv": coverage_csv(analysis),
        "access.csv": access_csv(analysis),
        "assignments": analysis.assignments.astype({"service_id": str, "area_code": str, "method": str})
        .sort_values(["service_id", "area_code"])
        .to_csv(index=False),
        "area profile": json.dumps(profile, sort_keys=True),
        "summary.json": summary,
    }


def figures_of(
    service_id: str, name: str, before: dict, after: dict, areas, population
) -> dict[str, np.ndarray]:
    """Per-area figures of one service in every output, as land-share-like vectors.

    Weights and provided are shared by population, so the attacker divides by it (they know
    the population: it is public) to get a vector proportional to the land share.
    """
    codes = list(areas["area_code"].astype(str))
    pop = population.set_index("area_code").reindex(codes)
    out: dict[str, np.ndarray] = {}
    a = after["analysis"].assignments
    mine = a[a["service_id"].astype(str) == service_id].set_index(
        a["area_code"].astype(str)[a["service_id"].astype(str) == service_id]
    )
    weight = mine["weight"].reindex(codes).fillna(0.0).to_numpy(float)
    out["assignments weight"] = weight / pop["all_persons"].to_numpy(float)
    out["assignments land_share"] = mine["land_share"].reindex(codes).fillna(0.0).to_numpy(float)
    for bench, denominator in (("idva_fte", "females_16_plus"), ("refuge_family_spaces", "females")):
        g1 = pd.read_csv(io.BytesIO(after["gaps.csv"]), dtype={"area_code": str})
        g0 = pd.read_csv(io.BytesIO(before["gaps.csv"]), dtype={"area_code": str})
        d1 = g1[g1.benchmark_id == bench].set_index("area_code")["provided"].reindex(codes).fillna(0.0)
        d0 = g0[g0.benchmark_id == bench].set_index("area_code")["provided"].reindex(codes).fillna(0.0)
        out[f"gaps.csv provided ({bench})"] = (d1 - d0).to_numpy(float) / pop[denominator].to_numpy(float)
    c1 = pd.read_csv(io.BytesIO(after["coverage.csv"]), dtype={"area_code": str})
    c0 = pd.read_csv(io.BytesIO(before["coverage.csv"]), dtype={"area_code": str})
    delta = (c1["services"] - c0["services"]).groupby(c1["area_code"]).sum()
    out["coverage.csv services"] = delta.reindex(codes).fillna(0.0).to_numpy(float)
    profile = json.loads(after["area profile"])
    share = np.zeros(len(codes))
    for k, code in enumerate(codes):
        if code not in profile:
            continue
        table = pd.read_csv(io.StringIO(profile[code]))
        rows = table[table["Name"] == name] if len(table) else table
        if len(rows):
            share[k] = float(str(rows["Share to this area"].iloc[0]).rstrip("%")) / 100
    out["area profile share"] = share / pop["all_persons"].to_numpy(float)
    return out


# ----------------------------------------------------------------------------- the attack


class CircleFitter:
    """Grid search (coarse to fine) for the circle whose land shares best match a figure vector."""

    def __init__(self, areas: gpd.GeoDataFrame):
        self.edges = _area_edges(np.asarray(areas.geometry.array, dtype=object))
        self.n = len(areas)
        b = areas.to_crs(27700).total_bounds
        self.bounds = (b[0], b[1], b[2], b[3])

    def shares(self, cx: np.ndarray, cy: np.ndarray, r: np.ndarray) -> np.ndarray:
        circle, area, share = _catchment_links(cx, cy, r, self.edges)
        out = np.zeros((len(cx), self.n))
        out[circle, area] = share
        return out

    def loss(self, observed: np.ndarray, cx, cy, r) -> np.ndarray:
        target = observed / observed.sum()
        pred = self.shares(cx, cy, r)
        total = pred.sum(axis=1, keepdims=True)
        pred = np.divide(pred, total, out=np.zeros_like(pred), where=total > 0)
        return np.abs(pred - target).sum(axis=1) + (total[:, 0] == 0) * 10.0

    def fit(self, observed: np.ndarray, step: float, radii: np.ndarray, rounds: int = 3):
        """Best (x, y, r, loss), and every coarse centre whose best radius fits as well (+1e-6)."""
        x0, y0, x1, y1 = self.bounds
        xs = np.arange(x0 + step / 2, x1, step)
        ys = np.arange(y0 + step / 2, y1, step)
        gx, gy, gr = (v.ravel() for v in np.meshgrid(xs, ys, radii, indexing="ij"))
        losses = self.loss(observed, gx, gy, gr)
        best = float(losses.min())
        tied = losses <= best + 1e-6
        consistent = np.unique(np.column_stack((gx[tied], gy[tied])), axis=0)
        candidates = np.argsort(losses)[:5]
        found = (np.inf, 0.0, 0.0, 0.0)
        for k in candidates:
            cx, cy, cr, s, dr = gx[k], gy[k], gr[k], step, max(float(np.diff(radii).min()), 1.0)
            for _ in range(rounds):
                off = np.linspace(-s, s, 9)
                rr = np.clip(cr + np.linspace(-dr, dr, 9), 50.0, None)
                ax, ay, ar = (v.ravel() for v in np.meshgrid(cx + off, cy + off, rr, indexing="ij"))
                ls = self.loss(observed, ax, ay, ar)
                j = int(np.argmin(ls))
                cx, cy, cr = ax[j], ay[j], ar[j]
                s, dr = s / 4, dr / 4
                if ls[j] < found[0]:
                    found = (float(ls[j]), float(cx), float(cy), float(cr))
        return found, consistent


def to_bng(lon: float, lat: float) -> tuple[float, float]:
    x, y = TO_BNG.transform(lon, lat)
    return float(x), float(y)


def population_of_areas_holding(
    points: np.ndarray, areas: gpd.GeoDataFrame, population: pd.DataFrame
) -> float:
    """Residents of the areas containing any of the points (BNG): the attacker's best region."""
    lon, lat = TO_WGS84.transform(points[:, 0], points[:, 1])
    hit = areas.sindex.query(shapely.points(lon, lat), predicate="intersects")[1]
    codes = areas["area_code"].iloc[np.unique(hit)]
    return float(population.set_index("area_code").loc[codes, "all_persons"].sum())


# ----------------------------------------------------------------------------- positive controls


def test_the_attack_finds_a_public_service_with_a_catchment_on_the_grid():
    areas, population = grid_areas()
    truth = (409_370.0, 310_820.0)
    base = with_rows(None, [service_row("IDVA-ALL", "idva", None, serves=("*",), capacity=2.0)])
    target = service_row("OUT-1", "idva", truth, catchment_km=3.3, capacity=1.0, name="Open IDVA")
    # Profiles of the squares the 3.3 km circle can reach (the rest list only IDVA-ALL).
    near = [f"E01{i:03d}{j:03d}" for i in range(4, 15) for j in range(5, 17)]
    before = outputs(areas, population, base, near)
    after = outputs(areas, population, with_rows(base, [target]), near)
    figures = figures_of("OUT-1", "Open IDVA", before, after, areas, population)
    fitter = CircleFitter(areas)
    for output in ("assignments land_share", "assignments weight", "gaps.csv provided (idva_fte)"):
        (loss, x, y, r), _ = fitter.fit(figures[output], 1 * KM, np.arange(1.0, 8.0, 1.0) * KM)
        error = math.hypot(x - truth[0], y - truth[1])
        print(f"grid, {output}: centre found {error:.0f} m from the truth, radius {r:.0f} m")
        assert error < 100, (output, error, loss)  # metres: the circle gives its centre away
        assert abs(r - 3300) < 100, (output, r)
    # The area profile's whole percentages are coarser, and still place it within about 1 km.
    (_, x, y, _), _ = fitter.fit(figures["area profile share"], 1 * KM, np.arange(1.0, 8.0, 1.0) * KM)
    print(f"grid, area profile share: {math.hypot(x - truth[0], y - truth[1]):.0f} m")
    assert math.hypot(x - truth[0], y - truth[1]) < 1_000


def test_the_attack_finds_a_public_service_with_a_catchment_on_the_demo(demo):
    demo, _ = demo
    # A point in Orrington Fen near where four districts meet: a 10 km circle spans them.
    truth = (612_000.0, 462_000.0)
    target = service_row("PUBLIC", "idva", truth, catchment_km=10.0, capacity=3.0, name="Open IDVA")
    before = outputs(demo.areas, demo.population, demo.services)
    after = outputs(demo.areas, demo.population, with_rows(demo.services, [target]))
    figures = figures_of("PUBLIC", "Open IDVA", before, after, demo.areas, demo.population)
    assert (figures["assignments land_share"] > 0).sum() >= 3  # the circle reaches 3+ areas
    fitter = CircleFitter(demo.areas)
    for output in ("gaps.csv provided (idva_fte)", "assignments weight", "area profile share"):
        (loss, x, y, r), _ = fitter.fit(figures[output], 4 * KM, np.arange(4.0, 30.0, 2.0) * KM)
        error = math.hypot(x - truth[0], y - truth[1])
        print(f"demo, {output}: centre found {error:.0f} m from the truth, radius {r:.0f} m")
        assert error < 1_000, (output, x, y, r, loss)


# ----------------------------------------------------------------------------- the demo county


#: In Dunstow Vale (E07999003, 78,940 residents), 10 km from its borders on most sides.
SECRET_BNG = (623_000.0, 467_000.0)


def test_a_confidential_refuge_with_a_catchment_is_refused_at_validation():
    lon, lat = TO_WGS84.transform(*SECRET_BNG)
    table = pd.DataFrame(
        {
            "name": ["Lantern House Refuge"],
            "service_type": ["refuge"],
            "latitude": [f"{lat:.5f}"],
            "longitude": [f"{lon:.5f}"],
            "catchment_km": ["12"],
            "capacity": ["7"],
            "__row__": [2],
        },
        dtype=object,
    )
    report = ValidationReport()
    assert validate_service_table(table, file="list.csv", config=CONFIG, report=report) is None
    (problem,) = report.errors
    assert (problem.row, problem.column) == (2, "catchment_km")
    assert "list the areas it serves in `serves`" in problem.message
    assert f"{lat:.3f}" not in str(problem) and "Lantern" not in str(problem)


def test_a_located_refuge_cannot_be_placed_finer_than_its_area_on_the_demo(demo):
    demo, _ = demo
    lon, lat = TO_WGS84.transform(*SECRET_BNG)
    (home,) = demo.areas.loc[demo.areas.contains(shapely.Point(lon, lat)), "area_code"]
    home_population = float(demo.population.set_index("area_code").loc[home, "all_persons"])
    assert home_population >= THRESHOLD
    before = outputs(demo.areas, demo.population, demo.services)

    # (1) Every output is identical wherever in its area the refuge stands.
    home_bng = demo.areas[demo.areas.area_code == home].to_crs(27700).geometry.iloc[0]
    rng = np.random.default_rng(8)
    minx, miny, maxx, maxy = home_bng.bounds
    spots = []
    while len(spots) < 5:
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if home_bng.buffer(-500).contains(p):
            spots.append((p.x, p.y))
    runs = []
    for x, y in [SECRET_BNG, *spots]:
        refuge = service_row("SECRET", "refuge", (x, y), capacity=7.0, name="Lantern House Refuge")
        runs.append(outputs(demo.areas, demo.population, with_rows(demo.services, [refuge])))
    for other in runs[1:]:
        for key in ("gaps.csv", "coverage.csv", "access.csv", "assignments", "area profile", "summary.json"):
            assert other[key] == runs[0][key], key
    assert runs[0]["access.csv"] == before["access.csv"]  # never used for distances

    # (2) The circle attack on every figure: the best circles lie anywhere in the area.
    figures = figures_of("SECRET", "Lantern House Refuge", before, runs[0], demo.areas, demo.population)
    fitter = CircleFitter(demo.areas)
    codes = list(demo.areas.area_code)
    for output, vector in figures.items():
        if not vector.any():
            assert output.endswith("(idva_fte)"), output  # a refuge adds no IDVA
            continue
        assert set(np.flatnonzero(vector)) == {codes.index(home)}, output  # the area, no finer
        (loss, *_), consistent = fitter.fit(vector, 2 * KM, np.array([0.3, 0.6, 1.0]) * KM, rounds=1)
        assert loss < 1e-9, output
        # Every centre that fits best is in the home area, and they spread over it.
        assert population_of_areas_holding(consistent, demo.areas, demo.population) == home_population
        spread = consistent.max(axis=0) - consistent.min(axis=0)
        assert (spread >= 0.6 * np.array([maxx - minx, maxy - miny])).all(), (output, spread)


# ----------------------------------------------------------------------------- small-area grid


def test_a_located_refuge_is_withheld_at_small_area_geography():
    areas, population = grid_areas()
    base = with_rows(
        None,
        [
            service_row("IDVA-ALL", "idva", None, serves=("*",), capacity=2.0),
            service_row("OUT-P", "outreach", (405_500.0, 305_500.0), capacity=1.0),
        ],
    )
    # Profiles of the squares round the refuge's spots and the square it serves by name.
    near = [f"E01{i:03d}{j:03d}" for i in (0, 1, 9, 10, 18, 19) for j in (0, 1, 9, 10, 18, 19)]
    before = outputs(areas, population, base, near)
    # Opposite corners of the grid, and a point on a border between four squares.
    spots = [(400_200.0, 300_300.0), (419_700.0, 319_100.0), (410_000.0, 310_000.0)]
    runs = []
    for x, y in spots:
        refuge = service_row("SECRET", "refuge", (x, y), capacity=6.0, name="Grid Refuge")
        runs.append(outputs(areas, population, with_rows(base, [refuge]), near))
    # A refuge serving one small square by name is withheld the same way.
    one = service_row("SECRET", "refuge", None, serves=("E01009010",), capacity=6.0, name="Grid Refuge")
    runs.append(outputs(areas, population, with_rows(base, [one]), near))
    for other in runs[1:]:
        for key in ("gaps.csv", "coverage.csv", "access.csv", "assignments", "area profile", "summary.json"):
            assert other[key] == runs[0][key], key
    for key in ("coverage.csv", "access.csv", "assignments", "area profile"):
        assert runs[0][key] == before[key], key  # not a trace of it in any area

    figures = figures_of("SECRET", "Grid Refuge", before, runs[0], areas, population)
    for output, vector in figures.items():
        assert not vector.any(), output  # nothing to fit a circle to: the whole grid is consistent
    # The honest note: how many refuges were withheld, the same on every row, and why.
    gaps = pd.read_csv(io.BytesIO(runs[0]["gaps.csv"]))
    refuge_rows = gaps[gaps.benchmark_id == "refuge_family_spaces"]
    assert refuge_rows["withheld_confidential"].tolist() == [1] * len(refuge_rows)
    assert (gaps[gaps.benchmark_id == "idva_fte"]["withheld_confidential"] == 0).all()
    summary = json.loads(runs[0]["summary.json"])
    assert summary["withheld_confidential"]["services"] == 1
    assert any("fewer than 10,000 residents" in note for note in summary["notes"])
    # All the attacker learns is that a refuge exists somewhere in the dataset: 600,000 residents.
    assert population["all_persons"].sum() >= THRESHOLD


def test_selections_cannot_be_differenced_to_find_a_withheld_refuge():
    """Selecting one square at a time shows the same figures whichever square holds the refuge."""
    areas, population = grid_areas(n=4)
    for spot in ((400_500.0, 300_500.0), (403_500.0, 303_500.0)):
        refuge = with_rows(None, [service_row("SECRET", "refuge", spot, capacity=6.0)])
        results = []
        for code in areas["area_code"]:
            a = analyse(areas, population, refuge, CONFIG, selection=[code])
            results.append(
                (gaps_csv(a).replace(code.encode(), b"X"), coverage_csv(a).replace(code.encode(), b"X"))
            )
        assert len(set(results)) == 1


# ----------------------------------------------------------------------------- the rule, by hand


def rule_fixture(minimum: float):
    """test_engine's four 10 km squares: A 120,000 residents, B and C 100,000, D no population."""
    import dataclasses

    from test_engine import KM as EKM
    from test_engine import A, B, C, D, make_areas, make_population, make_services, service

    config = dataclasses.replace(CONFIG, min_confidential_population=minimum)
    rows = [
        service("R1", "refuge", serves=(A, B), capacity=6.0),
        service("R2", "refuge", bng=(405 * EKM, 315 * EKM), capacity=4.0),  # a point in C
        service("R3", "refuge", serves=("*",), capacity=5.0),
        service("R4", "refuge", serves=(D,), capacity=2.0),  # D: population unknown
        service("R5", "refuge", bng=(405 * EKM, 305 * EKM), catchment_km=9.0, capacity=1.0),  # in A
        service("P1", "idva", bng=(405 * EKM, 315 * EKM), capacity=1.0),  # public, in C
    ]
    # The seed profile shares refuge places by females, the split the figures below are worked in.
    analysis = analyse(make_areas(), make_population(), make_services(rows), config, profile="seed_2013_2023")
    gaps = analysis.gaps[analysis.gaps.benchmark_id == "refuge_family_spaces"].set_index("area_code")
    return analysis, gaps, (A, B, C, D)


def test_the_rule_at_the_default_threshold_by_hand():
    analysis, gaps, (A, B, C, D) = rule_fixture(10_000)
    # Shared by females (60,000 : 30,000 : 30,000): R1 A 4, B 2; R2 C 4; R3 * 2.5 / 1.25 / 1.25;
    # R4 serves only D, whose population is unknown: withheld; R5's catchment is ignored: A 1.
    assert gaps.loc[A, "provided"] == pytest.approx(4 + 2.5 + 1)
    assert gaps.loc[B, "provided"] == pytest.approx(2 + 1.25)
    assert gaps.loc[C, "provided"] == pytest.approx(4 + 1.25)
    assert gaps.loc[D, "provided"] == 0
    assert set(gaps["withheld_confidential"]) == {1}
    a = analysis.assignments.astype({"service_id": str, "area_code": str, "method": str})
    r5 = a[a.service_id == "R5"]
    assert r5[["area_code", "land_share", "method"]].values.tolist() == [[A, 1.0, "point"]]
    assert "R4" not in set(a.service_id)
    summary = analysis.summary["withheld_confidential"]
    assert (summary["services"], summary["not_counted_anywhere"]) == (1, 1)
    assert analysis.summary["unassigned_services"] == 0  # withheld is not "unassigned"


def test_the_rule_at_a_higher_threshold_by_hand():
    analysis, gaps, (A, B, C, _) = rule_fixture(110_000)
    # Only A (120,000) is large enough: R1 keeps A (all 6), R2 in C is withheld, R3 (*) unchanged.
    assert gaps.loc[A, "provided"] == pytest.approx(6 + 2.5 + 1)
    assert gaps.loc[B, "provided"] == pytest.approx(1.25)
    assert gaps.loc[C, "provided"] == pytest.approx(1.25)
    assert set(gaps["withheld_confidential"]) == {3}  # R1 (partly), R2, R4
    a = analysis.assignments.astype({"service_id": str, "area_code": str})
    assert a[a.service_id == "R1"][["area_code", "weight"]].values.tolist() == [[A, 1.0]]
    # The public IDVA in C still counts there, and only it is used for distances.
    idva = analysis.gaps[analysis.gaps.benchmark_id == "idva_fte"].set_index("area_code")
    assert idva.loc[C, "provided"] == pytest.approx(1.0)
    assert set(analysis.access["service_type"]) == {"idva"}
    # The tertiary x victims cell in C is lit by R3 (*) and the IDVA, not by the withheld R2.
    cov = analysis.coverage.set_index(["area_code", "tier", "cohort"])
    assert cov.loc[(C, "tertiary", "victims"), "services"] == 2
    assert cov.loc[(A, "tertiary", "victims"), "services"] == 3  # R1, R3, R5


def test_the_threshold_and_confidential_by_default_come_from_the_vocabulary(tmp_path):
    from gapmap.config import load_config
    from gapmap.errors import ConfigError

    def config(text: str):
        path = tmp_path / "mine.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)

    assert CONFIG.min_confidential_population == 10_000
    for sid in ("refuge", "specialist_safe_accommodation", "dispersed_accommodation"):
        assert CONFIG.service_types[sid].confidential_by_default
    for sid in ("second_stage_accommodation", "emergency_accommodation", "sanctuary_scheme"):
        assert CONFIG.service_types[sid].confidential_by_default
    assert not CONFIG.service_types["idva"].confidential_by_default
    assert config("[confidentiality]\nmin_area_population = 50000\n").min_confidential_population == 50_000
    for bad in ("0", '"many"', "inf", "true"):
        with pytest.raises(ConfigError, match="min_area_population"):
            config(f"[confidentiality]\nmin_area_population = {bad}\n")
    # A user's own service types: the old key still works, a statutory type without the key stays
    # secret (fails closed), and a value that is not true/false is an error.
    types = (
        '[service_types.refuge]\nlabel = "Refuge"\ntiers = ["tertiary"]\ncohorts = ["victims"]\n'
        'abuse_types = ["da"]\ncapacity_unit = "family_spaces"\n{extra}\n'
        '[service_types.idva]\nlabel = "IDVA"\ntiers = ["tertiary"]\ncohorts = ["victims"]\n'
        'abuse_types = ["da"]\ncapacity_unit = "fte"\nconfidential = true\n'
        '[profiles.mine]\nlabel = "Mine"\n[[profiles.mine.benchmarks]]\nid = "idva_fte"\n'
        'service_types = ["idva"]\nmeasure = "capacity"\nunit = "fte"\ntarget = 4\nper = 100000\n'
        'denominator = "females_16_plus"\nsource = "CAADA"\n'
    )
    plain = config(types.format(extra=""))
    assert plain.service_types["refuge"].confidential and plain.service_types["idva"].confidential
    assert (
        not config(types.format(extra="confidential_by_default = false")).service_types["refuge"].confidential
    )
    with pytest.raises(ConfigError, match="confidential_by_default"):
        config(types.format(extra='confidential_by_default = "yes"'))
    with pytest.raises(ConfigError, match="disagree"):
        config(types.format(extra="confidential_by_default = true\nconfidential = false"))
