"""Demand benchmarks and evidence-rated coverage in the app (issue 12), driven with AppTest.

The map is a streamlit-folium component: AppTest cannot draw it, but the component's
arguments hold the whole Leaflet script (area fills, tooltips, the legend), which is what the
browser would draw. Demo figures (data/demand/demo_county_demand.csv, 2024-25): Saltmere has
98 Marac cases against 35,326 women 16+ x 40 / 10,000 = 141.3 expected (69%, below the 80%
band); Fenmarsh City 641 against 59,855 x 40 / 10,000 = 239.4 (268%, above 120%); the other
seven are within the band.
"""

from __future__ import annotations

import json

from test_app import metric, open_tab, start

from gapmap import palette


def map_script(at) -> str:
    """The streamlit-folium component's arguments (the map as the browser gets it)."""
    found = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        for child in (children or {}).values() if isinstance(children, dict) else []:
            args = getattr(getattr(child, "proto", None), "json_args", "")
            if args and "L.map(" in args:
                found.append(json.loads(args)["script"] + json.loads(args).get("html", ""))
            walk(child)

    walk(at._tree)
    assert found, "no map on the page"
    return found[0]


def test_choosing_a_demand_benchmark_changes_the_map_colouring_and_legend():
    label = "Marac cases against the expected volume (from demand, 2024-25)"
    at = start()
    assert not any("from demand" in o for o in at.selectbox(key="benchmark").options)
    before = map_script(at)
    assert "From demand" not in before and palette.DEMAND_COLOURS["low"] not in before

    at = open_tab(at, "Need and options")
    at.checkbox(key="demand_demo").check().run()
    at = open_tab(at, "Map")
    options = at.selectbox(key="benchmark").options
    assert label in options
    assert "Idva posts (FTE) needed for Marac cases (from demand, 2024-25)" in options

    at.selectbox(key="benchmark").set_value("marac_activity").run()
    assert not at.exception, at.exception
    after = map_script(at)
    assert "From demand, 2024-25" in after  # legend and tooltips
    assert palette.DEMAND_COLOURS["low"] in after and palette.DEMAND_COLOURS["high"] in after
    assert "observed 98, expected 141" in after  # Saltmere's tooltip
    assert metric(at, "Below / above expected") == "1 / 1 of 9"

    # The table stays chosen after leaving the tab, and a population benchmark still works.
    at.selectbox(key="benchmark").set_value("idva_fte").run()
    assert "From demand" not in map_script(at)
    assert label in at.selectbox(key="benchmark").options


def test_the_patchwork_tab_and_the_map_colour_by_evidence():
    at = open_tab(start(), "Patchwork")
    at.radio(key="patchwork_colour_by").set_value("evidence").run()
    assert not at.exception, at.exception
    marks = set()
    for df in at.dataframe:
        value = df.value.data if hasattr(df.value, "data") else df.value
        marks |= set(value.to_numpy().ravel().tolist())
    assert {"★ High", "◆ Moderate", "✖ Nothing"} <= marks
    assert any("seed 002" in c.value for c in at.caption)

    at = open_tab(at, "Map")
    at.radio(key="colour_by").set_value("evidence").run()
    at.selectbox(key="tier").set_value("secondary").run()
    at.selectbox(key="cohort").set_value("perpetrators").run()
    assert not at.exception, at.exception
    script = map_script(at)
    assert "High-evidence option in place" in script and "seed 002" in script
    assert palette.EVIDENCE_COLOURS["none"] in script  # Wykesand: nothing in place


def test_a_police_force_area_demand_table_is_said_not_painted_on_district_areas():
    """What the uploader keeps (AppTest cannot drive it: see test_app's module docstring)."""
    at = start()
    at.session_state["demand_kept"] = (
        "upload",
        b"area_code,period,marac_cases\nE23999001,2024-25,300\n",
        "pfa.csv",
    )
    at.run()
    label = "Marac cases against the expected volume (from demand: not scored at this level)"
    assert label in at.selectbox(key="benchmark").options
    at.selectbox(key="benchmark").set_value("marac_activity").run()
    assert not at.exception, at.exception
    script = map_script(at)
    assert "Not scored per area shown" in script and "police force area" in script
    assert palette.DEMAND_COLOURS["low"] not in script and palette.DEMAND_COLOURS["high"] not in script
    assert metric(at, "Areas scored") == "None at this level"
    # Forgetting the kept table (Need and options tab) takes its rows off the benchmark choice.
    at = open_tab(at, "Need and options")
    at.button(key="demand_forget").click().run()
    assert not any("from demand" in o for o in at.selectbox(key="benchmark").options)
