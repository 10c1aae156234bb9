"""What the page shows, as plain data: tables, labels and short texts built from an analysis.

Pure functions (DataFrame in, DataFrame or str out) so the Streamlit page, the CLI and the
exports can share them. Nothing here draws a widget or imports streamlit: `app.py` only
decides where each table goes.

Safety: every function that puts user text (file, area, service names) into markdown goes
through `md`, and into HTML through `html.escape`. Confidential services (refuges) never
show a location: `services_table` withholds their postcode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from gapmap import wording
from gapmap.palette import EVIDENCE_COLOURS, EVIDENCE_SYMBOLS, STATUS_COLOURS, text_on
from gapmap.privacy import redact_confidential
from gapmap.view import areas_below, default_benchmark
from gapmap.wording import STATUS_LABELS as STATUS_WORDS
from gapmap.wording import uk_date

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from gapmap.config import Benchmark, Config, Profile
    from gapmap.dataset import Dataset
    from gapmap.engine import GapAnalysis
    from gapmap.errors import ValidationReport

__all__ = [
    "ALL_AREAS",
    "COHORT_SHORT",
    "CUSTOM_AREAS",
    "EXPORT_ITEMS",
    "HOURS_WORDS",
    "PATCH_MARKS",
    "STATUS_ORDER",
    "UNIT_WORDS",
    "WITHHELD",
    "Metric",
    "benchmark_lines",
    "cell_name",
    "cohorts_table",
    "comparison_lists",
    "demand_metrics",
    "evidence_mark",
    "evidence_table",
    "export_file",
    "filter_html",
    "gaps_table",
    "headline_metrics",
    "index_text",
    "kicker_html",
    "label_of",
    "md",
    "most_gapped_cell",
    "moved_table",
    "nearest_services_table",
    "opened_or_closed_cells",
    "patchwork_by_tier",
    "patchwork_grid",
    "patchwork_table",
    "population_rule_text",
    "present_vintages",
    "report_frame",
    "saved_version_label",
    "selection_options",
    "services_table",
    "serving_table",
    "sources_table",
    "status_rule_text",
    "status_word",
    "style_evidence",
    "style_patchwork",
    "style_status",
    "tiers_table",
    "uk_date",
    "uk_datetime",
    "versions_table",
]

#: Capacity units and opening hours as words: the one copy is in `gapmap.wording`.
UNIT_WORDS = wording.UNIT_LABELS
HOURS_WORDS = wording.HOURS_LABELS
#: Worst first: the order gap tables list statuses in within one benchmark.
STATUS_ORDER = {"red": 0, "amber": 1, "green": 2, "no_data": 3}
#: Patchwork cell marks: a sign and a word, so the table reads without colour.
PATCH_MARKS = {"has": "✔ {n}", "gap": "✖ GAP", "nowhere": "– none anywhere"}
#: Cohort names short enough for a table header on a projector.
COHORT_SHORT = {
    "victims": "Adult victims",
    "cyp": "Children & young people",
    "perpetrators": "Perpetrators",
    "whole_family": "Whole families",
    "community": "Community",
}
#: What a confidential service shows instead of its postcode.
WITHHELD = "Withheld (confidential)"
#: Selection choices that are not a named partnership.
ALL_AREAS = "__all__"
CUSTOM_AREAS = "__custom__"
#: The files the page offers for the current view: (kind, label), in the order shown.
EXPORT_ITEMS: tuple[tuple[str, str], ...] = (
    ("png", "Map snapshot (PNG, 300 dpi)"),
    ("pdf", "Map snapshot (PDF)"),
    ("html", "Interactive map (HTML, works offline)"),
    ("xlsx", "Gap tables (Excel)"),
    ("csv", "Gap table (CSV)"),
    ("pack", "Partnership pack (PDF)"),
)
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~$&:")


# --------------------------------------------------------------------------- words
def md(text: Any) -> str:
    """User text (file, area, service names) made safe inside Streamlit markdown: shown as typed.

    Streamlit already refuses raw HTML in markdown; escaping every markdown special also
    stops names being read as links, emphasis, headings or tags: `md("<b>")` is `\\<b\\>`.
    """
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


def label_of(table: Mapping[str, Mapping[str, str]], key: str) -> str:
    """The label of `key` in a vocabulary table (tiers, cohorts ...), else the key itself."""
    return table.get(key, {}).get("label", key)


def status_word(status: str) -> str:
    """'red' -> 'Not met': the word that always accompanies a status colour."""
    return wording.status_label(status)


def uk_datetime(iso: str) -> str:
    """'2026-11-22T09:30:00Z' -> '22 November 2026, 09:30 UTC' (the text itself if unparseable)."""
    try:
        when = pd.Timestamp(iso)
    except ValueError:
        return iso
    if pd.isna(when):
        return iso
    return f"{uk_date(when)}, {when:%H:%M} UTC"


def index_text(value: Any) -> str:
    """A patchwork index as every output writes it ('0.25'); '–' when there is none."""
    return wording.number(value)


def kicker_html(choice_label: str, *, fictional: bool, today: date) -> str:
    """The line under the title: demo badge, subject, UK date, and the dataset name (escaped)
    in a span the page shows only on short screens (projectors), where the geography line that
    names it otherwise is hidden for room: the dataset is said once at every size."""
    badge = '<span class="gapmap-demo">Fictional demo data</span>' if fictional else ""
    return (
        f'<div class="gapmap-kicker">{badge}Domestic abuse and sexual violence services · '
        f'{uk_date(today)}<span class="gapmap-kicker-dataset"> · Dataset: {escape(choice_label)}</span></div>'
    )


def filter_html(description: str) -> str:
    """'Counting only: …' under the headline when a service filter is on (escaped)."""
    return f'<div class="gapmap-sub">Counting only: {escape(description)}</div>'


# --------------------------------------------------------------------------- tables
def report_frame(report: ValidationReport) -> pd.DataFrame:
    """Problems as a table an analyst can work through: errors first, then warnings."""
    problems = report.errors + report.warnings
    return pd.DataFrame(
        {
            "Severity": [p.severity.capitalize() for p in problems],
            "File": [p.file for p in problems],
            "Row": [str(p.row) if p.row is not None else "" for p in problems],
            "Column": [p.column or "" for p in problems],
            "What is wrong and how to fix it": [p.message for p in problems],
        }
    )


def _type_labels(service_types: Iterable[str], config: Config) -> list[str]:
    types = config.service_types
    return [types[t].label if t in types else str(t) for t in service_types]


def services_table(services: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Services for display: confidential locations withheld, UK dates, labels not ids.

    Parameters
    ----------
    services
        Normalised services (gapmap.schema SERVICE_COLUMNS), confidential ones included:
        they are listed (they count) with their postcode shown as `WITHHELD`.
    """
    red = redact_confidential(services)
    conf = red["confidential"].astype(bool)
    return pd.DataFrame(
        {
            "Name": red["name"].astype(str),
            "Type": _type_labels(red["service_type"], config),
            "Provider": red["provider"].astype(str),
            "Tiers": [", ".join(t) for t in red["tiers"]],
            "Cohorts": [", ".join(c) for c in red["cohorts"]],
            "Postcode": [WITHHELD if c else p for c, p in zip(conf, red["postcode"], strict=True)],
            "Capacity": [wording.number(c) if pd.notna(c) else "" for c in red["capacity"]],
            "Unit": [
                wording.unit_label(u) or ("services" if u == "count" else "") for u in red["capacity_unit"]
            ],
            "Hours": [wording.hours_label(h) for h in red["hours"]],
            "By and for": [
                ", ".join(g) if isinstance(g, tuple) else "" for g in red.get("by_and_for", [()] * len(red))
            ],
            "Funding ends": [uk_date(d) for d in red["funding_end"]],
        }
    )


def serving_table(serving: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The services serving one area (`engine.services_serving`), with each one's share if known."""
    table = services_table(serving, config)[["Name", "Type", "Provider", "Postcode", "Capacity", "Unit"]]
    if "share" in serving.columns:
        table["Share to this area"] = [wording.percent(s) for s in serving["share"]]
    return table


def gaps_table(analysis: GapAnalysis, *, benchmark_id: str | None = None) -> pd.DataFrame:
    """Benchmark rows in profile order, worst first within each benchmark (then lowest ratio).

    The whole-selection rows (area code "ALL") are kept: they sort with their benchmark. Figures
    are text from `gapmap.wording`, so they read as in the pack and on the maps; a presence rule
    ("at least 1") reads as a count of services, never a percentage.
    """
    g = analysis.gaps
    if benchmark_id is not None:
        g = g[g["benchmark_id"] == benchmark_id]
    bench_order = {b.id: i for i, b in enumerate(analysis.profile.benchmarks)}
    benches = {b.id: b for b in analysis.profile.benchmarks}
    g = g.assign(_bench=g["benchmark_id"].map(bench_order), _status=g["status"].map(STATUS_ORDER))
    g = g.sort_values(["_bench", "_status", "ratio"], kind="stable")
    records = g.to_dict("records")
    presence = [
        benches[r["benchmark_id"]].is_presence if r["benchmark_id"] in benches else False for r in records
    ]
    return pd.DataFrame(
        {
            "Area": g["area_name"].astype(str),
            "Code": g["area_code"].astype(str),
            "Benchmark": g["benchmark_label"].astype(str),
            "Status": [status_word(s) for s in g["status"]],
            "Required": [
                f"at least {wording.number(r['required'])}" if p else wording.number(r["required"])
                for r, p in zip(records, presence, strict=True)
            ],
            "Provided": [
                wording.services_count(r["provided"]) if p else wording.number(r["provided"])
                for r, p in zip(records, presence, strict=True)
            ],
            "% of benchmark": [
                "" if p else wording.percent(r["ratio"]) for r, p in zip(records, presence, strict=True)
            ],
            "Shortfall": [
                "" if p else wording.number(r["shortfall"]) for r, p in zip(records, presence, strict=True)
            ],
            "Denominator": [
                "" if p else wording.number(r["denominator"]) for r, p in zip(records, presence, strict=True)
            ],
            "Population": [
                "" if p else str(r.get("denominator_source", ""))
                for r, p in zip(records, presence, strict=True)
            ],
        }
    )


def cell_name(config: Config, tier: str, cohort: str) -> str:
    """'Secondary · Perpetrators': short enough for a table header on a projector.

    The tier's first word (its label up to any colon); the cohort's `COHORT_SHORT` name,
    else its vocabulary label.
    """
    tier_word = label_of(config.tiers, tier).split(":")[0].split()[0]
    return f"{tier_word} · {COHORT_SHORT.get(cohort, label_of(config.cohorts, cohort))}"


def _patch_mark(services: Any, gap: Any) -> str:
    if gap:
        return PATCH_MARKS["gap"]
    if services > 0:
        return PATCH_MARKS["has"].format(n=int(services))
    return PATCH_MARKS["nowhere"]


def patchwork_table(
    analysis: GapAnalysis, config: Config, area_codes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Areas x (tier · cohort): '✔ n' provided, '✖ GAP' patchwork gap, '– none anywhere'.

    A cell without services that is not a patchwork gap (the engine's `patchwork_gap`) has
    nothing anywhere in the selection. Columns keep the coverage table's cell order; rows
    are indexed by area name ("Area").
    """
    cov = analysis.coverage
    if area_codes is not None:
        cov = cov[cov["area_code"].isin(list(area_codes))]
    marks = [_patch_mark(n, gap) for n, gap in zip(cov["services"], cov["patchwork_gap"], strict=True)]
    cells = [cell_name(config, t, c) for t, c in zip(cov["tier"], cov["cohort"], strict=True)]
    frame = pd.DataFrame({"area_name": cov["area_name"].astype(str), "cell": cells, "mark": marks})
    order = list(dict.fromkeys(frame["cell"]))
    table = frame.pivot(index="area_name", columns="cell", values="mark")
    return table[order].rename_axis(index="Area", columns=None)


def evidence_mark(cls: str) -> str:
    """'★ High', '◆ Moderate', '▽ Low or unrated', '✖ Nothing': symbol and word, never colour alone."""
    return f"{EVIDENCE_SYMBOLS.get(cls, '?')} {wording.EVIDENCE_SHORT.get(cls, cls)}"


def evidence_table(
    analysis: GapAnalysis, config: Config, services: pd.DataFrame, area_codes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Areas x (tier · cohort) of evidence-rated coverage (`gapmap.interventions.evidence_coverage`),
    shaped like `patchwork_table` so `patchwork_by_tier` splits it the same way."""
    from gapmap.interventions import evidence_coverage

    cov = evidence_coverage(analysis, services)
    if area_codes is not None:
        cov = cov[cov["area_code"].isin(list(area_codes))]
    cells = [cell_name(config, t, c) for t, c in zip(cov["tier"], cov["cohort"], strict=True)]
    frame = pd.DataFrame(
        {
            "area_name": cov["area_name"],
            "cell": cells,
            "mark": [evidence_mark(c) for c in cov["evidence_class"]],
        }
    )
    order = list(dict.fromkeys(frame["cell"]))
    table = frame.pivot(index="area_name", columns="cell", values="mark")
    return table[order].rename_axis(index="Area", columns=None)


def patchwork_by_tier(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """A `patchwork_table` split by tier: (tier word, areas x cohorts), in column order.

    Columns are named by cohort alone ("Perpetrators"), so each table is five columns wide.
    """
    groups: dict[str, list[str]] = {}
    for column in table.columns:
        groups.setdefault(str(column).split(" · ", 1)[0], []).append(column)
    return [
        (tier, table[cols].rename(columns=lambda c: str(c).split(" · ", 1)[-1]))
        for tier, cols in groups.items()
    ]


def patchwork_grid(analysis: GapAnalysis, config: Config, area_code: str) -> pd.DataFrame:
    """One area's patchwork as tiers (rows, indexed "Tier") x cohorts (columns); empty if unknown."""
    matrix = patchwork_table(analysis, config, [area_code])
    if matrix.empty:
        return pd.DataFrame()
    # One (tier, cohort) pair per column: pivot on both parts, so no tier overwrites another.
    parts = [str(c).split(" · ", 1) for c in matrix.columns]
    long = pd.DataFrame(
        {"Tier": [p[0] for p in parts], "Cohort": [p[1] for p in parts], "mark": matrix.iloc[0].tolist()}
    )
    grid = long.pivot(index="Tier", columns="Cohort", values="mark")
    grid = grid.reindex(index=list(dict.fromkeys(long["Tier"])), columns=list(dict.fromkeys(long["Cohort"])))
    return grid.rename_axis(index="Tier", columns=None)


def nearest_services_table(analysis: GapAnalysis, config: Config, area_code: str) -> pd.DataFrame:
    """Straight-line km to the nearest service of each type from one area, nearest first."""
    acc = analysis.access[analysis.access["area_code"] == area_code]
    return pd.DataFrame(
        {"km": acc["nearest_km"].round(1), "Service type": _type_labels(acc["service_type"], config)}
    ).sort_values("km", kind="stable")


def most_gapped_cell(analysis: GapAnalysis) -> tuple[str, str] | None:
    """The tier x cohort with the most patchwork gaps in the selection (None if there are none).

    Ties go to the cell that comes first in the coverage table.
    """
    cov = analysis.coverage
    gaps = cov[cov["patchwork_gap"].astype(bool)]
    if gaps.empty:
        return None
    counts = gaps.groupby(["tier", "cohort"], sort=False).size()
    tier, cohort = counts.idxmax()
    return str(tier), str(cohort)


class Metric(NamedTuple):
    """One headline figure: label, value and an optional explanation."""

    label: str
    value: str
    help: str | None = None


def demand_metrics(analysis: GapAnalysis, benchmark_id: str, label: str) -> list[Metric | None]:
    """The four headline figures when the map shows a demand benchmark (`view.demand_choices`).

    Short values, for a projector (the benchmark's name is in the select and the legend):
    1. areas below it (needed against provided), or below / above the expected volume;
    2. the whole selection's share of what is needed or expected, its reading as help;
    3. the demand period; 4. the patchwork index. A benchmark refused for its level (the demand
    table is for larger areas) says so instead of figures.
    """
    index = Metric("Patchwork index", index_text(analysis.summary.get("patchwork_index")))
    entry = analysis.summary.get("demand") or {}
    period = str(((entry.get("benchmarks") or {}).get(benchmark_id) or {}).get("period") or wording.MISSING)
    period_metric = Metric("Demand period", period, f"{label}: figures from the demand table.")
    if benchmark_id in ((entry.get("refused") or {}).get("benchmarks") or ()):
        why = str(entry["refused"].get("reason", ""))
        return [Metric("Areas scored", "None at this level", why), None, period_metric, index]
    gaps = analysis.gaps[analysis.gaps["benchmark_id"] == benchmark_id]
    statuses = gaps.loc[gaps["area_code"] != "ALL", "status"].astype(str)
    n = len(statuses)
    expected = bool(statuses.isin(("low", "expected", "high")).any())
    if expected:
        counted = Metric(
            "Below / above expected",
            f"{int((statuses == 'low').sum())} / {int((statuses == 'high').sum())} of {n}",
            "Below: fewer cases than expected for the population (under-identification?); "
            "above: more (pressure).",
        )
    else:
        counted = Metric("Areas below the benchmark", f"{int(statuses.isin(('red', 'amber')).sum())} of {n}")
    whole = gaps[gaps["area_code"] == "ALL"]
    reading = str(whole["reading"].iat[0]) if len(whole) and "reading" in whole else ""
    ratio = wording.percent(whole["ratio"].iat[0]) if len(whole) else wording.MISSING
    of = "of the expected volume" if expected else "of what demand needs"
    return [
        counted,
        Metric("Whole selection", ratio, f"{ratio} {of}. {reading}".strip()),
        period_metric,
        index,
    ]


def headline_metrics(analysis: GapAnalysis, benchmark: Benchmark) -> list[Metric | None]:
    """The four headline figures for one benchmark (None = leave that column blank).

    1. areas below the benchmark ("3 of 5"; "n/a" when it is scored for the whole selection
       only); 2. the whole selection's ratio; 3. provided / required in the benchmark's unit
    (2 and 3 blank when there is no whole-selection row); 4. the patchwork index.
    """
    gaps = analysis.gaps[analysis.gaps["benchmark_id"] == benchmark.id]
    per_area = gaps[gaps["area_code"] != "ALL"]
    whole = gaps[gaps["area_code"] == "ALL"]
    metrics: list[Metric | None] = []
    if len(per_area):
        short, scored = areas_below(analysis, benchmark.id)
        metrics.append(Metric("Areas below the benchmark", f"{short} of {scored}"))
    else:
        metrics.append(Metric("Areas below the benchmark", "n/a", "Scored for the whole selection only."))
    if len(whole) and benchmark.is_presence:
        w = whole.iloc[0].to_dict()
        metrics.append(Metric("Whole selection", wording.status_label(w["status"])))
        metrics.append(
            Metric(
                "Services present",
                f"{wording.services_count(w['provided'])} (at least {wording.number(w['required'])} needed)",
                wording.REGIONAL_NOTE.capitalize() + "." if benchmark.regional else None,
            )
        )
    elif len(whole):
        w = whole.iloc[0]
        metrics.append(
            Metric(
                "Whole selection",
                wording.percent(w["ratio"]),
                "Provided as a share of what the benchmark requires. Population: "
                + str(w.get("denominator_source", "")),
            )
        )
        unit = wording.unit_label(benchmark.unit)
        metrics.append(
            Metric(
                f"Provided / required{f' ({unit})' if unit else ''}",
                f"{wording.number(w['provided'])} / {wording.number(w['required'])}",
            )
        )
    else:
        metrics += [None, None]
    metrics.append(
        Metric(
            "Patchwork index",
            index_text(analysis.summary.get("patchwork_index")),
            "Share of tier × cohort cells that some areas of the selection have and others lack.",
        )
    )
    return metrics


def versions_table(versions: Sequence[Any]) -> pd.DataFrame:
    """Saved service-list versions (gapmap.storage.SavedVersion) with UK dates."""
    return pd.DataFrame(
        {
            "Version": [v.version_id for v in versions],
            "Saved": [uk_datetime(v.saved_at) for v in versions],
            "Services": [v.row_count for v in versions],
            "Original file": [v.original_name for v in versions],
        }
    )


def saved_version_label(version: Any) -> str:
    """'Saved v0002: list.csv (22 November 2026, 09:30 UTC)' for the dataset chooser."""
    return f"Saved {version.version_id}: {version.original_name} ({uk_datetime(version.saved_at)})"


def selection_options(area_codes: Sequence[str], partnerships: Iterable[Any]) -> dict[str, str]:
    """Choices for "Partnership / areas": id -> label, the default first.

    A partnership covering every area of the dataset (the demo county) comes first, then all
    areas (`ALL_AREAS`), then every partnership found, then `CUSTOM_AREAS` (choose areas).
    """
    found = list(partnerships)
    n_codes = len(set(area_codes))
    options = {p.id: f"{p.label} ({len(p.area_codes)} areas)" for p in found if len(p.area_codes) == n_codes}
    options[ALL_AREAS] = f"All areas in the dataset ({len(area_codes)})"
    options.update({p.id: f"{p.label} ({len(p.area_codes)} areas)" for p in found})
    options[CUSTOM_AREAS] = "Choose areas…"
    return options


def export_file(
    kind: str, dataset: Dataset, analysis: GapAnalysis, *, title: str, today: date, **map_options: Any
) -> tuple[bytes, str, str]:
    """One file of `EXPORT_ITEMS` for the current view: (content, file name, MIME type).

    `map_options` (colour_by, benchmark_id, tier, cohort) go to the map exports, with
    `title`. File names carry the selection, benchmark and ISO date
    (`gapmap.view.export_file_name`). The export modules (matplotlib, openpyxl, pypdf)
    are imported here, when a file is asked for, not when the page starts.
    """
    # Each kind imports only the module that makes it. File names carry the selection, the
    # map's benchmark (or cell) and the ISO date, so two partnerships' files never collide.
    from gapmap.view import export_file_name

    if map_options.get("colour_by") in ("patchwork", "evidence"):
        shown = f"{map_options.get('tier') or ''}-{map_options.get('cohort') or ''}"
        if map_options.get("colour_by") == "evidence":
            shown = f"evidence-{shown}"
    else:
        shown = map_options.get("benchmark_id") or default_benchmark(analysis.profile).id

    def name(what: str, ext: str, benchmark: str | None = None) -> str:
        return export_file_name(what, analysis, today, ext, benchmark)

    if kind in ("png", "pdf"):
        from gapmap import staticmap

        draw = staticmap.snapshot_png if kind == "png" else staticmap.snapshot_pdf
        mime = "image/png" if kind == "png" else "application/pdf"
        return draw(dataset, analysis, title=title, **map_options), name("map", kind, shown), mime
    if kind in ("html", "xlsx", "csv"):
        from gapmap import webmap, workbook

        if kind == "html":
            html = webmap.map_html(dataset, analysis, title=title, **map_options)
            return html.encode("utf-8"), name("map", "html", shown), "text/html"
        if kind == "xlsx":
            return workbook.gaps_xlsx_bytes(dataset, analysis, title=title), name("gaps", "xlsx"), _XLSX_MIME
        from gapmap.csvtables import gaps_csv

        return gaps_csv(analysis), name("gaps", "csv"), "text/csv"
    if kind == "pack":
        from gapmap import pack

        return pack.partnership_pack(dataset, analysis, title=title), name("pack", "pdf"), "application/pdf"
    raise ValueError(f"`kind` was {kind!r} but is expected to be one of {[k for k, _ in EXPORT_ITEMS]}")


# --------------------------------------------------------------------------- comparison
def comparison_lists(comparison: Any) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) for the added, removed and changed services that are not empty.

    Location columns are dropped: a comparison names services, it does not place them.
    """
    out = []
    for frame, title in (
        (comparison.added, "Added services"),
        (comparison.removed, "Removed services"),
        (comparison.changed, "Changed services (field by field)"),
    ):
        if len(frame):
            cols = [c for c in frame.columns if c not in ("latitude", "longitude")]
            out.append((title, frame[cols]))
    return out


def moved_table(moved: pd.DataFrame) -> pd.DataFrame:
    """How each area's figures moved between two versions (`VersionComparison.moved`)."""
    return pd.DataFrame(
        {
            "Area": moved["area_name"],
            "Benchmark": moved["benchmark_label"],
            "Provided before": moved["provided_old"].round(2),
            "Provided after": moved["provided_new"].round(2),
            "Change": moved["provided_change"].round(2),
            "% before": (moved["ratio_old"] * 100).round(0),
            "% after": (moved["ratio_new"] * 100).round(0),
            "Status before": [status_word(x) for x in moved["status_old"]],
            "Status after": [status_word(x) for x in moved["status_new"]],
        }
    )


def opened_or_closed_cells(coverage_changes: pd.DataFrame) -> pd.DataFrame:
    """Patchwork cells whose gap opened or closed, with display column names."""
    cells = coverage_changes
    if len(cells):
        cells = cells[cells["change"] != ""]
    return cells.rename(columns={"area_name": "Area", "services_old": "Before", "services_new": "After"})


# --------------------------------------------------------------------------- method
def benchmark_lines(profile: Profile, config: Config, analysis: GapAnalysis | None = None) -> str:
    """A markdown list: each benchmark, what it asks for, what counts, its citation (escaped).

    With `analysis` (scored under this profile), each area benchmark also names the population
    column and vintage it used. A profile's caveat comes first.
    """
    lines = []
    if profile.caveat:
        lines.append(f"**Caveat:** {md(profile.caveat)}\n")
    entries = (analysis.summary or {}).get("benchmarks", {}) if analysis is not None else {}
    for b in profile.benchmarks:
        counts = ", ".join(
            config.service_types[s].label for s in b.service_types if s in config.service_types
        )
        line = f"- **{md(b.label)}**: {md(wording.benchmark_definition(b))}. Counts: {md(counts)}."
        provenance = entries.get(b.id, {}).get("denominator_source")
        if provenance and b.scope == "area":
            line += f"  \n  *Population:* {md(provenance)}."
        line += f"  \n  *Source:* {md(wording.citation_text(b))}"
        lines.append(line)
    return "\n".join(lines)


def status_rule_text(config: Config) -> str:
    """How ratios become statuses, with this configuration's thresholds (markdown)."""
    return (
        f"**Status**: ratio = provided ÷ required. {status_word('green')} (green) at "
        f"{wording.percent(config.green_at)} or more; {status_word('amber')} (amber) from "
        f"{wording.percent(config.amber_at)}; {status_word('red')} (red) below "
        f"{wording.percent(config.amber_at)}; {status_word('no_data')} (grey) when "
        "the area has no population figure. A service serving several areas is shared between them "
        "in proportion to each area's denominator. 'At least' rules (a refuge per region) count "
        "services: 'Met: 5 services (at least 1 needed)'."
    )


def present_vintages(dataset: Dataset) -> dict[str, str]:
    """Vintage id -> label for the vintages the dataset's population table holds a column of."""
    config = dataset.config
    columns = {str(c).lower() for c in dataset.population.columns}
    found: set[str] = set()
    for denominator in config.denominators:
        for column, info in config.denominator_columns(denominator).items():
            if column.lower() in columns:
                found.add(str(info["vintage"]))
    return {v: label for v, label in config.vintages().items() if v in found}


def population_rule_text(analysis: GapAnalysis | None = None) -> str:
    """How the population column is chosen, and (with `analysis`) which ones were used (markdown)."""
    text = (
        "**Population**: each benchmark's denominator is read from the most recent official "
        "estimate the population file holds (e.g. the ONS mid-2023 estimate before Census 2021, "
        "which counts about 2% fewer people in England), then derived estimates, unless you choose "
        "another vintage (the sidebar's *Population vintage*, or `--population-vintage` on the "
        "command line)."
    )
    if analysis is not None:
        used = (analysis.summary or {}).get("denominators", {})
        if used:
            text += " Used here: " + "; ".join(md(p.get("text", "")) for p in used.values()) + "."
    return text


def tiers_table(config: Config) -> pd.DataFrame:
    """Prevention tiers and what each aims to do."""
    return pd.DataFrame(
        {
            "Tier": [v.get("label", k) for k, v in config.tiers.items()],
            "What it aims to do": [v.get("description", "") for v in config.tiers.values()],
        }
    )


def cohorts_table(config: Config) -> pd.DataFrame:
    """Cohorts and their descriptions."""
    return pd.DataFrame(
        {
            "Cohort": [v.get("label", k) for k, v in config.cohorts.items()],
            "Description": [v.get("description", "") for v in config.cohorts.values()],
        }
    )


def sources_table(sources: Mapping[str, str]) -> pd.DataFrame:
    """The input files behind the figures ("file name (sha256[:12])" or a version id)."""
    return pd.DataFrame({"Input": list(sources), "File (checksum)": list(sources.values())})


# --------------------------------------------------------------------------- styles
def _patch_style(mark: str) -> str:
    if mark.startswith("✖"):
        return (
            f"background-color:{STATUS_COLOURS['red']};color:{text_on(STATUS_COLOURS['red'])};font-weight:700"
        )
    if mark.startswith("–"):
        return "background-color:#eeeeee;color:#333333"
    return f"background-color:{STATUS_COLOURS['green']};color:#00441b;font-weight:600"


_EVIDENCE_BY_MARK = {evidence_mark(k): k for k in EVIDENCE_COLOURS}


def _evidence_style(mark: str) -> str:
    cls = _EVIDENCE_BY_MARK.get(mark)
    if cls is None:
        return ""
    fill = EVIDENCE_COLOURS[cls]
    return f"background-color:{fill};color:{text_on(fill)};font-weight:600"


def style_evidence(table: pd.DataFrame) -> Styler:
    """Evidence marks on their palette fill (the maps' colours), with text that reads on it."""
    return table.style.map(_evidence_style)


def style_patchwork(table: pd.DataFrame) -> Styler:
    """Patchwork marks on colour (red for a gap, grey for none anywhere, green for provided)."""
    return table.style.map(_patch_style)


#: Numeric columns a styled table may still hold (`gaps_table` gives text from `gapmap.wording`).
def _numbers_only(write: Any) -> Any:
    """`write` for numeric cells; text cells (already written) pass through."""
    return lambda v: write(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


_STATUS_FORMATS = {
    "Required": _numbers_only(wording.number),
    "Provided": _numbers_only(wording.number),
    "Shortfall": _numbers_only(wording.number),
    "% of benchmark": _numbers_only(lambda pct: wording.percent(pct / 100)),  # held as 0-100
    "Denominator": _numbers_only(wording.number),
}


def _status_style(word: str) -> str:
    fills = {STATUS_WORDS[k]: v for k, v in STATUS_COLOURS.items()}
    fill = fills.get(word)
    if fill is None:
        return ""
    text = text_on(fill)
    return f"background-color:{fill};color:{text};font-weight:700"


def style_status(table: pd.DataFrame) -> Styler:
    """A gap table (`gaps_table`) with status cells in their colour and numbers formatted."""
    present = {k: v for k, v in _STATUS_FORMATS.items() if k in table.columns}
    return table.style.map(_status_style, subset=["Status"]).format(present, na_rep="–")
