"""scripts/build_england.py regenerates gapmap/data/england exactly from ../shared/data."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "gapmap" / "data" / "england"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_england", REPO / "scripts" / "build_england.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.shared_data
def test_rebuild_matches_the_committed_files(shared_data, tmp_path):
    written = _build_module().build(shared_data, tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "england.gpkg",
            "districts.csv",
            "district_csp.csv",
            "population.csv",
            "population_columns.csv",
            "small_areas.csv.gz",
        ]
    )
    # Gzip output can differ between zlib builds: the CSV inside is what must match.
    new_small = gzip.decompress((tmp_path / "small_areas.csv.gz").read_bytes())
    assert new_small == gzip.decompress((SHIPPED / "small_areas.csv.gz").read_bytes())
    for name in names:
        if name.endswith(".csv"):
            assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name
    # A GeoPackage holds timestamps, so its layers are compared, not its bytes.
    for layer in ("district", "tier1", "pfa", "region"):
        new = gpd.read_file(tmp_path / "england.gpkg", layer=layer)
        old = gpd.read_file(SHIPPED / "england.gpkg", layer=layer)
        assert list(new["code"]) == list(old["code"]) and list(new["name"]) == list(old["name"]), layer
        assert shapely.equals_exact(new.geometry.values, old.geometry.values, tolerance=0).all(), layer


def test_shipped_geography_is_small_and_attributed():
    total = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert total < 3_000_000  # "a few MB at most"
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in readme
    assert "Contains OS data © Crown copyright and database right" in readme
    assert "LAD May 2024 Boundaries UK BUC" in readme


def test_shipped_small_areas_are_england_lsoas_with_census_population():
    frame = pd.read_csv(SHIPPED / "small_areas.csv.gz", dtype={"small_area_code": str, "district_code": str})
    assert len(frame) == 33_755 and frame["small_area_code"].is_unique
    assert frame["small_area_code"].str.startswith("E01").all()
    # SOURCES.md: Census 2021 usual residents sum to 56,490,046 for England's LSOAs.
    assert int(frame["population"].sum()) == 56_490_046
    districts = pd.read_csv(SHIPPED / "districts.csv", dtype=str)
    assert set(frame["district_code"]) == set(districts["district_code"])
    # British National Grid metres inside England's bounding box.
    assert frame["easting"].between(80_000, 660_000).all()
    assert frame["northing"].between(0, 660_000).all()
