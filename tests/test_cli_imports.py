"""`report` without exports, and `validate`, import nothing they do not use (issue 13).

The export stack (matplotlib, openpyxl, pypdf, folium, ReportLab) and the app's libraries
take longer to import than the analysis takes to run, so a command that writes only tables
must not load them. Each test runs the command in a fresh interpreter, as a user would, and
reads `sys.modules` at its end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Top-level packages only the exports, the app or optional extras use.
HEAVY = {
    "matplotlib",
    "openpyxl",
    "pypdf",
    "folium",
    "branca",
    "reportlab",
    "streamlit",
    "streamlit_folium",
    "scipy",
    "PIL",
    "xlsxwriter",
}
#: gapmap's own export modules (each imports some of the above).
EXPORT_MODULES = {"gapmap.staticmap", "gapmap.webmap", "gapmap.workbook", "gapmap.pack", "gapmap.access_map"}

RUNNER = """
import contextlib, io, json, sys
import gapmap.cli
with contextlib.redirect_stdout(io.StringIO()):
    code = gapmap.cli.main(sys.argv[1:])
print(json.dumps({"code": code, "gapmap": gapmap.cli.__file__, "modules": sorted(sys.modules)}))
"""


def modules_after(*argv: str) -> set[str]:
    """The modules loaded by the end of `python -m gapmap ARGV` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr[-3000:]
    assert Path(result["gapmap"]).is_relative_to(REPO), result["gapmap"]  # this checkout's code
    return set(result["modules"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in EXPORT_MODULES)


@pytest.fixture()
def england_services(tmp_path: Path) -> Path:
    """Two services on England built in: a located IDVA and a refuge by `serves` only."""
    path = tmp_path / "services.csv"
    path.write_text(
        "name,service_type,latitude,longitude,serves\n"
        "Leicester IDVA,idva,52.6369,-1.1398,\n"
        "County refuge,refuge,,,E06000016\n",
        encoding="utf-8",
    )
    return path


def test_report_without_exports_on_the_demo_imports_no_export_library(tmp_path):
    modules = modules_after("report", "--out", str(tmp_path / "out"), "--no-maps", "--no-pack", "--no-xlsx")
    # The list is real: the analysis itself was loaded and ran.
    assert {"gapmap.engine", "gapmap.report", "geopandas"} <= modules
    assert heavy_in(modules) == []
    # Nor gapmap's own modules for what was not asked for: a scenario (it brings the version
    # comparison) or small-area access (the demo county has no small areas).
    assert sorted({"gapmap.scenarios", "gapmap.compare", "gapmap.access"} & modules) == []
    assert (tmp_path / "out" / "gaps.csv").is_file()


def test_report_without_exports_on_england_imports_no_export_library(tmp_path, england_services):
    out = tmp_path / "out"
    modules = modules_after(
        "report", "--services", str(england_services), "--areas", "llr", "--out", str(out), "--no-maps",
        "--no-pack", "--no-xlsx",
    )  # fmt: skip
    assert {"gapmap.engine", "gapmap.access"} <= modules  # small-area access ran (England built in)
    assert heavy_in(modules) == []
    assert (out / "small_area_access.csv").is_file()


def test_validate_imports_neither_the_engine_nor_an_export_library(england_services):
    modules = modules_after("validate", "--services", str(england_services), "--areas", "llr")
    assert "gapmap.services" in modules
    assert heavy_in(modules) == []
    assert "gapmap.engine" not in modules  # checking a file scores nothing
    assert sorted({"gapmap.scenarios", "gapmap.compare"} & modules) == []  # no --scenario given
