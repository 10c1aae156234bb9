"""The workbook medium: gaps.xlsx (summary, gaps, patchwork, services, access, sources).

Pure: builders return bytes (the app offers them as downloads; `gapmap.report` writes them).
Every figure is read back from the CSV tables (`gapmap.csvtables`), so the workbook and the
CSV agree to the digit. Confidential services keep their row without any location: the
service sheet goes through `privacy.redact_confidential`.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gapmap import wording
from gapmap.csvtables import GAPS_TEXT_COLUMNS, access_csv, gaps_csv
from gapmap.palette import GAP_FILL, GAP_WORD, HAS_FILL, NOWHERE_FILL, STATUS_COLOURS, text_on
from gapmap.privacy import redact_confidential
from gapmap.safetext import neutralise
from gapmap.schema import LIST_COLUMNS, LOCATION_COLUMNS, SERVICE_COLUMNS
from gapmap.view import counted_services, credited_areas, partnership_label
from gapmap.wording import CONFIDENTIAL_NOTE, CROWN_COPYRIGHT, DEMO_NOTE, ONS_ATTRIBUTION

#: Excel's limit on the rows of a worksheet.
MAX_SHEET_ROWS = 1_048_576
#: Excel's limit on sheet names, and the characters it forbids in them.
MAX_SHEET_NAME = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

#: Display formats for numeric columns of the gap table (values stay full precision).
NUMBER_FORMATS: dict[str, str] = {
    "denominator": "#,##0",
    "required": "#,##0.00",
    "provided": "#,##0.00",
    "shortfall": "#,##0.00",
    "ratio": "0%",
    "nearest_km": "0.0",
    "capacity": "#,##0.##",
    "catchment_km": "0.0",
    "share_beyond": "0%",
    "score_per_100k": "0.00",
}
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_WRAP = Alignment(wrap_text=True, vertical="top")


# --------------------------------------------------------------------------- tables read back from their CSV


def gaps_table(analysis: Any, csv_bytes: bytes | None = None) -> pd.DataFrame:
    """gaps.csv read back (so the workbook holds the very values of the CSV), with the
    benchmark's label added after its id for human readers.

    `csv_bytes`: gaps.csv of this very analysis when the caller has it already (`gapmap
    report` does): seconds on England's LSOAs not spent making it twice.
    """

    frame = _read_back(csv_bytes or gaps_csv(analysis), text_columns=GAPS_TEXT_COLUMNS)
    labels = analysis.gaps["benchmark_label"].astype(str).to_numpy()
    if len(labels) == len(frame):
        frame.insert(frame.columns.get_loc("benchmark_id") + 1, "benchmark_label", labels)
    return frame


def access_table(analysis: Any, csv_bytes: bytes | None = None) -> pd.DataFrame:
    """access.csv of `gapmap report`, read back (`csv_bytes`: as for `gaps_table`)."""

    return _read_back(
        csv_bytes or access_csv(analysis), text_columns=("area_code", "area_name", "service_type")
    )


def _read_back(data: bytes, *, text_columns: Sequence[str]) -> pd.DataFrame:
    # Only an empty cell is missing: an area called "NA" or "None" keeps its name.
    frame = pd.read_csv(
        io.BytesIO(data), dtype=dict.fromkeys(text_columns, str), keep_default_na=False, na_values=[""]
    )
    for col in text_columns:
        if col in frame.columns:
            frame[col] = frame[col].fillna("")
    return frame


# --------------------------------------------------------------------------- XLSX helpers


#: The one sheet name Excel reserves (compared without case).
RESERVED_SHEET_NAME = "history"


def safe_sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """An Excel-legal sheet name (<= 31 characters, no []:*?/\\, not "History"), unique among
    `taken`."""
    base = _SHEET_FORBIDDEN.sub("-", _NOT_XML.sub("", name)).strip("' ") or "Sheet"
    if len(base) > MAX_SHEET_NAME:
        # Cut at a word boundary so the tab reads as words, not "assault centr".
        cut = base[: MAX_SHEET_NAME + 1].rsplit(" ", 1)[0]
        base = (cut if len(cut) >= 12 else base[:MAX_SHEET_NAME]).rstrip(" -,(")[:MAX_SHEET_NAME]
    # Excel keeps "History" for its change tracking and refuses a sheet of that name.
    lowered = {t.lower() for t in taken} | {RESERVED_SHEET_NAME}
    candidate, n = base, 2
    while candidate.lower() in lowered:
        suffix = f" ({n})"
        candidate = base[: MAX_SHEET_NAME - len(suffix)] + suffix
        n += 1
    return candidate


def _status_font(status: str) -> Font:
    """Bold, white on the dark fills and near-black on the light ones (`palette.text_on`)."""
    text = text_on(STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"]))
    return Font(bold=True, color=text.lstrip("#").upper())


def _fill(hex_colour: str) -> PatternFill:
    return PatternFill("solid", fgColor=hex_colour.lstrip("#").upper())


#: Characters XML 1.0 forbids: openpyxl's control characters, lone surrogates and U+FFFE/U+FFFF
#: (a name holding one made the whole workbook unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _cell_text(text: str) -> str:
    """Text as a worksheet may hold it: no character XML forbids (a hostile name must not
    corrupt or abort the export), and never readable as a formula (`safetext.neutralise`)."""
    return neutralise(_NOT_XML.sub("\ufffd", text))


def _cell_value(v: Any) -> Any:
    """A value openpyxl can store: NaN/NaT/None -> empty, numpy scalars -> Python, tuples joined,
    text spreadsheet-safe."""
    if v is None:
        return None
    if isinstance(v, str):
        return _cell_text(v)
    if isinstance(v, (tuple, list)):
        return _cell_text("; ".join(str(x) for x in v))
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date().isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isinf(v):
        return str(v)
    return v


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell: the only way this module writes a worksheet.

    Text is stored as text (data type "s"): openpyxl would otherwise store a str that starts
    with "=" as a formula and one like "#N/A" as an error, whatever wrote it.
    """
    v = _cell_value(value)
    c = ws.cell(row=row, column=column)
    c.value = v
    if isinstance(v, str):
        c.data_type = "s"
    return c


def _write_table(
    ws: Worksheet,
    frame: pd.DataFrame,
    *,
    start_row: int = 1,
    status_column: str | None = "status",
    cell_style: Callable[[str, Any], PatternFill | None] | None = None,
) -> None:
    """Write `frame` with a bold, filled, frozen header, an autofilter and fitted widths.

    In a `_Book` the data rows become sheet XML directly (`_RowWriter`), spliced in when the
    book is saved: openpyxl's cell objects cost about 10 s and 400 MB per million cells, and
    England's LSOAs make nine million. The values, types and styles are those `_put` gives.
    """
    if start_row + len(frame) > MAX_SHEET_ROWS:
        # Excel opens no sheet longer than this: say where the rows are instead of cutting them.
        _put(ws, start_row, 1, f"{len(frame):,} rows: more than a worksheet holds; see the CSV tables.")
        return
    columns = list(frame.columns)
    for j, col in enumerate(columns, start=1):
        c = _put(ws, start_row, j, str(col))
        c.font = _BOLD
        c.fill = _HEADER_FILL
    status_fills = {k: _fill(v) for k, v in STATUS_COLOURS.items()}
    book = ws.parent
    rows_xml = (
        _RowWriter(ws, status_column, status_fills, cell_style).rows(frame, start_row + 1)
        if isinstance(book, _Book) and len(frame)
        else None
    )
    if rows_xml is not None:
        book.spliced[ws.title] = _Spliced(start_row, start_row + len(frame), len(columns), rows_xml)
    else:
        for i, record in enumerate(frame.itertuples(index=False, name=None), start=start_row + 1):
            for j, (col, v) in enumerate(zip(columns, record, strict=True), start=1):
                c = _put(ws, i, j, v)
                if col in NUMBER_FORMATS and isinstance(c.value, (int, float)):
                    c.number_format = NUMBER_FORMATS[col]
                if status_column and col == status_column and str(v) in status_fills:
                    c.fill = status_fills[str(v)]
                    c.font = _status_font(str(v))
                elif cell_style is not None:
                    fill = cell_style(col, v)
                    if fill is not None:
                        c.fill = fill
    # A coordinate, not ws.cell(...): that would create an (empty) cell in the first data row.
    ws.freeze_panes = f"A{start_row + 1}"
    if len(frame):
        ws.auto_filter.ref = f"A{start_row}:{get_column_letter(len(columns))}{start_row + len(frame)}"
    _fit_widths(ws, frame, columns)


# --------------------------------------------------------------------------- rows as sheet XML

#: Excel's limit on the characters of one cell (openpyxl cuts text there too).
MAX_CELL_TEXT = 32_767
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class _Book(Workbook):
    """A Workbook whose large tables are written as sheet XML (see `_write_table`)."""

    def __init__(self) -> None:
        super().__init__()
        self.spliced: dict[str, _Spliced] = {}
        #: A cell's XML per value (`_payload`) and whether it is a number, for every table.
        self.payloads: dict[Any, tuple[str | None, bool]] = {}

    def to_bytes(self) -> bytes:
        """Save, then put each table's data rows into its sheet's XML."""
        for ws in self.worksheets:
            done = self.spliced.get(ws.title)
            # The rows go at the end of sheetData: nothing may have been written below the header.
            if done is not None and ws.max_row > done.header_row:
                raise RuntimeError(f"sheet {ws.title!r} has cells below a table written as XML")
        buf = io.BytesIO()
        self.save(buf)
        if not self.spliced:
            return buf.getvalue()
        by_path = {
            ws.path.lstrip("/"): self.spliced[ws.title] for ws in self.worksheets if ws.title in self.spliced
        }
        out = io.BytesIO()
        # Level 1: a quarter of the time of the default 6 on the big sheets, the file ~20% larger.
        with (
            zipfile.ZipFile(buf) as zin,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout,
        ):
            for info in zin.infolist():
                body = zin.read(info.filename)
                part = by_path.get(info.filename)
                if part is None:
                    zout.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
                    continue
                text = body.decode("utf-8")
                last = get_column_letter(max(part.columns, 1))
                text = re.sub(
                    r'<dimension ref="[^"]*"\s*/>',
                    f'<dimension ref="A1:{last}{part.last_row}" />',
                    text,
                    count=1,
                )
                if "</sheetData>" in text:
                    head, tail = text.rsplit("</sheetData>", 1)
                    tail = "</sheetData>" + tail
                else:
                    head, tail = (
                        text.split("<sheetData />", 1)
                        if "<sheetData />" in text
                        else text.split("<sheetData/>", 1)
                    )
                    head, tail = head + "<sheetData>", "</sheetData>" + tail
                with zout.open(info.filename, "w", force_zip64=True) as sink:
                    sink.write(head.encode("utf-8"))
                    for chunk in part.rows:
                        sink.write(chunk)
                    sink.write(tail.encode("utf-8"))
        return out.getvalue()


class _Spliced:
    """A table's data rows as `<row>` XML, and where they sit."""

    def __init__(self, header_row: int, last_row: int, columns: int, rows: list[bytes]) -> None:
        self.header_row, self.last_row, self.columns, self.rows = header_row, last_row, columns, rows


class _Unstored(Exception):
    """A value `_RowWriter` does not store (a date, say): the table is written cell by cell."""


def _payload(stored: Any) -> str | None:
    """A cell's XML after its `r` and `s` attributes, as openpyxl writes it (inline strings,
    "%.16g" numbers); None for an empty cell. `stored` is a `_cell_value` result."""
    if stored is None:
        return None
    if isinstance(stored, str):
        if not stored:
            return ' t="inlineStr" />'
        text = stored[:MAX_CELL_TEXT].translate(_XML_ESCAPES)
        space = ' xml:space="preserve"' if stored != stored.strip() else ""
        return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(stored, bool):
        return f' t="b"><v>{int(stored)}</v></c>'
    if isinstance(stored, (int, float)):
        return f' t="n"><v>{stored:.16g}</v></c>'
    raise _Unstored(type(stored).__name__)


_NAN_KEY = (float, "NaN")


class _RowWriter:
    """One table's data rows as sheet XML, typed and styled as `_put` and `_write_table` would.

    `rows` returns None when a value is of a type this writer does not store (a date, say):
    the table is then written cell by cell.
    """

    #: Rows turned into XML at a time: each cell's text lives only until its chunk is joined.
    CHUNK = 10_000

    def __init__(
        self,
        ws: Worksheet,
        status_column: str | None,
        status_fills: dict[str, PatternFill],
        cell_style: Callable[[str, Any], PatternFill | None] | None,
    ) -> None:
        self.ws = ws
        self.status_column = status_column
        self.status_fills = status_fills
        self.cell_style = cell_style
        self.style_ids: dict[tuple[Any, ...], int] = {}
        self.caches: dict[int, dict[Any, str]] = {}
        book = ws.parent
        self.payloads: dict[Any, tuple[str | None, bool]] = book.payloads if isinstance(book, _Book) else {}

    def style_id(self, number_format: str | None, fill: PatternFill | None, status: str | None) -> int:
        """The workbook's index of this combination of styles (registered on first use)."""
        if number_format is None and fill is None and status is None:
            return 0
        key = (number_format, None if fill is None else repr(fill), status)
        found = self.style_ids.get(key)
        if found is None:
            probe = Cell(self.ws)  # never placed in the sheet: it only registers the style
            if number_format is not None:
                probe.number_format = number_format
            if fill is not None:
                probe.fill = fill
            if status is not None:
                probe.font = _status_font(status)
            found = self.style_ids[key] = probe.style_id
        return found

    def _styled(self, col: str, v: Any, numeric: bool) -> int:
        """The style of one cell: `_write_table`'s rules, raw value `v`."""
        fmt = NUMBER_FORMATS.get(col) if numeric else None
        if self.status_column and col == self.status_column and str(v) in self.status_fills:
            return self.style_id(fmt, self.status_fills[str(v)], str(v))
        return self.style_id(fmt, None if self.cell_style is None else self.cell_style(col, v), None)

    def column(self, col: str, series: pd.Series, first_row: int) -> list[str]:
        """The `<c>` elements of one column of a chunk ("" for an empty, unstyled cell)."""
        letter = get_column_letter(self.ws_column)
        kind = series.dtype.kind
        values = series.to_numpy(dtype=object).tolist()
        by_rule = self.cell_style is not None or (
            self.status_column is not None and col == self.status_column
        )
        if isinstance(series.dtype, np.dtype) and kind in "iuf" and not by_rule:  # not Int64 (pd.NA)
            # Numbers: no cache (mostly distinct); NaN is an empty cell, inf text (as _cell_value).
            sid = self.style_id(NUMBER_FORMATS.get(col), None, None)
            s = f' s="{sid}"' if sid else ""
            out = []
            for r, v in enumerate(values, start=first_row):
                if v != v:
                    out.append("")
                elif v in (math.inf, -math.inf):
                    out.append(f'<c r="{letter}{r}"{self.text_style(col, v)}{_payload(str(v))}')
                else:
                    out.append(f'<c r="{letter}{r}"{s} t="n"><v>{v:.16g}</v></c>')
            return out
        # Payloads per value across the whole book (area names and codes recur in every chunk,
        # sheet and benchmark); styles per column of this table (their rules are the table's).
        payloads = self.payloads
        styles = self.caches.setdefault(self.ws_column, {})
        number_style = self.style_id(NUMBER_FORMATS.get(col), None, None)
        number_s = f' s="{number_style}"' if number_style else ""
        out = []
        for r, v in enumerate(values, start=first_row):
            # True and 1 are equal keys but not the same cell; every NaN is one (empty) cell.
            key: Any = None
            try:
                key = (type(v), v) if v == v else _NAN_KEY
                body, numeric = payloads[key]
            except (KeyError, TypeError, ValueError):  # new; or pd.NA, unhashable: not cached
                stored = _cell_value(v)
                body, numeric = _payload(stored), isinstance(stored, (int, float))
                if key is not None:
                    with contextlib.suppress(TypeError):
                        payloads[key] = (body, numeric)
            if by_rule:
                try:
                    s = styles[key]
                except (KeyError, TypeError):
                    sid = self._styled(col, v, numeric)
                    s = f' s="{sid}"' if sid else ""
                    if key is not None:
                        with contextlib.suppress(TypeError):
                            styles[key] = s
            else:
                s = number_s if numeric else ""
            if body is not None:
                out.append(f'<c r="{letter}{r}"{s}{body}')
            else:
                out.append(f'<c r="{letter}{r}"{s} t="n" />' if s else "")
        return out

    def text_style(self, col: str, v: Any) -> str:
        sid = self._styled(col, v, False)
        return f' s="{sid}"' if sid else ""

    def rows(self, frame: pd.DataFrame, first_row: int) -> list[bytes] | None:
        """The data rows as UTF-8 `<row>` XML in chunks, or None (see the class docs)."""
        chunks = []
        try:
            for start in range(0, len(frame), self.CHUNK):
                part = frame.iloc[start : start + self.CHUNK]
                row0 = first_row + start
                cells = []
                for j in range(part.shape[1]):
                    self.ws_column = j + 1
                    cells.append(self.column(str(part.columns[j]), part.iloc[:, j], row0))
                xml = "".join(
                    f'<row r="{r}">{"".join(row)}</row>'
                    for r, row in enumerate(zip(*cells, strict=True), start=row0)
                )
                chunks.append(xml.encode("utf-8"))
        except _Unstored:
            return None
        return chunks


def _fit_widths(ws: Worksheet, frame: pd.DataFrame, columns: Sequence[str], *, cap: int = 60) -> None:
    for j, col in enumerate(columns, start=1):
        values = frame[col].head(2000).map(lambda v: len(str(_cell_value(v) or ""))) if len(frame) else []
        longest = max([len(str(col)), *list(values)]) if len(frame) else len(str(col))
        ws.column_dimensions[get_column_letter(j)].width = min(max(longest + 2, 8), cap)


def _label_value_rows(ws: Worksheet, rows: Sequence[tuple[str, Any]], start_row: int) -> int:
    """Two-column 'label | value' rows (bold labels, wrapped values); returns the next free row."""
    r = start_row
    for label, value in rows:
        _put(ws, r, 1, label).font = _BOLD
        c = _put(ws, r, 2, value)
        c.alignment = _WRAP
        if isinstance(c.value, float):
            c.number_format = "0.000"
        r += 1
    return r


# --------------------------------------------------------------------------- XLSX sheets


def patchwork_matrix(analysis: Any, config: Any) -> pd.DataFrame:
    """Areas x (tier, cohort): "GAP" where the area has none but another selected area has one,
    else the number of services; a last column counts each area's gaps.

    Column names are "<tier label> × <cohort label>" in vocabulary order.
    """
    cov = analysis.coverage
    names: dict[tuple[str, str], str] = {}
    for t in config.tiers:
        for k in config.cohorts:
            names[(t, k)] = f"{config.tiers[t].get('label', t)} × {config.cohorts[k].get('label', k)}"
    areas = cov[["area_code", "area_name"]].drop_duplicates("area_code")
    out = areas.reset_index(drop=True).copy()
    codes = pd.Index(out["area_code"])
    gap_count = np.zeros(len(out), dtype=int)
    cells = dict(tuple(cov.groupby(["tier", "cohort"], sort=False)))
    for key, label in names.items():
        values = np.full(len(out), None, dtype=object)
        cell = cells.get(key)
        if cell is not None:
            # Positions of this cell's rows among the areas, by code (not a lookup per area:
            # England's LSOAs are 33,755 areas x 15 cells).
            at = codes.get_indexer(cell["area_code"])
            found = at >= 0
            at, cell = at[found], cell.loc[found]
            gap = cell["patchwork_gap"].astype(bool).to_numpy()
            values[at[~gap]] = [int(v) for v in cell["services"].to_numpy()[~gap]]
            values[at[gap]] = GAP_WORD
            gap_count[at[gap]] += 1
        out[label] = pd.Series(values, index=out.index, dtype=object)
    out["patchwork gaps"] = gap_count
    return out


def _patchwork_style(col: str, v: Any) -> PatternFill | None:
    if v == GAP_WORD:
        return _fill(GAP_FILL)
    if col in ("area_code", "area_name", "patchwork gaps"):
        return None
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        return _fill(HAS_FILL) if v > 0 else _fill(NOWHERE_FILL)
    return None


def service_table(services: Any, config: Any, analysis: Any = None) -> pd.DataFrame:
    """The service list for export: confidential locations blanked, lists joined, no geometry.

    With `analysis`, a confidential service's `serves` lists only the areas it is credited to
    (`view.credited_areas`): the areas under the confidentiality threshold it names are left
    out, as the engine leaves them out of every figure.
    """
    redacted = redact_confidential(services)
    if analysis is not None and "serves" in redacted.columns and len(redacted):
        redacted = _credited_serves(redacted, analysis)
    cols = [c for c in SERVICE_COLUMNS if c in redacted.columns and c != "geometry"]
    table = pd.DataFrame(redacted[cols]).copy()
    for col in LIST_COLUMNS:
        if col in table.columns:
            table[col] = table[col].map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, (tuple, list)) else v
            )
    if "funding_end" in table.columns:
        table["funding_end"] = pd.to_datetime(table["funding_end"], errors="coerce").dt.strftime("%Y-%m-%d")
    if "confidential" in table.columns:
        conf = table["confidential"].astype(bool)
        # Belt and braces: whatever redact_confidential does, nothing locational survives here.
        for col in LOCATION_COLUMNS:
            if col in table.columns and col != "geometry":
                table[col] = table[col].astype(object)
                table.loc[conf, col] = None
        table["location_note"] = conf.map(
            lambda c: "Confidential: counted in its area's figures; location withheld" if c else ""
        )
    return table.reset_index(drop=True)


def _credited_serves(services: Any, analysis: Any) -> Any:
    """`serves` of confidential rows cut to the areas `analysis` credits (`*` stays `*`)."""
    conf = services["confidential"].astype(bool).to_numpy()
    ids = services["service_id"].astype(str).to_numpy()
    listed = [s for s, c, v in zip(ids, conf, services["serves"], strict=True) if c and tuple(v) != ("*",)]
    if not listed:
        return services
    credited = credited_areas(analysis, listed)
    out = services.copy()
    out["serves"] = [
        tuple(v) if not c or tuple(v) == ("*",) else tuple(credited.get(s, ()))
        for s, c, v in zip(ids, conf, services["serves"], strict=True)
    ]
    return out


def gaps_xlsx_bytes(
    dataset: Any,
    analysis: Any,
    *,
    title: str | None = None,
    today: date | None = None,
    extras: Any = None,
    tables: Mapping[str, bytes] | None = None,
) -> bytes:
    """The workbook report writers paste from.

    `tables`: the report's CSV files of this same analysis (`gapmap.report.report_files`),
    if made already; gaps.csv and access.csv are then read back, not made again.

    Sheets: Summary (title, ISO date, profile, inputs, filters, attribution), Gaps (the full
    gap table, same values as gaps.csv), one sheet per benchmark, Patchwork (areas x tier/cohort,
    "GAP" marked), Access, Services (no location of any confidential service). Headers are bold
    and frozen; status cells are filled red/amber/green/grey and carry the status word.
    """
    today = today or date.today()
    config = dataset.config
    wb = _Book()
    taken: list[str] = []

    def sheet(name: str) -> Worksheet:
        safe = safe_sheet_name(name, taken)
        taken.append(safe)
        if len(taken) == 1:
            ws = wb.active
            ws.title = safe
            return ws
        return wb.create_sheet(safe)

    _summary_sheet(sheet("Summary"), dataset, analysis, title=title, today=today)
    tables = tables or {}
    gaps = gaps_table(analysis, tables.get("gaps.csv"))
    _write_table(sheet("Gaps"), gaps)

    for bench in analysis.profile.benchmarks:
        ws = sheet(bench.label)
        _put(ws, 1, 1, bench.label).font = Font(bold=True, size=14)
        entry = (analysis.summary or {}).get("benchmarks", {}).get(bench.id, {})
        meta = [
            ("Benchmark", wording.benchmark_definition(bench)),
            ("Source", wording.citation_text(bench)),
            (
                "Scored",
                "for each area and the whole selection"
                if bench.scope == "area"
                else "for the whole selection",
            ),
        ]
        if bench.scope == "area":
            meta.append(("Population", entry.get("denominator_source", "")))
        if analysis.profile.caveat:
            meta.append(("Caveat", analysis.profile.caveat))
        next_row = _label_value_rows(ws, meta, 2)
        rows = gaps.loc[gaps["benchmark_id"] == bench.id].drop(columns=["benchmark_id", "benchmark_label"])
        _write_table(ws, rows, start_row=next_row + 1)
        ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width or 0, 30)

    matrix = patchwork_matrix(analysis, config)
    _write_table(sheet("Patchwork"), matrix, status_column=None, cell_style=_patchwork_style)
    _write_table(sheet("Access"), access_table(analysis, tables.get("access.csv")), status_column=None)
    if getattr(analysis, "small_area_access", None) is not None:
        _small_access_sheets(sheet, analysis.small_area_access)
    _write_table(
        sheet("Services"),
        service_table(counted_services(dataset.services, analysis), config, analysis),
        status_column=None,
    )
    if extras is not None:
        # Commissioning sheets (gapmap.commissioning): options per gap, costs, catalogue, scenario.
        _write_table(sheet("Options"), extras.options, status_column=None)
        _write_table(sheet("Costs"), extras.costs, status_column=None)
        _write_table(sheet("Interventions"), extras.catalogue_table, status_column=None)
        if extras.scenario is not None:
            _write_table(sheet("Scenario changes"), extras.scenario.changes, status_column=None)
            _write_table(sheet("Scenario before-after"), extras.scenario.figures, status_column=None)

    return wb.to_bytes()


#: Above this many rows the small-area table stays in small_area_access.csv only: a workbook
#: sheet of every LSOA of England x type (~300,000 rows) takes minutes to write and to open.
MAX_SMALL_AREA_SHEET_ROWS = 20_000


def _small_access_sheets(sheet: Callable[[str], Worksheet], result: Any) -> None:
    """'Access beyond' (per district) and 'Small-area access' (per LSOA), each saying its basis."""
    from gapmap.access import access_beyond_frame, small_access_frame

    ws = sheet("Access beyond")
    _put(ws, 1, 1, "Residents beyond the nearest public service of each type").font = Font(bold=True, size=14)
    _put(ws, 2, 1, result.describe()).alignment = Alignment(wrap_text=False)
    _write_table(ws, access_beyond_frame(result), start_row=4, status_column=None)
    ws = sheet("Small-area access")
    _put(ws, 1, 1, result.describe())
    frame = small_access_frame(result)
    if len(frame) > MAX_SMALL_AREA_SHEET_ROWS:
        _put(ws, 2, 1, f"{len(frame):,} rows: too many for a sheet; see small_area_access.csv.")
        return
    _write_table(ws, frame, start_row=3, status_column=None)


def _summary_sheet(ws: Worksheet, dataset: Any, analysis: Any, *, title: str | None, today: date) -> None:
    summary = analysis.summary or {}
    config = dataset.config
    _put(ws, 1, 1, title or "Domestic abuse and sexual violence provision: gap analysis").font = Font(
        bold=True, size=16
    )
    r = 2
    if getattr(dataset, "is_demo", False):
        c = _put(ws, r, 1, DEMO_NOTE)
        c.font = Font(bold=True, size=13, color="B2182B")
        r += 1
    profile = analysis.profile
    selection = list(getattr(analysis, "selection", ()) or ())
    names = dict(
        zip(dataset.areas["area_code"].astype(str), dataset.areas["area_name"].astype(str), strict=False)
    )
    sel_text = ", ".join(f"{names.get(c, c)} ({c})" for c in selection)
    rows: list[tuple[str, Any]] = [
        ("Date", today.isoformat()),
        ("Benchmark profile", f"{profile.label} ({profile.id})"),
        *([("Caveat", profile.caveat)] if profile.caveat else []),
        (
            "Population",
            "; ".join(str(p.get("text", "")) for p in summary.get("denominators", {}).values())
            or "not recorded",
        ),
        ("Service filter", summary.get("filters") or "All services"),
        ("Selection", f"{len(selection)} areas: {sel_text}"),
        ("Partnership", _partnership(selection)),
        ("Patchwork index", wording.number(summary.get("patchwork_index"))),
        ("Patchwork index (population-weighted)", wording.number(summary.get("patchwork_index_weighted"))),
        ("Services counted", len(counted_services(dataset.services, analysis))),
    ]
    r = _label_value_rows(ws, rows, r + 1)
    r += 1
    _put(ws, r, 1, "Inputs").font = Font(bold=True, size=12)
    r = _label_value_rows(ws, list((getattr(dataset, "sources", None) or {}).items()), r + 1)
    r += 1
    _put(ws, r, 1, "Status key").font = Font(bold=True, size=12)
    r += 1
    for status, words in wording.status_legend(config).items():
        c = _put(ws, r, 1, status)
        c.fill = _fill(STATUS_COLOURS[status])
        c.font = _status_font(status)
        _put(ws, r, 2, words)
        r += 1
    r += 1
    _put(ws, r, 1, "Sheets").font = Font(bold=True, size=12)
    sheets = [
        (
            "Gaps",
            "every area x benchmark, plus ALL rows for the whole selection (the same values as gaps.csv)",
        ),
        ("one per benchmark", "that benchmark's rows, with its definition and source"),
        (
            "Patchwork",
            f'areas x prevention tier and cohort: number of services, or "{GAP_WORD}" where the '
            "area has none but another selected area has at least one",
        ),
        ("Access", "distance in km from each area to the nearest service of each type"),
        (
            "Services",
            "the services counted (after the service filter); confidential services (refuges) keep "
            "their row but no location",
        ),
    ]
    r = _label_value_rows(ws, sheets, r + 1)
    r += 1
    _put(ws, r, 1, "Attribution").font = Font(bold=True, size=12)
    attribution = [
        ("Boundaries", CROWN_COPYRIGHT.format(year=today.year) + "."),
        ("Population", ONS_ATTRIBUTION),
        (
            "Confidentiality",
            CONFIDENTIAL_NOTE + " In this workbook they keep their row in Services, without any location.",
        ),
    ]
    _label_value_rows(ws, attribution, r + 1)
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 100


def _partnership(selection: Sequence[str]) -> str:
    return partnership_label([str(c) for c in selection]) or "(not a named partnership)"
