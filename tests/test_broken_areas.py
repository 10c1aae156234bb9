"""The broken-input corpus for boundaries and population: one specific message each, no traceback.

The files live in tests/broken/areas/ (regenerate with tests/broken/areas/make_corpus.py).
Each case names the file, the loader, the severity and a fragment of the message, and the
row/column the message must point at where the mistake is in one cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gapmap import settings
from gapmap.boundaries import load_boundaries
from gapmap.config import default_config
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.population import load_population

CORPUS = Path(__file__).resolve().parent / "broken" / "areas"

# file, severity, message fragment, row, column
CASES: list[tuple[str, str, str, int | None, str | None]] = [
    ("shapefile_missing_shx.zip", "error", "is missing its areas.shx file", None, None),
    (
        "shapefile_no_prj_lonlat.zip",
        "warning",
        "look like longitude/latitude, so WGS84 (EPSG:4326) is assumed",
        None,
        None,
    ),
    (
        "shapefile_no_prj_nonsense_coordinates.zip",
        "error",
        "neither longitude/latitude nor British National Grid",
        None,
        None,
    ),
    ("zip_slip.zip", "error", "point outside its own folder ('../evil.shp'", None, None),
    ("two_shapefiles.zip", "error", "several shapefiles (districts.shp, wards.shp)", None, None),
    ("points.geojson", "error", "are not polygons (Point)", 1, None),
    ("duplicate_codes.geojson", "error", "area code E07999901 appears 2 times (features 1, 3)", 1, "LAD24CD"),
    ("empty_geometry.geojson", "error", "empty geometry: E07999902 (feature 2)", 2, None),
    (
        "no_code_column.geojson",
        "error",
        "no area code column found. The file has columns: district, objectid",
        None,
        None,
    ),
    ("truncated.geojson", "error", "not valid JSON", None, None),
    ("not_geojson.geojson", "error", "this JSON file is not GeoJSON", None, None),
    (
        "bng_without_crs.geojson",
        "warning",
        "look like British National Grid metres, so EPSG:27700 is assumed",
        None,
        None,
    ),
    ("self_intersecting.geojson", "warning", "repaired 1 invalid geometry", None, None),
    ("population_negative.csv", "error", "-5 is negative", 3, "females"),
    ("population_not_a_number.csv", "error", "'n/a' is not a number", 2, "females_16_plus"),
    (
        "population_no_code_column.csv",
        "error",
        "no area code column found. The file has columns: district",
        None,
        None,
    ),
    ("population_empty.csv", "error", "the file is empty", None, None),
    (
        "population_duplicate_code.csv",
        "error",
        "area code E07999901 appears on 2 rows (2, 3)",
        2,
        "area_code",
    ),
    ("population_windows1252.csv", "warning", "read it as Windows-1252", None, None),
    ("population_prose.csv", "error", "not a CSV table", None, None),
    ("population_pdf.csv", "error", "this is a PDF document", None, None),
]


def load(path: Path, report: ValidationReport | None):
    if path.name.startswith("population"):
        return load_population(path, config=default_config(), report=report)
    return load_boundaries(path, report=report)


@pytest.mark.parametrize(("file", "severity", "fragment", "row", "column"), CASES, ids=[c[0] for c in CASES])
def test_each_broken_input_gets_its_own_message(file, severity, fragment, row, column):
    report = ValidationReport()
    result = load(CORPUS / file, report)
    matching = [p for p in report.problems if fragment in p.message]
    assert matching, report.to_text()
    problem = matching[0]
    assert problem.severity == severity
    assert problem.file == file
    assert problem.row == row
    assert problem.column == column
    if severity == "error":
        assert result is None
    else:  # a warning: the file still loads
        assert result is not None and report.ok


def test_messages_are_distinct():
    messages = []
    for file, *_ in CASES:
        report = ValidationReport()
        load(CORPUS / file, report)
        messages.append(report.problems[0].message)
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("file", ["duplicate_codes.geojson", "population_negative.csv"])
def test_without_a_report_errors_raise_one_input_error(file):
    with pytest.raises(GapmapInputError) as excinfo:
        load(CORPUS / file, None)
    assert file in str(excinfo.value)


def test_zip_slip_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_boundaries(CORPUS / "zip_slip.zip", report=ValidationReport())
    for folder in {tmp_path, tmp_path.parent, CORPUS, CORPUS.parent}:
        assert not (folder / "evil.shp").exists()


def test_utf8_bom_population_reads_the_code_column():
    report = ValidationReport()
    frame = load_population(CORPUS / "population_utf8_bom.csv", config=default_config(), report=report)
    assert report.problems == []
    assert frame["area_code"].tolist() == ["E07999901"]
    assert frame.attrs["column_sources"]["area_code"] == "area_code"


def test_windows1252_population_keeps_accents_and_thousands_separators():
    report = ValidationReport()
    frame = load_population(CORPUS / "population_windows1252.csv", config=default_config(), report=report)
    assert frame["all_persons"].tolist() == [1000.0]  # "1,000"
    assert frame.attrs["area_names"]["E07999901"] == "Northwold \u2013 Caf\u00e9 ward"


def test_excel_with_title_rows_loads():
    report = ValidationReport()
    frame = load_population(CORPUS / "population_title_rows.xlsx", config=default_config(), report=report)
    assert report.ok, report.to_text()
    assert frame["area_code"].tolist() == ["E07999901", "E07999902"]
    assert frame["females_16_plus"].tolist() == [400.0, 800.0]
    assert frame.attrs["rows"] == {"E07999901": 4, "E07999902": 5}  # the sheet's own row numbers


def test_population_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(settings, "MAX_INPUT_BYTES", 50)
    report = ValidationReport()
    assert load_population(CORPUS / "population_negative.csv", config=default_config(), report=report) is None
    [problem] = report.errors
    assert problem.file == "population_negative.csv"
    size = (CORPUS / "population_negative.csv").stat().st_size
    assert f"{size} bytes" in problem.message and "50 bytes limit" in problem.message


def test_boundaries_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(settings, "MAX_BOUNDARY_BYTES", 100)
    report = ValidationReport()
    assert load_boundaries(CORPUS / "points.geojson", report=report) is None
    size = (CORPUS / "points.geojson").stat().st_size
    assert f"{size} bytes" in report.errors[0].message and "100 bytes limit" in report.errors[0].message
