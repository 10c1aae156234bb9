"""Scoring at a level (`report --level`): the issue 10 acceptance, by hand from the population file.

Leicestershire police force area (E23000021) is Leicester, Rutland and the seven Leicestershire
districts. Females aged 16+ (census21_females_16plus_est in ../shared/data's
la_denominators_lad24_england.csv): Leicester 149,207; Rutland 16,793; Blaby 43,158; Charnwood
76,999; Harborough 40,973; Hinckley and Bosworth 48,070; Melton 22,184; North West
Leicestershire 44,040; Oadby and Wigston 24,613. Sum 466,037 (county 300,037).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gapmap import cli

pytestmark = pytest.mark.shared_data

F16 = {
    "E06000016": 149_207,
    "E06000017": 16_793,
    "E07000129": 43_158,
    "E07000130": 76_999,
    "E07000131": 40_973,
    "E07000132": 48_070,
    "E07000133": 22_184,
    "E07000134": 44_040,
    "E07000135": 24_613,
}
COUNTY_F16 = 300_037
LLR_F16 = 466_037

SERVICES = """service_id,name,service_type,serves,capacity,capacity_unit
IDVA-CITY,Leicester IDVA service,idva,Leicester,6,fte
IDVA-COUNTY,County IDVA service,idva,E10000018,8,fte
IDVA-RUT,Rutland IDVA,idva,Rutland,1,fte
IDVA-LANCS,Lancashire county IDVA,idva,E10000017,5,fte
IDVA-NOCAP,IDVA without a figure,idva,E23000021,,
REF-LLR,LLR refuge,refuge,E23000021,30,family_spaces
"""


@pytest.fixture
def services_file(tmp_path):
    path = tmp_path / "llr_services.csv"
    path.write_text(SERVICES, encoding="utf-8")
    return path


def report(services_file, tmp_path, *extra):
    out = tmp_path / ("out" + "_".join(extra).replace("-", ""))
    argv = ["report", "--services", str(services_file), "--out", str(out), "--no-maps", "--no-pack"]
    argv += ["--no-xlsx", *extra]
    assert cli.main(argv) == 0
    gaps = pd.read_csv(out / "gaps.csv", dtype={"area_code": str})
    return gaps, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_check_the_hand_figures_against_the_shared_file(shared_data):
    raw = pd.read_csv(shared_data / "population" / "la_denominators_lad24_england.csv").set_index("lad24cd")
    assert raw.loc[list(F16), "census21_females_16plus_est"].to_dict() == F16
    assert sum(F16.values()) == LLR_F16


def test_pfa_level_is_one_row_per_benchmark_summing_the_nine_districts(services_file, tmp_path, shared_data):
    gaps, summary = report(services_file, tmp_path, "--areas", "E23000021", "--level", "pfa")
    rows = gaps[gaps["area_code"] != "ALL"]
    area_benchmarks = [b for b, e in summary["benchmarks"].items() if e["scope"] == "area"]
    assert list(rows["benchmark_id"]) == area_benchmarks  # one row per benchmark
    assert set(rows["area_code"]) == {"E23000021"}
    idva = rows.set_index("benchmark_id").loc["idva_fte"]
    assert idva["denominator"] == LLR_F16
    assert idva["required"] == pytest.approx(LLR_F16 * 4 / 100_000, abs=1e-4)  # 18.64148
    # Leicester 6 + the county's 8 (E10000018: its seven districts) + Rutland 1; not Lancashire's 5.
    assert idva["provided"] == pytest.approx(15.0, abs=1e-4)
    assert idva["ratio"] == pytest.approx(15 / 18.64148, abs=1e-4)
    assert idva["status"] == "amber"
    assert idva["unmeasured_services"] == 1  # IDVA-NOCAP, counted once, not once per district
    assert summary["level"] == {"id": "pfa", "label": "police force area", "areas": 1}
    assert "Contains OS data © Crown copyright and database right" in summary["attribution"]
    assert summary["inputs"]["boundaries"].startswith("England built in: LAD May 2024 BUC (england.gpkg (")
    assert summary["selection"] == ["E23000021"] and len(summary["districts_selected"]) == 9


def test_district_level_gives_nine_rows_that_sum_to_the_pfa_row(services_file, tmp_path, shared_data):
    gaps, _ = report(services_file, tmp_path, "--areas", "E23000021", "--level", "district")
    idva = gaps[(gaps["benchmark_id"] == "idva_fte") & (gaps["area_code"] != "ALL")].set_index("area_code")
    assert len(idva) == 9 and idva["denominator"].to_dict() == {k: float(v) for k, v in F16.items()}
    assert idva["denominator"].sum() == LLR_F16
    assert idva["provided"].sum() == pytest.approx(15.0, abs=1e-3)
    # The county service is shared by the districts' adult females: Blaby gets 8 x 43,158 / 300,037.
    assert idva.loc["E07000129", "provided"] == pytest.approx(8 * 43_158 / COUNTY_F16, abs=1e-4)
    assert idva.loc["E06000016", "provided"] == pytest.approx(6.0, abs=1e-4)


def test_tier1_level_scores_the_county_and_the_two_unitaries(services_file, tmp_path, shared_data):
    gaps, summary = report(services_file, tmp_path, "--areas", "llr", "--level", "tier1")
    # Every authority has the same cells (IDVA and refuge cells): no patchwork, weighted or not.
    assert (summary["patchwork_index"], summary["patchwork_index_weighted"]) == (0.0, 0.0)
    assert summary["denominator_columns"]["females_16_plus"] == "census21_females_16plus_est"
    idva = gaps[(gaps["benchmark_id"] == "idva_fte") & (gaps["area_code"] != "ALL")].set_index("area_code")
    assert list(idva.index) == ["E06000016", "E06000017", "E10000018"]
    assert idva.loc["E10000018", "denominator"] == COUNTY_F16
    assert idva.loc["E10000018", "provided"] == pytest.approx(8.0, abs=1e-4)
    assert idva.loc["E10000018", "ratio"] == pytest.approx(8 / (COUNTY_F16 * 4 / 100_000), abs=1e-4)


def test_region_level_scores_the_at_least_one_standards_per_region(services_file, tmp_path, shared_data):
    gaps, summary = report(services_file, tmp_path, "--areas", "llr", "--level", "region")
    presence = gaps[gaps["benchmark_id"] == "refuge_presence"].set_index("area_code")
    assert list(presence.index) == ["E12000004", "ALL"]  # East Midlands, then the whole selection
    assert presence.loc["E12000004", ["required", "provided", "status"]].tolist() == [1.0, 1.0, "green"]
    # LLR is 9 of the East Midlands' districts: the figures say they cover those only.
    assert any("9 of its" in note and "East Midlands" in note for note in summary["notes"])


def test_level_on_areas_that_are_not_english_districts_is_an_input_error(tmp_path, capsys, fixtures_dir):
    fx = fixtures_dir / "services"
    argv = ["report", "--services", str(fx / "services.csv"), "--boundaries", str(fx / "two_areas.geojson")]
    argv += ["--population", str(fx / "population.csv"), "--postcodes", str(fx / "postcodes.csv")]
    argv += ["--out", str(tmp_path / "out"), "--level", "pfa", "--no-maps", "--no-pack", "--no-xlsx"]
    assert cli.main(argv) == 1
    assert "cannot be added up to police force area level" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_a_level_area_profile_lists_the_services_of_its_districts(shared_data, tmp_path):
    from gapmap.dataset import load_dataset
    from gapmap.engine import analyse, services_serving
    from gapmap.geography import resolve_areas
    from gapmap.levels import at_level

    path = tmp_path / "s.csv"
    path.write_text(SERVICES, encoding="utf-8")
    dataset = load_dataset(path)
    analysis = analyse(
        dataset.areas, dataset.population, dataset.services, dataset.config, selection=resolve_areas("llr")
    )
    level_dataset, level_analysis = at_level(dataset, analysis, "pfa")
    assert list(level_dataset.areas["area_code"]) == ["E23000021"]
    assert level_dataset.population.set_index("area_code").loc["E23000021", "females_16_plus"] == LLR_F16
    serving = services_serving(level_analysis, dataset.services, "E23000021")
    assert set(serving["service_id"]) == {"IDVA-CITY", "IDVA-COUNTY", "IDVA-RUT", "IDVA-NOCAP", "REF-LLR"}
    # The county service lies wholly inside the police force area: all of it is the area's.
    assert serving.set_index("service_id").loc["IDVA-COUNTY", "share"] == pytest.approx(1.0)
