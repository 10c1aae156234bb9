"""Postcode lookups in the ONS Postcode Directory (ONSPD) / NSPL layout.

Only four columns matter: the postcode (`pcds`, or `pcd`/`pcd2`), `lat`, `long` and
`doterm` (date of termination; empty for a live postcode). Every other column is ignored.
A national ONSPD file has about 2.7 million rows and 50+ columns, so a CSV is read with
pandas' C parser keeping only those columns, rather than through `tables.read_table`
(which reads whole analyst-sized tables as text and enforces the upload size limit).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap import settings
from gapmap.errors import GapmapInputError, ValidationReport

#: Normalised header -> role, in order of preference within a role.
POSTCODE_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "postcode": ("pcds", "pcd", "pcd2", "pcd7", "pcd8", "postcode", "post_code"),
    "lat": ("lat", "latitude"),
    "long": ("long", "longitude", "lon", "lng"),
    "doterm": ("doterm", "date_of_termination", "terminated"),
}

#: The UK postcode shape once spaces are removed: outward code (2-4) + inward code (3).
_COMPACT_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")
_SPACES = re.compile(r"\s+")

#: ONSPD gives postcodes without a grid reference lat 99.999999 / long 0.
_NO_LOCATION_LAT = 90.0


def normalise_postcode(text: object) -> str | None:
    """`"le1  5ww"` -> `"LE1 5WW"`; None when the text does not have a UK postcode's shape.

    Parameters
    ----------
    text
        Anything; non-strings give None.
    """
    if not isinstance(text, str):
        return None
    compact = _SPACES.sub("", text).upper()
    if not _COMPACT_POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


_NORMALISED_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}")


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Vectorised `normalise_postcode`: a string Series with NA where the shape is invalid."""
    values = _as_text(values)
    # ONSPD's `pcds` is already in the normalised form: one regex pass instead of five.
    done = values.str.fullmatch(_NORMALISED_POSTCODE.pattern).fillna(False).astype(bool)
    if done.all():
        return values
    if done.any():
        out = values.copy()
        out[~done] = _normalise_all(values[~done])
        return out
    return _normalise_all(values)


def _normalise_all(values: pd.Series) -> pd.Series:
    compact = values.astype("string").str.replace(_SPACES.pattern, "", regex=True).str.upper()
    valid = compact.str.fullmatch(_COMPACT_POSTCODE.pattern).fillna(False).astype(bool)
    out = compact.str[:-3] + " " + compact.str[-3:]
    return out.where(valid, pd.NA)


def _header_key(column: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")


def _pick_columns(columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map role -> actual column name; the list of roles that are missing."""
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_header_key(col), col)
    picked: dict[str, str] = {}
    for role, aliases in POSTCODE_COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in by_key:
                picked[role] = by_key[alias]
                break
    missing = [r for r in ("postcode", "lat", "long") if r not in picked]
    return picked, missing


#: The longest header line read (ONSPD's is about 500 characters): a file whose first line
#: is longer is not a postcode lookup, and pandas would otherwise read all of it.
_MAX_HEADER_BYTES = 1024 * 1024


def _header_problem(source) -> str | None:
    """Why the first line cannot be a postcode lookup's header (too long or too many columns).

    The national file is exempt from the byte limit, so its header is checked by a bounded
    read before pandas sees the file: a 16,000-column header is refused, not tokenised.
    """
    if hasattr(source, "seek"):
        source.seek(0)
        head = source.read(_MAX_HEADER_BYTES + 1)
    else:
        with open(source, "rb") as f:
            head = f.read(_MAX_HEADER_BYTES + 1)
    end = head.find(b"\n")
    if end < 0 and len(head) > _MAX_HEADER_BYTES:
        return (
            f"its first line is longer than {_MAX_HEADER_BYTES // 1024:,} KB, so it is not a postcode "
            "lookup's header row"
        )
    line = head if end < 0 else head[:end]
    columns = line.count(b",") + 1
    if columns > settings.MAX_INPUT_COLUMNS:
        return (
            f"its header row has {columns:,} columns, over the limit of {settings.MAX_INPUT_COLUMNS:,} "
            "(ONSPD has about 50)"
        )
    return None


def _read_csv_columns(source, label: str, report: ValidationReport) -> pd.DataFrame | None:
    """Read only the postcode columns of a (possibly huge) CSV, as text."""
    problem = _header_problem(source)
    if problem is not None:
        report.error(
            label,
            f"this is not a postcode lookup in the ONSPD / NSPL layout: {problem}. Download ONSPD or "
            "NSPL from the ONS Open Geography Portal, or give a CSV with columns postcode, lat, long.",
            row=1,
        )
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            if hasattr(source, "seek"):
                source.seek(0)
            header = pd.read_csv(source, nrows=0, encoding=encoding).columns.tolist()
            picked, missing = _pick_columns([str(c) for c in header])
            if missing:
                _missing_columns(report, label, missing, header)
                return None
            if hasattr(source, "seek"):
                source.seek(0)
            frame = _read_picked(source, picked, encoding)
            return frame.rename(columns={v: k for k, v in picked.items()})
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            report.error(label, "the postcode lookup file is empty; use the ONSPD or NSPL CSV from ONS.")
            return None
        except (pd.errors.ParserError, ValueError) as exc:
            report.error(
                label,
                f"could not read this as a CSV postcode lookup ({exc}); "
                "use the ONSPD or NSPL CSV as downloaded from the ONS Open Geography Portal.",
            )
            return None
    report.error(label, "the file is not text in UTF-8 or Windows-1252; save it as CSV (UTF-8).")
    return None


def _read_picked(source, picked: dict[str, str], encoding: str) -> pd.DataFrame:
    """The picked columns; lat/long parsed as floats by the C parser when they all are numbers
    (four times faster on a national file), else everything as text for `_tidy` to check."""
    common = {"usecols": list(picked.values()), "encoding": encoding, "engine": "c", "keep_default_na": False}
    numeric = {picked["lat"]: float, picked["long"]: float}
    try:
        dtypes = {col: (numeric.get(col, str)) for col in picked.values()}
        return pd.read_csv(source, dtype=dtypes, na_values={c: [""] for c in numeric}, **common)
    except ValueError:
        if hasattr(source, "seek"):
            source.seek(0)
        return pd.read_csv(source, dtype=str, **common)


def _missing_columns(report: ValidationReport, label: str, missing: list[str], found: list) -> None:
    wanted = {
        "postcode": "`pcds` (or `pcd`/`pcd2`/`postcode`)",
        "lat": "`lat`",
        "long": "`long`",
    }
    shown = ", ".join(f"`{c}`" for c in list(found)[:12]) or "none"
    report.error(
        label,
        "this is not a postcode lookup in the ONS Postcode Directory / NSPL layout: missing "
        + ", ".join(wanted[m] for m in missing)
        + f". Columns found: {shown}. Download ONSPD or NSPL from the ONS Open Geography Portal "
        "(the CSV in its Data folder), or give a CSV with columns postcode, lat, long.",
    )


def _read_zip(path: Path, label: str, report: ValidationReport) -> pd.DataFrame | None:
    """ONSPD/NSPL arrive zipped with the data CSV in `Data/`; read the largest CSV there."""
    try:
        with zipfile.ZipFile(path) as archive:
            csvs = [i for i in archive.infolist() if i.filename.lower().endswith(".csv")]
            data = [i for i in csvs if "/data/" in ("/" + i.filename.lower())] or csvs
            if not data:
                report.error(label, "the zip holds no CSV file; unzip it and give the ONSPD/NSPL data CSV.")
                return None
            biggest = max(data, key=lambda i: i.file_size)
            # Streamed from the zip (pandas keeps only four columns): the national CSV is over
            # a gigabyte unzipped, and a zip can claim any size.
            with archive.open(biggest) as handle:
                return _read_csv_columns(handle, label, report)
    except zipfile.BadZipFile:
        report.error(label, "the file ends in .zip but is not a readable zip archive; download it again.")
        return None


def load_postcodes(path: Path | str, *, report: ValidationReport | None = None) -> pd.DataFrame | None:
    """Read a postcode lookup into a frame indexed by normalised postcode.

    Parameters
    ----------
    path
        A CSV (or the zip ONS distributes) in the ONSPD / NSPL layout, or an XLSX with the
        same columns.
    report
        Problems are added here and None is returned on errors; without a report a
        `GapmapInputError` is raised instead.

    Returns
    -------
    DataFrame indexed by postcode ("LE1 5WW") with float `lat`, `long` (NaN where ONS gives
    no grid reference) and bool `terminated` (a `doterm` is present). When a postcode appears
    twice, the live row wins.
    """
    own_report = report is None
    report = ValidationReport() if report is None else report
    path = Path(path)
    label = path.name
    frame: pd.DataFrame | None
    if path.is_dir():
        report.error(
            label, f"{path} is a folder, not a file. Give the path of the postcode lookup CSV itself."
        )
        frame = None
    elif not path.is_file():
        report.error(label, f"file not found: {path}. Check the path given for the postcode lookup.")
        frame = None
    elif path.suffix.lower() == ".zip":
        frame = _read_zip(path, label, report)
    elif path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        frame = _read_excel(path, label, report)
    else:
        frame = _read_csv_columns(path, label, report)
    if frame is None:
        if own_report:
            raise GapmapInputError(report.problems)
        return None
    errors_before = len(report.errors)
    lookup = _tidy(frame, label, report)
    if len(report.errors) > errors_before:
        if own_report:
            raise GapmapInputError(report.problems)
        return None
    lookup.attrs["file"] = label
    return lookup


def _read_excel(path: Path, label: str, report: ValidationReport) -> pd.DataFrame | None:
    from gapmap.tables import read_table

    expected = [a for aliases in POSTCODE_COLUMN_ALIASES.values() for a in aliases]
    table = read_table(path, role="postcodes", report=report, expected_columns=expected)
    if table is None:
        return None
    columns = [c for c in table.columns if c != "__row__"]
    picked, missing = _pick_columns(columns)
    if missing:
        _missing_columns(report, label, missing, columns)
        return None
    return table[list(picked.values())].rename(columns={v: k for k, v in picked.items()}).astype(str)


def _as_text(values: pd.Series) -> pd.Series:
    # Converting a national file's str column to another string dtype costs seconds: only
    # convert what is not text already (numbers from an Excel sheet).
    return values if pd.api.types.is_string_dtype(values) else values.astype("string")


def _as_float(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values):
        return values.astype(float)
    return pd.to_numeric(_as_text(values).str.strip(), errors="coerce").astype(float)


def _tidy(frame: pd.DataFrame, label: str, report: ValidationReport) -> pd.DataFrame:
    postcode = normalise_postcodes(frame["postcode"])
    lat = _as_float(frame["lat"])
    lon = _as_float(frame["long"])
    # Non-finite coordinates ("inf", "1e400") are no location either, never a point at infinity.
    no_location = (lat.abs() > _NO_LOCATION_LAT) | ~np.isfinite(lat) | ~np.isfinite(lon) | (lon.abs() > 180)
    lat = lat.mask(no_location)
    lon = lon.mask(no_location)
    if "doterm" in frame.columns:
        doterm = _as_text(frame["doterm"]).fillna("").str.strip()
        terminated = (doterm != "") & (doterm.str.lower() != "nan")
    else:
        terminated = pd.Series(False, index=frame.index)
    out = pd.DataFrame(
        {
            "lat": lat.to_numpy(dtype=float),
            "long": lon.to_numpy(dtype=float),
            "terminated": terminated.to_numpy(dtype=bool),
        },
        index=pd.Index(postcode.to_numpy(dtype=object), name="postcode"),
    )
    out = out[out.index.notna()]
    if out.empty:
        report.error(label, "no row of the postcode lookup holds a valid UK postcode; check the file.")
        return out
    # Live rows first, so the live entry wins when a postcode was reissued.
    order = np.argsort(out["terminated"].to_numpy(), kind="stable")
    out = out.iloc[order]
    out = out[~out.index.duplicated(keep="first")]
    return out
