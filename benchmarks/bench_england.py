"""England built in: the size of the shipped geography, how fast it loads, and start -> map.

* shipped size: every file of gapmap/data/england (bytes), and the total;
* load: `gapmap.geography.load_england()` plus the 296-district areas and population, in a
  fresh interpreter each run (imports excluded: geopandas is imported before the clock starts);
* report: `python -m gapmap report --areas E23000021 --level pfa` with no boundaries or
  population (the issue's acceptance command), whole process, tables only;
* start -> map: a fresh `python app.py` per run with only GAPMAP_SERVICES set (a generated
  national list, one IDVA per district etc.: benchmarks/_common.py), so the app opens on England
  built in at district level with every district selected; timed as benchmarks/bench_app.py
  does, until Leaflet has drawn all 296 areas in headless Chromium.

Usage: .venv/bin/python benchmarks/bench_england.py [--runs 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

OUT = REPO / "benchmarks" / "out"

LOAD_SNIPPET = """
import time, geopandas, pandas
t = time.perf_counter()
from gapmap.config import default_config
from gapmap.geography import load_england
e = load_england()
areas = e.areas(); pop = e.population(default_config())
for level in ("tier1", "pfa", "region"):
    e.layer(level)
print(time.perf_counter() - t)
"""


def shipped_sizes() -> dict[str, int]:
    from gapmap.geography import data_dir

    return {p.name: p.stat().st_size for p in sorted(data_dir().iterdir()) if p.is_file()}


def time_load(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], cwd=REPO, capture_output=True, text=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def time_report(services: Path, runs: int) -> list[float]:
    out = []
    for i in range(runs):
        folder = OUT / f"england_report_{i}"
        argv = [sys.executable, "-m", "gapmap", "report", "--services", str(services), "--areas", "E23000021"]
        argv += ["--level", "pfa", "--out", str(folder), "--no-maps", "--no-pack", "--no-xlsx"]
        t = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=True)
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="skip the app's start -> map")
    args = parser.parse_args(argv)
    from _common import services_for_areas

    from gapmap.geography import load_england

    OUT.mkdir(parents=True, exist_ok=True)
    sizes = shipped_sizes()
    for name, size in sizes.items():
        print(f"  {name:26s} {size:>10,d} bytes")
    print(f"shipped geography: {sum(sizes.values()):,d} bytes in {len(sizes)} files")

    england = load_england()
    services = services_for_areas(england.districts, OUT / "england_builtin_services.csv")
    loads = time_load(args.runs)
    print(f"load_england + areas + population + 3 layers: median {statistics.median(loads):.3f} s "
          f"(runs: {', '.join(f'{x:.3f}' for x in loads)})")  # fmt: skip
    reports = time_report(services, args.runs)
    print(f"report --areas E23000021 --level pfa (whole process, tables only): median "
          f"{statistics.median(reports):.2f} s (runs: {', '.join(f'{x:.2f}' for x in reports)})")  # fmt: skip
    if args.no_browser:
        return 0

    from bench_app import one_run
    from test_e2e_browser import CHROMIUM

    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found: install chromium (make browser) for start -> map")
        return 1
    env = {**os.environ, "GAPMAP_SERVICES": str(services)}
    env.pop("GAPMAP_BOUNDARIES", None)
    code = str(england.districts["area_code"].iloc[0])
    runs = [one_run(env, len(england.districts), code, OUT / "app_england_builtin.png" if i == 0 else None)
            for i in range(args.runs)]  # fmt: skip
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    every = ", ".join(f"{r['start_to_map_s']:.2f}" for r in runs)
    print(
        f"app on England built in, district level, {len(england.districts)} areas, runs={args.runs}: "
        f"start->map median {med['start_to_map_s']:.2f} s (server {med['server_start_s']:.2f} s; all runs "
        f"{every}); websocket to the map {med['first_bytes'] / 1e6:.2f} MB; an area click's rerun "
        f"{med['rerun_s']:.2f} s, {med['rerun_bytes'] / 1e6:.2f} MB"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
