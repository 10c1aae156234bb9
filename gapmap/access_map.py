"""The small-area access map: neighbourhoods coloured by distance to the nearest public service.

Display only (the figures come from `gapmap.access`). LSOA polygons are not shipped, so each
small area is drawn as the Voronoi cell of its centroid among the other small areas of its
district, clipped to the district: an approximate neighbourhood shape, said in the footnote.
Cells are simplified (`SIMPLIFY_M`) before drawing.

Colour: five bands of distance on one sequential ramp (light = near, dark = far) so that the
order survives greyscale and colour-blindness; areas beyond the threshold are also hatched and
the legend says so in words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch

from gapmap import wording
from gapmap.staticmap import _fit_limits, _new_figure, _path, draw_scale_bar, figure_to_bytes

#: Display simplification of cells and districts, metres. Default is 60.
SIMPLIFY_M: float = 60.0
#: Radius of the disc drawn for a small area whose cell would be empty, metres. Default is 150.
EMPTY_CELL_RADIUS_M: float = 150.0
#: Light (near) to dark (far): ColorBrewer YlOrRd 5, readable in greyscale.
BAND_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: 1280 x 720 at 100 dpi: a projector slide.
FIGSIZE_IN: tuple[float, float] = (12.8, 7.2)
#: Share of the figure's width the map takes; the legend and the district list sit to its right.
MAP_WIDTH: float = 0.6
#: Service types mapped by `gapmap report` when present (else the first type with services).
MAP_TYPES: tuple[str, ...] = ("idva", "isva", "rape_crisis_centre", "sarc")


def small_area_cells(small_areas: pd.DataFrame, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon (EPSG:27700) per small area: its Voronoi cell within its district.

    Parameters
    ----------
    small_areas
        `small_area_code`, `district_code`, `x`, `y` (BNG metres) of the small areas to draw.
    districts
        `area_code` + geometry of their districts (any CRS).
    """
    bng = districts.to_crs(27700) if districts.crs is not None else districts.set_crs(27700)
    shapes = dict(zip(bng["area_code"].astype(str), bng.geometry.values, strict=True))
    codes: list[np.ndarray] = []
    cells: list[np.ndarray] = []
    for district, rows in small_areas.groupby("district_code", sort=False):
        shape = shapes.get(str(district))
        if shape is None:
            continue
        pts = shapely.points(rows["x"].to_numpy(dtype=float), rows["y"].to_numpy(dtype=float))
        if len(pts) == 1:
            got = np.array([shape], dtype=object)
        else:
            vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shape, ordered=True)
            got = shapely.intersection(np.asarray(shapely.get_parts(vor), dtype=object), shape)
            # A centroid outside the generalised district outline (a sliver of coast, the City
            # of London) may leave an empty cell: draw a small disc there rather than nothing.
            empty = shapely.is_empty(got) | (shapely.area(got) == 0)
            if empty.any():
                got[empty] = shapely.buffer(pts[empty], EMPTY_CELL_RADIUS_M)
        codes.append(rows["small_area_code"].astype(str).to_numpy())
        cells.append(shapely.simplify(got, SIMPLIFY_M, preserve_topology=True))
    if not cells:
        return gpd.GeoDataFrame({"small_area_code": []}, geometry=[], crs=27700)
    return gpd.GeoDataFrame(
        {"small_area_code": np.concatenate(codes)}, geometry=np.concatenate(cells), crs=27700
    )


def bands(threshold: float) -> list[float]:
    """Band edges: thirds of the threshold up to it, then one more third, then beyond."""
    t = float(threshold) if threshold > 0 else 1.0
    return [0.0, t / 3, 2 * t / 3, t, 4 * t / 3, np.inf]


def _band_labels(edges: list[float], unit: str) -> list[str]:
    labels = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        if k == 0:
            labels.append(f"under {wording.number(round(hi, 1))} {unit}")
        elif np.isinf(hi):
            labels.append(f"over {wording.number(round(lo, 1))} {unit}, or none")
        else:
            labels.append(f"{wording.number(round(lo, 1))} to {wording.number(round(hi, 1))} {unit}")
    return labels


def small_access_figure(
    cells: gpd.GeoDataFrame,
    result: Any,
    service_type: str,
    districts: gpd.GeoDataFrame,
    *,
    type_label: str | None = None,
    services: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    today: date | None = None,
    figsize: tuple[float, float] = FIGSIZE_IN,
) -> Figure:
    """The map for one service type, 1280 x 720 pixels at 100 dpi (see the module docs).

    `services`, when given, are drawn as points: pass only public (non-confidential) ones.
    """

    today = today or date.today()
    label = type_label or service_type
    rows = result.scores[result.scores["service_type"] == service_type]
    nearest = rows.set_index("small_area_code")["nearest"]
    edges = bands(result.settings.beyond)
    values = cells["small_area_code"].map(nearest).to_numpy(dtype=float)
    values = np.where(np.isnan(values), np.inf, values)
    band = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(BAND_COLOURS) - 1)

    fig = _new_figure(figsize, dpi=100)
    ax = fig.add_axes((0.01, 0.08, MAP_WIDTH, 0.80))
    ax.set_axis_off()
    _draw_cells(ax, cells, band, values > result.settings.beyond)
    outline = _draw_districts(ax, districts)
    has_services = services is not None and len(services) > 0
    if services is not None and has_services:
        pts = services.to_crs(27700)
        ax.scatter(
            shapely.get_x(pts.geometry.values), shapely.get_y(pts.geometry.values), s=46, marker="D",
            facecolor="#1f78b4", edgecolor="white", linewidth=1.0, zorder=7,
        )  # fmt: skip
    xmin, ymin, xmax, ymax = shapely.total_bounds(outline)
    xlim, ylim = _fit_limits((xmin, ymin, xmax, ymax), MAP_WIDTH * figsize[0], 0.80 * figsize[1])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    draw_scale_bar(ax, xlim, ylim)
    _access_header(fig, result, rows, label, title)
    _access_legend(fig, result, edges, label, has_services)
    _district_list(fig, result, service_type)
    _access_note(fig, result, today)
    return fig


def _draw_cells(ax: Any, cells: gpd.GeoDataFrame, band: np.ndarray, beyond: np.ndarray) -> None:
    """The small areas, coloured by distance band; those beyond the threshold also hatched."""
    patches, colours, hatched = [], [], []
    for geom, b, far in zip(cells.geometry.values, band, beyond, strict=True):
        path = _path(geom)
        if path is not None:
            patches.append(PathPatch(path))
            colours.append(BAND_COLOURS[b])
            hatched.append(far)
    ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors="#ffffff", linewidths=0.15))
    hatch_patches = [PathPatch(p.get_path()) for p, h in zip(patches, hatched, strict=True) if h]
    if hatch_patches:
        ax.add_collection(
            PatchCollection(hatch_patches, facecolors="none", edgecolors="#3b0010", linewidths=0, hatch="///")
        )


def _draw_districts(ax: Any, districts: gpd.GeoDataFrame) -> np.ndarray:
    """District outlines and names (in a white box, readable over any colour); returns the
    simplified outlines (BNG)."""
    bng = districts.to_crs(27700)
    outline = shapely.simplify(np.asarray(bng.geometry.values, dtype=object), SIMPLIFY_M)
    for geom in outline:
        path = _path(geom)
        if path is not None:
            ax.add_patch(PathPatch(path, facecolor="none", edgecolor="#222222", linewidth=1.2))
    for name, pt in zip(bng["area_name"].astype(str), shapely.point_on_surface(outline), strict=True):
        ax.text(
            pt.x, pt.y, name, ha="center", va="center", fontsize=8.5, color="#111111", zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        )  # fmt: skip
    return np.asarray(outline, dtype=object)


def _access_header(fig: Figure, result: Any, rows: pd.DataFrame, label: str, title: str | None) -> None:
    """The title and, under it, how many residents are beyond the threshold."""
    fig.text(
        0.01,
        0.955,
        title or f"How far is the nearest {label}? Each neighbourhood (LSOA)",
        fontsize=17,
        fontweight="bold",
        va="center",
    )
    total = rows["population"].sum()
    far = rows.loc[rows["beyond"], "population"].sum()
    fig.text(
        0.01,
        0.905,
        f"{label}: " + wording.beyond_text(far, total, result.settings.beyond, result.unit) + ".",
        fontsize=12,
        va="center",
    )


def _access_legend(fig: Figure, result: Any, edges: list[float], label: str, has_services: bool) -> None:
    """The distance bands, the hatch for beyond the threshold and the service marker."""
    unit = result.unit
    how = "straight-line km" if unit == "km" else "minutes, travel time"
    handles: list[Any] = [
        Patch(facecolor=c, edgecolor="#999999", label=t)
        for c, t in zip(BAND_COLOURS, _band_labels(edges, unit), strict=True)
    ]
    beyond = f"beyond {wording.number(result.settings.beyond)} {unit}"
    handles.append(Patch(facecolor="white", edgecolor="#3b0010", hatch="///", label=beyond))
    if has_services:
        from matplotlib.lines import Line2D

        handles.append(
            Line2D(
                [], [], marker="D", linestyle="none", markerfacecolor="#1f78b4", markeredgecolor="white",
                markersize=8, label=f"{label} (public location)",
            )
        )  # fmt: skip
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(MAP_WIDTH + 0.03, 0.87),
        frameon=False,
        fontsize=11,
        title=f"Nearest {label}\n({how})",
        title_fontsize=12,
        alignment="left",
    )


def _district_list(fig: Figure, result: Any, service_type: str) -> None:
    """The districts with most residents beyond the threshold, in words: the first thing asked."""
    unit = result.unit
    by = result.districts[result.districts["service_type"] == service_type]
    by = by[by["population_beyond"] > 0].sort_values(
        ["share_beyond", "district_name"], ascending=[False, True]
    )
    lines = [f"Residents beyond {wording.number(result.settings.beyond)} {unit}, by district:"]
    lines += [
        f"{r.district_name}: {wording.percent(r.share_beyond)} ({wording.number(round(r.population_beyond))})"
        for r in by.head(6).itertuples()
    ]
    if len(by) > 6:
        lines.append(f"and {len(by) - 6} more districts")
    if by.empty:
        lines.append("none")
    fig.text(MAP_WIDTH + 0.03, 0.36, "\n".join(lines), fontsize=11, va="top", linespacing=1.5)


def _access_note(fig: Figure, result: Any, today: date) -> None:
    """Basis, neighbourhood shapes, confidentiality, population, date and attribution."""
    from gapmap.wording import CROWN_COPYRIGHT, ONS_ATTRIBUTION

    note = (
        f"{result.basis}. Neighbourhood shapes are approximate (Voronoi cells of LSOA centroids, "
        "clipped to districts). Services with a confidential location (refuges) are never counted or "
        f"shown. Population: Census 2021 usual residents. Made {wording.uk_date(today)}.\n"
        f"{ONS_ATTRIBUTION} {CROWN_COPYRIGHT.format(year=today.year)}."
    )
    fig.text(0.01, 0.035, note, fontsize=8, va="center", wrap=True)


def mapped_types(result: Any) -> list[str]:
    """The service types `gapmap report` maps: those of `MAP_TYPES` present, else the first present."""
    present = sorted(set(result.scores["service_type"]))
    chosen = [t for t in MAP_TYPES if t in present]
    return chosen or present[:1]


def small_access_figures(
    dataset: Any, analysis: Any, *, today: date | None = None, figsize: tuple[float, float] = FIGSIZE_IN
) -> dict[str, Figure]:
    """Service type -> its small-area access map, for `mapped_types` (nothing without results)."""
    from gapmap.privacy import public_services

    result = getattr(analysis, "small_area_access", None)
    if result is None or result.small_areas is None or result.scores.empty:
        return {}
    codes = set(result.small_areas["district_code"].astype(str))
    areas = result.district_areas if result.district_areas is not None else dataset.areas
    districts = areas[areas["area_code"].astype(str).isin(codes)]
    if districts.empty:
        return {}
    cells = small_area_cells(result.small_areas, districts)
    counted = public_services(analysis.service_filter.apply(dataset.services))
    out = {}
    for stype in mapped_types(result):
        spec = dataset.config.service_types.get(stype)
        fig = small_access_figure(
            cells,
            result,
            stype,
            districts,
            type_label=getattr(spec, "label", stype),
            services=counted[counted["service_type"] == stype],
            today=today,
            figsize=figsize,
        )
        out[stype] = fig
    return out


def small_access_pngs(dataset: Any, analysis: Any, *, today: date | None = None) -> dict[str, bytes]:
    """File name -> PNG bytes of `small_area_access_<type>.png` (1280 x 720) for `mapped_types`."""

    figures = small_access_figures(dataset, analysis, today=today)
    return {f"small_area_access_{t}.png": figure_to_bytes(f, "png", dpi=100) for t, f in figures.items()}
