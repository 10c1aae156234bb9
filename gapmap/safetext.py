"""Spreadsheet-safe text: user text that a spreadsheet would run as a formula is neutralised.

A service name such as ``=HYPERLINK("http://x","Click")`` or ``=cmd|' /C calc'!A0`` becomes a
live formula when a CSV or workbook is opened in Excel, LibreOffice or Google Sheets (CSV or
formula injection). Following the OWASP guidance, a text value whose first character is ``=``,
``+``, ``-``, ``@``, a tab (0x09) or a carriage return (0x0D) is written with a single quote
``'`` in front, so every spreadsheet shows it as text. We also catch:

- leading whitespace before a trigger (``"  =1+1"``): some importers trim cells before parsing;
- the full-width and small-form variants (``＝ ＋ － ＠``, ``﹦ ﹢ ﹣ ﹫``) and the minus sign
  U+2212, which East Asian input methods and some spreadsheets normalise to ASCII.

Only text is touched: numbers (a negative number included) stay numbers. The rule is idempotent
(a neutralised value starts with ``'``, which is not a trigger), so text that passes through two
writers (gaps.csv read back into the workbook) gets one quote, not two. Every CSV and XLSX writer
of gapmap calls `neutralise` (through `neutralise_frame` or `csv_frame` for tables).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

#: Characters that make a spreadsheet read a cell as a formula (or a DDE call) when they lead it.
FORMULA_TRIGGERS: frozenset[str] = frozenset(
    "=+-@"  # OWASP's list
    "\uff1d\uff0b\uff0d\uff20"  # full-width ＝ ＋ － ＠
    "\ufe66\ufe62\ufe63\ufe6b"  # small-form ﹦ ﹢ ﹣ ﹫
    "\u2212"  # minus sign −
)
#: Control characters that are triggers in themselves when they lead a cell (OWASP).
CONTROL_TRIGGERS: frozenset[str] = frozenset("\t\r")
#: What goes in front of a dangerous value.
QUOTE = "'"


def is_dangerous(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (see the module docs)."""
    if not text:
        return False
    if text[0] in CONTROL_TRIGGERS:
        return True
    stripped = text.lstrip()
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def neutralise(value: Any) -> Any:
    """`value` made safe for a spreadsheet cell: dangerous text gets a leading ``'``.

    Anything that is not a ``str`` (numbers, booleans, None, NaN, dates) is returned unchanged,
    so a negative number stays a number.

    Examples
    --------
    >>> neutralise("=1+1"), neutralise("-2+3"), neutralise(-2.5), neutralise("Alpha")
    ("'=1+1", "'-2+3", -2.5, 'Alpha')
    """
    if isinstance(value, str) and is_dangerous(value):
        return QUOTE + value
    return value


def _map_text(column: pd.Series, fix: Callable[[Any], Any]) -> pd.Series:
    """`column` with `fix` applied to its cells; untouched (not copied) when `fix` changes none.

    `fix` is judged once per distinct value, not once per cell: a table's text columns repeat
    the same few names and labels thousands of times. Unhashable cells (lists) fall back to a
    cell-by-cell map.
    """
    try:
        # As a Python list: iterating the Arrow array itself boxes one cell at a time.
        uniques = pd.unique(column).tolist()
    except TypeError:
        return column.map(fix)
    changed = {}
    for value in uniques:
        if isinstance(value, str):
            fixed = fix(value)
            if fixed != value:
                changed[value] = fixed
    if not changed:
        return column
    return column.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)


def _is_text(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _fix_text(frame: pd.DataFrame, fix: Callable[[Any], Any]) -> pd.DataFrame:
    """A copy of `frame` with `fix` applied to every text cell and `neutralise` to the column
    names. Only object/string columns are looked at, so numeric columns keep their dtype and a
    mixed column keeps its numbers as numbers; categorical columns become plain objects.
    """
    # A shallow copy shares the columns left unchanged (nothing writes into them); `isetitem`
    # puts a new array in the copy and never writes into the old one, so `frame` is untouched.
    out = frame.copy(deep=False)
    for pos, dtype in enumerate(frame.dtypes):
        column = out.iloc[:, pos]
        if isinstance(dtype, pd.CategoricalDtype):
            # Mapping categories could merge two of them; plain objects cannot.
            column = column.astype(object)
            dtype = column.dtype
            out.isetitem(pos, column)
        if _is_text(dtype):
            fixed = _map_text(column, fix)
            if fixed is not column:
                out.isetitem(pos, fixed)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell (and text column name) passed through `neutralise`.

    Only object/string columns are looked at, so numeric columns keep their dtype and a mixed
    column keeps its numbers as numbers.
    """
    return _fix_text(frame, neutralise)


def _one_line_break(value: Any) -> Any:
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _csv_cell(value: Any) -> Any:
    return _one_line_break(neutralise(value))


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` ready for ``to_csv(lineterminator="\\n")``: text neutralised, then every carriage
    return inside text turned into a line feed.

    Python's csv writer quotes a field only for the characters of its line terminator, so a bare
    CR would be written unquoted, and Excel (and ``csv`` itself) would break the row there. A LF
    is quoted, and it is what an XLSX cell's CR reads back as anyway. Neutralising first means a
    CR-led value is still caught: ``"\\r=1+1"`` is written ``"'\\n=1+1"`` (quoted). Both are
    applied in one pass over each column's distinct values.
    """
    return _fix_text(frame, _csv_cell)
