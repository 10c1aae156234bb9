"""load_population and friends: the real ONS-derived file, an MYE workbook built here, coverage."""

from __future__ import annotations

import io

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from gapmap.config import default_config
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.population import check_population_coverage, load_population, population_from_boundaries

CONFIG = default_config()


def load(content: bytes, name: str = "population.csv"):
    report = ValidationReport()
    return load_population(None, config=CONFIG, report=report, content=content, name=name), report


# --------------------------------------------------------------------------- the real file


@pytest.mark.shared_data
def test_real_lad24_denominators(shared_data):
    report = ValidationReport()
    frame = load_population(
        shared_data / "population" / "la_denominators_lad24_england.csv", config=CONFIG, report=report
    )
    assert report.ok, report.to_text()
    assert len(frame) == 296 and frame["area_code"].is_unique
    sources = frame.attrs["column_sources"]
    assert sources["area_code"] == "lad24cd"  # not utla23_code / region24_code / pfa24_code
    # The rule: the most recent official figure present (mid-2023 beats Census 2021 and mid-2020).
    assert sources["all_persons"] == "mye2023_persons"
    assert sources["females_16_plus"] == "census21_females_16plus_est"
    hartlepool = frame.set_index("area_code").loc["E06000001"]
    assert hartlepool["all_persons"] == 95366
    assert hartlepool["census21_persons"] == 92347  # the other vintages are kept, to choose from
    assert hartlepool["females"] == 47656
    assert hartlepool["females_16_plus"] == 39092
    assert hartlepool["mye2023_persons"] == 95366
    # England totals as given in ../shared/data/SOURCES.md
    assert frame["mye2023_persons"].sum() == 57_690_323
    assert frame["all_persons"].sum() == 57_690_323
    assert frame["census21_persons"].sum() == 56_490_040
    assert frame["females"].sum() == 28_833_831
    assert frame["females_16_plus"].sum() / 1e6 == pytest.approx(23.73, abs=0.005)
    # the file has no children column and a children benchmark is not in the default profiles:
    assert not any("persons_0_17" in w.message for w in report.warnings)


@pytest.mark.shared_data
def test_real_population_against_lad_2013_boundaries_reports_vintage_mismatch(shared_data):
    from gapmap.boundaries import load_boundaries

    areas = load_boundaries(shared_data / "boundaries" / "england_lad_2013.geojson")
    frame = load_population(shared_data / "population" / "la_denominators_lad24_england.csv", config=CONFIG)
    report = ValidationReport()
    check_population_coverage(areas, frame, report, file="la_denominators_lad24_england.csv")
    assert report.ok
    first, second = (w.message for w in report.warnings)
    # 2013 districts merged by 2024 (Bournemouth, Poole, the Bucks districts, ...) have no row
    assert first.startswith("41 of 326 areas have no population row (E06000028 (Bournemouth)")
    assert "same year" in first
    assert second.startswith("11 population row(s) match no area") and "E06000058 (row 56)" in second


@pytest.mark.shared_data
def test_real_single_year_csv_derives_children(shared_data):
    path = shared_data / "population" / "mye2020_persons_single_year_age_ltla21_ew.csv"
    report = ValidationReport()
    frame = load_population(path, config=CONFIG, report=report)
    assert report.ok and len(frame) == 331
    assert frame.attrs["column_sources"]["area_code"] == "ltla21_code"
    hartlepool = frame.set_index("area_code").loc["E06000001"]
    assert hartlepool["all_persons"] == 93836
    # oracle: the file's own columns "0" … "17" for Hartlepool, summed by pandas
    raw = pd.read_csv(path).set_index("ltla21_code").loc["E06000001"]
    assert hartlepool["persons_0_17"] == sum(raw[str(a)] for a in range(18)) == 20108


# --------------------------------------------------------------------------- plain tables


def test_plain_csv_with_ids_aliases_and_thousands_separators():
    frame, report = load(
        b"LAD23CD,LAD23NM,population,Females,adult_females,children,note\n"
        b'E1,Alpha,"1,234",600,500,200,x\n'
        b"E2,Beta,2000,1000,800,400,y\n"
    )
    assert report.problems == []
    assert frame.columns.tolist() == [
        "area_code",
        "all_persons",
        "females",
        "females_16_plus",
        "persons_0_17",
    ]
    assert frame["all_persons"].tolist() == [1234.0, 2000.0]
    assert frame.attrs["column_sources"]["females"] == "Females"
    assert frame.attrs["area_names"] == {"E1": "Alpha", "E2": "Beta"}
    assert frame.attrs["rows"] == {"E1": 2, "E2": 3}


def test_blank_count_is_a_warning_naming_rows_and_column():
    frame, report = load(b"area_code,females_16_plus,females\nE1,,10\nE2,5,10\n")
    assert report.ok and pd.isna(frame["females_16_plus"].iloc[0])
    [warning] = [w for w in report.warnings if w.column == "females_16_plus"]
    assert "row(s) 2" in warning.message


def test_missing_denominators_needed_by_benchmarks_are_named():
    _, report = load(b"area_code,all_persons\nE1,100\n")
    messages = " ".join(w.message for w in report.warnings)
    assert "no `females_16_plus` column" in messages and "IDVA" in messages
    assert "no `females` column" in messages


def test_no_population_column_is_an_error_listing_columns():
    frame, report = load(b"area_code,area_name\nE1,Alpha\n")
    assert frame is None and "no population column found. The file has columns: area_code, area_name" in (
        report.errors[0].message
    )


def test_several_bad_cells_are_all_reported():
    _, report = load(b"area_code,females,females_16_plus\nE1,-1,x\n,5,5\n")
    found = {(p.row, p.column) for p in report.errors}
    assert found == {(2, "females"), (2, "females_16_plus"), (3, "area_code")}


def test_raises_without_report():
    with pytest.raises(GapmapInputError, match="not a number"):
        load_population(None, config=CONFIG, content=b"area_code,females\nE1,lots\n", name="p.csv")


# --------------------------------------------------------------------------- ONS MYE workbook


def _mye_sheet(wb: openpyxl.Workbook, title: str, rows: list[tuple[str, str, str, list[int]]], ninety="90+"):
    ws = wb.create_sheet(title)
    ws.append([f"{title}: Mid-2023 population estimates (fictional test data)"])
    ws.append([])
    ws.append(["Notes: figures may not sum due to rounding"])
    ws.append([])
    ws.append(["Code", "Name", "Geography", "All ages", *range(90), ninety])
    for code, name, geography, by_age in rows:
        ws.append([code, name, geography, sum(by_age), *by_age])


def mye_workbook(sheets: dict[str, list[tuple[str, str, str, list[int]]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Contents"
    wb.active.append(["Population estimates for the UK, mid-2023"])
    for title, rows in sheets.items():
        _mye_sheet(wb, title, rows)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


AGES = range(91)  # 0 … 89 and 90+


def test_mye_workbook_persons_and_females():
    content = mye_workbook(
        {
            "MYE2 - Persons": [
                ("E92000001", "ENGLAND", "Country", [30] * 91),
                ("E1", "Alpha", "Unitary Authority", [10] * 91),
                ("E2", "Beta", "Non-metropolitan District", list(AGES)),  # age k has k people
            ],
            "MYE2 - Females": [
                ("E92000001", "ENGLAND", "Country", [15] * 91),
                ("E1", "Alpha", "Unitary Authority", [5] * 91),
                ("E2", "Beta", "Non-metropolitan District", [2] * 91),
            ],
        }
    )
    frame, report = load(content, "mye.xlsx")
    assert report.ok, report.to_text()
    by_code = frame.set_index("area_code")
    # Persons: Alpha 91 ages x 10 = 910, children 18 x 10 = 180;
    #          Beta 0+1+…+90 = 4095, children 0+…+17 = 153.
    assert by_code.loc["E1", "all_persons"] == 910 and by_code.loc["E1", "persons_0_17"] == 180
    assert by_code.loc["E2", "all_persons"] == 4095 and by_code.loc["E2", "persons_0_17"] == 153
    # Females: Alpha 91 x 5 = 455, ages 16…90+ = 75 x 5 = 375; Beta 182 and 150.
    assert by_code.loc["E1", "females"] == 455 and by_code.loc["E1", "females_16_plus"] == 375
    assert by_code.loc["E2", "females"] == 182 and by_code.loc["E2", "females_16_plus"] == 150
    assert frame.columns.tolist() == [
        "area_code",
        "all_persons",
        "females",
        "females_16_plus",
        "persons_0_17",
    ]
    assert frame.attrs["column_sources"]["females_16_plus"] == "'MYE2 - Females' ages 16-90+"
    assert frame.attrs["rows"]["E1"] == 7  # title rows, header on row 5, England on 6
    assert frame.attrs["layout"] == "ons_mye"


def test_mye_females_and_males_give_all_persons_and_children():
    content = mye_workbook(
        {
            "MYE2 - Females": [("E1", "Alpha", "UA", [5] * 91)],
            "MYE2 - Males": [("E1", "Alpha", "UA", [4] * 91)],
        }
    )
    frame, report = load(content, "mye.xlsx")
    row = frame.iloc[0]
    assert row["all_persons"] == 91 * 9 and row["persons_0_17"] == 18 * 9 and row["males"] == 91 * 4
    assert row["females_16_plus"] == 75 * 5
    assert report.ok


def test_mye_bad_cell_names_sheet_row_and_column():
    wb = openpyxl.load_workbook(
        io.BytesIO(mye_workbook({"MYE2 - Females": [("E1", "Alpha", "UA", [5] * 91)]}))
    )
    wb["MYE2 - Females"]["Z6"] = "x"  # column Z = age 21 (A Code, B Name, C Geography, D All ages, E = 0)
    buffer = io.BytesIO()
    wb.save(buffer)
    frame, report = load(buffer.getvalue(), "mye.xlsx")
    assert frame is None
    [error] = report.errors
    assert error.file == "mye.xlsx (sheet 'MYE2 - Females')" and error.row == 6 and error.column == "21"


# --------------------------------------------------------------------------- boundaries and coverage


def _areas(codes_names: list[tuple[str, str]], **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_code": [c for c, _ in codes_names], "area_name": [n for _, n in codes_names], **columns},
        geometry=[box(i, 52, i + 0.1, 52.1) for i in range(len(codes_names))],
        crs=4326,
    )


def test_population_from_boundaries_by_id_and_alias():
    areas = _areas([("E1", "Alpha"), ("E2", "Beta")], census21_females=[600.0, 700.0], objectid=[1, 2])
    frame = population_from_boundaries(areas, CONFIG)
    assert frame.columns.tolist() == ["area_code", "females"]  # objectid is not a population
    assert frame["females"].tolist() == [600.0, 700.0]
    assert population_from_boundaries(_areas([("E1", "Alpha")], objectid=[1]), CONFIG) is None


def test_coverage_names_the_area_without_population_and_the_orphan_row():
    areas = _areas([("E07000117", "Burnley"), ("E07000120", "Hyndburn")])
    population = pd.DataFrame({"area_code": ["E07000120", "E07000999"], "females": [40000.0, 0.0]})
    population.attrs["rows"] = {"E07000120": 2, "E07000999": 3}
    report = ValidationReport()
    check_population_coverage(areas, population, report, file="pop.csv")
    messages = [w.message for w in report.warnings]
    assert messages == [
        "area E07000117 (Burnley) has no population row: benchmarks will show 'no data' for it.",
        "1 population row(s) match no area in the boundaries and are not used: E07000999 (row 3).",
    ]
    assert all(w.file == "pop.csv" for w in report.warnings)


def test_coverage_warns_about_zero_denominators():
    areas = _areas([("E1", "Alpha")])
    report = ValidationReport()
    check_population_coverage(
        areas, pd.DataFrame({"area_code": ["E1"], "females": [0.0]}), report, file="p.csv"
    )
    assert report.warnings[0].column == "females" and "is 0 for E1" in report.warnings[0].message


def _single_year_csv(total: int, per_age: int) -> bytes:
    header = "area_code,all_persons," + ",".join(str(a) for a in range(90)) + ",90+\n"
    return (header + f"E1,{total}," + ",".join([str(per_age)] * 91) + "\n").encode()


def test_single_year_columns_give_children_only_when_they_add_up_to_the_total():
    frame, _ = load(_single_year_csv(91 * 2, 2))
    assert frame["persons_0_17"].tolist() == [36.0]  # 18 ages x 2
    frame, _ = load(_single_year_csv(1000, 2))  # the ages are not the total's population
    assert "persons_0_17" not in frame.columns
