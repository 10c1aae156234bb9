"""The app's area profile on England built in shows small-area access (AppTest)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"

#: A public IDVA in Preston and a confidential refuge with a location.
SERVICES = (
    b"service_id,name,service_type,latitude,longitude,capacity,capacity_unit,confidential\n"
    b"L-1,Preston IDVA,idva,53.759,-2.699,3,fte,false\n"
    b"L-2,Refuge,refuge,53.70,-2.60,6,family_spaces,true\n"
)


def test_area_profile_lists_neighbourhoods_far_from_each_type_and_maps_them():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.radio(key="geography").set_value("england_lad24").run()
    at.session_state["upload_content"] = SERVICES
    at.session_state["upload_name"] = "preston.csv"
    at.run()
    at.selectbox(key="partnership").set_value("pfa:E23000003").run()
    assert not at.exception, at.exception
    at.selectbox(key="profile_area").set_value("E07000123").run()  # Preston
    assert not at.exception, at.exception
    assert any("Neighbourhoods far from a service" in m.value for m in at.markdown)
    table = next(d.value for d in at.dataframe if "Neighbourhoods beyond" in d.value.columns)
    # Only the public IDVA: the refuge gives no row and no figure.
    assert list(table["Service type"]) == ["IDVA service"]
    assert at.selectbox(key="profile_lsoa_type").value == "idva"
    assert any("Straight-line distance" in c.value for c in at.caption)
