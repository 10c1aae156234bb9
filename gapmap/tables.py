"""Read the CSV and Excel tables analysts really have, or say exactly why not.

One entry point, `read_table`, used by every tabular loader (services, population,
postcodes). It never trusts a file's extension: the first bytes decide whether a file is
an Excel workbook, a CSV text, or something else (a PDF, a Word file, a picture), so a
workbook saved as ``list.csv`` still loads and a PDF renamed ``list.csv`` gets a message
an analyst can act on instead of a traceback.

Every cell comes back as a string (blank cells as ""), so that callers validate types
themselves and can say which row and column is wrong. The column ``__row__`` holds the
row number the analyst sees: in a CSV the header is row 1 and the first data row is 2;
in a workbook it is the sheet's own row number.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import itertools
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gapmap import settings
from gapmap.errors import GapmapInputError, Problem, ValidationReport

ROW_COLUMN = "__row__"

#: How many rows at the top of a sheet may hold titles / notes above the header row.
HEADER_SEARCH_ROWS = 20

#: A workbook may expand to at most this many times the size limit when unzipped
#: (real .xlsx files expand 5-10x; a "zip bomb" expands thousands of times).
MAX_XLSX_EXPANSION = 10

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx

#: Known non-table formats, by their first bytes, with the name an analyst recognises.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"{\\rtf", "an RTF (Word) document"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)

_CSV_DELIMITERS = (",", ";", "\t", "|")

#: How much of the top of a CSV decides its delimiter and whether it is prose.
_HEAD_LINES = 50
_HEAD_CHARS = 2 * 1024 * 1024


class _TooLarge(Exception):
    """Reading stopped at a row or column limit; the message says which and how to fix it."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


class _Limits:
    """Row and column limits (`settings.MAX_INPUT_ROWS` / `MAX_INPUT_COLUMNS`), checked per row
    as a table is read, so that a file is refused before its rows are all held in memory.

    Rows with any value count against the row limit; blank rows do not, but reading also
    stops after that many blank rows, so that a file of blank lines costs no more work than
    one of full ones. Trailing empty cells do not count against the column limit (Excel
    often saves a few blank columns); a value beyond it does.
    """

    def __init__(self, role: str) -> None:
        self.role = role
        self.max_rows = settings.MAX_INPUT_ROWS
        self.max_columns = settings.MAX_INPUT_COLUMNS
        self.filled = 0
        self.blank = 0

    def check(self, row: int, cells: list[str], found: Callable[[], str] | None = None) -> list[str]:
        """`cells` cut to the column limit (when the cut-off cells are empty), or `_TooLarge`.

        `found` describes how big the whole file is, for the message (called only then).
        """
        if len(cells) > self.max_columns:
            tail = cells[self.max_columns :]
            if "".join(tail).strip():
                last = max(i for i, c in enumerate(tail) if c.strip()) + self.max_columns
                raise _TooLarge(self.too_wide(last), row)
            cells = cells[: self.max_columns]
        if "".join(cells).strip():
            self.filled += 1
            if self.filled > self.max_rows:
                raise _TooLarge(self.too_long(found() if found else ""), row)
        else:
            self.blank += 1
            if self.blank > self.max_rows:
                raise _TooLarge(self.too_blank(), row)
        return cells

    def count(self, rows: list[list[str]]) -> None:
        """Count `rows` as `check` would have, when none of them can reach a limit.

        For rows read before any check: at most `max_rows` of them, none wider than
        `max_columns`, so `check` would have raised for none and cut none.
        """
        filled = sum(1 for cells in rows if "".join(cells).strip())
        self.filled += filled
        self.blank += len(rows) - filled

    def too_wide(self, last_index: int) -> str:
        return (
            f"this row has a value in column {_column_letter(last_index)} (column {last_index + 1:,}), "
            f"beyond the limit of {self.max_columns:,} columns for a {self.role} file. Nothing was "
            "read. Delete the empty or unused columns on the right (select them, right-click, Delete) "
            "and save again, or split the file; an administrator can raise the limit with "
            "GAPMAP_MAX_INPUT_COLUMNS."
        )

    def too_long(self, found: str) -> str:
        return (
            f"the file has more than {self.max_rows:,} rows with data{found}, over the limit for a "
            f"{self.role} file; reading stopped at this row and nothing was read. Split the file, or "
            "delete rows that are not part of the table; an administrator can raise the limit with "
            "GAPMAP_MAX_INPUT_ROWS."
        )

    def too_blank(self) -> str:
        return (
            f"the file has more than {self.max_rows:,} blank rows; reading stopped at this row and "
            f"nothing was read. Delete the empty rows (below the table) and save the {self.role} again."
        )


#: One line with its ending (\r\n, \r or \n, as `io.StringIO(newline="")` splits them).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")

#: How much text `_lines` splits at a time, and the line ending a chunk stops after.
_LINES_CHUNK = 1024 * 1024
_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` one at a time, for `csv.reader`.

    `io.StringIO` would copy the whole text into a 4-bytes-per-character buffer first
    (80 MB for a 20 MB upload); this holds the lines of about a megabyte at a time.
    """
    return itertools.chain.from_iterable(_line_chunks(text))


def _line_chunks(text: str) -> Iterator[list[str]]:
    r"""The lines of `text` as `_LINE` finds them, about `_LINES_CHUNK` characters at a time.

    Each chunk ends just after a line ending (never between "\r" and "\n"): it holds whole lines.
    It is split by `str.splitlines` in C, which also breaks at \v, \f, \x1c-\x1e, \x85,
    \u2028 and \u2029: its lines are the same as `_LINE`'s exactly when there are as many of
    them (its breaks include every one of `_LINE`'s), else the chunk is split by `_LINE`.
    """
    start = 0
    while start < len(text):
        end = _LINE_END.search(text, start + _LINES_CHUNK)
        stop = end.end() if end else len(text)
        chunk = text[start:stop]
        lines = chunk.splitlines(keepends=True)
        breaks = chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")
        if len(lines) != breaks + (not chunk.endswith(("\n", "\r"))):
            lines = [m.group() for m in _LINE.finditer(chunk)]
        yield lines
        start = stop


def _about_lines(text: str) -> str:
    """ " (1,000,001 lines in all)": the size of a refused CSV, counted in C, for the message."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return f" ({lines:,} lines in all)"


def normalise_header(text: object) -> str:
    """A header cell as the caller compares it: BOM, surrounding and repeated whitespace removed."""
    s = "" if text is None else str(text)
    s = s.replace("\ufeff", "").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", s).strip()


def header_key(text: object) -> str:
    """Case-, space- and underscore-insensitive form of a header, for matching names."""
    return re.sub(r"[\s_]+", " ", normalise_header(text).lower()).strip()


def human_size(n_bytes: int) -> str:
    """`1536` -> "1.5 KB"; small values stay in bytes so a tiny test limit still reads well."""
    if n_bytes < 1024:
        return f"{n_bytes:,} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / (1024 * 1024):.1f} MB"


def read_table(
    path: Path | str | None,
    *,
    role: str,
    report: ValidationReport,
    content: bytes | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
    expected_columns: Iterable[str] = (),
    sheet: str | None = None,
) -> pd.DataFrame | None:
    """Read a CSV or Excel file into a frame of strings, reporting every problem.

    Parameters
    ----------
    path
        The file to read; ignored when `content` is given.
    role
        What the file is, in words, for messages ("service list", "population").
    report
        Problems are added here (file = `name` or the file's name).
    content, name
        An upload held in memory, and its original file name.
    max_bytes
        Size limit; default `settings.MAX_INPUT_BYTES`.
    expected_columns
        Header names (and aliases) the caller accepts. Used to find the header row
        below title rows, and to pick the sheet of a workbook. Matching ignores case,
        spaces and underscores.
    sheet
        Read this worksheet of a workbook instead of choosing one.

    Returns
    -------
    A DataFrame of str columns (headers normalised by `normalise_header`) plus the int
    column ``__row__``, or None when the file cannot be read (the reason is in `report`).
    ``df.attrs`` holds "format" ("csv" or "xlsx"), "header_row", "encoding" (CSV) and
    "sheet" (Excel).
    """
    label = name or (Path(path).name if path is not None else "upload")
    limit = settings.MAX_INPUT_BYTES if max_bytes is None else max_bytes
    raw = _read_bytes(path, content, label, role, limit, report)
    if raw is None:
        return None
    if not raw.strip():
        report.error(label, f"the file is empty. Choose the {role} file that has a header row and data.")
        return None
    expected = {header_key(c) for c in expected_columns if header_key(c)}
    suffix = Path(label).suffix.lower()

    if raw.startswith(ZIP_MAGIC):
        kind = _zip_kind(raw)
        if kind == "xlsx":
            if suffix not in (".xlsx", ".xlsm"):
                report.warn(
                    label,
                    f"this file is named '{suffix or '(no extension)'}' but is really an Excel workbook; "
                    "read it as Excel. Rename it to .xlsx to avoid confusion.",
                )
            return _read_workbook(raw, label, role, report, expected, limit, sheet)
        if kind == "a damaged zip archive" and suffix in (".xlsx", ".xlsm"):
            report.error(
                label,
                "this Excel workbook is damaged or cut short (not a valid zip). Download or copy it "
                "again, or open it in Excel and save it again as .xlsx.",
            )
            return None
        report.error(label, f"this is {kind}, not a CSV or Excel file. Save the {role} as .xlsx or .csv.")
        return None
    if raw.startswith(OLE2_MAGIC):
        report.error(
            label,
            "this is an old-format Excel file (.xls) or a password-protected workbook, which gapmap "
            "cannot read. Open it in Excel, remove any password, and save it as .xlsx or CSV.",
        )
        return None
    for magic, what in _BINARY_SIGNATURES:
        if raw.startswith(magic):
            report.error(label, f"this is {what}, not a CSV or Excel file. Upload the {role} as .csv/.xlsx.")
            return None

    text, encoding = _decode(raw, label, report)
    if text is None:
        return None
    if suffix in (".xlsx", ".xlsm", ".xls"):
        report.warn(label, f"this file is named '{suffix}' but contains CSV text; read it as CSV.")
    with _gc_paused():
        return _read_csv_text(text, label, role, report, expected, encoding)


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0  # readers inside `_gc_paused` (the app reads from several sessions' threads)
_GC_WAS_ENABLED = True  # the collector's state when the first of them came in


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a table's rows are built.

    Reading a CSV creates a list per row and a string per cell, none of them in a reference
    cycle, yet every few hundred new lists start a collection, and some of those walk the whole
    heap (pandas, geopandas, numpy): half of the time of reading a 10,000-row list in a plain
    process (measured). Reference counting still frees everything; the collector is switched
    back on when the last reader leaves, if it was on when the first came in.
    """
    global _GC_PAUSES, _GC_WAS_ENABLED
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ENABLED = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ENABLED:
                gc.enable()


# --------------------------------------------------------------------------- bytes


def _read_bytes(
    path: Path | str | None,
    content: bytes | None,
    label: str,
    role: str,
    limit: int,
    report: ValidationReport,
) -> bytes | None:
    if content is not None:
        if len(content) > limit:
            report.error(label, _too_big(len(content), limit, role))
            return None
        return bytes(content)
    if path is None:
        report.error(label, f"no {role} file was given.")
        return None
    p = Path(path)
    if not p.exists():
        report.error(label, f"file not found: {p}. Check the path and the file name.")
        return None
    if p.is_dir():
        report.error(label, f"{p} is a folder, not a file. Give the path of the {role} file itself.")
        return None
    if not p.is_file():
        report.error(label, f"{p} is not an ordinary file. Give the path of the {role} file itself.")
        return None
    size = p.stat().st_size
    if size > limit:  # refuse before reading a huge file into memory
        report.error(label, _too_big(size, limit, role))
        return None
    try:
        return p.read_bytes()
    except OSError as exc:
        report.error(label, f"could not read the file ({exc.strerror or exc}). Is it open elsewhere?")
        return None


def _too_big(size: int, limit: int, role: str) -> str:
    return (
        f"the file is {human_size(size)}, over the {human_size(limit)} limit for a {role} file. "
        "Remove unused sheets or columns, or split it."
    )


def _zip_kind(raw: bytes) -> str:
    """ "xlsx" for an Excel workbook, else a description of what the zip holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = zf.namelist()
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names:
                with zf.open("mimetype") as part:  # a few bytes; never unpack more
                    mimetype = part.read(256).decode("ascii", "replace")
                if "spreadsheet" in mimetype:
                    return "an OpenDocument spreadsheet (.ods)"
                return "an OpenDocument file"
            if "word/document.xml" in names:
                return "a Word document"
            if "ppt/presentation.xml" in names:
                return "a PowerPoint presentation"
            if any(n.lower().endswith(".shp") for n in names):
                return "a zipped Shapefile (boundaries)"
            return "a zip archive"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "a damaged zip archive"


def _decode(raw: bytes, label: str, report: ValidationReport) -> tuple[str | None, str]:
    """Text of a CSV: UTF-8 (BOM stripped), UTF-16 with a BOM, else Windows-1252 with a warning."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    head = raw[:65536]
    if b"\x00" in head:
        report.error(
            label,
            "this is not a CSV or Excel file: it contains binary data. Open it in Excel and save it "
            "as .xlsx or CSV.",
        )
        return None, ""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding, label_name in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        report.warn(
            label,
            f"the file is not UTF-8; read it as {label_name}, the encoding Excel uses for 'CSV' on "
            "Windows. Check that accented names look right, or save it as 'CSV UTF-8'.",
        )
        return text.lstrip("\ufeff"), encoding
    return None, ""  # latin-1 decodes every byte; unreachable


# --------------------------------------------------------------------------- CSV


def _choose_delimiter(lines: Sequence[str]) -> str:
    """The delimiter that splits the first lines into the most rows of one consistent width.

    Counting characters is not enough: a service list's `tiers` and `serves` cells hold
    ";"-separated lists, which can outnumber the commas between columns.
    """
    sample = "\n".join(ln for ln in lines[:50] if ln.strip())
    best, best_score = ",", (0, 0)
    for delimiter in _CSV_DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        counts: dict[int, int] = {}
        for w in widths:
            if w > 1:
                counts[w] = counts.get(w, 0) + 1
        if not counts:
            continue
        width, rows = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if (rows, width) > best_score:  # ties keep the earlier delimiter (comma first)
            best, best_score = delimiter, (rows, width)
    return best


def _read_csv_text(
    text: str, label: str, role: str, report: ValidationReport, expected: set[str], encoding: str
) -> pd.DataFrame | None:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        report.error(label, f"this looks like a JSON/GeoJSON file, not a CSV table. Save the {role} as CSV.")
        return None
    if stripped[:15].lower().startswith(("<!doctype html", "<html", "<?xml")):
        report.error(label, "this is a web page or XML file, not a CSV table. Download the file itself.")
        return None
    # Only the first lines decide the delimiter and whether this is prose: never split a
    # whole (possibly million-line) file into a list just to look at its top.
    lines = text[:_HEAD_CHARS].splitlines()[:_HEAD_LINES]
    delimiter = _choose_delimiter(lines)
    limits = _Limits(role)
    records: list[tuple[int, list[str]]] = []
    try:
        reader = csv.reader(_lines(text), delimiter=delimiter)
        # Each record is one spreadsheet row (a quoted value may span lines), so the
        # 1-based record index is the row number Excel shows.
        numbered = enumerate(reader, start=1)
        for row_number, record in numbered:
            if row_number <= limits.max_rows and len(record) <= limits.max_columns:
                # Within the first `max_rows` records no count can pass its limit, and a record
                # no wider than `max_columns` comes back from `check` as it is: it is counted
                # only if a later row needs checking (`count`), not checked one by one.
                records.append((row_number, record))
                continue
            limits.count([cells for _, cells in records])
            records.append((row_number, limits.check(row_number, record, lambda: _about_lines(text))))
            for row_number, record in numbered:  # the rest, each row checked as it is read
                records.append((row_number, limits.check(row_number, record, lambda: _about_lines(text))))
    except csv.Error as exc:
        row = len(records) + 1
        report.error(label, f"this CSV cannot be parsed ({exc}). Re-save it from Excel as CSV.", row=row)
        return None
    except _TooLarge as exc:
        report.error(label, str(exc), row=exc.row)
        return None

    # Lazily: a table's header row usually decides, without a test of every row.
    non_blank = ((n, r) for n, r in records if "".join(r).strip())
    first = next(non_blank, None)
    if first is None:
        report.error(label, f"the file is empty. Choose the {role} file that has a header row and data.")
        return None
    if _looks_like_prose(itertools.chain([first], non_blank), expected):
        # The first line is not quoted: it may be a refuge's row (a one-column list of postcodes).
        report.error(
            label,
            "this is not a CSV table: no line has commas (or semicolons or tabs) separating columns; it "
            f"looks like plain text or a single column. Save the {role} spreadsheet as CSV or Excel, "
            "with a header row.",
        )
        return None
    frame = _frame_from_rows(records, label, report, expected, source="csv")
    if frame is not None:
        frame.attrs["format"] = "csv"
        frame.attrs["encoding"] = encoding
    return frame


def _looks_like_prose(rows: Iterable[tuple[int, list[str]]], expected: set[str]) -> bool:
    """Plain text (a letter, notes) saved or renamed as .csv rather than a table.

    A table's header holds short names, some of them expected; prose has a sentence where
    the header should be, or no separators at all. `rows` are the non-blank rows (at least one).
    """
    rows = iter(rows)
    first = next(rows)
    header = [c.strip() for c in first[1]]
    if expected and {header_key(c) for c in header} & expected:
        return False
    if all(len(r) == 1 for _, r in itertools.chain([first], rows)):
        return bool(expected) or (len(header[0]) > 40 and " " in header[0])
    return any(len(c.split()) >= 4 and c.endswith((".", "!", "?", ":")) for c in header)


def _shorten(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- Excel


def _cell_text(value: Any) -> str:
    """An Excel cell as the text the analyst sees (1.0 -> "1", a date -> ISO date)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
#: A cell's parts (value, formula, inline text and its runs), read when the cell ends.
_CELL_PARTS = frozenset(_MAIN_NS + t for t in ("v", "f", "is", "t", "r", "rPr", "rPh", "phoneticPr"))
#: Excel's own column limit (XFD): no worksheet Excel saves has a longer row.
_EXCEL_MAX_COLUMNS = 16_384


def _sheet_rows(ws: Any, limits: _Limits | None = None) -> Iterator[tuple[int, list[str]]]:
    """(sheet row number, cell texts) for every row the sheet's XML holds, within `limits`.

    openpyxl's own row iterator pads every row to the sheet's declared dimension and fills
    in missing rows, so a 5 KB workbook declaring A1:XFD1048576 becomes a million rows of
    16,384 cells. Here the sheet XML is streamed (openpyxl converts each cell's value) and a
    row holds only the cells up to its last value: the work is bounded by the cells really
    present, whatever the file declares, and `limits` stops the read at the first row over
    a limit. Empty cells (formatting only) are skipped without being parsed, and a row may
    hold at most Excel's own 16,384 cells, so one giant row cannot fill the memory.
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
    from openpyxl.worksheet._reader import CELL_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    limits = limits or _Limits("table")
    wb = ws.parent
    with ws._get_source() as source:
        parser = WorkSheetParser(
            source,
            ws._shared_strings,
            data_only=wb.data_only,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        cells: dict[int, str] = {}
        in_row = 0  # cell elements seen in the current row
        pending: str | None = None  # reference of the last skipped empty cell
        for _, element in iterparse(source):  # "end" events: a cell is whole when it ends
            tag = element.tag
            if tag == CELL_TAG:
                in_row += 1
                if in_row > _EXCEL_MAX_COLUMNS:
                    raise _TooLarge(
                        f"a row holds more than {_EXCEL_MAX_COLUMNS:,} cells, more than Excel allows: this "
                        "is not a worksheet Excel saved. Open it in Excel and save it again as .xlsx.",
                        parser.row_counter + 1,
                    )
                reference = element.get("r")
                if len(element) == 0:  # no value, formula or text: formatting only
                    if reference:
                        pending = reference
                    else:
                        if pending:
                            parser.col_counter = column_index_from_string(coordinate_from_string(pending)[0])
                            pending = None
                        parser.col_counter += 1
                    element.clear()
                    continue
                if pending and not reference:
                    parser.col_counter = column_index_from_string(coordinate_from_string(pending)[0])
                pending = None
                cell = parser.parse_cell(element)
                element.clear()
                text = _cell_text(cell["value"])
                if text:
                    column = int(cell["column"])
                    row = int(cell["row"]) if reference else parser.row_counter + 1
                    if column > limits.max_columns:
                        raise _TooLarge(limits.too_wide(column - 1), row)
                    cells[column] = text
            elif tag == ROW_TAG:
                number = element.get("r")
                parser.row_counter = int(float(number)) if number else parser.row_counter + 1
                texts = [""] * max(cells, default=0)
                for column, text in cells.items():
                    texts[column - 1] = text
                yield parser.row_counter, limits.check(parser.row_counter, texts)
                element.clear()  # drops the row's (already cleared) cells
                cells = {}
                in_row = 0
                pending = None
                parser.col_counter = 0
            elif tag not in _CELL_PARTS:
                # Anything outside the rows (column widths, merged cells, formatting) is not
                # needed; clearing it keeps a large sheet's tree from growing.
                element.clear()


#: A workbook part may unpack to at most this many times its zipped size (real sheets and
#: string tables unpack 3-30 times; a part built to cost work, hundreds of times) ...
MAX_PART_RATIO = 100
#: ... checked only for parts over this size (tiny parts compress unpredictably).
_MIN_SUSPECT_PART = 10 * 1024 * 1024
#: Distinct texts a workbook may hold per row allowed: a list at the row limit with 25 text
#: columns, every cell different.
SHARED_STRINGS_PER_ROW = 25
_SHARED_STRING_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}si"

#: Where a sheet's <dimension ref="A1:H61"/> is looked for: Excel writes it near the top.
_DIMENSION_HEAD = 64 * 1024
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([^"]{1,40})"')


def _shared_strings(source: Any) -> list[str]:
    """A workbook's shared-string table (every distinct text of its cells), within a limit.

    As openpyxl's `read_string_table`, but each entry is dropped from the XML tree once
    read, and reading stops beyond `settings.MAX_INPUT_ROWS` x `SHARED_STRINGS_PER_ROW`
    strings: more distinct texts than a table within the limits could hold.
    """
    from openpyxl.cell.text import Text
    from openpyxl.xml.functions import iterparse

    most = settings.MAX_INPUT_ROWS * SHARED_STRINGS_PER_ROW
    strings: list[str] = []
    root = None
    for event, element in iterparse(source, events=("start", "end")):
        if root is None:
            root = element
        if event == "end" and element.tag == _SHARED_STRING_TAG:
            strings.append(Text.from_tree(element).content.replace("x005F_", ""))
            root.clear()  # the entries read so far: keeps the tree from growing
            if len(strings) > most:
                raise _TooLarge(
                    f"the workbook holds more than {most:,} different texts, more than a table within the "
                    f"limits ({settings.MAX_INPUT_ROWS:,} rows) can use. It was not read. Save the sheet "
                    "you need on its own as a new .xlsx or CSV."
                )
    return strings


@functools.cache
def _excel_reader_class() -> type:
    """openpyxl's read-only workbook reader, reading each sheet's declared size from the head
    of its XML only.

    openpyxl parses a whole sheet when opening a workbook if the sheet declares no
    `<dimension>` (a hostile or hand-made file): a 4 MB file then costs seconds before any
    row is read. The declared size is only reported here (`_warn_declared_dimension`),
    never used to size anything, so the head of the XML is enough. Imported lazily: only
    Excel uploads pay for openpyxl.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.xml.constants import SHARED_STRINGS

    class HeadSizedSheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            with self._get_source() as source:
                match = _DIMENSION.search(source.read(_DIMENSION_HEAD))
            if match:
                try:
                    bounds = range_boundaries(match.group(1).decode("ascii"))
                except (ValueError, TypeError, UnicodeDecodeError):
                    return  # an unreadable declaration: as if there were none
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    class HeadSizedReader(ExcelReader):
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = _shared_strings(source)

        def read_worksheets(self) -> None:
            # The read-only branch of ExcelReader.read_worksheets; chart sheets hold no table.
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                    continue
                ws = HeadSizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    return HeadSizedReader


def open_workbook(raw: bytes, label: str, report: ValidationReport, limit: int) -> Any | None:
    """An openpyxl read-only workbook, or None with the reason in `report`."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        report.error(label, "this Excel workbook is damaged (not a valid zip). Re-save it in Excel.")
        return None
    expanded = sum(info.file_size for info in infos)
    if expanded > MAX_XLSX_EXPANSION * max(limit, 1024 * 1024):
        report.error(
            label,
            f"this workbook unpacks to {human_size(expanded)}, far more than a table of this size should. "
            "Save the sheet you need on its own as .xlsx or CSV.",
        )
        return None
    # A part that unpacks hundreds of times over is repetition made to cost work (500 KB of
    # zip became 200 MB of identical shared strings: minutes and gigabytes to read).
    for info in infos:
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > _MIN_SUSPECT_PART and ratio > MAX_PART_RATIO:
            report.error(
                label,
                f"part '{info.filename}' of this workbook unpacks from {human_size(info.compress_size)} to "
                f"{human_size(info.file_size)}, {ratio:,} times over; "
                f"a real workbook's parts unpack to less than {MAX_PART_RATIO} times. It was not opened. "
                "Open the workbook in Excel and save the sheet you need as a new .xlsx or CSV.",
            )
            return None
    try:
        reader = _excel_reader_class()(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
        reader.read()
        return reader.wb
    except _TooLarge as exc:
        report.error(label, str(exc))
        return None
    except Exception as exc:  # openpyxl raises many types for damaged files; none is the user's bug
        report.error(
            label,
            f"this Excel workbook cannot be read ({type(exc).__name__}: {_shorten(str(exc), 120)}). "
            "Open it in Excel and save it again as .xlsx.",
        )
        return None


def workbook_sheet_rows(workbook: Any, sheet: str) -> list[tuple[int, list[str]]]:
    """All rows of one worksheet with any cell as (sheet row number, cell texts).

    Raises `GapmapInputError` when the sheet is over the row or column limit.
    """
    try:
        return list(_sheet_rows(workbook[sheet], _Limits("table")))
    except _TooLarge as exc:
        raise GapmapInputError([Problem(sheet, str(exc), exc.row)]) from None


def _read_workbook(
    raw: bytes,
    label: str,
    role: str,
    report: ValidationReport,
    expected: set[str],
    limit: int,
    sheet: str | None,
) -> pd.DataFrame | None:
    wb = open_workbook(raw, label, report, limit)
    if wb is None:
        return None
    try:
        worksheets = [ws for ws in wb.worksheets]
        if sheet is not None:
            if sheet not in wb.sheetnames:
                report.error(
                    label, f"the workbook has no sheet '{sheet}'. Its sheets are: {', '.join(wb.sheetnames)}."
                )
                return None
            worksheets = [wb[sheet]]
        candidates: list[tuple[int, int, str, list[tuple[int, list[str]]]]] = []
        for order, ws in enumerate(worksheets):
            try:
                rows = list(_sheet_rows(ws, _Limits(role)))
            except _TooLarge as exc:
                report.error(label, f"sheet '{ws.title}': {exc}", row=exc.row)
                return None
            except Exception as exc:  # a damaged sheet XML
                report.error(label, f"sheet '{ws.title}' cannot be read ({type(exc).__name__}). Re-save it.")
                return None
            if not any(any(c for c in r) for _, r in rows):
                continue
            _warn_declared_dimension(ws, rows, label, report)
            score = _best_header(rows, expected)[1]
            candidates.append((score, -order, ws.title, rows))
    finally:
        wb.close()
    if not candidates:
        report.error(label, f"the workbook is empty: no sheet has any data. Choose the {role} workbook.")
        return None
    # The sheet whose header matches the most expected names; the first sheet on a tie.
    score, _, title, rows = max(candidates, key=lambda c: (c[0], c[1]))
    if len(candidates) > 1:
        report.warn(
            label,
            f"the workbook has {len(candidates)} sheets with data; read sheet '{title}'. "
            "Delete the other sheets or save this one as CSV if that is the wrong one.",
        )
    frame = _frame_from_rows(rows, label, report, expected, source="excel")
    if frame is not None:
        frame.attrs["format"] = "xlsx"
        frame.attrs["sheet"] = title
    return frame


def _warn_declared_dimension(
    ws: Any, rows: Sequence[tuple[int, list[str]]], label: str, report: ValidationReport
) -> None:
    """Say so when a sheet declares a size far over the limits but holds a small table.

    The declared `<dimension>` is never used to size anything (a file can claim any size,
    or lie in either direction): the cells actually present decide. A sheet that declares
    more than the limits is usually formatting dragged to the bottom or right of the sheet.
    """
    declared_rows, declared_columns = ws.max_row, ws.max_column
    if declared_rows is None or declared_columns is None:
        return
    if declared_rows <= settings.MAX_INPUT_ROWS and declared_columns <= settings.MAX_INPUT_COLUMNS:
        return
    last_row = max(n for n, cells in rows if cells)
    last_column = max(len(cells) for _, cells in rows)
    report.warn(
        label,
        f"sheet '{ws.title}' declares its size as {declared_rows:,} rows by {declared_columns:,} "
        f"columns (to cell {_column_letter(declared_columns - 1)}{declared_rows}) but holds values "
        f"only up to row {last_row:,} and column {_column_letter(last_column - 1)}; the empty rest "
        "was ignored. Delete the empty rows and columns beyond the table to keep the file small.",
    )


# --------------------------------------------------------------------------- rows -> frame


def _best_header(rows: Sequence[tuple[int, list[str]]], expected: set[str]) -> tuple[int, int]:
    """(index into rows of the header row, how many expected names it holds).

    The header is the row, among the first non-blank ones, holding the most expected
    column names; without expected names (or no match) the first non-blank row.
    """
    first: int | None = None
    best, best_score = None, 0
    seen = 0
    for i, (_, cells) in enumerate(rows):
        if not any(c.strip() for c in cells):
            continue
        if first is None:
            first = i
        seen += 1
        if expected:
            score = len({header_key(c) for c in cells} & expected)
            if score > best_score:
                best, best_score = i, score
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        return (first if first is not None else 0), 0
    return best, best_score


def _column_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _stripped_text(cells: Sequence[str]) -> pd.Series:
    """A column of cells (all `str`) as `pd.Series(cells, dtype="str").str.strip()`.

    Where that dtype is Arrow's (pandas 3 with pyarrow), the same conversion and the same
    Arrow strip are made directly, without pandas' per-cell check for missing values (there
    are none): a third of the time of building a large table's frame.
    """
    dtype = pd.api.types.pandas_dtype("str")
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return pd.Series(cells, dtype="str").str.strip()
    import pyarrow as pa
    import pyarrow.compute as pc

    return pd.Series(pd.array(pc.utf8_trim_whitespace(pa.array(cells, type=pa.large_string())), dtype=dtype))


def _fit_rows(
    data_rows: list[tuple[int, list[str]]], width: int, label: str, report: ValidationReport, source: str
) -> tuple[list[list[str]], list[int]]:
    """The rows padded or cut to `width` cells, and their row numbers; a row with values past
    the last column is an error (the values are ignored)."""
    table: list[list[str]] = []
    row_numbers: list[int] = []
    for row_number, cells in data_rows:
        if len(cells) != width:
            if len(cells) > width and "".join(cells[width:]).strip():
                extra = [c.strip() for c in cells[width:] if c.strip()]
                where = "a value probably has an unquoted comma" if source == "csv" else "they have no header"
                report.error(
                    label,
                    f"this row has {width + len(extra)} values but the header has {width} columns ({where}); "
                    f"the extra value(s) {', '.join(repr(_shorten(e, 30)) for e in extra[:3])} were ignored.",
                    row=row_number,
                )
            cells = cells[:width] + [""] * (width - len(cells))
        table.append(cells)
        row_numbers.append(row_number)
    return table, row_numbers


def _frame_from_rows(
    rows: list[tuple[int, list[str]]],
    label: str,
    report: ValidationReport,
    expected: set[str],
    *,
    source: str,
) -> pd.DataFrame | None:
    header_index, _ = _best_header(rows, expected)
    header_row_number, raw_header = rows[header_index]
    header = [normalise_header(h) for h in raw_header]
    # Blank spreadsheet rows are not data. (Joined-string tests run in C: this loop is the
    # hot path for a large CSV.)
    data_rows = [(n, cells) for n, cells in rows[header_index + 1 :] if "".join(cells).strip()]

    # Trailing columns with no header and no data are Excel's ghost columns: drop them.
    width = len(header)
    while (
        width
        and not header[width - 1]
        and not any(len(cells) >= width and cells[width - 1].strip() for _, cells in data_rows)
    ):
        width -= 1
    header = header[:width]
    if not header:
        report.error(label, "the header row is empty.", row=header_row_number)
        return None

    keep: list[int] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if not h:
            h = header[i] = f"column {_column_letter(i)}"
            report.warn(
                label,
                f"column {_column_letter(i)} has data but no header; it is called '{h}'. Give it a name.",
                row=header_row_number,
            )
        key = header_key(h)
        if key in seen:
            report.warn(
                label,
                f"column '{h}' appears twice (columns {_column_letter(seen[key])} and {_column_letter(i)}); "
                f"the first is used. Rename or delete column {_column_letter(i)}.",
                row=header_row_number,
                column=h,
            )
            continue
        seen[key] = i
        keep.append(i)

    if set(map(len, (cells for _, cells in data_rows))) <= {width}:
        # Every row has one value per column (the usual case): no row to pad or cut.
        table = [cells for _, cells in data_rows]
        row_numbers = [row_number for row_number, _ in data_rows]
    else:
        table, row_numbers = _fit_rows(data_rows, width, label, report, source)

    if not table:
        report.warn(label, "the file has a header row but no data rows below it.", row=header_row_number)
    # Built column by column: much faster than a row-wise DataFrame for large files.
    by_column = list(zip(*table, strict=True)) if table else [() for _ in range(width)]
    frame = pd.DataFrame(
        {header[i]: _stripped_text(by_column[i]) for i in keep}
        if table
        else {header[i]: pd.Series([], dtype="str") for i in keep}
    )
    frame[ROW_COLUMN] = pd.Series(row_numbers, dtype="int64", index=frame.index)
    frame.attrs["header_row"] = header_row_number
    return frame
