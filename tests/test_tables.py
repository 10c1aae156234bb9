"""read_table: the formats analysts really save, and the mistakes they really make."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from gapmap import settings
from gapmap.errors import ValidationReport
from gapmap.tables import ROW_COLUMN, header_key, human_size, read_table


def read(content: bytes, name: str = "list.csv", **kwargs):
    report = ValidationReport()
    frame = read_table(None, role="service list", report=report, content=content, name=name, **kwargs)
    return frame, report


def xlsx_bytes(rows_by_sheet: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in rows_by_sheet.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_utf8_bom_csv_strips_bom_and_header_spaces_and_numbers_rows():
    frame, report = read(b'\xef\xbb\xbf Name ,Postcode \r\nA,LE1 1AA\r\n\r\n"B, c",x\r\n')
    assert report.problems == []
    assert list(frame.columns) == ["Name", "Postcode", ROW_COLUMN]
    # header = row 1; the blank line is row 3, so "B, c" is on row 4 as Excel shows it
    assert frame[ROW_COLUMN].tolist() == [2, 4]
    assert frame["Name"].tolist() == ["A", "B, c"]


def test_every_cell_is_a_string_and_blank_cells_are_empty_strings():
    frame, _ = read(b"name,capacity\nA,\nB,3\n")
    assert frame["capacity"].tolist() == ["", "3"]
    assert all(isinstance(v, str) for v in frame["capacity"])


def test_windows_1252_is_read_with_a_warning_naming_the_encoding():
    frame, report = read("name,area\nCaf\u00e9 Refuge,Pendle\n".encode("cp1252"))
    assert frame["name"].tolist() == ["Caf\u00e9 Refuge"]
    assert report.ok
    assert len(report.warnings) == 1 and "Windows-1252" in report.warnings[0].message


def test_semicolon_delimited_csv_is_read():
    frame, report = read(b"name;capacity\nA;2\n")
    assert report.ok and frame["capacity"].tolist() == ["2"]


def test_utf16_with_bom_is_read():
    frame, report = read("name\tcapacity\nA\t2\n".encode("utf-16"))
    assert report.ok and frame["name"].tolist() == ["A"]


def test_csv_row_with_too_many_values_is_an_error_with_its_row():
    frame, report = read(b"name,capacity\nA,2\nB,3,4\n")
    assert frame is not None  # the rest of the file is still checked
    [problem] = report.errors
    assert problem.row == 3 and "3 values" in problem.message and "2 columns" in problem.message


def test_title_rows_above_the_csv_header_are_skipped_when_expected_columns_given():
    frame, report = read(
        b"Service list,,\nApril 2026,,\nname,postcode,capacity\nA,LE1 1AA,2\n",
        expected_columns=["name", "postcode"],
    )
    assert report.ok
    assert frame.attrs["header_row"] == 3
    assert frame[ROW_COLUMN].tolist() == [4]


def test_excel_title_rows_sheet_row_numbers_and_cell_text():
    content = xlsx_bytes(
        {
            "Services": [
                ["Service list (fictional)"],
                [],
                ["Service name", "Capacity", "Funding end"],
                ["A", 2.0, None],
                ["B", 1.5, "2027-03-31"],
            ]
        }
    )
    frame, report = read(content, "list.xlsx", expected_columns=["service_name", "capacity"])
    assert report.problems == []
    assert frame.attrs["sheet"] == "Services" and frame.attrs["header_row"] == 3
    assert frame[ROW_COLUMN].tolist() == [4, 5]
    assert frame["Capacity"].tolist() == ["2", "1.5"]  # 2.0 shown as Excel shows it
    assert frame["Funding end"].tolist() == ["", "2027-03-31"]


def test_workbook_sheet_chosen_by_expected_columns_and_named_in_a_warning():
    content = xlsx_bytes({"Notes": [["Read me"], ["some notes"]], "Data": [["name", "capacity"], ["A", 1]]})
    frame, report = read(content, "list.xlsx", expected_columns=["name", "capacity"])
    assert frame.attrs["sheet"] == "Data"
    assert len(report.warnings) == 1 and "'Data'" in report.warnings[0].message


def test_xlsx_named_csv_is_read_as_excel_with_a_rename_warning():
    frame, report = read(xlsx_bytes({"S": [["name"], ["A"]]}), "list.csv")
    assert frame["name"].tolist() == ["A"]
    assert any("really an Excel workbook" in w.message and "Rename" in w.message for w in report.warnings)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"%PDF-1.7\n...", "PDF document"),
        (b"\x89PNG\r\n\x1a\n....", "PNG picture"),
        (b"name,x\n\x00\x01\x02\x00", "not a CSV or Excel file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "old-format Excel file (.xls)"),
        (b'{"type": "FeatureCollection"}', "JSON/GeoJSON"),
        (b"<!DOCTYPE html><html></html>", "web page"),
    ],
)
def test_non_tables_get_a_specific_message(content, fragment):
    frame, report = read(content)
    assert frame is None
    [problem] = report.errors
    assert fragment in problem.message and problem.file == "list.csv"


def test_zip_that_is_not_a_workbook_says_what_it_is():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("areas.shp", b"x")
    frame, report = read(buffer.getvalue(), "list.xlsx")
    assert frame is None and "zipped Shapefile" in report.errors[0].message


def test_damaged_workbook_is_a_problem_not_a_traceback():
    content = xlsx_bytes({"S": [["name"], ["A"]]})
    frame, report = read(content[:300], "list.xlsx")
    assert frame is None and "damaged" in report.errors[0].message


def test_prose_renamed_csv_is_rejected():
    frame, report = read(
        b"Dear colleague, please find the services below.\nThanks, Sam\n", expected_columns=["name"]
    )
    assert frame is None and "not a CSV table" in report.errors[0].message


def test_empty_and_blank_files_are_errors():
    for content in (b"", b"\n\n  \r\n"):
        frame, report = read(content)
        assert frame is None and "empty" in report.errors[0].message


def test_header_only_file_warns_no_data_rows():
    frame, report = read(b"name,capacity\n")
    assert len(frame) == 0 and "no data rows" in report.warnings[0].message


def test_size_limit_message_gives_size_and_limit(monkeypatch):
    monkeypatch.setattr(settings, "MAX_INPUT_BYTES", 10)
    frame, report = read(b"name,capacity\nA,1\n")
    assert frame is None
    assert "18 bytes" in report.errors[0].message and "10 bytes limit" in report.errors[0].message


def test_size_limit_checked_before_reading_a_path(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"name\n" + b"A\n" * 1000)
    report = ValidationReport()
    assert read_table(path, role="population", report=report, max_bytes=100) is None
    assert report.errors[0].file == "big.csv" and "2.0 KB" in report.errors[0].message


def test_missing_path_is_an_error(tmp_path):
    report = ValidationReport()
    assert read_table(tmp_path / "nope.csv", role="population", report=report) is None
    assert "file not found" in report.errors[0].message


def test_duplicate_headers_keep_the_first_with_a_warning():
    frame, report = read(b"name,Name ,capacity\nA,B,1\n")
    assert frame["name"].tolist() == ["A"] and "Name" not in frame.columns
    assert "appears twice" in report.warnings[0].message


def test_helpers():
    assert header_key(" Service_Name ") == "service name"
    assert human_size(1536) == "1.5 KB"
    assert human_size(3 * 1024 * 1024) == "3.0 MB"


def test_semicolon_lists_inside_cells_do_not_fool_the_delimiter():
    content = (
        b"name,tiers,serves\n"
        b"A,secondary;tertiary,E07000129;E07000130;E07000131;E07000132\n"
        b"B,primary,E07000133;E07000134;E07000135\n"
    )
    frame, report = read(content)
    assert report.ok and frame["serves"].tolist() == [
        "E07000129;E07000130;E07000131;E07000132",
        "E07000133;E07000134;E07000135",
    ]


def test_semicolon_file_with_decimal_commas():
    frame, report = read(b"name;capacity\nA;1,5\nB;2\nC;0,5\n")
    assert report.ok and frame["capacity"].tolist() == ["1,5", "2", "0,5"]


csv_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12
)


@settings_hypothesis(max_examples=60, deadline=None)
@given(st.lists(st.lists(csv_cell, min_size=3, max_size=3), min_size=1, max_size=8))
def test_any_csv_written_by_csv_writer_round_trips_with_row_numbers(rows):
    """Cells come back stripped, and __row__ counts spreadsheet rows (a quoted newline is one row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["alpha", "beta", "gamma"])
    writer.writerows(rows)
    frame, report = read(buffer.getvalue().encode("utf-8"), expected_columns=["alpha", "beta", "gamma"])
    assert report.ok, report.to_text()
    kept = [(i + 2, [c.strip() for c in r]) for i, r in enumerate(rows) if "".join(r).strip()]
    assert frame[ROW_COLUMN].tolist() == [n for n, _ in kept]
    assert frame[["alpha", "beta", "gamma"]].values.tolist() == [r for _, r in kept]


def test_the_collector_is_paused_while_a_table_is_read_and_restored_after():
    import gc

    from gapmap.tables import _gc_paused

    assert gc.isenabled()
    with _gc_paused():
        assert not gc.isenabled()
        with _gc_paused():  # a second reader (another session's thread)
            assert not gc.isenabled()
        assert not gc.isenabled()  # still one reader inside
    assert gc.isenabled()
    with pytest.raises(ValueError), _gc_paused():
        raise ValueError("a reader that fails")
    assert gc.isenabled()
    gc.disable()  # a process that had switched it off keeps it off
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


#: Lines as `_LINE` (and Excel) ends them: \r\n, \r or \n only; \x85, \u2028, \v and \x1c are
#: characters inside a line (str.splitlines would also break at them).
LINES = ["a,b\r\n", "c\r", "d\n", "e\x85f\u2028g\vh\x1c\r\n", '"q\n', 'r"\r\n', "\n", "\r", "last"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 7, 1024 * 1024])
def test_lines_end_only_at_cr_lf_whatever_the_chunk(monkeypatch, chunk):
    from gapmap import tables

    monkeypatch.setattr(tables, "_LINES_CHUNK", chunk)
    assert list(tables._lines("".join(LINES))) == LINES
    assert list(tables._lines("".join(LINES[:-1]))) == LINES[:-1]  # ending in a line break
    assert list(tables._lines("only\u2028one line")) == ["only\u2028one line"]
    assert list(tables._lines("a,b\rc,d\re")) == ["a,b\r", "c,d\r", "e"]  # old Mac line endings


def test_characters_that_are_line_breaks_to_python_stay_in_the_cell():
    frame, report = read("name,service_type\r\nA\u2028B\x85C,idva\r\nD\vE,marac\r\n".encode())
    assert report.ok, report.to_text()
    assert frame["name"].tolist() == ["A\u2028B\x85C", "D\vE"]
    assert frame[ROW_COLUMN].tolist() == [2, 3]


def test_row_limit_counts_the_rows_read_before_it_is_near(monkeypatch):
    """Rows 1-3 are within a limit of 3 whatever they hold; from row 4 on each row is counted
    with them: header, A, B and C are 4 rows with data, so C (row 6) is over the limit."""
    monkeypatch.setattr(settings, "MAX_INPUT_ROWS", 3)
    frame, report = read(b"name,service_type\n,\nA,idva\n,\nB,idva\nC,idva\n")
    assert frame is None
    (problem,) = report.problems
    assert problem.row == 6
    assert problem.message.startswith("the file has more than 3 rows with data (6 lines in all)")
    # Blank rows 2, 3, 5 and 6: the fourth (row 6) is over the limit of 3.
    frame, report = read(b"name,service_type\n,\n,\nA,idva\n,\n,\n")
    assert frame is None
    (problem,) = report.problems
    assert problem.row == 6
    assert problem.message.startswith("the file has more than 3 blank rows")
    # Header, A and B: 3 rows with data and 2 blank ones are within the limit.
    frame, report = read(b"name,service_type\n,\nA,idva\n,\nB,idva\n")
    assert report.ok and frame[ROW_COLUMN].tolist() == [3, 5]


def test_columns_are_stripped_as_pandas_strips_its_string_dtype():
    """The frame's columns are built directly in Arrow where pandas' "str" dtype is Arrow's:
    the same values and dtype as `pd.Series(cells, dtype="str").str.strip()`, whitespace that
    Python and Arrow disagree about included (\\x1c is whitespace to Python only)."""
    import pandas as pd

    from gapmap.tables import _stripped_text

    cells = (" a ", "\tb\r\n", "", "\u00a0c\u3000", "\x1cd\x1c", "\u200be", "e\u2028", "  ")
    column = _stripped_text(cells)
    expected = pd.Series(cells, dtype="str").str.strip()
    assert column.dtype == expected.dtype
    assert column.tolist() == expected.tolist()
    assert column.tolist()[:4] == ["a", "b", "", "c"]
    assert _stripped_text(()).tolist() == [] and _stripped_text(()).dtype == expected.dtype
