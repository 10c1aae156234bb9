"""load_boundaries: real ONS files of several vintages, BNG copies, and hand-made edge cases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gapmap import settings
from gapmap.boundaries import load_boundaries
from gapmap.errors import GapmapInputError, ValidationReport


def load(path, **kwargs):
    report = ValidationReport()
    return load_boundaries(path, report=report, **kwargs), report


def geojson_bytes(features: list[tuple[dict, object]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": None if g is None else g.__geo_interface__,
                }
                for props, g in features
            ],
        }
    ).encode()


# --------------------------------------------------------------------------- real ONS files


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("file", "count", "code_column", "first"),
    [
        ("england_lad_2013.geojson", 326, "LAD13CD", ("E06000001", "Hartlepool")),
        ("england_lad_2024_buc.geojson", 296, "LAD24CD", ("E06000001", "Hartlepool")),
        ("england_utla_2024_ons_bsc.geojson", 153, "areacd", ("E06000001", "Hartlepool")),
        ("police_force_areas_2020_ew_buc.geojson", 43, "pfa20_code", ("E23000001", "Metropolitan Police")),
    ],
)
def test_real_boundary_files_of_each_column_convention(shared_data, file, count, code_column, first):
    areas, report = load(shared_data / "boundaries" / file)
    assert report.ok, report.to_text()
    assert len(areas) == count and areas["area_code"].is_unique
    assert areas.attrs["code_column"] == code_column
    assert tuple(areas.iloc[0][["area_code", "area_name"]]) == first
    assert areas.crs.to_epsg() == 4326
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert areas.is_valid.all()


@pytest.mark.shared_data
def test_lad_2024_has_burnley_and_keeps_numeric_columns(shared_data):
    areas, _ = load(shared_data / "boundaries" / "england_lad_2024_buc.geojson")
    burnley = areas.set_index("area_code").loc["E07000117"]
    assert burnley["area_name"] == "Burnley"
    assert {"centroid_lon", "centroid_lat"} <= set(areas.columns)
    # Burnley's ONS reference point lies inside its own boundary
    from shapely.geometry import Point

    assert burnley.geometry.buffer(0.01).contains(Point(burnley["centroid_lon"], burnley["centroid_lat"]))


@pytest.fixture
def lad_2024(shared_data) -> gpd.GeoDataFrame:
    return gpd.read_file(shared_data / "boundaries" / "england_lad_2024_buc.geojson")


def _zip_shapefile(folder: Path, frame: gpd.GeoDataFrame, target: Path, *, prj: bool = True) -> Path:
    shp = folder / "lad.shp"
    frame.to_file(shp)
    with zipfile.ZipFile(target, "w") as zf:
        for part in sorted(folder.glob("lad.*")):
            if prj or part.suffix != ".prj":
                zf.write(part, f"LAD_MAY_2024/{part.name}")  # ONS zips use a folder inside
    return target


def _assert_same_areas(loaded: gpd.GeoDataFrame, original: gpd.GeoDataFrame) -> None:
    assert loaded["area_code"].tolist() == original["LAD24CD"].tolist()
    assert loaded["area_name"].tolist() == original["LAD24NM"].tolist()
    a = loaded.to_crs(27700).geometry.area.to_numpy()
    b = original.to_crs(27700).geometry.area.to_numpy()
    assert np.allclose(a, b, rtol=1e-6)
    moved = loaded.to_crs(27700).geometry.symmetric_difference(original.to_crs(27700).geometry, align=False)
    # the reprojection round trip moves vertices by millimetres, nothing more
    assert (moved.area.to_numpy() / b).max() < 1e-5


@pytest.mark.shared_data
def test_bng_geopackage_copy_yields_the_same_areas(lad_2024, tmp_path):
    path = tmp_path / "lad_bng.gpkg"
    lad_2024.to_crs(27700).to_file(path)
    areas, report = load(path)
    assert report.problems == []
    _assert_same_areas(areas, lad_2024)


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore:Column names longer than 10 characters")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bng_zipped_shapefile_copy_yields_the_same_areas(lad_2024, tmp_path):
    (tmp_path / "shp").mkdir()
    path = _zip_shapefile(tmp_path / "shp", lad_2024.to_crs(27700), tmp_path / "lad_bng.zip")
    areas, report = load(path)
    assert report.problems == []
    _assert_same_areas(areas, lad_2024)


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore:Column names longer than 10 characters")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bng_shapefile_without_prj_is_detected_as_bng_with_a_warning(lad_2024, tmp_path):
    (tmp_path / "shp").mkdir()
    path = _zip_shapefile(tmp_path / "shp", lad_2024.to_crs(27700), tmp_path / "lad_noprj.zip", prj=False)
    areas, report = load(path)
    assert report.ok
    [warning] = report.warnings
    assert "no coordinate system" in warning.message and "EPSG:27700 is assumed" in warning.message
    _assert_same_areas(areas, lad_2024)


# --------------------------------------------------------------------------- tiny hand-made files


def test_upload_in_memory_and_plain_code_name_columns():
    content = geojson_bytes([({"code": "X1", "name": "Alpha", "females": 510}, box(-1.3, 52.6, -1.2, 52.7))])
    areas, report = load(None, content=content, name="upload.geojson")
    assert report.ok and areas["area_code"].tolist() == ["X1"] and areas["area_name"].tolist() == ["Alpha"]
    assert areas["females"].tolist() == [510.0]  # population carried in the boundary file


def test_several_code_columns_prefer_lad_and_say_which():
    props = {"CTY23CD": "E10000018", "CTY23NM": "Leicestershire", "LAD23CD": "E07000129", "LAD23NM": "Blaby"}
    areas, report = load(
        None, content=geojson_bytes([(props, box(-1.3, 52.6, -1.2, 52.7))]), name="x.geojson"
    )
    assert areas["area_code"].tolist() == ["E07000129"] and areas["area_name"].tolist() == ["Blaby"]
    assert "used `LAD23CD` with names from `LAD23NM`" in report.warnings[0].message


def test_newest_vintage_wins_and_snake_case_columns_are_detected():
    props = {"lad21_code": "OLD", "lad24_code": "NEW", "lad24_name": "Newtown"}
    areas, _ = load(None, content=geojson_bytes([(props, box(0, 52, 0.1, 52.1))]), name="x.geojson")
    assert areas["area_code"].tolist() == ["NEW"] and areas["area_name"].tolist() == ["Newtown"]


def test_missing_names_fall_back_to_codes_with_a_warning():
    areas, report = load(
        None, content=geojson_bytes([({"areacd": "E1"}, box(0, 52, 0.1, 52.1))]), name="x.geojson"
    )
    assert areas["area_name"].tolist() == ["E1"]
    assert "no area name column" in report.warnings[0].message


def test_lines_and_mixed_collections():
    from shapely.geometry import GeometryCollection, LineString, Point

    collection = GeometryCollection([box(0, 52, 0.1, 52.1), Point(0, 52), LineString([(0, 52), (1, 53)])])
    content = geojson_bytes([({"code": "A"}, collection), ({"code": "B"}, LineString([(0, 52), (1, 53)]))])
    areas, report = load(None, content=content, name="x.geojson")
    assert areas is None
    [error] = report.errors
    assert "not polygons (LineString): B (feature 2)" in error.message and error.row == 2


def test_geometry_collection_keeps_its_polygon_part_with_a_warning():
    from shapely.geometry import GeometryCollection, Point

    collection = GeometryCollection([box(0, 52, 0.1, 52.1), Point(0, 52)])
    areas, report = load(None, content=geojson_bytes([({"code": "A"}, collection)]), name="x.geojson")
    assert areas.geom_type.tolist() == ["Polygon"] and areas.geometry.iloc[0].equals(box(0, 52, 0.1, 52.1))
    assert any(
        "repaired 1 invalid geometry" in w.message and "A (feature 1)" in w.message for w in report.warnings
    )


def test_bowtie_is_repaired_to_two_triangles_of_the_right_area():
    from shapely.geometry import Polygon

    bowtie = Polygon([(0, 52), (0.1, 52.1), (0.1, 52), (0, 52.1), (0, 52)])
    areas, report = load(None, content=geojson_bytes([({"code": "A"}, bowtie)]), name="x.geojson")
    assert report.ok and areas.geom_type.tolist() == ["MultiPolygon"]
    # two triangles, each a quarter of the 0.1 x 0.1 square (in degrees)
    assert areas.geometry.iloc[0].area == pytest.approx(0.005)


def test_non_boundary_files_are_rejected_with_the_reason(tmp_path):
    cases = {
        "list.csv": (b"name,postcode\nA,LE1 1AA\n", "not a GeoJSON, GeoPackage or zipped Shapefile"),
        "areas.shp": (b"\x00\x00\x27\x0a" + b"\x00" * 96, "bare .shp file"),
        "empty.geojson": (b"  \n", "the file is empty"),
        "broken.zip": (b"PK\x03\x04 not really a zip", "damaged or incomplete"),
    }
    for name, (content, fragment) in cases.items():
        areas, report = load(None, content=content, name=name)
        assert areas is None and fragment in report.errors[0].message and report.errors[0].file == name


def test_workbook_given_as_boundaries(tmp_path):
    import openpyxl

    path = tmp_path / "areas.xlsx"
    openpyxl.Workbook().save(path)
    areas, report = load(path)
    assert areas is None and "Excel workbook, not boundaries" in report.errors[0].message


def test_geopackage_in_memory_and_empty_code_is_an_error(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["A", ""]}, geometry=[box(0, 52, 0.1, 52.1), box(1, 52, 1.1, 52.1)], crs=4326
    )
    frame.to_file(tmp_path / "x.gpkg")
    areas, report = load(None, content=(tmp_path / "x.gpkg").read_bytes(), name="x.gpkg")
    assert areas is None
    [error] = report.errors
    assert error.row == 2 and error.column == "code" and "no code" in error.message


def test_missing_file_raises_without_report(tmp_path):
    with pytest.raises(GapmapInputError, match="file not found"):
        load_boundaries(tmp_path / "nope.geojson")


def test_size_limit_applies_to_uploads(monkeypatch):
    monkeypatch.setattr(settings, "MAX_BOUNDARY_BYTES", 10)
    areas, report = load(None, content=b"{" + b" " * 20 + b"}", name="big.geojson")
    assert areas is None and "22 bytes" in report.errors[0].message


def test_zip_holding_a_geojson_and_macos_junk_loads(tmp_path):
    path = tmp_path / "areas.zip"
    content = geojson_bytes([({"LAD24CD": "e07000129", "LAD24NM": "Blaby"}, box(-1.3, 52.5, -1.2, 52.6))])
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("download/areas.geojson", content)
        zf.writestr("__MACOSX/download/._areas.geojson", b"junk")
    areas, report = load(path)
    assert report.ok, report.to_text()
    assert areas["area_code"].tolist() == ["E07000129"]  # a GSS code typed in lower case is upper-cased
