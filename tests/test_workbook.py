"""Report exports: XLSX formatting and values (= gaps.csv), the offline HTML map, atomic files."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gapmap import fileio, report, webmap, wording, workbook
from gapmap.config import default_config
from gapmap.csvtables import gaps_csv
from gapmap.dataset import Dataset
from gapmap.engine import GapAnalysis, analyse
from gapmap.errors import ValidationReport

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def demo_xlsx(demo):
    dataset, analysis = demo
    return workbook.gaps_xlsx_bytes(dataset, analysis, title="Fenmarsh gaps", today=TODAY)


# --------------------------------------------------------------------------- a tiny hand-made case


def tiny() -> tuple[Dataset, GapAnalysis]:
    """Two areas, one IDVA benchmark row each + ALL; one public service and one refuge."""
    config = default_config()
    profile = config.default_profile
    areas = gpd.GeoDataFrame(
        {"area_code": ["E1", "E2"], "area_name": ["Alpha", "Beta"]},
        geometry=[box(0.0, 54.0, 0.1, 54.1), box(0.1, 54.0, 0.2, 54.1)],
        crs=4326,
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["S1", "R1"],
            "name": ["Alpha IDVA", "Secret refuge"],
            "service_type": ["idva", "refuge"],
            "tiers": [("secondary", "tertiary"), ("tertiary",)],
            "cohorts": [("victims",), ("victims", "cyp")],
            "latitude": [54.05, 54.0777],
            "longitude": [0.05, 0.1666],
            "postcode": ["QX1 1AA", "QX9 9ZZ"],
            "address": ["1 Open Street", "9 Hidden Road"],
            "capacity": [2.0, 6.0],
            "funding_end": [pd.Timestamp("2027-03-31"), pd.NaT],
            "confidential": [False, True],
        },
        geometry=[Point(0.05, 54.05), Point(0.1666, 54.0777)],
        crs=4326,
    )
    gaps = pd.DataFrame(
        {
            "area_code": ["E1", "E2", "ALL"],
            "area_name": ["Alpha", "Beta", "All selected areas"],
            "benchmark_id": ["idva_fte"] * 3,
            "benchmark_label": ["IDVA posts (FTE)"] * 3,
            "denominator": [40_000.0, 10_000.0, 50_000.0],
            "required": [1.6, 0.4, 2.0],
            "provided": [2.0, 0.0, 2.0],
            "ratio": [1.25, 0.0, 1.0],
            "shortfall": [0.0, 0.4, 0.0],
            "status": ["green", "red", "green"],
            "unmeasured_services": [0, 0, 0],
            "withheld_confidential": [0, 0, 0],
            "basis": ["population"] * 3,
            "period": [""] * 3,
            "reading": [""] * 3,
        }
    )
    coverage = pd.DataFrame(
        {
            "area_code": ["E1", "E1", "E2", "E2"],
            "area_name": ["Alpha", "Alpha", "Beta", "Beta"],
            "tier": ["secondary", "tertiary", "secondary", "tertiary"],
            "cohort": ["victims", "victims", "victims", "victims"],
            "services": [1, 1, 0, 1],
            "patchwork_gap": [False, False, True, False],
        }
    )
    access = pd.DataFrame(
        {
            "area_code": ["E1", "E2"],
            "area_name": ["Alpha", "Beta"],
            "service_type": ["idva"] * 2,
            "nearest_km": [0.0, 5.5],
        }
    )
    analysis = GapAnalysis(
        gaps=gaps,
        coverage=coverage,
        access=access,
        summary={"filters": "All services", "patchwork_index": 0.25},
        assignments=pd.DataFrame(
            {"service_id": ["S1", "R1"], "area_code": ["E1", "E2"], "weight": [1.0, 1.0]}
        ),
        profile=profile,
        selection=("E1", "E2"),
    )
    dataset = Dataset(
        areas=areas,
        population=pd.DataFrame({"area_code": ["E1", "E2"]}),
        services=services,
        config=config,
        report=ValidationReport(),
        sources={"boundaries": "tiny.geojson (000000000000)", "services": "tiny.csv (111111111111)"},
        is_demo=False,
    )
    return dataset, analysis


def test_tiny_workbook_sheets_formatting_and_values():
    dataset, analysis = tiny()
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    labels = [b.label for b in analysis.profile.benchmarks]
    assert wb.sheetnames[:2] == ["Summary", "Gaps"]
    assert wb.sheetnames[-3:] == ["Patchwork", "Access", "Services"]
    assert len(wb.sheetnames) == 5 + len(labels)
    assert all(len(n) <= 31 for n in wb.sheetnames)

    gaps = wb["Gaps"]
    assert gaps.freeze_panes == "A2"
    header = [c.value for c in gaps[1]]
    # The engine's columns, the denominator source and the label columns people read.
    assert header[: header.index("denominator") + 1] == list(analysis.gaps.columns[:5])
    assert header[header.index("status") + 1 : header.index("status") + 3] == ["status_label", "figure_label"]
    assert {"denominator_source", "profile", "profile_caveat"} <= set(header)
    assert all(c.font.bold for c in gaps[1])
    status_col = header.index("status") + 1
    # Row 3 is Beta: red, and the cell says so in words as well as colour.
    beta = gaps.cell(row=3, column=status_col)
    assert beta.value == "red"
    assert gaps.cell(row=3, column=status_col + 1).value == "Not met"
    assert gaps.cell(row=3, column=status_col + 2).value == "Not met: 0 of 0.4 (0%)"
    assert gaps.cell(row=2, column=status_col + 2).value == "Met: 2 of 1.6 (125%)"
    assert beta.fill.fgColor.rgb.endswith("4A0012")
    assert gaps.cell(row=2, column=status_col).fill.fgColor.rgb.endswith("E5F5E0")
    assert gaps.cell(row=3, column=header.index("ratio") + 1).number_format == "0%"
    assert gaps.column_dimensions["B"].width >= len("All selected areas")

    summary = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value is not None]
    assert "2026-11-22" in summary
    assert any("Contains OS data © Crown copyright and database right 2026" in str(v) for v in summary)
    assert "tiny.csv (111111111111)" in summary
    assert not any("Fictional" in str(v) for v in summary)


def test_tiny_patchwork_sheet_marks_gaps_by_hand():
    dataset, analysis = tiny()
    matrix = workbook.patchwork_matrix(analysis, dataset.config)
    col_sv = "Secondary: early intervention × Adult victim-survivors"
    col_tv = "Tertiary: reduction and recovery × Adult victim-survivors"
    assert matrix.set_index("area_code")[col_sv].to_dict() == {"E1": 1, "E2": "GAP"}
    assert matrix.set_index("area_code")[col_tv].to_dict() == {"E1": 1, "E2": 1}
    assert matrix.set_index("area_code")["patchwork gaps"].to_dict() == {"E1": 0, "E2": 1}
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    ws = wb["Patchwork"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=3, column=header.index(col_sv) + 1)
    assert cell.value == "GAP" and cell.fill.fgColor.rgb.endswith("4A0012")


def test_tiny_service_sheet_withholds_the_refuge_location():
    dataset, analysis = tiny()
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    rows = list(wb["Services"].iter_rows(values_only=True))
    header = rows[0]
    by_id = {r[header.index("service_id")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    refuge, idva = by_id["R1"], by_id["S1"]
    for col in ("latitude", "longitude", "postcode", "address"):
        assert refuge[col] is None, col
    assert refuge["capacity"] == 6  # still listed and counted
    assert "withheld" in refuge["location_note"]
    assert (idva["latitude"], idva["postcode"], idva["address"]) == (54.05, "QX1 1AA", "1 Open Street")
    assert idva["tiers"] == "secondary; tertiary"
    assert idva["funding_end"] == "2027-03-31"
    text = " ".join(str(v) for r in rows for v in r)
    assert "54.0777" not in text and "0.1666" not in text and "QX9 9ZZ" not in text and "Hidden" not in text


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("Sexual violence / assault centres", [], "Sexual violence - assault"),
        ("IDVA posts (FTE)", [], "IDVA posts (FTE)"),
        ("Gaps", ["Gaps"], "Gaps (2)"),
        ("gaps", ["Gaps", "gaps (2)"], "gaps (3)"),
        ("[a]:b*c?d", [], "-a--b-c-d"),
        ("x" * 40, ["x" * 31], "x" * 27 + " (2)"),
        ("History", [], "History (2)"),  # Excel reserves it
        ("HISTORY ", [], "HISTORY (2)"),
    ],
)
def test_safe_sheet_name(name, taken, expected):
    got = workbook.safe_sheet_name(name, taken)
    assert got == expected
    assert len(got) <= 31


# --------------------------------------------------------------------------- the demo


def test_demo_gap_sheet_equals_gaps_csv(demo, demo_xlsx):
    _, analysis = demo
    from_csv = pd.read_csv(io.BytesIO(gaps_csv(analysis)))
    from_xlsx = pd.read_excel(io.BytesIO(demo_xlsx), sheet_name="Gaps")
    assert len(from_csv) == len(analysis.gaps) > 0
    # The workbook adds the benchmark's label beside its id; every gaps.csv value is the same.
    assert [c for c in from_xlsx.columns if c != "benchmark_label"] == list(from_csv.columns)
    assert from_xlsx["benchmark_label"].tolist() == analysis.gaps["benchmark_label"].tolist()
    pd.testing.assert_frame_equal(from_xlsx[from_csv.columns], from_csv, check_dtype=False)


def test_demo_benchmark_sheets_hold_their_rows(demo, demo_xlsx):
    _, analysis = demo
    from_csv = pd.read_csv(io.BytesIO(gaps_csv(analysis)))
    wb = openpyxl.load_workbook(io.BytesIO(demo_xlsx))
    for bench in analysis.profile.benchmarks:
        name = workbook.safe_sheet_name(bench.label)
        ws = wb[name]
        assert ws["A1"].value == bench.label
        values = [c.value for c in ws["B"]]
        assert wording.benchmark_definition(bench) in values and wording.citation_text(bench) in values
        if bench.scope == "area":
            assert analysis.summary["benchmarks"][bench.id]["denominator_source"] in values
        header_row = next(
            i for i, row in enumerate(ws.iter_rows(values_only=True), 1) if row[0] == "area_code"
        )
        sheet = pd.read_excel(io.BytesIO(demo_xlsx), sheet_name=name, header=header_row - 1)
        want = from_csv[from_csv["benchmark_id"] == bench.id].drop(columns=["benchmark_id"])
        pd.testing.assert_frame_equal(sheet, want.reset_index(drop=True), check_dtype=False)
        assert ws.freeze_panes == f"A{header_row + 1}"


def test_demo_workbook_summary_access_and_patchwork(demo, demo_xlsx):
    dataset, analysis = demo
    wb = openpyxl.load_workbook(io.BytesIO(demo_xlsx))
    summary = [str(c.value) for row in wb["Summary"].iter_rows() for c in row if c.value is not None]
    assert summary[0] == "Fenmarsh gaps"
    assert any(v.startswith("Fictional demo data") for v in summary)
    assert analysis.profile.id in " ".join(summary)
    for value in dataset.sources.values():
        assert value in summary
    access = pd.read_excel(io.BytesIO(demo_xlsx), sheet_name="Access")
    assert len(access) == len(analysis.access)
    # access.csv's rounding (2 decimals), value for value.
    assert access["nearest_km"].tolist() == analysis.access["nearest_km"].round(2).tolist()
    matrix = pd.read_excel(io.BytesIO(demo_xlsx), sheet_name="Patchwork")
    assert len(matrix) == len(analysis.selection)
    assert int((matrix == "GAP").sum().sum()) == int(analysis.coverage["patchwork_gap"].sum())


def test_demo_workbook_holds_values_and_text_never_formulas(demo_xlsx):
    """Every cell is a number or text (no formula in any sheet's XML), and the neutraliser of
    tests/test_hostile_exports.py leaves the demo's ordinary text alone: no cell gains a "'"."""
    wb = openpyxl.load_workbook(io.BytesIO(demo_xlsx))
    types = {
        c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    }
    assert types == {"n", "s", "b"}  # numbers, text, and true/false (e.g. confidential)
    quoted = [
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("'")
    ]
    assert quoted == []
    with zipfile.ZipFile(io.BytesIO(demo_xlsx)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(wb.sheetnames)
        for name in sheets:
            assert re.search(rb"<(?:\w+:)?f[\s>/]", z.read(name)) is None, name


# --------------------------------------------------------------------------- HTML

#: Strings Leaflet's own source contains that are not requests: the SVG namespace and the
#: attribution-prefix link (the attribution control is off without a basemap).
ALLOWED_URLS = {"http://www.w3.org/2000/svg", "https://leafletjs.com"}


def remote_urls(html: str) -> set[str]:
    return set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'()<>]*", html, flags=re.I)) - {
        u for u in ALLOWED_URLS
    }


def test_map_html_is_self_contained(demo):
    dataset, analysis = demo
    html = webmap.map_html(dataset, analysis, title="Fenmarsh <IDVA> map")
    assert remote_urls(html) == set()
    assert not re.search(r"<script[^>]+src=", html, flags=re.I)
    assert not re.search(r"<link[^>]+href=", html, flags=re.I)
    assert "L.map(" in html or "L.map (" in html  # Leaflet is inside the page
    assert "<title>Fenmarsh &lt;IDVA&gt; map (Fictional demo data)</title>" in html
    assert re.search(r'<div class="gapmap-demo-badge"[^>]*>Fictional demo data</div>', html)
    for name in dataset.areas["area_name"]:
        assert name in html


def test_map_html_of_real_areas_has_no_demo_badge():
    dataset, analysis = tiny()
    html = webmap.map_html(dataset, analysis, title="Alpha and Beta")
    assert "Fictional demo data" not in html and "gapmap-demo-badge" not in html
    assert "<title>Alpha and Beta</title>" in html


def test_remote_url_check_can_fail():
    assert remote_urls('<script src="https://unpkg.com/leaflet.js"></script>') == {
        "https://unpkg.com/leaflet.js"
    }
    assert remote_urls("<link href='//cdn.example.org/x.css'>") == {"//cdn.example.org/x.css"}


# --------------------------------------------------------------------------- files


def test_write_report_exports_writes_every_file(demo, tmp_path):
    dataset, analysis = demo
    paths = report.write_report_exports(tmp_path / "out", dataset, analysis, title="Fenmarsh", today=TODAY)
    names = [p.name for p in paths]
    assert names == ["map.png", "map.pdf", "map.html", "gaps.xlsx", "pack.pdf"]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(names)  # no temp files left
    assert (tmp_path / "out" / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for pdf in ("map.pdf", "pack.pdf"):
        assert (tmp_path / "out" / pdf).read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "out" / "gaps.xlsx").read_bytes()[:2] == b"PK"


def test_write_report_exports_flags_skip_the_slow_ones(tmp_path):
    dataset, analysis = tiny()
    paths = report.write_report_exports(tmp_path, dataset, analysis, maps=False, pack=False, today=TODAY)
    assert [p.name for p in paths] == ["gaps.xlsx"]
    assert (
        report.write_report_exports(tmp_path / "none", dataset, analysis, maps=False, pack=False, xlsx=False)
        == []
    )


def test_atomic_write_keeps_the_old_file_when_replacing_fails(tmp_path, monkeypatch):
    target = tmp_path / "gaps.xlsx"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        fileio.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["gaps.xlsx"]


def test_atomic_write_replaces_and_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "map.html"
    fileio.write_atomic(target, "<p>one</p>")
    fileio.write_atomic(target, "<p>two</p>")
    assert target.read_text() == "<p>two</p>"
    assert isinstance(target, Path) and oct(target.stat().st_mode & 0o777) == "0o644"


def test_exports_cope_with_an_empty_service_list(demo, tmp_path):
    """A partnership that has not entered any service yet still gets every file, all 'not met'."""
    import dataclasses

    dataset, _ = demo
    empty = dataclasses.replace(dataset, services=dataset.services.iloc[0:0])
    analysis = analyse(empty.areas, empty.population, empty.services, empty.config)
    paths = report.write_report_exports(tmp_path, empty, analysis, today=TODAY)
    assert len(paths) == 5
    gaps = pd.read_excel(tmp_path / "gaps.xlsx", sheet_name="Gaps")
    area_rows = gaps[gaps["area_code"] != "ALL"]
    assert (area_rows["provided"] == 0).all() and set(area_rows["status"]) == {"red"}
    services = pd.read_excel(tmp_path / "gaps.xlsx", sheet_name="Services")
    assert len(services) == 0


def test_exports_show_only_the_services_the_filtered_analysis_counted(demo):
    """A view filtered to primary prevention: the HTML map and the Services sheet hold only its services."""
    from gapmap.filters import ServiceFilter
    from gapmap.privacy import public_services

    dataset, _ = demo
    flt = ServiceFilter(tiers={"primary"})
    analysis = analyse(
        dataset.areas, dataset.population, dataset.services, dataset.config, service_filter=flt
    )
    public = public_services(dataset.services)
    kept = public[[("primary" in t) for t in public["tiers"]]]
    dropped = public[[("primary" not in t) for t in public["tiers"]]]
    # The demo list, counted by hand above (the two sanctuary schemes are confidential: never drawn).
    assert len(kept) == 5 and len(dropped) == 48

    html = webmap.map_html(dataset, analysis)
    for name in kept["name"]:
        assert name in html
    for name in dropped["name"]:
        assert name not in html

    sheet = pd.read_excel(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)), "Services")
    assert set(sheet["service_id"]) == set(flt.apply(dataset.services)["service_id"])
    assert not set(sheet["service_id"]) & set(dropped["service_id"])


def test_report_maps_are_titled_with_the_selection_by_default(demo, tmp_path):
    """`gapmap report` without --title: the map names the partnership, as the app's exports do."""
    from pypdf import PdfReader

    from gapmap.report import write_report_exports

    dataset, analysis = demo
    write_report_exports(tmp_path, dataset, analysis, maps=True, pack=False, xlsx=False)
    text = PdfReader(str(tmp_path / "map.pdf")).pages[0].extract_text()
    assert "Fenmarsh (fictional demo county): domestic abuse and sexual violence services" in text


# --------------------------------------------------------------------------- rows written as XML


def _everything(data: bytes) -> dict[str, Any]:
    """Each sheet's cells (value, type, number format, fill, font), layout and filters, as read."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    out: dict[str, Any] = {}
    for ws in book.worksheets:
        cells = [
            (
                c.coordinate,
                c.value,
                c.data_type,
                c.number_format,
                c.fill.fill_type,
                c.fill.fgColor.rgb,
                c.font.bold,
                c.font.color.rgb if c.font.color is not None else None,
                c.alignment.wrap_text,
            )
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.has_style
        ]
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        out[ws.title] = (cells, ws.freeze_panes, ws.auto_filter.ref, widths, ws.max_row, ws.max_column)
    return out


def test_rows_written_as_xml_read_back_as_the_cell_by_cell_workbook(demo, monkeypatch):
    """The fast writer (`_RowWriter`) against openpyxl cell by cell (what `rows` returning None
    falls back to), on the demo county with hostile text in names: every value, type and style."""
    from gapmap.safetext import neutralise

    dataset, analysis = demo
    hostile = ["=cmd|' /C calc'!A0", "\r=1+1", "  spaced  ", "a<b&c>d", "Women's Aid", "\x01bell"]
    services = dataset.services.copy()
    services["name"] = [hostile[i % len(hostile)] for i in range(len(services))]
    dataset = dataclasses.replace(dataset, services=services)
    monkeypatch.setattr(workbook._RowWriter, "CHUNK", 7)  # rows made in chunks: their seams too
    fast = workbook.gaps_xlsx_bytes(dataset, analysis, title="=Fenmarsh", today=TODAY)
    monkeypatch.setattr(workbook._RowWriter, "rows", lambda self, frame, first_row: None)
    slow = workbook.gaps_xlsx_bytes(dataset, analysis, title="=Fenmarsh", today=TODAY)
    a, b = _everything(fast), _everything(slow)
    assert list(a) == list(b)
    for title in a:
        assert a[title] == b[title], title
    names = [r[1] for r in openpyxl.load_workbook(io.BytesIO(fast))["Services"].iter_rows(values_only=True)]
    # An XML reader takes a bare carriage return for a line feed, in openpyxl's own sheets too.
    expected = {neutralise(h.replace("\x01", "\ufffd")).replace("\r", "\n") for h in hostile}
    assert set(names[1:]) <= expected
    assert "'=cmd|' /C calc'!A0" in names


def test_a_table_with_a_date_is_written_cell_by_cell():
    """`_RowWriter` stores text, numbers and booleans; a date column falls back to openpyxl."""
    book = workbook._Book()
    ws = book.active
    frame = pd.DataFrame({"when": [date(2027, 3, 31)], "n": [1.5]})
    workbook._write_table(ws, frame, status_column=None)
    assert ws.title not in book.spliced  # written cell by cell
    workbook._write_table(book.create_sheet("Plain"), pd.DataFrame({"n": [1.5, 2.0], "t": ["x", None]}))
    assert "Plain" in book.spliced
    read = openpyxl.load_workbook(io.BytesIO(book.to_bytes()))
    assert read[ws.title]["A2"].value.date() == date(2027, 3, 31)
    assert [[c.value for c in r] for r in read["Plain"].iter_rows()] == [["n", "t"], [1.5, "x"], [2, None]]


def _patchwork_oracle(analysis, config) -> pd.DataFrame:
    """The matrix area by area (the first implementation, kept as the oracle)."""
    cov = analysis.coverage
    out = cov[["area_code", "area_name"]].drop_duplicates("area_code").reset_index(drop=True)
    gaps = [0] * len(out)
    for t in config.tiers:
        for k in config.cohorts:
            label = f"{config.tiers[t].get('label', t)} × {config.cohorts[k].get('label', k)}"
            cell = cov.loc[(cov["tier"] == t) & (cov["cohort"] == k)].set_index("area_code")
            values = []
            for i, code in enumerate(out["area_code"]):
                if code not in cell.index:
                    values.append(None)
                elif bool(cell.loc[code, "patchwork_gap"]):
                    values.append("GAP")
                    gaps[i] += 1
                else:
                    values.append(int(cell.loc[code, "services"]))
            out[label] = pd.Series(values, dtype=object)
    out["patchwork gaps"] = gaps
    return out


def test_patchwork_matrix_agrees_with_the_area_by_area_oracle(demo):
    """Whole selection and one area alone (other cells then have no row for some areas)."""
    dataset, analysis = demo
    config = dataset.config
    one = analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        config,
        selection=[dataset.areas["area_code"].iloc[0]],
    )
    for a in (analysis, one):
        fast, slow = workbook.patchwork_matrix(a, config), _patchwork_oracle(a, config)
        assert list(fast.columns) == list(slow.columns)
        assert fast.astype(object).to_dict("list") == slow.astype(object).to_dict("list")
    gaps_somewhere = workbook.patchwork_matrix(analysis, config)
    assert (gaps_somewhere == "GAP").to_numpy().sum() == gaps_somewhere["patchwork gaps"].sum() > 0


def test_awkward_values_are_written_as_openpyxl_writes_them(monkeypatch):
    """Missing values of every kind, True next to 1, lists, inf, text with spaces and markup,
    a status column and number formats: the XML rows and the cell-by-cell path read the same."""
    frame = pd.DataFrame(
        {
            "area_code": ["E1", "E2", "E3", "E4", "E5"],
            "status": ["red", "green", None, float("nan"), "amber"],
            "mixed": [True, 1, 1.0, "1", None],
            "counts": pd.array([1, None, 3, 4, None], dtype="Int64"),
            "ratio": [0.5, float("inf"), float("nan"), -0.25, 1 / 3],
            "lists": [("a", "b"), ["c"], (), "d", None],
            "text": [" lead", "a<b&c>", "=SUM(A1)", "", "x" * 40_000],
            "flag": [True, False, True, False, True],
        }
    )

    def book_bytes() -> bytes:
        book = workbook._Book()
        workbook._write_table(book.active, frame)
        workbook._write_table(book.create_sheet("Again"), frame, start_row=3, status_column=None)
        return book.to_bytes()

    monkeypatch.setattr(workbook._RowWriter, "CHUNK", 2)
    fast = book_bytes()
    monkeypatch.setattr(workbook._RowWriter, "rows", lambda self, frame, first_row: None)
    slow = book_bytes()
    assert _everything(fast) == _everything(slow)
    sheet = openpyxl.load_workbook(io.BytesIO(fast)).active
    assert [c.value for c in sheet[2]][2:4] == [True, 1]
    assert sheet["G4"].value == "'=SUM(A1)" and len(sheet["G6"].value) == workbook.MAX_CELL_TEXT


def test_a_table_longer_than_a_worksheet_leaves_a_note(monkeypatch):
    """Excel opens no sheet past 1,048,576 rows: such a table is named, not cut or broken."""
    monkeypatch.setattr(workbook, "MAX_SHEET_ROWS", 4)
    book = workbook._Book()
    workbook._write_table(book.active, pd.DataFrame({"n": [1, 2, 3]}), start_row=2)
    workbook._write_table(book.create_sheet("Fits"), pd.DataFrame({"n": [1, 2]}), start_row=2)
    read = openpyxl.load_workbook(io.BytesIO(book.to_bytes()))
    assert read.active["A2"].value == "3 rows: more than a worksheet holds; see the CSV tables."
    assert read.active.max_row == 2
    assert [c.value for c in read["Fits"]["A"]] == [None, "n", 1, 2]


def test_the_report_s_own_csv_tables_give_the_same_workbook(demo):
    """`gapmap report` hands its gaps.csv and access.csv over instead of the workbook making them
    again: the same workbook, cell for cell."""
    dataset, analysis = demo
    files = report.report_files(analysis, sources=dataset.sources, is_demo=dataset.is_demo)
    given = workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY, tables=files)
    made = workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)
    assert _everything(given) == _everything(made)
    gaps = openpyxl.load_workbook(io.BytesIO(given))["Gaps"]
    assert gaps.max_row == len(analysis.gaps) + 1
