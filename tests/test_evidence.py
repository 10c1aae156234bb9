"""Evidence-rated coverage (issue 12): the best seed 002 rating in place per area x tier x cohort.

A hand-computed fixture on test_engine's three populated squares A, B, C (D unselected):

    S1 school programme, Coaching Boys Into Men (primary x cyp, HIGH), serves A
    S2 school programme, Safe Dates (primary x cyp, MODERATE), serves A and B
    S3 perpetrator programme, Make a Change (secondary x perpetrators, MODERATE), serves B
    S4 perpetrator programme, no intervention named, serves C
    S5 Drive (rated for tertiary x perpetrators, MODERATE) listed as secondary and tertiary, serves A
    S6 awareness campaign, Escape the Control (primary x community, LOW), serves C
    S7 school programme, Coaching Boys Into Men, serves D only (not selected: never counted)

Expected classes (best rating among the services in the cell):

    cell                        A          B          C
    primary x cyp               high       moderate   none
    secondary x perpetrators    low (S5 not rated there)  moderate   low (S4 unrated)
    tertiary x perpetrators     moderate   none       none
    primary x community         none       none       low
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_engine import CONFIG, A, B, C, D, make_areas, make_population, make_services, service

from gapmap import palette, view, wording
from gapmap.engine import analyse
from gapmap.filters import ServiceFilter
from gapmap.interventions import EVIDENCE_CLASSES, evidence_class, evidence_coverage


def _services() -> pd.DataFrame:
    return make_services(
        [
            service("S1", "school_programme", serves=(A,), intervention="Coaching Boys Into Men"),
            service("S2", "school_programme", serves=(A, B), intervention="Safe Dates"),
            service("S3", "perpetrator_programme", serves=(B,), intervention="Make a Change"),
            service("S4", "perpetrator_programme", serves=(C,)),
            service(
                "S5",
                "high_harm_perpetrator",
                serves=(A,),
                tiers=("secondary", "tertiary"),
                intervention="Drive",
            ),
            service("S6", "awareness_campaign", serves=(C,), intervention="Escape the Control"),
            service("S7", "school_programme", serves=(D,), intervention="CBIM"),
        ]
    )


def _analysis(services: pd.DataFrame, **kw):
    return analyse(make_areas(), make_population(), services, CONFIG, selection=[A, B, C], **kw)


EXPECTED = {
    ("primary", "cyp"): {A: "high", B: "moderate", C: "none"},
    ("secondary", "perpetrators"): {A: "low", B: "moderate", C: "low"},
    ("tertiary", "perpetrators"): {A: "moderate", B: "none", C: "none"},
    ("primary", "community"): {A: "none", B: "none", C: "low"},
}


@pytest.mark.parametrize("cell", list(EXPECTED))
def test_each_cell_is_classed_by_the_best_rating_in_place(cell):
    services = _services()
    analysis = _analysis(services)
    got = view.evidence_classes(analysis, services, [A, B, C, "E09999999"], *cell)
    assert dict(got) == {**EXPECTED[cell], "E09999999": "no_data"}


def test_the_table_names_the_strongest_intervention_and_agrees_with_the_patchwork():
    services = _services()
    analysis = _analysis(services)
    table = evidence_coverage(analysis, services)
    row = table[(table.area_code == A) & (table.tier == "primary") & (table.cohort == "cyp")].iloc[0]
    assert (row["best_intervention"], row["best_evidence"], row["services"]) == (
        "Coaching Boys Into Men (CBIM)",
        "HIGH",
        2,
    )
    # "none" exactly where the patchwork has no service; every cell of the coverage is classed.
    assert len(table) == len(analysis.coverage)
    assert ((table["evidence_class"] == "none") == (table["services"] == 0)).all()
    assert set(table["evidence_class"]) <= set(EVIDENCE_CLASSES)


def test_only_services_the_view_counts_are_rated():
    services = _services()
    analysis = _analysis(services, service_filter=ServiceFilter(service_types=["perpetrator_programme"]))
    got = view.evidence_classes(analysis, services, [A, B, C], "primary", "cyp")
    assert dict(got) == {A: "none", B: "none", C: "none"}
    got = view.evidence_classes(analysis, services, [A, B, C], "secondary", "perpetrators")
    assert dict(got) == {A: "none", B: "moderate", C: "low"}


def test_a_split_rating_counts_at_its_lower_end():
    assert [evidence_class(r) for r in ("HIGH", "MODERATE/HIGH", "MODERATE", "LOW/MODERATE", "LOW", "")] == [
        "high",
        "moderate",
        "moderate",
        "low",
        "low",
        "low",
    ]


def test_every_class_has_words_a_fill_and_a_symbol():
    for cls in EVIDENCE_CLASSES:
        assert wording.EVIDENCE_LABELS[cls] and wording.EVIDENCE_SHORT[cls]
        assert palette.EVIDENCE_COLOURS[cls].startswith("#")
        assert palette.EVIDENCE_SYMBOLS[cls]
    assert "seed 002" in wording.EVIDENCE_RULE and "seed 002" in wording.EVIDENCE_SOURCE


# --------------------------------------------------------------------------- on the maps
def _features(m) -> dict[str, dict]:
    """The areas' GeoJSON properties (fill, tooltip) by area code, as the web map holds them."""
    import folium

    for child in m._children.values():
        if isinstance(child, folium.GeoJson):
            return {f["properties"]["area_code"]: f["properties"] for f in child.data["features"]}
    raise AssertionError("no area layer on the map")


def _legend(m) -> str:
    from gapmap.webmap import Legend

    return next(c for c in m._children.values() if isinstance(c, Legend)).html


def test_the_web_map_colours_a_cell_by_evidence_with_words_and_the_source():
    from gapmap import webmap

    services = _services()
    analysis = _analysis(services)
    m = webmap.build_map(
        make_areas(), analysis, services, CONFIG, colour_by="evidence", tier="primary", cohort="cyp"
    )
    features = _features(m)
    fills = {code: props["fill"] for code, props in features.items()}
    assert fills == {
        A: palette.EVIDENCE_COLOURS["high"],
        B: palette.EVIDENCE_COLOURS["moderate"],
        C: palette.EVIDENCE_COLOURS["none"],
    }
    assert "Coaching Boys Into Men (CBIM) (evidence HIGH)" in features[A]["tooltip"]
    assert "Safe Dates (evidence MODERATE)" in features[B]["tooltip"]
    legend = _legend(m)
    for cls in EVIDENCE_CLASSES:
        assert wording.EVIDENCE_LABELS[cls] in legend
    assert "High-evidence option in place (1)" in legend and "Nothing in place (1)" in legend
    assert "seed 002" in legend


def test_the_static_map_colours_a_cell_by_evidence():
    from gapmap import staticmap

    services = _services()
    analysis = _analysis(services)
    scheme = staticmap._map_scheme(
        analysis, CONFIG, make_areas(), "evidence", None, "tertiary", "perpetrators", services=services
    )
    assert dict(scheme.classes) == {A: "moderate", B: "none", C: "none", D: "no_data"}
    assert scheme.words["moderate"] == wording.EVIDENCE_LABELS["moderate"]
    assert any("seed 002" in line for line in scheme.lines)


# --------------------------------------------------------------------------- demand benchmarks on the map
@pytest.fixture(scope="module")
def demo_demand(demo):
    """The demo county with its demand table (latest period 2024-25) on the map."""
    from gapmap.demand import load_demand
    from gapmap.settings import PROJECT_ROOT

    dataset, analysis = demo
    table = load_demand(PROJECT_ROOT / "data" / "demand" / "demo_county_demand.csv", dataset.config)
    full = view.demand_for_map(analysis, dataset.services, dataset.population, dataset.config, table)
    return dataset, full


def test_a_demand_benchmark_colours_the_web_map_with_basis_and_period(demo_demand):
    """Saltmere: 98 Marac cases in 2024-25 against 35,326 women 16+ x 40 / 10,000 = 141.3 expected,
    69% (below the 80% band): "Below expected"."""
    from gapmap import webmap

    dataset, full = demo_demand
    choices = view.demand_choices(full)
    assert choices["marac_activity"] == "Marac cases against the expected volume (from demand, 2024-25)"
    assert "waiting_list" not in choices  # for information only: no scale to colour
    m = webmap.build_map(dataset.areas, full, dataset.services, dataset.config, benchmark_id="marac_activity")
    saltmere = _features(m)["E07999001"]
    assert saltmere["fill"] == palette.DEMAND_COLOURS["low"]
    assert "Below expected" in saltmere["tooltip"] and "observed 98, expected 141" in saltmere["tooltip"]
    assert "From demand, 2024-25" in saltmere["tooltip"]
    legend = _legend(m)
    assert "From demand, 2024-25" in legend and "40 marac cases per 10,000" in legend
    assert "SafeLives" in legend


def test_a_demand_table_coarser_than_the_areas_is_not_coloured(demo):
    """A police force area's figure while the map shows districts: said, not split or painted."""
    from gapmap import webmap
    from gapmap.demand import load_demand

    dataset, analysis = demo
    csv = b"area_code,period,marac_cases\nE23999001,2024-25,300\n"
    table = load_demand(None, dataset.config, content=csv, name="pfa_demand.csv")
    full = view.demand_for_map(analysis, dataset.services, dataset.population, dataset.config, table)
    assert view.demand_choices(full)["marac_activity"].endswith("(from demand: not scored at this level)")
    m = webmap.build_map(dataset.areas, full, dataset.services, dataset.config, benchmark_id="marac_activity")
    fills = {p["fill"] for p in _features(m).values()}
    assert fills == {palette.STATUS_COLOURS["no_data"]}
    legend = _legend(m)
    assert "Not scored per area shown" in legend and "police force area" in legend
    assert "Below expected" not in legend


def test_the_static_map_reads_an_expected_volume_row_as_demand(demo_demand):
    from gapmap import staticmap

    dataset, full = demo_demand
    scheme = staticmap._map_scheme(
        full, dataset.config, dataset.areas, "benchmark", "marac_activity", None, None
    )
    assert scheme.classes["E07999001"] == "low" and scheme.classes["E06999001"] == "high"
    assert scheme.words["low"] == "Below expected"
    assert any(line.startswith("From demand, 2024-25") for line in scheme.lines)
