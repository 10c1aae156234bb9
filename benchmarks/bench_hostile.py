"""Are resource bombs refused quickly and in little memory? (issue 8, point 6)

Files reproduced as bombs before reading was bounded, each read through the
service-list loader (`services.validate_services`, reading included):

- the dimension bomb: a ~5 KB .xlsx with one value at XFD1048576 (before: the app grew
  to 5.3 GB in 40 s);
- a 1M-row CSV of tiny rows, about 19 MB, under the byte limit (before: 492 s, 8.7 GB
  through `report`);
- a 16,384-column CSV, about 133 KB (before: 18 s to validate);
- and one found while fixing those: a ~500 KB .xlsx whose shared-string table is 12
  million copies of one text, 200 MB unzipped (before: 167 s and 1.2 GB on this machine
  under load, before the workbook was even open).

Baseline in the same run: the 60-row demo service list, validated the same way (against
the demo county's boundaries and postcodes, as the app does).

Each run is a fresh Python process (so peak memory is that file's alone): it imports
gapmap, then times the one call. Reported per case, as medians over --runs runs: the
call's wall time, and the process's peak resident memory (VmHWM, else ru_maxrss; it
includes the interpreter and its imports, about the baseline's figure). The files are generated once
into a temporary folder before the runs.

Target: each bomb refused (the loader returns None with a limit error) within 5 s and
under 500 MB peak.

    .venv/bin/python benchmarks/bench_hostile.py [--runs 5] [--check]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "hostile"))

import bombs  # noqa: E402

from gapmap import settings  # noqa: E402

TARGET_SECONDS = 5.0
TARGET_MB = 500.0

#: What each child process runs: validate one file, print seconds, peak MB and the outcome.
CHILD = """
import json, resource, sys, time
from gapmap import settings
from gapmap.boundaries import load_boundaries
from gapmap.config import default_config
from gapmap.errors import ValidationReport
from gapmap.postcodes import load_postcodes
from gapmap.services import validate_services

# As the app validates an upload: against the demo county's areas and postcodes (loaded
# before the clock starts, for every case alike).
config = default_config()
areas = load_boundaries(settings.DEMO_BOUNDARIES)
postcodes = load_postcodes(settings.DEMO_POSTCODES)
report = ValidationReport()
start = time.perf_counter()
frame = validate_services(sys.argv[1], config=config, areas=areas, postcodes=postcodes, report=report)
seconds = time.perf_counter() - start
# VmHWM is this process's own peak; ru_maxrss would also count the parent's memory at the
# fork that started it (Linux keeps it across exec).
try:
    with open("/proc/self/status") as status:
        peak_mb = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
errors = [p.message for p in report.errors]
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": None if frame is None else len(frame),
                  "error": errors[0][:120] if errors else ""}))
"""


def run_once(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"{path.name}: the child process failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gapmap-bench-hostile-") as tmp:
        folder = Path(tmp)
        cases = {
            "baseline: demo list (60 rows)": (settings.DEMO_SERVICES, False),
            "dimension bomb .xlsx": (bombs.dimension_bomb_xlsx(folder / "bomb.xlsx"), True),
            "1M-row CSV": (bombs.many_rows_csv(folder / "million_rows.csv"), True),
            "16,384-column CSV": (bombs.many_columns_csv(folder / "wide.csv"), True),
            "shared-string bomb .xlsx": (
                bombs.shared_strings_xlsx(folder / "strings.xlsx", ["a"], repeat=12_000_000),
                True,
            ),
        }
        print(f"runs: {args.runs} per case, each in a fresh process (medians)")
        print(f"{'case':32} {'input':>10} {'seconds':>9} {'peak MB':>9}  outcome")
        missed = False
        for label, (path, is_bomb) in cases.items():
            results = [run_once(path) for _ in range(args.runs)]
            seconds = statistics.median(r["seconds"] for r in results)
            peak = statistics.median(r["peak_mb"] for r in results)
            last = results[-1]
            refused = last["rows"] is None
            outcome = f"refused: {last['error'][:70]}…" if refused else f"read {last['rows']} rows"
            size = path.stat().st_size
            shown = f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
            print(f"{label:32} {shown:>10} {seconds:9.3f} {peak:9.0f}  {outcome}")
            if is_bomb and (not refused or seconds >= TARGET_SECONDS or peak >= TARGET_MB):
                missed = True
    print(f"target: each bomb refused within {TARGET_SECONDS:.0f} s and under {TARGET_MB:.0f} MB peak")
    print("missed" if missed else "met")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
