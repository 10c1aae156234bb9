"""The default (standards) profile reproduces the published national refuge figures for England.

Published (../shared/sources.md):
- ONS (24 November 2023): 4,385 refuge bed spaces in England in 2023, 22.2% below the Council of
  Europe minimum of 1 family place per 10,000 population.
- Women's Aid, Annual Audit 2023: 4,344 spaces at 1 May 2022, 23.2% short.

Hand computation from ../shared/data/population/la_denominators_lad24_england.csv (296 LADs):
    Census 2021 persons   56,490,040 -> required 5,649.004; 4,385 / 5,649.004 = 0.7762 -> 22.4% short
    ONS mid-2023 persons  57,690,323 -> required 5,769.032; 4,385 / 5,769.032 = 0.7601 -> 24.0% short
    ONS mid-2020 persons  56,550,138 -> required 5,655.014; 4,344 / 5,655.014 = 0.7682 -> 23.2% short
Under the seed profile (per 10,000 *females*, 28,833,831) the same 4,385 spaces read 152%.
"""

from __future__ import annotations

import pytest
from test_engine import make_services, service

from gapmap.config import default_config
from gapmap.engine import analyse

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def england():
    from conftest import require_shared_data

    from gapmap.boundaries import load_boundaries
    from gapmap.population import load_population

    shared = require_shared_data()
    config = default_config()
    areas = load_boundaries(shared / "boundaries" / "england_lad_2024_buc.geojson")
    population = load_population(shared / "population" / "la_denominators_lad24_england.csv", config=config)
    return config, areas, population


def national_refuges(spaces: float):
    """England's refuge spaces as one national row serving every area (`serves = *`)."""
    return make_services([service("england_refuges", "refuge", serves=("*",), capacity=spaces)])


def refuge_all_row(analysis):
    gaps = analysis.gaps
    return gaps[(gaps.area_code == "ALL") & (gaps.benchmark_id == "refuge_family_spaces")].iloc[0]


def test_2023_spaces_against_census_2021_are_about_22_percent_short(england):
    config, areas, population = england
    analysis = analyse(areas, population, national_refuges(4385), config, population_vintage="census2021")
    row = refuge_all_row(analysis)
    assert analysis.profile.id == "standards"  # the default
    assert row.denominator == 56_490_040
    assert row.required == pytest.approx(5649.004)
    shortfall_share = 1 - 4385 / 5649.004
    assert 1 - row.ratio == pytest.approx(shortfall_share)
    assert round(100 * (1 - row.ratio), 1) == 22.4  # ONS published 22.2% below the CoE minimum
    assert row.status == "amber"
    assert row.denominator_source == "all persons, Census 2021 (column census21_persons)"


def test_2023_spaces_against_the_default_vintage_mid_2023(england):
    config, areas, population = england
    analysis = analyse(areas, population, national_refuges(4385), config)
    row = refuge_all_row(analysis)
    # The rule: the most recent official estimate present is mid-2023 (about 2% more people).
    assert row.denominator == 57_690_323
    assert round(100 * (1 - row.ratio), 1) == 24.0
    assert row.denominator_source == "all persons, ONS mid-2023 population estimate (column mye2023_persons)"
    entry = analysis.summary["benchmarks"]["refuge_family_spaces"]
    assert entry["denominator_column"] == "mye2023_persons"
    assert entry["denominator_vintage"] == "ONS mid-2023 population estimate"


def test_may_2022_spaces_against_mid_2020_are_23_2_percent_short(england):
    config, areas, population = england
    analysis = analyse(areas, population, national_refuges(4344), config, population_vintage="mye2020")
    row = refuge_all_row(analysis)
    assert row.denominator == 56_550_138
    assert round(100 * (1 - row.ratio), 1) == 23.2  # Women's Aid Annual Audit 2023: 23.2% short
    # females have no mid-2020 column: that benchmark says it fell back, and which column it used
    assert any(
        "No ONS mid-2020 population estimate column for females" in n for n in analysis.summary["notes"]
    )
    rcc = analysis.summary["benchmarks"]["rape_crisis_centre"]
    assert rcc["denominator_source"] == "females, Census 2021 (column census21_females)"


def test_the_seed_profile_halves_the_requirement(england):
    config, areas, population = england
    analysis = analyse(areas, population, national_refuges(4385), config, profile="seed_2013_2023")
    row = refuge_all_row(analysis)
    assert row.denominator == 28_833_831  # females, Census 2021
    assert round(100 * row.ratio) == 152  # the misleading "green" the issue found
    assert "halves the requirement" in analysis.summary["profile"]["caveat"]


def _cli_inputs(tmp_path, shared_data) -> list[str]:
    services = tmp_path / "england_refuges.csv"
    services.write_text(
        "service_id,name,service_type,serves,capacity,capacity_unit\n"
        "ENG,England's refuges (2023),refuge,*,4385,family_spaces\n",
        encoding="utf-8",
    )
    return [
        "--services",
        str(services),
        "--boundaries",
        str(shared_data / "boundaries" / "england_lad_2024_buc.geojson"),
        "--population",
        str(shared_data / "population" / "la_denominators_lad24_england.csv"),
        "--no-maps",
        "--no-pack",
        "--no-xlsx",
    ]


def test_cli_population_vintage_flag_reaches_gaps_csv_and_summary(tmp_path, shared_data, capsys):
    import json

    import pandas as pd

    from gapmap.cli import main

    out = tmp_path / "out"
    args = [
        "report",
        "--out",
        str(out),
        *_cli_inputs(tmp_path, shared_data),
        "--population-vintage",
        "census2021",
    ]
    assert main(args) == 0
    gaps = pd.read_csv(out / "gaps.csv", dtype={"area_code": str})
    row = gaps[(gaps.area_code == "ALL") & (gaps.benchmark_id == "refuge_family_spaces")].iloc[0]
    assert row.denominator == 56_490_040
    assert row.denominator_source == "all persons, Census 2021 (column census21_persons)"
    assert row.figure_label == "Partly met: 4,385 of 5,649 (78%)"  # 22.4% short
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["population_vintage"] == "census2021"
    assert summary["denominators"]["all_persons"]["column"] == "census21_persons"
    assert "Refuge family places: Partly met: 4,385 of 5,649 (78%)" in capsys.readouterr().out


def test_cli_unknown_vintage_is_a_readable_error(tmp_path, shared_data, capsys):
    from gapmap.cli import main

    out = tmp_path / "out"
    args = [
        "report",
        "--out",
        str(out),
        *_cli_inputs(tmp_path, shared_data),
        "--denominator-source",
        "census2011",
    ]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "population vintage `census2011` is not known" in text and "census2021 (Census 2021)" in text
    assert not out.exists()
