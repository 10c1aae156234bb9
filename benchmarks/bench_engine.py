"""How fast is the gap engine at national scale?

All 296 English districts (../shared/data) and 10,000 synthetic services: mixed types,
`serves` lists, catchment circles, `*` services, points given by lat/long and by postcode.
Postcodes are not available as real data, so a postcode lookup in the NSPL layout is
synthesised in a temporary folder and the service list goes through the real loader once,
outside the timing.

Measured in the same run (medians over --runs runs, after one warm-up):
- `analyse` on the loaded frames (the engine only, not loading);
- a bare `geopandas.sjoin` of the same service points onto the same areas (the baseline);
- their ratio; the tracemalloc peak of one `analyse` run and the process's max RSS.

Targets (issue 3): engine <= 0.5 s median, <= 3x the bare sjoin, peak memory < 1 GB.

    .venv/bin/python benchmarks/bench_engine.py [--runs 7] [--services 10000] [--check]

Exit status: 0 (1 with --check when a target is missed), 2 when ../shared/data is missing.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
BOUNDARIES = SHARED / "boundaries" / "england_lad_2024_buc.geojson"
POPULATION = SHARED / "population" / "la_denominators_lad24_england.csv"

sys.path.insert(0, str(REPO))

from gapmap.config import default_config  # noqa: E402
from gapmap.engine import analyse  # noqa: E402
from gapmap.errors import ValidationReport  # noqa: E402

TARGET_SECONDS = 0.5
TARGET_RATIO = 3.0
TARGET_MEMORY = 1024**3


def load_areas_and_population(config):
    """The real boundaries and denominators through the project's loaders."""
    from gapmap.boundaries import load_boundaries
    from gapmap.population import load_population

    areas = load_boundaries(BOUNDARIES)
    population = load_population(POPULATION, config=config)
    return areas, population


def synthesise(
    areas: gpd.GeoDataFrame, config, n: int, folder: Path, seed: int = 20261122, catchment_share: float = 0.07
):
    """Write a service list CSV and an NSPL-layout postcode lookup; return their paths.

    Mix (by row): 55% lat/long points, 15% postcode points, 20% `serves` lists of 1-6
    neighbouring districts (a third of them by name), 7% catchment circles of 3-25 km, 2% `*`,
    1% points at sea, outside every district (unassigned). Types are drawn uniformly from the
    vocabulary; capacities where the type has a unit.
    """
    rng = np.random.default_rng(seed)
    codes = areas["area_code"].to_numpy(dtype=object)
    points = areas.geometry.sample_points(size=max(1, n // len(areas) + 5), rng=seed).explode()
    points = points.iloc[rng.permutation(len(points))[:n]]
    lon = points.x.to_numpy().copy()
    lat = points.y.to_numpy().copy()

    kind = rng.choice(
        ["latlon", "postcode", "serves", "catchment", "star", "none"],
        size=n,
        p=[0.62 - catchment_share, 0.15, 0.20, catchment_share, 0.02, 0.01],
    )
    types = np.array(list(config.service_types), dtype=object)
    stype = types[rng.integers(0, len(types), n)]
    units = np.array([config.service_types[t].capacity_unit for t in stype], dtype=object)
    capacity = np.where(units == "", np.nan, np.round(rng.uniform(0.5, 30.0, n), 1))
    capacity[(units != "") & (rng.random(n) < 0.05)] = np.nan  # some unmeasured

    # Neighbour lists by centroid distance (computed once here, outside any timing).
    centroids = areas.to_crs(27700).geometry.centroid
    cx, cy = centroids.x.to_numpy(), centroids.y.to_numpy()
    d2 = (cx[:, None] - cx[None, :]) ** 2 + (cy[:, None] - cy[None, :]) ** 2
    neighbours = np.argsort(d2, axis=1)[:, :6]
    home = rng.integers(0, len(codes), n)
    k = rng.integers(1, 7, n)

    at_sea = kind == "none"
    lon[at_sea], lat[at_sea] = -3.0, 50.45  # Lyme Bay
    names = areas["area_name"].to_numpy(dtype=object)
    by_name = rng.random(n) < 1 / 3
    postcodes = [
        f"ZZ{i // 1000 + 1} {i % 10}{chr(65 + (i // 10) % 26)}{chr(65 + (i // 260) % 26)}" for i in range(n)
    ]
    rows = {
        "service_id": [f"SYN{i:05d}" for i in range(n)],
        "name": [f"Synthetic service {i}" for i in range(n)],
        "service_type": stype,
        "latitude": np.where(np.isin(kind, ["latlon", "catchment", "none"]), np.round(lat, 6), np.nan),
        "longitude": np.where(np.isin(kind, ["latlon", "catchment", "none"]), np.round(lon, 6), np.nan),
        "postcode": np.where(kind == "postcode", postcodes, ""),
        "serves": [
            "*"
            if kd == "star"
            else ";".join((names if nm else codes)[neighbours[h, :kk]])
            if kd == "serves"
            else ""
            for kd, h, kk, nm in zip(kind, home, k, by_name, strict=True)
        ],
        "catchment_km": np.where(kind == "catchment", np.round(rng.uniform(3, 25, n), 1), np.nan),
        # A confidential service may not have a catchment (the loader refuses it): the safe-
        # accommodation types default to confidential, so a catchment row says it is public.
        "confidential": np.where(kind == "catchment", "false", ""),
        "capacity": capacity,
        "funding_end": np.where(rng.random(n) < 0.3, "2027-03-31", ""),
    }
    services_csv = folder / "services.csv"
    pd.DataFrame(rows).to_csv(services_csv, index=False)
    # NSPL layout: pcds, lat, long, doterm (+ a column the loader must ignore).
    lookup = pd.DataFrame(
        {"pcds": postcodes, "lat": np.round(lat, 6), "long": np.round(lon, 6), "doterm": "", "oslaua": ""}
    )
    postcodes_csv = folder / "nspl_synthetic.csv"
    lookup.to_csv(postcodes_csv, index=False)
    return services_csv, postcodes_csv, kind


def load_services(services_csv: Path, postcodes_csv: Path, areas, config):
    from gapmap.postcodes import load_postcodes
    from gapmap.services import validate_services

    report = ValidationReport()
    lookup = load_postcodes(postcodes_csv, report=report)
    services = validate_services(
        services_csv,
        config=config,
        areas=areas,
        postcodes=lookup,
        report=report,
        today=pd.Timestamp("2026-11-22").date(),
    )
    if services is None:
        print(report.to_text()[:3000], file=sys.stderr)
        raise SystemExit("the synthetic service list did not validate")
    return services


def tile_services(services: gpd.GeoDataFrame, n: int, seed: int = 20261201) -> gpd.GeoDataFrame:
    """`n` services made from a validated list by repeating it, for sizes past the loader's cap.

    The loader refuses files over 100,000 rows (and the synthetic postcodes run out at 99,000),
    but `analyse` takes any frame. Copies get fresh ids and their points move by up to ~2 km
    (so the copies are distinct points, not stacks of the same one); `serves` lists, `*`,
    catchments and types repeat, so the mix stays the realistic one.
    """
    reps = -(-n // len(services))
    out = pd.concat([services] * reps, ignore_index=True).iloc[:n].copy()
    rng = np.random.default_rng(seed)
    copy_no = np.repeat(np.arange(reps), len(services))[:n]
    out["service_id"] = out["service_id"].astype(str) + "-" + copy_no.astype(str)
    geoms = np.asarray(out.geometry.array, dtype=object)
    has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    lon[has], lat[has] = shapely.get_x(geoms[has]), shapely.get_y(geoms[has])
    moved = (copy_no > 0) & has
    lon[moved] += rng.uniform(-0.03, 0.03, int(moved.sum()))
    lat[moved] += rng.uniform(-0.02, 0.02, int(moved.sum()))
    points = np.full(n, None, dtype=object)
    points[has] = shapely.points(lon[has], lat[has])
    out["longitude"], out["latitude"] = lon, lat
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(points, crs=4326), crs=4326)


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--catchment-share",
        type=float,
        default=0.07,
        help="share of services given a catchment circle (default 0.07; a diagnostic knob)",
    )
    args = parser.parse_args(argv)
    if not (BOUNDARIES.is_file() and POPULATION.is_file()):
        print(f"../shared/data is missing (looked for {BOUNDARIES} and {POPULATION})", file=sys.stderr)
        return 2

    config = default_config()
    areas, population = load_areas_and_population(config)
    with tempfile.TemporaryDirectory() as tmp:
        services_csv, postcodes_csv, _ = synthesise(
            areas, config, args.services, Path(tmp), catchment_share=args.catchment_share
        )
        t0 = time.perf_counter()
        services = load_services(services_csv, postcodes_csv, areas, config)
        load_seconds = time.perf_counter() - t0

    located = services[services.geometry.notna()]
    points = gpd.GeoDataFrame(
        {"service_id": located["service_id"]}, geometry=located.geometry.values, crs=4326
    )
    areas_only = areas[["area_code", "area_name", "geometry"]]

    def run_engine():
        return analyse(areas, population, services, config)

    def run_sjoin():
        return gpd.sjoin(points, areas_only)  # the bare call: inner join, predicate "intersects"

    run_engine()  # warm-up: imports, the cached CRS transformer
    run_sjoin()
    engine_runs: list[tuple[float, float]] = []
    sjoin_runs: list[tuple[float, float]] = []
    for _ in range(args.runs):  # interleaved, so machine load affects both alike
        engine_runs.append(timed(run_engine))
        sjoin_runs.append(timed(run_sjoin))
    engine_times = [w for w, _ in engine_runs]
    sjoin_times = [w for w, _ in sjoin_runs]
    engine_cpu = statistics.median(c for _, c in engine_runs)
    sjoin_cpu = statistics.median(c for _, c in sjoin_runs)

    tracemalloc.start()
    analysis = run_engine()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    engine = statistics.median(engine_times)
    baseline = statistics.median(sjoin_times)
    ratio = engine / baseline
    s = analysis.summary
    methods = analysis.assignments["method"].value_counts().to_dict()
    rows = [
        (
            "input",
            f"{len(areas)} districts, {len(services)} services ({len(points)} located, "
            f"{args.catchment_share:.0%} with catchments)",
        ),
        ("assignments", ", ".join(f"{k} {v}" for k, v in sorted(methods.items()))),
        ("unassigned services", f"{s['unassigned_services']}"),
        (
            "machine",
            f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        ),
        ("loading services (once)", f"{load_seconds:.2f} s"),
        (f"analyse median of {args.runs}", f"{engine * 1000:.1f} ms (min {min(engine_times) * 1000:.1f})"),
        (
            f"bare sjoin median of {args.runs}",
            f"{baseline * 1000:.1f} ms (min {min(sjoin_times) * 1000:.1f})",
        ),
        ("ratio engine / sjoin", f"{ratio:.2f}x"),
        ("CPU-time medians (load-robust)", f"{engine_cpu * 1000:.1f} ms vs {sjoin_cpu * 1000:.1f} ms"),
        ("CPU-time ratio", f"{engine_cpu / sjoin_cpu:.2f}x"),
        ("load average (1 min) at the end", f"{__import__('os').getloadavg()[0]:.2f}"),
        ("tracemalloc peak (one analyse)", f"{peak / 1024**2:.1f} MiB"),
        ("process max RSS", f"{max_rss / 1024**2:.0f} MiB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    verdicts = [
        ("engine <= 0.5 s", engine <= TARGET_SECONDS),
        ("engine <= 3x sjoin", ratio <= TARGET_RATIO),
        ("peak memory < 1 GB", max(peak, max_rss) < TARGET_MEMORY),
    ]
    for name, ok in verdicts:
        print(f"{'met' if ok else 'MISSED':<7} {name}")
    return 1 if args.check and not all(ok for _, ok in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
