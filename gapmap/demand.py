"""Need against provision: demand tables and the benchmarks that read them.

A *demand table* (CSV or Excel) has one row per area and period: `area_code` (a GSS code at
any level gapmap knows: district or unitary E06/E07/E08/E09, county E10, police force area E23,
region E12), `period` (e.g. "2024-25"), an optional `area_name`, and one column per demand
measure of the vocabulary's `[demand_measures]` (marac_cases, police_da_crimes, ...). It is read
through `gapmap.tables.read_table` and every problem is reported with file, row, column and how
to fix it (`GapmapInputError` / `ValidationReport`).

Demand benchmarks (`[[demand_benchmarks]]` in the vocabulary, or per profile) turn it into rows
that sit beside the population rows of `gaps` with `basis = "demand"`:

- kind "required": required = measure / per_unit (Idva FTE = Marac cases / 100), provided = the
  capacity in `unit` of the services of `service_types` serving the area (shared exactly as the
  population benchmark with the same service types shares it, else by the engine's assignment
  weights);
- kind "expected": expected = denominator x target / per (40 Marac cases per 10,000 women 16+),
  observed = the measure; ratio = observed / expected, read in words as under-identification
  (below `low_at`) or pressure (above `high_at`);
- kind "unmet": the measure itself, or its share of another (`of`), for information.

Levels are never mixed silently: a demand figure for a police force area is not split between
its districts. When the table's areas are coarser than the areas being scored, `demand_rows`
refuses with a message saying to score at that level (`--level pfa`).

Per-service activity (`referrals`, `referrals_declined`, `waiting_list` on the service list) is
summed to areas by `service_activity_rows`: a service serving several areas is shared between
them by the engine's assignment weights (population shares), so the totals are conserved.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapmap.config import Config, ConfigError, Profile
from gapmap.errors import GapmapInputError, Problem, ValidationReport
from gapmap.geography import LEVEL_LABELS
from gapmap.geography import LEVELS as GEOGRAPHY_LEVELS
from gapmap.tables import ROW_COLUMN, header_key, read_table
from gapmap.wording import number, percent, unit_label

#: GSS code prefix -> level. E06 unitaries are districts and tier-one authorities at once.
LEVEL_BY_PREFIX: dict[str, str] = {
    "E06": "district",
    "E07": "district",
    "E08": "district",
    "E09": "district",
    "W06": "district",
    "E10": "tier1",
    "E23": "pfa",
    "E12": "region",
}
#: Finest first (a level later in the tuple is coarser), and their words: the geography
#: module's, so a demand message names levels exactly as `--level` and every output do.
LEVELS: tuple[str, ...] = GEOGRAPHY_LEVELS
LEVEL_WORDS: dict[str, str] = {**LEVEL_LABELS, "district": "district or unitary authority"}

DEMAND_CODE_ALIASES: tuple[str, ...] = ("area_code", "code", "gss_code", "area", "ons_code")
DEMAND_NAME_ALIASES: tuple[str, ...] = ("area_name", "name")
PERIOD_ALIASES: tuple[str, ...] = ("period", "year", "financial_year")

#: Per-service activity columns a service list may carry (summed to areas).
ACTIVITY_COLUMNS: tuple[str, ...] = ("referrals", "referrals_declined", "waiting_list")

#: Statuses of demand rows beyond the engine's green/amber/red/no_data.
INFO_STATUS = "info"

_CODE_RE = re.compile(r"^[EW]\d{8}$")
KINDS = ("required", "expected", "unmet")


def area_level(code: str) -> str | None:
    """The level of a GSS code from its prefix ('E23000001' -> 'pfa'), None if unknown."""
    return LEVEL_BY_PREFIX.get(str(code).strip().upper()[:3])


@dataclass(frozen=True)
class DemandBenchmark:
    """One demand-based benchmark (see the module docstring for the kinds)."""

    id: str
    kind: str
    label: str
    measure: str
    source: str
    per_unit: float | None = None
    service_types: tuple[str, ...] = ()
    unit: str = ""
    target: float | None = None
    per: float | None = None
    denominator: str | None = None
    low_at: float = 0.8
    high_at: float = 1.2
    of: str | None = None
    summable: bool = True

    def describe(self, config: Config | None = None) -> str:
        """A one-line definition, e.g. 'Marac cases / 100 per fte'."""
        m = self.measure.replace("_", " ")
        if self.kind == "required":
            return f"{m} / {number(self.per_unit)} per {unit_label(self.unit) or 'unit'}"
        if self.kind == "expected":
            label = self.denominator or ""
            if config is not None and self.denominator in config.denominators:
                label = config.denominators[self.denominator].get("label", label)
            return f"{number(self.target)} {m} per {number(self.per)} {label}"
        return f"{m} as a share of {self.of.replace('_', ' ')}" if self.of else m


def demand_benchmarks(profile: Profile, config: Config) -> list[DemandBenchmark]:
    """Parse and check the profile's demand benchmarks; ConfigError lists every problem."""
    problems: list[Problem] = []
    out: list[DemandBenchmark] = []
    seen: set[str] = set()
    for raw in profile.demand_benchmarks:
        bid = str(raw.get("id", ""))
        where = f"demand benchmark `{bid or '?'}` of profile `{profile.id}`"

        def err(msg: str, where: str = where) -> None:
            problems.append(Problem(config.source, f"{where}: {msg}"))

        if not bid:
            err("needs an `id`")
        elif bid in seen:
            err("the id is used twice; give each demand benchmark its own id")
        seen.add(bid)
        kind = raw.get("kind")
        if kind not in KINDS:
            err(f"`kind` is {kind!r}; expected one of: {', '.join(KINDS)}")
            continue
        measure = raw.get("measure")
        if measure not in config.demand_measures:
            err(f"`measure` is {measure!r}; expected one of: {', '.join(config.demand_measures)}")
        if not raw.get("source"):
            err("needs a `source` (publisher, title, year) so readers can check the figure")
        numbers: dict[str, float | None] = {}
        needed = {"required": ("per_unit",), "expected": ("target", "per"), "unmet": ()}[kind]
        for key in ("per_unit", "target", "per", "low_at", "high_at"):
            v = raw.get(key)
            if v is None:
                numbers[key] = None
                if key in needed:
                    err(f"needs `{key}` (a number greater than zero)")
            elif not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                err(f"`{key}` is {v!r}; it must be a number greater than zero")
                numbers[key] = None
            else:
                numbers[key] = float(v)
        if kind == "expected" and raw.get("denominator") not in config.denominators:
            known = ", ".join(config.denominators)
            err(f"`denominator` is {raw.get('denominator')!r}; expected one of: {known}")
        types = tuple(str(t) for t in raw.get("service_types", []) or [])
        for t in types:
            if t not in config.service_types:
                err(f"`service_types` has unknown type `{t}`")
        of = raw.get("of")
        if of is not None and of not in config.demand_measures:
            err(f"`of` is {of!r}; expected one of: {', '.join(config.demand_measures)}")
        out.append(
            DemandBenchmark(
                id=bid,
                kind=kind,
                label=str(raw.get("label", bid)),
                measure=str(measure),
                source=str(raw.get("source", "")),
                per_unit=numbers["per_unit"],
                service_types=types,
                unit=str(raw.get("unit", "")),
                target=numbers["target"],
                per=numbers["per"],
                denominator=raw.get("denominator"),
                low_at=numbers["low_at"] or 0.8,
                high_at=numbers["high_at"] or 1.2,
                of=of,
                summable=bool(raw.get("summable", True)),
            )
        )
    if problems:
        raise ConfigError(problems)
    return out


# --------------------------------------------------------------------------- reading


@dataclass
class DemandTable:
    """A validated demand table.

    Attributes
    ----------
    frame
        area_code, area_name, period, level, one float column per measure given (NaN = blank),
        and `__row__` (the analyst's row number).
    file
        The file name used in messages and outputs.
    measures
        The measure columns present, in vocabulary order.
    """

    frame: pd.DataFrame
    file: str
    measures: list[str] = field(default_factory=list)

    @property
    def levels(self) -> list[str]:
        present = set(self.frame["level"])
        return [lv for lv in LEVELS if lv in present]

    @property
    def periods(self) -> list[str]:
        return sorted(set(self.frame["period"]))

    def latest(self) -> str | None:
        """The latest period (periods sort as text: '2023-24' < '2024-25')."""
        return self.periods[-1] if len(self.frame) else None


def _match(headers: list[str], aliases: tuple[str, ...]) -> str | None:
    keys = {header_key(h).replace(" ", "_"): h for h in headers}
    return next((keys[a] for a in aliases if a in keys), None)


def validate_demand_table(
    table: pd.DataFrame, *, file: str, config: Config, report: ValidationReport
) -> DemandTable | None:
    """Check a demand table of text cells (from `read_table`); None when it has errors.

    Every problem goes into `report` with the row and column an analyst sees.
    """
    errors_before = len(report.errors)
    headers = [c for c in table.columns if c != ROW_COLUMN]
    code_col = _match(headers, DEMAND_CODE_ALIASES)
    name_col = _match(headers, DEMAND_NAME_ALIASES)
    period_col = _match(headers, PERIOD_ALIASES)
    measures = list(config.demand_measures)
    measure_cols: dict[str, str] = {}
    for h in headers:
        key = header_key(h).replace(" ", "_")
        if key in config.demand_measures:
            measure_cols[key] = h
        elif h not in (code_col, name_col, period_col) and key and not key.startswith("unnamed"):
            close = difflib.get_close_matches(key, measures, n=1, cutoff=0.75)
            hint = f"did you mean `{close[0]}`? " if close else ""
            report.warn(
                file,
                f"column `{h}` is not a demand measure and is ignored; {hint}"
                f"measures gapmap knows: {', '.join(measures)} (see [demand_measures] in the vocabulary).",
                column=h,
            )
    if code_col is None:
        report.error(
            file,
            "no `area_code` column; give each row the GSS code of its area (e.g. E07000129 for a "
            "district, E23000021 for a police force area).",
        )
    if period_col is None:
        report.error(file, "no `period` column; give each row the period its figures cover, e.g. 2024-25.")
    if not measure_cols:
        report.error(
            file,
            "no demand measure columns; add at least one of: " + ", ".join(measures) + ".",
        )
    if len(report.errors) > errors_before:
        return None

    rows = pd.to_numeric(table[ROW_COLUMN], errors="coerce").fillna(0).astype(int).to_numpy()
    codes = table[code_col].astype(str).str.strip().str.upper()
    periods = table[period_col].astype(str).str.strip()
    names = table[name_col].astype(str).str.strip() if name_col else pd.Series([""] * len(table))
    blank = (codes == "") & (periods == "")
    for h in measure_cols.values():
        blank &= table[h].astype(str).str.strip() == ""
    levels: list[str] = []
    for i, (code, period) in enumerate(zip(codes, periods, strict=True)):
        if blank.iat[i]:
            levels.append("")
            continue
        level = area_level(code) if _CODE_RE.match(code) else None
        if not code:
            report.error(
                file, "`area_code` is blank; give the area's GSS code.", row=rows[i], column=code_col
            )
        elif level is None:
            report.error(
                file,
                f"`{code}` is not a GSS code gapmap knows; use a district/unitary (E06, E07, E08, E09), "
                "county (E10), police force area (E23) or region (E12) code, 9 characters.",
                row=rows[i],
                column=code_col,
            )
        if not period:
            report.error(
                file, "`period` is blank; write the period, e.g. 2024-25.", row=rows[i], column=period_col
            )
        levels.append(level or "")
    values: dict[str, np.ndarray] = {}
    for measure, h in measure_cols.items():
        text = table[h].astype(str).str.strip().str.replace(",", "", regex=False)
        nums = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float).to_numpy()
        for i in np.flatnonzero((text != "").to_numpy() & ~np.isfinite(nums)).tolist():
            report.error(
                file,
                f"`{table[h].iat[i]}` is not a number; write a number (no units or words), "
                "or leave it blank.",
                row=rows[i],
                column=h,
            )
        with np.errstate(invalid="ignore"):
            negative = nums < 0
        for i in np.flatnonzero(negative).tolist():
            report.error(file, f"`{table[h].iat[i]}` is negative; counts cannot be.", row=rows[i], column=h)
        values[measure] = nums
    keep = ~blank.to_numpy()
    key = codes + "\x00" + periods
    dup = key.duplicated(keep="first") & keep
    first_row = dict(zip(key[~key.duplicated()], rows[~key.duplicated().to_numpy()], strict=True))
    for i in np.flatnonzero(dup.to_numpy()).tolist():
        report.error(
            file,
            f"area `{codes.iat[i]}` has a second row for period {periods.iat[i]} (first at row "
            f"{first_row[key.iat[i]]}); keep one row per area and period.",
            row=rows[i],
            column=code_col,
        )
    if keep.sum() == 0:
        report.error(file, "the table has a header row but no data; add one row per area and period.")
    if len(report.errors) > errors_before:
        return None
    frame = pd.DataFrame(
        {
            "area_code": codes.to_numpy(dtype=object),
            "area_name": names.to_numpy(dtype=object),
            "period": periods.to_numpy(dtype=object),
            "level": np.array(levels, dtype=object),
            **{m: values[m] for m in measures if m in values},
            ROW_COLUMN: rows,
        }
    )[keep].reset_index(drop=True)
    return DemandTable(frame=frame, file=file, measures=[m for m in measures if m in values])


def load_demand(
    path: Path | str | None,
    config: Config,
    *,
    content: bytes | None = None,
    name: str | None = None,
    report: ValidationReport | None = None,
) -> DemandTable:
    """Read and validate a demand table (CSV/XLSX); raise GapmapInputError listing every problem.

    Warnings (ignored columns) stay in `report` when one is given.
    """
    report = report if report is not None else ValidationReport()
    label = name or (Path(path).name if path is not None else "demand")
    expected = [*DEMAND_CODE_ALIASES, *PERIOD_ALIASES, *config.demand_measures]
    table = read_table(
        path, role="demand table", report=report, content=content, name=label, expected_columns=expected
    )
    result = None if table is None else validate_demand_table(table, file=label, config=config, report=report)
    if result is None:
        report.raise_if_errors()
        raise GapmapInputError("the demand table could not be read.", file=label)  # pragma: no cover
    return result


# --------------------------------------------------------------------------- scoring

#: Columns of the rows `demand_rows` returns (the engine's gap columns plus the demand ones).
DEMAND_EXTRA_COLUMNS: tuple[str, ...] = ("basis", "period", "reading")


def _is_unitary(code: str) -> bool:
    return str(code).upper().startswith("E06")


def _level_of_areas(codes: list[str]) -> str | None:
    """The level being scored. Counties beside unitaries (E10 + E06) are tier-one authorities."""
    levels = {area_level(c) for c in codes if not _is_unitary(c)}
    levels.discard(None)
    if not levels:
        return "district" if any(_is_unitary(c) for c in codes) else None
    return min(levels, key=LEVELS.index)


def check_levels(demand: DemandTable, scoring_codes: list[str]) -> list[str]:
    """Refuse a demand table whose areas are coarser than the areas being scored.

    Returns notes (e.g. rows outside the selection); raises GapmapInputError when any row is
    at a coarser level than the scoring level: its figure would have to be split between areas
    and gapmap never does that silently.
    """
    scoring = _level_of_areas(scoring_codes)
    notes: list[str] = []
    if scoring is None:
        return notes
    coarser = demand.frame[demand.frame["level"].map(lambda lv: LEVELS.index(lv) > LEVELS.index(scoring))]
    if len(coarser):
        level = coarser["level"].iat[0]
        examples = ", ".join(list(dict.fromkeys(coarser["area_code"].astype(str)))[:3])
        flag = {"tier1": "tier1", "pfa": "pfa", "region": "region"}[level]
        raise GapmapInputError(
            [
                Problem(
                    demand.file,
                    f"{len(coarser)} row(s) give figures for a {LEVEL_WORDS[level]} ({examples}), but "
                    f"gapmap is scoring each {LEVEL_WORDS[scoring]}. A {LEVEL_WORDS[level]} figure is not "
                    f"split between its areas silently: score at that level (`--level {flag}`), or give "
                    f"one row per {LEVEL_WORDS[scoring]}.",
                    row=int(coarser[ROW_COLUMN].iat[0]),
                    column="area_code",
                )
            ]
        )
    # A unitary (E06) is a district and a tier-one authority at once: never finer than tier one.
    finer_level = demand.frame["level"].map(lambda lv: LEVELS.index(lv) < LEVELS.index(scoring))
    unitary = demand.frame["area_code"].map(_is_unitary)
    finer = demand.frame[finer_level & ~(unitary & (scoring == "tier1"))]
    if len(finer):
        notes.append(
            f"{demand.file}: {len(finer)} row(s) are for a finer level "
            f"({LEVEL_WORDS[finer['level'].iat[0]]}) "
            f"than the areas scored ({LEVEL_WORDS[scoring]}) and were not used; score at that level."
        )
    return notes


def _provided(
    analysis: Any, services: pd.DataFrame, bench: DemandBenchmark, codes: np.ndarray
) -> tuple[np.ndarray, str]:
    """Capacity of the benchmark's service types reaching each area, and how it was shared."""
    if not bench.service_types:
        return np.full(len(codes), np.nan), "not recorded on the service list"
    # Same sharing as the population benchmark counting the same services, so one district never
    # shows two different Idva FTE figures.
    for b in analysis.profile.benchmarks:
        if b.scope == "area" and set(b.service_types) == set(bench.service_types) and b.unit == bench.unit:
            rows = analysis.gaps[analysis.gaps["benchmark_id"] == b.id].set_index("area_code")["provided"]
            return rows.reindex(codes).to_numpy(dtype=float), f"shared as benchmark `{b.id}` shares it"
    svc = pd.DataFrame(services, copy=False)
    cap = pd.to_numeric(svc["capacity"], errors="coerce")
    unit_ok = (svc["capacity_unit"].astype(str) == "") | (svc["capacity_unit"].astype(str) == bench.unit)
    keep = svc["service_type"].isin(bench.service_types) & unit_ok & cap.notna()
    value = pd.Series(cap[keep].to_numpy(), index=svc.loc[keep, "service_id"].astype(str))
    a = analysis.assignments
    contrib = a["service_id"].astype(str).map(value).fillna(0.0) * a["weight"].astype(float)
    per_area = contrib.groupby(a["area_code"].astype(str), observed=True).sum()
    return per_area.reindex(codes).fillna(0.0).to_numpy(dtype=float), "shared by population"


def demand_rows(
    analysis: Any,
    demand: DemandTable,
    services: pd.DataFrame,
    population: pd.DataFrame,
    config: Config,
    *,
    period: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Rows of every demand benchmark of the analysis's profile, shaped like `analysis.gaps`.

    Parameters
    ----------
    analysis
        The population analysis (`engine.analyse`): its selection, profile and assignments.
    demand
        A validated demand table.
    services, population
        The frames the analysis was computed from.
    period
        The period to use; None for the latest in the table.

    Returns
    -------
    (rows, notes): rows have the engine's gap columns plus basis ("demand"), period and
    reading (words), one row per selected area and an `ALL` row per benchmark. Notes say which
    period was used and which rows were not.
    """
    from gapmap.engine import ALL_CODE, ALL_NAME, GAPS_COLUMNS

    codes = np.array(analysis.selection, dtype=object)
    notes = check_levels(demand, list(codes))
    period = period or demand.latest()
    frame = demand.frame[demand.frame["period"] == period]
    if period not in demand.periods:
        raise GapmapInputError(
            f"period {period} is not in the demand table; periods given: {', '.join(demand.periods)}.",
            file=demand.file,
        )
    if len(demand.periods) > 1:
        others = ", ".join(p for p in demand.periods if p != period)
        notes.append(f"{demand.file}: period {period} used (the table also has {others}).")
    by_code = frame.set_index("area_code")
    matched = [c for c in codes if c in by_code.index]
    if not matched:
        notes.append(f"{demand.file}: no row for period {period} matches a selected area; no demand rows.")
    names = _area_names(analysis, codes)
    pop = population.set_index("area_code") if "area_code" in population.columns else population

    def measure(m: str | None) -> np.ndarray:
        if m is None or m not in by_code.columns:
            return np.full(len(codes), np.nan)
        return by_code[m].reindex(codes).to_numpy(dtype=float)

    out: list[pd.DataFrame] = []
    for bench in demand_benchmarks(analysis.profile, config):
        if bench.measure not in demand.measures or (bench.of and bench.of not in demand.measures):
            continue
        m = measure(bench.measure)
        has = np.isfinite(m)
        reading = np.full(len(codes), "", dtype=object)
        if bench.kind == "required":
            base = m
            required = m / bench.per_unit
            provided, how = _provided(analysis, services, bench, codes)
            req_all = np.nansum(required[has]) if has.any() else np.nan
            prov_all = np.nansum(provided[has]) if bench.service_types and has.any() else np.nan
            unit = unit_label(bench.unit) or "units"
            for i in range(len(codes)):
                if not has[i]:
                    reading[i] = "no demand figure for this area"
                elif not bench.service_types:
                    reading[i] = (
                        f"{number(required[i])} {unit} needed; provision is not recorded on the service list"
                    )
                else:
                    gap = required[i] - provided[i]
                    cases = f"{number(m[i])} {bench.measure.replace('_', ' ')}"
                    reading[i] = (
                        f"{number(gap)} {unit} short of what {cases} need"
                        if gap > 0
                        else f"enough for {cases}"
                    )
            short = np.where(has, np.maximum(required - provided, 0.0), np.nan)
            if not bench.service_types:
                short = np.full(len(codes), np.nan)
            base_all = np.nansum(m[has]) if has.any() else np.nan
            short_all = max(req_all - prov_all, 0.0) if np.isfinite(prov_all) else np.nan
            notes.append(f"Demand benchmark `{bench.id}`: provision {how}.")
        elif bench.kind == "expected":
            d = (
                pop[bench.denominator].reindex(codes).to_numpy(dtype=float)
                if bench.denominator in pop.columns
                else np.full(len(codes), np.nan)
            )
            base = d
            # Both are required of an "expected" benchmark when the vocabulary is read.
            target, per = bench.target or 0.0, bench.per or 1.0
            required = d * target / per
            provided = m
            has = has & np.isfinite(d)
            short = np.full(len(codes), np.nan)
            req_all = np.nansum(required[has]) if has.any() else np.nan
            prov_all = np.nansum(m[has]) if has.any() else np.nan
            base_all = np.nansum(d[has]) if has.any() else np.nan
            short_all = np.nan
        else:
            base = measure(bench.of) if bench.of else np.full(len(codes), np.nan)
            required = np.full(len(codes), np.nan)
            provided = m
            short = np.full(len(codes), np.nan)
            req_all = np.nan
            prov_all = np.nansum(m[has]) if has.any() and bench.summable else np.nan
            base_all = np.nansum(base[has]) if bench.of and has.any() else np.nan
            short_all = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            if bench.kind == "unmet":
                ratio = (
                    np.where(has & (base > 0), m / base, np.nan) if bench.of else np.full(len(codes), np.nan)
                )
                ratio_all = prov_all / base_all if bench.of and base_all and base_all > 0 else np.nan
            else:
                ratio = np.where(has & (required > 0), provided / required, np.nan)
                ratio_all = prov_all / req_all if np.isfinite(req_all) and req_all > 0 else np.nan
        status = [_status(bench, config, r, h) for r, h in zip(ratio, has, strict=True)]
        status_all = _status(bench, config, ratio_all, bool(has.any()))
        for i in range(len(codes)):
            reading[i] = reading[i] or _reading(bench, ratio[i], has[i], m[i])
        reading_all = _reading(bench, ratio_all, bool(has.any()), prov_all)
        if not bench.summable:
            reading_all = "not added up across areas (a median has no total)"
        if bench.kind == "required" and has.any():
            gap_all = req_all - (prov_all if np.isfinite(prov_all) else 0)
            reading_all = (
                f"{number(req_all)} {unit_label(bench.unit)} needed; provision not recorded"
                if not bench.service_types
                else f"{number(gap_all)} {unit_label(bench.unit)} short"
                if gap_all > 0
                else "enough in total"
            )
        block = pd.DataFrame(
            {
                "area_code": np.append(codes, ALL_CODE),
                "area_name": np.append(names, ALL_NAME),
                "benchmark_id": bench.id,
                "benchmark_label": bench.label,
                "denominator": np.append(base, base_all),
                "denominator_source": _base_source(analysis, bench, demand, period),
                "required": np.append(required, req_all),
                "provided": np.append(provided, prov_all),
                "ratio": np.append(ratio, ratio_all),
                "shortfall": np.append(short, short_all),
                "status": [*status, status_all],
                "unmeasured_services": 0,
                "withheld_confidential": 0,
                "basis": "demand",
                "period": period,
                "reading": np.append(reading, reading_all),
            }
        )
        out.append(block)
    columns = list(dict.fromkeys([*GAPS_COLUMNS, *DEMAND_EXTRA_COLUMNS]))
    if not out:
        return pd.DataFrame(columns=columns), notes
    rows = pd.concat(out, ignore_index=True)
    return rows[columns], notes


def _base_source(analysis: Any, bench: DemandBenchmark, demand: DemandTable, period: str) -> str:
    """What the `denominator` column of a demand row holds, and where it came from."""
    if bench.kind == "expected":
        # The population column the engine used for the same denominator, with its vintage.
        for entry in (analysis.summary.get("benchmarks") or {}).values():
            if entry.get("denominator") == bench.denominator and entry.get("denominator_source"):
                return str(entry["denominator_source"])
        return str(bench.denominator)
    measure = bench.measure if bench.kind == "required" else bench.of
    return f"{measure} ({demand.file}, {period})" if measure else ""


def _status(bench: DemandBenchmark, config: Config, ratio: float, has: bool) -> str:
    if not has:
        return "no_data"
    if bench.kind == "unmet":
        return INFO_STATUS
    if bench.kind == "expected":
        if not math.isfinite(ratio):
            return "no_data"
        # Not "met"/"not met": fewer cases than expected may mean under-identification, more
        # may mean pressure; neither is good or bad on its own, so the words say which.
        return "low" if ratio < bench.low_at else "high" if ratio > bench.high_at else "expected"
    if not bench.service_types or not math.isfinite(ratio):
        return INFO_STATUS if has else "no_data"
    return config.status_for(ratio)


def _reading(bench: DemandBenchmark, ratio: float, has: bool, value: float) -> str:
    """The row's meaning in words (the status colour alone never carries it)."""
    if not has:
        return "no demand figure for this area"
    if bench.kind == "expected":
        if not math.isfinite(ratio):
            return "no population figure to set the cases against"
        pct = f"{percent(ratio)} of the expected volume"
        if ratio < bench.low_at:
            return f"under-identification: {pct}; high-risk cases may be going unrecognised"
        if ratio > bench.high_at:
            return f"pressure: {pct}; more cases than expected for the population"
        return f"as expected: {pct}"
    if bench.kind == "unmet":
        if bench.of:
            return f"{percent(ratio)} declined" if math.isfinite(ratio) else "no referrals recorded"
        return number(value) if math.isfinite(value) else ""
    return ""


# --------------------------------------------------------------------------- service activity


def service_activity(analysis: Any, services: pd.DataFrame) -> pd.DataFrame:
    """Per-service activity (referrals, referrals_declined, waiting_list) summed to areas.

    A service serving several areas is shared by the engine's assignment weights (population
    shares), so each column's total over the dataset equals the services' total. Returns
    area_code and one column per activity column the service list has (NaN: none given).
    """
    present = [c for c in ACTIVITY_COLUMNS if c in services.columns]
    codes = list(analysis.selection)
    out: dict[str, Any] = {"area_code": codes}
    if not present:
        return pd.DataFrame(out)
    svc = pd.DataFrame(services, copy=False)
    ids_index = svc["service_id"].astype(str).to_numpy()
    a = analysis.assignments
    ids = a["service_id"].astype(str)
    for col in present:
        value = pd.Series(pd.to_numeric(svc[col], errors="coerce").to_numpy(), index=ids_index)
        contrib = ids.map(value) * a["weight"].astype(float)
        per_area = contrib.groupby(a["area_code"].astype(str), observed=True).sum(min_count=1)
        out[col] = per_area.reindex(codes).to_numpy(dtype=float)
    return pd.DataFrame(out)


def activity_rows(analysis: Any, services: pd.DataFrame, period: str = "") -> pd.DataFrame:
    """Unmet-need rows from the services' own activity columns, shaped like `demand_rows`.

    `services_declined_share` = referrals declined / referrals; `services_waiting_list` = the
    people waiting, both summed to areas by `service_activity`. Empty when the list has neither.
    """
    from gapmap.engine import ALL_CODE, ALL_NAME, GAPS_COLUMNS

    columns = list(dict.fromkeys([*GAPS_COLUMNS, *DEMAND_EXTRA_COLUMNS]))
    act = service_activity(analysis, services)
    codes = act["area_code"].to_numpy(dtype=object)
    names = None  # looked up for the first block: most service lists have no activity columns
    blocks = []
    specs = [
        (
            "services_declined_share",
            "Share of referrals declined (services' own figures)",
            "referrals_declined",
            "referrals",
        ),
        ("services_waiting_list", "People on services' waiting lists", "waiting_list", None),
    ]
    for bid, label, col, of in specs:
        if col not in act.columns or (of and of not in act.columns):
            continue
        v = act[col].to_numpy(dtype=float)
        has = np.isfinite(v)
        if not has.any():
            continue
        if names is None:
            names = _area_names(analysis, codes)
        base = act[of].to_numpy(dtype=float) if of else np.full(len(codes), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(has & (base > 0), v / base, np.nan) if of else np.full(len(codes), np.nan)
        v_all = float(np.nansum(v))
        base_all = float(np.nansum(base[has])) if of else np.nan
        ratio_all = v_all / base_all if of and base_all > 0 else np.nan
        reading = [
            (
                ""
                if not h
                else f"{percent(r)} declined"
                if of and np.isfinite(r)
                else f"{number(x)} waiting"
                if not of
                else ""
            )
            for h, r, x in zip([*has, True], [*ratio, ratio_all], [*v, v_all], strict=True)
        ]
        blocks.append(
            pd.DataFrame(
                {
                    "area_code": np.append(codes, ALL_CODE),
                    "area_name": np.append(names, ALL_NAME),
                    "benchmark_id": bid,
                    "benchmark_label": label,
                    "denominator": np.append(base, base_all),
                    "denominator_source": f"{of}: the service list's own figures" if of else "",
                    "required": np.nan,
                    "provided": np.append(v, v_all),
                    "ratio": np.append(ratio, ratio_all),
                    "shortfall": np.nan,
                    "status": [INFO_STATUS if h else "no_data" for h in [*has, True]],
                    "unmeasured_services": 0,
                    "withheld_confidential": 0,
                    "basis": "demand",
                    "period": period,
                    "reading": reading,
                }
            )
        )
    if not blocks:
        return pd.DataFrame(columns=columns)
    return pd.concat(blocks, ignore_index=True)[columns]


def with_demand(analysis: Any, rows: pd.DataFrame, notes: list[str] | None = None) -> Any:
    """A copy of `analysis` whose gaps hold the demand rows after the population rows.

    The summary gains `demand`: the benchmarks added (with definition and source) and notes.
    The analysis given is not changed.
    """

    if rows is None or rows.empty:
        return analysis
    gaps = pd.concat([analysis.gaps, rows[analysis.gaps.columns]], ignore_index=True)
    summary = dict(analysis.summary)
    entries = {}
    for bid, group in rows.groupby("benchmark_id", sort=False):
        entries[str(bid)] = {
            "label": str(group["benchmark_label"].iat[0]),
            "period": str(group["period"].iat[0]),
        }
    summary["demand"] = {"benchmarks": entries, "notes": list(notes or [])}
    return analysis.replace(gaps=gaps, summary=summary)


def demand_for(
    analysis: Any,
    services: pd.DataFrame,
    population: pd.DataFrame,
    config: Config,
    demand: DemandTable | None,
    *,
    period: str | None = None,
) -> tuple[Any, list[str]]:
    """`analysis` with every demand row it can have: the demand table's and the services' activity."""
    notes: list[str] = []
    parts = []
    if demand is not None:
        rows, notes = demand_rows(analysis, demand, services, population, config, period=period)
        parts.append(rows)
    act = activity_rows(analysis, services)
    if len(act):
        parts.append(act)
    parts = [p for p in parts if len(p)]
    if not parts:
        return analysis, notes
    full = with_demand(analysis, pd.concat(parts, ignore_index=True), notes)
    return mapped_profile(full, config), notes


def mapped_profile(analysis: Any, config: Config) -> Any:
    """`analysis` whose profile also lists its "required" demand benchmarks as area benchmarks.

    So the pack and the workbook draw a map and a sheet for them like any benchmark: Idva FTE
    needed reads as "1 per 100 Marac cases a year", exactly its definition (required = cases /
    100), and the rows are the demand rows already in `gaps`.
    """
    import dataclasses

    from gapmap.config import Benchmark

    present = set(analysis.gaps["benchmark_id"].astype(str))
    have = {b.id for b in analysis.profile.benchmarks}
    extra = []
    for b in demand_benchmarks(analysis.profile, config):
        if b.kind != "required" or not b.service_types or b.id not in present or b.id in have:
            continue
        measure_label = str(config.demand_measures.get(b.measure, {}).get("label", b.measure))
        extra.append(
            Benchmark(
                id=b.id,
                label=b.label,
                service_types=b.service_types,
                measure="capacity",
                unit=b.unit,
                source=b.source,
                scope="area",
                target=1.0,
                per=float(b.per_unit or 1.0),
                denominator=b.measure,
                denominator_label=f"{measure_label} a year",
            )
        )
    if not extra:
        return analysis
    profile = dataclasses.replace(analysis.profile, benchmarks=(*analysis.profile.benchmarks, *extra))
    summary = dict(analysis.summary)
    entries = dict(summary.get("benchmarks") or {})
    for added in extra:
        source = analysis.gaps.loc[analysis.gaps["benchmark_id"] == added.id, "denominator_source"]
        entries[added.id] = {
            "label": added.label,
            "basis": "demand",
            "definition": added.describe(),
            "source": added.source,
            "denominator_source": str(source.iat[0]) if len(source) else "",
        }
    summary["benchmarks"] = entries
    return analysis.replace(profile=profile, summary=summary)


def _area_names(analysis: Any, codes: Any) -> np.ndarray:
    """The names of `codes` as the analysis's gap rows spell them ("" for an unknown code)."""
    return (
        analysis.gaps.drop_duplicates("area_code")
        .set_index("area_code")["area_name"]
        .reindex(codes)
        .fillna("")
    ).to_numpy(dtype=object)
