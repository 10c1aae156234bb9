"""gapmap.present: the page's tables and texts, checked on tiny hand-built frames.

Every expectation below is worked out by hand from the frame it is computed from.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from gapmap import present
from gapmap.config import Benchmark, Profile, default_config
from gapmap.errors import ValidationReport

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def config():
    return default_config()


def bench(bid: str, label: str, unit: str = "fte") -> Benchmark:
    return Benchmark(
        id=bid, label=label, service_types=("idva",), measure="capacity", unit=unit, source="Test source",
        target=4.0, per=100_000, denominator="females_16_plus",
    )  # fmt: skip


def gaps_frame(rows: list[tuple]) -> pd.DataFrame:
    """(area_code, area_name, benchmark_id, benchmark_label, status, ratio, required, provided)."""
    cols = [
        "area_code",
        "area_name",
        "benchmark_id",
        "benchmark_label",
        "status",
        "ratio",
        "required",
        "provided",
    ]
    g = pd.DataFrame(rows, columns=cols)
    g["shortfall"] = (g["required"] - g["provided"]).clip(lower=0)
    g["denominator"] = 1000.0
    return g


def analysis_of(gaps=None, coverage=None, access=None, summary=None, benchmarks=()):
    return SimpleNamespace(
        gaps=gaps if gaps is not None else gaps_frame([]),
        coverage=coverage,
        access=access,
        summary=summary or {},
        profile=Profile(id="p", label="P", benchmarks=tuple(benchmarks)),
    )


# --------------------------------------------------------------------------- words and escaping
def test_md_escapes_a_hostile_name_so_it_shows_as_typed():
    assert present.md(HOSTILE) == r"\<img src=x onerror=alert\(1\)\>"
    assert present.md("[click](http://x) *bold* # h") == r"\[click\]\(http\://x\) \*bold\* \# h"
    assert present.md("Leicester City") == "Leicester City"
    assert present.md(12) == "12"


def test_kicker_and_filter_lines_escape_user_text():
    kicker = present.kicker_html(HOSTILE, fictional=True, today=date(2026, 11, 22))
    assert "<img" not in kicker
    assert "&lt;img src=x onerror=alert(1)&gt;" in kicker
    assert "22 November 2026" in kicker
    # The dataset in a span shown only on short screens (the geography line names it elsewhere).
    assert '<span class="gapmap-kicker-dataset"> · Dataset: &lt;img' in kicker
    assert "Fictional demo data" in kicker
    assert "Fictional demo data" not in present.kicker_html("x", fictional=False, today=date(2026, 1, 2))
    assert present.filter_html(HOSTILE) == (
        '<div class="gapmap-sub">Counting only: &lt;img src=x onerror=alert(1)&gt;</div>'
    )


def test_uk_datetime_and_unparseable_text():
    assert present.uk_datetime("2026-11-22T09:30:00Z") == "22 November 2026, 09:30 UTC"
    assert present.uk_datetime("2027-04-01T17:05:59") == "1 April 2027, 17:05 UTC"
    assert present.uk_datetime("not a date") == "not a date"
    assert present.uk_datetime("") == ""


def test_labels_status_words_and_index_text():
    tiers = {"primary": {"label": "Primary prevention"}}
    assert present.label_of(tiers, "primary") == "Primary prevention"
    assert present.label_of(tiers, "unknown") == "unknown"
    assert present.status_word("red") == "Not met"
    assert present.status_word("weird") == "weird"
    assert present.index_text(0.2549) == "0.25"
    assert present.index_text(1) == "1"  # as the pack cover writes it (gapmap.wording.number)
    assert present.index_text(None) == "–"
    assert present.index_text(float("nan")) == "–"


def test_report_frame_lists_errors_before_warnings():
    report = ValidationReport()
    report.warn("services.csv", "capacity looks high", row=7, column="capacity")
    report.error("services.csv", "unknown service type 'idv'", row=3, column="service_type")
    report.error("population.csv", "file is empty")
    frame = present.report_frame(report)
    assert list(frame.columns) == ["Severity", "File", "Row", "Column", "What is wrong and how to fix it"]
    assert frame.values.tolist() == [
        ["Error", "services.csv", "3", "service_type", "unknown service type 'idv'"],
        ["Error", "population.csv", "", "", "file is empty"],
        ["Warning", "services.csv", "7", "capacity", "capacity looks high"],
    ]
    assert present.report_frame(ValidationReport()).empty


# --------------------------------------------------------------------------- services
def services_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "service_id": ["S1", "S2"],
            "name": ["Safe Haven Refuge", HOSTILE],
            "service_type": ["refuge", "idva"],
            "provider": ["Haven Trust", "IDVA Co"],
            "tiers": [("tertiary",), ("secondary", "tertiary")],
            "cohorts": [("victims", "cyp"), ("victims",)],
            "latitude": [52.63, 52.64],
            "longitude": [-1.13, -1.14],
            "postcode": ["LE1 1AA", "LE2 2BB"],
            "address": ["1 Secret Street", "2 Open Road"],
            "capacity": [6.0, 2.5],
            "capacity_unit": ["family_spaces", "fte"],
            "hours": ["24_7", "office"],
            "funding_end": [pd.Timestamp("2027-03-31"), pd.NaT],
            "confidential": [True, False],
        },
        geometry=[Point(-1.13, 52.63), Point(-1.14, 52.64)],
        crs="EPSG:4326",
    )


def test_services_table_withholds_the_confidential_postcode(config):
    services = services_frame()
    table = present.services_table(services, config)
    assert table["Postcode"].tolist() == ["Withheld (confidential)", "LE2 2BB"]
    assert "1 Secret Street" not in table.to_string()
    assert table["Name"].tolist() == ["Safe Haven Refuge", HOSTILE]  # escaped where drawn, not here
    assert table["Type"].tolist() == ["Refuge", "IDVA service"]
    assert table["Tiers"].tolist() == ["tertiary", "secondary, tertiary"]
    assert table["Cohorts"].tolist() == ["victims, cyp", "victims"]
    assert table["Hours"].tolist() == ["24/7", "Office hours"]
    assert table["Funding ends"].tolist() == ["31 March 2027", ""]
    assert table["Capacity"].tolist() == ["6", "2.5"]
    assert services.loc[0, "postcode"] == "LE1 1AA"  # the caller's frame is not changed


def test_serving_table_shows_each_services_share(config):
    serving = services_frame().assign(share=[0.5, 0.125])
    table = present.serving_table(serving, config)
    assert list(table.columns) == [
        "Name",
        "Type",
        "Provider",
        "Postcode",
        "Capacity",
        "Unit",
        "Share to this area",
    ]
    assert table["Share to this area"].tolist() == ["50%", "13%"]  # 12.5% rounds half up
    assert table["Postcode"].tolist()[0] == "Withheld (confidential)"
    assert "Share to this area" not in present.serving_table(services_frame(), config).columns


# --------------------------------------------------------------------------- gaps
def test_gaps_table_profile_order_then_worst_first():
    gaps = gaps_frame(
        [
            # benchmark b2 rows listed first in the engine's table; the profile puts b1 first
            ("A", "Avon", "b2", "Second", "green", 1.2, 2.0, 2.4),
            ("B", "Bede", "b2", "Second", "red", 0.1, 2.0, 0.2),
            ("A", "Avon", "b1", "First", "green", 1.0, 4.0, 4.0),
            ("B", "Bede", "b1", "First", "amber", 0.75, 4.0, 3.0),
            ("C", "Cole", "b1", "First", "no_data", np.nan, np.nan, 1.0),
            ("D", "Dove", "b1", "First", "red", 0.4, 5.0, 2.0),
            ("E", "Eden", "b1", "First", "red", 0.2, 5.0, 1.0),
            ("ALL", "Whole selection", "b1", "First", "amber", 0.6, 18.0, 10.0),
        ]
    )
    analysis = analysis_of(gaps, benchmarks=[bench("b1", "First"), bench("b2", "Second")])
    table = present.gaps_table(analysis)
    # b1: red (0.2, 0.4), amber (0.6 ALL, 0.75), green, no data; then b2: red, green.
    assert list(zip(table["Benchmark"], table["Code"], strict=True)) == [
        ("First", "E"),
        ("First", "D"),
        ("First", "ALL"),
        ("First", "B"),
        ("First", "A"),
        ("First", "C"),
        ("Second", "B"),
        ("Second", "A"),
    ]
    assert table["Status"].tolist()[:6] == [
        "Not met",
        "Not met",
        "Partly met",
        "Partly met",
        "Met",
        "No data",
    ]
    assert table["% of benchmark"].tolist()[:2] == ["20%", "40%"]
    assert table["Shortfall"].tolist()[:2] == ["4", "3"]
    only = present.gaps_table(analysis, benchmark_id="b2")
    assert only["Code"].tolist() == ["B", "A"]
    assert list(only.columns) == [
        "Area", "Code", "Benchmark", "Status", "Required", "Provided", "% of benchmark", "Shortfall",
        "Denominator", "Population",
    ]  # fmt: skip


def test_headline_metrics_worked_by_hand():
    gaps = gaps_frame(
        [
            ("A", "Avon", "b1", "First", "red", 0.2, 5.0, 1.0),
            ("B", "Bede", "b1", "First", "amber", 0.5, 2.0, 1.0),
            ("C", "Cole", "b1", "First", "green", 1.0, 1.0, 1.0),
            ("ALL", "Whole selection", "b1", "First", "red", 0.375, 8.0, 3.0),
            ("ALL", "Whole selection", "sel", "Helpline", "green", 1.0, 1.0, 1.0),
        ]
    )
    analysis = analysis_of(gaps, summary={"patchwork_index": 0.25})
    m = present.headline_metrics(analysis, bench("b1", "First"))
    assert [(x.label, x.value) for x in m] == [
        ("Areas below the benchmark", "2 of 3"),
        ("Whole selection", "38%"),
        ("Provided / required (FTE)", "3 / 8"),
        ("Patchwork index", "0.25"),
    ]
    # Scored for the whole selection only; "count" has no unit word.
    m = present.headline_metrics(analysis_of(gaps), bench("sel", "Helpline", unit="count"))
    assert (m[0].label, m[0].value) == ("Areas below the benchmark", "n/a")
    assert (m[2].label, m[2].value) == ("Provided / required", "1 / 1")
    assert m[3].value == "–"
    # No whole-selection row: those two columns stay blank.
    m = present.headline_metrics(analysis_of(gaps[gaps["area_code"] != "ALL"]), bench("b1", "First"))
    assert m[1] is None and m[2] is None and m[0].value == "2 of 3"


def test_style_status_colours_the_status_word():
    table = pd.DataFrame({"Status": ["Not met", "Met"], "% of benchmark": [20.0, np.nan]})
    html = present.style_status(table).to_html()
    flat = html.replace(" ", "").replace("\n", "")
    assert "background-color:#4a0012;color:#ffffff" in flat
    assert "background-color:#e5f5e0;color:#111111" in flat
    assert "20%" in html and "–" in html


# --------------------------------------------------------------------------- patchwork
def coverage_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "A", "B"],
            "area_name": ["Avon", "Bede", "Avon", "Bede"],
            "tier": ["primary", "primary", "tertiary", "tertiary"],
            "cohort": ["victims", "victims", "perpetrators", "perpetrators"],
            "services": [2, 0, 0, 0],
            "patchwork_gap": [False, True, False, False],
        }
    )


def test_cell_names_are_short(config):
    assert present.cell_name(config, "secondary", "perpetrators") == "Secondary · Perpetrators"
    assert present.cell_name(config, "primary", "cyp") == "Primary · Children & young people"
    other = SimpleNamespace(tiers={"x": {"label": "Extra care: more"}}, cohorts={"y": {"label": "Young men"}})
    assert present.cell_name(other, "x", "y") == "Extra · Young men"
    assert present.cell_name(other, "unknown", "y") == "unknown · Young men"


def test_patchwork_marks(config):
    analysis = analysis_of(coverage=coverage_frame())
    table = present.patchwork_table(analysis, config)
    assert table.index.name == "Area"
    assert list(table.columns) == ["Primary · Adult victims", "Tertiary · Perpetrators"]
    assert table.loc["Avon"].tolist() == ["✔ 2", "– none anywhere"]
    assert table.loc["Bede"].tolist() == ["✖ GAP", "– none anywhere"]
    only_b = present.patchwork_table(analysis, config, ["B"])
    assert only_b.index.tolist() == ["Bede"]


def test_patchwork_grid_is_tiers_by_cohorts(config):
    grid = present.patchwork_grid(analysis_of(coverage=coverage_frame()), config, "A")
    assert grid.index.name == "Tier"
    assert grid.loc["Primary", "Adult victims"] == "✔ 2"
    assert grid.loc["Tertiary", "Perpetrators"] == "– none anywhere"
    assert pd.isna(grid.loc["Primary", "Perpetrators"])
    assert present.patchwork_grid(analysis_of(coverage=coverage_frame()), config, "nowhere").empty


def test_patchwork_grid_keeps_every_tier_of_a_cohort(config):
    """Three tiers of the same cohort: each tier keeps its own row (a grid keyed by cohort
    alone kept only the last tier, hiding a missing secondary x perpetrators)."""
    cov = pd.DataFrame(
        {
            "area_code": ["A", "A", "A", "B", "B", "B"],
            "area_name": ["Avon", "Avon", "Avon", "Bede", "Bede", "Bede"],
            "tier": ["primary", "secondary", "tertiary"] * 2,
            "cohort": ["perpetrators"] * 6,
            "services": [1, 0, 3, 1, 2, 0],
            "patchwork_gap": [False, True, False, False, False, True],
        }
    )
    grid = present.patchwork_grid(analysis_of(coverage=cov), config, "A")
    assert grid.index.tolist() == ["Primary", "Secondary", "Tertiary"]
    assert grid["Perpetrators"].tolist() == ["✔ 1", "✖ GAP", "✔ 3"]


def test_style_patchwork_colours_each_mark():
    html = present.style_patchwork(pd.DataFrame({"c": ["✖ GAP", "✔ 1", "– none anywhere"]})).to_html()
    flat = html.replace(" ", "").replace("\n", "")
    assert "background-color:#4a0012" in flat
    assert "background-color:#e5f5e0" in flat
    assert "background-color:#eeeeee" in flat


def test_most_gapped_cell():
    cov = pd.DataFrame(
        {
            "tier": ["primary", "primary", "secondary", "secondary", "secondary", "tertiary"],
            "cohort": ["victims", "victims", "cyp", "cyp", "cyp", "victims"],
            "patchwork_gap": [True, True, True, False, True, False],
        }
    )
    # primary x victims: 2 gaps; secondary x cyp: 2 gaps -> the first in the table wins.
    assert present.most_gapped_cell(analysis_of(coverage=cov)) == ("primary", "victims")
    cov.loc[3, "patchwork_gap"] = True  # secondary x cyp now 3
    assert present.most_gapped_cell(analysis_of(coverage=cov)) == ("secondary", "cyp")
    assert present.most_gapped_cell(analysis_of(coverage=cov.assign(patchwork_gap=False))) is None


def test_nearest_services_nearest_first(config):
    access = pd.DataFrame(
        {
            "area_code": ["A", "A", "B"],
            "service_type": ["refuge", "idva", "idva"],
            "nearest_km": [12.345, 3.21, 0.0],
        }
    )
    table = present.nearest_services_table(analysis_of(access=access), config, "A")
    assert table.values.tolist() == [[3.2, "IDVA service"], [12.3, "Refuge"]]


# --------------------------------------------------------------------------- comparison, method
def test_comparison_tables():
    moved = pd.DataFrame(
        {
            "area_name": ["Avon"],
            "benchmark_label": ["First"],
            "provided_old": [1.0],
            "provided_new": [2.456],
            "provided_change": [1.456],
            "ratio_old": [0.25],
            "ratio_new": [0.614],
            "status_old": ["red"],
            "status_new": ["amber"],
        }
    )
    assert present.moved_table(moved).iloc[0].tolist() == [
        "Avon", "First", 1.0, 2.46, 1.46, 25.0, 61.0, "Not met", "Partly met",
    ]  # fmt: skip
    changes = pd.DataFrame(
        {
            "area_name": ["Avon", "Bede"],
            "services_old": [0, 1],
            "services_new": [1, 2],
            "change": ["gap closed", ""],
        }
    )
    cells = present.opened_or_closed_cells(changes)
    assert cells[["Area", "Before", "After"]].values.tolist() == [["Avon", 0, 1]]
    empty = pd.DataFrame(columns=["service_id", "name", "latitude", "longitude"])
    added = pd.DataFrame({"service_id": ["S9"], "name": ["New"], "latitude": [52.0], "longitude": [-1.0]})
    comparison = SimpleNamespace(added=added, removed=empty, changed=empty)
    [(title, frame)] = present.comparison_lists(comparison)
    assert title == "Added services"
    assert list(frame.columns) == ["service_id", "name"]


def test_method_texts_escape_user_benchmarks(config):
    hostile = Benchmark(
        id="h", label=HOSTILE, service_types=("idva", "nonsense"), measure="count", unit="count",
        source="[a link](http://evil)", target=1.0, per=10_000, denominator="all_persons",
    )  # fmt: skip
    text = present.benchmark_lines(Profile(id="p", label="P", benchmarks=(hostile,)), config)
    assert text.startswith(r"- **\<img src=x onerror=alert\(1\)\>**: 1 per 10,000 all\_persons. ")
    assert "Counts: IDVA service." in text
    assert r"*Source:* \[a link\]\(http\://evil\)" in text
    rule = present.status_rule_text(config)
    assert "Met (green) at 100% or more" in rule and "Not met (red) below 50%" in rule
    assert present.tiers_table(config)["Tier"].tolist()[:3] == [
        "Primary prevention", "Secondary: early intervention", "Tertiary: reduction and recovery",
    ]  # fmt: skip
    assert present.cohorts_table(config)["Cohort"].tolist()[0] == "Adult victim-survivors"
    sources = present.sources_table({"services": "list.csv (0123456789ab)"})
    assert sources.values.tolist() == [["services", "list.csv (0123456789ab)"]]


def test_versions_table_uses_uk_dates():
    v = SimpleNamespace(
        version_id="v0002", saved_at="2026-11-22T09:30:00Z", row_count=60, original_name="a.csv"
    )
    assert present.versions_table([v]).values.tolist() == [
        ["v0002", "22 November 2026, 09:30 UTC", 60, "a.csv"]
    ]


def test_present_does_not_import_streamlit():
    # A fresh interpreter: this test session may have imported streamlit elsewhere.
    code = "import sys, gapmap.present; print(sorted(m for m in sys.modules if m.startswith('streamlit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- choices and files
def test_selection_options_put_a_whole_dataset_partnership_first():
    county = SimpleNamespace(id="county", label="Fenmarsh", area_codes=("A", "B", "C"))
    north = SimpleNamespace(id="north", label="North", area_codes=("A", "B"))
    options = present.selection_options(["A", "B", "C"], [north, county])
    assert list(options.items()) == [
        ("county", "Fenmarsh (3 areas)"),
        (present.ALL_AREAS, "All areas in the dataset (3)"),
        ("north", "North (2 areas)"),
        (present.CUSTOM_AREAS, "Choose areas…"),
    ]
    assert list(present.selection_options(["A", "B"], [])) == [present.ALL_AREAS, present.CUSTOM_AREAS]


def test_saved_version_label():
    v = SimpleNamespace(version_id="v0003", saved_at="2026-11-22T09:30:00Z", original_name="list (2).csv")
    assert present.saved_version_label(v) == "Saved v0003: list (2).csv (22 November 2026, 09:30 UTC)"


def test_export_file_names_and_types():
    from gapmap.dataset import load_demo
    from gapmap.engine import analyse

    demo = load_demo()
    analysis = analyse(demo.areas, demo.population, demo.services, demo.config)
    content, name, mime = present.export_file("csv", demo, analysis, title="T", today=date(2026, 11, 22))
    # The selection (the demo county's partnership), what, and the ISO date.
    assert (name, mime) == ("fenmarsh-fictional-demo-county_gaps_2026-11-22.csv", "text/csv")
    header = content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("area_code,area_name,benchmark_id")
    # Maps carry the benchmark too; two partnerships' maps never share a name.
    two = analyse(
        demo.areas, demo.population, demo.services, demo.config, selection=["E07999001", "E07999002"]
    )
    opts = {"title": "T", "today": date(2026, 11, 22), "benchmark_id": "idva_fte"}
    _, one_name, _ = present.export_file("html", demo, analysis, **opts)
    _, two_name, _ = present.export_file("html", demo, two, **opts)
    assert one_name == "fenmarsh-fictional-demo-county_idva-fte_map_2026-11-22.html"
    assert two_name == "2-areas_idva-fte_map_2026-11-22.html"
    one = analyse(demo.areas, demo.population, demo.services, demo.config, selection=["E07999006"])
    assert present.export_file("csv", demo, one, **opts)[1] == "wykesand_gaps_2026-11-22.csv"
    with pytest.raises(ValueError, match="`kind` was 'docx'"):
        present.export_file("docx", demo, analysis, title="T", today=date(2026, 11, 22))
    assert [k for k, _ in present.EXPORT_ITEMS] == ["png", "pdf", "html", "xlsx", "csv", "pack"]
