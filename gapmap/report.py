"""`python -m gapmap report`: score a selection and write the tables a report writer needs.

Writes into `--out` (created only once the analysis has succeeded; every file atomically):

- gaps.csv      area_code, area_name, benchmark_id, denominator, denominator_source, required,
                provided, ratio, shortfall, status, status_label, figure_label,
                unmeasured_services, profile, profile_caveat (one row per area x benchmark plus
                the `ALL` rows)
- coverage.csv  area_code, area_name, tier, cohort, services, patchwork_gap
- access.csv    area_code, area_name, service_type, nearest_km
- small_area_access.csv  small_area_code, small_area_name, district_code, district_name,
                service_type, population, nearest_km (or nearest_minutes with --travel-times),
                services_in_catchment, score_per_100k, beyond (one row per small area x type)
- access_beyond.csv      district_code, district_name, service_type, beyond_km (or _minutes),
                population, population_beyond, share_beyond, small_areas, small_areas_beyond
                (both only with small areas: England built in, or --small-areas; see gapmap.access)
- summary.json  profile, filters, patchwork indices, tier shares, benchmark totals, the
                inputs used (file names and hashes / version ids) and whether it is the demo
- the maps, gaps.xlsx and pack.pdf from `gapmap.report.write_report_exports`

With invalid inputs it prints the validation report, writes nothing and returns 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapmap import wording

# The CSV medium (gaps.csv, coverage.csv, access.csv) lives in gapmap.csvtables; its names are
# kept here for callers of this module.
from gapmap.csvtables import _csv_bytes, access_csv, coverage_csv, gaps_csv
from gapmap.engine import GapAnalysis, analyse
from gapmap.errors import GapmapInputError
from gapmap.fileio import write_atomic
from gapmap.filters import ServiceFilter
from gapmap.view import selection_name

__all__ = [
    "json_safe",
    "parse_areas",
    "parse_on_date",
    "report_files",
    "run_report",
    "summary_document",
    "write_report_exports",
]

# --------------------------------------------------------------------------- pure helpers


def parse_on_date(text: str | None) -> date | None:
    """`--on 31/03/2028` (UK) or `--on 2028-03-31` -> a date; ValueError with a readable message."""
    if text is None or not text.strip():
        return None
    from gapmap.filters import parse_day

    return parse_day(text, what="--on")


def parse_areas(text: str | None) -> list[str] | None:
    """`--areas E07000117,E07000118` -> a list of codes (None for every area)."""
    if text is None or not text.strip():
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


def json_safe(value: Any) -> Any:
    """numpy scalars -> Python, NaN/inf -> None, dates -> ISO strings, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return value.isoformat()
    return value


def summary_document(
    analysis: GapAnalysis, *, sources: dict[str, str], is_demo: bool, generated: datetime | None = None
) -> dict[str, Any]:
    """summary.json: the engine's summary plus where the inputs came from."""
    generated = generated or datetime.now(UTC)
    doc = dict(analysis.summary)
    # Label fields beside the machine codes, written as every other output writes them.
    benches = {b.id: b for b in analysis.profile.benchmarks}
    doc["benchmarks"] = {
        bid: {
            **entry,
            "status_label": wording.status_label(entry.get("status")),
            "figure_label": wording.figure_text(entry, benches[bid]) if bid in benches else "",
        }
        for bid, entry in analysis.summary.get("benchmarks", {}).items()
    }
    doc["inputs"] = dict(sources)
    doc["is_demo"] = bool(is_demo)
    doc["generated_at"] = generated.replace(microsecond=0).isoformat()
    doc["tables"] = ["gaps.csv", "coverage.csv", "access.csv", "summary.json"]
    if getattr(analysis, "small_area_access", None) is not None:
        from gapmap.access import access_summary

        doc["small_area_access"] = access_summary(analysis.small_area_access)
        doc["tables"] += ["small_area_access.csv", "access_beyond.csv"]
    return json_safe(doc)


def report_files(analysis: GapAnalysis, *, sources: dict[str, str], is_demo: bool) -> dict[str, bytes]:
    """File name -> bytes for the four tables (pure: nothing is written)."""
    summary = summary_document(analysis, sources=sources, is_demo=is_demo)
    files = {
        "gaps.csv": gaps_csv(analysis),
        "coverage.csv": coverage_csv(analysis),
        "access.csv": access_csv(analysis),
    }
    small = getattr(analysis, "small_area_access", None)
    if small is not None:
        from gapmap.access import access_beyond_frame, small_access_frame

        files["small_area_access.csv"] = _csv_bytes(small_access_frame(small))
        files["access_beyond.csv"] = _csv_bytes(access_beyond_frame(small))
    files["summary.json"] = (
        json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")
    return files


def small_access_headline(result: Any, config: Any) -> str:
    """The CLI's lines on small-area access: per service type, residents beyond the threshold."""
    lines = [f"Small-area access ({result.basis}):"]
    frame = result.districts
    for stype, rows in frame.groupby("service_type", sort=True):
        label = getattr(config.service_types.get(stype), "label", stype)
        text = wording.beyond_text(
            rows["population_beyond"].sum(), rows["population"].sum(), result.settings.beyond, result.unit
        )
        lines.append(f"  {label}: {text}")
    lines.extend(f"  note: {n}" for n in result.notes)
    return "\n".join(lines)


def compute_small_area_access(dataset: Any, analysis: GapAnalysis, args: argparse.Namespace) -> Any:
    """Small-area access for the selected districts, or None when there are no small areas.

    England built in brings its LSOAs; other boundaries need `--small-areas FILE` whose
    `district_code` matches their area codes. `--no-small-areas` skips it.
    """
    from gapmap.geography import ENGLAND_ID

    if getattr(args, "no_small_areas", False):
        return None
    path = getattr(args, "small_areas", None)
    if path is None and dataset.geography != ENGLAND_ID:
        return None
    from gapmap.access import AccessSettings, load_small_areas, load_travel_times, small_area_access

    settings = AccessSettings(
        catchment=float(getattr(args, "access_catchment", 20.0)),
        beyond=float(getattr(args, "access_beyond", 15.0)),
        decay=getattr(args, "access_decay", "none") or "none",
    )
    tt_path = getattr(args, "travel_times", None)
    travel = load_travel_times(tt_path) if tt_path is not None else None
    names = dict(
        zip(dataset.areas["area_code"].astype(str), dataset.areas["area_name"].astype(str), strict=False)
    )
    result = small_area_access(
        load_small_areas(path),
        analysis.service_filter.apply(dataset.services),
        selection=list(analysis.selection),
        district_names=names,
        settings=settings,
        travel_times=travel,
    )
    areas = dataset.areas
    result.district_areas = areas[areas["area_code"].astype(str).isin(set(analysis.selection))]
    return result


def _headline(analysis: GapAnalysis) -> str:
    """What the CLI prints: the whole selection against each benchmark, in the pack's words."""
    rows = analysis.gaps[analysis.gaps["area_code"] == "ALL"]
    benches = {b.id: b for b in analysis.profile.benchmarks}
    lines = [f"Profile: {analysis.profile.label}", f"Services: {analysis.summary['filters']}"]
    if analysis.profile.caveat:
        lines.append(f"Caveat: {analysis.profile.caveat}")
    for r in rows.to_dict("records"):
        bench = benches.get(r["benchmark_id"])
        line = f"  {r['benchmark_label']}: {wording.figure_text(r, bench)}"
        if bench is not None and bench.scope == "area":
            line += f" [population: {r.get('denominator_source', '')}]"
        lines.append(line)
    lines.append(f"Patchwork index: {wording.number(analysis.summary.get('patchwork_index'))}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the command


def _write_export(path: Path, data: bytes | str) -> Path:
    """An output file, written atomically but not fsynced: running the command again makes it
    again (`gapmap.fileio.write_atomic`, `durable`)."""
    return write_atomic(path, data, durable=False)


def run_report(args: argparse.Namespace) -> int:
    """Run `python -m gapmap report` (see the module docs). Returns the exit code."""
    from gapmap.dataset import load_dataset
    from gapmap.geography import ATTRIBUTION, ENGLAND_ID, lookup_for, select_areas
    from gapmap.levels import at_level

    try:
        on = parse_on_date(getattr(args, "on_date", None))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} is a file; give a folder to write the report into.", file=sys.stderr)
        return 2

    try:
        dataset = load_dataset(
            services=args.services,
            boundaries=args.boundaries,
            population=args.population,
            postcodes=args.postcodes,
            benchmarks=args.benchmarks,
        )
        selection = select_areas(getattr(args, "areas", None), dataset.areas, dataset.geography)
        level = getattr(args, "level", None) or "district"
        district_dataset = dataset

        def analyse_services(services):
            """The report's analysis (profile, vintage, filter, selection, level) of a service list."""
            found = analyse(
                district_dataset.areas,
                district_dataset.population,
                services,
                district_dataset.config,
                profile=getattr(args, "profile", None),
                population_vintage=getattr(args, "population_vintage", None),
                service_filter=ServiceFilter(on=on),
                selection=selection,
                small_area_population=district_dataset.small_area_population,
            )
            if level != "district":
                lookup = lookup_for(district_dataset.areas, district_dataset.geography)
                found = at_level(
                    dataclasses.replace(district_dataset, services=services), found, level, lookup
                )[1]
            return found

        analysis = analyse(
            dataset.areas,
            dataset.population,
            dataset.services,
            dataset.config,
            profile=getattr(args, "profile", None),
            population_vintage=getattr(args, "population_vintage", None),
            service_filter=ServiceFilter(on=on),
            selection=selection,
            small_area_population=dataset.small_area_population,
        )
        small = compute_small_area_access(dataset, analysis, args)
        level = getattr(args, "level", None) or "district"
        if level != "district":
            dataset, analysis = at_level(
                dataset, analysis, level, lookup_for(dataset.areas, dataset.geography)
            )
        analysis.small_area_access = small
        # Which population column (and vintage) each benchmark's denominator came from.
        column_sources = dataset.population.attrs.get("column_sources", {})
        analysis.summary["denominator_columns"] = {
            d: column_sources[d] for d in dataset.config.denominators if d in column_sources
        }
        if dataset.geography == ENGLAND_ID:
            analysis.summary["attribution"] = ATTRIBUTION
        # Demand rows, options, costs and a scenario (issue 12): gapmap.commissioning. The
        # scenario is applied to the district list and scored at the report's level.
        from gapmap.commissioning import prepare_report

        analysis, extras, extra_files, extra_lines = prepare_report(
            args, dataset, analysis, analyse_services, scenario_dataset=district_dataset
        )
        files = report_files(analysis, sources=dataset.sources, is_demo=dataset.is_demo)
        files.update(extra_files)
    except GapmapInputError as exc:
        print(exc.report.to_text())
        print("Nothing was written.")
        return 1

    if dataset.report.warnings:
        print(dataset.report.to_text())
    # Only now, with every table computed, does the output folder come into existence.
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_export(out / name, data) for name, data in files.items()]

    # ---- EXPORTS: maps, gaps.xlsx and pack.pdf (only when asked for: the export stack is slow to import).
    maps = not getattr(args, "no_maps", False)
    pack = not getattr(args, "no_pack", False)
    xlsx = not getattr(args, "no_xlsx", False)
    if maps or pack or xlsx:  # the export stack (matplotlib, openpyxl, folium) only when asked for
        written += write_report_exports(
            out,
            dataset,
            analysis,
            title=getattr(args, "title", None),
            maps=maps,
            pack=pack,
            xlsx=xlsx,
            extras=extras,
            tables=files,
        )
    # ---- end of EXPORTS

    print(_headline(analysis))
    if analysis.small_area_access is not None:
        print(small_access_headline(analysis.small_area_access, dataset.config))
    withheld = analysis.summary.get("withheld_confidential", {}).get("note")
    if withheld:
        print(f"note: {withheld}")
    for line in extra_lines:
        print(line)
    if dataset.is_demo:
        print("(demo data: the fictional county, not real provision)")
    for path in written:
        print(f"wrote {path}")
    return 0


def write_report_exports(
    out: Path,
    dataset: Any,
    analysis: Any,
    *,
    title: str | None = None,
    maps: bool = True,
    pack: bool = True,
    xlsx: bool = True,
    today: date | None = None,
    extras: Any = None,
    tables: dict[str, bytes] | None = None,
) -> list[Path]:
    """Write map.png, map.pdf, map.html, gaps.xlsx and pack.pdf into `out` (atomically).

    `maps`, `pack` and `xlsx` False skip the slow ones. `tables`: `report_files` of this same
    analysis, if made (the workbook reads gaps.csv and access.csv back from them). Returns the
    paths written, in order.
    """
    out = Path(out)
    written: list[Path] = []
    if title is None:
        # Titles always name the selection (as the app's do): "Pan-Lancashire: ...".
        title = f"{selection_name(analysis)}: domestic abuse and sexual violence services"
    if maps:
        from gapmap.staticmap import figure_to_bytes, snapshot_figure
        from gapmap.webmap import map_html

        fig = snapshot_figure(dataset, analysis, title=title, today=today)
        written.append(_write_export(out / "map.png", figure_to_bytes(fig, "png", dpi=300)))
        written.append(_write_export(out / "map.pdf", figure_to_bytes(fig, "pdf")))
        written.append(_write_export(out / "map.html", map_html(dataset, analysis, title=title)))
        if getattr(analysis, "small_area_access", None) is not None:
            from gapmap.access_map import small_access_pngs

            for name, data in small_access_pngs(dataset, analysis, today=today).items():
                written.append(_write_export(out / name, data))
    if xlsx:
        from gapmap.workbook import gaps_xlsx_bytes

        written.append(
            _write_export(
                out / "gaps.xlsx",
                gaps_xlsx_bytes(dataset, analysis, title=title, today=today, extras=extras, tables=tables),
            )
        )
    if pack:
        from gapmap.pack import partnership_pack

        written.append(
            _write_export(
                out / "pack.pdf", partnership_pack(dataset, analysis, title=title, today=today, extras=extras)
            )
        )
    return written
