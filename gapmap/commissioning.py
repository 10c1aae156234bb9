"""What a commissioning paper needs beside the gap figures: options, costs, demand and scenarios.

`build_commissioning` gathers, for one analysis, the evidence-rated options for every patchwork
gap (`interventions.patchwork_options`), the cost of closing gaps with every assumption
(`interventions.gap_costs`), the demand notes, and a scenario's before/after when one was run.
`area_profile` reads it for one area in plain words: what is missing, what the evidence says
would fill it and roughly what it costs. The workbook, the pack, the CLI and the app all use
these, so they say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gapmap.interventions import (
    Catalogue,
    CostOverrides,
    catalogue_table,
    default_catalogue,
    gap_costs,
    patchwork_options,
)
from gapmap.wording import money, number, percent, status_label

#: Options listed per gap in the area profile (the full list is in the workbook).
OPTIONS_PER_GAP = 3


@dataclass
class Commissioning:
    """Options, costs, demand notes and (optionally) a scenario for one analysis."""

    catalogue: Catalogue
    options: pd.DataFrame
    costs: pd.DataFrame
    catalogue_table: pd.DataFrame
    demand_notes: list[str] = field(default_factory=list)
    unit_costs_source: str = ""
    scenario: Any = None  # scenarios.ScenarioResult


def build_commissioning(
    dataset: Any,
    analysis: Any,
    *,
    catalogue: Catalogue | None = None,
    overrides: CostOverrides | None = None,
    scenario: Any = None,
    demand_notes: list[str] | None = None,
) -> Commissioning:
    """Options and costs for every gap of `analysis` (see the module docstring)."""
    catalogue = catalogue or default_catalogue()
    options = patchwork_options(analysis, catalogue)
    return Commissioning(
        catalogue=catalogue,
        options=options,
        costs=gap_costs(
            analysis, catalogue, population=dataset.population, overrides=overrides, options=options
        ),
        catalogue_table=catalogue_table(catalogue, dataset.config),
        demand_notes=list(demand_notes or []),
        unit_costs_source=overrides.source if overrides else "",
        scenario=scenario,
    )


def amount(x: float) -> str:
    """A shortfall or quantity, as every output writes it (`wording.number`)."""
    return number(x)


def _money(x: float) -> str:
    return money(x)


def _label(vocab: dict[str, dict[str, str]], key: str) -> str:
    return vocab.get(key, {}).get("label", key)


def area_profile(analysis: Any, extras: Commissioning, config: Any, area_code: str) -> dict[str, list[str]]:
    """One area in words: {'missing': [...], 'options': [...], 'costs': [...]}.

    Missing = benchmark rows not met (population or demand basis) and patchwork gaps; options =
    the strongest few per patchwork gap; costs = every costed option or shortfall, with its
    assumptions (unit cost, what it is per, year, quantity, source).
    """
    gaps = analysis.gaps[analysis.gaps["area_code"] == area_code]
    missing: list[str] = []
    for r in gaps.itertuples(index=False):
        basis = getattr(r, "basis", "population") or "population"
        if r.status in ("red", "amber") and pd.notna(r.shortfall) and float(r.shortfall) > 0:
            share = "" if pd.isna(r.ratio) else f" ({percent(r.ratio)} of what is needed)"
            missing.append(f"{r.benchmark_label}: {amount(float(r.shortfall))} short{share} [{basis}]")
        elif basis == "demand" and getattr(r, "reading", "") and r.status in ("low", "high"):
            missing.append(f"{r.benchmark_label}: {r.reading} [demand]")
    cov = analysis.coverage
    cells = cov[(cov["area_code"] == area_code) & cov["patchwork_gap"].astype(bool)]
    for c in cells.itertuples(index=False):
        missing.append(
            f"Nothing in {_label(config.tiers, c.tier)} for {_label(config.cohorts, c.cohort).lower()}, "
            "which other areas of the selection have"
        )
    options: list[str] = []
    opts = extras.options[extras.options["area_code"] == area_code]
    for (tier, cohort), group in opts.groupby(["tier", "cohort"], sort=False):
        head = f"{_label(config.tiers, tier)} x {_label(config.cohorts, cohort)}:"
        named = group[group["intervention_id"] != ""].head(OPTIONS_PER_GAP)
        if named.empty:
            options.append(f"{head} no option in the catalogue")
            continue
        parts = [
            f"{o.intervention} (evidence {o.evidence}, impact {o.impact})"
            for o in named.itertuples(index=False)
        ]
        more = len(group) - len(named)
        options.append(
            head + " " + "; ".join(parts) + (f"; and {more} more in the workbook" if more > 0 else "")
        )
    costs: list[str] = []
    rows = extras.costs[extras.costs["area_code"] == area_code]
    uncosted = [str(c.gap) for c in rows.itertuples(index=False) if pd.isna(c.cost)]
    for c in rows.itertuples(index=False):
        if pd.isna(c.cost):
            continue
        year = "" if pd.isna(c.cost_year) else f", {int(c.cost_year)} prices"
        costs.append(
            f"{c.option}: {_money(float(c.unit_cost))} per {c.per}{year} x {amount(float(c.quantity))} "
            f"({c.quantity_basis}) = about {_money(float(c.cost))}. Source: {c.cost_source}"
        )
    if uncosted:
        costs.append(
            "No unit cost for: "
            + "; ".join(uncosted)
            + ". The review gives none per post or place: give your own per service type (--unit-costs)."
        )
    return {"missing": missing, "options": options, "costs": costs}


def area_total(extras: Commissioning, area_code: str) -> float:
    """The sum of the costed rows for one area (the parts without a unit cost are not in it)."""
    rows = extras.costs[extras.costs["area_code"] == area_code]
    return float(np.nansum(rows["cost"].to_numpy(dtype=float))) if len(rows) else 0.0


# --------------------------------------------------------------------------- CLI helpers


def _config_of(dataset: Any) -> Any:
    from gapmap.config import default_config

    return dataset.config if dataset is not None else default_config()


def check_inputs(args: Any, report: Any, dataset: Any = None) -> None:
    """`validate`: check the demand table, catalogue, unit costs and scenario named in `args`.

    Problems go into `report` (nothing is raised); a service's unknown `intervention` is a
    warning with a did-you-mean.
    """
    from gapmap.demand import check_levels, load_demand
    from gapmap.errors import GapmapInputError
    from gapmap.interventions import load_catalogue, load_unit_costs, match_services

    config = _config_of(dataset)
    catalogue = None
    try:
        catalogue = load_catalogue(getattr(args, "interventions", None), config)
    except GapmapInputError as exc:
        report.extend(exc.problems)
    if getattr(args, "demand", None):
        try:
            demand = load_demand(args.demand, config, report=report)
        except GapmapInputError as exc:
            report.extend([p for p in exc.problems if p not in report.problems])
        else:
            if dataset is not None and len(dataset.areas):
                # Not an error here: `report --level` may score at the table's level.
                try:
                    for note in check_levels(demand, list(dataset.areas["area_code"].astype(str))):
                        report.warn(demand.file, note)
                except GapmapInputError as exc:
                    for p in exc.problems:
                        report.warn(p.file, p.message, row=p.row, column=p.column)
    if getattr(args, "unit_costs", None) and catalogue is not None:
        try:
            load_unit_costs(args.unit_costs, catalogue, config)
        except GapmapInputError as exc:
            report.extend(exc.problems)
    if getattr(args, "scenario", None):
        from gapmap.scenarios import load_scenario  # only then: it brings the comparison code

        try:
            load_scenario(args.scenario)
        except GapmapInputError as exc:
            report.extend(exc.problems)
    if dataset is not None and catalogue is not None and len(dataset.services):
        name = getattr(args, "services", None)
        match_services(dataset.services, catalogue, file=getattr(name, "name", "service list"), report=report)


def prepare_report(
    args: Any, dataset: Any, analysis: Any, analyse_fn: Any, *, scenario_dataset: Any = None
) -> tuple[Any, Commissioning, dict[str, bytes], list[str]]:
    """`report`: demand rows, options, costs and a scenario, from the files named in `args`.

    Parameters
    ----------
    analyse_fn
        `services -> GapAnalysis` with the report's profile, filter, selection and level, used
        for the scenario's after figures.
    scenario_dataset
        The dataset whose service list the scenario changes (the districts' when scoring at a
        coarser level); default `dataset`.

    Returns
    -------
    (analysis with demand rows, commissioning extras, extra files by name, lines to print).
    Raises GapmapInputError for any bad input (nothing is written then).
    """
    from gapmap.csvtables import _csv_bytes
    from gapmap.demand import demand_for, load_demand
    from gapmap.interventions import load_catalogue, load_unit_costs

    config = dataset.config
    period = getattr(args, "period", None)
    demand = load_demand(args.demand, config) if getattr(args, "demand", None) else None
    catalogue = load_catalogue(getattr(args, "interventions", None), config)
    overrides = (
        load_unit_costs(args.unit_costs, catalogue, config) if getattr(args, "unit_costs", None) else None
    )

    def with_rows(a: Any, services: Any) -> Any:
        return demand_for(a, services, dataset.population, config, demand, period=period)[0]

    full, notes = demand_for(analysis, dataset.services, dataset.population, config, demand, period=period)
    scenario = None
    if getattr(args, "scenario", None):
        from gapmap.scenarios import load_scenario, run_scenario  # only then: it brings compare

        sc = load_scenario(args.scenario)
        scenario = run_scenario(
            scenario_dataset if scenario_dataset is not None else dataset,
            sc,
            before=full,
            analyse_fn=lambda services: with_rows(analyse_fn(services), services),
        )
    extras = build_commissioning(
        dataset, full, catalogue=catalogue, overrides=overrides, scenario=scenario, demand_notes=notes
    )
    files = {
        "options.csv": _csv_bytes(extras.options),
        "costs.csv": _csv_bytes(extras.costs),
    }
    lines = list(notes)
    if scenario is not None:
        files["scenario.csv"] = _csv_bytes(scenario.figures)
        files["scenario_changes.csv"] = _csv_bytes(scenario.changes)
        lines.append(scenario.to_text())
    return full, extras, files, lines


# --------------------------------------------------------------------------- app helpers

#: The scenario editor's starting text when no example file fits the dataset.
SCENARIO_TEMPLATE = """name = "My scenario"
description = "What changes, and why"

# Add a service (the same columns as a service list):
[[add]]
name = "New Idva post"
service_type = "idva"
serves = "AREA_CODE"
capacity = 2

# Remove one:  [[remove]]  service_id = "..."
# Change one:  [[change]]  service_id = "..."  capacity = 5  serves = "A;B"  funding_end = "2027-03-31"
"""


def demo_demand_path() -> Any:
    """The demo county's example demand table (fictional)."""
    from gapmap import settings

    return settings.DEMO_ROOT / "demand" / "demo_county_demand.csv"


def example_scenario_text(is_demo: bool) -> str:
    """The scenario editor's starting text: the demo's two-Idva scenario, else a template."""
    from gapmap import settings

    path = settings.DEMO_ROOT / "scenarios" / "demo_two_idva_saltmere.toml"
    if is_demo and path.is_file():
        return path.read_text(encoding="utf-8")
    return SCENARIO_TEMPLATE


def demand_view(analysis: Any) -> pd.DataFrame:
    """The demand rows of an analysis, with reader-facing column names."""
    g = analysis.gaps
    if "basis" not in g.columns:
        return pd.DataFrame()
    d = g[g["basis"] == "demand"]
    return pd.DataFrame(
        {
            "Area": d["area_name"].where(d["area_code"] != "ALL", "Whole selection"),
            "Measure": d["benchmark_label"],
            "Period": d["period"],
            "Needed / expected": d["required"].round(2),
            "Provided / observed": d["provided"].round(2),
            "Share": (d["ratio"] * 100).round(0),
            "Reading": d["reading"],
        }
    ).reset_index(drop=True)


def changes_view(result: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scenario's changes and moved figures, with reader-facing column names."""
    moved = result.moved
    figures = pd.DataFrame(
        {
            "Area": moved["area_name"].where(moved["area_code"] != "ALL", "Whole selection"),
            "Benchmark": moved["benchmark_label"],
            "Provided before": moved["provided_old"].round(2),
            "Provided after": moved["provided_new"].round(2),
            "% before": (moved["ratio_old"] * 100).round(0),
            "% after": (moved["ratio_new"] * 100).round(0),
            "Status before": [status_label(x) for x in moved["status_old"]],
            "Status after": [status_label(x) for x in moved["status_new"]],
        }
    )
    changes = result.changes.rename(
        columns={
            "action": "Action",
            "service_id": "Service id",
            "name": "Name",
            "field": "Field",
            "before": "Before",
            "after": "After",
        }
    )
    return changes, figures
