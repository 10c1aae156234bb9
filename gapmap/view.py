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
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from gapmap import wording
from gapmap.wording import uk_date

__all__ = [
    "counted_line",
    "counted_services",
    "export_file_name",
    "filter_description",
    "partnership_label",
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
    assignments = getattr(analysis, "assignments", None)
    selection = getattr(analysis, "selection", None)
    if assignments is None or not selection or kept.empty:
        return kept
    chosen = {str(c) for c in selection}
    serving = assignments.loc[assignments["area_code"].astype(str).isin(chosen), "service_id"]
    ids = set(serving.astype(str))
    return kept.loc[kept["service_id"].astype(str).isin(ids).to_numpy()].copy()


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
    return f"{len(selection)} areas"


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
