"""How fast the app shows its map, and how big the map is, for the demo and for all of England.

For each scenario, every run starts a fresh `python app.py` as `make run` does (cold caches) and measures,
in headless Chromium (Debian's /usr/bin/chromium through Playwright):

* start -> map drawn: from launching the server to Leaflet having drawn every area
  (path.leaflet-interactive count >= number of areas) inside the st_folium iframe;
  split into server start (until /_stcore/health answers) and page -> map;
* websocket bytes: everything the server sent the page over its websocket (all tabs);
* running server, new viewer: page -> map for a second browser context once the app runs
  (the meeting case: the server was started before the meeting; caches warm);
* map payload: what streamlit-folium hands its component (Leaflet script + header + html),
  measured in Python on the same map the app builds.

Scenarios: the fictional demo (the baseline) and all English districts from ../shared/data
(2024 LTLA, 296 areas, BSC 200 m), opened through the app's GAPMAP_* environment variables
with a generated service list (one IDVA per district, refuges, school programmes, a national
helpline) written to benchmarks/out/. Targets: England under 5 s and under 3 MB.

Usage: .venv/bin/python benchmarks/bench_app.py [--runs 5] [--scenario demo|england|england2013]
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

SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "out"
TARGET_SECONDS = 5.0
TARGET_BYTES = 3 * 1024 * 1024

SCENARIOS = {
    "demo": None,
    "england": (
        "boundaries/england_ltla_2024_ons_bsc.geojson",
        "population/la_denominators_lad24_england.csv",
    ),
    "england2013": ("boundaries/england_lad_2013.geojson", "population/la_denominators_lad24_england.csv"),
}


def scenario_env(name: str) -> dict[str, str]:
    from _common import england_services  # benchmarks/ is on sys.path when run as a script

    if SCENARIOS[name] is None:
        return {}
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} not found: the England scenarios need ../shared/data")
    boundaries, population = (SHARED / p for p in SCENARIOS[name])
    services = england_services(boundaries, OUT / f"{name}_services.csv")
    return {"GAPMAP_BOUNDARIES": str(boundaries), "GAPMAP_POPULATION": str(population),
            "GAPMAP_SERVICES": str(services)}  # fmt: skip


def map_payload(env: dict[str, str]) -> tuple[int, int, int]:
    """(areas, public markers, bytes streamlit-folium sends) for the app's default map."""
    import streamlit_folium as sf

    from gapmap import webmap
    from gapmap.dataset import load_dataset
    from gapmap.engine import analyse
    from gapmap.privacy import public_services

    if env:
        dataset = load_dataset(env["GAPMAP_SERVICES"], env["GAPMAP_BOUNDARIES"], env["GAPMAP_POPULATION"])
    else:
        dataset = load_dataset()
    analysis = analyse(dataset.areas, dataset.population, dataset.services, dataset.config)
    m = webmap.build_map(dataset.areas, analysis, dataset.services, dataset.config)
    m.get_root().render()
    html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    size = sum(len(part.encode("utf-8")) for part in (html, header, script))
    return len(dataset.areas), len(public_services(dataset.services)), size


def one_run(env: dict[str, str], n_areas: int, screenshot: Path | None) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, running_app, wait_for_map

    ws_bytes = 0

    def on_ws(ws) -> None:
        def count(payload) -> None:
            nonlocal ws_bytes
            ws_bytes += len(payload)

        ws.on("framereceived", count)

    t0 = time.perf_counter()
    with running_app(env=env) as base, sync_playwright() as p:
        t_health = time.perf_counter()
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.on("websocket", on_ws)
            t_page = time.perf_counter()
            page.goto(base, wait_until="domcontentloaded", timeout=120_000)
            wait_for_map(page, min_paths=n_areas, timeout_ms=120_000)
            t_map = time.perf_counter()
            if screenshot is not None:
                page.wait_for_timeout(1500)
                page.screenshot(path=str(screenshot))
            # A second viewer of the already running app (the meeting case: the server was
            # started beforehand): a fresh browser context, the server's caches warm.
            context = browser.new_context(viewport={"width": 1600, "height": 900})
            warm_page = context.new_page()
            t_warm = time.perf_counter()
            warm_page.goto(base, wait_until="domcontentloaded", timeout=120_000)
            wait_for_map(warm_page, min_paths=n_areas, timeout_ms=120_000)
            t_warm_map = time.perf_counter()
            context.close()
        finally:
            browser.close()
    return {
        "start_to_map_s": t_map - t0,
        "server_start_s": t_health - t0,
        "page_to_map_s": t_map - t_page,
        "websocket_bytes": ws_bytes,
        "warm_page_to_map_s": t_warm_map - t_warm,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    args = parser.parse_args(argv)
    from test_e2e_browser import CHROMIUM

    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found: install chromium (make browser)")
        return 1
    scenarios = args.scenario or ["demo", "england"]
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    for name in scenarios:
        env = scenario_env(name)
        n_areas, n_markers, payload = map_payload(env)
        runs = []
        for i in range(args.runs):
            shot = OUT / f"app_{name}.png" if i == 0 else None
            runs.append(one_run({**os.environ, **env} if env else {}, n_areas, shot))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        results[name] = {**med, "payload_bytes": payload}
        all_runs = ", ".join(f"{r['start_to_map_s']:.2f}" for r in runs)
        print(
            f"{name:12s} areas={n_areas:4d} markers={n_markers:4d} runs={args.runs}  "
            f"start->map median {med['start_to_map_s']:.2f} s (server {med['server_start_s']:.2f} s, "
            f"page->map {med['page_to_map_s']:.2f} s; all runs {all_runs})  "
            f"running server, new viewer: page->map {med['warm_page_to_map_s']:.2f} s  "
            f"map payload {payload / 1e6:.2f} MB  websocket {med['websocket_bytes'] / 1e6:.2f} MB"
        )
    if "demo" in results:
        base = results["demo"]
        for name, r in results.items():
            if name != "demo":
                print(
                    f"{name} vs demo: time x{r['start_to_map_s'] / base['start_to_map_s']:.2f}, "
                    f"payload x{r['payload_bytes'] / base['payload_bytes']:.1f}"
                )
    failed = False
    print(f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, r in results.items():
        if name.startswith("england"):
            ok_t = r["start_to_map_s"] < TARGET_SECONDS
            ok_b = r["payload_bytes"] < TARGET_BYTES
            failed |= not (ok_t and ok_b)
            print(
                f"{name}: target <{TARGET_SECONDS:.0f} s {'met' if ok_t else 'MISSED'}; "
                f"target <3 MB {'met' if ok_b else 'MISSED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
