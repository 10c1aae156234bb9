"""The fictional demo county: regenerates byte for byte, and has the gaps it promises."""

from __future__ import annotations

import csv
import json
import re
from datetime import date

import pyproj
import pytest
import shapely
from shapely.geometry import Point, shape

from gapmap import settings
from gapmap.config import default_config
from gapmap.demo import AREAS, CITY, NO_PERPETRATOR_AREA, write_demo

DEMO_FILES = (
    settings.DEMO_BOUNDARIES,
    settings.DEMO_POPULATION,
    settings.DEMO_POSTCODES,
    settings.DEMO_SERVICES,
)
REFERENCE = date(2026, 11, 22)
SIX_MONTHS_LATER = date(2027, 5, 22)


def _rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def boundaries() -> dict:
    return json.loads(settings.DEMO_BOUNDARIES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def polygons(boundaries) -> dict:
    return {f["properties"]["area_code"]: shape(f["geometry"]) for f in boundaries["features"]}


@pytest.fixture(scope="module")
def population() -> list[dict[str, str]]:
    return _rows(settings.DEMO_POPULATION)


@pytest.fixture(scope="module")
def postcodes() -> list[dict[str, str]]:
    return _rows(settings.DEMO_POSTCODES)


@pytest.fixture(scope="module")
def services() -> list[dict[str, str]]:
    return _rows(settings.DEMO_SERVICES)


# ---------------------------------------------------------------- determinism
def test_regenerating_gives_the_committed_bytes(tmp_path):
    written = write_demo(tmp_path)
    data_root = settings.PROJECT_ROOT / "data"
    assert written == [tmp_path / p.relative_to(data_root) for p in DEMO_FILES]
    for committed, fresh in zip(DEMO_FILES, written, strict=True):
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"{committed.name} differs from what `python -m gapmap demo` writes; regenerate and commit it"
        )


def test_writes_only_the_four_files(tmp_path):
    write_demo(tmp_path)
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert found == [
        "boundaries/demo_county.geojson",
        "population/demo_county_population.csv",
        "postcodes/demo_county_postcodes.csv",
        "services/demo_county_services.csv",
    ]


def test_files_are_utf8_with_unix_newlines():
    for path in DEMO_FILES:
        raw = path.read_bytes()
        raw.decode("utf-8")
        assert b"\r" not in raw and raw.endswith(b"\n")


# ---------------------------------------------------------------- boundaries
def test_boundaries_are_labelled_fictional(boundaries):
    assert "fictional" in boundaries["name"].lower()
    assert "fictional" in boundaries["description"].lower()
    for feature in boundaries["features"]:
        assert feature["properties"]["fictional"] is True
        assert list(feature["properties"]) == ["area_code", "area_name", "fictional"]


def test_a_city_and_districts_with_codes_outside_real_ranges(polygons):
    codes = sorted(polygons)
    assert 8 <= len(codes) <= 10
    assert [c for c in codes if c.startswith("E06")] == [CITY] == ["E06999001"]
    assert all(re.fullmatch(r"E07999\d{3}", c) for c in codes if c != CITY)


def test_polygons_valid_in_the_north_sea_and_form_an_exact_coverage(polygons):
    geoms = list(polygons.values())
    assert all(g.geom_type == "Polygon" and g.is_valid and not g.is_empty for g in geoms)
    # neighbours share identical edges: no gaps, no overlaps
    assert shapely.coverage_is_valid(geoms)
    county = shapely.union_all(geoms)
    assert county.geom_type == "Polygon" and len(county.interiors) == 0
    assert county.area == pytest.approx(sum(g.area for g in geoms), rel=1e-9)
    minx, miny, maxx, maxy = county.bounds
    assert minx >= 0.40 and maxx <= 1.70 and miny >= 53.75 and maxy <= 54.35


def test_exterior_rings_are_counter_clockwise(polygons):
    assert all(g.exterior.is_ccw for g in polygons.values())


# ---------------------------------------------------------------- population
def test_population_about_a_million_with_plausible_ratios(population, polygons):
    assert list(population[0]) == [
        "area_code",
        "area_name",
        "all_persons",
        "females",
        "females_16_plus",
        "persons_0_17",
    ]
    assert sorted(r["area_code"] for r in population) == sorted(polygons)
    total = sum(int(r["all_persons"]) for r in population)
    assert 900_000 <= total <= 1_100_000
    for r in population:
        persons = int(r["all_persons"])
        assert 0.50 <= int(r["females"]) / persons <= 0.52
        assert 0.40 <= int(r["females_16_plus"]) / persons <= 0.43
        assert 0.19 <= int(r["persons_0_17"]) / persons <= 0.23
        assert int(r["females_16_plus"]) < int(r["females"])
    city = next(r for r in population if r["area_code"] == CITY)
    assert int(city["all_persons"]) == max(int(r["all_persons"]) for r in population)


# ---------------------------------------------------------------- postcodes
def test_postcodes_are_fictional_unique_and_inside_their_area(postcodes, polygons):
    assert list(postcodes[0]) == ["pcds", "lat", "long", "doterm", "oslaua"]
    assert 250 <= len(postcodes) <= 350
    codes = [r["pcds"] for r in postcodes]
    assert len(set(codes)) == len(codes)
    for r in postcodes:
        assert re.fullmatch(r"QX\d \d[A-Z]{2}", r["pcds"])
        point = Point(float(r["long"]), float(r["lat"]))
        assert polygons[r["oslaua"]].contains(point), r["pcds"]
    terminated = [r for r in postcodes if r["doterm"]]
    assert 1 <= len(terminated) <= 10
    assert all(re.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])", r["doterm"]) for r in terminated)


# ---------------------------------------------------------------- services
@pytest.fixture(scope="module")
def served_areas(services, postcodes, polygons) -> dict[str, set[str]]:
    """service_id -> the area codes it serves, resolved by hand (a naive oracle)."""
    names = {a.name: a.code for a in AREAS}
    by_postcode = {r["pcds"]: r["oslaua"] for r in postcodes}
    to_wgs84 = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    result = {}
    for s in services:
        if s["serves"] == "*":
            result[s["service_id"]] = set(polygons)
        elif s["serves"]:
            result[s["service_id"]] = {names.get(t, t) for t in s["serves"].split(";")}
        else:
            if s["postcode"]:
                result[s["service_id"]] = {by_postcode[s["postcode"]]}
                continue
            if s["latitude"]:
                point = Point(float(s["longitude"]), float(s["latitude"]))
            else:
                point = Point(to_wgs84.transform(float(s["easting"]), float(s["northing"])))
            result[s["service_id"]] = {c for c, g in polygons.items() if g.contains(point)}
    return result


def test_services_columns_ids_and_names(services):
    assert 50 <= len(services) <= 70
    assert list(services[0]) == [
        "service_id",
        "name",
        "service_type",
        "provider",
        "tiers",
        "cohorts",
        "abuse_types",
        "postcode",
        "latitude",
        "longitude",
        "easting",
        "northing",
        "serves",
        "catchment_km",
        "capacity",
        "capacity_unit",
        "specialist_groups",
        "hours",
        "funding_end",
        "confidential",
        "intervention",
    ]
    ids = [s["service_id"] for s in services]
    assert len(set(ids)) == len(ids)
    assert all("(fictional)" in s["name"] and "(fictional)" in s["provider"] for s in services)


def test_every_tier_and_cohort_and_most_types_present(services):
    config = default_config()
    tiers, cohorts = set(), set()
    for s in services:
        kind = config.service_types[s["service_type"]]
        tiers |= set(s["tiers"].split(";")) if s["tiers"] else set(kind.tiers)
        cohorts |= set(s["cohorts"].split(";")) if s["cohorts"] else set(kind.cohorts)
    assert tiers == set(config.tiers)
    assert cohorts == set(config.cohorts)
    assert len({s["service_type"] for s in services}) >= 0.8 * len(config.service_types)


def test_primary_tier_is_thin(services):
    config = default_config()
    primary = [
        s
        for s in services
        if "primary"
        in (s["tiers"].split(";") if s["tiers"] else config.service_types[s["service_type"]].tiers)
    ]
    assert 1 <= len(primary) <= 0.15 * len(services)


def test_refuges_are_confidential_with_no_location(services):
    refuges = [s for s in services if s["service_type"] == "refuge"]
    assert len(refuges) >= 2
    for s in refuges:
        assert s["confidential"] == "true"
        assert s["postcode"] == s["latitude"] == s["longitude"] == s["easting"] == s["northing"] == ""
        assert s["serves"]
        assert float(s["capacity"]) > 0 and s["capacity_unit"] == "family_spaces"


def test_every_other_service_has_exactly_one_kind_of_location_or_serves(services):
    for s in services:
        kinds = [bool(s["postcode"]), bool(s["latitude"]), bool(s["easting"])]
        assert sum(kinds) <= 1
        assert sum(kinds) == 1 or s["serves"], s["service_id"]
    assert sum(bool(s["postcode"]) for s in services) > len(services) / 2  # mostly postcodes
    assert any(s["latitude"] for s in services) and any(s["easting"] for s in services)


def test_service_points_are_inside_the_county(services, polygons, postcodes):
    county = shapely.union_all(list(polygons.values()))
    live = {r["pcds"] for r in postcodes if not r["doterm"]}
    for s in services:
        if s["postcode"]:
            assert s["postcode"] in live  # the demo loads without terminated-postcode warnings
        if s["latitude"]:
            assert county.contains(Point(float(s["longitude"]), float(s["latitude"])))


def test_a_district_has_no_perpetrator_provision(services, served_areas, polygons):
    config = default_config()
    with_perpetrator_work = set()
    for s in services:
        cohorts = s["cohorts"].split(";") if s["cohorts"] else config.service_types[s["service_type"]].cohorts
        if "perpetrators" in cohorts:
            with_perpetrator_work |= served_areas[s["service_id"]]
    without = set(polygons) - with_perpetrator_work
    assert without == {NO_PERPETRATOR_AREA}
    assert NO_PERPETRATOR_AREA != CITY


def test_funding_cliff_is_fixed_dates(services):
    ends = [date.fromisoformat(s["funding_end"]) for s in services if s["funding_end"]]
    soon = [d for d in ends if REFERENCE < d <= SIX_MONTHS_LATER]
    later = [d for d in ends if d > SIX_MONTHS_LATER]
    assert len(soon) >= 3 and len(later) >= 1
    assert all(d > REFERENCE for d in ends)  # nothing already ended on the reference date


def test_county_wide_and_specialist_services(services):
    by_type: dict[str, list[dict]] = {}
    for s in services:
        by_type.setdefault(s["service_type"], []).append(s)
    assert any(s["serves"] == "*" for s in by_type["idva"])
    assert len(by_type["marac"]) >= 2
    assert [s["serves"] for s in by_type["rape_crisis_centre"]] == ["*"]
    assert len(by_type["sarc"]) == 1
    assert sum(bool(s["catchment_km"]) for s in services) >= 2
    groups = {g for s in services for g in s["specialist_groups"].split(";") if g}
    assert {"bme", "lgbtq", "male"} <= groups
    assert {s["hours"] for s in services} >= {"24_7", "office", "extended"}


def test_idva_ratio_green_in_the_city_short_in_districts(services, served_areas, population):
    """IDVA FTE shared between served areas by females 16+ (domain.md), computed by hand."""
    f16 = {r["area_code"]: int(r["females_16_plus"]) for r in population}
    provided = dict.fromkeys(f16, 0.0)
    for s in services:
        if s["service_type"] != "idva":
            continue
        areas = served_areas[s["service_id"]]
        denominator = sum(f16[a] for a in areas)
        for a in areas:
            provided[a] += float(s["capacity"]) * f16[a] / denominator
    ratio = {a: provided[a] / (f16[a] * 4 / 100_000) for a in f16}
    assert ratio[CITY] >= 1.0  # green
    districts = [a for a in f16 if a != CITY]
    assert any(ratio[a] < 0.5 for a in districts)  # red
    assert any(0.5 <= ratio[a] < 1.0 for a in districts)  # amber


# ---------------------------------------------------------------- through the real loaders
def test_demo_loads_with_no_errors():
    dataset_module = pytest.importorskip("gapmap.dataset")
    pytest.importorskip("gapmap.population")
    dataset, report = dataset_module.validate_dataset(today=REFERENCE)
    assert report.ok, report.to_text()
    assert dataset is not None and dataset.is_demo
    assert len(dataset.areas) == len(AREAS)
    assert len(dataset.services) == len(_rows(settings.DEMO_SERVICES))
    refuges = dataset.services[dataset.services["service_type"] == "refuge"]
    assert refuges["confidential"].all() and refuges.geometry.isna().all()
