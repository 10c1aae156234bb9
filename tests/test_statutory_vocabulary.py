"""The statutory vocabulary: capacity units that say what they count (never converted),
`by_and_for` apart from `specialist_groups`, the new groups, and optional eligibility columns."""

from __future__ import annotations

import io

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import box
from test_engine import A, B, make_areas, make_population, make_services, service
from test_services import messages, run

from gapmap import workbook
from gapmap.config import default_config
from gapmap.engine import analyse


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    """Alpha Vale (west of -1) and Beta Town (east of -1), as in tests/test_services.py."""
    return gpd.GeoDataFrame(
        {"area_code": ["E07000001", "E07000002"], "area_name": ["Alpha Vale", "Beta Town"]},
        geometry=[box(-2, 52, -1, 53), box(-1, 52, 0, 53)],
        crs=4326,
    )


HEADER = (
    "name,service_type,serves,capacity,capacity_unit,specialist_groups,by_and_for,"
    "wheelchair_accessible,accepts_nrpf,accepts_older_sons,accepts_pets"
)


def test_vocabulary_has_the_units_and_groups():
    config = default_config()
    units = config.capacity_units
    assert "household/family unit" in units["household_units"]
    assert "individual bedspaces" in units["bedspaces"]
    assert "commissioned units" in units["commissioned_units"]
    assert {"mental_health", "complex_needs"} <= set(config.specialist_groups)


def test_by_and_for_and_eligibility_are_their_own_columns(tmp_path, areas):
    text = (
        HEADER + "\n"
        "Sisters Refuge,refuge,Alpha Vale,6,family_spaces,older,bme,yes,yes,no,\n"
        "Plain Refuge,refuge,Beta Town,4,family_spaces,mental_health; complex_needs,,,,,\n"
    )
    services, report = run(tmp_path, text, areas=areas)
    assert report.ok, report.to_text()
    sisters, plain = services.iloc[0], services.iloc[1]
    assert sisters.by_and_for == ("bme",) and sisters.specialist_groups == ("older",)
    assert plain.specialist_groups == ("mental_health", "complex_needs") and plain.by_and_for == ()
    assert (sisters.wheelchair_accessible, sisters.accepts_nrpf, sisters.accepts_older_sons) == (
        True,
        True,
        False,
    )
    assert sisters.accepts_pets is None  # blank: the list does not say
    assert plain.wheelchair_accessible is None


def test_a_bad_eligibility_value_names_row_and_column(tmp_path, areas):
    text = HEADER + "\nSisters Outreach,outreach,Alpha Vale,2,fte,,,maybe,,,\n"
    services, report = run(tmp_path, text, areas=areas)
    assert services is None
    [(row, column, message)] = messages(report)
    assert (row, column) == (2, "wheelchair_accessible")
    assert "`wheelchair_accessible` is `maybe`; write true or false" in message


def test_a_bad_eligibility_value_on_a_refuge_is_not_quoted(tmp_path, areas):
    """A refuge is confidential: the message keeps its row and column, never its values."""
    text = HEADER + "\nSisters Refuge,refuge,Alpha Vale,6,family_spaces,,,maybe,,,\n"
    services, report = run(tmp_path, text, areas=areas)
    assert services is None
    [(row, column, message)] = messages(report)
    assert (row, column) == (2, "wheelchair_accessible")
    assert "maybe" not in message and "value not shown" in message


def test_unknown_by_and_for_group_is_an_error(tmp_path, areas):
    text = HEADER + "\nSisters Outreach,outreach,Alpha Vale,2,fte,,martians,,,,\n"
    services, report = run(tmp_path, text, areas=areas)
    assert services is None
    [(row, column, message)] = messages(report)
    assert (row, column) == (2, "by_and_for") and "martians" in message


def test_capacity_in_another_unit_is_not_counted_and_named():
    # A refuge counted in bedspaces is not converted to family places: it adds nothing to the
    # refuge benchmark and a note names its unit.
    services = make_services(
        [
            service("R1", "refuge", serves=(A,), capacity=6.0, capacity_unit="family_spaces"),
            service("R2", "refuge", serves=(B,), capacity=10.0, capacity_unit="bedspaces"),
        ]
    )
    analysis = analyse(make_areas(), make_population(), services, default_config())
    gaps = analysis.gaps.set_index(["area_code", "benchmark_id"])
    assert gaps.loc[("ALL", "refuge_family_spaces"), "provided"] == 6.0
    assert gaps.loc[(B, "refuge_family_spaces"), "unmeasured_services"] == 1
    entry = analysis.summary["benchmarks"]["refuge_family_spaces"]
    assert entry["not_counted_units"] == {"bedspaces": 1}
    [note] = [n for n in analysis.summary["notes"] if n.startswith("Refuge family places")]
    assert "1 in bedspaces (bedspaces)" in note and "never converted" in note


def test_new_columns_reach_the_services_sheet(tmp_path, areas):
    text = HEADER + "\nSisters Refuge,refuge,Alpha Vale,6,family_spaces,older,bme,yes,yes,no,\n"
    services, report = run(tmp_path, text, areas=areas)
    assert report.ok
    table = workbook.service_table(services, default_config())
    row = table.iloc[0]
    assert row["by_and_for"] == "bme" and bool(row["accepts_nrpf"]) is True
    assert bool(row["accepts_older_sons"]) is False


def test_services_sheet_in_the_workbook_has_the_columns(demo):
    dataset, analysis = demo
    wb = openpyxl.load_workbook(io.BytesIO(workbook.gaps_xlsx_bytes(dataset, analysis)))
    header = [c.value for c in wb["Services"][1]]
    for column in (
        "by_and_for",
        "wheelchair_accessible",
        "accepts_nrpf",
        "accepts_older_sons",
        "accepts_pets",
    ):
        assert column in header
