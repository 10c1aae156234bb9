"""Population denominators per area, from the tables analysts have.

Three layouts are read:

* a plain CSV/XLSX with an area code column (``area_code``, ``lad24cd``, ``LAD23CD``,
  ``areacd``, ``ltla21_code``, ``code``…) and one numeric column per denominator, named
  by its id (``females_16_plus``) or one of its aliases in the vocabulary
  (``census21_females_16plus_est``);
* the ONS mid-year estimates workbook (sheets "MYE2 - Persons", "MYE2 - Females",
  "MYE2 - Males" with title rows, a header row starting "Code", and single-year age
  columns 0 … 90+), from which the denominators are derived;
* population columns carried inside the boundary file (`population_from_boundaries`).

The column each denominator came from is kept in ``df.attrs["column_sources"]`` so a
report can say "females_16_plus = census21_females_16plus_est". When a table has several
columns for one denominator (``census21_persons`` and ``mye2023_persons``), the most recent
official figure is used (`choose_column`) and the others are kept under their own names, so
`resolve_denominators` can use another vintage when the user chooses one.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap import settings
from gapmap.boundaries import normalise_codes
from gapmap.config import Config
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.schema import AREA_CODE, AREA_NAME
from gapmap.tables import ROW_COLUMN, header_key, read_table

ROLE = "population"

_GEOGRAPHIES = "LAD|LTLA|UTLA|CTYUA|CTY|CAUTH|RGN|PFA|CSP|CTRY"
_VINTAGE_CODE = re.compile(rf"^({_GEOGRAPHIES})(\d{{2}})(?:cd|_code)$", re.IGNORECASE)
_PREFERENCE = _GEOGRAPHIES.split("|")
#: Plain code column names, most specific first.
_PLAIN_CODE_NAMES = ("area code", "ladcd", "lad code", "areacd", "geography code", "gss code", "code")

#: ONS mid-year estimate sheets: "MYE2 - Persons", "MYE2 - Females", "MYE2 - Males".
_MYE_SHEET = re.compile(r"^\s*MYE\s*2\s*[-–]\s*(persons|females|males)\s*$", re.IGNORECASE)
_MYE_HEADER = ("code", "name", "geography", "all ages")

#: How much of an .xlsx's workbook.xml is read to find the MYE sheet names.
_WORKBOOK_XML_BYTES = 1024 * 1024

#: A thousands separator: a comma between digits followed by exactly three digits.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")


def load_population(
    path: Path | str | None,
    *,
    config: Config,
    report: ValidationReport | None = None,
    content: bytes | None = None,
    name: str | None = None,
) -> pd.DataFrame | None:
    """Read a population table (plain or ONS MYE layout) into one row per area.

    Parameters
    ----------
    path
        CSV / XLSX file; ignored when `content` is given.
    config
        Supplies the denominator ids and their column aliases.
    report
        Problems are added here and None is returned if this file has errors; without a
        report, errors raise `GapmapInputError`.
    content, name
        An upload held in memory, and its original file name.

    Returns
    -------
    DataFrame with ``area_code`` (str), one float column per denominator found (in the
    vocabulary's order) and the file's other numeric columns (snake_case names).
    ``attrs["column_sources"]`` maps each output column to the file's column (or, for
    an MYE workbook, to the sheet and ages summed); ``attrs["rows"]`` maps area code ->
    row number in the file; ``attrs["area_names"]`` maps code -> name when the file has
    names.
    """
    own_report = report is None
    rep = ValidationReport() if report is None else report
    label = name or (Path(path).name if path is not None else "population upload")
    errors_before = len(rep.errors)
    frame = _load(path, content, label, config, rep)
    if len(rep.errors) > errors_before:
        if own_report:
            raise GapmapInputError(rep.problems)
        return None
    return frame


def _load(
    path: Path | str | None, content: bytes | None, label: str, config: Config, report: ValidationReport
) -> pd.DataFrame | None:
    if content is None and path is not None and Path(path).is_file():
        size = Path(path).stat().st_size
        if size <= settings.MAX_INPUT_BYTES:
            content = Path(path).read_bytes()
    if content is not None:
        mye_sheets = _mye_sheets(content)
        if mye_sheets:
            return _load_mye(content, label, mye_sheets, config, report)
    expected = [*_code_column_examples(), *_denominator_names(config)]
    table = read_table(path, role=ROLE, report=report, content=content, name=label, expected_columns=expected)
    if table is None:
        return None
    return _from_plain_table(table, label, config, report)


# --------------------------------------------------------------------------- plain tables


def _code_column_examples() -> list[str]:
    """Literal code-column names for `read_table`'s header search (it cannot take patterns)."""
    names = ["area_code", *_PLAIN_CODE_NAMES]
    for prefix in ("LAD", "LTLA", "UTLA", "CTYUA"):
        for year in range(11, 31):
            names += [f"{prefix}{year}CD", f"{prefix.lower()}{year}_code"]
    return names


def _denominator_names(config: Config) -> list[str]:
    return [n for d, aliases in config.denominator_aliases().items() for n in (d, *aliases)]


def _find_code_column(columns: Iterable[str]) -> str | None:
    """The area code column: `area_code`, else the finest ONS geography, newest vintage."""
    columns = list(columns)
    keys = {header_key(c): c for c in columns}
    if "area code" in keys:
        return keys["area code"]
    vintage: list[tuple[int, int, str]] = []
    for column in columns:
        m = _VINTAGE_CODE.match(column.strip())
        if m:
            vintage.append((_PREFERENCE.index(m.group(1).upper()), -int(m.group(2)), column))
    if vintage:
        return min(vintage)[2]
    for plain in _PLAIN_CODE_NAMES:
        if plain in keys:
            return keys[plain]
    return None


def _find_name_column(columns: Iterable[str], code_column: str) -> str | None:
    keys = {header_key(c): c for c in columns}
    code_key = header_key(code_column)
    for guess in (
        code_key[:-2] + "nm" if code_key.endswith("cd") else "",
        code_key.replace(" code", " name"),
        "area name",
        "name",
    ):
        if guess and guess != code_key and guess in keys:
            return keys[guess]
    return None


@overload
def _parse_counts(
    values: pd.Series,
    rows: pd.Series,
    column: str,
    label: str,
    report: ValidationReport,
    *,
    strict: Literal[True],
) -> pd.Series: ...
@overload
def _parse_counts(
    values: pd.Series, rows: pd.Series, column: str, label: str, report: ValidationReport, *, strict: bool
) -> pd.Series | None: ...
def _parse_counts(
    values: pd.Series, rows: pd.Series, column: str, label: str, report: ValidationReport, *, strict: bool
) -> pd.Series | None:
    """Text cells -> floats. "1,234" is read as 1234; blank is NaN (with a warning).

    With `strict`, non-numeric and negative values are errors naming row and column;
    otherwise the column is returned only if every non-blank cell is a number.
    """
    text = values.astype(str).str.strip()
    cleaned = text.str.replace(_THOUSANDS, "", regex=True).str.replace(" ", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").astype(float)
    blank = text == ""
    # "inf", "nan" and "1e400" parse as floats but are no count of people.
    bad = ~np.isfinite(numbers) & ~blank
    if not strict:
        return None if bad.any() or blank.all() else numbers
    numbers = numbers.where(~bad)
    for value, row in zip(text[bad], rows[bad], strict=True):
        report.error(
            label,
            f"'{value}' is not a number. Population counts must be numbers of people (e.g. 12345 "
            "or 12,345); leave the cell blank if the figure is unknown.",
            row=int(row),
            column=column,
        )
    negative = numbers < 0
    for value, row in zip(text[negative], rows[negative], strict=True):
        report.error(
            label, f"{value} is negative; a population count cannot be.", row=int(row), column=column
        )
    if blank.any():
        where = ", ".join(str(int(r)) for r in rows[blank][:10])
        report.warn(
            label,
            f"{int(blank.sum())} blank value(s) (row(s) {where}); benchmarks using this column show "
            "'no data' for those areas.",
            column=column,
        )
    return numbers


def _snake(column: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header_key(column)).strip("_") or "column"


def _from_plain_table(
    table: pd.DataFrame, label: str, config: Config, report: ValidationReport
) -> pd.DataFrame | None:
    columns = [c for c in table.columns if c != ROW_COLUMN]
    code_col = _find_code_column(columns)
    if code_col is None:
        report.error(
            label,
            f"no area code column found. The file has columns: {', '.join(columns)}. Add a column "
            "`area_code` holding the ONS codes of the areas (e.g. E06000001); ONS names such as "
            "lad24cd, LAD23CD, areacd or ltla21_code are also recognised.",
        )
        return None
    rows = table[ROW_COLUMN]
    codes = normalise_codes(table[code_col])
    ok = _check_codes(codes, rows, code_col, label, report)
    sources: dict[str, str] = {AREA_CODE: code_col}
    out = pd.DataFrame({AREA_CODE: codes.to_numpy()})

    used = {code_col}
    keys = {header_key(c): c for c in columns}
    for denominator, aliases in config.denominator_aliases().items():
        candidates = [keys[header_key(n)] for n in (denominator, *aliases) if header_key(n) in keys]
        candidates = [c for c in dict.fromkeys(candidates) if c not in used]
        if not candidates:
            continue
        column = choose_column(denominator, candidates, config)
        values = _parse_counts(table[column], rows, column, label, report, strict=True)
        out[denominator] = values.to_numpy()
        sources[denominator] = column
        used.add(column)
        # A column of known vintage is kept under its own name too, so another vintage can be
        # chosen later (the CLI flag, the app's selectbox) and the choice undone.
        snake = _snake(column)
        if _vintage_of(denominator, column, config) and snake != denominator and snake not in out.columns:
            out[snake] = values.to_numpy()
            sources[snake] = column
    name_col = _find_name_column(columns, code_col)
    if name_col:
        used.add(name_col)
    for column in columns:
        snake = _snake(column)
        if column in used or snake in out.columns or snake in (AREA_CODE, AREA_NAME):
            continue
        values = _parse_counts(table[column], rows, column, label, report, strict=False)
        if values is not None:
            out[snake] = values.to_numpy()
            sources[snake] = column
    _derive_from_single_years(out, table, columns, sources)
    found = [d for d in config.denominators if d in out.columns]
    if not found:
        expected = "; ".join(f"`{d}` (or {', '.join(a)})" for d, a in config.denominator_aliases().items())
        report.error(
            label,
            f"no population column found. The file has columns: {', '.join(columns)}. Expected one or more "
            f"of: {expected}.",
        )
        return None
    _warn_missing_denominators(found, config, label, report)
    if not ok:
        return None
    out.attrs["column_sources"] = sources
    out.attrs["rows"] = dict(zip(codes, rows.astype(int), strict=True))
    if name_col:
        out.attrs["area_names"] = dict(zip(codes, table[name_col].astype(str).str.strip(), strict=True))
    return out


def _vintage_of(denominator: str, column: str, config: Config) -> dict[str, Any]:
    """The vintage the vocabulary records for `column` ({} when it is not known)."""
    known = {header_key(k): v for k, v in config.denominator_columns(denominator).items()}
    return dict(known.get(header_key(column), {}))


def choose_column(denominator: str, candidates: Sequence[str], config: Config) -> str:
    """The column a denominator is read from when the user does not choose (the documented rule).

    The most recent official figure present (highest `year` among columns the vocabulary marks
    official), then derived estimates (most recent first), then columns of unknown vintage in
    the order the vocabulary lists the aliases. E.g. a table with `census21_persons` and
    `mye2023_persons` uses `mye2023_persons` (ONS mid-2023 estimate) for all persons.
    """

    def rank(item: tuple[int, str]) -> tuple[int, int, int]:
        position, column = item
        info = _vintage_of(denominator, column, config)
        if not info:
            return (2, 0, position)
        return (0 if info.get("official", True) else 1, -int(info.get("year", 0)), position)

    return min(enumerate(candidates), key=rank)[1]


def resolve_denominators(
    population: pd.DataFrame, config: Config, vintage: str | None = None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Which column (and vintage) each denominator is read from, and notes for the reader.

    Parameters
    ----------
    population
        A frame from `load_population` (or any frame with `area_code` and denominator columns).
    config
        Supplies the aliases and the known vintages of each denominator.
    vintage
        A vintage id (`census2021`, `mye2023`…; see `Config.vintages`) to prefer for every
        denominator; None applies the rule of `choose_column`.

    Returns
    -------
    ({denominator: provenance}, notes). A provenance dict holds `denominator`, `label`,
    `column` (the population file's column), `frame_column` (where the values are in
    `population`), `vintage`, `vintage_label`, `year` and `official`.
    """
    known = config.vintages()
    if vintage is not None and vintage not in known:
        raise GapmapInputError(
            f"population vintage `{vintage}` is not known; expected one of: "
            + ", ".join(f"{k} ({v})" for k, v in known.items()),
            file="--population-vintage",
        )
    sources: dict[str, str] = dict(population.attrs.get("column_sources", {}))
    frame_columns = set(population.columns)
    layout = population.attrs.get("layout", "")
    out: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for denominator, aliases in config.denominator_aliases().items():
        # (file column, frame column) for every candidate present.
        candidates: dict[str, str] = {}
        for name in aliases:
            snake = _snake(name)
            if snake in frame_columns:
                candidates.setdefault(sources.get(snake, name), snake)
        if denominator in frame_columns:
            candidates.setdefault(sources.get(denominator, denominator), denominator)
        label = str(config.denominators[denominator].get("label", denominator))
        if not candidates:
            continue
        chosen = None
        if vintage is not None:
            matching = [
                c for c in candidates if _vintage_of(denominator, c, config).get("vintage") == vintage
            ]
            if matching:
                chosen = choose_column(denominator, matching, config)
            else:
                notes.append(
                    f"No {known[vintage]} column for {label}: used the most recent official figure present."
                )
        if chosen is None:
            chosen = choose_column(denominator, list(candidates), config)
        info = _vintage_of(denominator, chosen, config)
        if info:
            vintage_label = str(info.get("label", info.get("vintage")))
        elif layout == "ons_mye":
            vintage_label = "ONS mid-year estimates workbook (year not stated in the file)"
        else:
            vintage_label = ""
        out[denominator] = {
            "denominator": denominator,
            "label": label,
            "column": chosen,
            "frame_column": candidates[chosen],
            "vintage": str(info.get("vintage", "")),
            "vintage_label": vintage_label,
            "year": info.get("year"),
            "official": bool(info.get("official", True)) if info else None,
        }
    return out, notes


#: (total column, derived column, first age, last age): a table of single-year ages (an MYE
#: sheet saved as CSV) yields the age-band denominator when its ages add up to the total.
_AGE_DERIVATIONS = (("all_persons", "persons_0_17", 0, 17), ("females", "females_16_plus", 16, 90))


def _derive_from_single_years(
    out: pd.DataFrame, table: pd.DataFrame, columns: list[str], sources: dict[str, str]
) -> None:
    """Add persons_0_17 / females_16_plus from single-year age columns 0 … 90+ when missing.

    A plain table does not say whose ages its columns count, so they are used only for
    the total they add up to (within 1 person in every row with figures).
    """
    ages = _age_columns(columns)
    if ages is None:
        return
    by_age = {
        a: pd.to_numeric(table[c].str.replace(_THOUSANDS, "", regex=True), errors="coerce")
        for a, c in ages.items()
    }
    every_age = sum(by_age.values())
    for total, derived, first, last in _AGE_DERIVATIONS:
        if total not in out.columns or derived in out.columns:
            continue
        known = out[total].notna() & every_age.notna().to_numpy()
        if not known.any() or not np.allclose(every_age[known.to_numpy()], out.loc[known, total], atol=1):
            continue
        band = sum(by_age[a] for a in range(first, last + 1))
        out[derived] = band.astype(float).to_numpy()
        sources[derived] = (
            f"single-year age columns {ages[first]}-{ages[last]} (they add up to {sources[total]})"
        )


def _check_codes(
    codes: pd.Series, rows: pd.Series, column: str, label: str, report: ValidationReport
) -> bool:
    ok = True
    for row in rows[codes == ""]:
        report.error(label, "this row has no area code.", row=int(row), column=column)
        ok = False
    duplicated = codes.duplicated(keep=False) & (codes != "")
    for code in pd.unique(codes[duplicated]):
        at = rows[codes == code].astype(int).tolist()
        report.error(
            label,
            f"area code {code} appears on {len(at)} rows ({', '.join(map(str, at))}); keep one row per area.",
            row=at[0],
            column=column,
        )
        ok = False
    return ok


def _warn_missing_denominators(
    found: list[str], config: Config, label: str, report: ValidationReport
) -> None:
    """Say which denominators the benchmarks need but the file lacks (not the unused ones)."""
    needed: dict[str, list[str]] = {}
    for profile in config.profiles.values():
        for bm in profile.benchmarks:
            if bm.denominator and bm.denominator not in found:
                needed.setdefault(bm.denominator, []).append(bm.label)
    for denominator, labels in needed.items():
        aliases = config.denominator_aliases().get(denominator, [])
        report.warn(
            label,
            f"no `{denominator}` column (or {', '.join(aliases) or 'alias'}); benchmarks that need it "
            f"({', '.join(sorted(set(labels)))}) will show 'no data'.",
        )


# --------------------------------------------------------------------------- ONS MYE workbook


def _mye_sheets(content: bytes) -> dict[str, str]:
    """{"persons"|"females"|"males": sheet name} if `content` is an MYE workbook, else {}."""
    if not content.startswith(b"PK\x03\x04"):
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf, zf.open("xl/workbook.xml") as part:
            # The sheet list is a few KB; never unpack more (a zip can claim any size).
            workbook_xml = part.read(_WORKBOOK_XML_BYTES).decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError):
        return {}
    # Sheet names straight from workbook.xml: cheap, no openpyxl load needed to decide.
    found: dict[str, str] = {}
    for raw_name in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bname="([^"]*)"', workbook_xml):
        sheet = (
            raw_name.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        )
        m = _MYE_SHEET.match(sheet)
        if m:
            found.setdefault(m.group(1).lower(), sheet)
    return found


def _age_columns(columns: list[str]) -> dict[int, str] | None:
    """Single-year age columns 0 … 90+ (90 may be written "90" or "90+"), or None."""
    ages: dict[int, str] = {}
    for column in columns:
        m = re.fullmatch(r"(\d{1,3})\+?", column.strip())
        if m:
            ages[int(m.group(1))] = column
    return ages if all(a in ages for a in range(91)) else None


def _load_mye(
    content: bytes, label: str, sheets: dict[str, str], config: Config, report: ValidationReport
) -> pd.DataFrame | None:
    parsed: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    names: dict[str, str] = {}
    rows_by_code: dict[str, int] = {}
    ok = True
    for sex, sheet in sheets.items():
        table = read_table(
            None,
            role=ROLE,
            report=report,
            content=content,
            name=label,
            expected_columns=_MYE_HEADER,
            sheet=sheet,
        )
        if table is None:
            return None
        where = f"{label} (sheet '{sheet}')"
        columns = [c for c in table.columns if c != ROW_COLUMN]
        keys = {header_key(c): c for c in columns}
        if "code" not in keys or "all ages" not in keys:
            report.error(
                where,
                "this MYE sheet has no header row with `Code` and `All ages` in its first "
                f"{20} rows (columns found: {', '.join(columns[:8])}). Use the unaltered ONS workbook.",
            )
            ok = False
            continue
        codes = normalise_codes(table[keys["code"]])
        rows = table[ROW_COLUMN]
        ok = _check_codes(codes, rows, keys["code"], where, report) and ok
        frame = pd.DataFrame({AREA_CODE: codes.to_numpy()})
        total = _parse_counts(table[keys["all ages"]], rows, keys["all ages"], where, report, strict=True)
        frame["all"] = total.to_numpy()
        ages = _age_columns(columns)
        if ages is not None:
            for age, column in ages.items():
                frame[age] = _parse_counts(table[column], rows, column, where, report, strict=True).to_numpy()
        elif sex != "males":
            report.warn(
                where,
                "no single-year age columns 0 … 90+ found, so age-based denominators (females 16+, "
                "children 0-17) cannot be derived from this sheet.",
            )
        parsed[sex] = frame.set_index(AREA_CODE)
        if "name" in keys:
            names.update(zip(codes, table[keys["name"]].astype(str).str.strip(), strict=True))
        for code, row in zip(codes, rows.astype(int), strict=True):
            rows_by_code.setdefault(code, row)
    if not ok:
        return None

    def age_sum(frame: pd.DataFrame, first: int, last: int) -> pd.Series | None:
        wanted = list(range(first, last + 1))
        if not all(a in frame.columns for a in wanted):
            return None
        return frame[wanted].sum(axis=1, min_count=len(wanted))

    codes_in_order = list(dict.fromkeys(c for f in parsed.values() for c in f.index))
    out = pd.DataFrame({AREA_CODE: codes_in_order}).set_index(AREA_CODE, drop=False)
    persons = parsed.get("persons")
    females = parsed.get("females")
    males = parsed.get("males")
    if persons is not None:
        out["all_persons"] = persons["all"]
        sources["all_persons"] = f"'{sheets['persons']}' All ages"
        children = age_sum(persons, 0, 17)
        if children is not None:
            out["persons_0_17"] = children
            sources["persons_0_17"] = f"'{sheets['persons']}' ages 0-17"
    elif females is not None and males is not None:
        out["all_persons"] = females["all"] + males["all"]
        sources["all_persons"] = f"'{sheets['females']}' + '{sheets['males']}' All ages"
        f_children, m_children = age_sum(females, 0, 17), age_sum(males, 0, 17)
        if f_children is not None and m_children is not None:
            out["persons_0_17"] = f_children + m_children
            sources["persons_0_17"] = f"'{sheets['females']}' + '{sheets['males']}' ages 0-17"
    if females is not None:
        out["females"] = females["all"]
        sources["females"] = f"'{sheets['females']}' All ages"
        adults = age_sum(females, 16, 90)
        if adults is not None:
            out["females_16_plus"] = adults
            sources["females_16_plus"] = f"'{sheets['females']}' ages 16-90+"
    if males is not None:
        out["males"] = males["all"]
        sources["males"] = f"'{sheets['males']}' All ages"
    # Columns in the vocabulary's order, then the rest.
    order = [d for d in config.denominators if d in out.columns]
    order += [c for c in out.columns if c not in order and c != AREA_CODE]
    out = out[[AREA_CODE, *order]].reset_index(drop=True)
    for column in order:
        out[column] = out[column].astype(float)
    _warn_missing_denominators([d for d in config.denominators if d in out.columns], config, label, report)
    out.attrs["column_sources"] = {AREA_CODE: "Code", **sources}
    out.attrs["rows"] = rows_by_code
    out.attrs["area_names"] = names
    out.attrs["layout"] = "ons_mye"
    return out


# --------------------------------------------------------------------------- from boundaries


def population_from_boundaries(areas: gpd.GeoDataFrame, config: Config) -> pd.DataFrame | None:
    """Denominator columns carried in the boundary file (by id or alias), or None if none are.

    Only columns that match a denominator are taken: boundary files carry other numbers
    (object ids, centroid coordinates, areas in m²) that are not populations.
    """
    keys = {header_key(c): c for c in areas.columns if c not in (AREA_CODE, AREA_NAME, areas.geometry.name)}
    out = pd.DataFrame({AREA_CODE: areas[AREA_CODE].astype(str).to_numpy()})
    sources: dict[str, str] = {AREA_CODE: AREA_CODE}
    for denominator, aliases in config.denominator_aliases().items():
        candidates = list(
            dict.fromkeys(keys[header_key(n)] for n in (denominator, *aliases) if header_key(n) in keys)
        )
        if not candidates:
            continue
        column = choose_column(denominator, candidates, config)
        values = pd.to_numeric(areas[column], errors="coerce").astype(float)
        values = values.where(np.isfinite(values))  # an infinite count is no count
        if values.notna().any():
            out[denominator] = values.to_numpy()
            sources[denominator] = column
    if len(sources) == 1:
        return None
    out.attrs["column_sources"] = sources
    return out


# --------------------------------------------------------------------------- coverage

#: Beyond this many, missing areas are summarised in one warning instead of one each.
_MAX_LISTED = 10


def check_population_coverage(
    areas: gpd.GeoDataFrame, population: pd.DataFrame, report: ValidationReport, *, file: str
) -> None:
    """Warn about areas without a population row and population rows without an area."""
    area_codes = areas[AREA_CODE].astype(str)
    pop_codes = set(population[AREA_CODE].astype(str))
    names = dict(zip(area_codes, areas[AREA_NAME].astype(str), strict=True)) if AREA_NAME in areas else {}
    missing = [c for c in area_codes if c not in pop_codes]
    if 0 < len(missing) <= _MAX_LISTED:
        for code in missing:
            report.warn(
                file,
                f"area {code} ({names.get(code, '?')}) has no population row: benchmarks will show "
                "'no data' for it.",
            )
    elif missing:
        listed = ", ".join(f"{c} ({names.get(c, '?')})" for c in missing[:_MAX_LISTED])
        report.warn(
            file,
            f"{len(missing)} of {len(area_codes)} areas have no population row ({listed}, …): benchmarks "
            "will show 'no data' for them. Are the boundaries and the population of the same year "
            "(e.g. LAD 2024 codes in both)?",
        )
    area_set = set(area_codes)
    orphans = [c for c in population[AREA_CODE].astype(str) if c not in area_set]
    if orphans:
        rows = population.attrs.get("rows", {})
        listed = ", ".join(f"{c} (row {rows[c]})" if c in rows else c for c in orphans[:_MAX_LISTED]) + (
            ", …" if len(orphans) > _MAX_LISTED else ""
        )
        report.warn(
            file,
            f"{len(orphans)} population row(s) match no area in the boundaries and are not used: {listed}.",
        )
    # Zero denominators make every ratio undefined: say so once per column.
    present = population[population[AREA_CODE].astype(str).isin(area_set)]
    for column in present.columns:
        if column == AREA_CODE or not pd.api.types.is_numeric_dtype(present[column]):
            continue
        zero = present.loc[np.isclose(present[column].fillna(-1), 0.0), AREA_CODE].astype(str).tolist()
        if zero:
            report.warn(
                file,
                f"`{column}` is 0 for {', '.join(zero[:_MAX_LISTED])}: benchmarks per {column} cannot be "
                "scored there.",
                column=column,
            )
