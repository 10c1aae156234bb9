"""The interventions catalogue: evidence-rated options that would fill a gap, and their costs.

The catalogue is data (`interventions.toml`, from seed 002, the LLR rapid evidence review):
each intervention has tiers, cohorts, abuse types, an evidence-quality and an impact rating
(LOW / MODERATE / HIGH as the review defines them, quoted in the TOML header), the gapmap service
types that deliver it, and unit costs where the review gives one. A user's TOML adds entries or
replaces them by id.

- `match_intervention` / `match_services`: a service list's `intervention` column is matched to
  the catalogue by id, label or alias (case and punctuation ignored), with a did-you-mean warning.
- `options_for` / `patchwork_options`: every patchwork gap (area x tier x cohort) with the options
  whose tiers and cohorts cover it, strongest evidence first.
- `gap_costs`: the cost of the options with a unit cost, every assumption shown (unit cost, what
  it is per, year, source, quantity and where the quantity came from). Users may override unit
  costs with their own TOML or CSV (`load_unit_costs`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapmap.config import Config, ConfigError
from gapmap.errors import GapmapInputError, Problem, ValidationReport
from gapmap.tables import ROW_COLUMN, read_table
from gapmap.wording import money, number

CATALOGUE_NAME = "interventions.toml"
RATINGS: tuple[str, ...] = ("LOW", "LOW/MODERATE", "MODERATE", "MODERATE/HIGH", "HIGH")
#: Sort weight of a rating (higher is stronger).
RATING_RANK: dict[str, int] = {r: i for i, r in enumerate(RATINGS)}

#: Columns of `patchwork_options`.
OPTION_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "tier",
    "cohort",
    "intervention_id",
    "intervention",
    "evidence",
    "impact",
    "unit_cost",
    "cost_per",
    "citation",
)
#: Columns of `gap_costs`.
COST_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "gap",
    "option",
    "evidence",
    "impact",
    "unit_cost",
    "per",
    "cost_year",
    "quantity",
    "quantity_basis",
    "cost",
    "cost_source",
)


@dataclass(frozen=True)
class UnitCost:
    """One unit cost: `amount` pounds per `per`, for the year `year`, from `source`."""

    amount: float
    per: str
    year: int | None
    source: str
    quantity: float | None = None
    quantity_from: str | None = None
    quantity_share: float = 1.0


@dataclass(frozen=True)
class Intervention:
    id: str
    label: str
    summary: str
    tiers: tuple[str, ...]
    cohorts: tuple[str, ...]
    abuse_types: tuple[str, ...]
    evidence: str
    impact: str
    citation: str
    service_types: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    costs: tuple[UnitCost, ...] = ()
    cost_note: str = ""
    impact_note: str = ""

    @property
    def strength(self) -> tuple[int, int]:
        """Sort key: evidence first, then impact (higher is stronger)."""
        return RATING_RANK.get(self.evidence, -1), RATING_RANK.get(self.impact, -1)


@dataclass(frozen=True)
class Catalogue:
    source: str
    interventions: dict[str, Intervention] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.interventions.values())

    def __len__(self) -> int:
        return len(self.interventions)


def _key(text: object) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def _cost(raw: dict[str, Any], where: str, problems: list[Problem], file: str) -> UnitCost | None:
    amount = raw.get("amount")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount < 0:
        problems.append(
            Problem(file, f"{where}: cost `amount` is {amount!r}; give pounds as a number, e.g. 2970")
        )
        return None
    if not raw.get("per") or not raw.get("source"):
        problems.append(Problem(file, f"{where}: a cost needs `per` (what it is per) and `source`"))
        return None
    year = raw.get("year")
    return UnitCost(
        amount=float(amount),
        per=str(raw["per"]),
        year=int(year) if isinstance(year, int) else None,
        source=str(raw["source"]),
        quantity=float(raw["quantity"]) if isinstance(raw.get("quantity"), (int, float)) else None,
        quantity_from=raw.get("quantity_from"),
        quantity_share=float(raw.get("quantity_share", 1.0)),
    )


def _build(raw: dict[str, Any], file: str, config: Config | None) -> Catalogue:
    problems: list[Problem] = []
    out: dict[str, Intervention] = {}
    for iid, entry in raw.get("interventions", {}).items():
        where = f"[interventions.{iid}]"

        def lst(name: str, entry: dict[str, Any] = entry) -> tuple[str, ...]:
            v = entry.get(name, [])
            return (v,) if isinstance(v, str) else tuple(str(x) for x in v)

        for name in ("label", "citation"):
            if not entry.get(name):
                problems.append(Problem(file, f"{where}: `{name}` is missing; every entry needs one"))
        for name in ("evidence", "impact"):
            if entry.get(name) not in RATINGS:
                problems.append(
                    Problem(
                        file,
                        f"{where}: `{name}` is {entry.get(name)!r}; expected one of: {', '.join(RATINGS)}",
                    )
                )
        for name in ("tiers", "cohorts"):
            if not lst(name):
                problems.append(Problem(file, f"{where}: `{name}` is empty; give at least one"))
        if config is not None:
            for name, allowed in (
                ("tiers", config.tiers),
                ("cohorts", config.cohorts),
                ("abuse_types", config.abuse_types),
                ("service_types", config.service_types),
            ):
                for v in lst(name):
                    if v not in allowed:
                        problems.append(
                            Problem(
                                file,
                                f"{where}: `{name}` has unknown value `{v}`; expected one of: "
                                + ", ".join(allowed),
                            )
                        )
        costs = tuple(
            c
            for c in (_cost(c, where, problems, file) for c in entry.get("costs", []) or [])
            if c is not None
        )
        out[iid] = Intervention(
            id=iid,
            label=str(entry.get("label", iid)),
            summary=str(entry.get("summary", "")),
            tiers=lst("tiers"),
            cohorts=lst("cohorts"),
            abuse_types=lst("abuse_types"),
            evidence=str(entry.get("evidence", "")),
            impact=str(entry.get("impact", "")),
            citation=str(entry.get("citation", "")),
            service_types=lst("service_types"),
            aliases=lst("aliases"),
            costs=costs,
            cost_note=str(entry.get("cost_note", "")),
            impact_note=str(entry.get("impact_note", "")),
        )
    if not out:
        problems.append(Problem(file, "no [interventions.ID] entries; add at least one"))
    if problems:
        raise ConfigError(problems)
    return Catalogue(source=file, interventions=out)


def _default_raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("gapmap").joinpath(CATALOGUE_NAME).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue (seed 002)."""
    from gapmap.config import default_config

    return _build(_default_raw(), CATALOGUE_NAME, default_config())


def load_catalogue(path: Path | str | None = None, config: Config | None = None) -> Catalogue:
    """The packaged catalogue, with a user's TOML entries added or replacing by id."""
    if path is None:
        return default_catalogue()
    label = Path(path).name
    try:
        user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the interventions file: {exc}", file=label) from exc
    raw = _default_raw()
    raw.setdefault("interventions", {}).update(user.get("interventions", {}))
    return _build(raw, label, config)


# --------------------------------------------------------------------------- matching


def match_intervention(text: str, catalogue: Catalogue) -> tuple[str | None, str]:
    """The catalogue id for a service's `intervention` text, and a did-you-mean hint if none.

    Blank text gives (None, ""). Matching ignores case and punctuation and accepts the id,
    the label, the label before a bracket, or any alias.
    """
    key = _key(text)
    if not key:
        return None, ""
    names: dict[str, str] = {}
    for item in catalogue:
        for name in (item.id, item.label, item.label.split("(")[0], *item.aliases):
            names.setdefault(_key(name), item.id)
    if key in names:
        return names[key], ""
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
    return None, (f"did you mean `{catalogue.interventions[names[close[0]]].label}`? " if close else "")


def match_services(
    services: pd.DataFrame,
    catalogue: Catalogue,
    *,
    file: str = "service list",
    report: ValidationReport | None = None,
) -> pd.Series:
    """Catalogue ids for every service (None where blank or unknown); unknown names warn.

    The warning names the row and column and suggests the closest catalogue entry. A service
    whose intervention is unknown still counts in every figure; it just has no rating.
    """
    ids: list[str | None] = []
    cache: dict[str, tuple[str | None, str]] = {}
    rows = (
        services["source_row"] if "source_row" in services.columns else pd.Series(range(2, len(services) + 2))
    )
    for text, row in zip(services["intervention"].fillna("").astype(str), rows, strict=True):
        if text not in cache:
            cache[text] = match_intervention(text, catalogue)
        iid, hint = cache[text]
        ids.append(iid)
        if iid is None and text.strip() and report is not None:
            report.warn(
                file,
                f"intervention `{text}` is not in the interventions catalogue, so it has no evidence rating; "
                f"{hint}write one of the catalogue's names, or add it to your interventions file.",
                row=int(row),
                column="intervention",
            )
    return pd.Series(ids, index=services.index, dtype=object)


# --------------------------------------------------------------------------- options


def options_for(
    tier: str, cohort: str, catalogue: Catalogue, abuse_types: tuple[str, ...] = ()
) -> list[Intervention]:
    """Interventions covering a tier x cohort cell, strongest evidence first, then impact."""
    found = [
        i
        for i in catalogue
        if tier in i.tiers
        and cohort in i.cohorts
        and (not abuse_types or set(abuse_types) & set(i.abuse_types))
    ]
    return sorted(found, key=lambda i: (-i.strength[0], -i.strength[1], i.label))


def patchwork_options(analysis: Any, catalogue: Catalogue, *, area_code: str | None = None) -> pd.DataFrame:
    """One row per patchwork gap x option that would fill it (columns `OPTION_COLUMNS`).

    A gap with no catalogue option still has one row, with a blank intervention, so no gap is
    lost from the table.
    """
    cov = analysis.coverage
    gaps = cov[cov["patchwork_gap"].astype(bool)]
    if area_code is not None:
        gaps = gaps[gaps["area_code"] == area_code]
    rows: list[dict[str, Any]] = []
    cache: dict[tuple[str, str], list[Intervention]] = {}
    # Column lists, not itertuples: a row tuple boxes each Arrow string cell one at a time.
    columns = ("area_code", "area_name", "tier", "cohort")
    for code, name, tier, cohort in zip(*(gaps[c].tolist() for c in columns), strict=True):
        cell = (str(tier), str(cohort))
        if cell not in cache:
            cache[cell] = options_for(*cell, catalogue)
        base = {"area_code": code, "area_name": name, "tier": tier, "cohort": cohort}
        if not cache[cell]:
            rows.append({**base, "intervention_id": "", "intervention": "(no option in the catalogue)"})
        for i in cache[cell]:
            cost = i.costs[0] if i.costs else None
            rows.append(
                {
                    **base,
                    "intervention_id": i.id,
                    "intervention": i.label,
                    "evidence": i.evidence,
                    "impact": i.impact,
                    "unit_cost": cost.amount if cost else np.nan,
                    "cost_per": cost.per if cost else "",
                    "citation": i.citation,
                }
            )
    return pd.DataFrame(rows, columns=list(OPTION_COLUMNS))


def catalogue_table(catalogue: Catalogue, config: Config | None = None) -> pd.DataFrame:
    """The catalogue as a table for readers (one row per intervention)."""

    def words(ids: tuple[str, ...], vocab: dict | None) -> str:
        return "; ".join((vocab or {}).get(x, {}).get("label", x) if vocab else x for x in ids)

    rows = []
    for i in sorted(
        catalogue, key=lambda i: (min((_TIER_ORDER.get(t, 9) for t in i.tiers), default=9), i.label)
    ):
        cost = "; ".join(f"{money(c.amount)} per {c.per} ({c.year})" for c in i.costs) or i.cost_note
        rows.append(
            {
                "intervention": i.label,
                "tiers": words(i.tiers, config.tiers if config else None),
                "cohorts": words(i.cohorts, config.cohorts if config else None),
                "abuse_types": "; ".join(i.abuse_types),
                "evidence": i.evidence,
                "impact": i.impact,
                "unit_cost": cost,
                "summary": i.summary,
                "citation": i.citation,
            }
        )
    return pd.DataFrame(rows)


_TIER_ORDER = {"primary": 0, "secondary": 1, "tertiary": 2}


# --------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class CostOverrides:
    """A user's own unit costs: by intervention id, and by service type (for shortfalls)."""

    source: str
    by_intervention: dict[str, UnitCost] = field(default_factory=dict)
    by_service_type: dict[str, UnitCost] = field(default_factory=dict)


def load_unit_costs(path: Path | str, catalogue: Catalogue, config: Config) -> CostOverrides:
    """Read a user's unit costs from TOML (`[costs.ID]` tables) or CSV/XLSX (one row each).

    Each cost names `intervention` (a catalogue id or name) or `service_type` (a vocabulary
    type: a cost per unit of capacity, e.g. an Idva FTE a year, used for benchmark
    shortfalls), with `amount`, `per`, `year` and `source`. Every problem names the row.
    """
    label = Path(path).name
    report = ValidationReport()
    rows: list[tuple[int | None, dict[str, Any]]] = []
    if Path(path).suffix.lower() == ".toml":
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GapmapInputError(f"cannot read the unit-costs file: {exc}", file=label) from exc
        rows = [(None, dict(v, id=k)) for k, v in raw.get("costs", {}).items()]
    else:
        table = read_table(
            path,
            role="unit-costs table",
            report=report,
            expected_columns=("intervention", "service_type", "amount", "per", "year", "source"),
        )
        if table is None:
            report.raise_if_errors()
            raise GapmapInputError("the unit-costs table could not be read", file=label)
        for rec in table.to_dict("records"):
            row = int(rec.pop(ROW_COLUMN))
            rec = {k.strip().lower(): v for k, v in rec.items()}
            for k in ("amount", "year", "quantity"):
                if rec.get(k, "") != "":
                    try:
                        rec[k] = float(str(rec[k]).replace(",", "").replace("£", ""))
                    except ValueError:
                        report.error(
                            label, f"`{rec[k]}` is not a number; write pounds as digits.", row=row, column=k
                        )
                        rec[k] = None
                else:
                    rec.pop(k, None)
            if isinstance(rec.get("year"), float):
                rec["year"] = int(rec["year"])
            rows.append((row, rec))
    by_iv: dict[str, UnitCost] = {}
    by_type: dict[str, UnitCost] = {}
    for cost_row, rec in rows:
        problems: list[Problem] = []
        cost = _cost(rec, f"row {cost_row}" if cost_row else f"[costs.{rec.get('id')}]", problems, label)
        for p in problems:
            report.error(label, p.message, row=cost_row)
        iv = str(rec.get("intervention", "") or "").strip()
        st = str(rec.get("service_type", "") or "").strip()
        if iv:
            iid, hint = match_intervention(iv, catalogue)
            if iid is None:
                report.error(
                    label,
                    f"intervention `{iv}` is not in the catalogue; {hint}",
                    row=cost_row,
                    column="intervention",
                )
            elif cost:
                by_iv[iid] = cost
        elif st:
            if st not in config.service_types:
                report.error(
                    label,
                    f"service type `{st}` is not in the vocabulary.",
                    row=cost_row,
                    column="service_type",
                )
            elif cost:
                by_type[st] = cost
        else:
            report.error(label, "give `intervention` or `service_type` for each cost.", row=cost_row)
    report.raise_if_errors()
    return CostOverrides(source=label, by_intervention=by_iv, by_service_type=by_type)


def _amount(x: float) -> str:
    return number(x)


def _quantity(
    cost: UnitCost,
    area_code: str,
    population: pd.DataFrame | None,
    by_area: dict[str, pd.Series] | None = None,
) -> tuple[float, str]:
    """The quantity an option's unit cost is multiplied by in `area_code`, and where it came from.

    `by_area` keeps each population column indexed by area between calls (indexing the whole
    table once per option row was most of the costing of a patchwork).
    """
    if cost.quantity_from and population is not None and cost.quantity_from in population.columns:
        by_area = {} if by_area is None else by_area
        if cost.quantity_from not in by_area:
            by_area[cost.quantity_from] = population.set_index("area_code")[cost.quantity_from]
        pop = by_area[cost.quantity_from]
        if area_code in pop.index and np.isfinite(pop.loc[area_code]):
            q = float(pop.loc[area_code]) * cost.quantity_share
            share = f" x {number(cost.quantity_share)}" if cost.quantity_share != 1 else ""
            return q, f"{cost.quantity_from.replace('_', ' ')} of the area{share}"
    if cost.quantity is not None:
        return cost.quantity, "the quantity given with the unit cost"
    return 1.0, f"one {cost.per} (multiply by the number you plan)"


def gap_costs(
    analysis: Any,
    catalogue: Catalogue,
    *,
    population: pd.DataFrame | None = None,
    overrides: CostOverrides | None = None,
    area_code: str | None = None,
    extra_rows: pd.DataFrame | None = None,
    options: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What closing each gap would roughly cost, with every assumption in its own column.

    `options`: `patchwork_options(analysis, catalogue, area_code=area_code)`, when the caller
    has it already (`gapmap.commissioning.build_commissioning`).

    - Benchmark shortfalls (population and demand rows of `analysis.gaps`, plus `extra_rows`):
      shortfall x the user's unit cost for the benchmark's service type (the catalogue has no
      cost per FTE or refuge space; without an override the row says so).
    - Patchwork gaps: each option with a unit cost; quantity from the cost's `quantity_from`
      (a population column), else its `quantity`, else one unit.
    """
    overrides = overrides or CostOverrides(source="")
    rows: list[dict[str, Any]] = []
    gaps = analysis.gaps if extra_rows is None else pd.concat([analysis.gaps, extra_rows], ignore_index=True)
    gaps = gaps[(gaps["area_code"] != "ALL") & (pd.to_numeric(gaps["shortfall"], errors="coerce") > 0)]
    if area_code is not None:
        gaps = gaps[gaps["area_code"] == area_code]
    types_of: dict[str, tuple[str, ...]] = {b.id: tuple(b.service_types) for b in analysis.profile.benchmarks}
    types_of.update({"idva_fte_from_marac": ("idva",)})
    # Column lists, not itertuples: a row tuple boxes each Arrow string cell one at a time.
    columns = ("area_code", "area_name", "benchmark_id", "benchmark_label", "shortfall")
    for code, name, bid, label, short in zip(*(gaps[c].tolist() for c in columns), strict=True):
        types = types_of.get(str(bid), ())
        cost = next((overrides.by_service_type[t] for t in types if t in overrides.by_service_type), None)
        base = {
            "area_code": code,
            "area_name": name,
            "gap": f"{label}: {_amount(float(short))} short",
            "option": "more of: " + ", ".join(types) if types else "",
            "evidence": "",
            "impact": "",
        }
        if cost is None:
            rows.append(
                {
                    **base,
                    "per": "",
                    "quantity": float(short),
                    "quantity_basis": "the shortfall",
                    "cost_source": "no unit cost: give one for this service type in a unit-costs file",
                }
            )
            continue
        rows.append(
            {
                **base,
                "unit_cost": cost.amount,
                "per": cost.per,
                "cost_year": cost.year,
                "quantity": float(short),
                "quantity_basis": "the shortfall",
                "cost": cost.amount * float(short),
                "cost_source": f"{cost.source} ({overrides.source})",
            }
        )
    opts = patchwork_options(analysis, catalogue, area_code=area_code) if options is None else options
    if area_code is not None and options is not None:
        # Options made for every area (as `build_commissioning` keeps them) cost only this one.
        opts = opts[opts["area_code"] == area_code]
    by_area: dict[str, pd.Series] = {}
    for r in opts[opts["intervention_id"] != ""].itertuples(index=False):
        item = catalogue.interventions[r.intervention_id]
        cost = overrides.by_intervention.get(item.id) or (item.costs[0] if item.costs else None)
        if cost is None:
            continue
        q, basis = _quantity(cost, str(r.area_code), population, by_area)
        origin = overrides.source if item.id in overrides.by_intervention else "catalogue"
        rows.append(
            {
                "area_code": r.area_code,
                "area_name": r.area_name,
                "gap": f"no {r.tier} provision for {r.cohort}",
                "option": item.label,
                "evidence": item.evidence,
                "impact": item.impact,
                "unit_cost": cost.amount,
                "per": cost.per,
                "cost_year": cost.year,
                "quantity": q,
                "quantity_basis": basis,
                "cost": cost.amount * q,
                "cost_source": f"{cost.source} ({origin})",
            }
        )
    return pd.DataFrame(rows, columns=list(COST_COLUMNS))


# --------------------------------------------------------------------------- evidence-rated coverage

#: Classes of one area x tier x cohort cell by the evidence behind what is provided there,
#: strongest first (words: `wording.EVIDENCE_LABELS`; fills: `palette.EVIDENCE_COLOURS`).
EVIDENCE_CLASSES: tuple[str, ...] = ("high", "moderate", "low", "none")
#: Columns of `evidence_coverage`.
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "tier",
    "cohort",
    "services",
    "evidence_class",
    "best_intervention",
    "best_evidence",
)


def evidence_class(rating: str) -> str:
    """'high', 'moderate' or 'low' for a catalogue evidence rating.

    A split rating counts at its lower end ("MODERATE/HIGH" is moderate, "LOW/MODERATE" low):
    the class claims the evidence is *at least* that strong, and the review would not say so.
    """
    lower = str(rating).split("/")[0].strip().upper()
    return {"HIGH": "high", "MODERATE": "moderate"}.get(lower, "low")


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(";") if v.strip())
    return tuple(str(v) for v in value)


def evidence_coverage(
    analysis: Any, services: pd.DataFrame, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """Every area x tier x cohort cell of `analysis.coverage` with the best evidence in place.

    The rule (the one definition; maps, tables and exports read it):

    - the services are those the view counts (`gapmap.view.counted_services`) serving the area;
    - a service counts in every cell of its tiers x cohorts, as in the patchwork;
    - its rating is its catalogue intervention's evidence rating (`evidence_class`), and only
      in the cells the catalogue rates that intervention for (seed 002 rated Drive for high-harm
      perpetrators, not for whatever else a service lists): elsewhere it is unrated;
    - the cell's class is the best rating of its services: "high", "moderate", "low" (low or
      unrated only), or "none" when no service is in the cell there.

    Presence follows `analysis.coverage` (`services` > 0), so the class never contradicts the
    patchwork. Returns `EVIDENCE_COLUMNS`; `best_intervention` names the strongest-rated
    intervention in place (blank when none is rated).
    """
    from gapmap.view import counted_services

    catalogue = catalogue or default_catalogue()
    cov = analysis.coverage
    base = pd.DataFrame(
        {
            "area_code": cov["area_code"].astype(str).to_numpy(),
            "area_name": cov["area_name"].astype(str).to_numpy(),
            "tier": cov["tier"].astype(str).to_numpy(),
            "cohort": cov["cohort"].astype(str).to_numpy(),
            "services": pd.to_numeric(cov["services"], errors="coerce").fillna(0).astype(int).to_numpy(),
        }
    )
    rank = {c: i for i, c in enumerate(EVIDENCE_CLASSES)}
    best: dict[tuple[str, str, str], tuple[int, tuple[int, int], str, str]] = {}
    counted = counted_services(services, analysis) if services is not None and len(services) else None
    if counted is not None and len(counted) and "intervention" in counted.columns:
        ids = match_services(counted, catalogue)
        # (service, cell) -> class, for the cells each service is in.
        per_cell: dict[str, list[tuple[str, str, int, tuple[int, int], str, str]]] = {}
        for sid, tiers, cohorts, iid in zip(
            counted["service_id"].astype(str), counted["tiers"], counted["cohorts"], ids, strict=True
        ):
            item = catalogue.interventions.get(iid) if iid else None
            cells = []
            for t in _tuple(tiers):
                for c in _tuple(cohorts):
                    if item is not None and t in item.tiers and c in item.cohorts:
                        cls = evidence_class(item.evidence)
                        cells.append((t, c, rank[cls], item.strength, item.label, item.evidence))
                    else:
                        cells.append((t, c, rank["low"], (-1, -1), "", ""))
            per_cell[sid] = cells
        a = analysis.assignments
        chosen = set(base["area_code"])
        a = a.loc[a["area_code"].astype(str).isin(chosen) & a["service_id"].astype(str).isin(per_cell)]
        pairs = a[["service_id", "area_code"]].astype(str).drop_duplicates()
        for sid, code in zip(pairs["service_id"], pairs["area_code"], strict=True):
            for t, c, r, strength, label, rating in per_cell[sid]:
                key = (code, t, c)
                # Lower class rank is stronger; within a class the stronger rating (then impact).
                candidate = (r, (-strength[0], -strength[1]), label, rating)
                if key not in best or candidate[:2] < best[key][:2]:
                    best[key] = candidate
    classes, names, ratings = [], [], []
    for code, t, c, n in zip(base["area_code"], base["tier"], base["cohort"], base["services"], strict=True):
        found = best.get((code, t, c))
        if n <= 0:
            classes.append("none")
            names.append("")
            ratings.append("")
        elif found is None:  # provided (the patchwork says so) but by no service counted here
            classes.append("low")
            names.append("")
            ratings.append("")
        else:
            classes.append(EVIDENCE_CLASSES[found[0]])
            names.append(found[2])
            ratings.append(found[3])
    return base.assign(evidence_class=classes, best_intervention=names, best_evidence=ratings)[
        list(EVIDENCE_COLUMNS)
    ]
