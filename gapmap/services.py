"""Read and validate an analyst's service list into the normalised services frame.

`validate_services` reads a CSV/XLSX (through `tables.read_table`) and hands the table to
`validate_service_table`, a pure function on a frame of text cells. Every problem is
collected (file, row, column, how to fix it), errors apart from warnings; nothing is raised
for a user mistake. Checks run once per distinct cell value or as array operations so that
a 10,000-row list validates in well under a second.

Confidential services (refuges): no message ever echoes their coordinates, postcode or
address; they are referred to by row (and name) only.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap import settings
from gapmap.config import Config
from gapmap.errors import ValidationReport
from gapmap.postcodes import normalise_postcodes
from gapmap.schema import SERVES_EVERYWHERE, SERVICE_COLUMNS

#: Canonical input column -> accepted header spellings, compared after `header_key`
#: (lower case, runs of other characters turned into "_"), so "Service name ", "SERVICE-NAME"
#: and "service_name" are all the same header.
SERVICE_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "service_id": ("service_id", "id", "service_ref", "ref", "reference", "service_reference"),
    "name": ("name", "service_name", "service", "name_of_service", "service_title"),
    "service_type": ("service_type", "type", "type_of_service", "servicetype", "category"),
    "provider": ("provider", "provider_name", "organisation", "organization", "delivered_by"),
    "tiers": ("tiers", "tier", "prevention_tier", "prevention_tiers"),
    "cohorts": ("cohorts", "cohort"),
    "abuse_types": ("abuse_types", "abuse_type", "abuse"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "long", "lng", "lon"),
    "easting": ("easting", "eastings", "os_easting", "x_easting"),
    "northing": ("northing", "northings", "os_northing", "y_northing"),
    "postcode": ("postcode", "post_code", "postal_code", "pcds"),
    "address": ("address", "street_address", "address_line", "full_address"),
    "serves": ("serves", "areas_served", "area_served", "serves_areas", "coverage_areas"),
    "catchment_km": ("catchment_km", "catchment", "catchment_radius_km", "radius_km", "catchment_radius"),
    "capacity": ("capacity",),
    "capacity_unit": ("capacity_unit", "capacity_units", "unit", "units"),
    "specialist_groups": ("specialist_groups", "specialist_group", "specialism", "specialisms", "by_and_for"),
    "hours": ("hours", "opening_hours"),
    "funding_end": (
        "funding_end",
        "funding_end_date",
        "funding_ends",
        "funded_until",
        "funding_until",
        "funding_expiry",
        "end_date",
    ),
    "confidential": ("confidential", "is_confidential", "confidential_location"),
    "intervention": ("intervention", "intervention_name", "named_intervention"),
}

REQUIRED_COLUMNS: tuple[str, ...] = ("name", "service_type")

#: Rough extent of Great Britain (and its islands) in WGS84: points outside get a warning.
GB_LAT = (49.8, 61.0)
GB_LON = (-8.7, 2.1)
#: British National Grid's valid range, metres.
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)

_TRUE = frozenset({"true", "yes", "y", "1", "t", "1.0"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "0.0"})
_ALIAS_TO_COLUMN = {alias: col for col, aliases in SERVICE_COLUMN_ALIASES.items() for alias in aliases}
_WITHHELD = "(value withheld: confidential service)"


def header_key(column: object) -> str:
    """The comparable form of a header: "Service name " -> "service_name"."""
    return re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")


def expected_header_words() -> list[str]:
    """Every header spelling we recognise (for finding the header row below a title)."""
    return list(_ALIAS_TO_COLUMN)


def validate_services(
    path_or_none: Path | str | None,
    *,
    config: Config,
    areas: gpd.GeoDataFrame | None = None,
    postcodes: pd.DataFrame | None = None,
    report: ValidationReport,
    content: bytes | None = None,
    name: str | None = None,
    today: date | None = None,
) -> gpd.GeoDataFrame | None:
    """Read a service list (CSV/XLSX, a path or uploaded bytes) and validate it.

    Parameters
    ----------
    path_or_none
        The file, or None when `content` holds an upload.
    config
        Vocabulary (service types, tiers, cohorts, ...).
    areas
        Boundaries (`area_code`, `area_name`, geometry); when given, `serves` is resolved to
        area codes and points outside every area are warned about.
    postcodes
        A lookup from `postcodes.load_postcodes`, for rows located by postcode only.
    report
        Every problem is added here.
    content, name
        An upload held in memory, and its file name.
    today
        The date "funding already ended" is judged against (default: today).

    Returns
    -------
    The services frame (see `gapmap.schema.SERVICE_COLUMNS`), or None when there are errors.
    """
    from gapmap.tables import read_table

    label = name or (Path(path_or_none).name if path_or_none is not None else "services")
    if path_or_none is None and content is None:
        report.error(label, "no service list was given; pass a CSV or XLSX file (`--services FILE`).")
        return None
    first = len(report.problems)
    table = read_table(
        path_or_none if path_or_none is not None else label,
        role="service list",
        report=report,
        content=content,
        name=name,
        max_bytes=settings.MAX_INPUT_BYTES,
        expected_columns=expected_header_words(),
    )
    if table is None:
        return None
    _withhold_in_reader_messages(report, first, table, config)
    return validate_service_table(
        table, file=label, config=config, areas=areas, postcodes=postcodes, report=report, today=today
    )


def _withhold_in_reader_messages(
    report: ValidationReport, first: int, table: pd.DataFrame, config: Config
) -> None:
    """Blank the quoted cell values in the reader's row messages about confidential services.

    `read_table` may quote a row's values (e.g. extra values past the last column); for a
    refuge those could be its address or coordinates.
    """
    rows = _confidential_row_numbers(table, config)
    for k in range(first, len(report.problems)):
        problem = report.problems[k]
        if problem.row is not None and problem.row in rows and "'" in problem.message:
            message = re.sub(r"'[^']*'", _WITHHELD, problem.message)
            report.problems[k] = dataclasses.replace(problem, message=message)


def _confidential_row_numbers(table: pd.DataFrame, config: Config) -> set[int]:
    """Row numbers of services that are (or may be) confidential, judged before validation."""
    rows = pd.to_numeric(table.get("__row__", pd.Series(dtype=float)), errors="coerce").fillna(0).astype(int)
    headers: dict[str, str] = {}
    for col in table.columns:
        canonical = _ALIAS_TO_COLUMN.get(header_key(col))
        if canonical and canonical not in headers:
            headers[canonical] = col
    if "service_type" not in headers:
        return set(rows.tolist())  # cannot tell: treat every row as confidential
    lookup = _vocab_lookup(config.service_types)
    types = [lookup.get(header_key(v)) for v in _text(table[headers["service_type"]])]
    flags = _text(table[headers["confidential"]]) if "confidential" in headers else None
    confidential: set[int] = set()
    for i, row in enumerate(rows.tolist()):
        flag = flags.iat[i].lower() if flags is not None else ""
        type_id = types[i]
        if flag in _FALSE:
            continue
        if flag in _TRUE or type_id is None or config.service_types[type_id].confidential or flag:
            confidential.add(row)
    return confidential


# --------------------------------------------------------------------------------------
# helpers


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text, "" for blanks (NA, None, NaN).

    Object dtype on purpose: the row loops that build messages index single cells, which is
    ten times faster than on Arrow-backed strings.
    """
    out = series.astype("string").fillna("").str.strip()
    out = out.mask(out.str.lower().isin(["nan", "nat", "none"]), "")
    return pd.Series(out.to_numpy(dtype=object), index=series.index, dtype=object)


def _quote(value: str) -> str:
    return f"`{value}`"


def _listing(values: Iterable[str]) -> str:
    return ", ".join(values)


def _did_you_mean(value: str, candidates: Iterable[str], n: int = 3) -> str:
    cands = list(candidates)
    lowered = {c.lower(): c for c in cands}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(_quote(lowered[c]) for c in close) + "? "


def _split_list(text: str, separators: str = ";,") -> list[str]:
    parts = re.split("[" + re.escape(separators) + "]", text)
    return [p.strip() for p in parts if p.strip()]


def _vocab_lookup(vocab: dict[str, Any] | Iterable[str]) -> dict[str, str]:
    """Spelling -> id: ids and labels, case-insensitive, spaces/hyphens as underscores."""
    lookup: dict[str, str] = {}
    items = vocab.items() if isinstance(vocab, dict) else ((v, {}) for v in vocab)
    for vid, meta in items:
        lookup[header_key(vid)] = vid
        label = meta.get("label") if isinstance(meta, dict) else getattr(meta, "label", None)
        if label:
            lookup.setdefault(header_key(label), vid)
    return lookup


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_UK = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_EXCEL_EPOCH = datetime(1899, 12, 30)


#: Years a date may have. pandas timestamps end in 2262, so 31/12/9999 (a common "no end"
#: placeholder) must be refused with a message, not overflow later; a funding date before
#: 1900 or after 2200 is a typing slip in any case.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200


def parse_date(text: str) -> tuple[pd.Timestamp | None, str]:
    """Parse an ISO (YYYY-MM-DD), UK (DD/MM/YYYY) or Excel serial date.

    Returns the timestamp and "" on success, or None and the reason it failed (including
    a year outside `EARLIEST_YEAR`..`LATEST_YEAR`).
    """
    m = _ISO.fullmatch(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _UK.fullmatch(text)
        if m:
            d, mo, y = (int(g) for g in m.groups())
        elif _EXCEL_SERIAL.fullmatch(text) and 20_000 <= float(text) <= 80_000:
            # A date cell Excel handed over as its day number (days since 1899-12-30).
            return pd.Timestamp(_EXCEL_EPOCH + timedelta(days=int(float(text)))), ""
        else:
            return None, "is not a date in a form we read"
    if not EARLIEST_YEAR <= y <= LATEST_YEAR:
        return None, f"is outside the years we read: dates must be between {EARLIEST_YEAR} and {LATEST_YEAR}"
    try:
        return pd.Timestamp(date(y, mo, d)), ""
    except ValueError:
        return None, "is not a real calendar date (dates are read day first: DD/MM/YYYY)"


def _uk_date(value: pd.Timestamp | date) -> str:
    return f"{value.day} {value.strftime('%B %Y')}"


class _Collector:
    """Adds problems for one file; knows which rows are confidential, to withhold locations."""

    def __init__(self, report: ValidationReport, file: str, rows: np.ndarray, headers: dict[str, str]):
        self.report = report
        self.file = file
        self.rows = rows
        self.headers = headers
        self.confidential = np.ones(len(rows), dtype=bool)
        #: rows whose given location had an error (no extra "no location" error for them)
        self.location_error = np.zeros(len(rows), dtype=bool)

    def column(self, canonical: str) -> str:
        return self.headers.get(canonical, canonical)

    def error(self, i: int, canonical: str | None, message: str) -> None:
        col = self.column(canonical) if canonical else None
        self.report.error(self.file, message, int(self.rows[i]), col)

    def warn(self, i: int, canonical: str | None, message: str) -> None:
        col = self.column(canonical) if canonical else None
        self.report.warn(self.file, message, int(self.rows[i]), col)

    def shown(self, i: int, value: object) -> str:
        """A location value quoted, or withheld for a confidential service."""
        return _WITHHELD if self.confidential[i] else _quote(str(value))


def _per_unique(values: pd.Series, parse: Callable[[str], Any]) -> list[Any]:
    """Apply `parse` once per distinct cell value; results in row order."""
    codes, uniques = pd.factorize(values, sort=False)
    parsed = [parse(u) for u in uniques]
    return [parsed[c] for c in codes]


# --------------------------------------------------------------------------------------
# the validator


def validate_service_table(
    table: pd.DataFrame,
    *,
    file: str,
    config: Config,
    areas: gpd.GeoDataFrame | None = None,
    postcodes: pd.DataFrame | None = None,
    report: ValidationReport,
    today: date | None = None,
) -> gpd.GeoDataFrame | None:
    """Validate a service table of text cells (with a `__row__` column) and normalise it.

    See `validate_services` for the parameters; `file` is the name used in messages.
    Returns the services frame, or None when errors were found (all are in `report`).
    """
    today = today or date.today()
    errors_before = len(report.errors)
    problems_before = len(report.problems)

    if "__row__" in table.columns:
        rows_all = pd.to_numeric(table["__row__"], errors="coerce").fillna(0).astype(int).to_numpy()
    else:
        rows_all = np.arange(2, len(table) + 2)
    data_columns = [c for c in table.columns if c != "__row__"]

    # ---- headers -> canonical columns
    headers: dict[str, str] = {}
    unrecognised: list[str] = []
    for col in data_columns:
        key = header_key(col)
        canonical = _ALIAS_TO_COLUMN.get(key)
        if canonical is None and "(" in str(col):
            # "Capacity (FTE)", "Funding end date (DD/MM/YYYY)": the note in brackets is not the name.
            canonical = _ALIAS_TO_COLUMN.get(header_key(re.sub(r"\(.*?\)", " ", str(col))))
        if canonical is None:
            if key and not key.startswith("unnamed"):
                unrecognised.append(str(col))
            continue
        if canonical in headers:
            report.error(
                file,
                f"columns `{headers[canonical]}` and `{col}` both mean `{canonical}`; "
                "delete or rename one of them.",
                column=str(col),
            )
            continue
        headers[canonical] = str(col)

    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        found = ", ".join(_quote(str(c)) for c in data_columns[:15]) or "none"
        if len(missing) == len(REQUIRED_COLUMNS):
            report.error(
                file,
                "no header row with the required columns `name` and `service_type` was found. "
                f"Columns found: {found}. A service list needs a header row naming at least "
                "`name` and `service_type`, plus a location (`latitude` and `longitude`, "
                "`easting` and `northing`, or `postcode`) or `serves`; see the input formats in README.md.",
            )
        else:
            report.error(
                file,
                f"the required column `{missing[0]}` is missing. Columns found: {found}. "
                f"Add a `{missing[0]}` column"
                + (
                    " (one of the service type ids in the vocabulary, e.g. `idva`)."
                    if missing[0] == "service_type"
                    else "."
                )
                + _did_you_mean_header(missing[0], unrecognised),
                column=missing[0],
            )
        return None
    for col in unrecognised:
        close = difflib.get_close_matches(header_key(col), list(_ALIAS_TO_COLUMN), n=1, cutoff=0.8)
        if close and _ALIAS_TO_COLUMN[close[0]] not in headers:
            report.warn(
                file,
                f"column `{col}` is not recognised and is ignored; did you mean "
                f"`{_ALIAS_TO_COLUMN[close[0]]}`? Rename it to use it.",
                column=col,
            )

    # ---- cells as text; drop empty rows silently
    cells_all = {canonical: _text(table[col]) for canonical, col in headers.items()}
    blank = np.ones(len(table), dtype=bool)
    for col in data_columns:
        blank &= (_text(table[col]) == "").to_numpy()
    keep = ~blank
    cells = {k: v[keep].reset_index(drop=True) for k, v in cells_all.items()}
    rows = rows_all[keep]
    n = len(rows)
    if n == 0:
        report.error(
            file,
            "the file has a header row but no services below it; add one row per service.",
        )
        return None

    def col(canonical: str) -> pd.Series:
        return cells[canonical] if canonical in cells else pd.Series([""] * n, dtype=object)

    out = _Collector(report, file, rows, headers)

    # ---- service_type (needed first: it sets defaults)
    type_lookup = _vocab_lookup(config.service_types)
    type_raw = col("service_type")
    type_ids = np.array(_per_unique(type_raw, lambda v: type_lookup.get(header_key(v), "")), dtype=object)
    for i in np.flatnonzero(type_ids == ""):
        raw = type_raw.iat[i]
        if raw == "":
            out.error(i, "service_type", "`service_type` is blank; every service needs a type, e.g. `idva`.")
        else:
            out.error(
                i,
                "service_type",
                f"unknown service type {_quote(raw)}; "
                + _did_you_mean(header_key(raw), config.service_types)
                + f"valid types: {_listing(config.service_types)}.",
            )
    types = [config.service_types.get(t) for t in type_ids]

    # ---- confidential (before any location message, so we know what to withhold)
    conf_raw = col("confidential")
    conf_parsed = _per_unique(
        conf_raw, lambda v: True if v.lower() in _TRUE else False if v.lower() in _FALSE else None
    )
    confidential = np.empty(n, dtype=bool)
    for i in range(n):
        value = conf_parsed[i]
        if value is None:
            if conf_raw.iat[i] == "":
                value = types[i].confidential if types[i] is not None else True
            else:
                out.error(
                    i,
                    "confidential",
                    f"`confidential` is {_quote(conf_raw.iat[i])}; write true or false (yes/no, 1/0), "
                    "or leave it blank for the service type's default.",
                )
                value = True  # treat as confidential while reporting: never echo a location
        confidential[i] = value
    out.confidential = confidential
    for i in np.flatnonzero(~confidential):
        st = types[i]
        if st is not None and st.confidential and conf_raw.iat[i] != "":
            out.warn(
                i,
                "confidential",
                f"this {st.label.lower()} is marked not confidential, so its location will be shown "
                "on maps and in exports; refuge addresses are usually secret. Make sure this is intended.",
            )

    # ---- name, provider, free text
    names = col("name")
    for i in np.flatnonzero((names == "").to_numpy()):
        out.error(i, "name", "`name` is blank; every service needs a name.")

    # ---- service_id
    ids = _service_ids(col("service_id"), "service_id" in headers, out)

    # ---- list columns with defaults from the type
    tiers = _list_column("tiers", col("tiers"), config.tiers, types, out, "tiers")
    cohorts = _list_column("cohorts", col("cohorts"), config.cohorts, types, out, "cohorts")
    abuse = _list_column("abuse_types", col("abuse_types"), config.abuse_types, types, out, "abuse_types")
    groups = _list_column(
        "specialist_groups", col("specialist_groups"), config.specialist_groups, None, out, None
    )

    # ---- numbers
    catchment = _number_column("catchment_km", col("catchment_km"), out, minimum=0.0, strict=True)
    capacity = _number_column("capacity", col("capacity"), out, minimum=0.0, strict=False)
    units = _capacity_units(col("capacity_unit"), types, config, out)
    hours = _hours(col("hours"), config, out)
    funding = _funding_end(col("funding_end"), today, out)

    # ---- location
    lat, lon, postcode, source = _locate(cells, col, postcodes, out, n)

    # ---- serves and areas
    serves_raw = col("serves")
    postcode_raw_given = (col("postcode") != "").to_numpy()
    serves = _serves(serves_raw, areas, out)
    located = ~np.isnan(lat)
    for i in np.flatnonzero(~located):
        if not serves[i] and serves_raw.iat[i] == "" and not out.location_error[i]:
            out.error(
                i,
                "serves",
                f"service {_quote(names.iat[i])} has no location"
                + (" (its postcode gave none, see the warning)" if postcode_raw_given[i] else "")
                + " and no `serves`, so it cannot be placed in any area. Give `serves` (area codes or "
                "names separated by ;, or * for every area); refuges usually have no published "
                "location: give `serves`.",
            )
    if areas is not None and located.any():
        _check_points_in_areas(lat, lon, located, serves, areas, out)

    # In row order, so an analyst can work down the sheet (whole-file problems first).
    report.problems[problems_before:] = sorted(
        report.problems[problems_before:], key=lambda p: -1 if p.row is None else p.row
    )
    if len(report.errors) > errors_before:
        return None

    geometry = np.full(n, None, dtype=object)
    if located.any():
        geometry[located] = shapely.points(lon[located], lat[located])
    frame = pd.DataFrame(
        {
            "service_id": ids,
            "name": names.to_numpy(dtype=object),
            "service_type": type_ids,
            "provider": col("provider").to_numpy(dtype=object),
            "tiers": _objects(tiers),
            "cohorts": _objects(cohorts),
            "abuse_types": _objects(abuse),
            "latitude": lat,
            "longitude": lon,
            "postcode": postcode,
            "address": col("address").to_numpy(dtype=object),
            "location_source": source,
            "serves": _objects(serves),
            "catchment_km": catchment,
            "capacity": capacity,
            "capacity_unit": units,
            "specialist_groups": _objects(groups),
            "hours": hours,
            "funding_end": pd.to_datetime(pd.Series(funding, dtype=object)).astype("datetime64[ns]"),
            "confidential": confidential,
            "intervention": col("intervention").to_numpy(dtype=object),
            "source_row": rows.astype(int),
        }
    )
    result = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=settings.WGS84_EPSG))
    return result[list(SERVICE_COLUMNS)]


def _did_you_mean_header(canonical: str, unrecognised: list[str]) -> str:
    keys = {header_key(c): c for c in unrecognised}
    close = difflib.get_close_matches(canonical, list(keys), n=1, cutoff=0.6)
    return f" Column `{keys[close[0]]}` looks close: rename it to `{canonical}`." if close else ""


def _objects(values: list) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _service_ids(raw: pd.Series, present: bool, out: _Collector) -> np.ndarray:
    n = len(raw)
    given = raw.to_numpy(dtype=object)
    used = set(given[given != ""])
    ids = given.copy()
    counter = 0
    for i in range(n):
        if ids[i] != "":
            continue
        # Deterministic ids for rows without one: S0001, S0002, ... in row order.
        counter += 1
        candidate = f"S{counter:04d}"
        while candidate in used:
            counter += 1
            candidate = f"S{counter:04d}"
        ids[i] = candidate
        used.add(candidate)
    if present:
        first_row: dict[str, int] = {}
        for i, value in enumerate(given):
            if value == "":
                continue
            if value in first_row:
                out.error(
                    i,
                    "service_id",
                    f"service_id {_quote(value)} is also used on row {out.rows[first_row[value]]}; "
                    "each service needs its own id (or leave the cell blank to have one generated).",
                )
            else:
                first_row[value] = i
    return ids


def _list_column(
    canonical: str,
    raw: pd.Series,
    vocab: dict[str, Any] | Iterable[str],
    types: list | None,
    out: _Collector,
    default_attr: str | None,
) -> list[tuple[str, ...]]:
    lookup = _vocab_lookup(vocab)
    allowed = list(vocab)
    separators = ";,+" if canonical == "abuse_types" else ";,"

    def parse(text: str) -> tuple[tuple[str, ...], list[str]]:
        found: list[str] = []
        bad: list[str] = []
        for token in _split_list(text, separators):
            vid = lookup.get(header_key(token))
            if vid is None:
                bad.append(token)
            elif vid not in found:
                found.append(vid)
        return tuple(found), bad

    parsed = _per_unique(raw, parse)
    values: list[tuple[str, ...]] = []
    singular = canonical.rstrip("s").replace("_", " ")
    for i, (found, bad) in enumerate(parsed):
        for token in bad:
            out.error(
                i,
                canonical,
                f"unknown {singular} {_quote(token)}; "
                + _did_you_mean(header_key(token), allowed)
                + f"expected one or more of: {_listing(allowed)}, separated by ;.",
            )
        if not found and raw.iat[i] == "" and default_attr and types is not None and types[i] is not None:
            found = tuple(getattr(types[i], default_attr))
        values.append(found)
    return values


def _number_column(
    canonical: str, raw: pd.Series, out: _Collector, *, minimum: float, strict: bool
) -> np.ndarray:
    """Numbers >= minimum (> minimum when strict); blanks are NaN."""
    # "1,200" is a thousands separator; "2,5" (a decimal comma) stays unreadable and is reported.
    thousands = raw.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False).astype(bool)
    cleaned = raw.where(~thousands, raw.str.replace(",", "", regex=False))
    values = (
        pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce").astype(float).to_numpy().copy()
    )
    present = (raw != "").to_numpy()
    bad_text = present & ~np.isfinite(values)
    for i in np.flatnonzero(bad_text):
        out.error(
            i,
            canonical,
            f"`{canonical}` is {_quote(raw.iat[i])}, which is not a number; write a number such as 2.5 "
            + ("(with a decimal point, not a comma) " if re.fullmatch(r"-?\d+,\d+", raw.iat[i]) else "")
            + "(no units or words), or leave the cell blank if unknown.",
        )
    with np.errstate(invalid="ignore"):
        too_small = present & np.isfinite(values) & ((values <= minimum) if strict else (values < minimum))
    for i in np.flatnonzero(too_small):
        rule = "greater than zero" if strict else "zero or more"
        out.error(i, canonical, f"`{canonical}` is {raw.iat[i]}; it must be {rule}.")
    values[bad_text] = np.nan
    return values


def _capacity_units(raw: pd.Series, types: list, config: Config, out: _Collector) -> np.ndarray:
    lookup = {header_key(u): u for u in config.capacity_units}
    units = np.empty(len(raw), dtype=object)
    for i, text in enumerate(raw):
        if text == "":
            units[i] = types[i].capacity_unit if types[i] is not None else ""
            continue
        unit = lookup.get(header_key(text))
        if unit is None:
            out.error(
                i,
                "capacity_unit",
                f"unknown capacity unit {_quote(text)}; "
                + _did_you_mean(header_key(text), config.capacity_units)
                + f"expected one of: {_listing(config.capacity_units)}, "
                "or leave blank for the type's default.",
            )
            unit = ""
        units[i] = unit
    return units


_HOURS_SYNONYMS = {"24_7": "24_7", "24_hours": "24_7", "24hr": "24_7", "office_hours": "office"}


def _hours(raw: pd.Series, config: Config, out: _Collector) -> np.ndarray:
    allowed = list(config.hours)

    def parse(text: str) -> str | None:
        if text == "":
            return ""
        key = header_key(text)
        key = _HOURS_SYNONYMS.get(key, key)
        if key.endswith("_hours") and key[: -len("_hours")] in allowed:
            key = key[: -len("_hours")]
        return key if key in allowed else None

    parsed = _per_unique(raw, parse)
    values = np.empty(len(raw), dtype=object)
    for i, value in enumerate(parsed):
        if value is None:
            out.error(
                i,
                "hours",
                f"unknown opening hours {_quote(raw.iat[i])}; "
                + _did_you_mean(header_key(raw.iat[i]), allowed)
                + f"expected one of: {_listing(allowed)} (24/7 is read as 24_7), or leave blank.",
            )
            value = ""
        values[i] = value
    return values


def _funding_end(raw: pd.Series, today: date, out: _Collector) -> list:
    parsed = _per_unique(raw, lambda v: parse_date(v) if v else (None, ""))
    values: list = []
    today_ts = pd.Timestamp(today)
    for i, (stamp, reason) in enumerate(parsed):
        if stamp is None:
            if raw.iat[i] != "":
                out.error(
                    i,
                    "funding_end",
                    f"funding_end {_quote(raw.iat[i])} {reason}; write the date as YYYY-MM-DD "
                    "(e.g. 2027-03-31) or DD/MM/YYYY (31/03/2027), or leave it blank if open-ended.",
                )
            values.append(pd.NaT)
            continue
        if stamp < today_ts:
            out.warn(
                i,
                "funding_end",
                f"funding ended on {_uk_date(stamp)}, before today ({_uk_date(today_ts)}); check whether "
                "the service still runs and update the date, or remove the row.",
            )
        values.append(stamp)
    return values


def _coordinate_pair(
    first: str, second: str, col: Callable[[str], pd.Series], out: _Collector
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse two paired numeric columns. Returns a, b, `given` (both valid) and `failed`."""
    raw_a, raw_b = col(first), col(second)
    a = pd.to_numeric(raw_a.where(raw_a != "", None), errors="coerce").astype(float).to_numpy().copy()
    b = pd.to_numeric(raw_b.where(raw_b != "", None), errors="coerce").astype(float).to_numpy().copy()
    has_a = (raw_a != "").to_numpy()
    has_b = (raw_b != "").to_numpy()
    failed = np.zeros(len(a), dtype=bool)
    for name, raw, values, has in ((first, raw_a, a, has_a), (second, raw_b, b, has_b)):
        bad = has & ~np.isfinite(values)
        for i in np.flatnonzero(bad):
            out.error(
                i,
                name,
                f"`{name}` {out.shown(i, raw.iat[i])} is not a number; write it as a plain decimal number.",
            )
        failed |= bad
    for i in np.flatnonzero(has_a & ~has_b):
        out.error(i, second, f"`{first}` is given but `{second}` is blank; give both, or neither.")
    for i in np.flatnonzero(has_b & ~has_a):
        out.error(i, first, f"`{second}` is given but `{first}` is blank; give both, or neither.")
    failed |= has_a ^ has_b
    out.location_error |= failed
    given = has_a & has_b & ~failed
    return a, b, given, failed


def _locate(
    cells: dict[str, pd.Series],
    col: Callable[[str], pd.Series],
    postcodes: pd.DataFrame | None,
    out: _Collector,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lat_out = np.full(n, np.nan)
    lon_out = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    attempted = np.zeros(n, dtype=bool)  # a location was given (even if it failed)

    # latitude / longitude
    lat, lon, given, failed = _coordinate_pair("latitude", "longitude", col, out)
    attempted |= given | failed
    bad_range = given & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    for i in np.flatnonzero(bad_range):
        out.error(
            i,
            "latitude" if abs(lat[i]) > 90 else "longitude",
            f"latitude/longitude {out.shown(i, f'{lat[i]:g}, {lon[i]:g}')} is out of range "
            "(latitude -90..90, longitude -180..180); check the columns hold WGS84 degrees "
            "(use `easting`/`northing` for British National Grid metres).",
        )
    out.location_error |= bad_range
    ok = given & ~bad_range
    swapped = ok & (lat >= -9) & (lat <= 2) & (lon >= 49) & (lon <= 61)
    for i in np.flatnonzero(swapped):
        out.warn(
            i,
            "latitude",
            f"latitude and longitude look swapped ({out.shown(i, f'{lat[i]:g}, {lon[i]:g}')}); they were "
            "swapped back. Fix the file so that `latitude` is about 50-60 in Great Britain.",
        )
    lat, lon = np.where(swapped, lon, lat), np.where(swapped, lat, lon)
    lat_out[ok], lon_out[ok] = lat[ok], lon[ok]
    source[ok] = "latlon"

    # easting / northing (British National Grid), for rows without a lat/lon attempt
    east, north, en_given, en_failed = _coordinate_pair("easting", "northing", col, out)
    en_given &= ~attempted
    bad_en = en_given & (
        (east < BNG_EASTING[0])
        | (east > BNG_EASTING[1])
        | (north < BNG_NORTHING[0])
        | (north > BNG_NORTHING[1])
    )
    for i in np.flatnonzero(bad_en):
        out.error(
            i,
            "easting",
            f"easting/northing {out.shown(i, f'{east[i]:g}, {north[i]:g}')} is outside British National "
            "Grid (easting 0..700000, northing 0..1300000 metres); check the values "
            "or use latitude/longitude.",
        )
    out.location_error |= bad_en
    en_ok = en_given & ~bad_en
    if en_ok.any():
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs(settings.BNG_EPSG, settings.WGS84_EPSG, always_xy=True)
        x, y = to_wgs84.transform(east[en_ok], north[en_ok])
        lon_out[en_ok], lat_out[en_ok] = x, y
        source[en_ok] = "easting_northing"
    attempted |= en_given | en_failed

    # postcode
    postcode_raw = col("postcode")
    normalised = normalise_postcodes(postcode_raw).fillna("")
    postcode = normalised.to_numpy(dtype=object)
    has_pc = (postcode_raw != "").to_numpy()
    bad_shape = has_pc & (postcode == "")
    needs_lookup = ~attempted & has_pc & ~bad_shape
    for i in np.flatnonzero(bad_shape):
        out.warn(
            i,
            "postcode",
            f"postcode {out.shown(i, postcode_raw.iat[i])} is not a UK postcode"
            + (", so the service has no location" if not attempted[i] else "")
            + "; correct it (e.g. LE1 5WW).",
        )
    if needs_lookup.any():
        if postcodes is None:
            listed = ", ".join(str(r) for r in out.rows[needs_lookup][:10])
            more = "" if needs_lookup.sum() <= 10 else ", ..."
            out.report.warn(
                out.file,
                f"{int(needs_lookup.sum())} service(s) (rows {listed}{more}) have only a postcode, but no "
                "postcode lookup was given, so they have no location; pass `--postcodes` (ONSPD/NSPL CSV).",
                column=out.column("postcode"),
            )
        else:
            idx = np.flatnonzero(needs_lookup)
            lookup_name = str(postcodes.attrs.get("file", "the postcode lookup"))
            hint = (
                " (the fictional demo county's lookup: pass `--postcodes` with the ONSPD or NSPL file "
                "for real postcodes)"
                if lookup_name == settings.DEMO_POSTCODES.name
                else ""
            )
            found = postcodes.reindex(pd.Index(postcode[idx], dtype=object))
            p_lat = found["lat"].to_numpy(dtype=float)
            p_lon = found["long"].to_numpy(dtype=float)
            known = found.index.isin(postcodes.index) if len(found) else np.zeros(0, dtype=bool)
            terminated = found["terminated"].fillna(False).to_numpy(dtype=bool)
            for j, i in enumerate(idx):
                if not known[j]:
                    out.warn(
                        i,
                        "postcode",
                        f"postcode {out.shown(i, postcode[i])} is not in the postcode lookup "
                        f"`{lookup_name}`{hint}, so the service has no location; check it, or give "
                        "latitude/longitude.",
                    )
                    continue
                if np.isnan(p_lat[j]):
                    out.warn(
                        i,
                        "postcode",
                        f"postcode {out.shown(i, postcode[i])} has no grid reference in the postcode "
                        "lookup, so the service has no location; give latitude/longitude.",
                    )
                    continue
                if terminated[j]:
                    out.warn(
                        i,
                        "postcode",
                        f"postcode {out.shown(i, postcode[i])} is terminated (no longer in use); the "
                        "service was placed at its last known location. Check the current postcode.",
                    )
                lat_out[i], lon_out[i] = p_lat[j], p_lon[j]
                source[i] = "postcode"

    # Great Britain's extent
    located = ~np.isnan(lat_out)
    outside_gb = located & (
        (lat_out < GB_LAT[0]) | (lat_out > GB_LAT[1]) | (lon_out < GB_LON[0]) | (lon_out > GB_LON[1])
    )
    for i in np.flatnonzero(outside_gb):
        out.warn(
            i,
            None,
            f"the location {out.shown(i, f'{lat_out[i]:.5f}, {lon_out[i]:.5f}')} is outside Great Britain; "
            "check the coordinates (or postcode).",
        )
    return lat_out, lon_out, postcode, source


def _serves(raw: pd.Series, areas: gpd.GeoDataFrame | None, out: _Collector) -> list[tuple[str, ...]]:
    if areas is None:
        codes_by_key: dict[str, list[str]] | None = None
        candidates: list[str] = []
    else:
        codes_by_key = {}
        for code, area_name in zip(
            areas["area_code"].astype(str), areas["area_name"].astype(str), strict=True
        ):
            codes_by_key.setdefault(code.strip().casefold(), []).append(code)
            names = codes_by_key.setdefault(area_name.strip().casefold(), [])
            if code not in names:
                names.append(code)
        candidates = list(areas["area_code"].astype(str)) + list(areas["area_name"].astype(str))

    def resolve(token: str) -> list[str] | None:
        if codes_by_key is None:
            # No boundaries: keep the text (codes upper-cased) for a later check.
            return [token.upper() if re.fullmatch(r"[A-Za-z]\d{8}", token) else token]
        return codes_by_key.get(token.casefold())

    def parse(text: str) -> tuple[tuple[str, ...], list[str], list[str]]:
        if text == "":
            return (), [], []
        tokens = [t.strip() for t in text.split(";") if t.strip()]
        if SERVES_EVERYWHERE in tokens:
            return (SERVES_EVERYWHERE,), [], []
        found: list[str] = []
        bad: list[str] = []
        ambiguous: list[str] = []
        for token in tokens:
            pieces: list[tuple[str, list[str] | None]] = [(token, resolve(token))]
            if pieces[0][1] is None and "," in token:
                # "A, B" written with commas (area names rarely hold one): use the parts if all match.
                parts = [(p.strip(), resolve(p.strip())) for p in token.split(",") if p.strip()]
                if all(codes is not None for _, codes in parts):
                    pieces = parts
            for piece, codes in pieces:
                if codes is None:
                    bad.append(piece)
                elif len(codes) > 1:
                    ambiguous.append(piece)
                elif codes[0] not in found:
                    found.append(codes[0])
        return tuple(found), bad, ambiguous

    parsed = _per_unique(raw, parse)
    values: list[tuple[str, ...]] = []
    for i, (found, bad, ambiguous) in enumerate(parsed):
        for token in bad:
            out.error(
                i,
                "serves",
                f"`serves` names {_quote(token)}, which is not an area code or name in the boundary file; "
                + _did_you_mean(token, candidates)
                + "use area codes (e.g. E06000016) or names separated by ;, or * for every area.",
            )
        for token in ambiguous:
            out.error(
                i,
                "serves",
                f"`serves` names {_quote(token)}, which matches more than one area; "
                "use the area code instead.",
            )
        values.append(found)
    return values


def _check_points_in_areas(
    lat: np.ndarray,
    lon: np.ndarray,
    located: np.ndarray,
    serves: list[tuple[str, ...]],
    areas: gpd.GeoDataFrame,
    out: _Collector,
) -> None:
    idx = np.flatnonzero(located)
    points = shapely.points(lon[idx], lat[idx])
    geoms = areas.to_crs(settings.WGS84_EPSG).geometry if areas.crs is not None else areas.geometry
    tree = shapely.STRtree(np.asarray(geoms.values))
    hits = tree.query(points, predicate="intersects")
    inside = np.zeros(len(idx), dtype=bool)
    inside[hits[0]] = True
    for j in np.flatnonzero(~inside):
        i = idx[j]
        consequence = (
            "it still serves the areas in `serves`"
            if serves[i]
            else "with no `serves`, it counts for no area; give `serves` or check the location"
        )
        out.warn(
            i,
            None,
            f"the location {out.shown(i, f'{lat[i]:.5f}, {lon[i]:.5f}')} lies outside every area "
            f"in the boundary file; {consequence}.",
        )
