"""The funding cliff: which counted services' funding ends before a date, and what that costs.

Seeds 002 and 003: short-term funding keeps services "repeatedly at risk of closure". Given the
view's analysis without the date (`before`) and with it (`after`, the same filter plus `on`),
`funding_cliff` lists each service that drops off (its type, when its funding ends, the selected
areas it serves and the benchmarks it counts towards) and, per benchmark, the whole selection's
figures before and after. The app's Gaps tab and the pack's "Funding cliff" page show it.

Pure pandas; figures are text from `gapmap.wording`, as in every other output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from gapmap import wording
from gapmap.view import areas_below, counted_services

__all__ = ["FundingCliff", "funding_cliff"]


@dataclass(frozen=True)
class FundingCliff:
    """What ends by `on`.

    Attributes
    ----------
    on
        The date: services whose funding ends before it drop off.
    services
        One row per service dropping off: Service, Type, Funding ends (UK date), Areas
        affected, Benchmarks affected.
    figures
        One row per benchmark of the profile: the whole selection's Provided, % of benchmark
        and Status before and after, and Areas below the benchmark before and after.
    """

    on: date
    services: pd.DataFrame
    figures: pd.DataFrame

    @property
    def headline(self) -> str:
        """'Funding ends before 31 March 2028 for 3 services.' (or that none does)."""
        n = len(self.services)
        when = wording.uk_date(self.on)
        if n == 0:
            return f"No counted service's funding ends before {when}."
        return f"Funding ends before {when} for {n} service{'s' if n != 1 else ''}."


def _area_names(analysis: Any) -> dict[str, str]:
    gaps = analysis.gaps
    return dict(zip(gaps["area_code"].astype(str), gaps["area_name"].astype(str), strict=False))


def _whole(analysis: Any, benchmark_id: str) -> dict[str, Any]:
    gaps = analysis.gaps
    rows = gaps[(gaps["benchmark_id"] == benchmark_id) & (gaps["area_code"] == "ALL")]
    return rows.iloc[0].to_dict() if len(rows) else {}


def _areas_below(analysis: Any, benchmark_id: str) -> str:
    short, scored = areas_below(analysis, benchmark_id)
    return f"{short} of {scored}" if scored else ""


def funding_cliff(services: pd.DataFrame, before: Any, after: Any, config: Any) -> FundingCliff:
    """The services counted in `before` but not in `after` (funding ended), and the figures' change.

    Parameters
    ----------
    services
        The dataset's services.
    before, after
        `GapAnalysis` of the same view without and with the funding date (`after.service_filter.on`).
    config
        The vocabulary (service type labels).
    """
    on = after.service_filter.on
    if on is None:
        raise ValueError("`after` has no funding date (service_filter.on): nothing to compare")
    was = counted_services(services, before)
    still = set(counted_services(services, after)["service_id"].astype(str))
    ending = was[~was["service_id"].astype(str).isin(still)]
    ending = ending.assign(_end=pd.to_datetime(ending["funding_end"], errors="coerce")).sort_values(
        ["_end", "name"], kind="stable"
    )
    names = _area_names(before)
    chosen = {str(c) for c in before.selection}
    a = before.assignments
    a = a[a["area_code"].astype(str).isin(chosen)]
    served = a.groupby(a["service_id"].astype(str))["area_code"].agg(lambda c: sorted({str(x) for x in c}))
    types = config.service_types
    rows = []
    for rec in ending.to_dict("records"):
        sid = str(rec["service_id"])
        stype = str(rec["service_type"])
        benches = [b.label for b in before.profile.benchmarks if stype in b.service_types]
        codes = served.get(sid, [])
        rows.append(
            {
                "Service": str(rec["name"]),
                "Type": types[stype].label if stype in types else stype,
                "Funding ends": wording.uk_date(rec["_end"]),
                "Areas affected": "every area"
                if len(codes) == len(chosen) and len(chosen) > 1
                else ", ".join(names.get(c, c) for c in codes),
                "Benchmarks affected": ", ".join(benches) or "none (counts in the patchwork only)",
            }
        )
    listed = pd.DataFrame(
        rows, columns=["Service", "Type", "Funding ends", "Areas affected", "Benchmarks affected"]
    )
    figures = []
    for bench in before.profile.benchmarks:
        old, new = _whole(before, bench.id), _whole(after, bench.id)
        if not old:
            continue
        presence = bench.is_presence

        def provided(rec: dict[str, Any], presence: bool = presence) -> str:
            if not rec:
                return ""
            value = rec.get("provided")
            return wording.services_count(value) if presence else wording.number(value)

        figures.append(
            {
                "Benchmark": bench.label,
                "Provided before": provided(old),
                "Provided after": provided(new),
                "% before": "" if presence else wording.percent(old.get("ratio")),
                "% after": "" if presence or not new else wording.percent(new.get("ratio")),
                "Status before": wording.status_label(str(old.get("status", "no_data"))),
                "Status after": wording.status_label(str(new.get("status", "no_data"))) if new else "",
                "Areas below before": _areas_below(before, bench.id),
                "Areas below after": _areas_below(after, bench.id),
            }
        )
    return FundingCliff(on=on, services=listed, figures=pd.DataFrame(figures))
