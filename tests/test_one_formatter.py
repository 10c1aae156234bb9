"""Every number shown for the demo is written by gapmap.wording, and the outputs agree.

For each output a person reads (the app's headline and gap table, the web map's tooltips and
legend, the static map's PDF text, the pack, the workbook's label columns, gaps.csv and the
CLI), the figures are collected and each is checked against the formatter's output for the
underlying engine value. The app headline and the pack cover must show the same figures.
"""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from gapmap import pack, staticmap, webmap, workbook
from gapmap.csvtables import gaps_csv
from gapmap.view import counted_services
from gapmap.wording import citation_text, figure_text, number, percent, services_count, status_label

TODAY = date(2026, 11, 22)
APP = Path(__file__).resolve().parent.parent / "app.py"
#: A figure as the formatter writes it: digits with thousands commas, optional decimals, or a %.
FIGURE = re.compile(r"-?\d[\d,]*(?:\.\d+)?%?")


def squash(text: str) -> str:
    return "".join(text.split())


def whole_rows(analysis) -> dict[str, dict]:
    gaps = analysis.gaps
    return {r["benchmark_id"]: r for r in gaps[gaps["area_code"] == "ALL"].to_dict("records")}


def written(row: dict) -> set[str]:
    """Every way the formatter writes this row's figures."""
    return {number(row[c]) for c in ("denominator", "required", "provided", "shortfall")} | {
        percent(row["ratio"])
    }


@pytest.fixture(scope="module")
def cover_text(demo):
    dataset, analysis = demo
    data = pack.partnership_pack(dataset, analysis, today=TODAY)
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_app_headline_matches_the_formatter_and_the_pack_cover(demo, cover_text):
    from streamlit.testing.v1 import AppTest

    _, analysis = demo
    rows = whole_rows(analysis)
    cover = squash(cover_text[0])
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    for bench in analysis.profile.benchmarks:
        at.selectbox(key="benchmark").set_value(bench.id).run()
        assert not at.exception, at.exception
        metrics = {m.label: m.value for m in at.metric}
        r = rows[bench.id]
        if bench.is_presence:
            shown = metrics["Services present"]
            assert shown == f"{services_count(r['provided'])} (at least {number(r['required'])} needed)"
            assert metrics["Whole selection"] == status_label(r["status"])
            # The cover's row: at least N | k services | status word.
            assert squash(f"at least {number(r['required'])} {services_count(r['provided'])}") in cover
            continue
        provided_required = next(v for k, v in metrics.items() if k.startswith("Provided / required"))
        assert provided_required == f"{number(r['provided'])} / {number(r['required'])}"
        assert metrics["Whole selection"] == percent(r["ratio"])
        # The pack cover's headline row reads the same figures: required, provided, share, status.
        figures = f"{number(r['required'])} {number(r['provided'])} {percent(r['ratio'])}"
        expected = squash(f"{figures} {status_label(r['status'])}")
        assert expected in cover, (bench.id, expected)


def test_app_gap_table_cells_come_from_the_formatter(demo):
    from streamlit.testing.v1 import AppTest

    _, analysis = demo
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.session_state["tab"] = "Gaps"
    at.run()
    assert not at.exception, at.exception
    table = next(
        (df.value.data if hasattr(df.value, "data") else df.value)
        for df in at.dataframe
        if "% of benchmark" in (df.value.data if hasattr(df.value, "data") else df.value).columns
    )
    engine = analysis.gaps.set_index(["area_code", "benchmark_label"])
    benches = {b.label: b for b in analysis.profile.benchmarks}
    assert len(table) == len(analysis.gaps)
    for row in table.to_dict("records"):
        r = engine.loc[(row["Code"], row["Benchmark"])].to_dict()
        if benches[row["Benchmark"]].is_presence:
            assert row["Provided"] == services_count(r["provided"])
            assert row["% of benchmark"] == ""
            continue
        assert row["Required"] == number(r["required"])
        assert row["Provided"] == number(r["provided"])
        assert row["% of benchmark"] == percent(r["ratio"])
        assert row["Shortfall"] == number(r["shortfall"])
        assert row["Status"] == status_label(r["status"])


def test_web_map_tooltips_and_legend_numbers_come_from_the_formatter(demo):
    dataset, analysis = demo
    services = counted_services(dataset.services, analysis)
    per_area = analysis.gaps[analysis.gaps["area_code"] != "ALL"].set_index(["area_name", "benchmark_id"])
    for bench in analysis.profile.benchmarks:
        if bench.scope != "area":
            continue
        m = webmap.build_map(dataset.areas, analysis, services, dataset.config, benchmark_id=bench.id)
        html = m.get_root().render().replace("\\u003c", "<").replace("\\u003e", ">")
        tips = re.findall(
            r'"tooltip": "<b>([^<]+)</b><br><b>[^<]+</b><br>provided ([^"]+?) required([^"<]*)', html
        )
        assert len(tips) == len(dataset.areas)
        for name, figures, tail in tips:
            row = per_area.loc[(name, bench.id)].to_dict()
            shown = FIGURE.findall(figures + tail)
            assert shown, name
            assert set(shown) <= written(row), (name, shown, written(row))
            assert figures == f"{number(row['provided'])} of {number(row['required'])}"
        legend = re.search(r"div\.innerHTML = (\".*?\");", html).group(1)
        # The legend's only figures are the thresholds and the benchmark's own definition.
        allowed = {percent(dataset.config.green_at), percent(dataset.config.amber_at)}
        allowed |= set(FIGURE.findall(bench.describe())) | set(FIGURE.findall(citation_text(bench)))
        allowed |= {str(TODAY.year), "2026"}
        words = html_lib.unescape(re.sub(r"<[^>]+>", " ", legend.replace("\\u00a9", "©").replace("\\", "")))
        for figure in FIGURE.findall(words):
            assert figure in allowed or figure in bench.scope_note, (bench.id, figure)


def test_static_map_pdf_whole_selection_line(demo):
    dataset, analysis = demo
    rows = whole_rows(analysis)
    for bench in analysis.profile.benchmarks:
        if bench.scope != "area":
            continue
        pdf = staticmap.snapshot_pdf(dataset, analysis, benchmark_id=bench.id, today=TODAY)
        text = squash(PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
        assert squash(f"Whole selection: {figure_text(rows[bench.id], bench)}.") in text


def test_pack_gap_table_rows_come_from_the_formatter(demo, cover_text):
    _, analysis = demo
    table = squash(" ".join(t for t in cover_text if "Gap table" in t))
    benches = {b.id: b for b in analysis.profile.benchmarks}
    for r in analysis.gaps.to_dict("records"):
        if benches[r["benchmark_id"]].is_presence:
            cells = [f"at least {number(r['required'])}", services_count(r["provided"])]
        else:
            cells = [number(r[c]) for c in ("denominator", "required", "provided")]
            cells += [percent(r["ratio"]), number(r["shortfall"])]
        assert squash(" ".join([*cells, status_label(r["status"])])) in table, r


def test_workbook_and_csv_label_columns_come_from_the_formatter(demo):
    dataset, analysis = demo
    benches = {b.id: b for b in analysis.profile.benchmarks}
    expected = [figure_text(r, benches[r["benchmark_id"]]) for r in analysis.gaps.to_dict("records")]
    csv = pd.read_csv(io.BytesIO(gaps_csv(analysis)), dtype=str, keep_default_na=False)
    assert csv["figure_label"].tolist() == expected
    assert csv["status_label"].tolist() == [status_label(s) for s in analysis.gaps["status"]]
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis, today=TODAY)))
    rows = list(wb["Gaps"].iter_rows(values_only=True))
    header = list(rows[0])
    assert [r[header.index("figure_label")] for r in rows[1:]] == expected


def test_every_benchmark_names_its_denominator_source(demo):
    _, analysis = demo
    csv = pd.read_csv(io.BytesIO(gaps_csv(analysis)), dtype=str, keep_default_na=False)
    for bench in analysis.profile.benchmarks:
        sources = set(csv.loc[csv["benchmark_id"] == bench.id, "denominator_source"])
        if bench.scope == "area":
            assert sources == {analysis.summary["benchmarks"][bench.id]["denominator_source"]}
            assert sources.pop().startswith(bench.denominator_label)
        else:
            assert sources == {"not needed (a count of services)"}
