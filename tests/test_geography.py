"""England built in (gapmap/data/england) and gapmap.geography: levels, names, roll-ups.

These read the committed package data only (no ../shared/data), so they run everywhere. The
figures are the ones SOURCES.md gives for England and the ONS lookups' own counts.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gapmap import geography
from gapmap.errors import GapmapInputError
from gapmap.geography import districts_of, load_england, resolve_areas, roll_up
from gapmap.partnerships import load_partnerships

LLR = (
    "E06000016",  # Leicester
    "E06000017",  # Rutland
    "E07000129",
    "E07000130",
    "E07000131",
    "E07000132",
    "E07000133",
    "E07000134",
    "E07000135",  # the seven Leicestershire districts
)
LEICESTERSHIRE_COUNTY = LLR[2:]
PAN_LANCASHIRE = {*(f"E07000{n}" for n in range(117, 129)), "E06000008", "E06000009"}


@pytest.fixture(scope="module")
def england():
    return load_england()


def test_levels_have_the_ons_counts(england):
    assert len(england.districts) == 296
    # 153 upper-tier LAs less the 33 London ones, plus the Greater London Authority.
    assert [len(england.layer(level)) for level in ("tier1", "pfa", "region")] == [121, 39, 9]
    assert england.districts.crs.to_epsg() == 4326
    assert england.districts["area_code"].is_unique


def test_every_district_has_one_parent_per_level(england):
    lk = england.lookup
    assert lk["district_code"].is_unique and len(lk) == 296
    for level in ("tier1", "pfa", "region"):
        assert (lk[f"{level}_code"] != "").all()
        assert set(lk[f"{level}_code"]) == set(england.layer(level)["area_code"])


def test_upper_layers_are_the_union_of_their_districts(england):
    """Dissolved from the districts: each region's area is the sum of its districts' areas."""
    districts = england.districts.to_crs(27700)
    districts["region"] = districts["area_code"].map(england.lookup.set_index("district_code")["region_code"])
    by_region = districts.groupby("region").geometry.apply(lambda g: g.area.sum())
    regions = england.layer("region").to_crs(27700).set_index("area_code").area
    for code, area in regions.items():
        assert math.isclose(area, by_region[code], rel_tol=1e-6), code


def test_population_totals_match_sources_md(england):
    table = england.population_table
    assert table["census21_persons"].sum() == 56_490_040
    assert table["mye2023_persons"].sum() == 57_690_323
    assert table["census21_females"].sum() == 28_833_831


def test_population_labels_every_denominator_with_its_vintage(england):
    from gapmap.config import default_config
    from gapmap.population import resolve_denominators

    pop = england.population(default_config())
    # Each denominator names the shipped column it came from; the vocabulary knows its vintage.
    sources = pop.attrs["column_sources"]
    assert (sources["all_persons"], sources["females_16_plus"], sources["persons_0_17"]) == (
        "census21_persons",
        "census21_females_16plus_est",
        "mye2020_persons_0_17",
    )
    provenance, _ = resolve_denominators(pop, default_config())
    # The documented rule: the most recent official estimate present, so mid-2023 for persons.
    assert (provenance["all_persons"]["column"], provenance["all_persons"]["vintage"]) == (
        "mye2023_persons",
        "mye2023",
    )
    assert provenance["females"]["vintage_label"] == "Census 2021"
    assert provenance["females_16_plus"]["official"] is False
    assert provenance["persons_0_17"]["vintage_label"].startswith("ONS mid-2020 population estimate")
    census, _ = resolve_denominators(pop, default_config(), "census2021")
    assert census["all_persons"]["column"] == "census21_persons"
    # Hartlepool, straight from population.csv: 93,836 persons mid-2020 of whom 73,728 aged 18+.
    hartlepool = pop.set_index("area_code").loc["E06000001"]
    assert hartlepool["persons_0_17"] == 93_836 - 73_728
    assert hartlepool["mye2023_persons"] == 95_366


def test_districts_of_each_level(england):
    assert districts_of("tier1", "E10000018", england) == LEICESTERSHIRE_COUNTY
    assert districts_of("pfa", "E23000021", england) == tuple(sorted(LLR))
    assert set(districts_of("pfa", "E23000003", england)) == PAN_LANCASHIRE
    assert len(districts_of("tier1", "E61000001", england)) == 33  # the GLA: London's boroughs
    assert districts_of("district", "e06000017", england) == ("E06000017",)
    with pytest.raises(GapmapInputError, match="not a police force area code"):
        districts_of("pfa", "E10000018", england)
    with pytest.raises(GapmapInputError, match="level `county` is not known"):
        districts_of("county", "E10000018", england)


def test_partnerships_and_their_statutory_areas_resolve_alike():
    assert set(resolve_areas("llr")) == set(resolve_areas("E23000021")) == set(LLR)
    assert set(resolve_areas("pan_lancashire")) == set(resolve_areas("E23000003")) == PAN_LANCASHIRE
    assert resolve_areas("Pan-Lancashire") == resolve_areas("pan_lancashire")  # the label works too


def test_names_lists_and_names_with_commas():
    assert resolve_areas("Preston, Blackpool") == ("E07000123", "E06000009")
    assert resolve_areas("Bristol, City of; rutland") == ("E06000023", "E06000017")
    assert resolve_areas(["E10000018", "Rutland", "Leicester"]) == (
        *LEICESTERSHIRE_COUNTY,
        "E06000017",
        "E06000016",
    )
    assert len(resolve_areas("London")) == 33  # the region (and the GLA: the same districts)
    assert resolve_areas("  ") is None and resolve_areas(None) is None


def test_ambiguous_name_lists_its_candidates():
    with pytest.raises(GapmapInputError) as exc:
        resolve_areas("Lancashire")
    (problem,) = exc.value.problems
    assert problem.file == "--areas"
    assert "tier-one authority E10000017, 12 districts" in problem.message
    assert "police force area E23000003, 14 districts" in problem.message
    assert "Use the code" in problem.message


def test_unknown_names_are_all_reported_with_suggestions():
    with pytest.raises(GapmapInputError) as exc:
        resolve_areas("Prestn, Blackpool, Nowhere Town")
    messages = [p.message for p in exc.value.problems]
    assert len(messages) == 2
    assert "`Prestn`" in messages[0] and "did you mean `Preston`" in messages[0]
    assert "`Nowhere Town`" in messages[1]


def test_a_geography_without_levels_resolves_its_own_areas():
    areas = pd.DataFrame({"area_code": ["E06999001", "E07999001"], "area_name": ["Fenmarsh City", "Marshby"]})
    lookup = geography.lookup_for(areas, "demo")
    assert resolve_areas("fenmarsh", lookup) == ("E06999001", "E07999001")  # its partnership, present part
    assert resolve_areas("marshby", lookup) == ("E07999001",)
    with pytest.raises(GapmapInputError, match="`Preston` is not"):
        resolve_areas("Preston", lookup)


def test_own_lad24_boundaries_keep_the_levels():
    areas = pd.DataFrame(
        {"area_code": ["E06000017", "E06000016"], "area_name": ["Rutland (own)", "Leicester"]}
    )
    lookup = geography.lookup_for(areas, "custom")
    assert set(lookup["pfa_code"]) == {"E23000021"}
    assert resolve_areas("Rutland (own)", lookup) == ("E06000017",)


def test_roll_up_sums_districts_exactly_and_keeps_gaps_visible():
    frame = pd.DataFrame(
        {
            "area_code": ["E06000016", "E06000017", "E07000129", "E07000117"],
            "n": [1.0, 2.0, 4.0, 8.0],
            "partial": [1.0, None, 1.0, 1.0],
        }
    )
    out = roll_up(frame, "pfa").set_index("area_code")
    assert out.loc["E23000021", "n"] == 7.0 and out.loc["E23000003", "n"] == 8.0
    assert out.loc["E23000021", "area_name"] == "Leicestershire"
    assert math.isnan(out.loc["E23000021", "partial"])  # one district unknown: no partial total
    assert out.loc["E23000003", "partial"] == 1.0
    with pytest.raises(GapmapInputError, match="not districts of the built-in England geography"):
        roll_up(pd.DataFrame({"area_code": ["E99999999"], "n": [1.0]}), "region")


def test_every_statutory_area_is_a_ready_made_selection(england):
    """No partnerships.toml entry needed: every tier-one authority, PFA and region resolves by code."""
    none = {}
    for level in ("tier1", "pfa", "region"):
        for code in england.layer(level)["area_code"]:
            assert resolve_areas(code, england.lookup, none) == districts_of(level, code, england)


def test_serves_groups_mark_shared_names_as_ambiguous(england):
    groups = england.groups()
    assert groups["e10000018"] == LEICESTERSHIRE_COUNTY
    assert groups["rutland"] == ("E06000017",)
    assert groups["lancashire"] == ()  # the county and the police force area differ


def test_partnerships_file_is_untouched_by_the_built_in_levels():
    assert "llr" in load_partnerships() and "E23000021" not in load_partnerships()
