"""Area boundaries as analysts download them from the ONS Open Geography Portal.

GeoJSON, GeoPackage or zipped Shapefile; WGS84 or British National Grid (or no CRS at
all, when the coordinates say which it is); code/name columns of any vintage
(``LAD13CD`` … ``LAD24CD``, ``CTYUA23CD``, ``areacd``, ``pfa20_code``, plain ``code``).
Everything is normalised to ``area_code``, ``area_name``, geometry in EPSG:4326, plus
the numeric columns of the file (so population carried in the boundary file can be
used as denominators).

Zipped Shapefiles are inspected before anything is extracted: a member with an
absolute path or ``..`` (a "zip slip" that would write outside the target folder) makes
the whole file rejected, and the members that are read are written under their bare
file names in a private temporary folder.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gapmap import settings
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.schema import AREA_CODE, AREA_NAME
from gapmap.tables import human_size

ROLE = "boundaries"

#: ONS column names of any vintage: LAD13CD, CTYUA23NM, ltla21cd, ...
_ONS_VINTAGE = re.compile(
    r"^(LAD|LTLA|UTLA|CTYUA|CTY|CAUTH|RGN|PFA|CSP|WD|LSOA|MSOA|CTRY)(\d{2})(CD|NM)$", re.IGNORECASE
)
#: geographr-style names: pfa20_code, ltla21_name, lad24_code.
_SNAKE_VINTAGE = re.compile(
    r"^(LAD|LTLA|UTLA|CTYUA|CTY|CAUTH|RGN|PFA|CSP|WD|LSOA|MSOA|CTRY)(\d{2})_(code|name)$", re.IGNORECASE
)
#: Plain names, as (code column, name column) pairs, in order of preference.
_PLAIN_PAIRS: tuple[tuple[str, str], ...] = (
    ("area_code", "area_name"),
    ("areacd", "areanm"),
    ("code", "name"),
    ("gss_code", "gss_name"),
)
#: Which geography wins when a file carries several (a LAD file with its county columns).
_PREFIX_PREFERENCE = (
    "LAD",
    "LTLA",
    "UTLA",
    "CTYUA",
    "CTY",
    "CAUTH",
    "RGN",
    "PFA",
    "CSP",
    "CTRY",
    "WD",
    "MSOA",
    "LSOA",
)

_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")
_SHAPEFILE_OPTIONAL = (".prj", ".cpg")

#: Coordinates that can only be British National Grid metres (x, y ranges of the grid).
_BNG_X = (0.0, 700_000.0)
_BNG_Y = (0.0, 1_300_000.0)

_POLYGONAL = ("Polygon", "MultiPolygon")


def load_boundaries(
    path: Path | str | None,
    *,
    report: ValidationReport | None = None,
    content: bytes | None = None,
    name: str | None = None,
) -> gpd.GeoDataFrame | None:
    """Read area boundaries and normalise them.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage or zipped Shapefile; ignored when `content` is given.
    report
        Problems are added here, and None is returned if this file has errors. Without a
        report, errors raise `GapmapInputError` (warnings are then dropped).
    content, name
        An upload held in memory, and its original file name.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``area_code``, ``area_name``, the file's numeric
    columns and ``geometry`` (Polygon / MultiPolygon), one row per area, in file order.
    ``attrs["code_column"]``/``attrs["name_column"]`` name the columns used.
    """
    own_report = report is None
    rep = ValidationReport() if report is None else report
    label = name or (Path(path).name if path is not None else "boundaries upload")
    errors_before = len(rep.errors)
    areas = _load(path, content, label, rep)
    if len(rep.errors) > errors_before:
        if own_report:
            raise GapmapInputError(rep.problems)
        return None
    return areas


# --------------------------------------------------------------------------- reading


def _load(
    path: Path | str | None, content: bytes | None, label: str, report: ValidationReport
) -> gpd.GeoDataFrame | None:
    limit = settings.MAX_BOUNDARY_BYTES
    if content is None:
        if path is None:
            report.error(label, "no boundary file was given.")
            return None
        p = Path(path)
        if p.is_dir():
            report.error(label, f"{p} is a folder, not a file. Give the path of the boundary file itself.")
            return None
        if not p.is_file():
            report.error(label, f"file not found: {p}. Check the path and the file name.")
            return None
        size = p.stat().st_size
        if size > limit:
            report.error(label, _too_big(size, limit))
            return None
        content = p.read_bytes()
    elif len(content) > limit:
        report.error(label, _too_big(len(content), limit))
        return None
    if not content.strip():
        report.error(label, "the file is empty. Download the boundary file again.")
        return None

    with tempfile.TemporaryDirectory(prefix="gapmap-boundaries-") as tmp:
        source = _materialise(content, label, Path(tmp), report)
        if source is None:
            return None
        frame = _read_layer(source, label, report)
    if frame is None:
        return None
    return _normalise(frame, label, report)


def _too_big(size: int, limit: int) -> str:
    return (
        f"the file is {human_size(size)}, over the {human_size(limit)} limit for boundaries. Use a "
        "generalised (BGC, BSC or BUC) ONS boundary file, or clip it to your region."
    )


def _materialise(content: bytes, label: str, tmp: Path, report: ValidationReport) -> Path | None:
    """Write the input as a file GDAL can open, after checking what it is."""
    head = content[:64].lstrip()
    if content.startswith(b"PK\x03\x04") or content.startswith(b"PK\x05\x06"):
        return _extract_shapefile(content, label, tmp, report)
    if content.startswith(b"SQLite format 3\x00"):
        target = tmp / "boundaries.gpkg"
        target.write_bytes(content)
        return target
    if head.startswith((b"{", b"[", b"\xef\xbb\xbf{")):
        depth = json_depth(content, MAX_JSON_DEPTH)
        if depth > MAX_JSON_DEPTH:
            report.error(
                label,
                f"this GeoJSON nests brackets more than {MAX_JSON_DEPTH} levels deep (a boundary file needs "
                "about 8), so it was not read: it is damaged or not a boundary file. Download or "
                "export the boundaries again.",
            )
            return None
        text = content.decode("utf-8-sig", errors="replace")
        try:
            document = json.loads(text, parse_constant=_refuse_constant)
        except _NonFiniteNumber as exc:
            report.error(
                label,
                f"this GeoJSON contains the value {exc}, which is not a number JSON allows (coordinates "
                "must be real numbers). Export the boundaries again, or fix the geometry in a GIS first.",
            )
            return None
        except RecursionError:  # belt and braces: json_depth should have refused it
            report.error(label, "this GeoJSON is nested too deeply to read. Export it again.")
            return None
        except json.JSONDecodeError as exc:
            report.error(
                label,
                f"this GeoJSON is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "the file is probably cut short or damaged. Download or export it again.",
            )
            return None
        kind = document.get("type") if isinstance(document, dict) else None
        if kind not in ("FeatureCollection", "Feature", "Topology"):
            report.error(
                label,
                'this JSON file is not GeoJSON: it has no "type": "FeatureCollection" of features. '
                "Download the boundaries as GeoJSON from the ONS Open Geography Portal.",
            )
            return None
        target = tmp / "boundaries.geojson"
        target.write_bytes(content)
        return target
    if content[:4] == b"\x00\x00\x27\x0a":
        report.error(
            label,
            "this is a bare .shp file. A Shapefile needs its .shx, .dbf and .prj files too: put them "
            "all in one .zip and upload the zip.",
        )
        return None
    report.error(
        label,
        "this is not a GeoJSON, GeoPackage or zipped Shapefile. Download the boundaries from the "
        "ONS Open Geography Portal in one of those formats.",
    )
    return None


#: Deepest bracket nesting accepted in a GeoJSON. A FeatureCollection of MultiPolygons
#: needs 8 levels; Python's json parser recurses once per level, so 100,000 levels of
#: "[[[[" would exhaust the stack before any message could be given.
MAX_JSON_DEPTH = 64

#: Bytes scanned at a time by `json_depth` (bounded memory for a 200 MB file).
_DEPTH_CHUNK = 8 * 1024 * 1024


def json_depth(content: bytes, stop_at: int | None = None) -> int:
    """Deepest nesting of [ and { in a JSON text, by a scan that never recurses.

    Brackets inside strings are counted too (they are rare in boundary files and, being
    balanced in practice, rarely deepen the count); `stop_at` ends the scan once the depth
    exceeds it.
    """
    depth = deepest = 0
    for start in range(0, len(content), _DEPTH_CHUNK):
        chunk = np.frombuffer(
            content, dtype=np.uint8, count=min(_DEPTH_CHUNK, len(content) - start), offset=start
        )
        step = (
            (chunk == ord("[")).astype(np.int32)
            + (chunk == ord("{"))
            - (chunk == ord("]"))
            - (chunk == ord("}"))
        )
        running = np.cumsum(step) + depth
        if len(running):
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
        if stop_at is not None and deepest > stop_at:
            break
    return deepest


class _NonFiniteNumber(ValueError):
    """JSON's non-standard NaN / Infinity / -Infinity constant, which Python accepts."""


def _refuse_constant(name: str) -> float:
    raise _NonFiniteNumber(name)


def _extract_shapefile(content: bytes, label: str, tmp: Path, report: ValidationReport) -> Path | None:
    """Check a zip's members (zip slip, missing parts) and extract one Shapefile by bare names."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError):
        report.error(label, "this zip file is damaged or incomplete. Download it again.")
        return None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        unsafe = [i.filename for i in infos if _is_unsafe_member(i.filename)]
        if unsafe:
            report.error(
                label,
                "the zip contains file paths that point outside its own folder "
                f"({', '.join(repr(u) for u in unsafe[:5])}), which could overwrite other files. It was not "
                "opened. Re-create the zip from the shapefile's files only.",
            )
            return None
        if "xl/workbook.xml" in {i.filename for i in infos}:
            report.error(
                label, "this is an Excel workbook, not boundaries. Upload a GeoJSON, GeoPackage or zip."
            )
            return None
        # macOS adds resource forks (__MACOSX/, ._name) to zips made in the Finder.
        infos = [i for i in infos if not _is_macos_junk(i.filename)]
        by_stem: dict[str, dict[str, zipfile.ZipInfo]] = {}
        for info in infos:
            member = PurePosixPath(info.filename.replace("\\", "/"))
            suffix = member.suffix.lower()
            stem = str(member.with_suffix("")).lower()
            by_stem.setdefault(stem, {})[suffix] = info
        shapefiles = {stem: parts for stem, parts in by_stem.items() if ".shp" in parts}
        if not shapefiles:
            geo = [
                i for i in infos if PurePosixPath(i.filename).suffix.lower() in (".geojson", ".json", ".gpkg")
            ]
            if len(geo) == 1:
                return _extract_member(
                    zf, geo[0], tmp, tmp / ("boundaries" + PurePosixPath(geo[0].filename).suffix)
                )
            report.error(
                label,
                "the zip holds no .shp file (it contains: "
                f"{', '.join(i.filename for i in infos[:8]) or 'nothing'}). Zip the .shp, .shx, .dbf and "
                ".prj files of the boundary layer.",
            )
            return None
        if len(shapefiles) > 1:
            names = ", ".join(sorted(PurePosixPath(s).name + ".shp" for s in shapefiles))
            report.error(
                label, f"the zip holds several shapefiles ({names}). Zip only the boundary layer you want."
            )
            return None
        stem, parts = next(iter(shapefiles.items()))
        base = PurePosixPath(stem).name
        missing = [ext for ext in _SHAPEFILE_PARTS if ext not in parts]
        if missing:
            report.error(
                label,
                f"the zipped Shapefile '{base}.shp' is missing its {', '.join(base + m for m in missing)} "
                f"file{'s' if len(missing) > 1 else ''}. A Shapefile is several files: zip the .shp, .shx, "
                ".dbf and .prj together.",
            )
            return None
        total = sum(parts[ext].file_size for ext in parts)
        if total > 10 * settings.MAX_BOUNDARY_BYTES:
            report.error(label, f"the zipped Shapefile unpacks to {human_size(total)}, too large to read.")
            return None
        target: Path | None = None
        for ext in _SHAPEFILE_PARTS + _SHAPEFILE_OPTIONAL:
            if ext in parts:
                written = _extract_member(zf, parts[ext], tmp, tmp / f"boundaries{ext}")
                if ext == ".shp":
                    target = written
        return target


def _is_macos_junk(filename: str) -> bool:
    member = PurePosixPath(filename.replace("\\", "/"))
    return member.name.startswith(".") or "__MACOSX" in member.parts


def _is_unsafe_member(filename: str) -> bool:
    name = filename.replace("\\", "/")
    return name.startswith("/") or bool(re.match(r"^[A-Za-z]:", name)) or ".." in name.split("/")


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, tmp: Path, target: Path) -> Path:
    # Written under a name we choose inside our own temp folder: never the member's path.
    assert target.parent == tmp
    with zf.open(info) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)  # streamed: a member can be gigabytes unzipped
    return target


def _read_layer(source: Path, label: str, report: ValidationReport) -> gpd.GeoDataFrame | None:
    # GDAL's own RuntimeWarnings (field names laundered, odd GeoPackage ids) mean nothing
    # to an analyst and would leak temp paths into logs; real failures raise and are reported.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            layers = pyogrio.list_layers(source)
        except Exception as exc:  # GDAL's errors for damaged files; none is the user's bug
            report.error(
                label, f"this boundary file cannot be opened ({_gdal_message(exc)}). Export it again."
            )
            return None
        layer = None
        if len(layers) > 1:
            polygon_layers = [str(n) for n, g in layers if g and "polygon" in str(g).lower()]
            if not polygon_layers:
                names = ", ".join(str(n) for n, _ in layers)
                report.error(label, f"none of the layers ({names}) holds polygons.")
                return None
            layer = polygon_layers[0]
            if len(polygon_layers) > 1:
                report.warn(
                    label,
                    f"the file has {len(polygon_layers)} polygon layers ({', '.join(polygon_layers)}); read "
                    f"'{layer}'. Save the layer you want on its own if that is the wrong one.",
                )
        try:
            return pyogrio.read_dataframe(source, layer=layer)
        except Exception as exc:
            report.error(label, f"this boundary file cannot be read ({_gdal_message(exc)}). Export it again.")
            return None


def _gdal_message(exc: Exception) -> str:
    """GDAL's message without our temporary path (meaningless to the analyst)."""
    text = re.sub(r"'?[^\s']*gapmap-boundaries-[^\s']*'?", "the file", str(exc))
    return text if len(text) < 160 else text[:159] + "…"


# --------------------------------------------------------------------------- normalising


def _normalise(frame: gpd.GeoDataFrame, label: str, report: ValidationReport) -> gpd.GeoDataFrame | None:
    if len(frame) == 0:
        report.error(label, "the boundary file has no features (areas).")
        return None
    columns = _detect_code_name(list(frame.columns.drop("geometry", errors="ignore")), label, report)
    if columns is None:
        return None
    code_col, name_col = columns
    rows = np.arange(1, len(frame) + 1)  # feature index + 1, the number GIS tools show

    codes = normalise_codes(frame[code_col].astype("string").fillna(""))
    if name_col is None:
        names = codes.copy()
        report.warn(label, f"no area name column found; the codes in `{code_col}` are used as names.")
    else:
        names = frame[name_col].astype("string").str.strip().fillna("")
        blank_name = (names == "") & (codes != "")
        if blank_name.any():
            report.warn(
                label,
                f"{int(blank_name.sum())} area(s) have no name "
                f"({_list_codes(codes[blank_name], rows[blank_name])}); their codes are used as names.",
                column=name_col,
            )
            names = names.where(~blank_name, codes)

    ok = True
    blank = codes == ""
    for row in rows[blank.to_numpy()]:
        report.error(
            label, "this area has no code. Every area needs its ONS code.", row=int(row), column=code_col
        )
        ok = False
    duplicated = codes.duplicated(keep=False) & ~blank
    if duplicated.any():
        for code in pd.unique(codes[duplicated]):
            at = rows[(codes == code).to_numpy()]
            report.error(
                label,
                f"area code {code} appears {len(at)} times (features {', '.join(str(int(r)) for r in at)}). "
                "Codes must be unique; if these are parts of one area, dissolve them into one feature "
                "(e.g. in QGIS).",
                row=int(at[0]),
                column=code_col,
            )
        ok = False

    geometry = _check_geometries(frame.geometry, codes, rows, label, report)
    if geometry is None:
        ok = False
    crs = _resolve_crs(frame, label, report) if ok else None
    if not ok or crs is None or geometry is None:
        return None

    out = gpd.GeoDataFrame(
        {AREA_CODE: codes.astype(str).to_numpy(), AREA_NAME: names.astype(str).to_numpy()},
        geometry=gpd.GeoSeries(geometry, crs=crs),
        crs=crs,
    )
    for column, values in _numeric_columns(frame, exclude={code_col, name_col}).items():
        out.insert(len(out.columns) - 1, column, values.to_numpy())
    if out.crs.to_epsg() != settings.WGS84_EPSG:
        out = out.to_crs(settings.WGS84_EPSG)
    out.attrs["code_column"] = code_col
    out.attrs["name_column"] = name_col
    return out


def normalise_codes(codes: pd.Series) -> pd.Series:
    """Strip codes and upper-case GSS codes typed in lower case ("e06000001" -> "E06000001").

    Boundaries and population are joined on these codes, so both loaders use this.
    """
    stripped = codes.astype(str).str.strip()
    gss = stripped.str.fullmatch(r"[A-Za-z]\d{8}")
    return stripped.where(~gss, stripped.str.upper())


def _list_codes(codes: pd.Series | Sequence[str], rows: np.ndarray | Sequence[int], limit: int = 10) -> str:
    items = [f"{c or '(no code)'} (feature {int(r)})" for c, r in zip(codes, rows, strict=True)]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _detect_code_name(
    columns: list[str], label: str, report: ValidationReport
) -> tuple[str, str | None] | None:
    """(code column, name column or None), preferring LAD columns and the newest vintage."""
    candidates: list[tuple[tuple[int, int, int], str, str | None]] = []
    lower = {c.lower(): c for c in columns}
    for column in columns:
        for pattern, name_for in ((_ONS_VINTAGE, _ons_name), (_SNAKE_VINTAGE, _snake_name)):
            m = pattern.match(column)
            if m and m.group(3).lower() in ("cd", "code"):
                prefix = m.group(1).upper()
                rank = _PREFIX_PREFERENCE.index(prefix) if prefix in _PREFIX_PREFERENCE else 99
                name_col = lower.get(name_for(m).lower())
                candidates.append(((0, rank, -int(m.group(2))), column, name_col))
    for order, (code, name) in enumerate(_PLAIN_PAIRS):
        if code in lower:
            candidates.append(((1, order, 0), lower[code], lower.get(name)))
    if not candidates:
        report.error(
            label,
            f"no area code column found. The file has columns: {', '.join(columns) or '(none)'}. Expected an "
            "ONS code column such as LAD24CD / LAD13CD / CTYUA23CD / areacd (with its name column, e.g. "
            "LAD24NM), or columns named area_code and area_name.",
        )
        return None
    candidates.sort(key=lambda c: c[0])
    _, code_col, name_col = candidates[0]
    if len(candidates) > 1:
        others = ", ".join(c[1] for c in candidates[1:])
        report.warn(
            label,
            f"several area code columns found; used `{code_col}`"
            + (f" with names from `{name_col}`" if name_col else "")
            + f" (also present: {others}).",
        )
    return code_col, name_col


def _ons_name(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}NM"


def _snake_name(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}_name"


def _check_geometries(
    geoms: gpd.GeoSeries, codes: pd.Series, rows: np.ndarray, label: str, report: ValidationReport
) -> np.ndarray | None:
    """Polygonal geometries, invalid ones repaired; None (with errors) if any is unusable."""
    values = np.asarray(geoms.values, dtype=object)
    missing = np.array([g is None or shapely.is_empty(g) for g in values])
    ok = True
    if missing.any():
        report.error(
            label,
            f"{int(missing.sum())} area(s) have an empty geometry: "
            f"{_list_codes(codes[missing], rows[missing])}. Every area needs its boundary polygon.",
            row=int(rows[missing][0]),
        )
        ok = False
    # NaN or infinite coordinates (possible in a Shapefile or GeoPackage) crash GEOS
    # operations later; they are reported here, by feature.
    present = values.copy()
    present[missing] = None
    coords, owner = shapely.get_coordinates(present, return_index=True)
    finite = np.ones(len(values), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    if not finite.all():
        bad = ~finite
        report.error(
            label,
            f"{int(bad.sum())} area(s) have coordinates that are not numbers (NaN or infinity): "
            f"{_list_codes(codes[bad], rows[bad])}. Fix or re-export these boundaries in a GIS.",
            row=int(rows[bad][0]),
        )
        return None
    types = np.array([None if m else g.geom_type for g, m in zip(values, missing, strict=True)], dtype=object)
    not_polygon = ~missing & ~np.isin(types, (*_POLYGONAL, "GeometryCollection"))
    if not_polygon.any():
        kinds = ", ".join(sorted({str(t) for t in types[not_polygon]}))
        report.error(
            label,
            f"{int(not_polygon.sum())} feature(s) are not polygons ({kinds}): "
            f"{_list_codes(codes[not_polygon], rows[not_polygon])}. Boundaries must be area polygons, "
            "not points or lines (did you upload a list of locations?).",
            row=int(rows[not_polygon][0]),
        )
        ok = False
    if not ok:
        return None

    repaired: list[int] = []
    out = values.copy()
    for i, geom in enumerate(values):
        if geom.geom_type in _POLYGONAL and shapely.is_valid(geom):
            continue
        fixed = _polygonal_part(shapely.make_valid(geom))
        if fixed is None:
            report.error(
                label,
                f"area {codes.iloc[i] or '(no code)'} has no usable polygon after repairing its geometry.",
                row=int(rows[i]),
            )
            ok = False
            continue
        out[i] = fixed
        repaired.append(i)
    if repaired:
        idx = np.array(repaired)
        report.warn(
            label,
            f"repaired {len(repaired)} invalid geometr{'y' if len(repaired) == 1 else 'ies'} "
            "(self-intersections or similar; polygon parts kept): "
            f"{_list_codes(codes.iloc[idx], rows[idx])}.",
        )
    return out if ok else None


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    if geom.geom_type in _POLYGONAL:
        return None if geom.is_empty else geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL and not g.is_empty]
        if not polys:
            return None
        merged = shapely.union_all(polys)
        return merged if merged.geom_type in _POLYGONAL else None
    return None


def _resolve_crs(frame: gpd.GeoDataFrame, label: str, report: ValidationReport) -> CRS | None:
    """The CRS of the file, or the one its coordinates imply when it declares none.

    GeoJSON always claims WGS84 (GDAL assumes it when the file says nothing), so a
    geographic CRS with coordinates far outside longitude/latitude is treated as no CRS.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in frame.total_bounds)
    lonlat_like = -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90
    bng_like = _BNG_X[0] <= xmin <= xmax <= _BNG_X[1] and _BNG_Y[0] <= ymin <= ymax <= _BNG_Y[1]
    bounds = f"x {xmin:,.0f} to {xmax:,.0f}, y {ymin:,.0f} to {ymax:,.0f}"
    crs = frame.crs
    if crs is not None and not (crs.is_geographic and not lonlat_like):
        return CRS.from_user_input(crs)
    said = (
        "claims longitude/latitude (WGS84) but" if crs is not None else "has no coordinate system (CRS) and"
    )
    if crs is None and lonlat_like:
        report.warn(
            label,
            "the file has no coordinate system (CRS); its coordinates look like longitude/latitude, so "
            "WGS84 (EPSG:4326) is assumed. Add a .prj file (or CRS) to be sure.",
        )
        return CRS.from_epsg(settings.WGS84_EPSG)
    if bng_like:
        report.warn(
            label,
            f"the file {said} its coordinates ({bounds}) look like British National Grid metres, so "
            "EPSG:27700 is assumed. Add a .prj file (or export with the CRS) to be sure.",
        )
        return CRS.from_epsg(settings.BNG_EPSG)
    report.error(
        label,
        f"the file {said} its coordinates ({bounds}) are neither longitude/latitude nor British National "
        "Grid metres. Include the .prj file in the zip, or export the boundaries in EPSG:4326 or EPSG:27700.",
    )
    return None


def _numeric_columns(frame: pd.DataFrame, exclude: set[str | None]) -> dict[str, pd.Series]:
    """The file's numeric attribute columns (text columns holding only numbers count too)."""
    out: dict[str, pd.Series] = {}
    taken = {AREA_CODE, AREA_NAME, "geometry"}
    for column in frame.columns:
        if column in exclude or column in taken or column == frame.geometry.name:
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            if series.notna().any():  # an all-empty column is no denominator
                out[column] = series.astype(float)
            continue
        text = series.astype("string").str.strip().str.replace(",", "", regex=False)
        filled = text.dropna()
        filled = filled[filled != ""]
        if len(filled) == 0:
            continue
        numbers = pd.to_numeric(filled, errors="coerce")
        if numbers.notna().all():
            out[column] = pd.to_numeric(text.replace("", pd.NA), errors="coerce").astype(float)
    return out
