"""The partnership pack: one PDF to circulate before (or print for) a partnership meeting.

Sections: a cover (selection, date, input versions, profile, population, headline results), a
contents list, a map per area-scope benchmark of the profile plus a patchwork overview map,
small-area access (when computed), the patchwork matrix, the gap table, the funding cliff (a
view filtered to a date), closing the gaps (options, costs, scenario: `gapmap.pack_commissioning`)
and the method page (benchmarks with sources, population rule, tiers, cohorts, the patchwork
index, confidentiality, attribution).

Typeset with ReportLab platypus (`gapmap.pack_layout`): text flows, tables split across pages
with their header repeated, every footer says "Page n of N" and the selection. Pages go by
district, never by small area (the small-area table is small_area_access.csv). Boundaries are
simplified once for every map (`staticmap.prepare_layers`), so all of England stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
from reportlab.platypus import Flowable, KeepTogether, Spacer

from gapmap import view
from gapmap.pack_layout import (
    ContentsLine,
    Footer,
    Maps,
    Mark,
    StatusCell,
    Upright,
    build,
    cell,
    esc,
    new_page,
    p,
    pm,
    stamp_maps,
    styles,
    table,
)
from gapmap.palette import GAP_FILL, GAP_WORD, HAS_FILL, NOWHERE_FILL
from gapmap.staticmap import (
    A4_LANDSCAPE_IN,
    STATUS_COLOURS,
    STATUS_HATCHES,
    MapLayers,
    map_overlay,
    prepare_layers,
    snapshot_figure,
    sources_line,
)
from gapmap.view import counted_services, filter_description
from gapmap.view import partnership_label as _partnership_label
from gapmap.wording import (
    CONFIDENTIAL_NOTE,
    CROWN_COPYRIGHT,
    DEMO_NOTE,
    ONS_ATTRIBUTION,
    benchmark_definition,
    citation_text,
    number,
    percent,
    services_count,
    status_label,
    status_legend,
    uk_date,
)

DEFAULT_TITLE = "Domestic abuse and sexual violence provision: partnership pack"
#: Above this many areas the pack's gap table has one row per area (the long table is in the XLSX).
COMPACT_GAP_TABLE_ABOVE = 30
#: Above this many areas (small areas: LSOAs, wards) the matrix and gap table count areas per
#: status instead of listing them: pages by district, never by small area.
LIST_AREAS_UP_TO = 400

#: A section of the pack: its title in the contents list, its first page's template, its flowables.
Section = tuple[str, str, list[Flowable]]


def _is_demo(dataset: Any) -> bool:
    return bool(getattr(dataset, "is_demo", False))


def status_cell(status: str, word: str | None = None) -> StatusCell:
    """A status as the maps show it: fill, pattern and the word."""
    fill = STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"])
    return StatusCell(
        word if word is not None else status_label(status), fill, STATUS_HATCHES.get(status, "")
    )


# --------------------------------------------------------------------------- the cover


# The named partnership of a selection: one definition for every output (`gapmap.view`).
partnership_label = _partnership_label


def _services_counted(dataset: Any, analysis: Any, counted: Any = None) -> str:
    """ "All services: 60 of 60 in the list; not on the maps: 4 confidential, 1 with no location".

    Says why the maps' marker counts add up to less than the services counted.
    """
    if counted is None:
        counted = counted_services(dataset.services, analysis)
    described = filter_description(analysis, dataset.config)
    text = f"{described}: {len(counted)} of {len(dataset.services)} in the list"
    confidential = counted["confidential"].astype(bool).to_numpy() if len(counted) else np.zeros(0, bool)
    unlocated = (counted.geometry.isna() | counted.geometry.is_empty).to_numpy() & ~confidential
    hidden = [(int(confidential.sum()), "confidential"), (int(unlocated.sum()), "with no location")]
    hidden_text = ", ".join(f"{n} {why}" for n, why in hidden if n)
    return f"{text}; not on the maps: {hidden_text}" if hidden_text else text


def population_line(analysis: Any) -> str:
    """Which population column and vintage the profile's benchmarks used, for the cover."""
    summary = analysis.summary or {}
    entries = summary.get("benchmarks", {})
    used = list(
        dict.fromkeys(
            str(entries.get(b.id, {}).get("denominator_source", ""))
            for b in analysis.profile.benchmarks
            if b.scope == "area" and entries.get(b.id, {}).get("basis") != "demand"
        )
    )
    return "; ".join(u for u in used if u) or "not needed (counts of services only)"


def _selection_text(dataset: Any, analysis: Any) -> str:
    """ "Pan-Lancashire: Blackburn with Darwen, Blackpool, … (14 areas)"."""
    names = dict(
        zip(dataset.areas["area_code"].astype(str), dataset.areas["area_name"].astype(str), strict=False)
    )
    selection = [str(c) for c in analysis.selection]
    if len(selection) <= 25:
        text = ", ".join(names.get(c, c) for c in selection)
    else:
        text = f"{len(selection)} areas (listed in the gap table)"
    partnership = partnership_label(selection)
    if partnership:
        text = f"{partnership}: {text}"
    return f"{text} ({len(selection)} area{'s' if len(selection) != 1 else ''})"


def _cover_facts(dataset: Any, analysis: Any, today: date, counted: Any) -> Flowable:
    """The cover's label / value table: selection, date, profile, caveat, population, services, inputs."""
    s = styles()
    caveat = analysis.profile.caveat
    facts: list[tuple[str, str]] = [
        ("Selection", _selection_text(dataset, analysis)),
        ("Date", uk_date(today)),
        ("Benchmark profile", analysis.profile.label),
        *([("Caveat", caveat)] if caveat else []),
        ("Population", population_line(analysis)),
        ("Services counted", _services_counted(dataset, analysis, counted)),
        ("Inputs", sources_line(dataset).removeprefix("Data sources: ")),
    ]
    rows = [
        [pm(f"<b>{esc(label)}</b>", s.body), p(value, s.caveat if label == "Caveat" else s.body)]
        for label, value in facts
    ]
    # The facts read as a list, not a grid: no header row.
    return table(None, rows, [1.15, 4.2], valign="TOP")


def _headline_table(analysis: Any) -> Flowable:
    """The whole selection against every benchmark: required, provided, share, status."""
    whole = analysis.gaps.loc[analysis.gaps["area_code"].astype(str) == "ALL"]
    header = ["Benchmark", "Definition", "Required", "Provided", "Share", "Status"]
    rows = []
    for bench in analysis.profile.benchmarks:
        r = whole.loc[whole["benchmark_id"] == bench.id]
        rec = r.iloc[0] if len(r) else {}
        status = str(rec.get("status", "no_data")) if len(r) else "no_data"
        if bench.is_presence:
            # A presence rule is a count ("5 services, at least 1 needed"), never a percentage.
            required = f"at least {number(rec.get('required'))}" if len(r) else "-"
            provided = services_count(rec.get("provided")) if len(r) else "-"
            share = ""
        else:
            required = number(rec.get("required")) if len(r) else "-"
            provided = number(rec.get("provided")) if len(r) else "-"
            share = percent(rec.get("ratio")) if len(r) else ""
        rows.append(
            [
                cell(bench.label, bold=True),
                cell(benchmark_definition(bench)),
                cell(required, right=True),
                cell(provided, right=True),
                cell(share, right=True),
                status_cell(status),
            ]
        )
    return table(header, rows, [2.2, 3.3, 0.95, 1.05, 0.7, 1.45])


def _cover(dataset: Any, analysis: Any, *, title: str, today: date, counted: Any) -> list[Flowable]:
    s = styles()
    story: list[Flowable] = [p(title, s.title), _cover_facts(dataset, analysis, today, counted)]
    if _is_demo(dataset):
        story.append(p(DEMO_NOTE, s.demo))
    story += [
        p("Headline: the whole selection against each benchmark", s.h2),
        _headline_table(analysis),
        Spacer(1, 6),
    ]
    summary = analysis.summary or {}
    index = summary.get("patchwork_index")
    if index is not None:
        story.append(
            p(
                f"Patchwork index: {number(index)}  ({summary.get('patchwork_gaps')} tier x cohort gaps "
                "across the selection; 0 = every area has what any area has).",
            )
        )
    return story


def _contents(sections: list[Section], pages: dict[str, int]) -> list[Flowable]:
    """'Contents': each section's title and the page it starts on (filled in when saved)."""
    return [
        *new_page("portrait"),
        p("Contents", styles().title),
        *[ContentsLine(name, name, pages) for name, _, _ in sections],
    ]


# --------------------------------------------------------------------------- maps


def _map_sections(
    dataset: Any, analysis: Any, maps: Maps, *, today: date, layers: MapLayers
) -> list[Section]:
    """A map per area benchmark, then the patchwork map, each on its own landscape page.

    Boundaries, services and labels are the same on every page: drawn once (`map_overlay`)
    and laid over each page's fills, legend and header.
    """
    overlay = map_overlay(dataset, analysis, layers)
    shared = maps.add(overlay.figure)
    sections: list[Section] = []
    for bench in analysis.profile.benchmarks:
        if bench.scope != "area":
            continue
        fig = snapshot_figure(
            dataset, analysis, benchmark_id=bench.id, layers=layers, today=today, overlay=overlay
        )
        sections.append((f"Map: {bench.label}", "map", [maps.slot(fig, shared)]))
    patch = snapshot_figure(
        dataset,
        analysis,
        colour_by="patchwork",
        layers=layers,
        today=today,
        title="The patchwork: areas missing what others in the selection have",
        overlay=overlay,
    )
    sections.append(("Map: the patchwork", "map", [maps.slot(patch, shared)]))
    return sections


def _small_access_section(dataset: Any, analysis: Any, maps: Maps, *, today: date) -> list[Section]:
    """Small-area access: a map per mapped service type, then residents beyond the threshold per
    district (pages by district, never by small area; the LSOA table is small_area_access.csv)."""
    result = getattr(analysis, "small_area_access", None)
    if result is None or result.scores.empty:
        return []
    from gapmap.access_map import mapped_types, small_access_figures

    s = styles()
    story: list[Flowable] = []
    figures = small_access_figures(dataset, analysis, today=today, figsize=A4_LANDSCAPE_IN)
    for fig in figures.values():
        story += [*(new_page("map") if story else []), maps.slot(fig)]
    types = mapped_types(result)
    labels = {t: getattr(dataset.config.service_types.get(t), "label", t) for t in types}
    frame = result.districts[result.districts["service_type"].isin(types)]
    cells = {(r.district_code, r.service_type): r for r in frame.itertuples()}
    names = dict(zip(frame["district_code"], frame["district_name"], strict=False))
    header = [
        "District",
        "Residents",
        *[f"Beyond {number(result.settings.beyond)} {result.unit}: {labels[t]}" for t in types],
    ]
    rows = []
    for code in dict.fromkeys(frame["district_code"]):
        first = next(cells[(code, t)] for t in types if (code, t) in cells)
        row: list[Any] = [cell(names[code]), number(round(first.population))]
        for t in types:
            r = cells.get((code, t))
            row.append(f"{percent(r.share_beyond)} ({number(round(r.population_beyond))})" if r else "–")
        rows.append(row)
    story += [
        *(new_page("landscape") if story else []),
        p("Residents far from a service", s.h1),
        p(result.describe(), s.small),
        table(header, rows, [2.6, 1.2] + [2.0] * len(types), align_right=range(1, 2 + len(types))),
    ]
    return [("Small areas: residents far from a service", "map" if figures else "landscape", story)]


# --------------------------------------------------------------------------- tables


def _matrix_section(dataset: Any, analysis: Any) -> Section:
    """Services per prevention tier x cohort for every area, GAP where another area has one."""
    config = dataset.config
    cov = analysis.coverage
    s = styles()
    cells = [(t, k) for t in config.tiers for k in config.cohorts]
    areas = cov[["area_code", "area_name"]].drop_duplicates("area_code")
    lookup = {(str(r.area_code), r.tier, r.cohort): r for r in cov.itertuples(index=False)}
    header = ["Area", *[Upright(config.cohorts[k].get("label", k)) for _, k in cells], "Gaps"]
    n_cohorts = len(config.cohorts)
    groups = [
        (1 + i * n_cohorts, (i + 1) * n_cohorts, config.tiers[t].get("label", t))
        for i, t in enumerate(config.tiers)
    ]
    rows: list[list[Any]] = []
    fills: list[tuple[int, int, str]] = []
    for i, (code, name) in enumerate(zip(areas["area_code"].astype(str), areas["area_name"], strict=True)):
        row: list[Any] = [cell(name)]
        gaps = 0
        for j, (t, k) in enumerate(cells, start=1):
            rec = lookup.get((code, t, k))
            if rec is None:
                row.append("")
            elif bool(rec.patchwork_gap):
                row.append(GAP_WORD)
                fills.append((i, j, GAP_FILL))
                gaps += 1
            elif rec.services > 0:
                row.append(str(int(rec.services)))
                fills.append((i, j, HAS_FILL))
            else:
                row.append("0")
                fills.append((i, j, NOWHERE_FILL))
        rows.append([*row, str(gaps)])
    intro = (
        f"Number of services in each prevention tier x cohort. {GAP_WORD} (dark): none here although "
        "another area of the selection has at least one. Grey 0: none anywhere in the selection. "
        f"Gaps: the area's number of {GAP_WORD} cells."
    )
    story: list[Flowable] = [
        p("Patchwork matrix", s.h1),
        p(intro, s.small),
        table(header, rows, [2.4] + [1.0] * len(cells) + [0.6], fills=fills, groups=groups,
              centre=range(1, len(cells) + 2), font_size=7),
    ]  # fmt: skip
    return ("Patchwork matrix (tier × cohort)", "landscape", story)


def _compact_gap_table(analysis: Any) -> list[Flowable]:
    """Many areas: one row per area, one column per area benchmark (share and status).

    The long table (denominator, required, provided, shortfall) would run to dozens of pages
    for a region or England; it is in gaps.xlsx / gaps.csv.
    """
    s = styles()
    gaps = analysis.gaps
    benches = [b for b in analysis.profile.benchmarks if b.scope == "area"]
    ids = {b.id for b in benches}
    records: dict[str, dict[str, Any]] = {"ALL": {}}
    names: dict[str, str] = {"ALL": "Whole selection"}
    for rec in gaps.to_dict("records"):
        code = str(rec["area_code"])
        if rec["benchmark_id"] in ids:
            records.setdefault(code, {})[rec["benchmark_id"]] = rec
            names.setdefault(code, str(rec["area_name"]))
    rows = []
    for code, by_bench in records.items():
        row: list[Any] = [cell(names[code], bold=code == "ALL")]
        for b in benches:
            rec = by_bench.get(b.id)
            status = str(rec["status"]) if rec else "no_data"
            row.append(
                status_cell(status, f"{percent(rec['ratio'] if rec else None)}  {status_label(status)}")
            )
        rows.append(row)
    intro = (
        f"{len(records) - 1} areas: each cell is the share of the benchmark provided (provided ÷ required) "
        "and its status. Denominators, required, provided and shortfall for every area are in "
        "gaps.xlsx and gaps.csv."
    )
    return [
        p("Gap table", s.h1),
        p(intro, s.small),
        table(["Area", *[b.label for b in benches]], rows, [2.6] + [1.6] * len(benches), bold_rows=[0]),
    ]


def _long_gap_table(dataset: Any, analysis: Any) -> list[Flowable]:
    """Every area x benchmark: denominator, required, provided, share, shortfall, status."""
    s = styles()
    gaps = analysis.gaps
    benches = {b.id: b for b in analysis.profile.benchmarks}
    rows: list[list[Any]] = []
    whole: list[int] = []
    for i, r in enumerate(gaps.to_dict("records")):
        is_all = str(r["area_code"]) == "ALL"
        bench = benches.get(str(r["benchmark_id"]))
        presence = bench is not None and bench.is_presence
        if is_all:
            whole.append(i)
        rows.append(
            [
                cell("Whole selection" if is_all else r["area_name"], bold=is_all),
                cell(r["benchmark_label"], bold=is_all),
                "" if presence else number(r["denominator"]),
                f"at least {number(r['required'])}" if presence else number(r["required"]),
                services_count(r["provided"]) if presence else number(r["provided"]),
                "" if presence else percent(r["ratio"]),
                "" if presence else number(r["shortfall"]),
                status_cell(str(r["status"])),
            ]
        )
    intro = (
        "Share = provided ÷ required. Whole selection rows sum the selected areas. 'At least' rules "
        "count services. Statuses: " + "; ".join(status_legend(dataset.config).values()) + "."
    )
    header = ["Area", "Benchmark", "Denominator", "Required", "Provided", "Share", "Shortfall", "Status"]
    return [
        p("Gap table", s.h1),
        p(intro, s.small),
        table(
            header, rows, [2.4, 3.2, 1.1, 1.0, 1.0, 0.7, 1.0, 1.3], bold_rows=whole, align_right=range(2, 7)
        ),
    ]


def _gap_section(dataset: Any, analysis: Any) -> Section:
    if len(analysis.selection) > LIST_AREAS_UP_TO:
        return ("Gap table: areas by status", "portrait", _status_summary(dataset, analysis))
    if len(analysis.selection) > COMPACT_GAP_TABLE_ABOVE:
        return ("Gap table", "landscape", _compact_gap_table(analysis))
    return ("Gap table", "landscape", _long_gap_table(dataset, analysis))


def _status_summary(dataset: Any, analysis: Any) -> list[Flowable]:
    """Thousands of (small) areas: how many are at each status per benchmark, and the whole
    selection's figure; the per-area rows are in gaps.xlsx and gaps.csv."""
    s = styles()
    gaps = analysis.gaps
    statuses = ["red", "amber", "green", "no_data"]
    per_area = gaps.loc[gaps["area_code"].astype(str) != "ALL"]
    counts = per_area.groupby(["benchmark_id", "status"]).size()
    whole = gaps.loc[gaps["area_code"].astype(str) == "ALL"].set_index("benchmark_id")["status"]
    rows = []
    for bench in analysis.profile.benchmarks:
        if bench.scope != "area":
            continue
        n = [int(counts.get((bench.id, k), 0)) for k in statuses]
        rows.append(
            [cell(bench.label), *[number(v) for v in n], status_cell(str(whole.get(bench.id, "no_data")))]
        )
    header = ["Benchmark", *[status_label(k) for k in statuses], "Whole selection"]
    intro = (
        f"{number(len(analysis.selection))} areas: too many to list one by one here. Each row counts "
        "the areas at each status; every area's denominator, required, provided and shortfall are in "
        "gaps.xlsx and gaps.csv."
    )
    return [
        p("Gap table: areas by status", s.h1),
        p(intro, s.small),
        table(header, rows, [3.0, 1.0, 1.0, 1.0, 1.0, 1.6], align_right=range(1, 5)),
    ]


def _patchwork_summary(dataset: Any, analysis: Any) -> Section:
    """Thousands of areas: per tier x cohort, how many areas have a service and how many a gap."""
    config = dataset.config
    s = styles()
    cov = analysis.coverage
    has = cov.assign(has=cov["services"] > 0).groupby(["tier", "cohort"])[["has", "patchwork_gap"]].sum()
    rows = []
    for t in config.tiers:
        for k in config.cohorts:
            n_has, n_gap = (int(v) for v in has.loc[(t, k)]) if (t, k) in has.index else (0, 0)
            rows.append(
                [
                    config.tiers[t].get("label", t),
                    config.cohorts[k].get("label", k),
                    number(n_has),
                    number(n_gap),
                ]
            )
    intro = (
        f"{number(len(analysis.selection))} areas: too many for one row each. For each prevention tier x "
        f"cohort, the areas with at least one service and the areas with a gap ({GAP_WORD}: none there "
        "although another area of the selection has one). The per-area matrix is in gaps.xlsx."
    )
    header = ["Tier", "Cohort", "Areas with a service", f"Areas with a {GAP_WORD}"]
    story: list[Flowable] = [
        p("Patchwork matrix: areas per tier × cohort", s.h1),
        p(intro, s.small),
        table(header, rows, [2.2, 2.2, 1.3, 1.3], align_right=(2, 3)),
    ]
    return ("Patchwork matrix (tier × cohort)", "portrait", story)


# --------------------------------------------------------------------------- the funding cliff


def _cliff(dataset: Any, analysis: Any) -> Any:
    """The funding cliff of a view filtered to a date (`gapmap.cliff`), else None.

    The view without the date is scored again here, with the same profile, selection and
    population vintage. A view scored at a statutory level has no cliff page (its rows are
    rolled up from districts; the app and `gapmap report` give the district view's).
    """
    service_filter = getattr(analysis, "service_filter", None)
    summary = getattr(analysis, "summary", None) or {}
    if service_filter is None or service_filter.on is None or "level" in summary:
        return None
    import dataclasses

    from gapmap.cliff import funding_cliff
    from gapmap.engine import analyse

    vintage = summary.get("population_vintage")
    before = analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        dataset.config,
        profile=analysis.profile.id,
        service_filter=dataclasses.replace(service_filter, on=None),
        selection=analysis.selection,
        small_area_population=getattr(dataset, "small_area_population", None),
        population_vintage=vintage if vintage in dataset.config.vintages() else None,
    )
    return funding_cliff(dataset.services, before, analysis, dataset.config)


def _cliff_section(cliff: Any) -> Section:
    """The services whose funding ends by the date, then the whole selection before and after."""
    s = styles()
    story: list[Flowable] = [p("Funding cliff", s.h1), p(cliff.headline, s.body)]
    if len(cliff.services):
        rows = [
            [cell(r["Service"]), cell(r["Type"]), str(r["Funding ends"]), cell(r["Areas affected"]),
             cell(r["Benchmarks affected"])]
            for r in cliff.services.to_dict("records")
        ]  # fmt: skip
        header = ["Service", "Type", "Funding ends", "Areas affected", "Benchmarks affected"]
        story.append(table(header, rows, [2.6, 1.7, 1.2, 3.0, 3.0]))
    columns = [str(c) for c in cliff.figures.columns]
    body = [[cell(r[0]), *[str(v) for v in r[1:]]] for r in cliff.figures.itertuples(index=False, name=None)]
    story += [
        p("Funding cliff: the whole selection before and after", s.h2),
        table(columns, body, [2.6] + [1.0] * (len(columns) - 1)),
    ]
    return ("Funding cliff", "landscape", story)


# --------------------------------------------------------------------------- method and sources


def _benchmark_notes(analysis: Any) -> list[Flowable]:
    """Each benchmark: its definition, the population (or demand) behind it and its source."""
    s = styles()
    entries = (analysis.summary or {}).get("benchmarks", {})
    story: list[Flowable] = []
    for bench in analysis.profile.benchmarks:
        block: list[Flowable] = [
            pm(f"<b>{esc(bench.label)}: {esc(benchmark_definition(bench))}.</b>", s.body)
        ]
        if bench.scope == "area":
            provenance = entries.get(bench.id, {}).get("denominator_source", "")
            # Demand benchmarks (gapmap.demand) divide a demand measure, not a population.
            basis = "Demand" if entries.get(bench.id, {}).get("basis") == "demand" else "Population"
            block.append(p(f"{basis}: {provenance}.", s.small))
        block.append(p(f"Source: {citation_text(bench)}", s.note))
        story.append(KeepTogether(block))
    return story


def _method_section(dataset: Any, analysis: Any, *, today: date) -> Section:
    config = dataset.config
    s = styles()
    profile = analysis.profile
    story: list[Flowable] = [
        p("Method and sources", s.h1),
        p(f"Benchmarks: {profile.label}", s.h2),
        p(
            "For each area: required = denominator x target ÷ per; provided = the capacity (or number) of "
            "the services serving the area; share = provided ÷ required; shortfall = required - provided "
            "where positive. A service serving several areas is shared between them in proportion to each "
            "area's denominator. 'At least one' standards are scored for the whole selection only."
        ),
    ]
    if profile.caveat:
        story.append(p(f"Caveat: {profile.caveat}", s.caveat))
    story += _benchmark_notes(analysis)
    chosen = (analysis.summary or {}).get("population_vintage", "")
    chosen_text = (
        "No other vintage was chosen for this pack."
        if not chosen or chosen.startswith("most recent")
        else f"For this pack the {chosen} figures were chosen where the file has them."
    )
    words = status_legend(config)
    story += [
        p(
            "Population rule: each denominator is read from the most recent official estimate in the "
            "population file (Census 2021 and mid-year estimates differ by about 2%). " + chosen_text,
            s.small,
        ),
        p(
            "Status: " + "; ".join(words[k] for k in ("green", "amber", "red", "no_data")) + ". Every colour "
            "is also shown with a word and a pattern (hatched = not met; dotted = partly met)."
        ),
        p("Prevention tiers", s.h2),
        *[
            p(f"{tier.get('label', tid)}: {tier.get('description', '')}")
            for tid, tier in config.tiers.items()
        ],
        p("Cohorts", s.h2),
        p("; ".join(c.get("label", cid) for cid, c in config.cohorts.items()) + "."),
        *_closing_notes(dataset, today),
    ]
    return ("Method and sources", "portrait", story)


def _closing_notes(dataset: Any, today: date) -> list[Flowable]:
    """The patchwork index, confidentiality, inputs and attribution (end of the method pages)."""
    s = styles()
    story = [
        p("The patchwork", s.h2),
        p(
            "A patchwork gap is a prevention tier x cohort cell (for example secondary x perpetrators) that "
            "an area lacks while at least one other area of the selection has a service in it. "
            "Patchwork index = number of gaps ÷ (areas in the selection x cells provided somewhere in the "
            "selection): 0 when every area has everything that any area has, close to 1 when each such cell "
            "is provided in one area only. The population-weighted index weights each area's gaps by "
            "its population."
        ),
        p("Confidential services", s.h2),
        p(CONFIDENTIAL_NOTE + " Their locations are left out of every map, table and file in this pack."),
        p("Inputs and attribution", s.h2),
        p(sources_line(dataset)),
        p(f"{CROWN_COPYRIGHT.format(year=today.year)}. {ONS_ATTRIBUTION}"),
    ]
    if _is_demo(dataset):
        story.append(p(DEMO_NOTE, s.demo))
    return story


# --------------------------------------------------------------------------- the pack


def _sections(
    dataset: Any, analysis: Any, maps: Maps, *, today: date, counted: Any, extras: Any = None
) -> list[Section]:
    """The pack's sections after the cover and the contents list, in order."""
    layers = prepare_layers(dataset, analysis, simplify=True, counted=counted)
    sections = _map_sections(dataset, analysis, maps, today=today, layers=layers)
    sections += _small_access_section(dataset, analysis, maps, today=today)
    many = len(analysis.selection) > LIST_AREAS_UP_TO
    sections.append(_patchwork_summary(dataset, analysis) if many else _matrix_section(dataset, analysis))
    sections.append(_gap_section(dataset, analysis))
    cliff = _cliff(dataset, analysis)
    if cliff is not None:
        sections.append(_cliff_section(cliff))
    if extras is not None:
        from gapmap.pack_commissioning import commissioning_story

        # Issue 12: per area what is missing, what would fill it and its cost; the catalogue;
        # a scenario's before and after.
        per_area = len(analysis.selection) <= COMPACT_GAP_TABLE_ABOVE
        story = commissioning_story(dataset, analysis, extras, per_area=per_area)
        if story:
            sections.append(("Closing the gaps: options, costs and scenario", "portrait", story))
    sections.append(_method_section(dataset, analysis, today=today))
    return sections


def pack_story(
    dataset: Any, analysis: Any, *, title: str, today: date, extras: Any = None
) -> tuple[list[Flowable], Maps]:
    """The flowables of the whole pack and the map figures its map pages reserve room for."""
    maps = Maps()
    pages: dict[str, int] = {}
    # Found once: the cover counts them and the maps draw them.
    counted = counted_services(dataset.services, analysis)
    sections = _sections(dataset, analysis, maps, today=today, counted=counted, extras=extras)
    cover = _cover(dataset, analysis, title=title, today=today, counted=counted)
    story = [*cover, *_contents(sections, pages)]
    for name, template, flowables in sections:
        story += [*new_page(template), Mark(name, pages), *flowables]
    return story, maps


def partnership_pack(
    dataset: Any,
    analysis: Any,
    *,
    title: str | None = None,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    extras: Any = None,
) -> bytes:
    """The whole pack as PDF bytes (maps vector, all text searchable).

    `progress(done, total)` is called after each step: the pages' content (maps drawn),
    the typesetting, and laying the maps in; so the app can show a progress bar.
    """
    today = today or date.today()
    title = title or DEFAULT_TITLE
    report = progress or (lambda done, total: None)
    story, maps = pack_story(dataset, analysis, title=title, today=today, extras=extras)
    report(1, 3)
    footer = Footer(selection=view.selection_name(analysis), year=today.year, is_demo=_is_demo(dataset))
    document = build(story, footer, title=title)
    report(2, 3)
    data = stamp_maps(document, maps)
    report(3, 3)
    return data
