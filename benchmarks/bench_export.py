"""How long the report exports take, and how big they are, for the demo and for all of England.

For each scenario the dataset is loaded and analysed once (not timed), then each export is
produced `--runs` times, interleaved with its anchor so that load on the machine hits both
alike (median reported, min/max beside it):

* pack.pdf: `partnership_pack` (cover, contents, a map per area benchmark + patchwork map,
  matrix, gap table, method pages). Anchor: one static map alone (`snapshot_pdf`, the map a
  pack page is built from). Target for England: under 5 s.
* map.png: `snapshot_png` at 300 dpi (A4 landscape), the report's static map. Anchor: a bare
  `GeoDataFrame.plot` of the same areas saved as a 300 dpi PNG, so the ratio says what our
  legend, hatching, labels and layout cost over plain geopandas.

Also written once and measured: map.pdf, map.html, gaps.xlsx (sizes, and the pack's page count).

Scenarios: the fictional demo (9 areas) and all English districts on the built-in England
geography (296 LAD 2024 BUC districts, `--level district`, built-in denominators) with a
generated service list: an IDVA service per district, a refuge in every third, a schools
programme in every fourth, a national helpline. Target: a county pack under 5 MB.

Usage: .venv/bin/python benchmarks/bench_export.py [--runs 5] [--scenario demo|england|all]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = REPO / "benchmarks" / "out" / "export"


def load(scenario: str):
    from _common import services_for_areas  # benchmarks/ is on sys.path when run as a script

    from gapmap.dataset import load_dataset, load_demo
    from gapmap.engine import analyse
    from gapmap.geography import load_england

    if scenario == "demo":
        dataset = load_demo()
    else:
        # A service list without boundaries is scored on England built in, per district.
        services = services_for_areas(load_england().areas(), OUT / "england_services.csv")
        dataset = load_dataset(services=services)
    analysis = analyse(dataset.areas, dataset.population, dataset.services, dataset.config)
    return dataset, analysis


def timed(fn: Callable[[], bytes], runs: int) -> tuple[list[float], bytes]:
    times, result = [], b""
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def interleaved(
    fn: Callable[[], bytes], anchor: Callable[[], bytes], runs: int
) -> tuple[list[float], list[float], bytes]:
    """`fn` and its anchor run alternately after one warm-up each: (fn's times, anchor's, fn's bytes)."""
    fn()
    anchor()
    times: list[float] = []
    anchor_times: list[float] = []
    result = b""
    for _ in range(runs):
        t, result = timed(fn, 1)
        times += t
        anchor_times += timed(anchor, 1)[0]
    return times, anchor_times, result


def baseline_png(dataset) -> bytes:
    """Plain geopandas: the same areas, one colour, no legend or labels, 300 dpi A4 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.69, 8.27))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.03, 0.13, 0.6, 0.74))
    dataset.areas.to_crs(27700).plot(ax=ax, color="#fdae61", edgecolor="#333333", linewidth=0.5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=300)
    return buf.getvalue()


def fmt_times(times: list[float]) -> str:
    return f"{statistics.median(times):6.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def run(scenario: str, runs: int) -> None:
    from pypdf import PdfReader

    from gapmap import pack, staticmap, webmap, workbook

    dataset, analysis = load(scenario)
    out = OUT / scenario
    out.mkdir(parents=True, exist_ok=True)
    print(f"\n== {scenario}: {len(dataset.areas)} areas, {len(dataset.services)} services, {runs} runs")

    pack_t, snap_t, pdf = interleaved(
        lambda: pack.partnership_pack(dataset, analysis),
        lambda: staticmap.snapshot_pdf(dataset, analysis),
        runs,
    )
    png_t, base_t, png = interleaved(
        lambda: staticmap.snapshot_png(dataset, analysis), lambda: baseline_png(dataset), runs
    )
    (out / "map.png").write_bytes(png)
    (out / "pack.pdf").write_bytes(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    snap = statistics.median(snap_t)
    print(f"anchor: one map.pdf alone    : {fmt_times(snap_t)}")
    print(
        f"pack.pdf                     : {fmt_times(pack_t)}  {len(pdf) / 1e6:6.2f} MB, {pages} pages"
        f"  ratio vs one map {statistics.median(pack_t) / snap:.1f}x"
    )
    base = statistics.median(base_t)
    print(f"anchor: plain geopandas PNG  : {fmt_times(base_t)}")
    print(
        f"map.png (300 dpi)            : {fmt_times(png_t)}  {len(png) / 1e6:6.2f} MB"
        f"  ratio vs baseline {statistics.median(png_t) / base:.1f}x"
    )
    once = {
        "map.pdf": lambda: staticmap.snapshot_pdf(dataset, analysis),
        "map.html": lambda: webmap.map_html(dataset, analysis).encode("utf-8"),
        "gaps.xlsx": lambda: workbook.gaps_xlsx_bytes(dataset, analysis),
    }
    for name, fn in once.items():
        (t,), data = timed(fn, 1)
        (out / name).write_bytes(data)
        print(f"{name:<29}: {t:6.2f} s (1 run)  {len(data) / 1e6:6.2f} MB")
    avg = os.getloadavg()
    print(f"files in {out}; load average {avg[0]:.1f} / {avg[1]:.1f} / {avg[2]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", choices=("demo", "england", "all"), default="all")
    args = parser.parse_args()
    scenarios = ("demo", "england") if args.scenario == "all" else (args.scenario,)
    for scenario in scenarios:
        run(scenario, max(args.runs, 3))


if __name__ == "__main__":
    main()
