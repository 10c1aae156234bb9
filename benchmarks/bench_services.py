"""How fast is service-list validation for 10,000 rows?

A synthetic list (mixed types, lat/long, easting/northing and postcode locations, `serves`
by code and name, lists, dates, capacities) is written to a temporary CSV with a matching
postcode lookup in the NSPL layout, and validated against the fictional demo county's
boundaries (so every point-in-area check runs).

Measured in the same run (medians over --runs runs, after one warm-up):
- `validate_services` end to end (reading included);
- `tables.read_table` alone on the same file (the baseline: reading without validating);
- `pandas.read_csv(dtype=str)` of the same file (a floor for reading);
- their ratios.

Target: validation < 1 s median for 10,000 rows.

    .venv/bin/python benchmarks/bench_services.py [--runs 7] [--services 10000] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gapmap import settings  # noqa: E402
from gapmap.boundaries import load_boundaries  # noqa: E402
from gapmap.config import default_config  # noqa: E402
from gapmap.errors import ValidationReport  # noqa: E402
from gapmap.postcodes import load_postcodes  # noqa: E402
from gapmap.services import validate_services  # noqa: E402
from gapmap.tables import read_table  # noqa: E402

TARGET_SECONDS = 1.0


def synthetic(n: int, areas, folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(20261122)
    minx, miny, maxx, maxy = areas.total_bounds
    lon = rng.uniform(minx, maxx, n).round(5)
    lat = rng.uniform(miny, maxy, n).round(5)
    types = np.array(["idva", "refuge", "helpline", "outreach", "marac", "school_programme", "counselling"])
    kind = rng.integers(0, 3, n)  # 0 lat/long, 1 postcode, 2 serves only
    codes = areas["area_code"].to_numpy()
    names = areas["area_name"].to_numpy()
    postcodes = [f"QZ{i % 9 + 1} {i % 10}{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}" for i in range(n)]
    rows = []
    for i in range(n):
        t = types[i % len(types)]
        serves = ""
        if kind[i] == 2 or t == "refuge":
            serves = f"{codes[i % len(codes)]};{names[(i + 1) % len(names)]}" if i % 2 else "*"
        rows.append(
            {
                "service_id": f"B{i:05d}",
                "Service name": f"Service {i}",
                "Type": t,
                "Lat": lat[i] if kind[i] == 0 and t != "refuge" else "",
                "Long": lon[i] if kind[i] == 0 and t != "refuge" else "",
                "Postcode": postcodes[i] if kind[i] == 1 and t != "refuge" else "",
                "serves": serves,
                "tiers": "secondary; tertiary" if i % 5 == 0 else "",
                "capacity": f"{i % 7}",
                "funding_end": "31/03/2027" if i % 3 else "2027-09-30",
                "hours": ["office", "24/7", "extended", ""][i % 4],
            }
        )
    services = folder / "services.csv"
    pd.DataFrame(rows).to_csv(services, index=False)
    lookup = folder / "nspl.csv"
    pd.DataFrame({"pcds": postcodes, "lat": lat, "long": lon, "doterm": ""}).to_csv(lookup, index=False)
    return services, lookup


def median_seconds(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    config = default_config()
    areas = load_boundaries(settings.DEMO_BOUNDARIES)
    with tempfile.TemporaryDirectory() as tmp:
        services, lookup_path = synthetic(args.services, areas, Path(tmp))
        lookup = load_postcodes(lookup_path)

        def validate():
            report = ValidationReport()
            out = validate_services(
                services,
                config=config,
                areas=areas,
                postcodes=lookup,
                report=report,
                today=date(2026, 11, 22),
            )
            assert out is not None and len(out) == args.services, report.to_text()[:2000]

        def read_only():
            read_table(services, role="service list", report=ValidationReport())

        def pandas_only():
            pd.read_csv(services, dtype=str, keep_default_na=False)

        t_validate = median_seconds(validate, args.runs)
        t_read = median_seconds(read_only, args.runs)
        t_pandas = median_seconds(pandas_only, args.runs)

    print(f"services: {args.services}, runs: {args.runs} (medians)")
    print(f"validate_services:      {t_validate:.3f} s  (target < {TARGET_SECONDS:.1f} s)")
    print(f"read_table alone:       {t_read:.3f} s  -> validation adds {t_validate - t_read:.3f} s")
    print(f"pandas.read_csv(str):   {t_pandas:.3f} s")
    print(
        f"ratio validate / read_table: {t_validate / t_read:.2f}x; / read_csv: {t_validate / t_pandas:.1f}x"
    )
    if args.check and t_validate >= TARGET_SECONDS:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
