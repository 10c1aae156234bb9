"""Score at a statutory level: district figures added up to tier-one, police force area or region.

The engine scores districts; `at_level` then rolls its rows up, so every level figure is the
exact sum of its districts' (the issue's "denominators and capacity roll up exactly"):

- area benchmarks: denominator, required and provided are summed over the group's selected
  districts that have the denominator (as the engine's `ALL` row does); ratio, shortfall and
  status are recomputed from the sums; `unmeasured_services` counts distinct services.
- selection benchmarks (the "at least one per region" minimums): at ``region`` level one row per
  region, provided = distinct services of the benchmark's types serving any of its districts;
  at other levels they keep only the `ALL` row (a per-region standard read per county would
  mislead).
- coverage: distinct services per group x tier x cohort; a patchwork gap is a cell a group
  lacks while another selected group has it.
- access: the population-weighted mean over the group's districts of each district's distance
  to the nearest service of the type.

The `ALL` rows are the engine's, unchanged: they already sum the selection.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.engine import ALL_CODE, COVERAGE_COLUMNS, GAPS_COLUMNS, GapAnalysis
from gapmap.geography import ENGLAND_ID, LEVEL_LABELS, LEVELS, load_england, parents, roll_up
from gapmap.schema import AREA_CODE, AREA_NAME


def _with_parent(frame: pd.DataFrame, up: pd.DataFrame) -> pd.DataFrame:
    mapping = up.set_index("district_code")
    out = frame.copy()
    codes = out[AREA_CODE].astype(str)
    out["_parent"] = codes.map(mapping[AREA_CODE])
    out["_parent_name"] = codes.map(mapping[AREA_NAME])
    return out


def _served_by_group(analysis: GapAnalysis, up: pd.DataFrame, selection: set[str]) -> pd.DataFrame:
    """Distinct (group, service_id) pairs: which services reach each group's selected districts."""
    a = analysis.assignments
    a = a[a[AREA_CODE].astype(str).isin(selection)]
    a = _with_parent(pd.DataFrame({AREA_CODE: a[AREA_CODE].astype(str), "service_id": a["service_id"]}), up)
    return a[["_parent", "service_id"]].drop_duplicates()


def _unmeasured_ids(services: pd.DataFrame, bench: Any, config: Any) -> set[str]:
    """Services of a capacity benchmark's types that add nothing to it (no capacity, other unit)."""
    is_type = services["service_type"].isin(bench.service_types)
    if bench.measure != "capacity":
        return set()
    units = services["capacity_unit"].fillna("").astype(str)
    default = services["service_type"].map({k: v.capacity_unit for k, v in config.service_types.items()})
    units = units.where(units != "", default.fillna(""))
    capacity = pd.to_numeric(services["capacity"], errors="coerce")
    measured = np.isfinite(capacity) & ((units == "") | (units == bench.unit))
    return set(services.loc[is_type & ~measured, "service_id"].astype(str))


def _status(config: Any, required: float, provided: float, has: bool) -> tuple[float, float, str]:
    if not has:
        return np.nan, np.nan, "no_data"
    if required <= 0:
        return np.nan, 0.0, "green"
    ratio = provided / required
    return ratio, max(required - provided, 0.0), config.status_for(ratio)


def roll_up_gaps(
    analysis: GapAnalysis, services: pd.DataFrame, config: Any, level: str, up: pd.DataFrame
) -> pd.DataFrame:
    """The gaps frame at `level` (see the module docs); `services` are the analysed services."""
    gaps = analysis.gaps
    selection = set(map(str, analysis.selection))
    served = _served_by_group(analysis, up, selection)
    served["service_id"] = served["service_id"].astype(str)
    types = services.set_index(services["service_id"].astype(str))["service_type"]
    served["service_type"] = served["service_id"].map(types)
    group_names = _with_parent(pd.DataFrame({AREA_CODE: sorted(selection)}), up)
    groups = group_names[["_parent", "_parent_name"]].drop_duplicates().sort_values("_parent")

    rows: list[dict[str, Any]] = []
    for bench in analysis.profile.benchmarks:
        block = gaps[gaps["benchmark_id"] == bench.id]
        district_rows = _with_parent(block[block[AREA_CODE] != ALL_CODE], up)
        mine = served[served["service_type"].isin(bench.service_types)]
        if bench.scope == "selection":
            if level == "region":
                required = float(bench.minimum or 0)
                for code, name in groups.itertuples(index=False):
                    provided = float((mine["_parent"] == code).sum())
                    ratio, shortfall, status = _status(config, required, provided, True)
                    rows.append(
                        _row(code, name, bench, np.nan, required, provided, ratio, shortfall, status, 0)
                    )
        else:
            unmeasured = _unmeasured_ids(services, bench, config)
            for code, name in groups.itertuples(index=False):
                part = district_rows[district_rows["_parent"] == code]
                has = part["denominator"].notna()
                d = float(part.loc[has, "denominator"].sum())
                required = float(part.loc[has, "required"].sum())
                provided = float(part.loc[has, "provided"].sum())
                ratio, shortfall, status = _status(config, required, provided, bool(has.any()))
                n_unmeasured = int(mine.loc[mine["_parent"] == code, "service_id"].isin(unmeasured).sum())
                rows.append(
                    _row(
                        code,
                        name,
                        bench,
                        d if has.any() else np.nan,
                        required if has.any() else np.nan,
                        provided,
                        ratio,
                        shortfall,
                        status,
                        n_unmeasured,
                    )
                )
        all_row = block[block[AREA_CODE] == ALL_CODE]
        rows.extend(all_row.to_dict("records"))
    return pd.DataFrame(rows, columns=list(GAPS_COLUMNS))


def _row(code, name, bench, d, required, provided, ratio, shortfall, status, unmeasured) -> dict[str, Any]:
    return {
        "area_code": code,
        "area_name": name,
        "benchmark_id": bench.id,
        "benchmark_label": bench.label,
        "denominator": d,
        "required": required,
        "provided": provided,
        "ratio": ratio,
        "shortfall": shortfall,
        "status": status,
        "unmeasured_services": unmeasured,
        "basis": "population",
        "period": "",
        "reading": "",
    }


def roll_up_coverage(
    analysis: GapAnalysis, services: pd.DataFrame, config: Any, up: pd.DataFrame
) -> pd.DataFrame:
    """Distinct services per group x tier x cohort, and the patchwork gaps between groups."""
    selection = set(map(str, analysis.selection))
    served = _served_by_group(analysis, up, selection)
    served["service_id"] = served["service_id"].astype(str)
    by_id = services.set_index(services["service_id"].astype(str))
    group_names = _with_parent(pd.DataFrame({AREA_CODE: sorted(selection)}), up)
    groups = group_names[["_parent", "_parent_name"]].drop_duplicates().sort_values("_parent")
    tiers, cohorts = list(config.tiers), list(config.cohorts)
    counts = {
        (g, t, c): 0 for g in groups["_parent"] for t in tiers for c in cohorts
    }  # every cell, zeros included
    for group, service_id in served.itertuples(index=False):
        if service_id not in by_id.index:
            continue
        svc = by_id.loc[service_id]
        for t in svc["tiers"]:
            for c in svc["cohorts"]:
                if (group, t, c) in counts:
                    counts[(group, t, c)] += 1
    names = dict(groups.itertuples(index=False))
    frame = pd.DataFrame(
        [(g, names[g], t, c, n) for (g, t, c), n in counts.items()],
        columns=["area_code", "area_name", "tier", "cohort", "services"],
    )
    anywhere = frame.groupby(["tier", "cohort"])["services"].transform("sum") > 0
    frame["patchwork_gap"] = (frame["services"] == 0) & anywhere
    return frame[list(COVERAGE_COLUMNS)]


def roll_up_access(analysis: GapAnalysis, population: pd.DataFrame, up: pd.DataFrame) -> pd.DataFrame:
    """Population-weighted mean distance to the nearest service, per group and service type."""
    acc = _with_parent(analysis.access, up)
    weight_col = next((c for c in ("all_persons",) if c in population.columns), None)
    if weight_col is None:
        acc["_w"] = 1.0
    else:
        acc["_w"] = acc[AREA_CODE].map(population.set_index(AREA_CODE)[weight_col]).fillna(0.0).astype(float)
    acc["_wd"] = acc["_w"] * acc["nearest_km"].astype(float)
    grouped = acc.groupby(["_parent", "_parent_name", "service_type"], sort=True)[["_wd", "_w"]].sum()
    out = grouped.reset_index()
    out["nearest_km"] = out["_wd"] / out["_w"].where(out["_w"] > 0)
    return out.rename(columns={"_parent": AREA_CODE, "_parent_name": AREA_NAME})[
        [AREA_CODE, AREA_NAME, "service_type", "nearest_km"]
    ]


def level_areas(dataset: Any, level: str, codes: list[str], up: pd.DataFrame) -> gpd.GeoDataFrame:
    """The level's polygons: the shipped layer on England built in, else dissolved districts."""
    if getattr(dataset, "geography", "") == ENGLAND_ID:
        layer = load_england().layer(level)
        return layer[layer[AREA_CODE].isin(codes)].reset_index(drop=True).copy()
    areas = _with_parent(dataset.areas[[AREA_CODE, "geometry"]], up)
    areas = areas[areas["_parent"].isin(codes)]
    dissolved = areas.dissolve(by=["_parent", "_parent_name"], as_index=False)
    return gpd.GeoDataFrame(
        {AREA_CODE: dissolved["_parent"], AREA_NAME: dissolved["_parent_name"]},
        geometry=dissolved.geometry.values,
        crs=dataset.areas.crs,
    )


def at_level(dataset: Any, analysis: GapAnalysis, level: str, lookup: pd.DataFrame | None = None):
    """(dataset, analysis) rolled up to `level`; ``district`` returns them unchanged.

    Parameters
    ----------
    dataset, analysis
        A `gapmap.dataset.Dataset` and the district-level `GapAnalysis` of it.
    level
        One of `gapmap.geography.LEVELS`.
    lookup
        The district -> level lookup (default: England built in). Every selected district must
        be in it.

    Raises
    ------
    GapmapInputError
        When the level is unknown or a selected area is not an English 2024 district.
    """
    up = parents(level, lookup)
    if level == "district":
        return dataset, analysis
    population = dataset.population
    sel = pd.DataFrame({AREA_CODE: [str(c) for c in analysis.selection]})
    # roll_up raises for areas that are not districts of the lookup.
    roll_up(sel.assign(_n=1.0), level, lookup)
    services = analysis.service_filter.apply(dataset.services)
    gaps = roll_up_gaps(analysis, services, dataset.config, level, up)
    coverage = roll_up_coverage(analysis, services, dataset.config, up)
    access = roll_up_access(analysis, population, up)
    codes = sorted(set(gaps.loc[gaps[AREA_CODE] != ALL_CODE, AREA_CODE]) | set(coverage[AREA_CODE]))

    # Groups only partly selected are named: their figures cover the selected districts only.
    selected = _with_parent(sel, up)
    members = up.groupby(AREA_CODE)["district_code"].size()
    chosen = selected.groupby("_parent")[AREA_CODE].size()
    notes = list(analysis.summary.get("notes", []))
    for code, n in chosen.items():
        if n < members.get(code, n):
            name = selected.loc[selected["_parent"] == code, "_parent_name"].iloc[0]
            notes.append(
                f"{name} ({code}): {n} of its {members[code]} districts are selected; its figures cover "
                "those districts only."
            )
    notes.append(
        f"Scored at {LEVEL_LABELS[level]} level: each figure is the sum of its districts' "
        "(access: the population-weighted mean of its districts' distances)."
    )
    n_groups = len(codes)
    n_cells_provided = int(coverage.groupby(["tier", "cohort"])["services"].sum().gt(0).sum())
    n_gaps = int(coverage["patchwork_gap"].sum())
    level_population = roll_up(population, level, lookup)
    # Sums of the same columns: the districts' column sources (and vintages) still apply.
    level_population.attrs["column_sources"] = dict(population.attrs.get("column_sources", {}))
    weighted = None
    pop_col = analysis.summary.get("patchwork_population")
    if pop_col in level_population.columns and n_cells_provided:
        weights = level_population.set_index(AREA_CODE)[pop_col].reindex(codes).fillna(0.0)
        gaps_per = coverage.groupby(AREA_CODE)["patchwork_gap"].sum().reindex(codes).fillna(0)
        if weights.sum() > 0:
            weighted = float((gaps_per * weights).sum() / (weights.sum() * n_cells_provided))
    summary = dict(analysis.summary)
    summary.update(
        level={"id": level, "label": LEVEL_LABELS[level], "areas": n_groups},
        districts_selected=[str(c) for c in analysis.selection],
        selection=codes,
        areas_selected=n_groups,
        patchwork_gaps=n_gaps,
        patchwork_cells_provided=n_cells_provided,
        patchwork_index=(n_gaps / (n_groups * n_cells_provided)) if n_groups and n_cells_provided else None,
        patchwork_index_weighted=weighted,
        notes=notes,
    )
    # Who serves each level area (an area's profile): the districts' rows, shares summed.
    a = _with_parent(analysis.assignments.astype({AREA_CODE: str, "service_id": str}), up)
    a = a[a["_parent"].notna()]
    assignments = (
        a.groupby(["service_id", "_parent"], sort=False, observed=True)
        .agg(weight=("weight", "sum"), land_share=("land_share", "max"), method=("method", "first"))
        .reset_index()
        .rename(columns={"_parent": AREA_CODE})[list(analysis.assignments.columns)]
    )
    rolled = dataclasses.replace(
        analysis,
        gaps=gaps,
        coverage=coverage,
        access=access,
        summary=summary,
        selection=tuple(codes),
        assignments=assignments,
    )
    areas = level_areas(dataset, level, codes, up)
    small = dataset.small_area_population
    if small is not None:
        # Small areas keyed by their level area, so an analysis of the level areas measures
        # access from where their residents live, as for districts.
        small = _with_parent(small, up)
        small = small[small["_parent"].notna()].assign(**{AREA_CODE: lambda f: f["_parent"]})
        small = small.drop(columns=["_parent", "_parent_name"]).reset_index(drop=True)
    return dataclasses.replace(
        dataset, areas=areas, population=level_population, small_area_population=small
    ), rolled


__all__ = ["LEVELS", "at_level", "roll_up_access", "roll_up_coverage", "roll_up_gaps"]
