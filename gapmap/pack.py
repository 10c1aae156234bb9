"""The partnership pack: one vector PDF to circulate before (or print for) a partnership meeting.

Pages: a cover (selection, date, input versions, profile, headline results), a map per
area-scope benchmark of the profile plus a patchwork overview map, the patchwork matrix, the
gap table (paginated) and the method page (benchmarks with sources, tiers, cohorts, how the
patchwork index is computed, confidentiality, attribution).

All pages are A4 landscape, drawn with matplotlib's OO API (no pyplot) into `PdfPages`.
Boundaries are simplified once for the whole pack (see `staticmap.prepare_layers`) so a county
pack stays far below 5 MB.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

from gapmap.palette import GAP_WORD, HAS_FILL, NOWHERE_FILL
from gapmap.staticmap import (
    A4_LANDSCAPE_IN,
    STATUS_COLOURS,
    STATUS_HATCHES,
    TextColumn,
    _fit_title,
    _new_figure,
    demo_badge,
    plain_text,
    prepare_layers,
    snapshot_figure,
    sources_line,
    text_lines,
    wrap_measured,
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
GAP_ROWS_PER_PAGE = 28
MATRIX_ROWS_PER_PAGE = 24
#: Above this many areas the pack's gap table has one row per area (the long table is in the XLSX).
COMPACT_GAP_TABLE_ABOVE = 30
#: Paragraphs of up to this many lines are not split across method pages.
KEEP_TOGETHER_LINES = 6
_LEFT = 0.05
_RIGHT = 0.95


# --------------------------------------------------------------------------- page furniture


def _page(title: str, *, today: date, is_demo: bool, page_label: str = "") -> Figure:
    """A blank A4 landscape page with a heading, a footer and the demo badge when needed."""
    fig = _new_figure(A4_LANDSCAPE_IN)
    _fit_title(fig, title, left=_LEFT, right=0.72 if is_demo else _RIGHT, y=0.94, size=17)
    if is_demo:
        demo_badge(fig, _RIGHT, 0.94, fontsize=13)
    fig.text(
        _LEFT,
        0.03,
        f"{CROWN_COPYRIGHT.format(year=today.year)}. {ONS_ATTRIBUTION}",
        fontsize=7,
        color="#444444",
    )
    if page_label:
        fig.text(_RIGHT, 0.03, page_label, fontsize=7, color="#444444", ha="right")
    return fig


class _Flow(TextColumn):
    """Top-down text across the page that starts a new page when the current one is full."""

    def __init__(self, new_page: Callable[[], Figure], top: float = 0.88, bottom: float = 0.08) -> None:
        self.new_page = new_page
        self.top, self.bottom = top, bottom
        self.pages: list[Figure] = []
        self._start()
        super().__init__(
            height_in=self.fig.get_figheight(), width_chars=150, chars_at_pt=10, spacing=1.35, y=top
        )

    def _start(self) -> None:
        self.fig = self.new_page()
        self.pages.append(self.fig)
        self.y = self.top

    def _make_room(self, fontsize: float, lines: int = 1) -> None:
        # A short paragraph moves whole to the next page rather than leave a line behind;
        # a long one breaks where the page ends.
        needed = lines if lines <= KEEP_TOGETHER_LINES else 1
        if self.y - self._step(fontsize, needed) < self.bottom and self.y < self.top:
            self._start()

    def _draw_line(self, x: float, line: str, **props: Any) -> None:
        self.fig.text(_LEFT + x, self.y, line, **props)

    def _figure(self) -> Figure:
        return self.fig

    def _width_in(self, indent: float) -> float:
        return (_RIGHT - _LEFT - indent) * self.fig.get_figwidth()

    def heading(self, s: str) -> None:
        # Room for the heading and a short paragraph under it, so no heading ends a page.
        if self.y - (2 + KEEP_TOGETHER_LINES) * self._step(12) < self.bottom:
            self._start()
        self.y -= self._step(12) * 0.4
        self.text(s, fontsize=12.5, weight="bold", gap=0.004)


# --------------------------------------------------------------------------- tables


def _draw_table(
    fig: Figure,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    top: float = 0.86,
    row_h: float = 0.026,
    header_h: float = 0.04,
    fontsize: float = 8,
    header_fontsize: float | None = None,
    fills: Sequence[Sequence[tuple[str, str] | None]] | None = None,
    align: Sequence[str] | None = None,
    groups: Sequence[tuple[int, int, str]] = (),
    bold_rows: Sequence[int] = (),
) -> None:
    """A plain table in figure coordinates: bold header, light rules, optional (colour, hatch) fills.

    `groups` are spanning labels (first column, last column, text) drawn above the header;
    `align` per column is "left", "right" or "center".
    """
    ax = fig.add_axes((_LEFT, 0.07, _RIGHT - _LEFT, 0.93 - 0.07))
    ax.set_axis_off()
    ax.set_xlim(_LEFT, _RIGHT)
    ax.set_ylim(0.07, 0.93)
    total = sum(widths)
    xs = [_LEFT]
    for w in widths:
        xs.append(xs[-1] + w / total * (_RIGHT - _LEFT))
    align = list(align or ["left"] * len(header))

    def x_for(j: int) -> float:
        if align[j] == "center":
            return (xs[j] + xs[j + 1]) / 2
        return xs[j] + 0.004 if align[j] == "left" else xs[j + 1] - 0.004

    y = top
    group_h = 0.03
    for first, last, label in groups:
        ax.add_patch(
            Rectangle(
                (xs[first] + 0.002, y - group_h),
                xs[last + 1] - xs[first] - 0.004,
                group_h,
                facecolor="#bdbdbd",
                edgecolor="none",
            )
        )
        ax.text(
            (xs[first] + xs[last + 1]) / 2,
            y - group_h / 2,
            label,
            fontsize=fontsize + 1,
            fontweight="bold",
            ha="center",
            va="center",
        )
    if groups:
        y -= group_h
    ax.add_patch(
        Rectangle((_LEFT, y - header_h), _RIGHT - _LEFT, header_h, facecolor="#e6e6e6", edgecolor="none")
    )
    for j, h in enumerate(header):
        ax.text(
            x_for(j),
            y - header_h / 2,
            h,
            fontsize=header_fontsize or fontsize,
            fontweight="bold",
            va="center",
            ha=align[j],
            multialignment=align[j],
            linespacing=1.1,
        )
    y -= header_h
    # Fills go into one collection per hatch (thousands of add_patch calls are slow), and a
    # white plate under each word on a hatched cell keeps it legible.
    fills_by_hatch: dict[str, tuple[list[Rectangle], list[str]]] = {}
    plates: list[Rectangle] = []
    char_w = fontsize * 0.62 / 72 / fig.get_figwidth()  # a bold character's width, figure fraction
    rules = []
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            fill = fills[i][j] if fills else None
            if fill is not None:
                colour, hatch = fill
                rects, colours = fills_by_hatch.setdefault(hatch, ([], []))
                rects.append(Rectangle((xs[j], y - row_h), xs[j + 1] - xs[j], row_h))
                colours.append(colour)
                if hatch and value:
                    w = min(len(value) * char_w + 0.006, xs[j + 1] - xs[j])
                    x0 = {"left": xs[j] + 0.001, "right": xs[j + 1] - 0.001 - w}.get(
                        align[j], (xs[j] + xs[j + 1] - w) / 2
                    )
                    plates.append(Rectangle((x0, y - row_h * 0.8), w, row_h * 0.6))
            ax.text(
                x_for(j),
                y - row_h / 2,
                value,
                fontsize=fontsize,
                va="center",
                ha=align[j],
                fontweight="bold" if fill is not None or i in bold_rows else "normal",
                zorder=3,
            )
        rules.append(y - row_h)
        y -= row_h
    for hatch, (rects, colours) in fills_by_hatch.items():
        ax.add_collection(
            PatchCollection(
                rects, facecolors=colours, edgecolors="white", linewidths=0.8, hatch=hatch or None,
                hatchcolor="#2b2b2b", zorder=1,
            )
        )  # fmt: skip
    if plates:
        ax.add_collection(PatchCollection(plates, facecolors="white", edgecolors="none", zorder=2))
    if rules:
        ax.hlines(rules, _LEFT, _RIGHT, colors="#cccccc", linewidths=0.4, zorder=0)


def _numbered(title: str, n: int, total: int) -> str:
    """ "Gap table (2 of 3)" for a table running over several pages, else just the title."""
    return f"{title} ({n} of {total})" if total > 1 else title


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, max(n, 1), size):
        yield range(start, min(start + size, n))


def _status_fill(status: str) -> tuple[str, str]:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"]), STATUS_HATCHES.get(status, "")


# --------------------------------------------------------------------------- pages


# The named partnership of a selection: one definition for every output (`gapmap.view`).
partnership_label = _partnership_label


def _services_counted(dataset: Any, analysis: Any) -> str:
    """ "All services: 60 of 60 in the list; not on the maps: 4 confidential, 1 with no location".

    Says why the maps' marker counts add up to less than the services counted.
    """
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


def _cover(dataset: Any, analysis: Any, *, title: str, today: date) -> Figure:
    is_demo = bool(getattr(dataset, "is_demo", False))
    fig = _page(title, today=today, is_demo=is_demo)
    names = dict(
        zip(dataset.areas["area_code"].astype(str), dataset.areas["area_name"].astype(str), strict=False)
    )
    selection = [str(c) for c in analysis.selection]
    if len(selection) <= 25:
        sel_text = ", ".join(names.get(c, c) for c in selection)
    else:
        sel_text = f"{len(selection)} areas (listed in the gap table)"
    partnership = partnership_label(selection)
    if partnership:
        sel_text = f"{partnership}: {sel_text}"
    summary = analysis.summary or {}
    lines: list[tuple[str, str]] = [
        ("Selection", f"{sel_text} ({len(selection)} area{'s' if len(selection) != 1 else ''})"),
        ("Date", uk_date(today)),
        ("Benchmark profile", analysis.profile.label),
        *([("Caveat", analysis.profile.caveat)] if analysis.profile.caveat else []),
        ("Population", population_line(analysis)),
        ("Services counted", _services_counted(dataset, analysis)),
        ("Inputs", sources_line(dataset).removeprefix("Data sources: ")),
    ]
    y = 0.86
    for label, value in lines:
        colour = "#8a1c1c" if label == "Caveat" else "#111111"
        size, step = (9.0, 0.023) if label == "Caveat" else (10.5, 0.028)
        fig.text(_LEFT, y, label, fontsize=10.5, fontweight="bold", va="top", color=colour)
        wrapped = wrap_measured(
            fig,
            value,
            chars=140,
            room_in=(_RIGHT - _LEFT - 0.17) * fig.get_figwidth(),
            font=FontProperties(size=size),
        )
        for line in wrapped:
            fig.text(_LEFT + 0.17, y, line, fontsize=size, va="top", color=colour)
            y -= step
        y -= 0.008
    if is_demo:
        fig.text(
            _LEFT,
            y,
            DEMO_NOTE,
            fontsize=10.5,
            fontweight="bold",
            color="#b2182b",
            va="top",
        )
        y -= 0.04

    # Headline: the whole selection against every benchmark.
    fig.text(
        _LEFT,
        y - 0.01,
        "Headline: the whole selection against each benchmark",
        fontsize=12.5,
        fontweight="bold",
        va="top",
    )
    whole = analysis.gaps.loc[analysis.gaps["area_code"].astype(str) == "ALL"]
    header = ["Benchmark", "Definition", "Required", "Provided", "Share", "Status"]
    rows, fills = [], []
    for bench in analysis.profile.benchmarks:
        r = whole.loc[whole["benchmark_id"] == bench.id]
        rec = r.iloc[0] if len(r) else {}
        status = str(rec.get("status", "no_data")) if len(r) else "no_data"
        ratio = rec.get("ratio") if len(r) else None
        if bench.is_presence:
            # A presence rule is a count ("5 services, at least 1 needed"), never a percentage.
            required = f"at least {number(rec.get('required'))}" if len(r) else "-"
            provided = services_count(rec.get("provided")) if len(r) else "-"
            share = ""
        else:
            required = number(rec.get("required")) if len(r) else "-"
            provided = number(rec.get("provided")) if len(r) else "-"
            share = percent(ratio)
        rows.append(
            [
                bench.label,
                textwrap.shorten(benchmark_definition(bench), 60, placeholder="…"),
                required,
                provided,
                share,
                status_label(status),
            ]
        )
        fills.append([None] * 5 + [_status_fill(status)])
    # Rows shrink (to a floor) when a long caveat or selection leaves less room, so the table,
    # the patchwork line and the contents line stay above the footer.
    room = (y - 0.05) - 0.04 - 0.15
    row_h = max(0.02, min(0.03, room / max(len(rows), 1)))
    _draw_table(
        fig,
        header,
        rows,
        [2.2, 3.2, 0.9, 0.9, 0.7, 1.0],
        top=y - 0.05,
        fills=fills,
        align=["left", "left", "right", "right", "right", "left"],
        fontsize=max(7.5, 9 * row_h / 0.03),
        row_h=row_h,
    )
    y_after = y - 0.05 - 0.04 - row_h * len(rows) - 0.03
    index = summary.get("patchwork_index")
    gaps_n = summary.get("patchwork_gaps")
    if index is not None:
        fig.text(
            _LEFT,
            y_after,
            f"Patchwork index: {number(index)}  ({gaps_n} tier x cohort gaps across the selection; "
            "0 = every area has what any area has).",
            fontsize=10,
            va="top",
        )
        y_after -= 0.03
    fig.text(
        _LEFT,
        max(y_after, 0.08),
        "Contents: cover · maps (one per benchmark, then the patchwork) · "
        "patchwork matrix · gap table · method and sources",
        fontsize=9,
        color="#333333",
        va="top",
    )
    return fig


def _matrix_pages(dataset: Any, analysis: Any, *, today: date) -> Iterator[Figure]:
    config = dataset.config
    cov = analysis.coverage
    is_demo = bool(getattr(dataset, "is_demo", False))
    cells = [(t, k) for t in config.tiers for k in config.cohorts]
    areas = cov[["area_code", "area_name"]].drop_duplicates("area_code").reset_index(drop=True)
    lookup = {(str(r.area_code), r.tier, r.cohort): r for r in cov.itertuples(index=False)}
    header = [
        "Area",
        *[
            "\n".join(textwrap.wrap(config.cohorts[k].get("label", k), 11, break_long_words=False)[:3])
            for _, k in cells
        ],
        "Gaps",
    ]
    n_cohorts = len(config.cohorts)
    groups = [
        (1 + i * n_cohorts, (i + 1) * n_cohorts, config.tiers[t].get("label", t))
        for i, t in enumerate(config.tiers)
    ]
    chunks = list(_chunks(len(areas), MATRIX_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        rows, fills = [], []
        for i in chunk:
            code, name = str(areas.at[i, "area_code"]), str(areas.at[i, "area_name"])
            row, fill, gaps = [textwrap.shorten(name, 26, placeholder="…")], [None], 0
            for t, k in cells:
                rec = lookup.get((code, t, k))
                if rec is None:
                    row.append("")
                    fill.append(None)
                elif bool(rec.patchwork_gap):
                    row.append(GAP_WORD)
                    fill.append((STATUS_COLOURS["red"], "///"))
                    gaps += 1
                elif rec.services > 0:
                    row.append(str(int(rec.services)))
                    fill.append((HAS_FILL, ""))
                else:
                    row.append("0")
                    fill.append((NOWHERE_FILL, ""))
            row.append(str(gaps))
            fill.append(None)
            rows.append(row)
            fills.append(fill)
        label = _numbered("Patchwork matrix", n, len(chunks))
        fig = _page(label, today=today, is_demo=is_demo)
        intro = (
            f"Number of services in each prevention tier x cohort. {GAP_WORD} (red, hatched): none here "
            "although another area of the selection has at least one. Grey 0: none anywhere in the "
            "selection. Gaps: the area's number of GAP cells."
        )
        text_lines(
            fig,
            intro,
            x=_LEFT,
            y=0.895,
            chars=165,
            step=0.022,
            right=_RIGHT,
            fontsize=9,
            va="center",
            color="#333333",
        )
        _draw_table(
            fig,
            header,
            rows,
            [2.2] + [1.0] * len(cells) + [0.6],
            top=0.85,
            header_h=0.075,
            # Few areas: taller rows, easier to read on a projector; many: 24 rows a page.
            row_h=min(0.045, 0.68 / max(len(rows), 1)),
            fontsize=7.5 if len(rows) <= 12 else 7,
            header_fontsize=6,
            fills=fills,
            groups=groups,
            align=["left"] + ["center"] * (len(cells) + 1),
        )
        yield fig


def _compact_gap_rows(analysis: Any) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(area codes with the whole selection first, area-scope benchmark ids, records by code)."""
    gaps = analysis.gaps
    bench_ids = [b.id for b in analysis.profile.benchmarks if b.scope == "area"]
    codes = ["ALL", *[c for c in dict.fromkeys(gaps["area_code"].astype(str)) if c != "ALL"]]
    records: dict[str, dict[str, Any]] = {c: {} for c in codes}
    for rec in gaps.to_dict("records"):
        if rec["benchmark_id"] in bench_ids:
            records.setdefault(str(rec["area_code"]), {})[rec["benchmark_id"]] = rec
    return codes, bench_ids, [records[c] for c in codes]


def _compact_gap_table_pages(dataset: Any, analysis: Any, *, today: date) -> Iterator[Figure]:
    """Many areas: one row per area, one column per area benchmark (share and status word).

    The long table (denominator, required, provided, shortfall) would run to dozens of pages
    for a region or England; it is in gaps.xlsx / gaps.csv.
    """
    is_demo = bool(getattr(dataset, "is_demo", False))
    codes, bench_ids, records = _compact_gap_rows(analysis)
    labels = {b.id: b.label for b in analysis.profile.benchmarks}
    header = ["Area", *["\n".join(textwrap.wrap(labels[b], 22)[:2]) for b in bench_ids]]
    chunks = list(_chunks(len(codes), GAP_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        rows, fills = [], []
        for i in chunk:
            by_bench = records[i]
            any_rec = next(iter(by_bench.values()), {})
            area = "Whole selection" if codes[i] == "ALL" else str(any_rec.get("area_name", codes[i]))
            row, fill = [textwrap.shorten(area, 34, placeholder="…")], [None]
            for b in bench_ids:
                rec = by_bench.get(b)
                status = str(rec["status"]) if rec else "no_data"
                ratio = rec["ratio"] if rec else None
                row.append(f"{percent(ratio)}  {status_label(status)}")
                fill.append(_status_fill(status))
            rows.append(row)
            fills.append(fill)
        label = _numbered("Gap table", n, len(chunks))
        fig = _page(label, today=today, is_demo=is_demo)
        intro = (
            f"{len(codes) - 1} areas: each cell is the share of the benchmark provided (provided ÷ required) "
            "and its status. Denominators, required, provided and shortfall for every area are in "
            "gaps.xlsx and gaps.csv."
        )
        text_lines(
            fig,
            intro,
            x=_LEFT,
            y=0.895,
            chars=175,
            step=0.02,
            right=_RIGHT,
            fontsize=8.5,
            va="center",
            color="#333333",
        )
        _draw_table(
            fig,
            header,
            rows,
            [2.6] + [1.5] * len(bench_ids),
            top=0.85,
            header_h=0.05,
            fills=fills,
            bold_rows=[k for k, i in enumerate(chunk) if codes[i] == "ALL"],
            align=["left"] * (1 + len(bench_ids)),
        )
        yield fig


def _gap_table_pages(dataset: Any, analysis: Any, *, today: date) -> Iterator[Figure]:
    if len(analysis.selection) > COMPACT_GAP_TABLE_ABOVE:
        yield from _compact_gap_table_pages(dataset, analysis, today=today)
        return
    is_demo = bool(getattr(dataset, "is_demo", False))
    gaps = analysis.gaps
    benches = {b.id: b for b in analysis.profile.benchmarks}
    header = ["Area", "Benchmark", "Denominator", "Required", "Provided", "Share", "Shortfall", "Status"]
    chunks = list(_chunks(len(gaps), GAP_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        rows, fills = [], []
        for i in chunk:
            r = gaps.iloc[i]
            status = str(r["status"])
            area = "Whole selection" if str(r["area_code"]) == "ALL" else str(r["area_name"])
            bench = benches.get(str(r["benchmark_id"]))
            presence = bench is not None and bench.is_presence
            rows.append(
                [
                    textwrap.shorten(area, 30, placeholder="…"),
                    textwrap.shorten(str(r["benchmark_label"]), 36, placeholder="…"),
                    "" if presence else number(r["denominator"]),
                    f"at least {number(r['required'])}" if presence else number(r["required"]),
                    services_count(r["provided"]) if presence else number(r["provided"]),
                    "" if presence else percent(r["ratio"]),
                    "" if presence else number(r["shortfall"]),
                    status_label(status),
                ]
            )
            fills.append([None] * 7 + [_status_fill(status)])
        label = _numbered("Gap table", n, len(chunks))
        fig = _page(label, today=today, is_demo=is_demo)
        intro = (
            "Share = provided ÷ required. Whole selection rows sum the selected areas. 'At least' rules "
            "count services. Statuses: " + "; ".join(status_legend(dataset.config).values()) + "."
        )
        text_lines(
            fig,
            intro,
            x=_LEFT,
            y=0.895,
            chars=175,
            step=0.02,
            right=_RIGHT,
            fontsize=8.5,
            va="center",
            color="#333333",
        )
        whole_rows = [k for k, i in enumerate(chunk) if str(gaps.iloc[i]["area_code"]) == "ALL"]
        _draw_table(
            fig,
            header,
            rows,
            [2.4, 2.8, 1.1, 1.0, 1.0, 0.7, 1.0, 1.1],
            top=0.85,
            fills=fills,
            bold_rows=whole_rows,
            align=["left", "left", "right", "right", "right", "right", "right", "left"],
        )
        yield fig


def _method_pages(dataset: Any, analysis: Any, *, today: date) -> list[Figure]:
    config = dataset.config
    is_demo = bool(getattr(dataset, "is_demo", False))
    flow = _Flow(lambda: _page("Method and sources", today=today, is_demo=is_demo))
    profile = analysis.profile
    flow.heading(f"Benchmarks: {profile.label}")
    flow.text(
        "For each area: required = denominator x target ÷ per; provided = the capacity (or number) of "
        "the services serving the area; share = provided ÷ required; shortfall = required - provided "
        "where positive. A service serving several areas is shared between them in proportion to each "
        "area's denominator. 'At least one' standards are scored for the whole selection only.",
        fontsize=9.5,
        gap=0.006,
    )
    if profile.caveat:
        flow.text(f"Caveat: {profile.caveat}", fontsize=9.5, weight="bold", colour="#8a1c1c", gap=0.006)
    entries = (analysis.summary or {}).get("benchmarks", {})
    for bench in profile.benchmarks:
        flow.text(f"{bench.label}: {benchmark_definition(bench)}.", fontsize=9.5, weight="bold")
        if bench.scope == "area":
            provenance = entries.get(bench.id, {}).get("denominator_source", "")
            # Demand benchmarks (gapmap.demand) divide a demand measure, not a population.
            basis = "Demand" if entries.get(bench.id, {}).get("basis") == "demand" else "Population"
            flow.text(f"{basis}: {provenance}.", fontsize=8.5, indent=0.02, gap=0.002)
        flow.text(f"Source: {citation_text(bench)}", fontsize=8.5, style="italic", indent=0.02, gap=0.004)
    chosen = (analysis.summary or {}).get("population_vintage", "")
    chosen_text = (
        "No other vintage was chosen for this pack."
        if not chosen or chosen.startswith("most recent")
        else f"For this pack the {chosen} figures were chosen where the file has them."
    )
    flow.text(
        "Population rule: each denominator is read from the most recent official estimate in the "
        "population file (Census 2021 and mid-year estimates differ by about 2%). " + chosen_text,
        fontsize=8.5,
        gap=0.006,
    )
    words = status_legend(config)
    flow.text(
        "Status: " + "; ".join(words[s] for s in ("green", "amber", "red", "no_data")) + ". Every colour "
        "is also shown with a word and a pattern (hatched = not met; dotted = partly met).",
        fontsize=9.5,
        gap=0.004,
    )
    flow.heading("Prevention tiers")
    for tid, tier in config.tiers.items():
        flow.text(f"{tier.get('label', tid)}: {tier.get('description', '')}", fontsize=9.5, gap=0.002)
    flow.heading("Cohorts")
    flow.text("; ".join(c.get("label", cid) for cid, c in config.cohorts.items()) + ".", fontsize=9.5)
    flow.heading("The patchwork")
    flow.text(
        "A patchwork gap is a prevention tier x cohort cell (for example secondary x perpetrators) that "
        "an area lacks while at least one other area of the selection has a service in it. "
        "Patchwork index = number of gaps ÷ (areas in the selection x cells provided somewhere in the "
        "selection): 0 when every area has everything that any area has, close to 1 when each such cell "
        "is provided in one area only. The population-weighted index weights each area's gaps by "
        "its population.",
        fontsize=9.5,
    )
    flow.heading("Confidential services")
    flow.text(
        CONFIDENTIAL_NOTE + " Their locations are left out of every map, table and file in this pack.",
        fontsize=9.5,
    )
    flow.heading("Inputs and attribution")
    flow.text(sources_line(dataset), fontsize=9.5)
    flow.text(f"{CROWN_COPYRIGHT.format(year=today.year)}. {ONS_ATTRIBUTION}", fontsize=9.5)
    if is_demo:
        flow.text(
            DEMO_NOTE,
            fontsize=9.5,
            weight="bold",
            colour="#b2182b",
        )
    return flow.pages


# --------------------------------------------------------------------------- the pack


def _small_access_page_count(analysis: Any) -> int:
    result = getattr(analysis, "small_area_access", None)
    if result is None or result.scores.empty:
        return 0
    from gapmap.access_map import mapped_types

    n_districts = result.districts["district_code"].nunique()
    return len(mapped_types(result)) + len(list(_chunks(n_districts, GAP_ROWS_PER_PAGE)))


def _small_access_pages(dataset: Any, analysis: Any, *, today: date) -> Iterator[Figure]:
    """Small-area access: a map per mapped service type, then residents beyond the threshold per
    district (pages by district, never by small area; the LSOA table is small_area_access.csv)."""
    result = getattr(analysis, "small_area_access", None)
    if result is None or result.scores.empty:
        return
    from gapmap.access_map import mapped_types, small_access_figures

    yield from small_access_figures(dataset, analysis, today=today, figsize=A4_LANDSCAPE_IN).values()
    types = mapped_types(result)
    labels = {t: getattr(dataset.config.service_types.get(t), "label", t) for t in types}
    frame = result.districts[result.districts["service_type"].isin(types)]
    districts = list(dict.fromkeys(frame["district_code"]))
    cells = {(r.district_code, r.service_type): r for r in frame.itertuples()}
    names = dict(zip(frame["district_code"], frame["district_name"], strict=False))
    unit = result.unit
    header = [
        "District",
        "Residents",
        *[f"Beyond {number(result.settings.beyond)} {unit}: {labels[t]}" for t in types],
    ]
    chunks = list(_chunks(len(districts), GAP_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        rows = []
        for i in chunk:
            code = districts[i]
            first = next(cells[(code, t)] for t in types if (code, t) in cells)
            row = [textwrap.shorten(str(names[code]), 34, placeholder="…"), number(round(first.population))]
            for t in types:
                r = cells.get((code, t))
                row.append(f"{percent(r.share_beyond)} ({number(round(r.population_beyond))})" if r else "–")
            rows.append(row)
        fig = _page(
            _numbered("Residents far from a service", n, len(chunks)),
            today=today,
            is_demo=bool(getattr(dataset, "is_demo", False)),
        )
        text_lines(
            fig,
            result.describe(),
            x=_LEFT,
            y=0.895,
            chars=175,
            step=0.02,
            right=_RIGHT,
            fontsize=8.5,
            va="center",
            color="#333333",
        )
        _draw_table(
            fig,
            header,
            rows,
            [2.6, 1.2] + [2.0] * len(types),
            top=0.85,
            header_h=0.05,
            align=["left", "right"] + ["right"] * len(types),
        )
        yield fig


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


def _cliff_pages(dataset: Any, cliff: Any, *, today: date) -> Iterator[Figure]:
    """The services whose funding ends by the date, then the whole selection before and after."""
    is_demo = bool(getattr(dataset, "is_demo", False))
    rows = [
        [
            textwrap.shorten(str(r["Service"]), 40, placeholder="…"),
            textwrap.shorten(str(r["Type"]), 26, placeholder="…"),
            str(r["Funding ends"]),
            textwrap.shorten(str(r["Areas affected"]), 48, placeholder="…"),
            textwrap.shorten(str(r["Benchmarks affected"]), 48, placeholder="…"),
        ]
        for r in cliff.services.to_dict("records")
    ]
    chunks = list(_chunks(len(rows), GAP_ROWS_PER_PAGE))
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(_numbered("Funding cliff", n, len(chunks)), today=today, is_demo=is_demo)
        fig.text(_LEFT, 0.895, cliff.headline, fontsize=10, va="center", color="#333333")
        if rows:
            _draw_table(
                fig,
                ["Service", "Type", "Funding ends", "Areas affected", "Benchmarks affected"],
                [rows[i] for i in chunk],
                [2.6, 1.7, 1.2, 3.0, 3.0],
                top=0.85,
                align=["left"] * 5,
            )
        yield fig
    fig = _page("Funding cliff: the whole selection before and after", today=today, is_demo=is_demo)
    # Two-line headers ("Provided" over "before") keep nine columns inside the margins.
    columns = [str(c).replace(" before", "\nbefore").replace(" after", "\nafter") for c in cliff.figures]
    body = [[str(v) for v in r] for r in cliff.figures.itertuples(index=False, name=None)]
    widths = [2.6] + [1.0] * (len(columns) - 1)
    _draw_table(fig, columns, body, widths, top=0.86, header_h=0.05, align=["left"] * len(columns))
    yield fig


def _contents_page(entries: Sequence[tuple[str, int]], *, is_demo: bool, today: date) -> Figure:
    """'Contents': each section's title and the page it starts on."""
    fig = _page("Contents", today=today, is_demo=is_demo)
    y = 0.86
    for title, page in entries:
        fig.text(_LEFT, y, textwrap.shorten(title, 110, placeholder="…"), fontsize=11, va="center")
        fig.text(_RIGHT, y, f"page {page}", fontsize=11, va="center", ha="right")
        y -= 0.04
    return fig


def _extra_pages(dataset: Any, analysis: Any, extras: Any, *, today: date) -> list[Figure]:
    """Commissioning pages (options, costs, scenario: `gapmap.pack_commissioning`), if any."""
    if extras is None:
        return []
    from gapmap.pack_commissioning import commissioning_pages

    return commissioning_pages(dataset, analysis, extras, today=today)


def _sections(
    dataset: Any, analysis: Any, *, title: str, today: date, extras: Any = None
) -> list[tuple[str, list[Figure]]]:
    """The pack's sections in order: (title for the contents list, pages)."""
    sections: list[tuple[str, list[Figure]]] = [
        ("Cover: headline figures", [_cover(dataset, analysis, title=title, today=today)])
    ]
    layers = prepare_layers(dataset, analysis, simplify=True)
    for bench in analysis.profile.benchmarks:
        if bench.scope != "area":
            continue
        fig = snapshot_figure(dataset, analysis, benchmark_id=bench.id, layers=layers, today=today)
        sections.append((f"Map: {bench.label}", [fig]))
    patch = snapshot_figure(
        dataset,
        analysis,
        colour_by="patchwork",
        layers=layers,
        today=today,
        title="The patchwork: areas missing what others in the selection have",
    )
    sections.append(("Map: the patchwork", [patch]))
    small = list(_small_access_pages(dataset, analysis, today=today))
    if small:
        sections.append(("Small areas: residents far from a service", small))
    sections.append(("Patchwork matrix (tier × cohort)", list(_matrix_pages(dataset, analysis, today=today))))
    sections.append(("Gap table", list(_gap_table_pages(dataset, analysis, today=today))))
    cliff = _cliff(dataset, analysis)
    if cliff is not None:
        sections.append(("Funding cliff", list(_cliff_pages(dataset, cliff, today=today))))
    extra = _extra_pages(dataset, analysis, extras, today=today)
    if extra:
        # Issue 12: per area what is missing, what would fill it and its cost; the catalogue;
        # a scenario's before and after.
        sections.append(("Closing the gaps: options, costs and scenario", extra))
    sections.append(("Method and sources", _method_pages(dataset, analysis, today=today)))
    return sections


def pack_figures(
    dataset: Any,
    analysis: Any,
    *,
    title: str | None = None,
    today: date | None = None,
    extras: Any = None,
) -> Iterator[Figure]:
    """The pack's pages: the cover, a contents list, then each section; every page numbered.

    Pages are made first (the contents list needs each section's first page), then
    "Page n of N" is stamped at the foot of each.
    """
    today = today or date.today()
    title = title or DEFAULT_TITLE
    sections = _sections(dataset, analysis, title=title, today=today, extras=extras)
    entries, page = [], 3  # after the cover and the contents page
    for name, figs in sections[1:]:
        entries.append((name, page))
        page += len(figs)
    contents = _contents_page(entries, is_demo=bool(getattr(dataset, "is_demo", False)), today=today)
    pages = [*sections[0][1], contents, *(f for _, figs in sections[1:] for f in figs)]
    for n, fig in enumerate(pages, start=1):
        fig.text(0.5, 0.008, f"Page {n} of {len(pages)}", fontsize=7, color="#444444", ha="center")
    yield from pages


def page_count(dataset: Any, analysis: Any, extras: Any = None) -> int:
    """How many pages `pack_figures` yields (for a progress bar)."""
    n_maps = sum(b.scope == "area" for b in analysis.profile.benchmarks) + 1
    n_areas = analysis.coverage["area_code"].nunique()
    n_matrix = len(list(_chunks(n_areas, MATRIX_ROWS_PER_PAGE)))
    if len(analysis.selection) > COMPACT_GAP_TABLE_ABOVE:
        n_gaps = len(list(_chunks(len(_compact_gap_rows(analysis)[0]), GAP_ROWS_PER_PAGE)))
    else:
        n_gaps = len(list(_chunks(len(analysis.gaps), GAP_ROWS_PER_PAGE)))
    n_method = len(_method_pages(dataset, analysis, today=date.today()))
    cliff = _cliff(dataset, analysis)
    n_cliff = 0 if cliff is None else len(list(_chunks(len(cliff.services), GAP_ROWS_PER_PAGE))) + 1
    n_extra = len(_extra_pages(dataset, analysis, extras, today=date.today()))
    return 2 + n_maps + n_matrix + n_gaps + n_cliff + n_extra + n_method + _small_access_page_count(analysis)


def partnership_pack(
    dataset: Any,
    analysis: Any,
    *,
    title: str | None = None,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    extras: Any = None,
) -> bytes:
    """The whole pack as PDF bytes (vector, searchable text).

    `progress(done, total)` is called after each page (a county takes a few seconds, all of
    England about a minute), so the app can show a progress bar.
    """
    total = page_count(dataset, analysis, extras) if progress is not None else 0
    buf = io.BytesIO()
    metadata = {"Title": title or DEFAULT_TITLE, "Creator": "gapmap"}
    # TrueType fonts (type 42) keep the PDF's text searchable/extractable; rc_context restores it.
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(buf, metadata=metadata) as pdf:
        for done, fig in enumerate(
            pack_figures(dataset, analysis, title=title, today=today, extras=extras), start=1
        ):
            pdf.savefig(plain_text(fig), facecolor="white")
            if progress is not None:
                progress(done, max(total, done))
    return buf.getvalue()
