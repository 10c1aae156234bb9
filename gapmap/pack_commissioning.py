"""The pack's commissioning pages: per area, what is missing, what would fill it and its cost;
the interventions catalogue; and a scenario's before and after.

Drawn with the pack's own page furniture (`gapmap.pack`) so they look like the other pages.
"""

from __future__ import annotations

import textwrap
from datetime import date
from functools import partial
from typing import Any

from matplotlib.figure import Figure

from gapmap.commissioning import Commissioning, area_profile, area_total
from gapmap.wording import money, number, percent, status_label

#: Catalogue rows per page.
CATALOGUE_ROWS_PER_PAGE = 18
#: Scenario figure rows per page.
SCENARIO_ROWS_PER_PAGE = 22


def _money(x: float) -> str:
    return money(x)


def area_pages(dataset: Any, analysis: Any, extras: Commissioning, *, today: date) -> list[Figure]:
    """One flowing section per selected area (a new page each)."""
    from gapmap.pack import COMPACT_GAP_TABLE_ABOVE, _Flow, _page

    is_demo = bool(getattr(dataset, "is_demo", False))
    config = dataset.config
    pages: list[Figure] = []
    codes = list(analysis.selection)
    if len(codes) > COMPACT_GAP_TABLE_ABOVE:
        return pages  # hundreds of pages help nobody: the tables are in gaps.xlsx
    names = analysis.coverage.drop_duplicates("area_code").set_index("area_code")["area_name"]
    for code in codes:
        name = str(names.get(code, code))
        flow = _Flow(partial(_page, f"Closing the gaps: {name}", today=today, is_demo=is_demo))
        prof = area_profile(analysis, extras, config, code)
        flow.heading("What is missing")
        for line in prof["missing"] or [
            "Nothing: every benchmark is met and no tier x cohort cell is missing."
        ]:
            flow.text("• " + line, fontsize=9.5, gap=0.002)
        flow.heading("What the evidence says would fill it (seed 002, strongest evidence first)")
        for line in prof["options"] or ["No patchwork gap in this area."]:
            flow.text("• " + line, fontsize=9.5, gap=0.002)
        flow.heading("Roughly what it costs")
        for line in prof["costs"] or ["Nothing to cost."]:
            flow.text("• " + line, fontsize=9, gap=0.002)
        total = area_total(extras, code)
        if total:
            flow.text(
                f"Costed options add up to about {_money(total)} (one unit of each option unless "
                "a quantity is given; shortfalls without a unit cost are not included). "
                "These are the review's figures "
                "and years, not a budget: give your own unit costs with --unit-costs.",
                fontsize=9,
                style="italic",
                gap=0.004,
            )
        pages.extend(flow.pages)
    return pages


def catalogue_pages(dataset: Any, extras: Commissioning, *, today: date) -> list[Figure]:
    """The interventions catalogue as a table: ratings, tiers, cohorts and unit costs."""
    from gapmap.pack import _chunks, _draw_table, _numbered, _page
    from gapmap.staticmap import text_lines

    is_demo = bool(getattr(dataset, "is_demo", False))
    table = extras.catalogue_table
    header = ["Intervention", "Tiers", "Cohorts", "Evidence", "Impact", "Unit cost (source year)"]
    chunks = list(_chunks(len(table), CATALOGUE_ROWS_PER_PAGE))
    pages = []
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(
            _numbered("Interventions: evidence and cost (seed 002)", n, len(chunks)),
            today=today,
            is_demo=is_demo,
        )
        text_lines(
            fig,
            "Evidence = how far the research can be trusted; impact = how much difference it makes on "
            "average (LOW, MODERATE, HIGH as the LLR rapid evidence review, 2023, defines them). "
            "Citations: the Interventions sheet of gaps.xlsx.",
            x=0.05,
            y=0.895,
            chars=175,
            step=0.02,
            right=0.95,
            fontsize=8.5,
            va="center",
            color="#333333",
        )
        rows = [
            [
                textwrap.shorten(str(table.iloc[i]["intervention"]), 38, placeholder="…"),
                textwrap.shorten(str(table.iloc[i]["tiers"]), 30, placeholder="…"),
                textwrap.shorten(str(table.iloc[i]["cohorts"]), 34, placeholder="…"),
                str(table.iloc[i]["evidence"]),
                str(table.iloc[i]["impact"]),
                textwrap.shorten(str(table.iloc[i]["unit_cost"]) or "-", 52, placeholder="…"),
            ]
            for i in chunk
        ]
        _draw_table(fig, header, rows, [3.3, 2.6, 3.0, 1.0, 1.25, 3.5], top=0.85, fontsize=7.5)
        pages.append(fig)
    return pages


def scenario_pages(dataset: Any, extras: Commissioning, *, today: date) -> list[Figure]:
    """What the scenario changed and every figure that moved, before and after."""
    from gapmap.pack import _chunks, _draw_table, _Flow, _numbered, _page

    result = extras.scenario
    if result is None:
        return []
    is_demo = bool(getattr(dataset, "is_demo", False))
    title = f"Scenario: {result.scenario.name}"
    flow = _Flow(lambda: _page(title, today=today, is_demo=is_demo))
    flow.text(
        "A what-if: the saved service list is not changed. Figures below are before and after the changes.",
        fontsize=9.5,
        style="italic",
        gap=0.006,
    )
    if result.scenario.description:
        flow.text(result.scenario.description, fontsize=10, gap=0.006)
    flow.heading("What the scenario changes")
    for r in result.changes.itertuples(index=False):
        if r.action == "change":
            flow.text(
                f"• Change {r.name} ({r.service_id}): {r.field} {r.before or '(blank)'} → {r.after}",
                fontsize=9.5,
            )
        else:
            verb = "Add" if r.action == "add" else "Remove"
            flow.text(
                f"• {verb} {r.name} ({r.service_id})" + (f": {r.after}" if r.after else ""), fontsize=9.5
            )
    cells = result.coverage[result.coverage["change"] != ""]
    if len(cells):
        flow.heading("Patchwork cells opened or closed")
        for c in cells.itertuples(index=False):
            flow.text(f"• {c.area_name}: {c.tier} x {c.cohort}: {c.change}", fontsize=9.5)
    moved = result.moved
    flow.heading("What moves")
    if len(moved):
        areas = sorted(
            {str(n) for n, c in zip(moved["area_name"], moved["area_code"], strict=True) if c != "ALL"}
        )
        flow.text(
            f"{len(moved)} figure(s) move, in {', '.join(areas) or 'the whole selection only'}: "
            "before and after on the next page.",
            fontsize=9.5,
        )
    else:
        flow.text("No benchmark figure moved.", fontsize=9.5)
    pages = list(flow.pages)
    header = [
        "Area",
        "Benchmark",
        "Provided\nbefore",
        "Provided\nafter",
        "Share\nbefore",
        "Share\nafter",
        "Status\nbefore",
        "Status\nafter",
    ]

    def share(x: float) -> str:
        return percent(x)

    chunks = list(_chunks(len(moved), SCENARIO_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(_numbered(f"{title}: before and after", n, len(chunks)), today=today, is_demo=is_demo)
        rows = []
        for i in chunk:
            r = moved.iloc[i]
            rows.append(
                [
                    "Whole selection"
                    if r["area_code"] == "ALL"
                    else textwrap.shorten(str(r["area_name"]), 30, placeholder="…"),
                    textwrap.shorten(str(r["benchmark_label"]), 36, placeholder="…"),
                    number(r["provided_old"]),
                    number(r["provided_new"]),
                    share(r["ratio_old"]),
                    share(r["ratio_new"]),
                    status_label(r["status_old"]),
                    status_label(r["status_new"]),
                ]
            )
        _draw_table(
            fig,
            header,
            rows,
            [2.4, 2.8, 1.1, 1.1, 0.9, 0.9, 1.1, 1.1],
            top=0.86,
            header_h=0.05,
            align=["left", "left", "right", "right", "right", "right", "left", "left"],
        )
        pages.append(fig)
    return pages


def commissioning_pages(
    dataset: Any, analysis: Any, extras: Commissioning | None, *, today: date
) -> list[Figure]:
    """All commissioning pages, in pack order (none when `extras` is None)."""
    if extras is None:
        return []
    return [
        *area_pages(dataset, analysis, extras, today=today),
        *catalogue_pages(dataset, extras, today=today),
        *scenario_pages(dataset, extras, today=today),
    ]
