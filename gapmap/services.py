"""Read and validate an analyst's service list into the normalised services frame.

`validate_services` reads a CSV/XLSX (through `tables.read_table`) and hands the table to
`validate_service_table`, a pure function on a frame of text cells. Every problem is
collected (file, row, column, how to fix it), errors apart from warnings; nothing is raised
for a user mistake. Checks run once per distinct cell value or as array operations so that
a 10,000-row list validates in well under a second.

Confidential services (refuges and every type marked `confidential_by_default`): messages are
redacted by structure, not by editing formatted text. A row is *possibly confidential* when its
`confidential` flag says so, when its type is confidential by default, or when its type or flag
cannot be read; every problem about such a row carries its row and column and generic wording
that quotes nothing from the row (no value, name, postcode or coordinate), ending in
`VALUE_NOT_SHOWN`. Reader problems about such rows are replaced the same way, and a file whose
header row seems missing is never answered with its first (data) row as "columns found".

Confidentiality fails closed: headers that mean "this location is secret" in common wordings
map to `confidential` (and "publish location"-style headers to its inverse); a header that
looks like such a flag but cannot be mapped is an error, as is an unreadable flag. A
confidential service may not have `catchment_km` (its shares between areas would give its
position away): list the areas it serves in `serves` instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap import settings
from gapmap.areaindex import points_in_any_area
from gapmap.config import Config
from gapmap.errors import ValidationReport
from gapmap.postcodes import normalise_postcodes
from gapmap.schema import ELIGIBILITY_COLUMNS, SERVES_EVERYWHERE, SERVICE_COLUMNS

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
    "specialist_groups": ("specialist_groups", "specialist_group", "specialism", "specialisms"),
    # Its own column: a service run by and for a community is not the same as one tailored to it.
    "by_and_for": ("by_and_for", "by_and_for_groups", "led_by_and_for"),
    "wheelchair_accessible": ("wheelchair_accessible", "wheelchair_access", "step_free_access"),
    "accepts_nrpf": ("accepts_nrpf", "nrpf_accepted", "accepts_no_recourse_to_public_funds"),
    "accepts_older_sons": ("accepts_older_sons", "older_sons_accepted"),
    "accepts_pets": ("accepts_pets", "pets_accepted"),
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
    "confidential": (
        "confidential",
        "is_confidential",
        "confidential_location",
        "location_confidential",
        "confidential_address",
        "address_confidential",
        "confidential_service",
        "confidential_y_n",
        "confidential_yes_no",
        "secret",
        "is_secret",
        "secret_location",
        "secret_address",
        "location_secret",
        "do_not_publish",
        "do_not_publish_location",
        "do_not_publish_address",
        "dont_publish_location",
        "don_t_publish_location",
        "not_for_publication",
        "private_address",
        "private_location",
        "address_private",
        "address_withheld",
        "location_withheld",
        "withhold_location",
        "withhold_address",
        "hidden",
        "hidden_location",
        "hidden_address",
        "hide_location",
        "hide_address",
        "safe_house",
        "is_safe_house",
        "undisclosed_location",
        "undisclosed_address",
    ),
    "intervention": ("intervention", "intervention_name", "named_intervention"),
    # Optional activity (gapmap.demand sums it to areas as unmet need); kept only when given.
    "referrals": ("referrals", "referrals_received"),
    "referrals_declined": ("referrals_declined", "declined_referrals", "referrals_refused"),
    "waiting_list": ("waiting_list", "waiting", "people_waiting"),
}
#: Activity columns carried on the services frame only when the list has them.
ACTIVITY_COLUMNS: tuple[str, ...] = ("referrals", "referrals_declined", "waiting_list")

REQUIRED_COLUMNS: tuple[str, ...] = ("name", "service_type")

#: Headers meaning the opposite of `confidential` ("yes" = the location may be shown): read
#: inverted, so that "Publish location: no" keeps a refuge secret.
INVERTED_CONFIDENTIAL_ALIASES: tuple[str, ...] = (
    "publish_location",
    "publish_address",
    "location_publishable",
    "publishable",
    "ok_to_publish",
    "can_publish_location",
    "show_location",
    "show_address",
    "show_on_map",
    "public_location",
    "public_address",
    "location_public",
    "address_public",
    "share_location",
)
#: Words that make an unrecognised header look like a confidentiality flag (an error: a flag
#: we cannot read must not be ignored). "safeguard..." is a different matter and exempt.
_FLAG_WORDS = re.compile(r"confiden|secret|privat|withh|hidden|hide|publish|safe(?!guard)|conceal|undisclos")

#: Ends every message about a possibly-confidential row instead of the cell's value.
VALUE_NOT_SHOWN = "(value not shown: this row may be confidential)"

#: Rough extent of Great Britain (and its islands) in WGS84: points outside get a warning.
GB_LAT = (49.8, 61.0)
GB_LON = (-8.7, 2.1)
#: British National Grid's valid range, metres.
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)

_TRUE = frozenset({"true", "yes", "y", "1", "t", "1.0"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "0.0"})
_ALIAS_TO_COLUMN = {alias: col for col, aliases in SERVICE_COLUMN_ALIASES.items() for alias in aliases}
_ALIAS_TO_COLUMN.update(dict.fromkeys(INVERTED_CONFIDENTIAL_ALIASES, "confidential"))


def header_key(column: object) -> str:
    """The comparable form of a header: "Service name " -> "service_name"."""
    return re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")


#: The header words a "header row seems missing" message lists.
_EXPECTED_HEADER_HINT: tuple[str, ...] = (
    "name",
    "service_type",
    "provider",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "postcode",
    "serves",
    "capacity",
    "confidential",
)


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
    _redact_reader_messages(report, first, table, config)
    services = validate_service_table(
        table, file=label, config=config, areas=areas, postcodes=postcodes, report=report, today=today
    )
    # The reader's own errors (a row with values past the last column) also refuse the list.
    if any(p.severity == "error" for p in report.problems[first:]):
        return None
    return services


#: What a reader problem about a possibly-confidential row says instead of its own text (which
#: may quote the row's values, e.g. the values past the last column).
_READER_ROW_MESSAGE = (
    "this row has more values than the header has columns, or cannot be parsed "
    f"{VALUE_NOT_SHOWN}; check that it has one value per column and put any value that contains "
    "a comma in double quotes."
)
_READER_HEADER_MESSAGE = (
    "the first row is not a header row we recognise, so it may be data "
    f"{VALUE_NOT_SHOWN}; add a header row (see the input formats in README.md)."
)


def _redact_reader_messages(
    report: ValidationReport, first: int, table: pd.DataFrame, config: Config
) -> None:
    """Replace the reader's problems about possibly-confidential rows with generic wording.

    By structure: the problem keeps its file, row, column and severity, and its message is
    replaced whole, so no quoting style (an apostrophe in a value) can let a value through.
    When the header row is not recognised it may itself be a refuge's row: problems about it
    are replaced too.
    """
    if all(p.row is None for p in report.problems[first:]):
        return  # nothing about a row to redact: spare reading every row's type and flag
    rows = _confidential_row_numbers(table, config)
    header_row = table.attrs.get("header_row")
    header_ok = _header_recognised([c for c in table.columns if c != "__row__"])
    for k in range(first, len(report.problems)):
        problem = report.problems[k]
        if problem.row is None:
            continue
        if problem.row in rows:
            message = _READER_ROW_MESSAGE
        elif problem.row == header_row and not header_ok:
            message = _READER_HEADER_MESSAGE
        else:
            continue
        report.problems[k] = dataclasses.replace(problem, message=message, column=None)


def _map_headers(columns: Iterable[object]) -> tuple[dict[str, str], list[str], list[tuple[str, str]]]:
    """(canonical -> header, unrecognised headers, (header, header) pairs that mean the same)."""
    headers: dict[str, str] = {}
    unrecognised: list[str] = []
    clashes: list[tuple[str, str]] = []
    for col in columns:
        canonical = _canonical(col)
        if canonical is None:
            key = header_key(col)
            if key and not key.startswith("unnamed"):
                unrecognised.append(str(col))
            continue
        if canonical in headers:
            clashes.append((headers[canonical], str(col)))
            continue
        headers[canonical] = str(col)
    return headers, unrecognised, clashes


def _canonical(column: object) -> str | None:
    """The canonical column a header means, or None."""
    canonical = _ALIAS_TO_COLUMN.get(header_key(column))
    if canonical is None and "(" in str(column):
        # "Capacity (FTE)", "Funding end date (DD/MM/YYYY)": the note in brackets is not the name.
        canonical = _ALIAS_TO_COLUMN.get(header_key(re.sub(r"\(.*?\)", " ", str(column))))
    return canonical


def _inverted(header: str) -> bool:
    """Whether a `confidential` header means "may be published" (true = not confidential)."""
    keys = {header_key(header), header_key(re.sub(r"\(.*?\)", " ", header))}
    return bool(keys & set(INVERTED_CONFIDENTIAL_ALIASES))


def _header_recognised(columns: list) -> bool:
    """Whether a header row looks like one: at least two headers we know (e.g. name and type).

    A list saved without its header row has its first service as "header": at most one of its
    values happens to be a header word, and it must never be quoted back as "columns found".
    """
    return len(_map_headers(columns)[0]) >= 2


def _parse_flag(text: str) -> bool | None:
    """True/False for a readable yes/no cell (blank is None), else None."""
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else None


def _possibly_confidential(
    type_ids: Sequence[str | None], flags: Sequence[bool | None], flag_text: Sequence[str], config: Config
) -> np.ndarray:
    """Rows whose messages must quote nothing: flagged confidential, of a confidential-by-default
    type, or whose type or flag cannot be read.
    """
    if not len(type_ids) == len(flags) == len(flag_text):
        raise ValueError("type ids, flags and flag texts differ in length")
    # The type's part once per distinct type id; the flags (True, False or None) as arrays.
    codes, uniques = pd.factorize(_objects(type_ids), sort=False, use_na_sentinel=False)
    kinds = [config.service_types.get(t) if t else None for t in uniques]
    type_secret = np.array([st is None or st.confidential for st in kinds], dtype=bool)[codes]
    flag = _objects(flags)
    flag_true = np.fromiter((f is True for f in flag), dtype=bool, count=len(flag))
    flag_none = np.fromiter((f is None for f in flag), dtype=bool, count=len(flag))
    return _secret_rows(type_secret, flag_true, flag_none, _objects(flag_text) != "")


def _secret_rows(
    type_secret: np.ndarray, flag_true: np.ndarray, flag_unread: np.ndarray, flag_given: np.ndarray
) -> np.ndarray:
    """`_possibly_confidential` from its parts, per row: a type that is secret (or unknown),
    a flag read as true, or a flag given that cannot be read."""
    return type_secret | flag_true | (flag_unread & flag_given)


def _confidential_row_numbers(table: pd.DataFrame, config: Config) -> set[int]:
    """Row numbers of services that are (or may be) confidential, judged before validation."""
    rows = pd.to_numeric(table.get("__row__", pd.Series(dtype=float)), errors="coerce").fillna(0).astype(int)
    headers, _, clashes = _map_headers(c for c in table.columns if c != "__row__")
    if "service_type" not in headers or any(_canonical(a) == "confidential" for a, _ in clashes):
        return set(rows.tolist())  # cannot tell: treat every row as confidential
    lookup = _vocab_lookup(config.service_types)
    types = [lookup.get(header_key(v)) for v in _text(table[headers["service_type"]])]
    if "confidential" in headers:
        text = _text(table[headers["confidential"]]).tolist()
        flags = [_parse_flag(v) for v in text]
        if _inverted(headers["confidential"]):
            flags = [None if f is None else not f for f in flags]
    else:
        text, flags = [""] * len(types), [None] * len(types)
    secret = _possibly_confidential(types, flags, text, config)
    return set(rows[secret].tolist())


# --------------------------------------------------------------------------------------
# helpers


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text, "" for blanks (NA, None, NaN).

    Object dtype on purpose: the row loops that build messages index single cells, which is
    ten times faster than on Arrow-backed strings.
    """
    if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        # Mixed cells (a spreadsheet's numbers, dates, booleans) one by one: factorising would
        # merge True with 1.0, which hash alike.
        return _strip_text(series)
    # Text (what the CSV reader gives), once per distinct value: 10,000 cells hold a few
    # hundred different ones. Code -1 (a missing cell) picks the "" appended last.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = np.append(_strip_text(pd.Series(uniques, dtype=object)).to_numpy(dtype=object), "")
    return pd.Series(lookup[codes], index=series.index, dtype=object)


def _texts(columns: list[pd.Series]) -> tuple[list[np.ndarray], np.ndarray]:
    """`_text` of several columns, as arrays, and which rows are blank in all of them.

    The distinct values of all the text columns are stripped in one pass (the same
    operations, elementwise), not one pass per column.
    """
    out: list[np.ndarray | None] = [None] * len(columns)
    blank = np.ones(len(columns[0]) if columns else 0, dtype=bool)
    factorized: list[tuple[int, np.ndarray, int, int]] = []  # (column, codes, start, stop)
    uniques: list[pd.Series] = []
    start = 0
    for k, series in enumerate(columns):
        if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
            out[k] = _strip_text(series).to_numpy(dtype=object)  # mixed cells: as `_text`
            blank &= out[k] == ""
            continue
        codes, values = pd.factorize(series, use_na_sentinel=True)
        # `_strip_text`'s first step, here per column: Arrow-backed text (the reader's) stays in
        # Arrow, not turned into Python strings and back.
        distinct = pd.Series(values, dtype=object if isinstance(values, np.ndarray) else None)
        uniques.append(distinct.astype("string"))
        factorized.append((k, codes, start, start + len(values)))
        start += len(values)
    if factorized:
        stripped = _strip_text(pd.concat(uniques, ignore_index=True)).to_numpy(dtype=object)
        for k, codes, first, stop in factorized:
            # Code -1 (a missing cell) picks the "" appended last.
            lookup = np.append(stripped[first:stop], "")
            out[k] = lookup[codes]
            blank &= (lookup == "")[codes]
    return out, blank  # type: ignore[return-value]


def _strip_text(series: pd.Series) -> pd.Series:
    """`_text` cell by cell."""
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
    items: Iterable[tuple[str, Any]] = vocab.items() if isinstance(vocab, dict) else ((v, {}) for v in vocab)
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


#: Generic wording per (severity, column) for a possibly-confidential row whose call site gave
#: none: what is wrong and how to fix it, never the value.
_GENERIC: dict[tuple[str, str | None], str] = {
    (
        "error",
        "capacity",
    ): "`capacity` cannot be used; write a number (zero or more) such as 2.5, or leave it blank",
    (
        "error",
        "catchment_km",
    ): "`catchment_km` cannot be used; write a number of kilometres greater than zero",
    ("error", "funding_end"): (
        "`funding_end` cannot be read; write the date as YYYY-MM-DD (e.g. 2027-03-31) or DD/MM/YYYY, "
        "or leave it blank if open-ended"
    ),
    ("warning", "funding_end"): (
        "the funding end date is before today; check whether the service still runs and update the "
        "date, or remove the row"
    ),
}


#: A row's position in the table: a Python int, or numpy's (from `np.flatnonzero`).
RowIndex = int | np.integer


class _Collector:
    """Adds problems for one file; knows which rows may be confidential, to quote nothing of them.

    `secret` is set before any message is added. For those rows `error`/`warn` use the call
    site's `private` wording (which holds no cell value by construction), else the column's
    generic wording: the row's own text never reaches the message.
    """

    def __init__(self, report: ValidationReport, file: str, rows: np.ndarray, headers: dict[str, str]):
        self.report = report
        self.file = file
        self.rows = rows
        self.headers = headers
        self.secret = np.ones(len(rows), dtype=bool)
        #: rows whose given location had an error (no extra "no location" error for them)
        self.location_error = np.zeros(len(rows), dtype=bool)

    def column(self, canonical: str) -> str:
        return self.headers.get(canonical, canonical)

    def _message(
        self, i: RowIndex, severity: str, canonical: str | None, message: str, private: str | None, safe: bool
    ) -> str:
        if safe or (message and not self.secret[i]):
            return message
        if private is None:
            private = _GENERIC.get(
                (severity, canonical),
                f"`{canonical}` cannot be used; check it against the input formats in README.md"
                if canonical
                else "check this row against the input formats in README.md",
            )
        head, sep, tail = private.partition(";")
        return f"{head} {VALUE_NOT_SHOWN}{sep}{tail}".rstrip(".") + "."

    def error(
        self, i: RowIndex, canonical: str | None, message: str, private: str | None = None, safe: bool = False
    ) -> None:
        """An error about row i.

        `private` is the wording for a possibly-confidential row: no cell value in it;
        VALUE_NOT_SHOWN is inserted before its first ";". An empty `message` uses `private` for
        every row (the value is shared with a row that may be secret). `safe` says `message`
        itself quotes nothing from the row (a fixed text), so it is used for every row.
        """
        col = self.column(canonical) if canonical else None
        text = self._message(i, "error", canonical, message, private, safe)
        self.report.error(self.file, text, int(self.rows[i]), col)

    def warn(
        self, i: RowIndex, canonical: str | None, message: str, private: str | None = None, safe: bool = False
    ) -> None:
        """A warning about row i (see `error`)."""
        col = self.column(canonical) if canonical else None
        text = self._message(i, "warning", canonical, message, private, safe)
        self.report.warn(self.file, text, int(self.rows[i]), col)

    def shown(self, i: RowIndex, value: object) -> str:
        """A value quoted (only ever used in wording for rows that are not secret)."""
        return _quote(str(value))


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

    The steps run in this order, because each relies on the one before: the headers; the
    cells as text; which rows may be confidential (before any message, so that none quotes
    them); then each column, the locations and the areas served.
    """
    today = today or date.today()
    errors_before = len(report.errors)
    problems_before = len(report.problems)
    data_columns = [c for c in table.columns if c != "__row__"]
    headers = _check_headers(data_columns, file, report)
    if headers is None or len(report.errors) > errors_before:
        return None
    cells = _cells_as_text(table, data_columns, headers, file, report)
    if cells is None:
        return None
    out = _Collector(report, file, cells.rows, headers)
    type_ids, types, confidential = _types_and_confidentiality(cells, headers, config, out)
    _check_secret_catchments(confidential, cells.col("catchment_km"), out)
    names = cells.col("name")
    _check_names(names, out)
    columns = _attribute_columns(cells, headers, types, config, today, out)
    lat, lon, postcode, source = _locate(cells.col, postcodes, out, cells.n)
    serves = _serves(cells.col("serves"), areas, out)
    _check_placeable(names, cells.col("serves"), cells.col("postcode"), serves, lat, out)
    located = ~np.isnan(lat)
    # The services' points, made once: for the check against the areas and for the frame.
    points = shapely.points(lon[located], lat[located]) if located.any() else None
    if areas is not None and points is not None:
        _check_points_in_areas(lat, lon, located, points, serves, areas, out)

    _sort_problems_by_row(report, problems_before)
    if len(report.errors) > errors_before:
        return None
    columns.update(
        name=names.to_numpy(dtype=object),
        service_type=type_ids,
        provider=cells.col("provider").to_numpy(dtype=object),
        latitude=lat,
        longitude=lon,
        postcode=postcode,
        address=cells.col("address").to_numpy(dtype=object),
        location_source=source,
        serves=_objects(serves),
        confidential=confidential,
        intervention=cells.col("intervention").to_numpy(dtype=object),
        source_row=cells.rows.astype(int),
    )
    return _services_frame(columns, points, located)


def _row_numbers(table: pd.DataFrame) -> np.ndarray:
    """The spreadsheet row number of each table row (from `__row__`; else 2, 3, ... under a header)."""
    if "__row__" in table.columns:
        return pd.to_numeric(table["__row__"], errors="coerce").fillna(0).astype(int).to_numpy()
    return np.arange(2, len(table) + 2)


def _check_headers(data_columns: list, file: str, report: ValidationReport) -> dict[str, str] | None:
    """Checks the header row: present, no two columns meaning the same, no unreadable
    confidentiality flag, every required column there; warns about near-misses.

    Returns canonical column -> header, or None when the table cannot be read further (a
    missing header row or required column). Other errors are in `report`.
    """
    headers, unrecognised, clashes = _map_headers(data_columns)
    if not _header_recognised(data_columns) and not set(REQUIRED_COLUMNS) <= set(headers):
        # Probably saved without its header row: the "header" is a service (maybe a refuge).
        report.error(
            file,
            "the header row seems to be missing: the first row does not name the columns "
            f"{VALUE_NOT_SHOWN}. Add a header row naming at least `name` and `service_type`, plus a "
            "location (`latitude` and `longitude`, `easting` and `northing`, or `postcode`) or `serves`. "
            f"Header words we read: {_listing(_EXPECTED_HEADER_HINT)}; see the input formats in README.md.",
        )
        return None
    for first_col, second_col in clashes:
        report.error(
            file,
            f"columns `{first_col}` and `{second_col}` both mean `{_canonical(second_col)}`; "
            "delete or rename one of them.",
            column=second_col,
        )
    for header in unrecognised:
        if _FLAG_WORDS.search(header_key(header)):
            # Fail closed: a flag we cannot read must not leave a refuge's location public.
            report.error(
                file,
                f"column `{header}` looks like it says whether a location is confidential, but gapmap "
                "cannot read it. Rename it `confidential` (true = the location is secret) or "
                "`publish_location` (true = the location may be shown), or delete it.",
                column=header,
            )

    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        # Only header-like cells are quoted (a number or postcode in the header row is data).
        shown_cols = [str(c) for c in data_columns if not re.search(r"\d", str(c))]
        found = ", ".join(_quote(c) for c in shown_cols[:15]) or "none"
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
    for header in unrecognised:
        close = difflib.get_close_matches(header_key(header), list(_ALIAS_TO_COLUMN), n=1, cutoff=0.8)
        if close and _ALIAS_TO_COLUMN[close[0]] not in headers and not _FLAG_WORDS.search(header_key(header)):
            report.warn(
                file,
                f"column `{header}` is not recognised and is ignored; did you mean "
                f"`{_ALIAS_TO_COLUMN[close[0]]}`? Rename it to use it.",
                column=header,
            )
    return headers


@dataclasses.dataclass
class _Cells:
    """The service rows' cells as stripped text (blank rows dropped), by canonical column."""

    text: dict[str, pd.Series]
    rows: np.ndarray  # spreadsheet row number of each service

    @property
    def n(self) -> int:
        return len(self.rows)

    def col(self, canonical: str) -> pd.Series:
        """A column's cells; "" in every row when the table has no such column."""
        if canonical in self.text:
            return self.text[canonical]
        return pd.Series([""] * self.n, dtype=object)


def _cells_as_text(
    table: pd.DataFrame, data_columns: list, headers: dict[str, str], file: str, report: ValidationReport
) -> _Cells | None:
    """Checks there is at least one service below the header. Blank rows (every cell empty)
    are dropped silently. Returns the cells as text, or None (with an error) when none is left.
    """
    texts, blank = _texts([table[column] for column in data_columns])
    if not data_columns:
        blank = np.ones(len(table), dtype=bool)
    keep = None if not blank.any() else ~blank  # no blank row (the usual case): no copies
    by_header = dict(zip(data_columns, texts, strict=True))
    cells = _Cells(
        {
            canonical: pd.Series(by_header[header] if keep is None else by_header[header][keep], dtype=object)
            for canonical, header in headers.items()
        },
        _row_numbers(table) if keep is None else _row_numbers(table)[keep],
    )
    if cells.n == 0:
        report.error(file, "the file has a header row but no services below it; add one row per service.")
        return None
    return cells


@dataclasses.dataclass
class _RowTypes:
    """Each row's service type: `kinds[codes[i]]` is row i's `ServiceType`, or None when its
    type is unknown (one entry per distinct `service_type` cell, so that what depends on the
    type is worked out once per type, not once per row)."""

    codes: np.ndarray
    kinds: list[Any]

    def by_type(self, value: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """`value(type)` for each row (None for an unknown type), computed once per type."""
        per_kind = [value(kind) for kind in self.kinds]
        return (_objects(per_kind) if dtype is object else np.array(per_kind, dtype=dtype))[self.codes]


def _types_and_confidentiality(
    cells: _Cells, headers: dict[str, str], config: Config, out: _Collector
) -> tuple[np.ndarray, _RowTypes, np.ndarray]:
    """Checks `service_type` and `confidential`; decides which rows may be secret first.

    `out.secret` is set before any message about a row is added, so that no message quotes a
    refuge's cells. Returns (type ids, "" when unknown; the `ServiceType` or None of each row;
    whether each row is confidential).
    """
    type_lookup = _vocab_lookup(config.service_types)
    type_raw = cells.col("service_type")
    codes, uniques = pd.factorize(type_raw, sort=False, use_na_sentinel=False)
    ids = [type_lookup.get(header_key(v), "") for v in uniques]
    type_ids = _objects(ids)[codes]
    # The `ServiceType` (or None) of each row, looked up once per distinct type.
    types = _RowTypes(codes, [config.service_types.get(t) for t in ids])
    conf_raw = cells.col("confidential")
    # The flags read once per distinct cell: True, False or None (blank or unreadable).
    conf_codes, conf_uniques = pd.factorize(conf_raw, sort=False, use_na_sentinel=False)
    parsed = [_parse_flag(v) for v in conf_uniques]
    if "confidential" in headers and _inverted(headers["confidential"]):
        parsed = [None if v is None else not v for v in parsed]
    flag_true = np.array([v is True for v in parsed], dtype=bool)[conf_codes]
    flag_unread = np.array([v is None for v in parsed], dtype=bool)[conf_codes]
    flag_given = (conf_raw != "").to_numpy(dtype=bool)
    type_secret = types.by_type(lambda st: st is None or st.confidential, bool)
    out.secret = _secret_rows(type_secret, flag_true, flag_unread, flag_given)
    _check_service_types(type_ids, type_raw, config, out)
    confidential = _confidential_flags(flag_true, flag_unread, flag_given, conf_raw, types, headers, out)
    return type_ids, types, confidential


def _check_service_types(type_ids: np.ndarray, type_raw: pd.Series, config: Config, out: _Collector) -> None:
    """Checks every row has a `service_type` from the vocabulary (suggesting the closest)."""
    for i in np.flatnonzero(type_ids == ""):
        raw = type_raw.iat[i]
        if raw == "":
            out.error(
                i,
                "service_type",
                f"`service_type` is blank; every service needs a type: {_listing(config.service_types)}.",
                safe=True,
            )
        else:
            out.error(
                i,
                "service_type",
                f"unknown service type {_quote(raw)}; "
                + _did_you_mean(header_key(raw), config.service_types)
                + f"valid types: {_listing(config.service_types)}.",
                # A vocabulary word suggested is not the row's text.
                private="not a known service type; "
                + _did_you_mean(header_key(raw), config.service_types)
                + f"valid types: {_listing(config.service_types)}",
            )


def _confidential_flags(
    read: np.ndarray,
    unread: np.ndarray,
    given: np.ndarray,
    conf_raw: pd.Series,
    types: _RowTypes,
    headers: dict[str, str],
    out: _Collector,
) -> np.ndarray:
    """Checks the `confidential` flags read as true/false, and warns when a type that is secret
    by default (a refuge) is marked not confidential. Blank means the type's default; an
    unreadable flag counts as confidential while it is reported.

    Per row: `read` the flag says true, `unread` it says neither true nor false (blank or
    unreadable), `given` it is not blank.
    """
    flag_name = headers.get("confidential", "confidential")
    # By type, as arrays: secret by default (an unknown type counts as secret).
    by_default = types.by_type(lambda st: st is None or st.confidential, bool)
    secret_type = types.by_type(lambda st: st is not None and st.confidential, bool)
    fix = (
        f"write true or false (yes/no, 1/0) in `{flag_name}`, or leave it blank for the "
        "service type's default"
    )
    for i in np.flatnonzero(unread & given).tolist():
        out.error(
            i,
            "confidential",
            f"`{flag_name}` is {_quote(conf_raw.iat[i])}; {fix}.",
            private=(f"`{flag_name}` cannot be read; {fix}"),
        )
    # Blank: the type's default; unreadable: confidential while reporting (never echo a location).
    confidential = np.where(unread, np.where(given, True, by_default), read)
    for i in np.flatnonzero(~confidential & secret_type & given).tolist():
        label = types.kinds[types.codes[i]].label.lower()
        message = (
            f"this {label} is marked not confidential, so its location will be shown "
            "on maps and in exports; refuge addresses are usually secret, as are the locations of other "
            "safe accommodation. Make sure this is intended."
        )
        out.warn(i, "confidential", message, safe=True)
    return confidential


def _check_secret_catchments(confidential: np.ndarray, catchment_text: pd.Series, out: _Collector) -> None:
    """Checks no confidential service has a catchment circle: its shares would give it away."""
    for i in np.flatnonzero(confidential & (catchment_text != "").to_numpy()):
        message = (
            "a confidential service cannot have `catchment_km`: its share of each area would give "
            "its location away. Delete the catchment and list the areas it serves in `serves` (area "
            "codes or names separated by ;, or * for every area)."
        )
        out.error(i, "catchment_km", message, safe=True)


def _check_names(names: pd.Series, out: _Collector) -> None:
    """Checks every service has a name."""
    for i in np.flatnonzero((names == "").to_numpy()):
        out.error(i, "name", "`name` is blank; every service needs a name.", safe=True)


def _attribute_columns(
    cells: _Cells, headers: dict[str, str], types: _RowTypes, config: Config, today: date, out: _Collector
) -> dict[str, Any]:
    """Checks and reads every descriptive column: ids, the `;` lists (tiers, cohorts, abuse
    types, groups; blank lists default from the service type), eligibility flags, catchment,
    capacity and its unit, hours, funding end and activity counts.

    Returns output column -> values, in row order.
    """
    col = cells.col
    columns: dict[str, Any] = {"service_id": _service_ids(col("service_id"), "service_id" in headers, out)}
    columns["tiers"] = _objects(_list_column("tiers", col("tiers"), config.tiers, types, out, "tiers"))
    columns["cohorts"] = _objects(
        _list_column("cohorts", col("cohorts"), config.cohorts, types, out, "cohorts")
    )
    columns["abuse_types"] = _objects(
        _list_column("abuse_types", col("abuse_types"), config.abuse_types, types, out, "abuse_types")
    )
    columns["specialist_groups"] = _objects(
        _list_column("specialist_groups", col("specialist_groups"), config.specialist_groups, None, out, None)
    )
    columns["by_and_for"] = _objects(
        _list_column("by_and_for", col("by_and_for"), config.specialist_groups, None, out, None)
    )
    columns.update({c: _optional_flags(c, col(c), out) for c in ELIGIBILITY_COLUMNS})
    columns["catchment_km"] = _number_column(
        "catchment_km", col("catchment_km"), out, minimum=0.0, strict=True
    )
    columns["capacity"] = _number_column("capacity", col("capacity"), out, minimum=0.0, strict=False)
    columns["capacity_unit"] = _capacity_units(col("capacity_unit"), types, config, out)
    columns["hours"] = _hours(col("hours"), config, out)
    columns["funding_end"] = _funding_end(col("funding_end"), today, out)
    columns["activity"] = {
        c: _number_column(c, col(c), out, minimum=0.0, strict=False) for c in ACTIVITY_COLUMNS if c in headers
    }
    return columns


def _check_placeable(
    names: pd.Series,
    serves_raw: pd.Series,
    postcode_raw: pd.Series,
    serves: np.ndarray,
    lat: np.ndarray,
    out: _Collector,
) -> None:
    """Checks every service can count somewhere: a location, or `serves`."""
    postcode_given = (postcode_raw != "").to_numpy()
    for i in np.flatnonzero(np.isnan(lat)):
        if not serves[i] and serves_raw.iat[i] == "" and not out.location_error[i]:
            out.error(
                i,
                "serves",
                f"service {_quote(names.iat[i])} has no location"
                + (" (its postcode gave none, see the warning)" if postcode_given[i] else "")
                + " and no `serves`, so it cannot be placed in any area. Give `serves` (area codes or "
                "names separated by ;, or * for every area); refuges usually have no published "
                "location: give `serves`.",
                private="this service has no location and no `serves`, so it cannot be placed in any "
                "area; give `serves` (area codes or names separated by semicolons, or * for every area): "
                "refuges usually have no published location: give `serves`",
            )


def _sort_problems_by_row(report: ValidationReport, start: int) -> None:
    """Puts the problems from `start` on in row order, so an analyst can work down the sheet
    (whole-file problems first; a stable sort keeps each row's in the order found)."""
    report.problems[start:] = sorted(report.problems[start:], key=lambda p: -1 if p.row is None else p.row)


def _services_frame(
    columns: dict[str, Any], points: np.ndarray | None, located: np.ndarray
) -> gpd.GeoDataFrame:
    """The services frame (`SERVICE_COLUMNS`, then any activity columns) with WGS84 points
    (`points` holds the located rows' points, in row order)."""
    activity = columns.pop("activity")
    geometry = np.full(len(located), None, dtype=object)
    if points is not None:
        geometry[located] = points
    frame = pd.DataFrame({c: columns[c] for c in SERVICE_COLUMNS if c != "geometry"})
    for c, values in activity.items():
        frame[c] = values
    result = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=settings.WGS84_EPSG))
    order = [*SERVICE_COLUMNS, *activity]
    # The geometry comes last, where SERVICE_COLUMNS has it: reorder only for activity columns.
    return result if list(result.columns) == order else result[order]


def _optional_flags(canonical: str, raw: pd.Series, out: _Collector) -> np.ndarray:
    """An optional yes/no column: True, False, or None where blank (the list does not say)."""
    # Read once per distinct cell; only the rows with an unreadable value are visited.
    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    parsed = _objects([_parse_flag(v) for v in uniques])
    unreadable = np.array([p is None and v != "" for p, v in zip(parsed, uniques, strict=True)], dtype=bool)
    cells = raw.to_numpy(dtype=object)  # one conversion, not a pandas lookup per row
    for i in np.flatnonzero(unreadable[codes]).tolist():
        out.error(
            i,
            canonical,
            f"`{canonical}` is {_quote(cells[i])}; write true or false (yes/no, 1/0), "
            "or leave it blank if not known.",
        )
    return parsed[codes]


def _did_you_mean_header(canonical: str, unrecognised: list[str]) -> str:
    keys = {header_key(c): c for c in unrecognised}
    close = difflib.get_close_matches(canonical, list(keys), n=1, cutoff=0.6)
    return f" Column `{keys[close[0]]}` looks close: rename it to `{canonical}`." if close else ""


def _objects(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """`values` as a 1-D object array (a tuple stays one cell, as np.array would not keep it)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _service_ids(raw: pd.Series, present: bool, out: _Collector) -> np.ndarray:
    n = len(raw)
    given = raw.to_numpy(dtype=object)
    used = set(given[given != ""])
    ids = given.copy()
    counter = 0
    for i in np.flatnonzero(given == "").tolist():
        # Deterministic ids for rows without one: S0001, S0002, ... in row order.
        counter += 1
        candidate = f"S{counter:04d}"
        while candidate in used:
            counter += 1
            candidate = f"S{counter:04d}"
        ids[i] = candidate
        used.add(candidate)
    if present and n:
        # The first row of each id (codes are 0, 1, ... in order); every later row with the
        # same id is an error, in row order.
        codes, _ = pd.factorize(given, sort=False, use_na_sentinel=False)
        first = np.unique(codes, return_index=True)[1]
        for i in np.flatnonzero((first[codes] != np.arange(n)) & (given != "")).tolist():
            value, other = given[i], int(first[codes[i]])
            private = (
                f"this service_id is also used on row {out.rows[other]}; each service needs its own "
                "id (or leave the cell blank to have one generated)"
            )
            message = (
                f"service_id {_quote(value)} is also used on row {out.rows[other]}; "
                "each service needs its own id (or leave the cell blank to have one generated)."
            )
            # The value is also the other row's: quote it only when neither row may be secret.
            out.error(i, "service_id", message if not out.secret[other] else "", private=private)
    return ids


def _list_column(
    canonical: str,
    raw: pd.Series,
    vocab: dict[str, Any] | Iterable[str],
    types: _RowTypes | None,
    out: _Collector,
    default_attr: str | None,
) -> np.ndarray:
    """A `;` list column: tuples of vocabulary ids per row (an object array)."""
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

    # Parsed once per distinct cell; then only the rows that need more are visited: those with
    # an unknown token (an error each, in row order) and blank ones taking their type's default.
    codes, uniques = pd.factorize(raw, sort=False)
    parsed = [parse(u) for u in uniques]
    # A take in C, not a Python lookup per row; code -1 (none: the cells are text) picks ().
    values = _objects([found for found, _ in parsed] + [()])[codes]
    singular = canonical.rstrip("s").replace("_", " ")
    has_bad = np.array([bool(bad) for _, bad in parsed] + [False], dtype=bool)  # code -1: none
    for i in np.flatnonzero(has_bad[codes]).tolist():
        for token in parsed[codes[i]][1]:
            out.error(
                i,
                canonical,
                f"unknown {singular} {_quote(token)}; "
                + _did_you_mean(header_key(token), allowed)
                + f"expected one or more of: {_listing(allowed)}, separated by ;.",
                private=f"unknown {singular}; expected one or more of: {_listing(allowed)}, "
                "separated by semicolons",
            )
    if default_attr and types is not None:
        blank = (raw == "").to_numpy(dtype=bool)  # one comparison, not a pandas lookup per row
        # A blank cell parses to (); it takes its type's default, made once per type.
        made: dict[int, tuple[str, ...]] = {}  # one tuple per `ServiceType`
        defaults = types.by_type(
            lambda t: None if t is None else made.setdefault(id(t), tuple(getattr(t, default_attr)))
        )
        take = blank & types.by_type(lambda t: t is not None, bool)
        values[take] = defaults[take]
    return values


def _number_column(
    canonical: str, raw: pd.Series, out: _Collector, *, minimum: float, strict: bool
) -> np.ndarray:
    """Numbers >= minimum (> minimum when strict); blanks are NaN."""
    # Parsed once per distinct cell (a column of 10,000 numbers holds a few hundred), with the
    # same operations elementwise; then taken back to row order.
    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=object)
    # "1,200" is a thousands separator; "2,5" (a decimal comma) stays unreadable and is reported.
    thousands = distinct.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False).astype(bool)
    cleaned = distinct.where(~thousands, distinct.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce").astype(float).to_numpy()
    values = numbers[codes]
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


def _capacity_units(raw: pd.Series, types: _RowTypes, config: Config, out: _Collector) -> np.ndarray:
    """Each row's capacity unit: a blank cell takes its type's unit; an unknown unit is an error."""
    lookup = {header_key(u): u for u in config.capacity_units}
    # Read once per distinct cell; only the rows with an unknown unit are visited.
    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    found = [lookup.get(header_key(text)) if text != "" else "" for text in uniques]
    given = _objects(["" if unit is None else unit for unit in found])[codes]
    blank = (raw == "").to_numpy(dtype=bool)
    units = np.where(blank, types.by_type(lambda t: t.capacity_unit if t is not None else ""), given)
    unknown = np.array([unit is None for unit in found], dtype=bool)
    for i in np.flatnonzero(unknown[codes]).tolist():
        text = raw.iat[i]
        out.error(
            i,
            "capacity_unit",
            f"unknown capacity unit {_quote(text)}; "
            + _did_you_mean(header_key(text), config.capacity_units)
            + f"expected one of: {_listing(config.capacity_units)}, "
            "or leave blank for the type's default.",
            private=f"unknown capacity unit; expected one of: {_listing(config.capacity_units)}, "
            "or leave blank for the type's default",
        )
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

    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    parsed = _objects([parse(u) for u in uniques])
    unknown = np.array([p is None for p in parsed], dtype=bool)
    values = parsed[codes]
    for i in np.flatnonzero(unknown[codes]).tolist():  # only the rows with an unknown value
        out.error(
            i,
            "hours",
            f"unknown opening hours {_quote(raw.iat[i])}; "
            + _did_you_mean(header_key(raw.iat[i]), allowed)
            + f"expected one of: {_listing(allowed)} (24/7 is read as 24_7), or leave blank.",
            private=f"unknown opening hours; expected one of: {_listing(allowed)} (24/7 is read as "
            "24_7), or leave blank",
        )
        values[i] = ""
    return values


def _funding_end(raw: pd.Series, today: date, out: _Collector) -> pd.Series:
    """Each row's funding end date (NaT where blank or unreadable: an error), warning about a
    date before `today`."""
    # Read and converted once per distinct cell; only the rows with a message are visited.
    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    parsed = [parse_date(v) if v else (None, "") for v in uniques]
    today_ts = pd.Timestamp(today)
    stamps = pd.to_datetime(pd.Series([pd.NaT if p is None else p for p, _ in parsed], dtype=object))
    values = stamps.astype("datetime64[ns]").to_numpy()[codes]
    noted = np.array(
        [
            (stamp is None and text != "") or (stamp is not None and stamp < today_ts)
            for (stamp, _), text in zip(parsed, uniques, strict=True)
        ],
        dtype=bool,
    )
    for i in np.flatnonzero(noted[codes]).tolist():
        stamp, reason = parsed[codes[i]]
        if stamp is None:
            out.error(
                i,
                "funding_end",
                f"funding_end {_quote(raw.iat[i])} {reason}; write the date as YYYY-MM-DD "
                "(e.g. 2027-03-31) or DD/MM/YYYY (31/03/2027), or leave it blank if open-ended.",
            )
        else:
            out.warn(
                i,
                "funding_end",
                f"funding ended on {_uk_date(stamp)}, before today ({_uk_date(today_ts)}); check whether "
                "the service still runs and update the date, or remove the row.",
            )
    return pd.Series(values, dtype="datetime64[ns]")


def _coordinate_pair(
    first: str, second: str, col: Callable[[str], pd.Series], out: _Collector
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse two paired numeric columns. Returns a, b, `given` (both valid) and `failed`."""
    raw_a, raw_b = col(first), col(second)
    has_a = (raw_a != "").to_numpy()
    has_b = (raw_b != "").to_numpy()
    a, b = _coordinates(raw_a, has_a), _coordinates(raw_b, has_b)
    failed = np.zeros(len(a), dtype=bool)
    for name, raw, values, has in ((first, raw_a, a, has_a), (second, raw_b, b, has_b)):
        bad = has & ~np.isfinite(values)
        for i in np.flatnonzero(bad):
            out.error(
                i,
                name,
                f"`{name}` {out.shown(i, raw.iat[i])} is not a number; write it as a plain decimal number.",
                private=f"`{name}` is not a number; write it as a plain decimal number",
            )
        failed |= bad
    for i in np.flatnonzero(has_a & ~has_b):
        out.error(i, second, f"`{first}` is given but `{second}` is blank; give both, or neither.", safe=True)
    for i in np.flatnonzero(has_b & ~has_a):
        out.error(i, first, f"`{second}` is given but `{first}` is blank; give both, or neither.", safe=True)
    failed |= has_a ^ has_b
    out.location_error |= failed
    given = has_a & has_b & ~failed
    return a, b, given, failed


def _coordinates(raw: pd.Series, given: np.ndarray) -> np.ndarray:
    """The cells as floats, NaN where blank (`given` False) or not a number."""
    if not given.any():  # a column the list does not have: no cell to read
        return np.full(len(raw), np.nan)
    return pd.to_numeric(raw.where(given, None), errors="coerce").astype(float).to_numpy().copy()


def _locate(
    col: Callable[[str], pd.Series],
    postcodes: pd.DataFrame | None,
    out: _Collector,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each service's WGS84 location, from the first of: latitude/longitude, easting/northing
    (British National Grid), postcode (looked up in `postcodes`).

    A row whose lat/lon or easting/northing was given but failed is not located from a later
    source: its error says what to fix. Returns latitude, longitude (NaN where unknown), the
    normalised postcode ("" where none) and the source ("latlon", "easting_northing",
    "postcode" or "").
    """
    located = _Located(np.full(n, np.nan), np.full(n, np.nan), np.full(n, "", dtype=object))
    attempted = _from_lat_lon(col, out, located)
    attempted |= _from_easting_northing(col, out, located, attempted)
    postcode = _from_postcode(col("postcode"), postcodes, out, located, attempted)
    _warn_outside_great_britain(located.lat, located.lon, out)
    return located.lat, located.lon, postcode, located.source


@dataclasses.dataclass
class _Located:
    """Locations found so far (filled in place by the `_from_*` steps)."""

    lat: np.ndarray
    lon: np.ndarray
    source: np.ndarray


def _from_lat_lon(col: Callable[[str], pd.Series], out: _Collector, located: _Located) -> np.ndarray:
    """Checks `latitude`/`longitude`: both numbers, in range; swaps back a swapped pair (with a
    warning). Fills `located`; returns the rows where a pair was given (valid or not)."""
    lat, lon, given, failed = _coordinate_pair("latitude", "longitude", col, out)
    bad_range = given & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    for i in np.flatnonzero(bad_range):
        out.error(
            i,
            "latitude" if abs(lat[i]) > 90 else "longitude",
            f"latitude/longitude {out.shown(i, f'{lat[i]:g}, {lon[i]:g}')} is out of range "
            "(latitude -90..90, longitude -180..180); check the columns hold WGS84 degrees "
            "(use `easting`/`northing` for British National Grid metres).",
            private="latitude/longitude is out of range (latitude -90..90, longitude -180..180); check the "
            "columns hold WGS84 degrees (use `easting`/`northing` for British National Grid metres)",
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
            private="latitude and longitude look swapped; they were swapped back. Fix the file so that "
            "`latitude` is about 50-60 in Great Britain",
        )
    lat, lon = np.where(swapped, lon, lat), np.where(swapped, lat, lon)
    located.lat[ok], located.lon[ok] = lat[ok], lon[ok]
    located.source[ok] = "latlon"
    return given | failed


def _from_easting_northing(
    col: Callable[[str], pd.Series], out: _Collector, located: _Located, attempted: np.ndarray
) -> np.ndarray:
    """Checks `easting`/`northing` (rows without a lat/lon attempt): both numbers, inside
    British National Grid. Fills `located`; returns the rows where a pair was given."""
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
            private="easting/northing is outside British National Grid (easting 0..700000, northing "
            "0..1300000 metres); check the values or use latitude/longitude",
        )
    out.location_error |= bad_en
    en_ok = en_given & ~bad_en
    if en_ok.any():
        from gapmap.projection import to_wgs84

        x, y = to_wgs84(east[en_ok], north[en_ok])
        located.lon[en_ok], located.lat[en_ok] = x, y
        located.source[en_ok] = "easting_northing"
    return en_given | en_failed


def _from_postcode(
    postcode_raw: pd.Series,
    postcodes: pd.DataFrame | None,
    out: _Collector,
    located: _Located,
    attempted: np.ndarray,
) -> np.ndarray:
    """Checks postcodes are UK-shaped; locates rows with no other location attempt by the
    lookup. Returns the normalised postcodes ("" where none or malformed)."""
    # Once per distinct cell (most are blank or repeated), the same operations elementwise.
    codes, uniques = pd.factorize(postcode_raw, sort=False, use_na_sentinel=False)
    normalised = normalise_postcodes(pd.Series(uniques, dtype=object)).fillna("").to_numpy(dtype=object)
    postcode = normalised[codes]
    has_pc = (postcode_raw != "").to_numpy()
    bad_shape = has_pc & (postcode == "")
    for i in np.flatnonzero(bad_shape):
        out.warn(
            i,
            "postcode",
            f"postcode {out.shown(i, postcode_raw.iat[i])} is not a UK postcode"
            + (", so the service has no location" if not attempted[i] else "")
            + "; correct it (e.g. LE1 5WW).",
            private="the postcode is not a UK postcode"
            + (", so the service has no location" if not attempted[i] else "")
            + "; correct it (e.g. LE1 5WW)",
        )
    needs_lookup = ~attempted & has_pc & ~bad_shape
    if not needs_lookup.any():
        return postcode
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
        _look_up_postcodes(postcode, np.flatnonzero(needs_lookup), postcodes, out, located)
    return postcode


def _look_up_postcodes(
    postcode: np.ndarray, idx: np.ndarray, postcodes: pd.DataFrame, out: _Collector, located: _Located
) -> None:
    """Locates rows `idx` by the postcode lookup; warns about a postcode not in it, one without
    a grid reference (neither is located) and a terminated one (placed at its last location)."""
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
    no_grid = known & np.isnan(p_lat)
    placed = known & ~no_grid
    # Rows are placed in one step; only those with a warning are visited, in row order.
    for j in np.flatnonzero(~placed | terminated).tolist():
        i = idx[j]
        if not known[j]:
            out.warn(
                i,
                "postcode",
                f"postcode {out.shown(i, postcode[i])} is not in the postcode lookup "
                f"`{lookup_name}`{hint}, so the service has no location; check it, or give "
                "latitude/longitude.",
                private=f"the postcode is not in the postcode lookup `{lookup_name}`{hint}, so the "
                "service has no location; check it, or give latitude/longitude",
            )
            continue
        if np.isnan(p_lat[j]):
            out.warn(
                i,
                "postcode",
                f"postcode {out.shown(i, postcode[i])} has no grid reference in the postcode "
                "lookup, so the service has no location; give latitude/longitude.",
                private="the postcode has no grid reference in the postcode lookup, so the service "
                "has no location; give latitude/longitude",
            )
            continue
        if terminated[j]:
            out.warn(
                i,
                "postcode",
                f"postcode {out.shown(i, postcode[i])} is terminated (no longer in use); the "
                "service was placed at its last known location. Check the current postcode.",
                private="the postcode is terminated (no longer in use); the service was placed at "
                "its last known location. Check the current postcode",
            )
    located.lat[idx[placed]], located.lon[idx[placed]] = p_lat[placed], p_lon[placed]
    located.source[idx[placed]] = "postcode"


def _warn_outside_great_britain(lat: np.ndarray, lon: np.ndarray, out: _Collector) -> None:
    """Warns about a location outside Great Britain's extent (the service is kept)."""
    located = ~np.isnan(lat)
    outside_gb = located & ((lat < GB_LAT[0]) | (lat > GB_LAT[1]) | (lon < GB_LON[0]) | (lon > GB_LON[1]))
    for i in np.flatnonzero(outside_gb):
        out.warn(
            i,
            None,
            f"the location {out.shown(i, f'{lat[i]:.5f}, {lon[i]:.5f}')} is outside Great Britain; "
            "check the coordinates (or postcode).",
            private="the location is outside Great Britain; check the coordinates (or postcode)",
        )


def _serves(raw: pd.Series, areas: gpd.GeoDataFrame | None, out: _Collector) -> np.ndarray:
    """Checks `serves` and resolves it to area codes: a tuple per row (an object array)."""
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

    # England built in: a county, police force area or region named in `serves` means its
    # districts (`gapmap.geography.AreaGroups`, casefolded code or name -> district codes).
    groups = areas.attrs.get("area_groups", {}) if areas is not None else {}

    def resolve(token: str) -> list[str] | None:
        if codes_by_key is None:
            # No boundaries: keep the text (codes upper-cased) for a later check.
            return [token.upper() if re.fullmatch(r"[A-Za-z]\d{8}", token) else token]
        return codes_by_key.get(token.casefold())

    def expand(token: str) -> list[list[str]] | None:
        codes = resolve(token)
        if codes is None and token.casefold() in groups:
            members = groups[token.casefold()]
            # An empty group is a name several areas share (Lancashire county and police area).
            return [[c] for c in members] if members else [["", ""]]
        return None if codes is None else [codes]

    def effects(token: str) -> list[tuple[str, str]]:
        """What a token adds to its cell, in order: ("code", an area code), ("bad", text not
        matched) or ("ambiguous", text matching several areas)."""
        pieces: list[tuple[str, list[list[str]] | None]] = [(token, expand(token))]
        if pieces[0][1] is None and "," in token:
            # "A, B" written with commas (area names rarely hold one): use the parts if all match.
            parts = [(p.strip(), expand(p.strip())) for p in token.split(",") if p.strip()]
            if all(codes is not None for _, codes in parts):
                pieces = parts
        found: list[tuple[str, str]] = []
        for piece, matches in pieces:
            if matches is None:
                found.append(("bad", piece))
                continue
            found.extend(("ambiguous", piece) if len(codes) > 1 else ("code", codes[0]) for codes in matches)
        return found

    effects_of: dict[str, list[tuple[str, str]]] = {}  # per token: area names recur across cells

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
            if token not in effects_of:
                effects_of[token] = effects(token)
            for kind, value in effects_of[token]:
                if kind == "code":
                    if value not in found:
                        found.append(value)
                elif kind == "bad":
                    bad.append(value)
                else:
                    ambiguous.append(value)
        return tuple(found), bad, ambiguous

    # Parsed once per distinct cell; only the rows with a token in error are visited.
    codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
    parsed = [parse(u) for u in uniques]
    wrong = np.array([bool(bad or ambiguous) for _, bad, ambiguous in parsed], dtype=bool)
    for i in np.flatnonzero(wrong[codes]).tolist():
        _, bad, ambiguous = parsed[codes[i]]
        for token in bad:
            out.error(
                i,
                "serves",
                f"`serves` names {_quote(token)}, which is not an area code or name of the areas in use; "
                + _did_you_mean(token, candidates)
                + "use area codes (e.g. E06000016) or names separated by ;, or * for every area.",
                private="`serves` names an area that is not among the areas in use; use area codes (e.g. "
                "E06000016) or names separated by semicolons, or * for every area",
            )
        for token in ambiguous:
            out.error(
                i,
                "serves",
                f"`serves` names {_quote(token)}, which matches more than one area; "
                "use the area code instead.",
                private="`serves` names an area that matches more than one area; use the area code instead",
            )
    return _objects([found for found, _, _ in parsed])[codes]


def _check_points_in_areas(
    lat: np.ndarray,
    lon: np.ndarray,
    located: np.ndarray,
    points: np.ndarray,
    serves: np.ndarray,
    areas: gpd.GeoDataFrame,
    out: _Collector,
) -> None:
    """Warns about a located service that lies outside every area (it is kept); `points` are
    the located rows' points."""
    idx = np.flatnonzero(located)
    if areas.crs is not None and areas.crs.to_epsg() != settings.WGS84_EPSG:
        areas = areas.to_crs(settings.WGS84_EPSG)
    # The areas' own geometry objects when already in WGS84: the analysis that follows reuses
    # the prepared tree built for them here.
    geoms = np.asarray(areas.geometry.array, dtype=object)
    inside = points_in_any_area(lon[idx], lat[idx], geoms, points)
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
            private=f"the location lies outside every area in the boundary file; {consequence}",
        )
