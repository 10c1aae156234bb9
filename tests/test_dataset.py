"""validate_dataset / load_dataset / load_demo on tiny fixtures (tests/fixtures/services)."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pandas as pd
import pytest

from gapmap import settings
from gapmap.dataset import Dataset, load_dataset, load_demo, validate_dataset
from gapmap.errors import GapmapInputError
from gapmap.schema import SERVICE_COLUMNS

TODAY = date(2026, 11, 22)
FINGERPRINT = re.compile(r"^(?P<name>.+) \((?P<sha>[0-9a-f]{12})\)$")


@pytest.fixture
def fx(fixtures_dir):
    return fixtures_dir / "services"


def sha12(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_demo_loads_clean_and_is_labelled_demo():
    dataset = load_demo(today=TODAY)
    assert isinstance(dataset, Dataset)
    assert dataset.is_demo
    assert dataset.report.ok
    assert tuple(dataset.services.columns) == SERVICE_COLUMNS
    assert len(dataset.services) > 0 and len(dataset.areas) > 0
    assert set(dataset.population["area_code"]) == set(dataset.areas["area_code"])
    assert set(dataset.sources) == {"boundaries", "population", "postcodes", "services"}
    assert dataset.sources["services"] == f"{settings.DEMO_SERVICES.name} ({sha12(settings.DEMO_SERVICES)})"


def test_all_files_given(fx):
    dataset, report = validate_dataset(
        fx / "services.csv",
        fx / "two_areas.geojson",
        fx / "population.csv",
        fx / "postcodes.csv",
        today=TODAY,
    )
    assert report.ok, report.to_text()
    assert not dataset.is_demo
    assert dataset.sources == {
        "boundaries": f"two_areas.geojson ({sha12(fx / 'two_areas.geojson')})",
        "population": f"population.csv ({sha12(fx / 'population.csv')})",
        "postcodes": f"postcodes.csv ({sha12(fx / 'postcodes.csv')})",
        "services": f"services.csv ({sha12(fx / 'services.csv')})",
    }
    services = dataset.services.set_index("service_id")
    assert services.loc["A-IDVA", "location_source"] == "postcode"
    assert services.loc["A-IDVA", "latitude"] == 52.5
    assert services.loc["REF-1", "serves"] == ("E07000002",)  # by name, resolved to the code
    assert services.loc["HL-1", "serves"] == ("*",)
    assert list(
        dataset.population.loc[dataset.population["area_code"] == "E07000002", "females_16_plus"]
    ) == [80000.0]


def test_demo_files_passed_explicitly_count_as_demo():
    dataset, report = validate_dataset(settings.DEMO_SERVICES, settings.DEMO_BOUNDARIES, today=TODAY)
    assert report.ok and dataset.is_demo


def test_services_alone_are_checked_against_england_built_in(fx):
    """No boundaries: the list is checked against England's 2024 districts (issue 10), so the
    fixture's fictional `Beta Town` is an error naming its row, and nothing is the demo."""
    dataset, report = validate_dataset(fx / "services.csv", postcodes=fx / "postcodes.csv", today=TODAY)
    assert dataset is None
    (error,) = report.errors
    # Row 4 is a refuge: its row and column are given, never what it names.
    assert (error.row, error.column) == (4, "serves") and "Beta Town" not in error.message


def test_services_alone_are_analysed_on_england_built_in(tmp_path):
    path = tmp_path / "llr.csv"
    path.write_text(
        "service_id,name,service_type,serves,capacity\n"
        "IDVA-1,County IDVA,idva,E10000018,7\n"  # Leicestershire county: its seven districts
        "IDVA-2,Rutland IDVA,idva,Rutland,1\n",
        encoding="utf-8",
    )
    dataset = load_dataset(path, today=TODAY)
    assert dataset.geography == "england_lad24" and not dataset.is_demo
    assert len(dataset.areas) == 296
    assert dataset.sources["boundaries"].startswith("England built in: LAD May 2024 BUC")
    served = dataset.services.set_index("service_id")["serves"]
    assert served["IDVA-1"] == tuple(f"E07000{n}" for n in range(129, 136))
    assert served["IDVA-2"] == ("E06000017",)
    # The shipped column it came from; the vocabulary gives its vintage (test_geography).
    assert dataset.population.attrs["column_sources"]["females_16_plus"] == "census21_females_16plus_est"


def test_population_from_boundary_columns(fx):
    dataset = load_dataset(
        fx / "services.csv",
        fx / "two_areas_with_population.geojson",
        postcodes=fx / "postcodes.csv",
        today=TODAY,
    )
    assert dataset.sources["population"].startswith("population columns of two_areas_with_population.geojson")
    pop = dataset.population.set_index("area_code")
    assert pop.loc["E07000001", "females_16_plus"] == 40000.0


def test_no_population_anywhere_warns_for_validate_and_fails_for_analysis(fx):
    args = (fx / "services.csv", fx / "two_areas.geojson")
    dataset, report = validate_dataset(*args, postcodes=fx / "postcodes.csv", today=TODAY)
    assert report.ok and dataset is not None
    assert any("no population" in w.message for w in report.warnings)
    with pytest.raises(GapmapInputError, match="--population"):
        load_dataset(*args, postcodes=fx / "postcodes.csv", today=TODAY)


def test_population_coverage_is_checked(fx):
    _, report = validate_dataset(
        fx / "services.csv",
        fx / "two_areas.geojson",
        fx / "population_missing_beta.csv",
        fx / "postcodes.csv",
        today=TODAY,
    )
    assert report.ok
    assert any("E07000002" in w.message for w in report.warnings)


def test_boundaries_without_services_is_an_error(fx):
    dataset, report = validate_dataset(boundaries=fx / "two_areas.geojson")
    assert dataset is None
    assert "--services" in report.errors[0].message


def test_upload_bytes_are_fingerprinted(fx):
    content = (fx / "services.csv").read_bytes()
    dataset, report = validate_dataset(
        boundaries=fx / "two_areas.geojson",
        population=fx / "population.csv",
        postcodes=fx / "postcodes.csv",
        services_content=content,
        services_name="my list.csv",
        today=TODAY,
    )
    assert report.ok
    assert dataset.sources["services"] == f"my list.csv ({hashlib.sha256(content).hexdigest()[:12]})"
    assert not dataset.is_demo


def test_custom_benchmarks_file_is_recorded(fx, tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text(
        "[profiles.local]\nlabel = 'Local'\ndefault = true\n"
        "[[profiles.local.benchmarks]]\nid = 'idva_fte'\nservice_types = ['idva']\nmeasure = 'capacity'\n"
        "target = 5\nper = 100000\ndenominator = 'females_16_plus'\nsource = 'our own'\n",
        encoding="utf-8",
    )
    dataset = load_dataset(benchmarks=toml, today=TODAY)
    assert dataset.config.default_profile.id == "local"
    assert FINGERPRINT.match(dataset.sources["benchmarks"]).group("name") == "mine.toml"


def test_bad_benchmarks_are_collected_with_other_problems(fx, tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text(
        "[profiles.local]\nlabel = 'Local'\n"
        "[[profiles.local.benchmarks]]\nid = 'idva_fte'\nservice_types = ['idva']\nmeasure = 'capacity'\n"
        "target = 4\nper = 100000\ndenominator = 'adult_women'\nsource = 'x'\n",
        encoding="utf-8",
    )
    bad_services = tmp_path / "services.csv"
    bad_services.write_text("name,service_type,serves\nX,idvaa,*\n", encoding="utf-8")
    dataset, report = validate_dataset(bad_services, benchmarks=toml, today=TODAY)
    assert dataset is None
    files = {p.file for p in report.errors}
    assert files == {"bad.toml", "services.csv"}  # both files' problems, in one report
    assert any("unknown denominator `adult_women`" in p.message for p in report.errors)


def test_missing_services_file(tmp_path):
    dataset, report = validate_dataset(tmp_path / "nope.csv")
    assert dataset is None
    assert "not found" in report.errors[0].message


def test_excel_upload_bytes(fx):
    content = (fx.parent.parent / "broken" / "services" / "excel_title_row.xlsx").read_bytes()
    dataset, report = validate_dataset(
        boundaries=fx / "two_areas.geojson",
        population=fx / "population.csv",
        services_content=content,
        services_name="list.xlsx",
        today=TODAY,
    )
    assert report.ok, report.to_text()
    assert dataset.services["service_id"].tolist() == ["X1", "X2"]
    assert dataset.services["funding_end"].tolist()[0] == pd.Timestamp("2027-03-31")


def test_problems_in_several_files_are_all_reported_without_raising(fx, tmp_path):
    dataset, report = validate_dataset(
        fx.parent.parent / "broken" / "services" / "unknown_tier.csv",
        tmp_path / "missing.geojson",
        tmp_path / "missing_population.csv",
        today=TODAY,
    )
    assert dataset is None
    files = {p.file for p in report.errors}
    assert {"unknown_tier.csv", "missing.geojson", "missing_population.csv"} <= files


def test_load_dataset_raises_with_every_problem(fx):
    with pytest.raises(GapmapInputError) as exc:
        load_dataset(fx.parent.parent / "broken" / "services" / "duplicate_ids.csv", fx / "two_areas.geojson")
    assert any("also used on row 2" in p.message for p in exc.value.problems)


def test_any_list_on_the_demo_county_is_labelled_demo(tmp_path):
    # A saved or uploaded list shown on the demo boundaries is still on a fictional county.
    content = settings.DEMO_SERVICES.read_bytes()
    dataset, report = validate_dataset(
        boundaries=settings.DEMO_BOUNDARIES,
        population=settings.DEMO_POPULATION,
        services_content=content,
        services_name="our list.csv",
        today=TODAY,
        for_analysis=True,
    )
    assert report.ok, report.to_text()
    assert dataset.is_demo
    assert dataset.sources["services"].startswith("our list.csv (")  # which list stays recorded
    copy = tmp_path / "county.geojson"
    copy.write_bytes(settings.DEMO_BOUNDARIES.read_bytes())
    dataset, report = validate_dataset(settings.DEMO_SERVICES, copy, settings.DEMO_POPULATION, today=TODAY)
    assert report.ok and dataset.is_demo  # a byte-identical copy is the same fictional county


def test_demo_files_that_cannot_be_written_are_reported_not_raised(monkeypatch, tmp_path):
    """An installed gapmap writes the demo on first use; a folder it cannot write to is an
    input problem in the report (validate_dataset never raises for one)."""
    from gapmap import dataset as dataset_module
    from gapmap import settings

    missing = tmp_path / "nowhere"
    monkeypatch.setattr(settings, "DEMO_BOUNDARIES", missing / "boundaries.geojson")

    def refuse(root):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("gapmap.demo.write_demo", refuse)
    found, report = dataset_module.validate_dataset()
    assert found is None and not report.ok
    (problem,) = report.errors
    assert "demo county's files are missing and cannot be written" in str(problem)
    assert "GAPMAP_DATA_DIR" in str(problem)
