"""The app on England built in (AppTest): geography switch, a Lancashire list, statutory areas,
levels, and nothing of one geography appearing in the other.

As in tests/test_app.py, the uploader's bytes are put in session state (AppTest cannot drive
`st.file_uploader`); the real uploader is driven in tests/test_e2e_browser_england.py.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gapmap.storage import list_versions

APP = Path(__file__).resolve().parent.parent / "app.py"

#: A Lancashire list: names, the county's code (its 12 districts) and a pan-Lancashire service.
LANCASHIRE = (
    b"service_id,name,service_type,serves,capacity,capacity_unit\n"
    b"L-1,Preston IDVA,idva,Preston,3,fte\n"
    b"L-2,Blackpool IDVA,idva,Blackpool,2,fte\n"
    b"L-3,County IDVA,idva,E10000017,9,fte\n"
    b"L-4,Pan-Lancashire refuge,refuge,E23000003,20,family_spaces\n"
)


def start() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def gap_area_codes(at: AppTest) -> set[str]:
    at.session_state["tab"] = "Gaps"
    at.run()
    assert not at.exception, at.exception
    for df in at.dataframe:
        value = df.value.data if hasattr(df.value, "data") else df.value
        if "Code" in value.columns and "Benchmark" in value.columns:
            return set(value["Code"]) - {"ALL"}
    raise AssertionError("no gap table")


def test_demo_stays_the_default_and_says_so():
    at = start()
    assert at.radio(key="geography").value == "demo"
    assert any("Geography: Demo county (fictional)" in c.value for c in at.caption)


def test_lancashire_on_england_then_the_demo_and_back():
    at = start()
    at.radio(key="geography").set_value("england_lad24").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "England built in (2024 districts)"
    assert any("Upload your service list" in i.value for i in at.info)

    at.session_state["upload_content"] = LANCASHIRE
    at.session_state["upload_name"] = "lancashire.csv"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dataset_choice").value == "upload"
    at.selectbox(key="partnership").set_value("pfa:E23000003").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Lancashire"
    assert any("Geography: England built in" in c.value and "lancashire\\.csv" in c.value for c in at.caption)
    codes = gap_area_codes(at)
    assert len(codes) == 14 and {"E07000123", "E06000009", "E06000008"} <= codes

    # Per police force area: one row, the sum of the fourteen.
    at.radio(key="level_england_lad24").set_value("pfa").run()
    assert not at.exception, at.exception
    assert gap_area_codes(at) == {"E23000003"}

    # The demo: its own list and county; the Lancashire upload is not offered there.
    at.radio(key="geography").set_value("demo").run()
    assert not at.exception, at.exception
    # (AppTest lists options by their labels)
    assert all("lancashire.csv" not in o for o in at.selectbox(key="dataset_choice").options)
    assert all("Lancashire" not in o for o in at.selectbox(key="partnership").options)
    at.session_state["tab"] = "Map"
    at.run()
    assert gap_area_codes(at) == {f"E07999{n:03d}" for n in range(1, 9)} | {"E06999001"}

    # And back: the list, the police force area and the level are as they were.
    at.radio(key="geography").set_value("england_lad24").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dataset_choice").value == "upload"
    assert at.selectbox(key="partnership").value == "pfa:E23000003"
    assert gap_area_codes(at) == {"E23000003"}


def test_a_version_saved_on_england_is_offered_only_there():
    at = start()
    at.radio(key="geography").set_value("england_lad24").run()
    at.session_state["upload_content"] = LANCASHIRE
    at.session_state["upload_name"] = "lancashire.csv"
    at.session_state["tab"] = "Services"
    at.run()
    at.button(key="save_version").click().run()
    assert not at.exception, at.exception
    (version,) = list_versions()
    assert version.geography == "england_lad24"
    assert any(
        o.startswith("Saved v0001: lancashire.csv") for o in at.selectbox(key="dataset_choice").options
    )
    at.radio(key="geography").set_value("demo").run()
    assert not at.exception, at.exception
    assert all("v0001" not in o for o in at.selectbox(key="dataset_choice").options)
    assert at.selectbox(key="dataset_choice").value == "demo"


def test_your_own_files_then_the_demo(fixtures_dir):
    """Own boundaries and population (as the sidebar uploaders leave them), then a list on them."""
    fx = fixtures_dir / "services"
    at = start()
    at.session_state["own_files"] = {
        "boundaries": str(fx / "two_areas.geojson"),
        "population": str(fx / "population.csv"),
        "postcodes": str(fx / "postcodes.csv"),
    }
    at.radio(key="geography").set_value("own").run()
    assert not at.exception, at.exception
    assert any("Upload your service list" in i.value for i in at.info)
    at.session_state["upload_content"] = (fx / "services.csv").read_bytes()
    at.session_state["upload_name"] = "ours.csv"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dataset_choice").value == "upload"
    assert any("Geography: Your own boundary file" in c.value and "ours\\.csv" in c.value for c in at.caption)
    assert gap_area_codes(at) == {"E07000001", "E07000002"}
    assert [r.label for r in at.radio if r.label == "Score per"] == []  # no levels on fictional codes
    at.radio(key="geography").set_value("demo").run()
    assert all("ours.csv" not in o for o in at.selectbox(key="dataset_choice").options)
