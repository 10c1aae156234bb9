"""Static map snapshots (PNG, PDF) for needs assessments and commissioning papers.

Rendered with matplotlib's object-oriented API on the Agg canvas: no browser, no internet,
no basemap, no pyplot global state (safe inside a Streamlit server). Maps are drawn in
British National Grid (EPSG:27700) so that the scale bar measures true metres.

Every status colour is paired with a hatch pattern and a word, so a greyscale printout or a
colour-blind reader loses nothing. Confidential services (refuges) are never drawn: only
`gapmap.privacy.public_services` reach the map.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import geopandas as gpd
import matplotlib
import matplotlib.text
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from gapmap import palette, view, webmap, wording
from gapmap.privacy import public_services
from gapmap.settings import BNG_EPSG
from gapmap.view import counted_services, filter_description  # one definition for every output
from gapmap.wording import CONFIDENTIAL_NOTE, CROWN_COPYRIGHT, DEMO_BADGE, ONS_ATTRIBUTION

#: Status -> fill colour (the house palette, defined in `palette`) and hatch (for greyscale /
#: colour-blind readers).
STATUS_COLOURS: dict[str, str] = webmap.STATUS_COLOURS
STATUS_HATCHES: dict[str, str] = {"green": "", "amber": "...", "red": "///", "no_data": "xx"}
#: Legend order: worst first, so the eye lands on the shortfalls.
STATUS_ORDER: tuple[str, ...] = ("red", "amber", "green", "no_data")

#: Patchwork classes (the dashboard's words and colours, so every output reads the same).
PATCHWORK_COLOURS: dict[str, str] = {**webmap.PATCHWORK_COLOURS, "no_data": STATUS_COLOURS["no_data"]}
PATCHWORK_HATCHES: dict[str, str] = {"has": "", "gap": "///", "nowhere": "xxx", "no_data": "xx"}
PATCHWORK_ORDER: tuple[str, ...] = ("gap", "nowhere", "has", "no_data")
#: Hatch line colour per class: light on the dark "nowhere" grey so the pattern stays visible.
HATCH_COLOURS: dict[str, str] = {
    "nowhere": "#ffffff",
    "red": "#ffffff",
    "gap": "#ffffff",
    "none": "#ffffff",  # evidence: nothing in place (no hatch on "No gaps")
    "low": "#ffffff",  # evidence: low or unrated; demand: below expected
}

#: Service markers by prevention tier: (shape, colour), both from the web map's one palette, so
#: the static maps and the interactive map read the same.
TIER_MARKERS: dict[str, tuple[str, str]] = {
    tier: (webmap.TIER_SHAPES[tier], colour) for tier, colour in webmap.TIER_COLOURS.items()
}
DEFAULT_MARKER: tuple[str, str] = (webmap.OTHER_TIER_SHAPE, webmap.OTHER_TIER_COLOUR)
#: Marker area in points² (matplotlib's `s`): big enough to tell the shapes apart on a
#: projector; smaller above `MANY_SERVICES` so a national map stays readable.
MARKER_AREA_PT2 = 40.0
MARKER_AREA_MANY_PT2 = 10.0
MANY_SERVICES = 300
#: Above this many selected areas none is labelled (England's 296 districts still are).
MAX_LABELLED_AREAS = 400
MARKER_EDGE = "#ffffff"  # white: tertiary near-black markers stay visible on the darkest fill

A4_LANDSCAPE_IN: tuple[float, float] = (11.69, 8.27)
PNG_DPI = 300
COLOUR_BY_CHOICES: tuple[str, ...] = ("benchmark", "patchwork", "evidence")

_LABEL_OFFSETS_PT: tuple[tuple[float, float], ...] = (
    # In points from the anchor. 16 pt clears one line of 8 pt text with its box.
    (0, 0),
    (0, 16),
    (0, -16),
    (30, 0),
    (-30, 0),
    (24, 16),
    (-24, 16),
    (24, -16),
    (-24, -16),
    (0, 32),
    (0, -32),
    (45, 0),
    (-45, 0),
)


# --------------------------------------------------------------------------- small helpers


#: Dates as people read them (one definition, in `gapmap.wording`).
uk_date = wording.uk_date


def sources_line(dataset: Any) -> str:
    """'Data sources: boundaries: x.geojson (ab12…); population: …' for footers and cover pages."""
    sources = getattr(dataset, "sources", None) or {}
    if not sources:
        return "Data sources: not recorded."
    return "Data sources: " + "; ".join(f"{role}: {value}" for role, value in sources.items()) + "."


def pick_benchmark(analysis: Any, benchmark_id: str | None):
    """The benchmark to map: the one named, else the view's default (`gapmap.view.default_benchmark`)."""
    profile = analysis.profile
    if benchmark_id is not None:
        return profile.benchmark(benchmark_id)
    return view.default_benchmark(profile)


class _Canvas(FigureCanvasAgg):
    """An Agg canvas that draws only when saved or measured.

    geopandas calls `draw_idle` after every `.plot`, and on a plain Agg canvas that renders
    the whole figure each time: four to seven full renders per map for nothing.
    """

    def draw_idle(self, *args: Any, **kwargs: Any) -> None:
        pass


def _renderer(fig: Figure) -> Any:
    """The figure's Agg renderer, for measuring text (every figure here is on an Agg canvas)."""
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = _Canvas(fig)
    return canvas.get_renderer()


def _new_figure(figsize: tuple[float, float] = A4_LANDSCAPE_IN, dpi: float = 100) -> Figure:
    """A Figure on its own Agg canvas (no pyplot: nothing global, thread-safe enough for a server)."""
    fig = Figure(figsize=figsize, dpi=dpi)
    _Canvas(fig)
    return fig


def plain_text(fig: Figure) -> Figure:
    """Turn off matplotlib's mathtext for every text of `fig`; returns `fig`.

    Area, service and file names are user text: "$" in one would be parsed as TeX, so a name
    like "Wyke $\\frac{1}{$" stopped the export with a traceback and "Mill $x^2$" was drawn
    as maths. gapmap draws no maths. Done per Text (not with a global rcParam), so sessions
    drawing in other threads are not affected.
    """
    for text in fig.findobj(matplotlib.text.Text):
        text.set_parse_math(False)
    return fig


def figure_to_bytes(fig: Figure, fmt: str, *, dpi: float | None = None) -> bytes:
    """Save `fig` as PNG or PDF bytes. PDF text uses TrueType fonts so it stays searchable."""
    buf = io.BytesIO()
    plain_text(fig)
    # rc_context because the PDF font type is only an rcParam; restored on exit.
    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}):
        meta = {"Creator": "gapmap"} if fmt == "pdf" else None
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    return buf.getvalue()


# --------------------------------------------------------------------------- layers


@dataclass
class MapLayers:
    """Geometry prepared once in EPSG:27700 (the pack reuses it for every map page)."""

    areas: gpd.GeoDataFrame  # area_code, area_name, in_selection, geometry (27700)
    services: gpd.GeoDataFrame  # public services only, with a `map_tier` column, 27700
    bounds: tuple[float, float, float, float]  # of the selection, metres
    paths: dict[str, MplPath | None] = field(default_factory=dict)  # area code -> its outline


def prepare_layers(
    dataset: Any, analysis: Any, *, simplify: bool = True, counted: pd.DataFrame | None = None
) -> MapLayers:
    """Project areas and public services to BNG; optionally simplify for light vector output.

    Parameters
    ----------
    simplify
        Simplify boundaries to about 1/2500 of the selection's width: invisible in print,
        and it keeps PDFs of many districts small.
    counted
        The services the analysis counts (`gapmap.view.counted_services`), when the caller
        already has them: finding them again costs seconds for thousands of small areas.
    """
    areas = dataset.areas[["area_code", "area_name", "geometry"]].to_crs(BNG_EPSG)
    areas["area_code"] = areas["area_code"].astype(str)
    selection = {str(c) for c in (getattr(analysis, "selection", None) or ())}
    areas["in_selection"] = areas["area_code"].isin(selection) if selection else True
    chosen = areas.loc[areas["in_selection"]]
    if chosen.empty:
        chosen = areas
    minx, miny, maxx, maxy = chosen.total_bounds
    if simplify:
        tolerance = max(maxx - minx, maxy - miny) / 2500
        areas["geometry"] = _simplify(areas.geometry, tolerance)

    if counted is None:
        counted = counted_services(dataset.services, analysis)
    services = public_services(counted)
    services = services.to_crs(BNG_EPSG) if len(services) else services.set_crs(BNG_EPSG, allow_override=True)
    tier_order = list(dataset.config.tiers)
    services = services.assign(map_tier=[_first_tier(t, tier_order) for t in services.get("tiers", [])])
    # Rings oriented (holes against their shell) so one compound path per class fills right.
    oriented = shapely.orient_polygons(areas.geometry.to_numpy())
    paths = {code: _path(geom) for code, geom in zip(areas["area_code"], oriented, strict=True)}
    return MapLayers(areas=areas, services=services, bounds=(minx, miny, maxx, maxy), paths=paths)


def _path(geom: Any) -> MplPath | None:
    """A matplotlib Path for a (multi)polygon, holes included (None when empty)."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(np.asarray([geom], dtype=object)):
        if poly is None or poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _first_tier(tiers: Iterable[str] | None, order: list[str]) -> str:
    ts = [t for t in (tiers or ()) if t in order]
    return min(ts, key=order.index) if ts else ""


def _simplify(geoms: gpd.GeoSeries, tolerance: float) -> gpd.GeoSeries:
    # Coverage simplification keeps shared borders shared (no slivers between districts);
    # fall back to per-polygon simplification where the coverage is not clean.
    try:
        out = geoms.simplify_coverage(tolerance)
        if out.is_valid.all() and not out.is_empty.any():
            return out
    except Exception:  # any GEOS failure (not a clean coverage): use the plain method
        pass
    return geoms.simplify(tolerance, preserve_topology=True)


# --------------------------------------------------------------------------- classification


def benchmark_classes(analysis: Any, benchmark: Any, area_codes: Iterable[str]) -> pd.Series:
    """Status per area code for `benchmark`: `gapmap.view.benchmark_classes` (the one rule)."""
    return view.benchmark_classes(analysis, benchmark.id, area_codes)


def _chosen_cells(analysis: Any, tier: str | None, cohort: str | None) -> pd.DataFrame:
    """The coverage rows of the chosen tier x cohort cells (None: every tier / cohort)."""
    cov = analysis.coverage
    if tier is not None:
        cov = cov.loc[cov["tier"] == tier]
    if cohort is not None:
        cov = cov.loc[cov["cohort"] == cohort]
    return cov


#: 'has' / 'gap' / 'nowhere' / 'no_data' per area: the one rule, in `gapmap.view`.
patchwork_classes = view.patchwork_classes


GAP_COUNT_COLOURS: tuple[str, ...] = ("#fcbba1", "#fb6a4a", "#cb181d")
GAP_COUNT_HATCHES: tuple[str, ...] = ("", "...", "///")


def gap_count_classes(
    analysis: Any, area_codes: Iterable[str], tier: str | None, cohort: str | None
) -> tuple[pd.Series, dict[str, str], dict[str, str], tuple[str, ...], dict[str, str]]:
    """Areas classed by their number of patchwork gaps among the chosen cells.

    0 gaps is its own (green) class; the other counts are split into at most three classes
    of roughly equal numbers of areas (light to dark red, with patterns). Returns the class
    per area and the colours, hatches, legend order and legend words of the classes.
    """
    cov = _chosen_cells(analysis, tier, cohort)
    codes = [str(c) for c in area_codes]
    n_gaps = cov.assign(area_code=cov["area_code"].astype(str)).groupby("area_code")["patchwork_gap"].sum()
    nonzero = sorted({int(v) for v in n_gaps if v > 0})
    groups: list[list[int]] = []
    if nonzero:
        k = min(3, len(nonzero))
        groups = [list(g) for g in np.array_split(np.array(nonzero), k)]
    colours = {"none": STATUS_COLOURS["green"], "no_data": STATUS_COLOURS["no_data"]}
    hatches = {"none": "", "no_data": "xx"}
    words = {"none": "No gaps", "no_data": "No data: not scored"}
    order: list[str] = []
    value_class: dict[int, str] = {0: "none"}
    for i, g in enumerate(groups):
        key = f"gaps_{i}"
        shade = GAP_COUNT_COLOURS[i + (3 - len(groups))]
        colours[key] = shade
        hatches[key] = GAP_COUNT_HATCHES[i + (3 - len(groups))]
        lo, hi = int(g[0]), int(g[-1])
        words[key] = f"{lo} gap{'s' if hi != 1 else ''}" if lo == hi else f"{lo} to {hi} gaps"
        for v in g:
            value_class[int(v)] = key
        order.append(key)
    order = [*reversed(order), "none", "no_data"]
    out = [value_class[int(n_gaps[c])] if c in n_gaps.index else "no_data" for c in codes]
    return pd.Series(out, index=codes, dtype=object), colours, hatches, tuple(order), words


#: Legend words for each status, with the configured thresholds (from `gapmap.wording`).
status_words = wording.status_legend


PATCHWORK_WORDS: dict[str, str] = {**webmap.PATCHWORK_WORDS, "no_data": "No data: not scored"}


def _tier_label(config: Any, tier: str | None) -> str:
    if tier is None:
        return "all tiers"
    return config.tiers.get(tier, {}).get("label", tier)


def _cohort_label(config: Any, cohort: str | None) -> str:
    if cohort is None:
        return "all cohorts"
    return config.cohorts.get(cohort, {}).get("label", cohort)


# --------------------------------------------------------------------------- drawing


def _fit_limits(
    bounds: tuple[float, float, float, float], box_w_in: float, box_h_in: float, margin: float = 0.04
) -> tuple[tuple[float, float], tuple[float, float]]:
    """x/y limits around `bounds` with the axes box's aspect ratio (so 1 m = 1 m both ways)."""
    minx, miny, maxx, maxy = bounds
    w = max(maxx - minx, 1.0) * (1 + 2 * margin)
    h = max(maxy - miny, 1.0) * (1 + 2 * margin)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    box_aspect = box_w_in / box_h_in
    if w / h > box_aspect:
        h = w / box_aspect
    else:
        w = h * box_aspect
    return (cx - w / 2, cx + w / 2), (cy - h / 2, cy + h / 2)


def _nice_length_m(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width (1, 2 or 5 x 10^n metres)."""
    target = span_m / 5
    exp = math.floor(math.log10(target))
    best = 10**exp
    for m in (1, 2, 5, 10):
        if m * 10**exp <= target:
            best = m * 10**exp
    return float(best)


def draw_scale_bar(ax, xlim: tuple[float, float], ylim: tuple[float, float]) -> float:
    """A two-segment black/white scale bar in the lower left; returns its length in metres."""
    span = xlim[1] - xlim[0]
    length = _nice_length_m(span)
    x0 = xlim[0] + 0.04 * span
    y0 = ylim[0] + 0.05 * (ylim[1] - ylim[0])
    h = 0.012 * (ylim[1] - ylim[0])
    ax.add_patch(
        Rectangle(
            (x0 - 0.015 * span, y0 - 2.6 * h),
            length + 0.05 * span,
            5.2 * h,
            facecolor="white",
            edgecolor="none",
            alpha=0.85,
            zorder=8,
        )
    )
    half = length / 2
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle((x0 + i * half, y0), half, h, facecolor=colour, edgecolor="black", lw=0.8, zorder=9)
        )
    km = length / 1000
    unit = "km" if km >= 1 else "m"
    value = km if km >= 1 else length

    def lab(v: float) -> str:
        return f"{v:g}"

    for xv, text in ((x0, "0"), (x0 + half, lab(value / 2)), (x0 + length, f"{lab(value)} {unit}")):
        ax.text(xv, y0 - 0.6 * h, text, ha="center", va="top", fontsize=8, zorder=10)
    return length


def draw_north_arrow(ax) -> None:
    """North arrow (British National Grid north, within 3 degrees of true north in England)."""
    ax.annotate(
        "N",
        xy=(0.955, 0.95),
        xytext=(0.955, 0.84),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={
            "facecolor": "black",
            "edgecolor": "black",
            "width": 4,
            "headwidth": 12,
            "headlength": 12,
        },
        bbox={"boxstyle": "circle,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        zorder=10,
    )


def place_labels(
    ax,
    fig: Figure,
    points: list[tuple[float, float, str]],
    *,
    fontsize: float = 8,
    offsets: int | None = None,
    obstacles: np.ndarray | None = None,
    obstacle_radius_pt: float = math.sqrt(MARKER_AREA_PT2) / 2 + 0.5,
) -> tuple[int, int]:
    """Greedy, deterministic label placement without overlaps.

    Each label tries the anchor point, then a ring of offsets; the first position whose
    bounding box lies inside the axes and overlaps no placed label wins (offset labels get a
    thin leader line). Labels that find no room are left out. Callers order `points` by
    priority (largest areas first). `obstacles` are data points (service markers) that a
    label must not cover. Returns (placed, skipped).

    Boxes are computed from each text's measured size (one measurement per label), and only
    the winners become artists: trying positions costs arithmetic, not matplotlib layouts.
    """
    renderer = _renderer(fig)
    ax_box = ax.get_window_extent(renderer)
    font = FontProperties(size=fontsize)
    px_per_pt = fig.dpi / 72
    pad = 2.0 * px_per_pt  # the label's white box padding, in pixels
    anchors = ax.transData.transform([(x, y) for x, y, _ in points]) if points else []
    placed_boxes: list[tuple[float, float, float, float]] = []
    fixed = np.empty((0, 4))
    if obstacles is not None and len(obstacles):
        r = obstacle_radius_pt * px_per_pt
        xy = ax.transData.transform(obstacles)
        fixed = np.column_stack([xy[:, 0] - r, xy[:, 1] - r, xy[:, 0] + r, xy[:, 1] + r])
    placed = skipped = 0
    for (x, y, text), (ax_px, ay_px) in zip(points, anchors, strict=True):
        w, h, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
        half = (w / 2 + pad, h / 2 + pad)
        tries = [
            (dx, dy, ax_px + dx * px_per_pt, ay_px + dy * px_per_pt) for dx, dy in _LABEL_OFFSETS_PT[:offsets]
        ]
        found = _first_free(tries, half, (ax_box.x0, ax_box.y0, ax_box.x1, ax_box.y1), placed_boxes, fixed)
        if found is None:
            skipped += 1
            continue
        (dx, dy), box = found
        placed_boxes.append(box)
        placed += 1
        _annotate(ax, text, (x, y), (dx, dy), fontsize)
    return placed, skipped


Box = tuple[float, float, float, float]


def _first_free(
    tries: list[tuple[float, float, float, float]],
    half: tuple[float, float],
    frame: Box,
    placed: list[Box],
    fixed: np.ndarray,
) -> tuple[tuple[float, float], Box] | None:
    """The first try (offset in points, centre in pixels) whose box of half-size `half` lies in
    `frame` and overlaps neither a placed label nor a fixed obstacle: (offset, box), or None."""
    for dx, dy, cx, cy in tries:
        box = (cx - half[0], cy - half[1], cx + half[0], cy + half[1])
        if not (box[0] >= frame[0] and box[2] <= frame[2] and box[1] >= frame[1] and box[3] <= frame[3]):
            continue
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        # Markers (thousands, for a national list) are checked in one vectorised test.
        if np.any(
            (box[0] < fixed[:, 2]) & (fixed[:, 0] < box[2]) & (box[1] < fixed[:, 3]) & (fixed[:, 1] < box[3])
        ):
            continue
        return (dx, dy), box
    return None


def _annotate(
    ax: Axes, text: str, at: tuple[float, float], offset: tuple[float, float], fontsize: float
) -> None:
    """A label on a white box, `offset` points from `at`, with a thin leader line when moved."""
    arrow = None
    if offset != (0, 0):
        arrow = {"arrowstyle": "-", "color": "#333333", "lw": 0.5, "shrinkA": 0, "shrinkB": 0}
    ax.annotate(
        text,
        at,
        xytext=offset,
        textcoords="offset points",
        ha="center",
        va="center",
        fontsize=fontsize,
        color="black",
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        arrowprops=arrow,
        zorder=7,
    )


def wrap_measured(fig: Figure, s: str, *, chars: int, room_in: float, font: FontProperties) -> list[str]:
    """`s` wrapped at `chars` characters, then shorter until every line measures within `room_in`
    inches in `font` (a character count alone lets wide text, e.g. file names, run over)."""
    renderer = _renderer(fig)
    room_px = room_in * fig.dpi
    while True:
        lines = textwrap.wrap(s, chars) or [""]
        widths = (renderer.get_text_width_height_descent(line, font, ismath=False)[0] for line in lines)
        if chars <= 10 or all(w <= room_px for w in widths):
            return lines
        chars = int(chars * 0.9)


class TextColumn:
    """Text drawn top-down from a cursor `y` (a fraction of the column's height).

    Lines wrap by a character budget: `width_chars` characters fit across the column at
    `chars_at_pt` points, fewer at larger sizes; a line still measured wider than the column
    (long file names, capitals) is wrapped again, shorter. Subclasses say where a line is
    drawn (`_draw_line`), how wide the column is (`_width_in`) and may start a new page when
    the column is full (`_make_room`).
    """

    def __init__(
        self, *, height_in: float, width_chars: int, chars_at_pt: float, spacing: float, y: float = 1.0
    ) -> None:
        self.height_in = height_in
        self.width = width_chars
        self.chars_at_pt = chars_at_pt
        self.spacing = spacing
        self.y = y

    def _step(self, fontsize: float, lines: int = 1) -> float:
        return fontsize * self.spacing * lines / 72 / self.height_in

    def _make_room(self, fontsize: float, lines: int = 1) -> None:
        """Called before each paragraph (`lines` long) and each line; a paginating column
        starts a new page here."""

    def _draw_line(self, x: float, line: str, **props: Any) -> None:
        raise NotImplementedError

    def _figure(self) -> Figure:
        raise NotImplementedError

    def _width_in(self, indent: float) -> float:
        """The room for a line (inches) at `indent`."""
        raise NotImplementedError

    def _wrap(self, s: str, chars: int, indent: float, font: FontProperties) -> list[str]:
        return wrap_measured(self._figure(), s, chars=chars, room_in=self._width_in(indent), font=font)

    def text(
        self,
        s: str,
        *,
        fontsize: float = 9,
        weight: str = "normal",
        style: str = "normal",
        colour: str = "black",
        indent: float = 0.0,
        width: int | None = None,
        gap: float = 0.0,
    ) -> None:
        """`s` wrapped to the column (less `indent`, a fraction of its width), then `gap` below."""
        chars = int((width or self.width) * self.chars_at_pt / fontsize * (1 - indent))
        font = FontProperties(size=fontsize, weight=weight, style=cast(Any, style))
        lines = self._wrap(s, chars, indent, font)
        self._make_room(fontsize, len(lines))
        for line in lines:
            self._make_room(fontsize)
            self._draw_line(
                indent, line, fontsize=fontsize, fontweight=weight, fontstyle=style, color=colour, va="top"
            )
            self.y -= self._step(fontsize)
        self.y -= gap


def text_lines(
    fig: Figure,
    text: str,
    *,
    x: float,
    y: float,
    chars: int,
    step: float,
    max_lines: int | None = None,
    right: float = 0.97,
    **props,
) -> None:
    """`text` wrapped at `chars` characters (fewer if a line would pass `right`), one line every
    `step` (figure fraction) down from `y`."""
    font = FontProperties(size=props.get("fontsize", 10))
    lines = wrap_measured(fig, text, chars=chars, room_in=(right - x) * fig.get_figwidth(), font=font)
    for i, line in enumerate(lines[:max_lines]):
        fig.text(x, y - i * step, line, **props)


def demo_badge(fig: Figure, x: float, y: float, *, fontsize: float) -> None:
    """The boxed "Fictional demo data" badge, right-aligned at (x, y) in figure fractions."""
    fig.text(
        x,
        y,
        DEMO_BADGE,
        fontsize=fontsize,
        fontweight="bold",
        color="#b2182b",
        ha="right",
        va="center",
        bbox={"boxstyle": "square,pad=0.4", "facecolor": "white", "edgecolor": "#b2182b", "lw": 2},
    )


class _Legend(TextColumn):
    """The map's legend: a text column in an axes, with colour swatches and marker keys."""

    def __init__(self, ax, fig: Figure, width_chars: int = 52) -> None:
        super().__init__(
            height_in=ax.get_position().height * fig.get_figheight(),
            width_chars=width_chars,
            chars_at_pt=9,
            spacing=1.3,
        )
        self.ax = ax
        self.fig = fig

    def _draw_line(self, x: float, line: str, **props: Any) -> None:
        self.ax.text(x, self.y, line, ha="left", transform=self.ax.transAxes, **props)

    def _figure(self) -> Figure:
        return self.fig

    def _width_in(self, indent: float) -> float:
        return self.ax.get_position().width * self.fig.get_figwidth() * (1 - indent)

    def swatch(
        self, colour: str, hatch: str, label: str, *, fontsize: float = 9, hatch_colour: str = "#2b2b2b"
    ) -> None:
        step = self._step(fontsize)
        h = step * 1.15
        self.ax.add_patch(
            Rectangle(
                (0, self.y - h),
                0.1,
                h,
                facecolor=colour,
                hatch=hatch,
                edgecolor="#333333",
                hatchcolor=hatch_colour,
                lw=0.6,
                transform=self.ax.transAxes,
            )
        )
        lines = textwrap.wrap(label, self.width - 7)
        y = self.y
        for line in lines:
            self.ax.text(0.13, y, line, fontsize=fontsize, va="top", ha="left", transform=self.ax.transAxes)
            y -= step
        self.y -= max(step * len(lines), h) + step * 0.35

    def marker(self, marker: str, colour: str, label: str, *, fontsize: float = 9) -> None:
        step = self._step(fontsize)
        self.ax.plot(
            [0.05],
            [self.y - step * 0.5],
            marker=marker,
            color=colour,
            markeredgecolor=MARKER_EDGE,
            markeredgewidth=0.6,
            path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")],
            markersize=math.sqrt(MARKER_AREA_PT2),  # the same size as on the map
            transform=self.ax.transAxes,
            linestyle="none",
        )
        self.ax.text(0.13, self.y, label, fontsize=fontsize, va="top", ha="left", transform=self.ax.transAxes)
        self.y -= step * 1.25

    def space(self, fontsize: float = 9, lines: float = 0.6) -> None:
        self.y -= self._step(fontsize) * lines


def _in_cell(row: Any, tier: str | None, cohort: str | None) -> bool:
    tiers = getattr(row, "tiers", ()) or ()
    cohorts = getattr(row, "cohorts", ()) or ()
    return (tier is None or tier in tiers) and (cohort is None or cohort in cohorts)


def _fit_title(
    fig: Figure, text: str, *, right: float, left: float = 0.03, y: float = 0.955, size: float = 18.0
) -> None:
    """The title at `size` pt, shrunk (down to 11 pt) until it fits between `left` and `right`."""
    renderer = _renderer(fig)
    avail = (right - left) * fig.get_figwidth() * fig.dpi
    t = fig.text(left, y, text, fontsize=size, fontweight="bold", va="center")
    t.set_parse_math(False)  # a title may hold user text (an area name): measured literally too
    while size > 11 and t.get_window_extent(renderer).width > avail:
        size -= 1
        t.set_fontsize(size)


# --------------------------------------------------------------------------- the figure


def snapshot_figure(
    dataset: Any,
    analysis: Any,
    *,
    colour_by: str = "benchmark",
    benchmark_id: str | None = None,
    tier: str | None = None,
    cohort: str | None = None,
    title: str | None = None,
    today: date | None = None,
    layers: MapLayers | None = None,
    figsize: tuple[float, float] = A4_LANDSCAPE_IN,
    overlay: Overlay | None = None,
) -> Figure:
    """One map page: choropleth + hatches, services, labels, legend, scale, north, attribution.

    Parameters
    ----------
    dataset, analysis
        A `gapmap.dataset.Dataset` and the `gapmap.engine.GapAnalysis` computed from it.
    colour_by
        "benchmark" (status of `benchmark_id`, default the profile's first area benchmark) or
        "patchwork" (gaps in the `tier` x `cohort` cell; None = every tier / cohort).
    title
        Page title; a default naming the benchmark or the patchwork cell.
    today
        The date printed in the subtitle (default: today). Tests pin it.
    layers
        Pre-projected geometry from `prepare_layers` (the pack passes simplified layers once).
    overlay
        A `map_overlay` of the same layers and size: boundaries, services and labels are left
        to it (the pack lays it over the page), the legend counts what it drew. Only for the
        patchwork of every tier and cohort or a benchmark (the overlay shows every service).

    Returns
    -------
    matplotlib.figure.Figure on an Agg canvas (save with `figure_to_bytes`).
    """
    if colour_by not in COLOUR_BY_CHOICES:
        raise ValueError(f"`colour_by` was {colour_by!r} but is expected to be in {list(COLOUR_BY_CHOICES)}")
    config = dataset.config
    today = today or date.today()
    layers = layers or prepare_layers(dataset, analysis)
    scheme = _map_scheme(
        analysis, config, layers.areas, colour_by, benchmark_id, tier, cohort, services=dataset.services
    )
    areas = layers.areas.assign(map_class=scheme.classes.to_numpy())
    fig = _new_figure(figsize)
    _draw_header(fig, dataset, analysis, title or scheme.default_title, today)
    ax = _map_axes(fig, layers)
    counts = _draw_fills(ax, layers, areas, scheme)
    if overlay is None:
        tier_counts, skipped = _draw_overlay(ax, fig, layers, config, scheme.benchmark, tier, cohort)
    else:
        tier_counts, skipped = overlay.tier_counts, overlay.skipped
    drawn = _Drawn(counts, tier_counts, skipped)
    _draw_legend(fig, analysis, config, scheme, drawn, tier, cohort)
    _draw_footer(fig, dataset, today)
    return fig


@dataclass(frozen=True)
class _Scheme:
    """How the page classes and draws areas: class per area, fills, hatches, legend order and
    words, the default title, and the benchmark (None for the patchwork)."""

    classes: pd.Series
    colours: dict[str, str]
    hatches: dict[str, str]
    order: tuple[str, ...]
    words: dict[str, str]
    default_title: str
    benchmark: Any = None
    #: The legend's heading and explanation when the page shows neither a population benchmark
    #: nor the patchwork (a demand benchmark, evidence-rated coverage): first line in bold.
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Drawn:
    """What the map drew, for the legend: areas per class, services per tier, labels skipped."""

    counts: dict[str, int]
    tier_counts: dict[str, int]
    skipped: int


def _map_scheme(
    analysis: Any,
    config: Any,
    areas: gpd.GeoDataFrame,
    colour_by: str,
    benchmark_id: str | None,
    tier: str | None,
    cohort: str | None,
    *,
    services: Any = None,
) -> _Scheme:
    """The classes of the page's areas (decided in `gapmap.view`) and how each is drawn."""
    benchmark = None
    # A demand benchmark the profile maps like any other (`demand.mapped_profile`: Idva FTE needed
    # for Marac cases, "1 per 100 Marac cases a year") keeps the benchmark page the pack draws;
    # the others (observed against expected, or refused for their level) read as demand.
    profile_ids = {b.id for b in analysis.profile.benchmarks}
    refused = ((analysis.summary or {}).get("demand") or {}).get("refused") or {}
    if (
        colour_by == "benchmark"
        and benchmark_id
        and webmap._is_demand(analysis, benchmark_id)
        and (benchmark_id not in profile_ids or benchmark_id in (refused.get("benchmarks") or ()))
    ):
        return _demand_scheme(analysis, config, areas, benchmark_id)
    if colour_by == "evidence":
        return _evidence_scheme(analysis, config, areas, services, tier, cohort)
    if colour_by == "benchmark":
        benchmark = pick_benchmark(analysis, benchmark_id)
        classes = benchmark_classes(analysis, benchmark, areas["area_code"])
        colours, hatches, order = STATUS_COLOURS, STATUS_HATCHES, STATUS_ORDER
        words = status_words(config)
        default_title = f"{benchmark.label}: provision against the benchmark"
    else:
        if tier is not None and cohort is not None:
            classes = patchwork_classes(analysis, areas["area_code"], tier, cohort)
            colours, hatches, order = PATCHWORK_COLOURS, PATCHWORK_HATCHES, PATCHWORK_ORDER
            words = PATCHWORK_WORDS
        else:
            # Several cells: nearly every area lacks something, so "any gap" would paint
            # everything red. Count the gaps instead, in up to three classes.
            classes, colours, hatches, order, words = gap_count_classes(
                analysis, areas["area_code"], tier, cohort
            )
        default_title = (
            f"The patchwork: {_tier_label(config, tier)} × {_cohort_label(config, cohort)}"
            if tier is not None or cohort is not None
            else "The patchwork: gaps per area across every tier and cohort"
        )
    return _Scheme(classes, dict(colours), dict(hatches), tuple(order), dict(words), default_title, benchmark)


#: Hatches of the evidence classes (darker classes more pattern) and of demand readings.
EVIDENCE_HATCHES: dict[str, str] = {
    "high": "",
    "moderate": "..",
    "low": "\\\\",
    "none": "///",
    "no_data": "xx",
}
DEMAND_HATCHES: dict[str, str] = {**STATUS_HATCHES, "expected": "", "high": "...", "low": "\\\\"}


def _evidence_scheme(
    analysis: Any, config: Any, areas: gpd.GeoDataFrame, services: Any, tier: str | None, cohort: str | None
) -> _Scheme:
    """Evidence-rated coverage of one tier x cohort cell (`gapmap.view.evidence_classes`)."""
    tier = tier or next(iter(config.tiers))
    cohort = cohort or next(iter(config.cohorts))
    classes = view.evidence_classes(analysis, services, areas["area_code"], tier, cohort)
    cell = f"{_tier_label(config, tier)} × {_cohort_label(config, cohort)}"
    return _Scheme(
        classes,
        {**palette.EVIDENCE_COLOURS, "no_data": STATUS_COLOURS["no_data"]},
        dict(EVIDENCE_HATCHES),
        (*palette.EVIDENCE_ORDER, "no_data"),
        {**wording.EVIDENCE_LABELS, "no_data": "No data: not scored"},
        f"Evidence in place: {cell}",
        lines=(f"{cell}: evidence in place", wording.EVIDENCE_RULE, wording.EVIDENCE_SOURCE),
    )


def _demand_scheme(analysis: Any, config: Any, areas: gpd.GeoDataFrame, benchmark_id: str) -> _Scheme:
    """A demand benchmark's rows (`gapmap.view.benchmark_classes`), with basis and period; every
    area "Not scored at this level" when the demand table is coarser than the areas."""
    from gapmap.demand import demand_benchmarks

    entry = (analysis.summary or {}).get("demand") or {}
    info = (entry.get("benchmarks") or {}).get(benchmark_id, {})
    refused = entry.get("refused") or {}
    is_refused = benchmark_id in (refused.get("benchmarks") or ())
    bench = next((b for b in demand_benchmarks(analysis.profile, config) if b.id == benchmark_id), None)
    label = str(info.get("label") or (bench.label if bench else benchmark_id))
    period = str(info.get("period") or "")
    codes = areas["area_code"].astype(str)
    if is_refused:
        classes = pd.Series("no_data", index=list(codes), dtype=object)
    else:
        classes = view.benchmark_classes(analysis, benchmark_id, codes)
    expected = bench is not None and bench.kind == "expected"
    order = ("low", "expected", "high", "no_data") if expected else STATUS_ORDER
    words = {**wording.STATUS_LABELS, **status_words(config)}
    words["no_data"] = "Not scored at this level" if is_refused else "No data: not scored"
    basis = f"From demand, {period}" if period else "From demand"
    lines = [label, f"{basis}: {bench.describe(config) if bench else ''}"]
    if is_refused:
        lines.append(f"Not scored per area shown. {refused.get('reason', '')}")
    lines.append(f"Source: {bench.source if bench else ''}")
    return _Scheme(
        classes,
        {**STATUS_COLOURS, **palette.DEMAND_COLOURS},
        dict(DEMAND_HATCHES),
        tuple(order),
        words,
        f"{label} ({basis.lower()})",
        lines=tuple(lines),
    )


def _draw_header(fig: Figure, dataset: Any, analysis: Any, title: str, today: date) -> None:
    """Title, the filter / profile / date subtitle and the demo badge."""
    config = dataset.config
    # ---- header
    is_demo = bool(getattr(dataset, "is_demo", False))
    _fit_title(fig, title, right=0.70 if is_demo else 0.97)
    profile = analysis.profile
    subtitle = f"{filter_description(analysis, config)}  ·  Profile: {profile.label}  ·  {uk_date(today)}"
    text_lines(
        fig,
        subtitle,
        x=0.03,
        y=0.915,
        chars=120,
        step=0.025,
        max_lines=2,
        fontsize=10.5,
        color="#333333",
        va="center",
    )
    if is_demo:
        demo_badge(fig, 0.97, 0.955, fontsize=14)


#: Where the map sits on the page (figure fractions: left, bottom, width, height).
MAP_BOX: tuple[float, float, float, float] = (0.03, 0.13, 0.60, 0.74)


def _map_axes(fig: Figure, layers: MapLayers, *, transparent: bool = False) -> Axes:
    """The map's axes, fitted to the selection; identical for a page and its shared overlay."""
    ax = fig.add_axes(MAP_BOX)
    xlim, ylim = _fit_limits(layers.bounds, MAP_BOX[2] * fig.get_figwidth(), MAP_BOX[3] * fig.get_figheight())
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#999999")
        spine.set_linewidth(0.6)
        spine.set_visible(not transparent)
    ax.set_facecolor("none" if transparent else "#ffffff")
    return ax


def _visible(ax: Axes, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return areas.cx[x0:x1, y0:y1]


def _compound(layers: MapLayers, codes: Iterable[str]) -> MplPath | None:
    """One path for many areas (from `MapLayers.paths`): one draw call per class, not per area."""
    paths = [path for path in (layers.paths.get(c) for c in codes) if path is not None]
    return MplPath.make_compound_path(*paths) if paths else None


def _draw_fills(ax: Axes, layers: MapLayers, areas: gpd.GeoDataFrame, scheme: _Scheme) -> dict[str, int]:
    """The selected areas filled (and hatched) by class; returns the number of areas per class."""
    chosen = _visible(ax, areas).loc[lambda a: a["in_selection"]]
    counts: dict[str, int] = {}
    for cls in scheme.order:
        part = chosen.loc[chosen["map_class"] == cls]
        counts[cls] = len(part)
        path = _compound(layers, part["area_code"])
        if path is None:
            continue
        _add_path(
            ax, path, facecolor=scheme.colours[cls], hatch=scheme.hatches[cls] or None, edgecolor="none",
            linewidth=0, hatchcolor=HATCH_COLOURS.get(cls, "#2b2b2b"), zorder=2,
        )  # fmt: skip
    return counts


def _add_path(ax: Axes, path: MplPath, **props: Any) -> None:
    """Draw `path` (data coordinates) without updating the axes' data limits: the limits are
    already fitted, and measuring thousands of vertices per path (`add_patch`) is slow."""
    ax.add_collection(PatchCollection([PathPatch(path)], **props), autolim=False)


def _draw_overlay(
    ax: Axes,
    fig: Figure,
    layers: MapLayers,
    config: Any,
    benchmark: Any,
    tier: str | None,
    cohort: str | None,
) -> tuple[dict[str, int], int]:
    """Everything but the fills: areas outside the selection, boundaries, services by tier,
    labels, scale bar and north arrow. Returns (services drawn per tier, labels skipped)."""
    visible = _visible(ax, layers.areas)
    context = visible.loc[~visible["in_selection"]]
    chosen = visible.loc[visible["in_selection"]]
    grey = _compound(layers, context["area_code"])
    if grey is not None:
        _add_path(ax, grey, facecolor="#f2f2f2", edgecolor="#cccccc", linewidth=0.4, zorder=1)
    lines = _compound(layers, chosen["area_code"])
    if lines is not None:
        _add_path(ax, lines, facecolor="none", edgecolor="white", linewidth=1.4, zorder=3)
        _add_path(ax, lines, facecolor="none", edgecolor="#333333", linewidth=0.5, zorder=3)
    svc = layers.services
    # In patchwork mode only the services of the chosen tier / cohort.
    if benchmark is None and len(svc) and (tier is not None or cohort is not None):
        svc = svc.loc[[_in_cell(r, tier, cohort) for r in svc.itertuples()]]
    if len(svc):
        svc = _visible(ax, svc)
    tier_counts = _draw_services(ax, svc, config)
    # Labels, biggest areas first (they have the most room; small ones try offsets).
    labelled = chosen.assign(_size=chosen.geometry.area).sort_values(
        ["_size", "area_code"], ascending=[False, True]
    )
    if len(labelled) > MAX_LABELLED_AREAS:
        # Thousands of small areas (LSOAs): names would be unreadable and placing them costs
        # minutes; the legend says none was labelled.
        labelled = labelled.iloc[:0]
    reps = labelled.geometry.representative_point()
    points = [(p.x, p.y, str(n)) for p, n in zip(reps, labelled["area_name"], strict=True)]
    many = len(points) > 40
    # Many areas (a region, England): small type and no leader lines, which would turn into a mesh.
    markers = np.column_stack([svc.geometry.x, svc.geometry.y]) if len(svc) else None
    _, skipped = place_labels(
        ax, fig, points, fontsize=6 if many else 8, offsets=5 if many else None, obstacles=markers
    )
    skipped += len(chosen) - len(labelled)
    draw_scale_bar(ax, ax.get_xlim(), ax.get_ylim())
    draw_north_arrow(ax)
    return tier_counts, skipped


def _draw_services(ax: Axes, svc: gpd.GeoDataFrame, config: Any) -> dict[str, int]:
    """Service markers by first tier; returns how many were drawn per tier."""
    tier_counts: dict[str, int] = {}
    many = len(svc) >= MANY_SERVICES
    for t in [*config.tiers, ""]:
        part = svc.loc[svc["map_tier"] == t] if len(svc) else svc
        tier_counts[t] = len(part)
        if len(part) == 0:
            continue
        marker, colour = TIER_MARKERS.get(t, DEFAULT_MARKER)
        ax.scatter(
            part.geometry.x,
            part.geometry.y,
            marker=marker,
            s=MARKER_AREA_MANY_PT2 if many else MARKER_AREA_PT2,
            c=colour,
            # A white rim and halo: near-black (tertiary) markers stand out on the darkest
            # (Not met) fill, and every marker on the light ones, also in greyscale. Many small
            # markers keep the rim only: a halo makes matplotlib draw each marker on its own.
            edgecolors=MARKER_EDGE,
            linewidths=0.6,
            path_effects=[] if many else [patheffects.withStroke(linewidth=2.2, foreground="white")],
            zorder=5,
        )
    return tier_counts


@dataclass(frozen=True)
class Overlay:
    """A map's shared overlay (`map_overlay`): drawn once, laid over every page of one layout."""

    figure: Figure
    tier_counts: dict[str, int]
    skipped: int


def map_overlay(
    dataset: Any, analysis: Any, layers: MapLayers, *, figsize: tuple[float, float] = A4_LANDSCAPE_IN
) -> Overlay:
    """The parts every benchmark and patchwork page of a selection share, on a transparent page:
    boundaries, services, labels, scale and north arrow. The pack draws them once and lays them
    over each page drawn with `snapshot_figure(..., overlay=...)` (fills, legend, header)."""
    fig = _new_figure(figsize)
    fig.patch.set_alpha(0)
    ax = _map_axes(fig, layers, transparent=True)
    tier_counts, skipped = _draw_overlay(ax, fig, layers, dataset.config, None, None, None)
    return Overlay(fig, tier_counts, skipped)


def _draw_legend(
    fig: Figure,
    analysis: Any,
    config: Any,
    scheme: _Scheme,
    drawn: _Drawn,
    tier: str | None,
    cohort: str | None,
) -> None:
    """The legend panel: what is mapped and its source, the classes with area counts, the
    whole selection's figure, the service markers."""
    benchmark, counts, tier_counts, skipped = scheme.benchmark, drawn.counts, drawn.tier_counts, drawn.skipped
    lax = fig.add_axes((0.66, 0.13, 0.31, 0.74))
    lax.set_axis_off()
    lax.set_xlim(0, 1)
    lax.set_ylim(0, 1)
    leg = _Legend(lax, fig)
    if benchmark is not None:
        _legend_benchmark(leg, analysis, benchmark)
    elif scheme.lines:
        _legend_lines(leg, scheme.lines)
    else:
        _legend_patchwork(leg, analysis, config, tier, cohort)
    _legend_classes(leg, analysis, scheme, counts)
    _legend_services(leg, config, benchmark, tier_counts, skipped, tier, cohort)


def _legend_benchmark(leg: _Legend, analysis: Any, benchmark: Any) -> None:
    """What a benchmark map shows: the benchmark, its population and source, how it is scored."""
    leg.text(benchmark.label, fontsize=12, weight="bold", gap=0.005)
    leg.text(f"Benchmark: {wording.benchmark_definition(benchmark)}", fontsize=9.5, gap=0.004)
    summary = analysis.summary or {}
    provenance = summary.get("benchmarks", {}).get(benchmark.id, {}).get("denominator_source")
    if provenance and benchmark.scope == "area":
        leg.text(f"Population: {provenance}", fontsize=8, colour="#333333", gap=0.004)
    leg.text(f"Source: {wording.citation_text(benchmark)}", fontsize=8, style="italic", colour="#333333")
    caveat = summary.get("profile", {}).get("caveat")
    if caveat:
        leg.text(f"Caveat: {caveat}", fontsize=7.5, colour="#8a1c1c", gap=0.004)
    leg.space()
    if benchmark.scope == "selection":
        leg.text("Scored for the whole selection: every area shows the selection's status.", fontsize=8.5)
    if benchmark.is_presence:
        leg.text("Status: services present against the minimum", fontsize=9.5, weight="bold", gap=0.004)
    else:
        leg.text("Status: provided as a share of required", fontsize=9.5, weight="bold", gap=0.004)


def _legend_lines(leg: _Legend, lines: tuple[str, ...]) -> None:
    """A demand benchmark's or evidence-rated coverage's heading (bold) and explanation."""
    leg.text(lines[0], fontsize=12, weight="bold", gap=0.005)
    for line in lines[1:]:
        leg.text(line, fontsize=8.5, gap=0.004)
    leg.space()


def _legend_patchwork(leg: _Legend, analysis: Any, config: Any, tier: str | None, cohort: str | None) -> None:
    """What a patchwork map shows: the cells, what a gap is, the patchwork index."""
    leg.text(
        f"{_tier_label(config, tier)} × {_cohort_label(config, cohort)}"
        if tier is not None or cohort is not None
        else "Every prevention tier and cohort",
        fontsize=12,
        weight="bold",
        gap=0.005,
    )
    leg.text(
        "A patchwork gap: a prevention tier and cohort that some areas of the selection "
        "have and this area does not.",
        fontsize=9,
        gap=0.004,
    )
    if tier is None or cohort is None:
        leg.text("Colour: the number of such gaps in each area.", fontsize=9, gap=0.004)
    index = (analysis.summary or {}).get("patchwork_index")
    if isinstance(index, (int, float)) and not (isinstance(index, float) and math.isnan(index)):
        leg.text(f"Patchwork index for the selection: {wording.number(index)}", fontsize=9)
    leg.space()


def _legend_classes(leg: _Legend, analysis: Any, scheme: _Scheme, counts: dict[str, int]) -> None:
    """A swatch per class with its number of areas, then the whole selection's figure."""
    colours, hatches, words, benchmark = scheme.colours, scheme.hatches, scheme.words, scheme.benchmark
    for cls in scheme.order:
        if cls == "no_data" and counts.get(cls, 0) == 0:
            continue
        n = counts.get(cls, 0)
        leg.swatch(
            colours[cls],
            hatches[cls],
            # A no-break space keeps "(4 areas)" on one line when the label wraps.
            f"{words[cls]}  ({n}\u00a0area{'s' if n != 1 else ''})",
            hatch_colour=HATCH_COLOURS.get(cls, "#2b2b2b"),
        )
    if benchmark is not None:
        whole = analysis.gaps.loc[
            (analysis.gaps["benchmark_id"] == benchmark.id)
            & (analysis.gaps["area_code"].astype(str) == "ALL")
        ]
        if len(whole):
            r = whole.iloc[0].to_dict()
            leg.space(lines=0.3)
            leg.text(f"Whole selection: {wording.figure_text(r, benchmark)}.", fontsize=9)


def _legend_services(
    leg: _Legend,
    config: Any,
    benchmark: Any,
    tier_counts: dict[str, int],
    skipped: int,
    tier: str | None,
    cohort: str | None,
) -> None:
    """The service markers by tier, the confidentiality note and labels left out."""
    leg.space()
    heading = "Services (by first prevention tier)"
    if benchmark is None and (tier or cohort):
        heading = "Services in this tier and cohort (by first tier)"
    leg.text(heading, fontsize=9.5, weight="bold", gap=0.004)
    for t in config.tiers:
        marker, colour = TIER_MARKERS.get(t, DEFAULT_MARKER)
        leg.marker(marker, colour, f"{_tier_label(config, t)}  ({tier_counts.get(t, 0)})", fontsize=8.5)
    if tier_counts.get("", 0):
        leg.marker(*DEFAULT_MARKER, f"No tier recorded  ({tier_counts['']})", fontsize=8.5)
    leg.text(CONFIDENTIAL_NOTE, fontsize=8, style="italic", colour="#333333")
    if skipped:
        leg.text(f"{skipped} small area(s) left unlabelled for lack of room.", fontsize=8, colour="#333333")


def _draw_footer(fig: Figure, dataset: Any, today: date) -> None:
    """Crown copyright and ONS attribution, the data sources, the projection."""
    # ---- footer
    fig.text(0.03, 0.085, f"{CROWN_COPYRIGHT.format(year=today.year)}. {ONS_ATTRIBUTION}", fontsize=8)
    text_lines(
        fig,
        sources_line(dataset),
        x=0.03,
        y=0.062,
        chars=170,
        step=0.02,
        max_lines=3,
        fontsize=7.5,
        color="#333333",
    )
    fig.text(
        0.97,
        0.02,
        "Map: British National Grid (EPSG:27700). Made with gapmap.",
        fontsize=7,
        color="#555555",
        ha="right",
    )


def snapshot_png(dataset: Any, analysis: Any, *, dpi: int = PNG_DPI, **kwargs: Any) -> bytes:
    """The snapshot as PNG bytes (A4 landscape, 300 dpi by default: 3507 x 2481 pixels)."""
    fig = snapshot_figure(dataset, analysis, **kwargs)
    return figure_to_bytes(fig, "png", dpi=dpi)


def snapshot_pdf(dataset: Any, analysis: Any, **kwargs: Any) -> bytes:
    """The snapshot as a one-page vector PDF (searchable text)."""
    fig = snapshot_figure(dataset, analysis, **kwargs)
    return figure_to_bytes(fig, "pdf")


__all__ = [
    "PATCHWORK_COLOURS",
    "STATUS_COLOURS",
    "STATUS_HATCHES",
    "MapLayers",
    "prepare_layers",
    "snapshot_figure",
    "snapshot_pdf",
    "snapshot_png",
    "uk_date",
]
