"""The CSV files of a report: gaps.csv, coverage.csv and access.csv, as bytes.

The plain-table medium, beside the workbook (`gapmap.workbook`), the pack and the maps. Pure:
an analysis in, UTF-8 bytes out; text a spreadsheet would run as a formula is defused
(`gapmap.safetext`). `gapmap.report` writes these files; the app's CSV download is `gaps_csv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from gapmap import wording
from gapmap.engine import ACCESS_COLUMNS, COVERAGE_COLUMNS, GAPS_COLUMNS, GapAnalysis
from gapmap.safetext import csv_frame

__all__ = [
    "ACCESS_CSV_COLUMNS",
    "COVERAGE_CSV_COLUMNS",
    "GAPS_CSV_COLUMNS",
    "GAPS_TEXT_COLUMNS",
    "ROUNDING",
    "access_csv",
    "coverage_csv",
    "gaps_csv",
    "gaps_labelled",
]

#: gaps.csv has the engine's columns less the benchmark label (it lives in summary.json and the
#: workbook), plus label columns a person reads beside the machine codes: `status_label`
#: ("Not met"), `figure_label` ("Not met: 0.35 of 0.38 (93%)"; "Met: 5 services (at least 1
#: needed)" for a presence rule), and the profile with its caveat (empty for the standards).
_ENGINE_CSV_COLUMNS: tuple[str, ...] = tuple(c for c in GAPS_COLUMNS if c != "benchmark_label")
GAPS_CSV_COLUMNS: tuple[str, ...] = (
    *_ENGINE_CSV_COLUMNS[: _ENGINE_CSV_COLUMNS.index("status") + 1],
    "status_label",
    "figure_label",
    *_ENGINE_CSV_COLUMNS[_ENGINE_CSV_COLUMNS.index("status") + 1 :],
    "profile",
    "profile_caveat",
)
#: The text columns of gaps.csv (read back as text, blanks as "").
GAPS_TEXT_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "benchmark_id",
    "denominator_source",
    "status",
    "status_label",
    "figure_label",
    "profile",
    "profile_caveat",
)
COVERAGE_CSV_COLUMNS: tuple[str, ...] = COVERAGE_COLUMNS
ACCESS_CSV_COLUMNS: tuple[str, ...] = ACCESS_COLUMNS

#: Decimal places written per column: enough to recompute a ratio by hand, no float noise.
ROUNDING: dict[str, int] = {
    "denominator": 1,
    "required": 4,
    "provided": 4,
    "ratio": 4,
    "shortfall": 4,
    "nearest_km": 2,
}


def _rounded(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.loc[:, list(columns)].copy()
    for col, places in ROUNDING.items():
        if col in out.columns:
            out[col] = out[col].astype(float).round(places)
    return out


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # Empty cells for missing values (no "nan"), "\n" line ends, UTF-8 without BOM. Text that a
    # spreadsheet would run as a formula (an area or service name "=HYPERLINK(...)") gets a
    # leading "'" (gapmap.safetext); numbers are left alone.
    return csv_frame(frame).to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")


def _figure_label(row: dict, bench: Any) -> str:
    """The row in words; a demand row's own reading says it best (gapmap.demand)."""
    reading = row.get("reading")
    if row.get("basis") == "demand" and isinstance(reading, str) and reading:
        return f"{wording.status_label(row.get('status'))}: {reading}"
    return wording.figure_text(row, bench)


#: The gap-row fields the label columns are worded from.
_LABEL_COLUMNS = ("benchmark_id", "status", "provided", "required", "ratio", "basis", "reading")


def gaps_labelled(analysis: GapAnalysis) -> pd.DataFrame:
    """The engine's gap rows with the label columns of gaps.csv (`GAPS_CSV_COLUMNS`)."""
    gaps = analysis.gaps
    if "denominator_source" not in gaps.columns:  # a frame built by hand, not by the engine
        gaps = gaps.assign(denominator_source="")
    # Frames made before demand rows existed (or by hand) lack basis/period/reading.
    missing = {"basis": "population", "period": "", "reading": ""}
    gaps = gaps.assign(**{c: v for c, v in missing.items() if c not in gaps.columns})
    benches = {b.id: b for b in analysis.profile.benchmarks}
    # Only the columns the words read (`_figure_label`, `wording.figure_text`): a record of
    # every column was a fifth of the labelling time (296 districts x 7 benchmarks, measured).
    # Records zipped from column lists: the same Python values as `to_dict("records")`, which
    # boxes each Arrow string cell one at a time (a third of the labelling time).
    columns = [c for c in _LABEL_COLUMNS if c in gaps.columns]
    lists = [gaps[c].tolist() for c in columns]
    records = [dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)]
    return gaps.assign(
        status_label=[wording.status_label(r["status"]) for r in records],
        figure_label=[_figure_label(r, benches.get(r["benchmark_id"])) for r in records],
        profile=analysis.profile.id,
        profile_caveat=analysis.profile.caveat,
    )


def gaps_csv(analysis: GapAnalysis) -> bytes:
    """gaps.csv: issue 3's columns, the denominator source and the label columns."""
    frame = _rounded(gaps_labelled(analysis), GAPS_CSV_COLUMNS)
    frame["unmeasured_services"] = frame["unmeasured_services"].astype(int)
    return _csv_bytes(frame)


def coverage_csv(analysis: GapAnalysis) -> bytes:
    frame = analysis.coverage.loc[:, list(COVERAGE_CSV_COLUMNS)].copy()
    frame["services"] = frame["services"].astype(int)
    frame["patchwork_gap"] = frame["patchwork_gap"].astype(bool)
    return _csv_bytes(frame)


def access_csv(analysis: GapAnalysis) -> bytes:
    return _csv_bytes(_rounded(analysis.access, ACCESS_CSV_COLUMNS))
