"""The Streamlit page driven with streamlit.testing.AppTest on the fictional demo county.

Expected figures are hand-computed from data/ (demo population and service list):
all persons over the nine areas = 999,720, so under the default (standards) profile refuge family
places required = 999,720 / 10,000 = 99.972 ("100") and the demo has 31 (31%); females aged 16+
= 415,126, so Idva required = 4 x 415,126 / 100,000 = 16.605 FTE ("16.6"); under the seed
profile MARAC required = 4.15126 ("4.15") and the demo has 3 MARACs (City, North, South).

What is and is not driven: AppTest cannot operate `st.file_uploader` or the st_folium
component. The uploader only copies the file's bytes and name into session state
(`sync_uploaded_file` in app.py); these tests put the bytes there themselves and drive
everything after that point (validation report, preview, the "Save as new version" button,
the saved-version list, dataset choice and comparison) through the real widgets. A map click
sets the same `profile_area` state the area selectbox sets; the selectbox is driven here.
The real uploader and a real map click are driven in Chromium by tests/test_e2e_browser.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gapmap import settings
from gapmap.storage import list_versions
from gapmap.wording import number

APP = Path(__file__).resolve().parent.parent / "app.py"
DEMO_CSV = settings.DEMO_SERVICES


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return values[0]


def tables_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    """Every table on the page (in page order) that has `column`."""
    found = []
    for df in at.dataframe:
        value = df.value
        if hasattr(value, "data"):  # a Styler
            value = value.data
        if column in value.columns:
            found.append(value)
    return found


def dataframe_with(at: AppTest, column: str) -> pd.DataFrame:
    found = tables_with(at, column)
    assert found, f"no table with a column {column!r}"
    return found[0]


def start() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def choose_idva(at: AppTest) -> AppTest:
    """The Idva benchmark (4 FTE per 100,000 women 16+), which most demo figures here use."""
    at.selectbox(key="benchmark").set_value("idva_fte").run()
    assert not at.exception, at.exception
    return at


def demo_csv_without(service_id: str) -> bytes:
    lines = DEMO_CSV.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(service_id.encode() + b",")]
    assert len(kept) == len(lines) - 1
    return b"".join(kept)


def open_tab(at: AppTest, name: str) -> AppTest:
    """Tabs are lazy (only the open one runs); this is what clicking a tab does."""
    at.session_state["tab"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, content: bytes, name: str) -> AppTest:
    """What the file uploader does: hand the bytes to the page (see the module docstring)."""
    at.session_state["tab"] = "Services"
    at.session_state["upload_content"] = content
    at.session_state["upload_name"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def test_default_page_shows_the_demo():
    at = start()
    assert at.title[0].value == "Fenmarsh (fictional demo county)"
    assert any("Fictional demo data" in m.value for m in at.markdown)
    # The geography line names the dataset as typed (markdown-escaped); the kicker's copy is
    # shown only where that line is hidden (checked in a browser: test_app_browser).
    said = [e.value for e in [*at.markdown, *at.caption] if "Dataset: Demo \\(fictional\\)" in e.value]
    assert said == ["Geography: Demo county (fictional) · Dataset: Demo \\(fictional\\)"]  # as typed
    # The default profile is the standards one; its first benchmark refuge family places.
    assert metric(at, "Provided / required (family places)") == "31 / 100"  # 31 of 99.972
    assert metric(at, "Whole selection") == "31%"
    assert metric(at, "Areas below the benchmark") == "9 of 9"
    choose_idva(at)
    assert metric(at, "Provided / required (FTE)") == "11.5 / 16.6"
    assert metric(at, "Whole selection") == "69%"  # 11.5 / 16.605
    assert metric(at, "Areas below the benchmark") == "8 of 9"
    assert not at.error and not at.warning  # the standards profile carries no caveat


def test_the_first_page_does_not_import_the_export_stack():
    # A fresh interpreter, so modules other tests imported don't count. The first page is the
    # map: exports, comparisons and their libraries load only in the tab that uses them.
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "heavy = {'gapmap.workbook', 'gapmap.staticmap', 'gapmap.pack', 'gapmap.compare', 'matplotlib',\n"
        "         'openpyxl', 'pypdf'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=APP.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_choosing_another_benchmark_changes_the_figures():
    at = start()
    at.selectbox(key="profile").set_value("seed_2013_2023").run()
    at.selectbox(key="benchmark").set_value("marac").run()
    assert not at.exception
    # "4.15" as on the pack cover (the issue found "4.2" here and "4.15" there).
    assert metric(at, "Provided / required") == "3 / 4.15"
    assert metric(at, "Whole selection") == "72%"  # 3 / 4.15126
    # The seed profile's caveat travels with what is shown under it.
    assert any("halves the requirement" in w.value for w in at.warning)


def test_a_presence_benchmark_reads_as_a_count():
    at = start()
    at.selectbox(key="benchmark").set_value("refuge_presence").run()
    assert not at.exception
    assert metric(at, "Whole selection") == "Met"
    assert metric(at, "Services present") == "4 services (at least 1 needed)"  # 4 demo refuges


def test_a_filter_changes_the_figures():
    at = choose_idva(start())
    # No IDVA service is primary prevention: with only primary services counted, none is provided.
    at.multiselect(key="f_tiers").set_value(["primary"]).run()
    assert not at.exception
    assert metric(at, "Provided / required (FTE)") == "0 / 16.6"
    assert metric(at, "Areas below the benchmark") == "9 of 9"
    assert any("Counting only: Tiers: Primary" in m.value for m in at.markdown)  # labels, not ids


def test_area_profile_lists_benchmarks_matrix_and_services_without_refuge_locations():
    at = start()
    at.selectbox(key="profile_area").set_value("E07999002").run()
    assert not at.exception
    assert any("Area profile: Haverby Wolds" in s.value for s in at.subheader)
    benches = dataframe_with(at, "Shortfall")
    idva = benches[benches["Benchmark"] == "Idva posts (FTE)"].iloc[0]
    assert idva["Status"] == "Partly met"
    serving = dataframe_with(at, "Share to this area")
    refuge = serving[serving["Name"] == "North Fenmarsh Refuge (fictional)"].iloc[0]
    assert refuge["Postcode"] == "Withheld (confidential)"
    assert "Haverby Wolds Hospital IDVA (fictional)" in set(serving["Name"])


def test_invalid_upload_shows_errors_and_saves_nothing():
    at = start()
    header = DEMO_CSV.read_text(encoding="utf-8").splitlines()[0]
    bad = (
        header + "\n"
        "X-1,Good Outreach,outreach,P,,,,QX1 0AE,,,,,E06999001,,1,fte,,office,,,\n"
        "X-2,Typo Service,refugee_centre,P,,,,QX1 0AE,,,,,E06999001,,1,,,office,,,\n"
    ).encode("utf-8")
    upload(at, bad, "bad_list.csv")
    assert any("error(s)" in e.value and "Nothing was saved" in e.value for e in at.error)
    problems = dataframe_with(at, "What is wrong and how to fix it")
    errors = problems[problems["Severity"] == "Error"]
    assert (
        (errors["File"] == "bad_list.csv") & (errors["Row"] == "3") & (errors["Column"] == "service_type")
    ).any()
    assert not [b for b in at.button if b.key == "save_version"]
    assert list_versions() == []
    # An invalid list is never offered as a dataset.
    assert all("Uploaded" not in str(o) for o in at.selectbox(key="dataset_choice").options)


def test_valid_upload_saves_new_version_and_keeps_the_old_one():
    at = choose_idva(start())
    upload(at, demo_csv_without("FEN-022"), "services_march.csv")
    current, preview = tables_with(at, "Funding ends")  # the list in use, then the upload's preview
    assert len(current) == 60 and len(preview) == 20  # the preview shows the first 20 of 59
    assert any("Preview** (59 services)" in m.value for m in at.markdown)
    at.button(key="save_version").click().run()
    assert not at.exception
    assert [v.row_count for v in list_versions()] == [59]
    assert any("Saved as version v0001" in s.value for s in at.success)

    upload(at, DEMO_CSV.read_bytes(), "services_april.csv")
    at.button(key="save_version").click().run()
    versions = list_versions()
    assert [(v.version_id, v.original_name) for v in versions] == [
        ("v0001", "services_march.csv"),
        ("v0002", "services_april.csv"),
    ]
    options = at.selectbox(key="dataset_choice").options
    assert any("v0001" in o for o in options) and any("v0002" in o for o in options)
    table = dataframe_with(at, "Original file")
    assert list(table["Version"]) == ["v0001", "v0002"]
    assert all(
        re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", t) for t in table["Saved"]
    )  # UK dates

    # The older version is still usable: without FEN-022 (0.4 FTE) the county has 11.1 FTE.
    open_tab(at, "Map")
    at.selectbox(key="dataset_choice").set_value("version:v0001").run()
    assert not at.exception
    assert metric(at, "Provided / required (FTE)") == "11.1 / 16.6"
    assert any("Fictional demo data" in m.value for m in at.markdown)  # still the fictional county


def test_comparing_two_versions_shows_the_difference():
    at = start()
    upload(at, demo_csv_without("FEN-022"), "services_march.csv")
    at.button(key="save_version").click().run()
    upload(at, DEMO_CSV.read_bytes(), "services_april.csv")
    at.button(key="save_version").click().run()
    at.selectbox(key="compare_old").set_value("v0001")
    at.selectbox(key="compare_new").set_value("v0002").run()
    assert not at.exception
    assert metric(at, "Added") == "1"
    assert metric(at, "Removed") == "0"
    added = dataframe_with(at, "service_id")
    assert list(added["service_id"]) == ["FEN-022"]
    moved = dataframe_with(at, "Provided after")
    haverby = moved[(moved["Area"] == "Haverby Wolds") & (moved["Benchmark"] == "Idva posts (FTE)")].iloc[0]
    assert haverby["Provided after"] - haverby["Provided before"] == pytest.approx(0.4, abs=0.01)


def test_gaps_patchwork_and_method_tabs():
    at = start()
    open_tab(at, "Gaps")
    gaps = dataframe_with(at, "% of benchmark")
    saltmere = gaps[(gaps["Area"] == "Saltmere") & (gaps["Benchmark"] == "Idva posts (FTE)")].iloc[0]
    assert saltmere["Status"] == "Not met"  # 0.51 of 1.41 FTE = 36%
    assert saltmere["% of benchmark"] == "36%"
    assert saltmere["Population"].startswith("females aged 16 and over")
    assert [b.label for b in at.download_button] == ["Download the gap table (CSV)"]

    open_tab(at, "Patchwork")
    # One table per tier, five cohort columns each (readable at 1280x720): the second is Secondary.
    assert [m.value for m in at.markdown if m.value in ("**Primary**", "**Secondary**", "**Tertiary**")] == [
        "**Primary**",
        "**Secondary**",
        "**Tertiary**",
    ]
    _primary, secondary, _tertiary = tables_with(at, "Perpetrators")
    assert len(secondary.columns) == 5
    # No demo perpetrator programme serves Wykesand while Fenmarsh City has one (FEN-040):
    # a patchwork gap, marked in words, not only in colour.
    assert secondary.loc["Wykesand", "Perpetrators"] == "✖ GAP"
    assert secondary.loc["Fenmarsh City", "Perpetrators"].startswith("✔")

    open_tab(at, "Method")
    method = " ".join(m.value for m in at.markdown).replace("\\", "")  # markdown escapes
    # Citations a commissioner can look up, never a seed number; the population used is named.
    assert "*Source:* SafeLives (undated). Reviewing your Marac data (web guidance)." in method
    assert "Council of Europe (2008). Combating violence against women" in method
    assert "4 per 100,000 females aged 16 and over" in method
    assert "*Population:* females aged 16 and over" in method
    assert "Population**: each benchmark's denominator is read from the most recent official" in method
    assert "seed 00" not in method.lower()


def test_export_tab_prepares_a_download_for_the_current_view():
    at = start()
    open_tab(at, "Export")
    assert not [b for b in at.download_button if b.key == "download_csv"]
    at.button(key="prepare_csv").click().run()
    assert not at.exception, at.exception
    assert [b.label for b in at.download_button] == ["Download Gap table (CSV)"]


@pytest.mark.parametrize("kind", ["png", "pdf", "html", "xlsx", "pack"])
def test_every_export_button_produces_a_download(kind):
    at = start()
    open_tab(at, "Export")
    at.button(key=f"prepare_{kind}").click().run()
    assert not at.exception, at.exception
    assert [b.key for b in at.download_button] == [f"download_{kind}"]
    # The prepared file belongs to the view it was made for: change the view and it is gone.
    at.selectbox(key="benchmark").set_value("idva_fte").run()
    assert not at.download_button


def test_broken_configured_files_show_a_readable_report(monkeypatch, tmp_path):
    bad = tmp_path / "areas.geojson"
    bad.write_text("this is not GeoJSON", encoding="utf-8")
    monkeypatch.setenv("GAPMAP_BOUNDARIES", str(bad))
    monkeypatch.setenv("GAPMAP_SERVICES", str(DEMO_CSV))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception  # a report, never a traceback
    assert any("could not be used" in e.value for e in at.error)
    problems = dataframe_with(at, "What is wrong and how to fix it")
    assert (problems["File"] == "areas.geojson").any()
    # The other datasets stay reachable from the sidebar: the demo is one geography away.
    assert "Demo county (fictional)" in at.radio(key="geography").options


def test_real_districts_and_a_named_partnership(shared_data, monkeypatch, tmp_path):
    """All English districts through GAPMAP_*, then the LLR partnership chosen in the sidebar."""
    population = shared_data / "population" / "la_denominators_lad24_england.csv"
    services = tmp_path / "llr_services.csv"
    services.write_text(
        "service_id,name,service_type,provider,serves,capacity,capacity_unit,hours\n"
        "L-1,Leicester IDVA service,idva,Example provider,E06000016,10,fte,office\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(
        "GAPMAP_BOUNDARIES", str(shared_data / "boundaries" / "england_ltla_2024_ons_bsc.geojson")
    )
    monkeypatch.setenv("GAPMAP_POPULATION", str(population))
    monkeypatch.setenv("GAPMAP_SERVICES", str(services))
    at = start()
    assert at.title[0].value == "All areas in the dataset"
    at.selectbox(key="partnership").set_value("llr").run()
    assert not at.exception, at.exception
    choose_idva(at)
    assert at.title[0].value == "Leicester, Leicestershire and Rutland"

    # Hand computation from the population file: 4 IDVA FTE per 100,000 females aged 16+.
    pop = pd.read_csv(population).set_index("lad24cd")["census21_females_16plus_est"]
    llr = ["E06000016", "E06000017", *[f"E070001{n}" for n in range(29, 36)]]
    required = 4 * pop[llr].sum() / 100_000
    assert metric(at, "Provided / required (FTE)") == f"10 / {number(required)}"
    assert 10 / (4 * pop["E06000016"] / 100_000) >= 1  # Leicester meets it; the other 8 have none
    assert metric(at, "Areas below the benchmark") == "8 of 9"


def test_patchwork_colouring_opens_on_the_cell_with_most_gaps():
    from gapmap.dataset import load_demo
    from gapmap.engine import analyse

    demo = load_demo()
    cov = analyse(demo.areas, demo.population, demo.services, demo.config).coverage
    gaps = cov[cov["patchwork_gap"]].groupby(["tier", "cohort"]).size()
    at = start()
    at.radio(key="colour_by").set_value("patchwork").run()
    assert not at.exception, at.exception
    chosen = (at.selectbox(key="tier").value, at.selectbox(key="cohort").value)
    assert gaps[chosen] == gaps.max() > 0
    # The user's own choice then sticks.
    at.selectbox(key="cohort").set_value("perpetrators").run()
    assert at.selectbox(key="cohort").value == "perpetrators"


def test_a_saved_version_that_no_longer_validates_is_reported_not_raised():
    from gapmap.storage import save_version

    # Saved when it was valid; the areas have since changed (simulated: a code nobody has).
    content = DEMO_CSV.read_text(encoding="utf-8").replace("E06999001", "E06999099").encode("utf-8")
    save_version(content, "old_areas.csv", row_count=60)
    at = start()
    at.selectbox(key="dataset_choice").set_value("version:v0001").run()
    assert not at.exception, at.exception
    assert any("could not be used" in e.value for e in at.error)
    problems = dataframe_with(at, "What is wrong and how to fix it")
    assert problems["What is wrong and how to fix it"].str.contains("E06999099").any()
    # Comparing against it is reported the same way.
    at.selectbox(key="dataset_choice").set_value("demo").run()
    open_tab(at, "Services")
    at.selectbox(key="compare_old").set_value("demo")
    at.selectbox(key="compare_new").set_value("v0001").run()
    assert not at.exception, at.exception
    assert any("could not be used" in e.value for e in at.error)


def test_closing_gaps_tab_demand_profile_and_a_two_idva_scenario():
    at = open_tab(start(), "Need and options")
    at.checkbox(key="demand_demo").check().run()
    assert not at.exception, at.exception
    demand = dataframe_with(at, "Reading")
    salt = demand[
        (demand["Area"] == "Saltmere") & (demand["Measure"] == "Idva posts (FTE) needed for Marac cases")
    ]
    assert salt.iloc[0]["Needed / expected"] == 0.98  # 98 Marac cases / 100 per FTE
    at.selectbox(key="closing_area").set_value("E07999001").run()
    text = "\n".join(m.value for m in at.markdown)
    assert "Coaching Boys Into Men" in text and "£80 per school assembly" in text
    at.button(key="scenario_run").click().run()
    assert not at.exception, at.exception
    figures = dataframe_with(at, "Provided after")
    row = figures[(figures["Area"] == "Saltmere") & (figures["Benchmark"] == "Idva posts (FTE)")].iloc[0]
    assert row["Provided after"] - row["Provided before"] == pytest.approx(2.0)
    assert (row["Status before"], row["Status after"]) == ("Not met", "Met")


# --------------------------------------------------------------------------- what is shown is what was chosen
def test_an_area_profile_shows_all_three_tiers_of_its_grid():
    """Wykesand's grid: a row per tier (a grid keyed by cohort showed only Tertiary), so its
    missing secondary perpetrator provision is visible."""
    at = start()
    at.selectbox(key="profile_area").set_value("E07999006").run()  # Wykesand
    assert not at.exception, at.exception
    grid = dataframe_with(at, "Perpetrators")
    assert grid.index.tolist() == ["Primary", "Secondary", "Tertiary"]
    assert grid.loc["Secondary", "Perpetrators"].startswith("✖")


def test_the_services_tab_lists_only_the_selection_and_filters():
    """Haverby Wolds alone: the Services tab lists the services that serve it, not all 60."""
    from gapmap.dataset import load_demo
    from gapmap.engine import analyse
    from gapmap.view import counted_services

    demo = load_demo()
    expected = counted_services(
        demo.services,
        analyse(demo.areas, demo.population, demo.services, demo.config, selection=["E07999002"]),
    )
    assert 0 < len(expected) < 60
    at = start()
    at.selectbox(key="partnership").set_value("__custom__").run()
    at.multiselect(key="custom_areas").set_value(["E07999002"]).run()
    open_tab(at, "Services")
    listed = dataframe_with(at, "Funding ends")
    assert sorted(listed["Name"]) == sorted(expected["name"].astype(str))
    assert any(f"{len(expected)} of the 60 services" in m.value for m in at.markdown)
    at.multiselect(key="f_tiers").set_value(["primary"]).run()
    listed = dataframe_with(at, "Funding ends")
    assert len(listed) < len(expected) and all("primary" in t for t in listed["Tiers"])


def test_an_uploaded_file_name_is_shown_as_typed_in_the_geography_line():
    """The dataset label carries the upload's file name into a markdown caption: a name
    written as a markdown link or image must show as text, never become one."""
    at = choose_idva(start())
    name = "![x](https:evil.example) [click](https:evil.example).csv"
    upload(at, demo_csv_without("FEN-022"), name)
    at.selectbox(key="dataset_choice").set_value("upload").run()
    assert not at.exception, at.exception
    line = [c.value for c in at.caption if c.value.startswith("Geography:")]
    assert line == [
        "Geography: Demo county (fictional) · Dataset: Uploaded, not saved\\: "
        "\\!\\[x\\]\\(https\\:evil\\.example\\) \\[click\\]\\(https\\:evil\\.example\\)\\.csv"
    ]


def test_saving_switches_the_view_to_the_saved_version():
    at = choose_idva(start())
    upload(at, demo_csv_without("FEN-022"), "services_march.csv")
    at.selectbox(key="dataset_choice").set_value("upload").run()
    assert metric(at, "Provided / required (FTE)") == "11.1 / 16.6"
    open_tab(at, "Services")
    at.button(key="save_version").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dataset_choice").value == "version:v0001"
    assert all("Uploaded, not saved" not in o for o in at.selectbox(key="dataset_choice").options)
    assert metric(at, "Provided / required (FTE)") == "11.1 / 16.6"
    # The same bytes again: not stored twice, and the view is that version.
    upload(at, demo_csv_without("FEN-022"), "again.csv")
    at.button(key="save_version").click().run()
    assert [v.version_id for v in list_versions()] == ["v0001"]
    assert any("already saved as version v0001" in s.value for s in at.success)
    assert at.selectbox(key="dataset_choice").value == "version:v0001"


def test_an_unsaved_upload_stays_through_tab_switches():
    at = start()
    upload(at, demo_csv_without("FEN-022"), "services_march.csv")
    at.selectbox(key="dataset_choice").set_value("upload").run()
    for name in ("Map", "Gaps", "Patchwork", "Map"):
        open_tab(at, name)
        assert at.selectbox(key="dataset_choice").value == "upload"
        assert metric(at, "Areas below the benchmark")  # the page drew, on the upload
    # The real uploader (whose widget lapses while the Services tab is closed) is driven in
    # Chromium: tests/test_e2e_browser.py.


def test_a_configured_file_edited_while_the_app_runs_is_read_again(monkeypatch, tmp_path):
    """The cache is keyed on each file's content, not its path."""
    import shutil

    services = tmp_path / "services.csv"
    shutil.copy(DEMO_CSV, services)
    monkeypatch.setenv("GAPMAP_BOUNDARIES", str(settings.DEMO_BOUNDARIES))
    monkeypatch.setenv("GAPMAP_POPULATION", str(settings.DEMO_POPULATION))
    monkeypatch.setenv("GAPMAP_POSTCODES", str(settings.DEMO_POSTCODES))
    monkeypatch.setenv("GAPMAP_SERVICES", str(services))
    at = choose_idva(start())
    assert metric(at, "Provided / required (FTE)") == "11.5 / 16.6"
    services.write_bytes(demo_csv_without("FEN-022"))  # FEN-022 is a 0.4 FTE Idva post
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Provided / required (FTE)") == "11.1 / 16.6"


def test_the_funding_cliff_takes_a_uk_date_and_lists_what_drops_off():
    """By hand (tests/test_cliff.py): before 1 February 2027 the South Fenmarsh Refuge (6 family
    places) and Wykesand Rural Outreach end; refuge places go from 31 to 25 of 100."""
    at = start()
    at.checkbox(key="f_use_on").check().run()
    at.text_input(key="f_on_text").set_value("01/02/2027").run()
    assert not at.exception, at.exception
    assert metric(at, "Provided / required (family places)") == "25 / 100"
    line = next(m.value for m in at.markdown if "Counting only" in m.value)
    assert "funded on 1 February 2027" in line and "2027-02-01" not in line
    assert "Funding ends before 1 February 2027 for 2 services" in line
    open_tab(at, "Gaps")
    ending = dataframe_with(at, "Benchmarks affected")
    assert sorted(ending["Service"]) == [
        "South Fenmarsh Refuge (fictional)",
        "Wykesand Rural Outreach (fictional)",
    ]
    figures = dataframe_with(at, "Provided after").set_index("Benchmark")
    assert figures.loc["Refuge family places", "Provided before"] == "31"
    assert figures.loc["Refuge family places", "Provided after"] == "25"
    # A date that is not one is said, not guessed.
    at.text_input(key="f_on_text").set_value("31/02/2027").run()
    assert any("DD/MM/YYYY" in e.value for e in at.error)


def map_args(at: AppTest) -> dict:
    """What the page hands streamlit-folium's component (its JSON arguments)."""
    import json

    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)


def test_the_markers_travel_as_their_own_layer_and_a_rerun_sends_the_same_map():
    from gapmap.dataset import load_demo
    from gapmap.privacy import public_services

    at = start()
    first = map_args(at)
    # The base map holds the areas; the markers are the feature group the browser swaps alone.
    assert '"lat"' not in first["script"]
    demo = load_demo().services
    names = list(public_services(demo)["name"])
    assert names and all(json_text(n) in first["feature_group"] for n in names)
    secret = list(demo.loc[demo["confidential"].astype(bool), "name"])
    assert secret and not any(json_text(n) in first["feature_group"] + first["script"] for n in secret)
    # A rerun that changes nothing hands over the very same text: Streamlit then sends the
    # browser a reference to the message it has, not the map again.
    at.run()
    assert map_args(at) == first
    # Markers off: no markers, and no legend of them.
    at.checkbox(key="show_services").uncheck().run()
    assert not at.exception, at.exception
    hidden = map_args(at)
    assert '"lat"' not in hidden["feature_group"]
    assert "Services (by first tier)" in first["feature_group"]
    assert "Services (by first tier)" not in hidden["feature_group"]
    # Markers off changes the layer only: the base map is the same (same iframe, same zoom).
    assert hidden["script"] == first["script"]


def json_text(text: str) -> str:
    """`text` as it appears inside the page's JSON (`gapmap.webmap._script_json`)."""
    from gapmap.webmap import _script_json

    return _script_json(text)[1:-1]
