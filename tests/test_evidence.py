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
