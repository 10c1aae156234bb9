"""How fast the app shows its map of all English districts, with 0 and with 10,000 services.

Every run starts a fresh server as `make run` does (cold caches) and measures, in headless
Chromium (Debian's /usr/bin/chromium through Playwright) at 1600x900:

* start -> map: from launching the server to Leaflet having drawn every area
  (path.leaflet-interactive count >= number of areas) inside the st_folium iframe;
* rerun: a click on an area (a real Leaflet click event, as a mouse click fires) until the
  page below the map shows what the click opened (the app: the area's profile, to its last
  section; the minimal page: the area's name) and the map is drawn again if it was replaced;
* websocket bytes: what the server sent the page over its websocket, up to the first map and
  during the rerun.

Scenarios, interleaved run by run so the machine's load affects all alike:

* `minimal`: a minimal Streamlit page drawing the same 296 polygons (benchmarks/minimal_app.py),
  the framework's floor;
* `england0`: the app on all English districts (../shared/data, 2024 LTLA, BSC) with a service
  list that puts no point on the map (one national helpline): the 296-area figures;
* `england10k`: the same with 10,000 services of bench_engine's realistic mix (about 7,000 points).

Targets (issue 13): england10k within 1.3x of england0 for the first map and for the rerun.

Usage: .venv/bin/python benchmarks/bench_app.py [--runs 3] [--scenario minimal|england0|england10k ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "out"
BOUNDARIES = SHARED / "boundaries" / "england_ltla_2024_ons_bsc.geojson"
POPULATION = SHARED / "population" / "la_denominators_lad24_england.csv"
MINIMAL = REPO / "benchmarks" / "minimal_app.py"
TARGET_RATIO = 1.3
SCENARIOS = ("minimal", "england0", "england10k")
#: The text each page shows last after an area click (the app's profile ends with it).
RERUN_DONE = {"minimal": "Clicked:", "app": "Services serving this area"}


def scenario_env(name: str, n_services: int) -> tuple[dict[str, str], int]:
    """(environment for the server, public points on the map) of one scenario."""
    import pandas as pd

    env = {"GAPMAP_BOUNDARIES": str(BOUNDARIES), "GAPMAP_POPULATION": str(POPULATION)}
    if name == "minimal":
        return env, 0
    if name == "england0":
        services = OUT / "england0_services.csv"
        services.parent.mkdir(parents=True, exist_ok=True)
        row = dict(service_id="H-1", name="National helpline", service_type="helpline", serves="*")
        pd.DataFrame([row]).to_csv(services, index=False)
        return {**env, "GAPMAP_SERVICES": str(services)}, 0
    from bench_engine import load_services, synthesise

    from gapmap.boundaries import load_boundaries
    from gapmap.config import default_config
    from gapmap.privacy import public_services

    config = default_config()
    areas = load_boundaries(BOUNDARIES)
    (OUT / name).mkdir(parents=True, exist_ok=True)
    services_csv, postcodes_csv, _ = synthesise(areas, config, n_services, OUT / name)
    services = load_services(services_csv, postcodes_csv, areas, config)
    public = public_services(services)
    points = int((public.geometry.notna() & ~public.geometry.is_empty).sum())
    return {**env, "GAPMAP_SERVICES": str(services_csv), "GAPMAP_POSTCODES": str(postcodes_csv)}, points


def one_run(
    env: dict[str, str], n_areas: int, area_code: str, shot: Path | None, *, minimal: bool = False
) -> dict[str, float]:
    """One cold start of the app (or, `minimal`, of the anchor page): first map, then a rerun."""
    from playwright.sync_api import sync_playwright
    from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, CLICK_AREA_JS, running_app, wait_for_map

    received = [0]

    def on_ws(ws) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    script = None
    if minimal:  # beside a link to the app's static folder, so Leaflet is served alike
        script = OUT / "minimal" / MINIMAL.name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_bytes(MINIMAL.read_bytes())
        if not (script.parent / "static").exists():
            (script.parent / "static").symlink_to(REPO / "static")
    t0 = time.perf_counter()
    with running_app(env={**os.environ, **env}, script=script) as base, sync_playwright() as p:
        t_health = time.perf_counter()
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.on("websocket", on_ws)
            page.goto(base, wait_until="domcontentloaded", timeout=120_000)
            frame = wait_for_map(page, min_paths=n_areas, timeout_ms=120_000)
            t_map = time.perf_counter()
            first_bytes = received[0]
            if shot is not None:
                page.wait_for_timeout(1000)
                page.screenshot(path=str(shot))
            page.wait_for_timeout(500)  # let the first run's last messages arrive before counting
            received[0] = 0
            t_click = time.perf_counter()
            assert frame.evaluate(CLICK_AREA_JS, area_code), f"no area {area_code} on the map"
            done = RERUN_DONE["minimal" if minimal else "app"]
            page.get_by_text(done, exact=False).first.wait_for(timeout=120_000)
            replaced = frame.is_detached()
            wait_for_map(page, min_paths=n_areas, timeout_ms=120_000)
            t_rerun = time.perf_counter()
            page.wait_for_timeout(300)
            rerun_bytes = received[0]
        finally:
            browser.close()
    return {
        "start_to_map_s": t_map - t0,
        "server_start_s": t_health - t0,
        "first_bytes": first_bytes,
        "rerun_s": t_rerun - t_click,
        "rerun_bytes": rerun_bytes,
        "map_replaced": float(replaced),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args(argv)
    from test_e2e_browser import CHROMIUM

    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found: install chromium (make browser)")
        return 1
    if not BOUNDARIES.is_file():
        raise SystemExit(f"{BOUNDARIES} not found: the benchmark needs ../shared/data")
    import geopandas as gpd

    areas = gpd.read_file(BOUNDARIES)
    n_areas = len(areas)
    code_column = next(c for c in areas.columns if c.upper().endswith("CD"))
    area_code = str(areas.iloc[0][code_column])  # the first area: Hartlepool
    names = args.scenario or list(SCENARIOS)
    envs = {name: scenario_env(name, args.services) for name in names}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    loads = []
    for i in range(args.runs):
        for name in names:
            env, _points = envs[name]
            shot = OUT / f"app_{name}.png" if i == 0 else None
            runs[name].append(one_run(env, n_areas, area_code, shot, minimal=name == "minimal"))
            loads.append(os.getloadavg()[0])
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    print(f"{n_areas} areas; medians of {args.runs} runs; load average {statistics.median(loads):.1f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'scenario':12s} {'points':>6s} {'start->map':>11s} {'bytes':>9s} {'rerun':>8s} "
          f"{'bytes':>9s}  map replaced")  # fmt: skip
    for name, m in med.items():
        every = ", ".join(f"{r['start_to_map_s']:.2f}/{r['rerun_s']:.2f}" for r in runs[name])
        print(
            f"{name:12s} {envs[name][1]:6d} {m['start_to_map_s']:9.2f} s {m['first_bytes'] / 1e6:6.2f} MB "
            f"{m['rerun_s']:6.2f} s {m['rerun_bytes'] / 1e6:6.2f} MB  {m['map_replaced']:.0%}  (runs {every})"
        )
    failed = False
    if "england0" in med and "england10k" in med:
        base, big = med["england0"], med["england10k"]
        for what in ("start_to_map_s", "rerun_s"):
            ratio = big[what] / base[what]
            ok = ratio <= TARGET_RATIO
            failed |= not ok
            verdict = "met" if ok else "MISSED"
            print(f"england10k / england0 {what}: {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})")
    if "minimal" in med:
        for name in med:
            if name != "minimal":
                ratio = med[name]["start_to_map_s"] / med["minimal"]["start_to_map_s"]
                print(f"{name} / minimal start_to_map_s: {ratio:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
