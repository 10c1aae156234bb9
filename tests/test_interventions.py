"""The interventions catalogue (seed 002), matching, options for patchwork gaps, and costs."""

from __future__ import annotations

import pandas as pd
import pytest

from gapmap.config import ConfigError, default_config
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.interventions import (
    RATINGS,
    default_catalogue,
    gap_costs,
    load_catalogue,
    load_unit_costs,
    match_intervention,
    match_services,
    options_for,
    patchwork_options,
)

CONFIG = default_config()
CAT = default_catalogue()

#: Every intervention seed 002 rates (the spotlight "Change That Lasts" is described, not rated).
REVIEWED = {
    "coaching_boys_into_men", "real_consent", "safe_dates", "relationships_without_fear", "tender",
    "mentors_in_violence_prevention", "escape_the_control", "safe_to_say", "active_bystander_communities",
    "good_night_out", "stop_sv", "routine_enquiry", "iris", "helpline", "cbt_victims", "dart", "dapp",
    "make_a_change", "clear", "cara", "cbt_perpetrators", "restorative_justice", "marac", "drive",
    "second_responder",
}  # fmt: skip


def test_every_entry_has_tiers_cohorts_both_ratings_and_a_source():
    assert set(CAT.interventions) == REVIEWED
    for item in CAT:
        assert item.tiers and set(item.tiers) <= set(CONFIG.tiers), item.id
        assert item.cohorts and set(item.cohorts) <= set(CONFIG.cohorts), item.id
        assert item.abuse_types, item.id
        assert item.evidence in RATINGS and item.impact in RATINGS, item.id
        assert item.citation.startswith("Seed 002, '"), item.id
        assert item.summary, item.id


def test_the_reviews_ratings_and_unit_costs():
    assert (
        CAT.interventions["coaching_boys_into_men"].evidence,
        CAT.interventions["coaching_boys_into_men"].impact,
    ) == ("HIGH", "HIGH")
    assert (CAT.interventions["second_responder"].evidence, CAT.interventions["second_responder"].impact) == (
        "LOW",
        "LOW",
    )
    iris = CAT.interventions["iris"].costs[0]
    assert (iris.amount, iris.per, iris.year) == (136, "woman registered at the practice, a year", 2012)
    assert CAT.interventions["make_a_change"].costs[0].amount == 2970
    assert CAT.interventions["drive"].costs[0].amount == 2400
    assert CAT.interventions["stop_sv"].impact_note  # the review's "MEDIUM" is explained


def test_matching_by_name_alias_and_did_you_mean():
    assert match_intervention("Make a Change", CAT) == ("make_a_change", "")
    assert match_intervention("  IRIS ", CAT) == ("iris", "")
    assert match_intervention("Coaching Boys Into Men", CAT)[0] == "coaching_boys_into_men"
    assert match_intervention("", CAT) == (None, "")
    iid, hint = match_intervention("Make a Chnage", CAT)
    assert iid is None and "did you mean `Make a Change (MAC)`" in hint


def test_unknown_intervention_on_a_service_warns_with_row_and_column():
    services = pd.DataFrame({"intervention": ["Drive", "Safe Datse", ""], "source_row": [2, 3, 4]})
    report = ValidationReport()
    ids = match_services(services, CAT, file="list.csv", report=report)
    assert list(ids) == ["drive", None, None]
    assert len(report.warnings) == 1 and not report.errors
    w = report.warnings[0]
    assert (w.row, w.column) == (3, "intervention") and "did you mean `Safe Dates`" in w.message


def test_options_strongest_evidence_first():
    opts = options_for("secondary", "perpetrators", CAT)
    ids = [o.id for o in opts]
    # DAPPs (HIGH, HIGH) and CBT for perpetrators (HIGH, LOW/MODERATE) before the MODERATE ones.
    assert ids[:2] == ["dapp", "cbt_perpetrators"]
    assert set(ids) == {"dapp", "cbt_perpetrators", "cara", "clear", "make_a_change", "restorative_justice"}
    assert ids.index("cara") < ids.index("make_a_change")  # MODERATE/HIGH before MODERATE/MODERATE


class _Analysis:
    def __init__(self, coverage, gaps=None):
        self.coverage = coverage
        self.gaps = (
            gaps
            if gaps is not None
            else pd.DataFrame(
                columns=["area_code", "area_name", "benchmark_id", "benchmark_label", "shortfall"]
            )
        )
        from gapmap.config import default_config

        self.profile = default_config().default_profile


def _coverage():
    return pd.DataFrame(
        {
            "area_code": ["A", "A", "B"],
            "area_name": ["Alpha", "Alpha", "Beta"],
            "tier": ["tertiary", "secondary", "tertiary"],
            "cohort": ["perpetrators", "perpetrators", "perpetrators"],
            "services": [0, 1, 1],
            "patchwork_gap": [True, False, False],
        }
    )


def test_patchwork_gap_lists_the_options_that_fill_it():
    opts = patchwork_options(_Analysis(_coverage()), CAT)
    assert set(opts["area_code"]) == {"A"}
    assert list(opts["intervention_id"]) == ["drive"]  # the only tertiary perpetrator option
    assert opts.iloc[0]["unit_cost"] == 2400


def test_costs_show_every_assumption_and_take_user_overrides(tmp_path):
    analysis = _Analysis(
        _coverage(),
        pd.DataFrame(
            {
                "area_code": ["A", "ALL"],
                "area_name": ["Alpha", "All"],
                "benchmark_id": ["idva_fte", "idva_fte"],
                "benchmark_label": ["Idva posts (FTE)", "Idva posts (FTE)"],
                "shortfall": [1.5, 1.5],
            }
        ),
    )
    costs = gap_costs(analysis, CAT)
    drive = costs[costs["option"] == "Drive"].iloc[0]
    assert (drive["unit_cost"], drive["per"], drive["cost_year"], drive["quantity"]) == (
        2400,
        "perpetrator",
        2023,
        1.0,
    )
    assert drive["cost"] == 2400 and "catalogue" in drive["cost_source"]
    idva = costs[costs["gap"].str.startswith("Idva")].iloc[0]
    assert pd.isna(idva["cost"]) and "no unit cost" in idva["cost_source"]

    path = tmp_path / "costs.csv"
    path.write_text(
        "intervention,service_type,amount,per,year,source,quantity\n"
        "Drive,,2600,perpetrator,2025,Local tender 2025,12\n"
        ',idva,"45,000",FTE a year,2025,Local pay scale,\n',
        encoding="utf-8",
    )
    overrides = load_unit_costs(path, CAT, CONFIG)
    costs = gap_costs(analysis, CAT, overrides=overrides)
    drive = costs[costs["option"] == "Drive"].iloc[0]
    assert (drive["unit_cost"], drive["quantity"], drive["cost"]) == (2600, 12, 31_200)
    assert drive["cost_source"] == "Local tender 2025 (costs.csv)"
    idva = costs[costs["gap"].str.startswith("Idva")].iloc[0]
    assert idva["cost"] == pytest.approx(1.5 * 45_000)


def test_bad_unit_costs_name_the_row(tmp_path):
    path = tmp_path / "costs.csv"
    path.write_text("intervention,amount,per,year,source\nDrvie,lots,perpetrator,2025,x\n", encoding="utf-8")
    with pytest.raises(GapmapInputError) as info:
        load_unit_costs(path, CAT, CONFIG)
    text = str(info.value)
    assert "row 2" in text and "not a number" in text and "did you mean `Drive`" in text


def test_a_user_catalogue_replaces_by_id_and_is_checked(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[interventions.drive]\nlabel = "Drive (local)"\ntiers = ["tertiary"]\ncohorts = ["perpetrators"]\n'
        'abuse_types = ["da"]\nevidence = "MODERATE"\nimpact = "HIGH"\ncitation = "Local evaluation 2025"\n',
        encoding="utf-8",
    )
    cat = load_catalogue(path, CONFIG)
    assert cat.interventions["drive"].label == "Drive (local)" and len(cat) == len(CAT)
    path.write_text(
        '[interventions.x]\nlabel = "X"\ntiers = ["quaternary"]\ncohorts = []\nevidence = "GOOD"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_catalogue(path, CONFIG)
    text = str(info.value)
    assert "`evidence` is 'GOOD'" in text and "`cohorts` is empty" in text and "quaternary" in text


def test_costs_take_quantities_from_each_areas_population(tmp_path):
    """An option costed per resident: each area's own population, read once per column."""
    path = tmp_path / "costs.toml"
    path.write_text(
        '[costs.drive]\nintervention = "drive"\namount = 2\nper = "resident"\nyear = 2025\n'
        'source = "Local estimate"\nquantity_from = "all_persons"\nquantity_share = 0.5\n',
        encoding="utf-8",
    )
    overrides = load_unit_costs(path, CAT, CONFIG)
    coverage = pd.DataFrame(
        {
            "area_code": ["A", "B", "C"],
            "area_name": ["Alpha", "Beta", "Gamma"],
            "tier": ["tertiary"] * 3,
            "cohort": ["perpetrators"] * 3,
            "services": [0, 0, 1],
            "patchwork_gap": [True, True, False],
        }
    )
    population = pd.DataFrame({"area_code": ["A", "B", "C"], "all_persons": [1000.0, float("nan"), 300.0]})
    costs = gap_costs(_Analysis(coverage), CAT, population=population, overrides=overrides)
    rows = costs.set_index("area_code")
    # Alpha: 1,000 residents x 0.5 = 500, at £2 each.
    assert (rows.loc["A", "quantity"], rows.loc["A", "cost"]) == (500.0, 1000.0)
    assert rows.loc["A", "quantity_basis"] == "all persons of the area x 0.5"
    # Beta has no population figure: one unit, said so.
    assert (rows.loc["B", "quantity"], rows.loc["B", "cost"]) == (1.0, 2.0)
    assert rows.loc["B", "quantity_basis"] == "one resident (multiply by the number you plan)"
    assert list(costs["cost_source"]) == ["Local estimate (costs.toml)"] * 2
    # The options the caller already has give the same rows.
    same = gap_costs(
        _Analysis(coverage),
        CAT,
        population=population,
        overrides=overrides,
        options=patchwork_options(_Analysis(coverage), CAT),
    )
    pd.testing.assert_frame_equal(same, costs)


def test_costs_of_one_area_from_options_made_for_every_area():
    """`options=` made for all areas (as `build_commissioning` keeps them) with `area_code`:
    only that area's options are costed, as when gap_costs makes them itself."""
    coverage = _coverage().assign(patchwork_gap=[True, False, True])  # a gap in Alpha and in Beta
    analysis = _Analysis(coverage)
    every = patchwork_options(analysis, CAT)
    assert set(every["area_code"]) == {"A", "B"}
    own = gap_costs(analysis, CAT, area_code="B")
    given = gap_costs(analysis, CAT, area_code="B", options=every)
    assert len(own) and set(own["area_code"]) == {"B"}
    pd.testing.assert_frame_equal(given, own)
