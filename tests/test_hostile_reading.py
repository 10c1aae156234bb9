"""Hostile inputs for the readers (issue 8, points 6 and 7): resource bombs are refused while
streaming, and malformed dates, numbers, TOML and GeoJSON get a file/row/column message.

Every case asserts its message words and where it points, that nothing is saved, and (for
the CLI cases, run as an analyst would in a fresh process) that no traceback is printed.
Bombs are generated at run time (tests/hostile/bombs.py); only small fixtures are committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap import cli, settings
from gapmap.boundaries import json_depth, load_boundaries
from gapmap.config import load_config
from gapmap.dataset import validate_dataset
from gapmap.errors import ConfigError, ValidationReport
from gapmap.population import load_population
from gapmap.postcodes import load_postcodes
from gapmap.services import parse_date
from gapmap.tables import read_table

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile"
FIXTURES = HERE / "fixtures" / "services"
REPO = HERE.parent
BASE_INPUTS = {
    "boundaries": FIXTURES / "two_areas.geojson",
    "population": FIXTURES / "population.csv",
    "postcodes": FIXTURES / "postcodes.csv",
}

sys.path.insert(0, str(HOSTILE))
import bombs  # noqa: E402


def _errors(report: ValidationReport) -> list[tuple[str, int | None, str | None, str]]:
    return [(p.file, p.row, p.column, p.message) for p in report.errors]


def _only_error(report: ValidationReport):
    assert len(report.errors) == 1, report.to_text()
    return report.errors[0]


def _save_refused(services: Path, capsys, **extra: Path) -> str:
    """`python -m gapmap save` in-process: exit 1, "Nothing was saved.", no versions folder."""
    argv = ["save", "--services", str(services)]
    for role, path in {**BASE_INPUTS, **extra}.items():
        argv += [f"--{role}", str(path)]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "Nothing was saved." in out
    assert "Traceback" not in out
    assert not settings.SAVED_SERVICES_DIR.exists()
    return out


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The real entry point in a fresh process, with its data folder in `tmp_path`."""
    environment = {**os.environ, "GAPMAP_DATA_DIR": str(tmp_path / "data"), **env}
    result = subprocess.run(
        [sys.executable, "-m", "gapmap", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "data" / "services" / "saved").exists()
    return result


# --------------------------------------------------------------------------- bounded reading


def test_dimension_bomb_xlsx_is_refused_at_the_far_cell(tmp_path, capsys):
    """4.9 KB, one value at XFD1048576: refused at that cell, nothing padded or built."""
    bomb = bombs.dimension_bomb_xlsx(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 10_000
    dataset, report = validate_dataset(bomb, **BASE_INPUTS)
    assert dataset is None
    problem = _only_error(report)
    assert (problem.file, problem.row) == ("bomb.xlsx", 1_048_576)
    assert problem.message.startswith(
        "sheet 'Services': this row has a value in column XFD (column 16,384), beyond the limit of "
        "200 columns for a service list file."
    )
    assert "GAPMAP_MAX_INPUT_COLUMNS" in problem.message
    _save_refused(bomb, capsys)


def test_dimension_bomb_through_the_cli_process(tmp_path):
    bomb = bombs.dimension_bomb_xlsx(tmp_path / "bomb.xlsx")
    result = _cli(tmp_path, "save", "--services", str(bomb))
    assert result.returncode == 1
    assert "ERROR: bomb.xlsx, row 1048576: sheet 'Services': this row has a value in column XFD" in (
        result.stdout
    )
    assert "Nothing was saved." in result.stdout


def test_workbook_that_understates_its_dimension_is_still_bounded(tmp_path):
    """The declared <dimension> says A1:H2; the cells say otherwise. The cells win."""
    honest = bombs.dimension_bomb_xlsx(tmp_path / "honest.xlsx")
    liar = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(honest) as src, zipfile.ZipFile(liar, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:XFD1048576"' in data
                data = data.replace(b'<dimension ref="A1:XFD1048576"', b'<dimension ref="A1:H2"')
            dst.writestr(info, data)
    report = ValidationReport()
    assert read_table(liar, role="service list", report=report) is None
    problem = _only_error(report)
    assert problem.row == 1_048_576
    assert "column XFD (column 16,384)" in problem.message


def test_formatting_dragged_to_the_corner_does_not_refuse_an_honest_list(tmp_path):
    """A styled but empty XFD1048576 declares the whole sheet; the one data row still loads."""
    styled = bombs.dimension_bomb_xlsx(tmp_path / "styled.xlsx", value=None)
    dataset, report = validate_dataset(styled, **BASE_INPUTS)
    assert report.ok, report.to_text()
    assert dataset.services["source_row"].tolist() == [2]
    assert dataset.services["name"].tolist() == ["Alpha IDVA"]
    (warning,) = [w for w in report.warnings if w.file == "styled.xlsx"]
    assert warning.message.startswith(
        "sheet 'Services' declares its size as 1,048,576 rows by 16,384 columns (to cell XFD1048576) "
        "but holds values only up to row 2 and column H; the empty rest was ignored."
    )


def test_million_row_csv_is_refused_at_the_row_limit(tmp_path, capsys):
    """19 MB of 1M tiny rows: under the byte limit, refused at row 100,001 (the 100,001st row
    with data, counting the header), with the whole file's size in the message."""
    big = bombs.many_rows_csv(tmp_path / "million.csv")
    assert big.stat().st_size < settings.MAX_INPUT_BYTES
    dataset, report = validate_dataset(big, **BASE_INPUTS)
    assert dataset is None
    problem = _only_error(report)
    assert (problem.file, problem.row, problem.column) == ("million.csv", 100_001, None)
    assert problem.message.startswith(
        "the file has more than 100,000 rows with data (1,000,001 lines in all), over the limit for a "
        "service list file; reading stopped at this row and nothing was read. Split the file"
    )
    _save_refused(big, capsys)


def test_sixteen_thousand_column_csv_is_refused_on_its_header_row(tmp_path, capsys):
    wide = bombs.many_columns_csv(tmp_path / "wide.csv")
    assert wide.stat().st_size < 200_000
    report = ValidationReport()
    assert read_table(wide, role="service list", report=report) is None
    problem = _only_error(report)
    assert (problem.file, problem.row) == ("wide.csv", 1)
    assert problem.message.startswith(
        "this row has a value in column XFD (column 16,384), beyond the limit of 200 columns for a "
        "service list file. Nothing was read. Delete the empty or unused columns"
    )
    _save_refused(wide, capsys)


def test_blank_rows_do_not_count_but_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "MAX_INPUT_ROWS", 5)
    path = tmp_path / "blank_lines.csv"
    # Header and 3 rows with data (4 <= 5) separated by 4 blank lines: allowed.
    path.write_text("name,service_type\nA,idva\n\n\nB,idva\n,\n,\nC,idva\n", encoding="utf-8")
    table = read_table(path, role="service list", report=ValidationReport())
    assert table["__row__"].tolist() == [2, 5, 8]
    # Six blank lines after the table (6 > 5): reading stops at the sixth, row 9.
    path.write_text("name,service_type\nA,idva\n,\n,\n,\n,\n,\n,\n,\n", encoding="utf-8")
    report = ValidationReport()
    assert read_table(path, role="service list", report=report) is None
    problem = _only_error(report)
    assert problem.row == 8
    assert problem.message.startswith("the file has more than 5 blank rows; reading stopped at this row")


def test_trailing_empty_columns_past_the_limit_are_not_counted(tmp_path, monkeypatch):
    """An honest export with blank columns beyond the limit loads, with exact row numbers
    (a quoted value spanning two lines makes CSV lines and spreadsheet rows differ)."""
    monkeypatch.setattr(settings, "MAX_INPUT_COLUMNS", 3)
    path = tmp_path / "trailing.csv"
    path.write_text(
        'name,service_type,provider,,,,,\n"Alpha\nIDVA",idva,Alpha Aid,,,,,\nBeta,idva,Beta Aid,,,,,\n',
        encoding="utf-8",
    )
    report = ValidationReport()
    table = read_table(path, role="service list", report=report)
    assert report.problems == []
    assert list(table.columns) == ["name", "service_type", "provider", "__row__"]
    assert table["__row__"].tolist() == [2, 3]
    # One value in the fourth column is over the limit of 3.
    path.write_text("name,service_type,provider,,\nAlpha,idva,Alpha Aid,,x\n", encoding="utf-8")
    report = ValidationReport()
    assert read_table(path, role="service list", report=report) is None
    problem = _only_error(report)
    assert problem.row == 2
    assert "has a value in column E (column 5), beyond the limit of 3 columns" in problem.message


def test_row_limit_is_read_from_the_environment(tmp_path):
    """GAPMAP_MAX_INPUT_ROWS overrides the default for a whole run (set before start-up)."""
    result = _cli(
        tmp_path,
        "validate",
        "--services",
        str(FIXTURES / "services.csv"),
        "--boundaries",
        str(BASE_INPUTS["boundaries"]),
        GAPMAP_MAX_INPUT_ROWS="2",
    )
    assert result.returncode == 1
    assert "ERROR: services.csv, row 3: the file has more than 2 rows with data (" in result.stdout


def test_postcode_lookup_header_is_bounded_but_not_its_rows(tmp_path, monkeypatch):
    """The national lookup is exempt from the row limit (2.7M rows); its header is not."""
    wide = tmp_path / "wide_postcodes.csv"
    wide.write_text(",".join(f"c{i}" for i in range(16_384)) + "\n" + "1," * 16_383 + "1\n", encoding="utf-8")
    report = ValidationReport()
    assert load_postcodes(wide, report=report) is None
    problem = _only_error(report)
    assert (problem.file, problem.row) == ("wide_postcodes.csv", 1)
    assert "its header row has 16,384 columns, over the limit of 200 (ONSPD has about 50)" in problem.message

    monkeypatch.setattr(settings, "MAX_INPUT_ROWS", 2)
    many = tmp_path / "postcodes.csv"
    many.write_text(
        "pcds,lat,long\nAB1 2CD,52.5,-1.5\nAB1 2CE,inf,-1.5\nAB1 2CF,52.5,1e400\nAB1 2CG,52.1,-1.1\n",
        encoding="utf-8",
    )
    lookup = load_postcodes(many, report=ValidationReport())
    assert lookup.index.tolist() == ["AB1 2CD", "AB1 2CE", "AB1 2CF", "AB1 2CG"]
    # Non-finite coordinates are "no location", never a point at infinity.
    assert lookup["lat"].isna().tolist() == [False, True, True, False]
    assert lookup["long"].isna().tolist() == [False, True, True, False]


# --------------------------------------------------------------------------- dates and numbers


def test_dates_outside_1900_to_2200_are_row_and_column_errors(capsys):
    services = HOSTILE / "funding_end_out_of_range.csv"
    dataset, report = validate_dataset(services, **BASE_INPUTS)
    assert dataset is None
    errors = _errors(report)
    assert [(f, r, c) for f, r, c, _ in errors] == [
        ("funding_end_out_of_range.csv", 3, "funding_end"),
        ("funding_end_out_of_range.csv", 4, "funding_end"),
        ("funding_end_out_of_range.csv", 5, "funding_end"),
    ]
    assert errors[0][3].startswith(
        "funding_end `31/12/9999` is outside the years we read: dates must be between 1900 and 2200; "
        "write the date as YYYY-MM-DD"
    )
    assert "`2300-01-01` is outside the years we read" in errors[1][3]
    assert "`14/10/1066` is outside the years we read" in errors[2][3]
    _save_refused(services, capsys)


def test_date_bounds_are_inclusive():
    assert parse_date("1900-01-01")[0] == pd.Timestamp("1900-01-01")
    assert parse_date("31/12/2200")[0] == pd.Timestamp("2200-12-31")
    assert parse_date("1899-12-31") == (
        None,
        "is outside the years we read: dates must be between 1900 and 2200",
    )


def test_non_finite_capacity_is_a_row_and_column_error():
    """(The text "NaN" is read as a blank cell throughout a service list, by design.)"""
    dataset, report = validate_dataset(HOSTILE / "capacity_non_finite.csv", **BASE_INPUTS)
    assert dataset is None
    errors = _errors(report)
    assert [(r, c) for _, r, c, _ in errors] == [(2, "capacity"), (3, "capacity"), (4, "capacity")]
    for (_, _, _, message), text in zip(errors, ("inf", "-inf", "1e400"), strict=True):
        assert message.startswith(f"`capacity` is `{text}`, which is not a number")


def test_population_inf_nan_huge_and_negative_are_refused():
    report = ValidationReport()
    from gapmap.config import default_config

    assert (
        load_population(HOSTILE / "population_non_finite.csv", config=default_config(), report=report) is None
    )
    where = sorted((p.row, p.column, p.message.split(".")[0]) for p in report.errors)
    assert where == [
        (2, "all_persons", "'inf' is not a number"),
        (3, "females", "'nan' is not a number"),
        (4, "all_persons", "'1e400' is not a number"),
        (4, "persons_0_17", "-1 is negative; a population count cannot be"),
    ]


# --------------------------------------------------------------------------- TOML

TOML_CASES = {
    "target_is_text": '`target` must be a number, got a string ("four")',
    "per_is_text": '`per` must be a number, got a string ("100,000")',
    "target_nan": "`target` must be a finite number, got nan",
    "per_inf": "`per` must be a finite number, got inf",
    "target_zero": "`target` must be greater than zero, got 0",
    "target_negative": "`target` must be greater than zero, got -4",
    "target_missing": "`target` is missing; an area benchmark needs `target` and `per`",
    "profiles_is_text": "[profiles] must be a table (a [section] with keys below it), got a string",
    "status_is_text": "[status] must be a table (a [section] with keys below it), got a string",
    "benchmarks_are_numbers": "benchmark 1 must be a [[profiles.local.benchmarks]] table, got a number (1)",
    "service_types_are_numbers": '`service_types` must be a list of strings such as ["a", "b"], got an array',
    "aliases_is_text": '`aliases` must be a list of strings such as ["a", "b"], got a string ("women")',
    "unknown_denominator": "unknown denominator `adult_women`",
    "duplicate_id": "duplicate benchmark id `idva_fte`",
    "default_is_text": '`default` must be true or false (no quotes), got a string ("yes")',
    "misspelt_section": "unknown section `profile`; expected one of: status, tiers",
    "not_toml": "this is not valid TOML (Expected ']' at the end of a table declaration",
    "invalid_utf8": "the file is not UTF-8 text; save it as UTF-8 TOML.",
}


def test_every_malformed_toml_fixture_has_a_case():
    assert {p.stem for p in (HOSTILE / "toml").glob("*.toml")} == set(TOML_CASES)


@pytest.mark.parametrize("name", sorted(TOML_CASES))
def test_malformed_benchmark_file_is_a_config_error(name, capsys):
    path = HOSTILE / "toml" / f"{name}.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [p.file for p in info.value.problems] == [f"{name}.toml"] * len(info.value.problems)
    assert any(TOML_CASES[name] in p.message for p in info.value.problems), str(info.value)
    # Through the CLI's save: reported with the other files' problems, nothing saved.
    out = _save_refused(FIXTURES / "services.csv", capsys, benchmarks=path)
    assert TOML_CASES[name] in out


def test_malformed_toml_through_the_cli_process(tmp_path):
    result = _cli(
        tmp_path, "validate", "--services", str(FIXTURES / "services.csv"),
        "--benchmarks", str(HOSTILE / "toml" / "target_nan.toml"),
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        "ERROR: target_nan.toml: profile `local`, benchmark 1 (`idva_fte`): `target` must be a finite "
        "number, got nan" in result.stdout
    )


# --------------------------------------------------------------------------- GeoJSON


@pytest.mark.parametrize(
    ("name", "constant"), [("boundaries_nan", "NaN"), ("boundaries_infinity", "-Infinity")]
)
def test_geojson_nan_and_infinity_are_refused(name, constant, capsys):
    path = HOSTILE / f"{name}.geojson"
    report = ValidationReport()
    assert load_boundaries(path, report=report) is None
    problem = _only_error(report)
    assert (problem.file, problem.row) == (f"{name}.geojson", None)
    assert problem.message.startswith(
        f"this GeoJSON contains the value {constant}, which is not a number JSON allows"
    )
    _save_refused(FIXTURES / "services.csv", capsys, boundaries=path)


def test_deeply_nested_geojson_is_refused_before_parsing(tmp_path):
    """100,000 levels of [[[[ would exhaust Python's recursion in json.loads."""
    deep = tmp_path / "deep.geojson"
    deep.write_text('{"type":"FeatureCollection","features":' + "[" * 100_000 + "]" * 100_000 + "}")
    result = _cli(
        tmp_path, "validate", "--services", str(FIXTURES / "services.csv"), "--boundaries", str(deep)
    )
    assert result.returncode == 1
    assert (
        "ERROR: deep.geojson: this GeoJSON nests brackets more than 64 levels deep (a boundary file "
        "needs about 8), so it was not read" in result.stdout
    )


def test_json_depth_counts_nesting_without_recursion():
    assert json_depth(b'{"a": [[1, 2], [3]]}') == 3
    assert json_depth(b"[" * 10 + b"]" * 10) == 10
    assert json_depth(b"[]" * 5) == 1
    assert json_depth(b"") == 0


def test_nan_coordinates_in_any_format_are_reported_by_feature(tmp_path):
    """A GeoPackage may hold NaN coordinates (GEOS used to raise on them while repairing)."""
    import geopandas as gpd

    with np.errstate(invalid="ignore"):  # shapely warns while building the NaN ring
        broken = shapely.Polygon([(-1, 52), (np.nan, 52), (-1, 53)])
    frame = gpd.GeoDataFrame(
        {"LAD24CD": ["E07000001", "E07000002"], "LAD24NM": ["Alpha", "Beta"]},
        geometry=[shapely.box(-1.6, 52.4, -1.4, 52.6), broken],
        crs=4326,
    )
    path = tmp_path / "nan.gpkg"
    frame.to_file(path, driver="GPKG")
    report = ValidationReport()
    assert load_boundaries(path, report=report) is None
    problem = _only_error(report)
    assert (problem.file, problem.row) == ("nan.gpkg", 2)
    assert problem.message.startswith(
        "1 area(s) have coordinates that are not numbers (NaN or infinity): E07000002 (feature 2)."
    )


def test_zip_that_is_not_a_shapefile_and_truncated_workbook(tmp_path):
    """Two more files seen in the wild: a zip of other things, and a half-downloaded .xlsx."""
    notes = tmp_path / "notes.zip"
    with zipfile.ZipFile(notes, "w") as zf:
        zf.writestr("readme.txt", "hello")
    report = ValidationReport()
    assert load_boundaries(notes, report=report) is None
    assert _only_error(report).message.startswith("the zip holds no .shp file (it contains: readme.txt).")

    whole = bombs.dimension_bomb_xlsx(tmp_path / "whole.xlsx", value=None).read_bytes()
    half = tmp_path / "half.xlsx"
    half.write_bytes(whole[: len(whole) // 2])
    report = ValidationReport()
    assert read_table(half, role="service list", report=report) is None
    assert _only_error(report).message.startswith(
        "this Excel workbook is damaged or cut short (not a valid zip)."
    )


def _workbook_with_sheet_xml(path: Path, rows_xml: str, dimension: str = "") -> Path:
    """An .xlsx whose first sheet is exactly `rows_xml` (inside <sheetData>), hand-written."""
    template = bombs.dimension_bomb_xlsx(path.with_suffix(".template.xlsx"), value=None)
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dimension}<sheetData>{rows_xml}</sheetData></worksheet>"
    ).encode()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = sheet if info.filename == "xl/worksheets/sheet1.xml" else src.read(info.filename)
            dst.writestr(info, data)
    return path


def _inline(text: str, ref: str = "") -> str:
    where = f' r="{ref}"' if ref else ""
    return f'<c{where} t="inlineStr"><is><t>{text}</t></is></c>'


def test_sheet_without_dimension_or_cell_references_keeps_columns_and_rows(tmp_path):
    """Cells without `r` attributes take the next column, after skipped empty cells too, and
    a sheet with no <dimension> reads without the declared-size warning."""
    path = _workbook_with_sheet_xml(
        tmp_path / "hand_made.xlsx",
        f'<row r="1">{_inline("name")}<c s="1"/>{_inline("service_type")}</row>'
        f'<row r="3">{_inline("Alpha", "A3")}<c r="B3" s="1"/>{_inline("idva")}</row>'
        f"<row>{_inline('Beta')}<c/>{_inline('isva')}</row>",
    )
    report = ValidationReport()
    table = read_table(path, role="service list", report=report)
    assert table["name"].tolist() == ["Alpha", "Beta"]
    assert table["service_type"].tolist() == ["idva", "isva"]
    assert table["__row__"].tolist() == [3, 4]
    assert not any("declares its size" in p.message for p in report.problems)


def test_a_row_longer_than_excel_allows_is_refused(tmp_path):
    """16,385 empty cells in one row: no Excel file has that; refused before it fills memory."""
    path = _workbook_with_sheet_xml(
        tmp_path / "long_row.xlsx", f'<row r="1">{_inline("name")}{"<c/>" * 16_384}</row>'
    )
    report = ValidationReport()
    assert read_table(path, role="service list", report=report) is None
    problem = _only_error(report)
    assert problem.row == 1
    assert "a row holds more than 16,384 cells, more than Excel allows" in problem.message


def test_shared_string_bomb_is_refused_before_it_is_read(tmp_path):
    """12M copies of one text zip to 500 KB and took minutes and 1.2 GB to open; 1M here
    (the benchmark has the 12M)."""
    path = bombs.shared_strings_xlsx(tmp_path / "strings.xlsx", ["a"], repeat=1_000_000)
    assert path.stat().st_size < 100_000
    report = ValidationReport()
    assert read_table(path, role="service list", report=report) is None
    assert _only_error(report).message.startswith(
        "part 'xl/sharedStrings.xml' of this workbook unpacks from 40.4 KB to 16.2 MB, 411 times over; "
        "a real workbook's parts unpack to less than 100 times. It was not opened."
    )


def test_shared_strings_are_bounded_by_the_row_limit(tmp_path, monkeypatch):
    """Distinct texts (nothing to compress) are limited to 25 per row allowed."""
    monkeypatch.setattr(settings, "MAX_INPUT_ROWS", 4)
    path = bombs.shared_strings_xlsx(tmp_path / "texts.xlsx", [f"text {i}" for i in range(101)])
    report = ValidationReport()
    assert read_table(path, role="service list", report=report) is None
    assert _only_error(report).message.startswith(
        "the workbook holds more than 100 different texts, more than a table within the limits (4 rows) "
        "can use. It was not read."
    )
    # 100 texts (the limit) are read.
    path = bombs.shared_strings_xlsx(tmp_path / "texts.xlsx", [f"text {i}" for i in range(100)])
    table = read_table(path, role="service list", report=ValidationReport())
    assert table["name"].tolist() == ["Alpha IDVA"]


def test_benchmark_file_that_is_a_folder_too_deep_or_too_big(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 120_000, encoding="utf-8")  # 1.2 MB of comments
    for path, message in (
        (tmp_path, f"{tmp_path} is a folder; give the path of the TOML file itself."),
        (deep, "the file nests arrays or tables too deeply to read; it is damaged or not a benchmark file."),
        (big, "the file is over 1,024 KB, far larger than a benchmark file; is it the right file?"),
    ):
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert [(p.file, p.message) for p in info.value.problems] == [(path.name, message)]
