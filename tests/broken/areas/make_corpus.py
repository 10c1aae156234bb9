"""Regenerate the broken-input corpus for boundaries and population (run from the repo root).

    .venv/bin/python tests/broken/areas/make_corpus.py

Every file is tiny and fictional (squares near Leicester; made-up codes and counts).
The expected message for each is in tests/test_broken_areas.py.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
from shapely.geometry import Point, Polygon, box

HERE = Path(__file__).resolve().parent


def square(x: float, y: float, size: float = 0.1) -> Polygon:
    return box(x, y, x + size, y + size)


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(name: str, features: list[dict]) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": features}, indent=1)
    (HERE / name).write_text(text + "\n", encoding="utf-8")


def poly_json(poly: Polygon) -> dict:
    return {"type": "Polygon", "coordinates": [list(map(list, poly.exterior.coords))]}


def zipped_shapefile(name: str, frame: gpd.GeoDataFrame, keep: tuple[str, ...], crs: bool = True) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "areas.shp"
        frame.to_file(shp)
        with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_DEFLATED) as zf:
            for ext in keep:
                part = shp.with_suffix(ext)
                if part.exists() and (crs or ext != ".prj"):
                    info = zipfile.ZipInfo(f"areas{ext}", date_time=(2026, 1, 1, 0, 0, 0))
                    zf.writestr(info, part.read_bytes())


def main() -> None:
    two = gpd.GeoDataFrame(
        {"LAD24CD": ["E07999901", "E07999902"], "LAD24NM": ["Northwold", "Southwold"]},
        geometry=[square(-1.3, 52.6), square(-1.2, 52.6)],
        crs=4326,
    )
    all_parts = (".shp", ".shx", ".dbf", ".prj", ".cpg")
    zipped_shapefile("shapefile_missing_shx.zip", two, (".shp", ".dbf", ".prj"))
    zipped_shapefile("shapefile_no_prj_lonlat.zip", two, all_parts, crs=False)
    nonsense = two.copy()
    nonsense.geometry = [square(5_000_000, 5_000_000, 1000), square(5_001_000, 5_000_000, 1000)]
    zipped_shapefile(
        "shapefile_no_prj_nonsense_coordinates.zip",
        nonsense.set_crs(None, allow_override=True),
        all_parts,
        crs=False,
    )

    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "areas.shp"
        two.to_file(shp)
        with zipfile.ZipFile(HERE / "zip_slip.zip", "w") as zf:
            for ext in (".shp", ".shx", ".dbf", ".prj"):
                zf.writestr(
                    zipfile.ZipInfo(f"../evil{ext}", (2026, 1, 1, 0, 0, 0)), shp.with_suffix(ext).read_bytes()
                )
        with zipfile.ZipFile(HERE / "two_shapefiles.zip", "w") as zf:
            for stem in ("districts", "wards"):
                for ext in (".shp", ".shx", ".dbf", ".prj"):
                    zf.writestr(
                        zipfile.ZipInfo(f"{stem}{ext}", (2026, 1, 1, 0, 0, 0)),
                        shp.with_suffix(ext).read_bytes(),
                    )

    a, b, c = square(-1.3, 52.6), square(-1.2, 52.6), square(-1.1, 52.6)
    write_geojson(
        "points.geojson",
        [
            feature(
                {"LAD24CD": f"E0799990{i}", "LAD24NM": n}, {"type": "Point", "coordinates": list(p.coords[0])}
            )
            for i, (n, p) in enumerate(
                [("Northwold", Point(-1.25, 52.65)), ("Southwold", Point(-1.15, 52.65))], 1
            )
        ],
    )
    write_geojson(
        "duplicate_codes.geojson",
        [
            feature({"LAD24CD": "E07999901", "LAD24NM": "Northwold"}, poly_json(a)),
            feature({"LAD24CD": "E07999902", "LAD24NM": "Southwold"}, poly_json(b)),
            feature({"LAD24CD": "E07999901", "LAD24NM": "Northwold (island)"}, poly_json(c)),
        ],
    )
    write_geojson(
        "empty_geometry.geojson",
        [
            feature({"LAD24CD": "E07999901", "LAD24NM": "Northwold"}, poly_json(a)),
            feature({"LAD24CD": "E07999902", "LAD24NM": "Southwold"}, None),
        ],
    )
    write_geojson(
        "no_code_column.geojson",
        [
            feature({"district": "Northwold", "objectid": 1}, poly_json(a)),
            feature({"district": "Southwold", "objectid": 2}, poly_json(b)),
        ],
    )
    full = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [feature({"LAD24CD": "E07999901", "LAD24NM": "Northwold"}, poly_json(a))],
        }
    )
    (HERE / "truncated.geojson").write_text(full[: len(full) // 2], encoding="utf-8")
    (HERE / "not_geojson.geojson").write_text('{"areas": ["Northwold", "Southwold"]}\n', encoding="utf-8")
    bng = [box(450_000, 300_000, 460_000, 310_000), box(460_000, 300_000, 470_000, 310_000)]
    write_geojson(
        "bng_without_crs.geojson",
        [
            feature({"LAD24CD": f"E0799990{i}", "LAD24NM": n}, poly_json(p))
            for i, (n, p) in enumerate([("Northwold", bng[0]), ("Southwold", bng[1])], 1)
        ],
    )
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[-1.3, 52.6], [-1.2, 52.7], [-1.2, 52.6], [-1.3, 52.7], [-1.3, 52.6]]],
    }
    write_geojson(
        "self_intersecting.geojson",
        [
            feature({"LAD24CD": "E07999901", "LAD24NM": "Northwold"}, bowtie),
            feature({"LAD24CD": "E07999902", "LAD24NM": "Southwold"}, poly_json(c)),
        ],
    )

    header = "area_code,area_name,all_persons,females,females_16_plus\n"
    (HERE / "population_negative.csv").write_text(
        header + "E07999901,Northwold,1000,510,400\nE07999902,Southwold,2000,-5,800\n", encoding="utf-8"
    )
    (HERE / "population_not_a_number.csv").write_text(
        header + "E07999901,Northwold,1000,510,n/a\nE07999902,Southwold,2000,1020,800\n", encoding="utf-8"
    )
    (HERE / "population_no_code_column.csv").write_text(
        "district,all_persons,females\nNorthwold,1000,510\n", encoding="utf-8"
    )
    (HERE / "population_empty.csv").write_bytes(b"")
    (HERE / "population_duplicate_code.csv").write_text(
        header + "E07999901,Northwold,1000,510,400\nE07999901,Northwold,1000,510,400\n", encoding="utf-8"
    )
    (HERE / "population_windows1252.csv").write_bytes(
        (header + 'E07999901,Northwold \u2013 Caf\u00e9 ward,"1,000",510,400\n').encode("cp1252")
    )
    (HERE / "population_utf8_bom.csv").write_bytes(
        b"\xef\xbb\xbf" + (header + "E07999901,Northwold,1000,510,400\n").encode("utf-8")
    )
    (HERE / "population_prose.csv").write_text(
        "Dear colleague, here are the population figures you asked for.\n"
        "Northwold has about a thousand people and Southwold about two thousand.\n",
        encoding="utf-8",
    )
    (HERE / "population_pdf.csv").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Population"
    ws.append(["Population of Northwold and Southwold (fictional)"])
    ws.append(["Source: made up for tests"])
    ws.append(["area_code", "area_name", "all_persons", "females", "females_16_plus"])
    ws.append(["E07999901", "Northwold", 1000, 510, 400])
    ws.append(["E07999902", "Southwold", 2000, 1020, 800])
    buffer = io.BytesIO()
    wb.save(buffer)
    (HERE / "population_title_rows.xlsx").write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
