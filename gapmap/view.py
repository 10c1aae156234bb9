"""What the current view counts: the one definition every table, list, map and export reads.

A view is a dataset, a selection of areas and a service filter, analysed into a
`gapmap.engine.GapAnalysis`. The services it counts are those that pass the filter *and*
serve at least one selected area (`analysis.assignments`, national services included). The
app's Services tab and map markers, the area profile's nearest services, the pack's
"services counted" line and the workbook's Services sheet all come from `counted_services`,
so a pan-Lancashire pack never lists a Leicestershire service.

Light on purpose (pandas only): the pack and workbook import it without the web map's stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import pandas as pd

from gapmap import wording
from gapmap.wording import uk_date

__all__ = [
    "areas_below",
    "benchmark_classes",
    "counted_line",
    "counted_services",
    "default_benchmark",
    "demand_choices",
    "demand_for_map",
    "demand_unmapped_note",
    "evidence_classes",
    "export_file_name",
    "filter_description",
    "partnership_label",
    "patchwork_classes",
    "selection_name",
]


def counted_services(services: pd.DataFrame, analysis: Any) -> Any:
    """The services `analysis` counts: through its service filter, serving a selected area.

    Parameters
    ----------
    services
        The dataset's services (all of them, confidential ones included: callers redact).
    analysis
        A `GapAnalysis` (district or level). Without `assignments` (a hand-made stand-in),
        only the filter applies.

    Returns
    -------
    The rows of `services` counted, in their original order (a copy).
    """
    service_filter = getattr(analysis, "service_filter", None)
    kept = services.copy() if service_filter is None else service_filter.apply(services)
    selection = getattr(analysis, "selection", None)
    if not selection or kept.empty:
        return kept
    chosen = {str(c) for c in selection}
    # The engine keeps its assignments as arrays until the frame is read: ask them directly
    # (England's LSOAs with 10,000 services are 7.8 million rows, seconds and a gigabyte to build).
    lazy: Any = (getattr(analysis, "__dict__", None) or {}).get("_assignments")
    if hasattr(lazy, "serving_ids"):
        ids = set(lazy.serving_ids(chosen).astype(str))
    else:
        assignments = getattr(analysis, "assignments", None)
        if assignments is None:
            return kept
        ids = _serving_ids(assignments, chosen)
    return kept.loc[kept["service_id"].astype(str).isin(ids).to_numpy()].copy()


def credited_areas(analysis: Any, service_ids: Iterable[str]) -> dict[str, list[str]]:
    """The areas `analysis` credits each of `service_ids` to (its assignments rows), in area order.

    For a confidential service this is what may be said of where it works: a `serves` entry for
    an area under the confidentiality threshold is dropped by the engine and must not be
    printed either (it would place the service in a small area). `*` services have no rows.
    """
    wanted = {str(s) for s in service_ids}
    if not wanted:
        return {}
    lazy: Any = (getattr(analysis, "__dict__", None) or {}).get("_assignments")
    if hasattr(lazy, "areas_of"):
        return dict(lazy.areas_of(wanted))
    assignments = getattr(analysis, "assignments", None)
    if assignments is None or assignments.empty:
        return {}
    rows = assignments[assignments["service_id"].astype(str).isin(wanted)]
    rows = rows[rows["method"].astype(str) != "everywhere"] if "method" in rows.columns else rows
    out: dict[str, list[str]] = {}
    for sid, code in zip(rows["service_id"].astype(str), rows["area_code"].astype(str), strict=True):
        out.setdefault(sid, []).append(code)
    return out


def _serving_ids(assignments: pd.DataFrame, chosen: set[str]) -> set[str]:
    """Ids of the services with an `assignments` row for an area in `chosen`.

    Works on integer codes (each distinct area and service converted to text once, not each of
    millions of rows).
    """
    area_codes, area_labels = pd.factorize(assignments["area_code"], use_na_sentinel=True)
    wanted = pd.Index(area_labels).astype(str).isin(list(chosen))
    rows = (area_codes >= 0) & wanted[area_codes]
    serving = pd.unique(assignments["service_id"].to_numpy()[rows])
    return {str(s) for s in serving}


def counted_line(all_services: pd.DataFrame, counted: pd.DataFrame) -> str:
    """'14 of the 73 services in the list serve the selection and pass the filters.' (plain text)."""
    n, total = len(counted), len(all_services)
    if n == total:
        return f"All {total} services in the list serve the selection and pass the filters."
    return f"{n} of the {total} services in the list serve the selection and pass the filters."


#: Filter fields in the order they are described, with their heading in words.
_FILTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("service_types", "Service types"),
    ("tiers", "Tiers"),
    ("cohorts", "Cohorts"),
    ("abuse_types", "Abuse types"),
    ("specialist_groups", "Specialist groups"),
    ("hours", "Hours"),
)


def _vocabulary_label(config: Any, field_name: str, value: str) -> str:
    if field_name == "service_types" and value in config.service_types:
        return str(config.service_types[value].label)
    if field_name in ("tiers", "cohorts", "abuse_types"):
        return str(getattr(config, field_name).get(value, {}).get("label", value))
    if field_name == "hours":
        return wording.hours_label(value)
    return value.replace("_", " ")


def filter_description(analysis: Any, config: Any = None) -> str:
    """The analysis's service filter in words ("All services" when unfiltered).

    With `config`, vocabulary ids become their labels and the funding date a UK date
    ("Tiers: Primary prevention; funded on 1 April 2027"), for pages people read.
    """
    service_filter = getattr(analysis, "service_filter", None)
    if service_filter is not None and config is not None and hasattr(service_filter, "on"):
        parts = []
        for name, heading in _FILTER_FIELDS:
            values = getattr(service_filter, name, None)
            if values is not None:
                labels = sorted(_vocabulary_label(config, name, str(v)) for v in values)
                parts.append(f"{heading}: {', '.join(labels) or '(none)'}")
        if service_filter.on is not None:
            parts.append(f"funded on {uk_date(service_filter.on)}")
        return "; ".join(parts) if parts else "All services"
    if service_filter is not None and hasattr(service_filter, "describe"):
        return str(service_filter.describe())
    filters = (getattr(analysis, "summary", None) or {}).get("filters")
    if isinstance(filters, str) and filters:
        return filters
    if isinstance(filters, dict):
        text = filters.get("description") or filters.get("describe")
        if text:
            return str(text)
    return "All services"


def partnership_label(selection: Sequence[str]) -> str | None:
    """The label of the named partnership whose areas are exactly `selection`, if any."""
    from gapmap.errors import ConfigError
    from gapmap.partnerships import load_partnerships

    try:
        partnerships = load_partnerships()
    except ConfigError:  # a broken partnerships file must not stop an export
        return None
    wanted = {str(c) for c in selection}
    for p in partnerships.values():
        if wanted and set(p.area_codes) == wanted:
            return str(p.label)
    return None


def selection_name(analysis: Any) -> str:
    """What the view covers, in words: a partnership's name, one area's name, or 'N areas'.

    Statutory-level views name their areas as the engine did (`summary['level']`).
    """
    selection = [str(c) for c in getattr(analysis, "selection", ()) or ()]
    summary = getattr(analysis, "summary", None) or {}
    districts = summary.get("districts_selected") or selection
    named = partnership_label(districts)
    if named:
        return named
    if len(selection) == 1:
        gaps = analysis.gaps
        rows = gaps.loc[gaps["area_code"].astype(str) == selection[0], "area_name"]
        if len(rows):
            return str(rows.iloc[0])
    return f"{wording.number(len(selection))} areas"


def _slug(text: str, limit: int = 40) -> str:
    """'Leicester, Leicestershire and Rutland' -> 'leicester-leicestershire-and-rutland'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "selection"


def export_file_name(what: str, analysis: Any, today: date, ext: str, benchmark_id: str | None = None) -> str:
    """'fenmarsh-fictional-demo-county_idva-fte_map_2026-12-01.png': selection, benchmark, what, ISO date.

    Two partnerships' (or two benchmarks') exports saved into one folder never collide.
    """
    parts = [_slug(selection_name(analysis))]
    if benchmark_id:
        parts.append(_slug(benchmark_id))
    parts += [what, today.isoformat()]
    return "_".join(parts) + f".{ext}"


# --------------------------------------------------------------------------- area classes
#: Statuses that count as "below the benchmark" in every headline and table.
BELOW = ("red", "amber")


def benchmark_classes(analysis: Any, benchmark_id: str, area_codes: Iterable[str]) -> pd.Series:
    """Status per area code for one benchmark: the one rule every map, table and pack reads.

    An area's own row when the benchmark is scored per area; otherwise (a selection-scope
    benchmark, "at least 1 per region") the whole selection's status for every area;
    "no_data" for an area without a row.
    """
    gaps = analysis.gaps
    rows = gaps.loc[gaps["benchmark_id"] == benchmark_id]
    codes = [str(c) for c in area_codes]
    per_area = rows.loc[rows["area_code"].astype(str) != "ALL"]
    if len(per_area):
        by_area = dict(zip(per_area["area_code"].astype(str), per_area["status"].astype(str), strict=False))
        return pd.Series([by_area.get(c, "no_data") for c in codes], index=codes, dtype=object)
    whole = rows.loc[rows["area_code"].astype(str) == "ALL", "status"]
    status = str(whole.iloc[0]) if len(whole) else "no_data"
    return pd.Series(status, index=codes, dtype=object)


def areas_below(analysis: Any, benchmark_id: str) -> tuple[int, int]:
    """(areas below the benchmark, areas scored) for a per-area benchmark; (0, 0) otherwise."""
    gaps = analysis.gaps
    rows = gaps.loc[(gaps["benchmark_id"] == benchmark_id) & (gaps["area_code"].astype(str) != "ALL")]
    return int(rows["status"].isin(BELOW).sum()), len(rows)


def patchwork_classes(
    analysis: Any, area_codes: Iterable[str], tier: str | None, cohort: str | None
) -> pd.Series:
    """'has' / 'gap' / 'nowhere' / 'no_data' per area for the chosen tier x cohort cells.

    For one cell: has = at least one service here; gap = none here though another area of
    the selection has one (`coverage.patchwork_gap`); nowhere = no service in the whole
    selection. With `tier` or `cohort` None the cells of every tier / cohort are combined:
    gap if any cell is a gap, nowhere if no chosen cell has a service anywhere, else has.
    """
    cov = analysis.coverage
    if tier is not None:
        cov = cov.loc[cov["tier"] == tier]
    if cohort is not None:
        cov = cov.loc[cov["cohort"] == cohort]
    codes = [str(c) for c in area_codes]
    if cov.empty:
        return pd.Series("no_data", index=codes, dtype=object)
    cov = cov.assign(area_code=cov["area_code"].astype(str), services=cov["services"].fillna(0))
    provided_somewhere = cov.groupby(["tier", "cohort"])["services"].transform("sum") > 0
    cov = cov.assign(gap=cov["patchwork_gap"].astype(bool) | ((cov["services"] == 0) & provided_somewhere))
    grouped = cov.groupby("area_code")
    n_gap = grouped["gap"].sum()
    n_services = grouped["services"].sum()
    anywhere = bool(provided_somewhere.any())
    out = []
    for c in codes:
        if c not in n_gap.index:
            out.append("no_data")
        elif n_gap[c] > 0:
            out.append("gap")
        elif anywhere and n_services[c] > 0:
            out.append("has")
        else:
            out.append("nowhere")
    return pd.Series(out, index=codes, dtype=object)


def evidence_classes(
    analysis: Any,
    services: pd.DataFrame,
    area_codes: Iterable[str],
    tier: str,
    cohort: str,
    catalogue: Any = None,
) -> pd.Series:
    """'high' / 'moderate' / 'low' / 'none' / 'no_data' per area for one tier x cohort cell.

    The best evidence rating (seed 002) among the services counted there: the rule is
    `gapmap.interventions.evidence_coverage`; words in `wording.EVIDENCE_LABELS`.
    """
    from gapmap.interventions import evidence_coverage  # the catalogue stack only when asked

    codes = [str(c) for c in area_codes]
    table = evidence_coverage(analysis, services, catalogue)
    cell = table.loc[(table["tier"] == tier) & (table["cohort"] == cohort)]
    by_area = dict(zip(cell["area_code"], cell["evidence_class"], strict=True))
    return pd.Series([by_area.get(c, "no_data") for c in codes], index=codes, dtype=object)


def default_benchmark(profile: Any) -> Any:
    """The benchmark a view opens on: the profile's first scored per area, else its first.

    The app's benchmark choice, the web map, the static map and the exports' file names all
    start here, so no two outputs of one view can default to different benchmarks.
    """
    for b in profile.benchmarks:
        if b.scope == "area":
            return b
    return profile.benchmarks[0]


# --------------------------------------------------------------------------- demand on the map
#: Demand statuses the map colours; rows that are only "For information" (waiting lists, a
#: required figure with no provision recorded) have no scale to colour and stay in the tables.
DEMAND_MAPPED = ("green", "amber", "red", "low", "expected", "high")


def demand_for_map(
    analysis: Any, services: pd.DataFrame, population: pd.DataFrame, config: Any, demand: Any
) -> Any:
    """`analysis` with its demand rows (`gapmap.demand.demand_for`), ready for the map's choice.

    A demand table for areas coarser than those scored (a police force area when scoring
    districts) is never split: its benchmarks are recorded in `summary["demand"]["refused"]`
    with the reason, so the map says so instead of colouring areas nobody scored.
    """

    from gapmap.demand import check_levels, demand_benchmarks, demand_for
    from gapmap.errors import GapmapInputError

    refused: dict[str, Any] = {}
    if demand is not None:
        try:
            check_levels(demand, [str(c) for c in analysis.selection])
        except GapmapInputError as exc:
            # The benchmarks the map could have coloured (a scale: needed against provided, or
            # observed against expected), had the table been at the areas' level.
            ids = [
                b.id
                for b in demand_benchmarks(analysis.profile, config)
                if b.measure in demand.measures
                and (b.kind == "expected" or (b.kind == "required" and b.service_types))
            ]
            refused = {
                "reason": "; ".join(p.message for p in exc.problems),
                "benchmarks": ids,
                "period": demand.latest(),
            }
            demand = None
    full, notes = demand_for(analysis, services, population, config, demand)
    if not refused:
        if demand is not None and notes and not (full.summary.get("demand") or {}).get("benchmarks"):
            # Nothing to map (e.g. every row for a finer level): keep why, for the map to say.
            summary = dict(full.summary)
            summary["demand"] = {"benchmarks": {}, "notes": list(notes)}
            return full.replace(summary=summary)
        return full
    summary = dict(full.summary)
    entry = dict(summary.get("demand") or {"benchmarks": {}, "notes": []})
    entry["refused"] = refused
    labels = {b.id: b.label for b in demand_benchmarks(analysis.profile, config)}
    entry["benchmarks"] = {
        **{b: {"label": labels.get(b, b), "period": refused["period"]} for b in refused["benchmarks"]},
        **dict(entry.get("benchmarks") or {}),
    }
    summary["demand"] = entry
    return full.replace(summary=summary)


def demand_unmapped_note(analysis: Any) -> str:
    """Why a loaded demand table adds no benchmark to the map ("" when it adds one, or when no
    table is loaded): the demand module's notes, e.g. rows for a finer level than the areas."""
    entry = (getattr(analysis, "summary", None) or {}).get("demand") or {}
    if not entry or demand_choices(analysis):
        return ""
    return " ".join(str(n) for n in entry.get("notes") or ())


def demand_choices(analysis: Any) -> dict[str, str]:
    """Demand benchmarks the map can colour: id -> 'label (from demand, 2023-24)'.

    Those with per-area rows on a scale (`DEMAND_MAPPED`), and those refused because the
    demand table is coarser than the areas ("from demand: not scored per area").
    """
    entry = (getattr(analysis, "summary", None) or {}).get("demand") or {}
    refused = set((entry.get("refused") or {}).get("benchmarks") or ())
    gaps = analysis.gaps
    if "basis" not in gaps.columns:
        rows = gaps.iloc[0:0]
    else:
        rows = gaps.loc[(gaps["basis"] == "demand") & (gaps["area_code"].astype(str) != "ALL")]
    out: dict[str, str] = {}
    for bid, info in (entry.get("benchmarks") or {}).items():
        label = str(info.get("label", bid))
        if bid in refused:
            out[bid] = f"{label} (from demand: not scored at this level)"
            continue
        statuses = set(rows.loc[rows["benchmark_id"] == bid, "status"].astype(str))
        if statuses & set(DEMAND_MAPPED):
            period = str(info.get("period") or "")
            out[bid] = f"{label} (from demand, {period})" if period else f"{label} (from demand)"
    return out
