"""Near the floor: each figure as a ratio against its anchor measured in the same run (issue 13).

One table, with the machine's load average, of:

- report, tables only (`--no-maps --no-pack --no-xlsx --no-small-areas`), England built in,
  296 districts x 10,000 services, whole process, against a naive geopandas script doing the
  least a person would (read the districts and the list, geocode postcodes by a merge, sjoin,
  count per district, merge population, write a CSV), also a whole process. Both run from
  compiled bytecode (as users get it after `pip install`; a temporary PYTHONPYCACHEPREFIX, so
  PYTHONDONTWRITEBYTECODE on the machine does not make every run recompile the checkout).
  Wall time, or with `--clock cpu` the children's CPU time. Target <= 1.5x.
- engine: `analyse` against a bare `geopandas.sjoin` of the same points, 296 districts, the
  realistic mix of benchmarks/bench_engine.py (serves lists, `*`, catchments, postcodes) at
  each size of --sizes (default 10,000, 100,000 and 1,000,000). Sizes past the first are the
  first size's validated list repeated with moved points (`bench_engine.tile_services`): the
  loader's 100,000-row cap is for files, `analyse` takes any frame. Target <= 1.5x at 10k, and
  flat (the ratio not growing with size).
- small areas: England's 33,755 LSOAs as areas (Voronoi cells of the built-in centroids clipped
  to districts), 10,000 services (points near LSOAs, serves lists of LSOAs, catchments, `*`):
  the engine against a bare sjoin onto the cells (target < 2 s), and small-area access
  (`gapmap.access.small_area_access`, every LSOA, every type) against the bare pair query
  its first step needs (an STRtree `dwithin` over the same points; target < 5 s).
- the England pack (296 districts x 10,000 services; target < 5 s) against one static map
  alone (`snapshot_pdf`, the figure a map page is made from).

Interleaved runs (so load affects a figure and its anchor alike), medians. The app figures
(issue 11's) are in benchmarks/bench_app.py; the full LSOA report with every export in
`--full` (run it alone): wall and CPU time and peak RSS of the report process (target < 60 s,
< 2 GB), then each export timed alone in this process.

    .venv/bin/python benchmarks/bench_floor.py [--runs 5] [--sizes 10000,100000,1000000]
        [--only report,engine,pack,lsoa,access] [--full [--full-runs 3]]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The larger engine sizes exceed the row limit meant for uploaded lists (read at import).
os.environ.setdefault("GAPMAP_MAX_INPUT_ROWS", "2000000")
sys.path.insert(0, str(REPO / "benchmarks"))

NAIVE_SCRIPT = """
import sys, geopandas as gpd, pandas as pd
gpkg, services, postcodes, population, out = sys.argv[1:6]
areas = gpd.read_file(gpkg, layer="district", engine="pyogrio")
svc = pd.read_csv(services, dtype=str)
pc = pd.read_csv(postcodes, dtype=str)[["pcds", "lat", "long"]]
svc = svc.merge(pc, left_on="postcode", right_on="pcds", how="left")
lat = pd.to_numeric(svc["latitude"]).fillna(pd.to_numeric(svc["lat"]))
lon = pd.to_numeric(svc["longitude"]).fillna(pd.to_numeric(svc["long"]))
pts = gpd.GeoDataFrame(svc[["service_id", "service_type"]], geometry=gpd.points_from_xy(lon, lat), crs=4326)
joined = gpd.sjoin(pts[pts.geometry.is_valid & ~pts.geometry.is_empty], areas, predicate="within")
counts = joined.groupby(["code", "service_type"]).size().unstack(fill_value=0)
pop = pd.read_csv(population, dtype={"district_code": str}).set_index("district_code")
table = counts.join(pop["census21_persons"], how="right").fillna(0)
table.to_csv(out)
"""


#: The clock of in-process figures: wall time, or this process's CPU time (`--clock cpu`), which
#: a machine shared with other jobs inflates far less. Whole-process figures are wall time, or
#: with `--clock cpu` the CPU time of the child processes (`children_clock`).
CLOCK: Callable[[], float] = time.perf_counter


def children_clock() -> float:
    """CPU time (user + system) of the finished child processes: whole processes' `--clock cpu`."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def median_of(fn: Callable[[], object], runs: int, clock: Callable[[], float] | None = None) -> list[float]:
    clock = clock or CLOCK
    out = []
    for _ in range(runs):
        t = clock()
        fn()
        out.append(clock() - t)
    return out


def interleaved(
    a: Callable[[], object], b: Callable[[], object], runs: int, clock: Callable[[], float] | None = None
) -> tuple[float, float]:
    """Medians of `a` and `b`, run alternately after one warm-up each."""
    a()
    b()
    ta, tb = [], []
    for _ in range(runs):
        ta += median_of(a, 1, clock)
        tb += median_of(b, 1, clock)
    return statistics.median(ta), statistics.median(tb)


def england_inputs(n: int, folder: Path, catchment_share: float = 0.07):
    """England built in + `n` services of bench_engine's realistic mix (validated once)."""
    from bench_engine import load_services, synthesise

    from gapmap.config import default_config
    from gapmap.geography import load_england

    config = default_config()
    england = load_england()
    areas = england.areas()
    population = england.population(config)
    services_csv, postcodes_csv, _ = synthesise(areas, config, n, folder, catchment_share=catchment_share)
    services = load_services(services_csv, postcodes_csv, areas, config)
    return config, areas, population, services, services_csv, postcodes_csv


def catchment_rows(services, areas, runs: int, add: Callable[..., None]) -> None:
    """The catchment circles' exact land shares (`engine._catchment_links`) against the way a
    person would compute them with GEOS: buffer each circle (32 segments a quarter: about
    0.05% short of the circle's area), intersect it with each district its box meets, and
    divide the intersection's area by the district's. Both in BNG metres, the districts
    projected and indexed outside the timing (the engine keeps its edges between calls too).
    """
    import shapely

    from gapmap import engine
    from gapmap.projection import to_bng

    km = pd.to_numeric(services["catchment_km"], errors="coerce").to_numpy(dtype=float)
    has_serves = services["serves"].map(len).to_numpy() > 0
    circles = services[~has_serves & services.geometry.notna().to_numpy() & (km > 0)]
    lon, lat = circles.geometry.x.to_numpy(), circles.geometry.y.to_numpy()
    radius = pd.to_numeric(circles["catchment_km"]).to_numpy(dtype=float) * 1000.0
    geoms = np.asarray(areas.geometry.array, dtype=object)
    edges = engine._area_geometry(geoms).edges()
    districts = np.asarray(areas.to_crs(27700).geometry.array, dtype=object)
    shapely.prepare(districts)
    district_area = shapely.area(districts)
    tree = shapely.STRtree(districts)

    def exact() -> object:
        x, y = to_bng(lon, lat)
        return engine._catchment_links(x, y, radius, edges)

    def overlay() -> object:
        x, y = to_bng(lon, lat)
        disks = shapely.buffer(shapely.points(x, y), radius, quad_segs=32)
        c, a = tree.query(disks, predicate="intersects")
        return c, a, shapely.area(shapely.intersection(disks[c], districts[a])) / district_area[a]

    t_exact, t_overlay = interleaved(exact, overlay, runs)
    add(f"  its {len(circles):,} catchment circles' land shares (vs GEOS overlay)", t_exact, t_overlay, "-")


def lsoa_inputs(n: int, folder: Path, seed: int = 20261201):
    """England's LSOAs as areas (Voronoi cells) and `n` services placed among them."""
    from gapmap.access import load_small_areas, small_area_lonlat
    from gapmap.access_map import small_area_cells
    from gapmap.config import default_config
    from gapmap.errors import ValidationReport
    from gapmap.geography import load_england
    from gapmap.services import validate_services

    config = default_config()
    small = load_small_areas()
    cells = small_area_cells(small, load_england().districts)
    areas = gpd.GeoDataFrame(
        {"area_code": cells["small_area_code"], "area_name": cells["small_area_code"]},
        geometry=cells.geometry.values,
        crs=27700,
    ).to_crs(4326)
    population = pd.DataFrame({"area_code": small["small_area_code"], "all_persons": small["population"]})
    lon, lat = small_area_lonlat(small)
    rng = np.random.default_rng(seed)
    home = rng.integers(0, len(small), n)
    kind = rng.choice(
        ["latlon", "serves", "catchment", "star", "none"], size=n, p=[0.70, 0.20, 0.07, 0.02, 0.01]
    )
    types = np.array(list(config.service_types), dtype=object)
    codes = small["small_area_code"].to_numpy()
    k = rng.integers(1, 7, n)
    la = lat[home] + rng.normal(0, 0.003, n)
    lo = lon[home] + rng.normal(0, 0.003, n)
    la[kind == "none"], lo[kind == "none"] = 50.45, -3.0
    located = np.isin(kind, ["latlon", "catchment", "none"])
    frame = pd.DataFrame(
        {
            "service_id": [f"L{i:06d}" for i in range(n)],
            "name": [f"Service {i}" for i in range(n)],
            "service_type": types[rng.integers(0, len(types), n)],
            "latitude": np.where(located, la.round(6), np.nan),
            "longitude": np.where(located, lo.round(6), np.nan),
            "serves": [
                "*" if kd == "star" else ";".join(codes[h : h + kk]) if kd == "serves" else ""
                for kd, h, kk in zip(kind, home, k, strict=True)
            ],
            "catchment_km": np.where(kind == "catchment", rng.uniform(3, 25, n).round(1), np.nan),
            "confidential": np.where(kind == "catchment", "false", ""),
        }
    )
    path = folder / "lsoa_services.csv"
    frame.to_csv(path, index=False)
    services = validate_services(path, config=config, areas=areas, report=ValidationReport())
    return config, areas, population, services, small


def full_report(inputs: tuple[Path, Path, Path], out: Path) -> tuple[float, float, int]:
    """`gapmap report` with every export on the LSOA inputs: (wall s, CPU s, peak RSS bytes) of
    that one process (`os.wait4`, so earlier children do not count)."""
    services, boundaries, pop = inputs
    argv = [sys.executable, "-m", "gapmap", "report", "--services", str(services)]
    argv += ["--boundaries", str(boundaries), "--population", str(pop), "--out", str(out)]
    t0 = time.perf_counter()
    with open(out.with_suffix(".log"), "wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"gapmap report failed ({proc.returncode}): see {out.with_suffix('.log')}")
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def export_breakdown(inputs: tuple[Path, Path, Path], out: Path) -> list[tuple[str, float, float]]:
    """Each export of the full report timed alone, in this process: (name, wall s, CPU s)."""
    from gapmap.dataset import load_dataset
    from gapmap.filters import ServiceFilter
    from gapmap.report import report_files
    from gapmap.view import selection_name

    services, boundaries, pop = inputs
    steps: list[tuple[str, float, float]] = []

    def step(name: str, fn: Callable[[], object]) -> object:
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        steps.append((name, time.perf_counter() - w, time.process_time() - c))
        return result

    from gapmap.engine import analyse

    ds = load_dataset(
        services=services, boundaries=boundaries, population=pop, postcodes=None, benchmarks=None
    )
    an = step(
        "analyse",
        lambda: analyse(ds.areas, ds.population, ds.services, ds.config, service_filter=ServiceFilter()),
    )
    title = f"{selection_name(an)}: domestic abuse and sexual violence services"
    step("CSV tables", lambda: report_files(an, sources=ds.sources, is_demo=ds.is_demo))
    from gapmap.pack import partnership_pack
    from gapmap.staticmap import figure_to_bytes, snapshot_figure
    from gapmap.webmap import map_html
    from gapmap.workbook import gaps_xlsx_bytes

    fig = step("static map (figure)", lambda: snapshot_figure(ds, an, title=title))
    step("map.png (300 dpi)", lambda: figure_to_bytes(fig, "png", dpi=300))
    step("map.pdf", lambda: figure_to_bytes(fig, "pdf"))
    step("map.html", lambda: map_html(ds, an, title=title))
    step("gaps.xlsx", lambda: gaps_xlsx_bytes(ds, an, title=title))
    step("pack.pdf", lambda: partnership_pack(ds, an, title=title))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="engine sizes, comma-separated (the first < 99,000: synthetic postcodes; the rest tiled)",
    )
    parser.add_argument(
        "--only", default="report,engine,pack,lsoa,access", help="figures to measure, comma-separated"
    )
    parser.add_argument("--full", action="store_true", help="also the LSOA report with every export (slow)")
    parser.add_argument("--full-runs", type=int, default=1, help="runs of the full report (median)")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="clock of the in-process figures"
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    rows: list[tuple[str, str, str, str, str]] = []  # figure, median, anchor, ratio, target

    def add(name: str, value: float, anchor: float | None, target: str, unit: str = "s") -> None:
        ratio = f"{value / anchor:.2f}x" if anchor else "-"
        anchor_text = f"{anchor:.3f} {unit}" if anchor else "-"
        rows.append((name, f"{value:.3f} {unit}", anchor_text, ratio, target))
        print(f"  {name}: {value:.3f} {unit} (anchor {anchor_text}, {ratio})", flush=True)

    from gapmap.access import AccessSettings, small_area_access, straight_line_pairs
    from gapmap.engine import analyse
    from gapmap.geography import data_dir

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config, areas, population, services, services_csv, postcodes_csv = england_inputs(sizes[0], tmp)
        base_services = services
        # ---- report (tables only) against the naive script, whole processes
        naive = tmp / "naive.py"
        naive.write_text(NAIVE_SCRIPT)
        report_argv = [sys.executable, "-m", "gapmap", "report", "--services", str(services_csv)]
        report_argv += ["--postcodes", str(postcodes_csv), "--out", str(tmp / "report"), "--no-maps"]
        report_argv += ["--no-pack", "--no-xlsx", "--no-small-areas"]
        naive_argv = [sys.executable, str(naive), str(data_dir() / "england.gpkg"), str(services_csv)]
        naive_argv += [str(postcodes_csv), str(data_dir() / "population.csv"), str(tmp / "naive.csv")]
        if "report" in only:
            # Both processes run from compiled bytecode, as users get it after `pip install`
            # (pip compiles every module): with PYTHONDONTWRITEBYTECODE set, as on this machine,
            # a checkout would recompile ~30 gapmap modules on every run, which no user pays.
            # The bytecode goes to a temporary prefix (not into the checkout); the warm-up runs
            # of `interleaved` fill it for both commands alike.
            env = dict(os.environ, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            whole = children_clock if args.clock == "cpu" else time.perf_counter
            t_report, t_naive = interleaved(
                lambda: subprocess.run(report_argv, cwd=REPO, capture_output=True, check=True, env=env),
                lambda: subprocess.run(naive_argv, cwd=REPO, capture_output=True, check=True, env=env),
                args.runs,
                whole,  # whole processes: their wall time, or the CPU time of the child processes
            )
            add(
                f"report, tables only, 296 x {sizes[0]:,} (vs naive script; compiled bytecode)",
                t_report,
                t_naive,
                "<= 1.5x",
            )

        # ---- engine against a bare sjoin, at each size
        from bench_engine import tile_services

        for n in sizes if "engine" in only else []:
            services = base_services if n == sizes[0] else tile_services(base_services, n)
            located = services[services.geometry.notna()]
            points = gpd.GeoDataFrame(
                {"service_id": located["service_id"]}, geometry=located.geometry.values, crs=4326
            )
            plain = areas[["area_code", "area_name", "geometry"]]
            t_engine, t_sjoin = interleaved(
                lambda: analyse(areas, population, services, config),  # noqa: B023
                lambda: gpd.sjoin(points, plain),  # noqa: B023
                args.runs if n < 500_000 else max(3, args.runs // 2),
            )
            add(f"engine, 296 x {n:,} realistic mix (vs bare sjoin)", t_engine, t_sjoin, "<= 1.5x, flat")
            if n == sizes[0]:
                # Access distances are measured when first read (the map never reads them; an
                # area's profile and the tables do): the run with them read as well.
                t_read, t_sjoin = interleaved(
                    lambda: analyse(areas, population, services, config).access,  # noqa: B023
                    lambda: gpd.sjoin(points, plain),  # noqa: B023
                    args.runs,
                )
                add("  the same, access distances read (vs bare sjoin)", t_read, t_sjoin, "-")
                catchment_rows(services, areas, args.runs, add)
        if "engine" in only:
            # The same mix without catchment circles, whose exact land shares are work the bare
            # sjoin does not do: how much of the ratio is the rest of the engine, at each size.
            *_, no_circles, _, _ = england_inputs(sizes[0], tmp, catchment_share=0.0)
            for n in sizes:
                services = no_circles if n == sizes[0] else tile_services(no_circles, n)
                located = services[services.geometry.notna()]
                points = gpd.GeoDataFrame(
                    {"service_id": located["service_id"]}, geometry=located.geometry.values, crs=4326
                )
                t_engine, t_sjoin = interleaved(
                    lambda: analyse(areas, population, services, config),  # noqa: B023
                    lambda: gpd.sjoin(points, plain),  # noqa: B023
                    args.runs if n < 500_000 else max(3, args.runs // 2),
                )
                add(f"engine, 296 x {n:,}, no catchments (vs bare sjoin)", t_engine, t_sjoin, "<= 1.5x, flat")
        services = base_services

        # ---- the England pack
        from gapmap.dataset import Dataset
        from gapmap.errors import ValidationReport
        from gapmap.pack import partnership_pack

        if "pack" in only:
            config, areas, population, services, *_ = england_inputs(sizes[0], tmp)
            analysis = analyse(areas, population, services, config)
            dataset = Dataset(areas, population, services, config, ValidationReport(), {}, False)
            from gapmap.staticmap import snapshot_pdf

            # Anchor: one static map alone (the figure a pack map page is made from).
            t_pack, t_map = interleaved(
                lambda: partnership_pack(dataset, analysis),
                lambda: snapshot_pdf(dataset, analysis),
                max(1, args.runs // 2),
            )
            add(f"England pack, 296 x {sizes[0]:,} (vs one map.pdf)", t_pack, t_map, "< 5 s")

        # ---- small areas
        if only & {"lsoa", "access"} or args.full:
            config, areas, population, services, small = lsoa_inputs(sizes[0], tmp)
        if "lsoa" in only:
            located = services[services.geometry.notna()]
            points = gpd.GeoDataFrame(
                {"service_id": located["service_id"]}, geometry=located.geometry.values, crs=4326
            )
            plain = areas[["area_code", "area_name", "geometry"]]
            t_engine, t_sjoin = interleaved(
                lambda: analyse(areas, population, services, config),
                lambda: gpd.sjoin(points, plain),
                args.runs,
            )
            add(f"engine, 33,755 LSOAs x {sizes[0]:,} (vs bare sjoin)", t_engine, t_sjoin, "< 2 s")
        if "access" in only:
            from gapmap.access import _public_services

            public = _public_services(services)
            sx, sy = public["x"].to_numpy(), public["y"].to_numpy()
            ox, oy = small["x"].to_numpy(), small["y"].to_numpy()
            radius = AccessSettings().catchment * 1000

            def bare_pairs() -> object:
                import shapely

                tree = shapely.STRtree(shapely.points(sx, sy))
                return tree.query(shapely.points(ox, oy), predicate="dwithin", distance=radius)

            _ = straight_line_pairs  # the fast path's own pair finder is inside small_area_access
            t_access, t_pairs = interleaved(lambda: small_area_access(small, services), bare_pairs, args.runs)
            add(f"access, 33,755 LSOAs x {sizes[0]:,} (vs bare pair query)", t_access, t_pairs, "< 5 s")

        if args.full:
            areas.to_file(tmp / "lsoa.gpkg", engine="pyogrio")
            population.to_csv(tmp / "lsoa_pop.csv", index=False)
            inputs = (tmp / "lsoa_services.csv", tmp / "lsoa.gpkg", tmp / "lsoa_pop.csv")
            walls, cpus, rss = [], [], 0
            for _ in range(args.full_runs):
                wall, cpu, peak = full_report(inputs, tmp / "full")
                walls.append(wall)
                cpus.append(cpu)
                rss = max(rss, peak)
            n_full = f"{len(small):,} LSOAs x {sizes[0]:,}"
            add(f"full report, {n_full}, every export, wall", statistics.median(walls), None, "< 60 s")
            add(f"full report, {n_full}, every export, CPU", statistics.median(cpus), None, "< 60 s")
            rows.append(("  peak RSS of the report process", f"{rss / 1024**3:.2f} GiB", "-", "-", "< 2 GB"))
            for name, wall, cpu in export_breakdown(inputs, tmp / "steps"):
                rows.append(
                    (f"  {name} (in process, one run)", f"{cpu:.3f} s CPU", f"{wall:.3f} s wall", "-", "-")
                )

    load = os.getloadavg()
    print()
    print(f"Near the floor (issue 13): medians of {args.runs} interleaved runs ({args.clock} clock; "
          "whole processes from compiled bytecode, as after pip install); load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    header = ("figure", "median", "anchor (same run)", "ratio", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
