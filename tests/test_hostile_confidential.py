"""Hostile service lists about confidential services (issue 8, points 3 and 4).

Every file under tests/hostile/conf/ holds a service that is, or may be, confidential (a refuge,
a safe-accommodation type, a row flagged secret, or a row whose type or flag cannot be read),
with its location written somewhere: postcode QX4 7HD, latitude 54.10471 / longitude 1.48127,
easting 623000, address 17 Lantern Row. Each case asserts the message (words, row, column),
that none of those values appears in any message or on the console, and that `report` writes
nothing (the output folder is never created). The last cases are lists that validate: headers
meaning "secret" in other words are read as `confidential`, and nothing written shows where.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest

from gapmap.cli import main
from gapmap.config import default_config
from gapmap.errors import ValidationReport
from gapmap.services import VALUE_NOT_SHOWN, validate_services
from gapmap.settings import DEMO_BOUNDARIES, DEMO_POPULATION, DEMO_POSTCODES

HOSTILE = Path(__file__).resolve().parent / "hostile" / "conf"
DEMO_INPUTS = ("--boundaries", str(DEMO_BOUNDARIES), "--population", str(DEMO_POPULATION))
DEMO_INPUTS += ("--postcodes", str(DEMO_POSTCODES))

#: Every way the files write the secret location (and the pieces a message might quote).
LOCATION = re.compile(r"QX4\s*7H[DE]|54[.,]1047|1[.,]4812|623000|Lantern Row|Lampwick Green|O'Brien", re.I)


def leaks(text: str) -> list[str]:
    return LOCATION.findall(text)


def test_the_detector_sees_each_form_of_the_location():
    for text in ("qx47hd", "54,10471", "1.48127", "easting 623000", "17 LANTERN ROW", "O'Brien Court"):
        assert leaks(text), text
    assert not leaks("row 2, column postcode: " + VALUE_NOT_SHOWN)


def validate(path: Path):
    from gapmap.boundaries import load_boundaries
    from gapmap.postcodes import load_postcodes

    report = ValidationReport()
    services = validate_services(
        path,
        config=default_config(),
        areas=load_boundaries(DEMO_BOUNDARIES),
        postcodes=load_postcodes(DEMO_POSTCODES),
        report=report,
    )
    return services, report


def run_report(path: Path, out: Path) -> tuple[int, str]:
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
        code = main(["report", "--services", str(path), *DEMO_INPUTS, "--out", str(out), "--no-pack"])
    return code, capture.getvalue()


#: file -> the errors expected: (row, column, words in the message), in report order.
REFUSED: dict[str, list[tuple[int | None, str | None, tuple[str, ...]]]] = {
    # The old text replace stopped at the apostrophe and let the rest of the row through.
    "apostrophe_past_last_column.csv": [
        (2, None, ("more values than the header has columns", VALUE_NOT_SHOWN, "double quotes"))
    ],
    # Saved without its header row: the refuge's row must not come back as "columns found".
    "no_header_row.csv": [
        (None, None, ("header row seems to be missing", "Header words we read: name, service_type"))
    ],
    # An unquoted comma in the address shifts the postcode into service_type.
    "unquoted_comma_shifts_postcode.csv": [
        (2, None, ("more values than the header has columns", VALUE_NOT_SHOWN)),
        (2, "service_type", ("not a known service type " + VALUE_NOT_SHOWN, "valid types: ", "refuge")),
        (2, "serves", ("not among the areas in use " + VALUE_NOT_SHOWN,)),
    ],
    # A one-column list of postcodes is "plain text": its first line is not quoted.
    "one_column_of_postcodes.csv": [(None, None, ("not a CSV table", "single column"))],
    "refuge_with_catchment.csv": [
        (2, "catchment_km", ("a confidential service cannot have `catchment_km`", "list the areas it serves"))
    ],
    "unreadable_flag.csv": [
        (2, "confidential", ("`confidential` cannot be read " + VALUE_NOT_SHOWN, "write true or false")),
        (2, "serves", ("no location and no `serves`", VALUE_NOT_SHOWN)),
    ],
    "unmappable_flag_header.csv": [
        (
            None,
            "Keep address private?",
            ("looks like it says whether a location is confidential", "Rename it"),
        )
    ],
    "postcode_in_tiers_of_safe_accommodation.csv": [
        (2, "tiers", ("unknown tier " + VALUE_NOT_SHOWN, "primary, secondary, tertiary"))
    ],
    "postcode_in_serves.csv": [
        (2, "serves", ("not among the areas in use " + VALUE_NOT_SHOWN, "area codes"))
    ],
    # The duplicate is reported on the IDVA's row, but the value is also the refuge's.
    "postcode_as_duplicate_id.csv": [(3, "service_id", ("also used on row 2 " + VALUE_NOT_SHOWN,))],
    "unreadable_coordinates.csv": [
        (2, "latitude", ("`latitude` is not a number " + VALUE_NOT_SHOWN,)),
        (2, "longitude", ("`longitude` is not a number " + VALUE_NOT_SHOWN,)),
    ],
    "half_a_grid_reference.csv": [(2, "northing", ("`easting` is given but `northing` is blank",))],
    "postcode_in_hours.csv": [
        (2, "hours", ("unknown opening hours " + VALUE_NOT_SHOWN, "24_7, extended, office")),
        (2, "serves", ("no location and no `serves`", VALUE_NOT_SHOWN)),
    ],
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_file_is_refused_without_quoting_the_location(name, tmp_path):
    path = HOSTILE / name
    assert leaks(path.read_text(encoding="utf-8"))  # the file does hold the location
    services, report = validate(path)
    assert services is None
    got = [(p.row, p.column, p.message) for p in report.errors]
    assert len(got) == len(REFUSED[name]), report.to_text()
    for (row, column, message), (want_row, want_column, words) in zip(got, REFUSED[name], strict=True):
        assert (row, column) == (want_row, want_column), message
        for word in words:
            assert word in message, (word, message)
    assert leaks(report.to_text()) == []

    out = tmp_path / "out"
    code, console = run_report(path, out)
    assert code != 0
    assert leaks(console) == [], console
    assert not out.exists()  # nothing written, not even the folder


def test_header_less_workbook_is_refused_without_quoting_its_first_row(tmp_path):
    wb = openpyxl.Workbook()
    with open(HOSTILE / "no_header_row.csv", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            wb.active.append(row)
    path = tmp_path / "refuges.xlsx"
    wb.save(path)
    services, report = validate(path)
    assert services is None
    (problem,) = report.errors
    assert problem.row is None and "header row seems to be missing" in problem.message
    assert leaks(report.to_text()) == [] and "Lantern House" not in report.to_text()
    code, console = run_report(path, tmp_path / "out")
    assert code != 0 and leaks(console) == [] and not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- fails closed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mapped_secret_header.csv", [True, False]),  # "Secret location": yes / no
        ("publish_location_no.csv", [True]),  # inverted: "Publish location: no" is secret
        ("do_not_publish_location.csv", [True]),
    ],
)
def test_headers_meaning_secret_are_read_as_confidential(name, expected):
    services, report = validate(HOSTILE / name)
    assert services is not None, report.to_text()
    assert services["confidential"].tolist() == expected
    assert leaks(report.to_text()) == []


@pytest.mark.parametrize(
    "header",
    [
        "Location confidential",
        "Secret",
        "Secret location",
        "Do not publish location",
        "Private address",
        "Address withheld",
        "Confidential address",
        "Hidden",
        "Safe house",
        "Confidential (Y/N)",
    ],
)
def test_common_wordings_map_to_confidential(header, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"name,service_type,{header},serves\nA,idva,yes,*\nB,idva,no,*\n", encoding="utf-8")
    services, report = validate(path)
    assert report.ok, report.to_text()
    assert services["confidential"].tolist() == [True, False]


@pytest.mark.parametrize("header", ["Publish location", "Show on map", "Public address"])
def test_publish_wordings_are_read_inverted(header, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"name,service_type,{header},serves\nA,idva,yes,*\nB,idva,no,*\nC,refuge,,*\n")
    services, report = validate(path)
    assert report.ok, report.to_text()
    assert services["confidential"].tolist() == [False, True, True]  # blank: the type's default


@pytest.mark.parametrize(
    "header", ["Confidentiality status", "Is it secret?", "Withhold?", "Hide from public"]
)
def test_flag_like_headers_that_cannot_be_read_are_errors(header, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"name,service_type,{header},serves\nA,idva,yes,*\n", encoding="utf-8")
    services, report = validate(path)
    assert services is None
    (problem,) = report.errors
    assert (
        problem.column == header
        and "looks like it says whether a location is confidential" in problem.message
    )


def test_safe_accommodation_types_are_confidential_by_default(tmp_path):
    types = [
        "refuge",
        "specialist_safe_accommodation",
        "dispersed_accommodation",
        "second_stage_accommodation",
        "emergency_accommodation",
        "sanctuary_scheme",
    ]
    path = tmp_path / "list.csv"
    path.write_text("name,service_type,serves\n" + "".join(f"{t} x,{t},*\n" for t in types), encoding="utf-8")
    services, report = validate(path)
    assert report.ok, report.to_text()
    assert services["confidential"].all()


def test_a_secret_row_under_another_wording_never_reaches_an_output(tmp_path):
    """`Do not publish location: true` on an outreach service with coordinates: maps, CSVs and
    the workbook keep it out (before, the column was ignored and the point was drawn)."""
    out = tmp_path / "out"
    path = tmp_path / "list.csv"
    lines = (HOSTILE / "mapped_secret_header.csv").read_text(encoding="utf-8").splitlines()
    # Give the secret row an area to count in, so the report runs.
    lines[1] = lines[1].rstrip(",") + ",E07999003"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, console = run_report(path, out)
    assert code == 0, console
    assert leaks(console) == []
    written = sorted(p.name for p in out.iterdir())
    assert {"gaps.csv", "map.html", "gaps.xlsx", "summary.json"} <= set(written)
    for p in out.iterdir():
        if p.suffix in (".csv", ".json", ".html"):
            assert leaks(p.read_text(encoding="utf-8")) == [], p.name
    wb = openpyxl.load_workbook(out / "gaps.xlsx")
    cells = "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None
    )
    assert "Lantern House" in cells  # it is listed (it counts) ...
    assert leaks(cells) == []  # ... without its location
