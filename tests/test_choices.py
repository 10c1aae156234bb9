"""gapmap.choices: what the app offers on each geography (pure; no page)."""

from __future__ import annotations

import pandas as pd

from gapmap.choices import ALL, PICK, area_choices, geography_line, levels_of
from gapmap.geography import load_england, lookup_for
from gapmap.partnerships import load_partnerships


def test_england_offers_partnerships_and_every_statutory_area():
    choices = {c.key: c for c in area_choices(load_england().lookup, load_partnerships())}
    assert choices["pfa:E23000003"].label == "Police force area: Lancashire (14 districts)"
    assert choices["tier1:E10000017"].label == "Tier-one authority: Lancashire (12 districts)"
    assert (
        choices["region:E12000002"].label == "Region: North West (35 districts)"
    )  # Cumbria: 2 unitaries since 2023
    assert set(choices["pan_lancashire"].districts) == set(choices["pfa:E23000003"].districts)
    assert "fenmarsh" not in choices  # the demo county is no part of England
    # 2 partnerships + 39 PFAs + 121 tier-one authorities + 9 regions + all + pick
    assert len(choices) == 2 + 39 + 121 + 9 + 2
    keys = list(choices)
    assert (keys[0], keys[-1]) == (ALL, PICK)


def test_demo_offers_its_partnership_and_no_levels():
    areas = pd.DataFrame({"area_code": ["E06999001", "E07999001"], "area_name": ["Fenmarsh City", "Marshby"]})
    lookup = lookup_for(areas, "demo")
    keys = [c.key for c in area_choices(lookup, load_partnerships())]
    assert keys == [ALL, "fenmarsh", PICK]
    assert levels_of(lookup) == ("district",)
    assert levels_of(load_england().lookup) == ("district", "tier1", "pfa", "region")


def test_the_page_line_names_geography_dataset_and_level():
    assert geography_line("england_lad24", "Uploaded, not saved: lancs.csv", "pfa") == (
        "Geography: England built in (2024 districts) · Dataset: Uploaded, not saved: lancs.csv · "
        "Scored per police force area (sums of its districts)"
    )
    assert geography_line("demo", "Demo (fictional)") == (
        "Geography: Demo county (fictional) · Dataset: Demo (fictional)"
    )
    assert geography_line("custom:0123456789ab", "x.csv").startswith("Geography: Your own boundary file")
