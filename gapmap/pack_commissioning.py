"""The pack's commissioning pages: per area, what is missing, what would fill it and its cost;
the interventions catalogue; and a scenario's before and after.

Flowables for the pack's document (`gapmap.pack`, typeset by `gapmap.pack_layout`), so they
read like the other pages. User text (area, service and scenario names) is escaped there.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from gapmap.commissioning import Commissioning, area_profile, area_total
from gapmap.pack_layout import bullet, cell, new_page, p, styles, table
from gapmap.wording import money, number, percent, status_label

NOTHING_MISSING = "Nothing: every benchmark is met and no tier x cohort cell is missing."


def area_story(analysis: Any, extras: Commissioning, config: Any) -> list[Flowable]:
    """One section per selected area (a new page each): missing, options, costs."""
    s = styles()
    codes = list(analysis.selection)
    names = analysis.coverage.drop_duplicates("area_code").set_index("area_code")["area_name"]
    story: list[Flowable] = []
    for code in codes:
        prof = area_profile(analysis, extras, config, code)
        if story:
            story += new_page("portrait")
        story += [
            p(f"Closing the gaps: {names.get(code, code)}", s.h1),
            p("What is missing", s.h2),
            *[bullet(line) for line in prof["missing"] or [NOTHING_MISSING]],
            p("What the evidence says would fill it (seed 002, strongest evidence first)", s.h2),
            *[bullet(line) for line in prof["options"] or ["No patchwork gap in this area."]],
            p("Roughly what it costs", s.h2),
            *[bullet(line) for line in prof["costs"] or ["Nothing to cost."]],
        ]  # fmt: skip
        total = area_total(extras, code)
        if total:
            story.append(
                p(
                    f"Costed options add up to about {money(total)} (one unit of each option unless "
                    "a quantity is given; shortfalls without a unit cost are not included). "
                    "These are the review's figures and years, not a budget: give your own unit "
                    "costs with --unit-costs.",
                    s.note,
                )
            )
    return story


def catalogue_story(extras: Commissioning) -> list[Flowable]:
    """The interventions catalogue as a table: ratings, tiers, cohorts and unit costs."""
    s = styles()
    table_ = extras.catalogue_table
    header = ["Intervention", "Tiers", "Cohorts", "Evidence", "Impact", "Unit cost (source year)"]
    rows = [
        [cell(r["intervention"]), cell(r["tiers"]), cell(r["cohorts"]), str(r["evidence"]), str(r["impact"]),
         cell(str(r["unit_cost"]) or "-")]
        for r in table_.to_dict("records")
    ]  # fmt: skip
    return [
        p("Interventions: evidence and cost (seed 002)", s.h1),
        p(
            "Evidence = how far the research can be trusted; impact = how much difference it makes on "
            "average (LOW, MODERATE, HIGH as the LLR rapid evidence review, 2023, defines them). "
            "Citations: the Interventions sheet of gaps.xlsx.",
            s.small,
        ),
        table(header, rows, [3.3, 2.6, 3.0, 1.1, 1.25, 3.5]),
    ]


def _change_line(r: Any) -> str:
    if r.action == "change":
        return f"Change {r.name} ({r.service_id}): {r.field} {r.before or '(blank)'} → {r.after}"
    verb = "Add" if r.action == "add" else "Remove"
    return f"{verb} {r.name} ({r.service_id})" + (f": {r.after}" if r.after else "")


def scenario_story(extras: Commissioning) -> list[Flowable]:
    """What the scenario changed and every figure that moved, before and after."""
    result = extras.scenario
    if result is None:
        return []
    s = styles()
    title = f"Scenario: {result.scenario.name}"
    story: list[Flowable] = [
        p(title, s.h1),
        p(
            "A what-if: the saved service list is not changed. "
            "Figures below are before and after the changes.",
            s.note,
        ),
    ]
    if result.scenario.description:
        story.append(p(result.scenario.description))
    story += [
        p("What the scenario changes", s.h2),
        *[bullet(_change_line(r)) for r in result.changes.itertuples()],
    ]
    cells = result.coverage[result.coverage["change"] != ""]
    if len(cells):
        story.append(p("Patchwork cells opened or closed", s.h2))
        story += [bullet(f"{c.area_name}: {c.tier} x {c.cohort}: {c.change}") for c in cells.itertuples()]
    story.append(p("What moves", s.h2))
    moved = result.moved
    if not len(moved):
        return [*story, p("No benchmark figure moved.")]
    areas = sorted(
        {str(n) for n, c in zip(moved["area_name"], moved["area_code"], strict=True) if c != "ALL"}
    )
    story.append(
        p(
            f"{len(moved)} figure(s) move, in {', '.join(areas) or 'the whole selection only'}: "
            "before and after below."
        )
    )
    header = ["Area", "Benchmark", "Provided before", "Provided after", "Share before", "Share after",
              "Status before", "Status after"]  # fmt: skip
    rows = [
        [
            cell("Whole selection" if r["area_code"] == "ALL" else r["area_name"]),
            cell(r["benchmark_label"]),
            number(r["provided_old"]),
            number(r["provided_new"]),
            percent(r["ratio_old"]),
            percent(r["ratio_new"]),
            status_label(r["status_old"]),
            status_label(r["status_new"]),
        ]
        for r in moved.to_dict("records")
    ]
    story += [
        p(f"{title}: before and after", s.h2),
        table(header, rows, [2.4, 2.8, 1.1, 1.1, 0.9, 0.9, 1.1, 1.1], align_right=range(2, 6)),
    ]
    return story


def commissioning_story(
    dataset: Any, analysis: Any, extras: Commissioning | None, *, per_area: bool = True
) -> list[Flowable]:
    """All commissioning pages, in pack order (nothing when `extras` is None).

    `per_area` False leaves out the page per area (for many areas: hundreds of pages help
    nobody; the tables are in gaps.xlsx).
    """
    if extras is None:
        return []
    story = area_story(analysis, extras, dataset.config) if per_area else []
    catalogue = catalogue_story(extras)
    story += [*(new_page("landscape") if story else []), *catalogue]
    scenario = scenario_story(extras)
    if scenario:
        story += [*new_page("portrait"), *scenario]
    return story
