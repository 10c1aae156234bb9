"""Demand tables and demand-based benchmarks, with hand-computed figures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gapmap.config import default_config
from gapmap.demand import (
    activity_rows,
    area_level,
    check_levels,
    demand_benchmarks,
    demand_rows,
    load_demand,
    service_activity,
)
from gapmap.engine import analyse
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.services import validate_service_table

CONFIG = default_config()


def _areas(codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_code": codes, "area_name": [f"Area {c[-1]}" for c in codes]},
        geometry=[box(i, 50, i + 1, 51) for i in range(len(codes))],
        crs=4326,
    )


def _services(rows: list[dict]) -> gpd.GeoDataFrame:
    table = pd.DataFrame(rows).astype(str)
    table["__row__"] = range(2, len(rows) + 2)
    report = ValidationReport()
    out = validate_service_table(table, file="s.csv", config=CONFIG, report=report)
    assert out is not None, report.to_text()
    return out


def _csv(tmp_path, text: str, name: str = "demand.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _district_case(tmp_path):
    areas = _areas(["E07000001", "E07000002"])
    population = pd.DataFrame(
        {
            "area_code": ["E07000001", "E07000002"],
            "all_persons": [120_000.0, 70_000.0],
            "females": [61_000.0, 36_000.0],
            "females_16_plus": [50_000.0, 30_000.0],
        }
    )
    services = _services(
        [
            {
                "name": "Idva A",
                "service_type": "idva",
                "serves": "E07000001",
                "capacity": "3",
                "capacity_unit": "fte",
            }
        ]
    )
    analysis = analyse(areas, population, services, CONFIG)
    demand = load_demand(
        _csv(tmp_path, "area_code,period,marac_cases\nE07000001,2024-25,230\nE07000002,2024-25,90\n"), CONFIG
    )
    return analysis, demand, services, population


def _row(rows: pd.DataFrame, bench: str, code: str) -> pd.Series:
    hit = rows[(rows["benchmark_id"] == bench) & (rows["area_code"] == code)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_area_level_from_the_code_prefix():
    assert area_level("E07000129") == "district"
    assert area_level("E06000016") == "district"
    assert area_level("E10000018") == "tier1"
    assert area_level("E23000021") == "pfa"
    assert area_level("E12000004") == "region"
    assert area_level("X99") is None


def test_idva_fte_required_from_marac_cases_per_district(tmp_path):
    analysis, demand, services, population = _district_case(tmp_path)
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG)
    a = _row(rows, "idva_fte_from_marac", "E07000001")
    # 230 cases / 100 per FTE = 2.3 FTE required; 3 FTE provided; ratio 3 / 2.3.
    assert a["required"] == pytest.approx(2.3)
    assert a["provided"] == pytest.approx(3.0)
    assert a["ratio"] == pytest.approx(3 / 2.3)
    assert a["shortfall"] == 0
    assert a["status"] == "green"
    assert a["basis"] == "demand"
    assert a["period"] == "2024-25"
    b = _row(rows, "idva_fte_from_marac", "E07000002")
    assert b["required"] == pytest.approx(0.9)
    assert b["provided"] == 0
    assert b["shortfall"] == pytest.approx(0.9)
    assert b["status"] == "red"
    assert "0.9 FTE short" in b["reading"]
    total = _row(rows, "idva_fte_from_marac", "ALL")
    assert total["required"] == pytest.approx(3.2)
    assert total["shortfall"] == pytest.approx(0.2)
    # Marac administrator: 1 FTE per 400 cases -> 320 / 400 = 0.8 for the selection.
    assert _row(rows, "marac_admin_fte", "ALL")["required"] == pytest.approx(0.8)
    assert _row(rows, "marac_admin_fte", "E07000001")["required"] == pytest.approx(0.575)


def test_the_demand_provision_is_the_population_benchmarks_provision(tmp_path):
    analysis, demand, services, population = _district_case(tmp_path)
    rows, notes = demand_rows(analysis, demand, services, population, CONFIG)
    pop_rows = analysis.gaps[analysis.gaps["benchmark_id"] == "idva_fte"].set_index("area_code")
    dem_rows = rows[rows["benchmark_id"] == "idva_fte_from_marac"].set_index("area_code")
    assert (pop_rows["provided"] == dem_rows["provided"]).all()
    assert any("shared as benchmark `idva_fte`" in n for n in notes)


def test_marac_activity_against_40_per_10000_women(tmp_path):
    analysis, demand, services, population = _district_case(tmp_path)
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG)
    a = _row(rows, "marac_activity", "E07000001")
    # 50,000 women 16+ x 40 / 10,000 = 200 expected; 230 observed: 115%, within 80-120%.
    assert a["required"] == pytest.approx(200)
    assert a["provided"] == 230
    assert a["ratio"] == pytest.approx(1.15)
    assert a["status"] == "expected"
    assert a["reading"].startswith("as expected: 115%")
    b = _row(rows, "marac_activity", "E07000002")
    # 30,000 x 40 / 10,000 = 120 expected; 90 observed: 75%, under-identification.
    assert b["required"] == pytest.approx(120)
    assert b["ratio"] == pytest.approx(0.75)
    assert b["status"] == "low"
    assert b["reading"].startswith("under-identification: 75%")


def _pfa_case(tmp_path):
    areas = _areas(["E23000001", "E23000002"])
    population = pd.DataFrame(
        {"area_code": ["E23000001", "E23000002"], "females_16_plus": [500_000.0, 200_000.0]}
    )
    services = _services(
        [
            {"name": "Idva 1", "service_type": "idva", "serves": "E23000001", "capacity": "20"},
            {"name": "Idva 2", "service_type": "idva", "serves": "E23000002", "capacity": "12"},
        ]
    )
    analysis = analyse(areas, population, services, CONFIG)
    demand = load_demand(
        _csv(tmp_path, "area_code,period,marac_cases\nE23000001,2024-25,2350\nE23000002,2024-25,1000\n"),
        CONFIG,
    )
    return analysis, demand, services, population


def test_idva_fte_required_and_activity_per_police_force_area(tmp_path):
    analysis, demand, services, population = _pfa_case(tmp_path)
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG)
    one = _row(rows, "idva_fte_from_marac", "E23000001")
    assert one["required"] == pytest.approx(23.5)
    assert one["shortfall"] == pytest.approx(3.5)
    two = _row(rows, "idva_fte_from_marac", "E23000002")
    assert two["required"] == pytest.approx(10.0)
    assert two["shortfall"] == 0
    # 200,000 x 40 / 10,000 = 800 expected; 1,000 observed is 125%: pressure.
    act = _row(rows, "marac_activity", "E23000002")
    assert act["required"] == pytest.approx(800)
    assert act["reading"].startswith("pressure: 125%")
    assert act["status"] == "high"
    assert _row(rows, "marac_activity", "E23000001")["ratio"] == pytest.approx(2350 / 2000)


def test_a_force_area_table_scored_by_district_is_refused(tmp_path):
    analysis, _, services, population = _district_case(tmp_path)
    demand = load_demand(_csv(tmp_path, "area_code,period,marac_cases\nE23000021,2024-25,2350\n"), CONFIG)
    with pytest.raises(GapmapInputError) as info:
        demand_rows(analysis, demand, services, population, CONFIG)
    text = str(info.value)
    assert "police force area (E23000021)" in text
    assert "`--level pfa`" in text
    assert "row 2" in text
    assert "not split" in text


def test_finer_rows_are_not_used_and_say_so(tmp_path):
    analysis, _, _, _ = _pfa_case(tmp_path)
    demand = load_demand(_csv(tmp_path, "area_code,period,marac_cases\nE07000001,2024-25,50\n"), CONFIG)
    notes = check_levels(demand, list(analysis.selection))
    assert "finer level" in notes[0]


def test_unmet_need_rows(tmp_path):
    analysis, _, services, population = _district_case(tmp_path)
    demand = load_demand(
        _csv(
            tmp_path,
            "area_code,period,refuge_referrals,refuge_referrals_declined,households_not_supported\n"
            "E07000001,2024-25,120,78,40\nE07000002,2024-25,60,30,\n",
        ),
        CONFIG,
    )
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG)
    share = _row(rows, "refuge_declined_share", "E07000001")
    assert share["ratio"] == pytest.approx(0.65)
    assert share["reading"] == "65% declined"
    assert share["status"] == "info"
    assert _row(rows, "refuge_declined_share", "ALL")["ratio"] == pytest.approx(108 / 180)
    hh = _row(rows, "households_not_supported", "E07000002")
    assert hh["status"] == "no_data"
    assert _row(rows, "households_not_supported", "ALL")["provided"] == 40
    assert "idva_fte_from_marac" not in set(rows["benchmark_id"])  # no marac_cases column


def test_latest_period_is_used_and_named(tmp_path):
    analysis, _, services, population = _district_case(tmp_path)
    demand = load_demand(
        _csv(tmp_path, "area_code,period,marac_cases\nE07000001,2023-24,100\nE07000001,2024-25,200\n"), CONFIG
    )
    rows, notes = demand_rows(analysis, demand, services, population, CONFIG)
    assert _row(rows, "idva_fte_from_marac", "E07000001")["required"] == pytest.approx(2.0)
    assert any("period 2024-25 used" in n for n in notes)
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG, period="2023-24")
    assert _row(rows, "idva_fte_from_marac", "E07000001")["required"] == pytest.approx(1.0)


def test_demand_table_problems_name_row_column_and_fix(tmp_path):
    text = (
        "area_code,period,marac_cases,marac_case\n"
        "E07000001,2024-25,ten,\n"
        "E99,2024-25,5,\n"
        "E07000001,2024-25,5,\n"
        "E07000002,,-3,\n"
    )
    with pytest.raises(GapmapInputError) as info:
        load_demand(_csv(tmp_path, text), CONFIG)
    problems = info.value.problems
    by_row = {(p.row, p.column): p.message for p in problems if p.severity == "error"}
    assert "not a number" in by_row[(2, "marac_cases")]
    assert "not a GSS code" in by_row[(3, "area_code")]
    assert "second row for period 2024-25 (first at row 2)" in by_row[(4, "area_code")]
    assert "`period` is blank" in by_row[(5, "period")]
    assert "negative" in by_row[(5, "marac_cases")]
    warning = next(p for p in problems if p.severity == "warning")
    assert warning.column == "marac_case" and "did you mean `marac_cases`" in warning.message


def test_a_table_without_measures_is_refused(tmp_path):
    with pytest.raises(GapmapInputError, match="no demand measure columns"):
        load_demand(_csv(tmp_path, "area_code,period,cases\nE07000001,2024-25,5\n"), CONFIG)


def test_every_demand_benchmark_parses_and_has_a_source():
    for profile in CONFIG.profiles.values():
        benches = demand_benchmarks(profile, CONFIG)
        assert {b.id for b in benches} >= {"idva_fte_from_marac", "marac_admin_fte", "marac_activity"}
        assert all(b.source for b in benches)
    for m in CONFIG.demand_measures.values():
        assert {"label", "unit", "meaning", "source"} <= set(m)


def test_service_activity_is_summed_to_areas_and_conserved():
    areas = _areas(["E07000001", "E07000002"])
    population = pd.DataFrame({"area_code": ["E07000001", "E07000002"], "all_persons": [300.0, 100.0]})
    services = _services(
        [
            {
                "name": "A",
                "service_type": "idva",
                "serves": "E07000001",
                "referrals": "40",
                "referrals_declined": "10",
            },
            {
                "name": "B",
                "service_type": "idva",
                "serves": "E07000001;E07000002",
                "referrals": "80",
                "referrals_declined": "20",
                "waiting_list": "8",
            },
        ]
    )
    analysis = analyse(areas, population, services, CONFIG)
    act = service_activity(analysis, services).set_index("area_code")
    # B is shared 3:1 by population: 60 and 20 referrals, 15 and 5 declined, 6 and 2 waiting.
    assert act.loc["E07000001", "referrals"] == pytest.approx(100)
    assert act.loc["E07000002", "referrals"] == pytest.approx(20)
    assert act.loc["E07000001", "referrals_declined"] == pytest.approx(25)
    assert act.loc["E07000002", "waiting_list"] == pytest.approx(2)
    assert act["referrals"].sum() == pytest.approx(120)
    rows = activity_rows(analysis, services)
    share = rows[(rows["benchmark_id"] == "services_declined_share") & (rows["area_code"] == "ALL")].iloc[0]
    assert share["ratio"] == pytest.approx(30 / 120)
    assert np.isnan(share["required"])


def test_counties_and_unitaries_score_together_as_tier_one(tmp_path):
    # MHCLG publishes households not supported per tier-one authority: counties (E10) and
    # unitaries (E06) side by side. Scored at that level, nothing is refused or left out.
    demand = load_demand(
        _csv(
            tmp_path,
            "area_code,period,households_not_supported\nE10000018,2024-25,40\nE06000016,2024-25,25\n",
        ),
        CONFIG,
    )
    assert check_levels(demand, ["E10000018", "E06000016", "E06000017"]) == []
    # ...but a county figure is still refused when districts are scored.
    with pytest.raises(GapmapInputError, match="a tier-one authority"):
        check_levels(demand, ["E07000129", "E06000016"])


def test_a_median_wait_has_no_total(tmp_path):
    analysis, _, services, population = _district_case(tmp_path)
    demand = load_demand(
        _csv(tmp_path, "area_code,period,median_wait_weeks\nE07000001,2024-25,9\nE07000002,2024-25,14\n"),
        CONFIG,
    )
    rows, _ = demand_rows(analysis, demand, services, population, CONFIG)
    assert _row(rows, "median_wait_weeks", "E07000002")["provided"] == 14
    total = _row(rows, "median_wait_weeks", "ALL")
    assert np.isnan(total["provided"]) and "median has no total" in total["reading"]
