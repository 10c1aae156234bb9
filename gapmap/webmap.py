"""Interactive maps (folium/Leaflet) of benchmark status and patchwork gaps, working offline.

folium's stock `Map` pulls Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. A meeting
room may have no internet, so `build_map` returns an `OfflineMap` that references only Leaflet,
either served by the app itself (`asset_mode="served"`, Streamlit static serving of
`static/vendor/leaflet`) or inlined (`asset_mode="inline"`, for `standalone_html`). Nothing else
on the map needs an external asset: areas are GeoJSON paths (SVG), services one layer of circle
markers on a canvas (`ServiceLayer`), the legend and labels plain HTML.

The map is built in named steps: `base_map` (areas, labels, legend, first view) and
`service_layer` (the markers and their part of the legend); `build_map` joins them for a
standalone page, the app sends the markers as a layer of their own (`service_group`) so that
changing only them leaves the base map in the browser as it was.

Everything user-supplied (area names, service names, providers) is escaped before it becomes
HTML, because Leaflet tooltips set `innerHTML`: area texts by `html.escape` here, service texts
by the browser when it builds a marker's tooltip (`_SERVICE_LAYER_JS`). Confidential services
(refuges) never become points: only `privacy.public_services` rows are drawn.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement
from jinja2 import Template

from gapmap import palette, settings, view, wording
from gapmap.config import Config
from gapmap.privacy import public_services, redact_confidential
from gapmap.schema import AREA_CODE, AREA_NAME
from gapmap.view import counted_services
from gapmap.wording import CONFIDENTIAL_NOTE, CROWN_COPYRIGHT, DEMO_BADGE

AssetMode = Literal["served", "inline"]
ColourBy = Literal["benchmark", "patchwork", "evidence"]

#: Status and patchwork colours shared by every output, always shown with a word: the one
#: palette is `gapmap.palette` (lightness steps checked for colour-blind and greyscale readers).
STATUS_COLOURS: dict[str, str] = palette.STATUS_COLOURS
#: The words of each status and patchwork state: one copy, in `gapmap.wording`.
STATUS_WORDS: dict[str, str] = wording.STATUS_LABELS

#: Patchwork states of one tier x cohort cell in one area.
PATCHWORK_COLOURS: dict[str, str] = palette.PATCHWORK_COLOURS
PATCHWORK_WORDS: dict[str, str] = wording.PATCHWORK_LABELS

#: Service markers by (first) prevention tier: the one palette of every map (this interactive
#: one, the static snapshot and the pack). Blues and near-black stay apart from the
#: red/amber/green fills for colour-blind readers, and each colour has its own lightness
#: (CIELAB L* about 47, 70, 10 and 29), so tiers stay apart in greyscale and on a washed-out
#: projector too. Every map adds a shape per tier (`TIER_SHAPES`), so no reader has to tell
#: tiers apart by colour alone.
TIER_COLOURS: dict[str, str] = {
    "primary": "#0072B2",  # Okabe-Ito blue
    "secondary": "#56B4E9",  # Okabe-Ito sky blue
    "tertiary": "#1b1b1b",  # near-black
}
#: Services with no tier in the vocabulary.
OTHER_TIER_COLOUR = "#444444"
#: Marker shape per tier, as matplotlib's codes (circle, square, triangle; diamond for no
#: tier): the static maps draw them, and this map draws the same shapes on its canvas.
TIER_SHAPES: dict[str, str] = {"primary": "o", "secondary": "s", "tertiary": "^"}
OTHER_TIER_SHAPE = "D"
#: The names the browser's marker layer draws (`_SERVICE_LAYER_JS`), by matplotlib code.
CANVAS_SHAPES: dict[str, str] = {"o": "circle", "s": "square", "^": "triangle", "D": "diamond"}

#: Tolerance (metres, British National Grid) for display geometry. About 200 m keeps a
#: district's shape faithful at county zoom while all of England stays well under 3 MB.
SIMPLIFY_METRES: float = 200.0
#: Decimal places kept in display coordinates (5 dp is about 1 m).
COORD_DECIMALS: int = 5
#: Above this many service markers they are drawn smaller.
MANY_MARKERS: int = 150
#: Above this many they are 2 px dots with a hairline outline until zoomed in: a national
#: list would otherwise cover the areas' colours.
DENSE_MARKERS: int = 2000
#: Legend width on screen; the first view leaves this much room on the right for it.
LEGEND_WIDTH_PX: int = 330
#: Draw area name labels when there are at most this many areas (more would collide).
MAX_LABELLED_AREAS: int = 40

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

SERVED_URL_PREFIX = "/app/static/vendor/leaflet"


# --------------------------------------------------------------------------- assets
def leaflet_paths(vendor_dir: Path | None = None) -> tuple[Path, Path]:
    """Paths of the vendored leaflet.js and leaflet.css (shipped in gapmap/vendor/leaflet)."""
    base = Path(vendor_dir or settings.VENDOR_DIR) / "leaflet"
    return base / "leaflet.js", base / "leaflet.css"


def _read_vendor(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: Leaflet ships in the package (gapmap/vendor/leaflet); reinstall "
            "gapmap (`pip install .`) or restore that folder from the repository"
        ) from None


def _inline_css_images(css: str, css_dir: Path) -> str:
    """Replace `url(images/x.png)` in Leaflet's CSS with data: URIs so nothing is fetched."""

    def repl(match: re.Match[str]) -> str:
        rel = match.group(1).strip("'\"")
        target = css_dir / rel
        if rel.startswith("data:") or not target.is_file():
            return match.group(0)
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{payload})"

    # Comments go too: they hold bug-tracker URLs, and a self-contained file should hold none.
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return re.sub(r"url\(([^)]+)\)", repl, css)


class _InlineAssets(MacroElement):
    """Puts Leaflet's JS and CSS into the page header as inline <script>/<style>."""

    _template = Template(
        """{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>{{ this.js }}</script>
{% endmacro %}"""
    )

    def __init__(self, js: str, css: str) -> None:
        super().__init__()
        self._name = "InlineLeaflet"
        # "</script" inside the library would end the element early; Leaflet has none, but guard.
        self.js = js.replace("</script", "<\\/script")
        self.css = css.replace("</style", "<\\/style")


class OfflineMap(folium.Map):
    """A folium Map whose only asset is Leaflet, from the app or inlined; never a CDN."""

    def __init__(self, *args: Any, asset_mode: AssetMode = "served", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset_mode = asset_mode
        if asset_mode == "served":
            self.default_js = [("leaflet", f"{SERVED_URL_PREFIX}/leaflet.js")]
            self.default_css = [("leaflet_css", f"{SERVED_URL_PREFIX}/leaflet.css")]
        elif asset_mode == "inline":
            self.default_js = []
            self.default_css = []
            js_path, css_path = leaflet_paths()
            css = _inline_css_images(_read_vendor(css_path), css_path.parent)
            # A child of the map: MacroElements put their header macro into the page header on render.
            self.add_child(_InlineAssets(_read_vendor(js_path), css), name="leaflet_inline")
        else:
            raise ValueError(f'`asset_mode` was "{asset_mode}" but is expected to be "served" or "inline"')


# --------------------------------------------------------------------------- formatting
#: Dates as people read them (one definition, in `gapmap.wording`).
uk_date = wording.uk_date


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(str(v) for v in value)


def _labels(table: dict[str, dict[str, str]], keys: Iterable[str]) -> str:
    return ", ".join(_label(table, k) for k in keys)


def _missing(value: Any) -> bool:
    """None, NaN or NaT (a scalar; lists and tuples are values)."""
    return value is None or (not isinstance(value, list | tuple | np.ndarray) and bool(pd.isna(value)))


def _label(table: dict[str, dict[str, str]], key: str) -> str:
    return table.get(key, {}).get("label", key)


# --------------------------------------------------------------------------- geometry
def display_geometry(
    areas: gpd.GeoDataFrame, *, tolerance_m: float = SIMPLIFY_METRES, decimals: int = COORD_DECIMALS
) -> gpd.GeoSeries:
    """Area outlines simplified for display, in WGS84, coordinates rounded.

    Simplifies in British National Grid so the tolerance is in metres. Shared borders are
    simplified once (`shapely.coverage_simplify`) so neighbours still meet without slivers;
    if the layer is not a clean coverage, falls back to per-area topology-preserving simplify.
    """
    geoms = areas.geometry
    if geoms.crs is None:
        geoms = geoms.set_crs(settings.WGS84_EPSG)
    bng = geoms.to_crs(settings.BNG_EPSG)
    values = bng.to_numpy()
    try:
        simplified = shapely.coverage_simplify(values, tolerance_m)
    except Exception:  # GEOS refuses overlapping/invalid coverages: per-area simplify is still fine
        simplified = shapely.simplify(values, tolerance_m, preserve_topology=True)
    # An area smaller than the tolerance must not vanish: keep its original outline.
    empty = shapely.is_empty(simplified) | pd.isna(simplified)
    simplified = np.where(empty, values, simplified)
    out = gpd.GeoSeries(simplified, index=areas.index, crs=settings.BNG_EPSG).to_crs(settings.WGS84_EPSG)
    rounded = shapely.transform(out.to_numpy(), lambda xy: np.round(xy, decimals))
    return gpd.GeoSeries(rounded, index=areas.index, crs=settings.WGS84_EPSG)


# --------------------------------------------------------------------------- area states
def benchmark_states(analysis: Any, benchmark_id: str) -> tuple[dict[str, dict[str, Any]], bool]:
    """Per-area rows of `analysis.gaps` for one benchmark (for tooltips), keyed by area code.

    Returns the rows and whether they came from the whole-selection row (a "selection"
    scope benchmark has no per-area figures; every area then shows the selection's status).
    The status itself is decided once, by `gapmap.view.benchmark_classes`.
    """
    gaps = analysis.gaps
    rows = gaps[gaps["benchmark_id"] == benchmark_id]
    per_area = rows[rows[AREA_CODE] != "ALL"]
    if len(per_area):
        return {str(r[AREA_CODE]): r for r in per_area.to_dict("records")}, False
    whole = rows[rows[AREA_CODE] == "ALL"]
    if len(whole):
        record = whole.iloc[0].to_dict()
        return {code: record for code in analysis.selection}, True
    return {}, False


def patchwork_states(analysis: Any, tier: str, cohort: str) -> dict[str, str]:
    """'has' / 'gap' / 'nowhere' per area for one tier x cohort cell (`gapmap.view.patchwork_classes`)."""
    cov = analysis.coverage
    cell = cov[(cov["tier"] == tier) & (cov["cohort"] == cohort)]
    if cell.empty:
        return {}
    codes = cell[AREA_CODE].astype(str).tolist()
    return dict(view.patchwork_classes(analysis, codes, tier, cohort))


# --------------------------------------------------------------------------- tooltips
def area_tooltip_benchmark(
    name: str, row: dict[str, Any] | None, *, whole_selection: bool, benchmark: Any = None
) -> str:
    """Escaped HTML tooltip for an area coloured by a benchmark (figures from `gapmap.wording`)."""
    lines = [f"<b>{escape(name)}</b>"]
    if row is None:
        lines.append(wording.status_label("no_data"))
        return "<br>".join(lines)
    status = str(row.get("status", "no_data"))
    prefix = "Whole selection: " if whole_selection else ""
    if benchmark is not None and benchmark.is_presence:
        lines.append(f"<b>{escape(prefix + wording.figure_text(row, benchmark))}</b>")
        return "<br>".join(lines)
    lines.append(f"<b>{escape(wording.status_label(status))}</b>")
    provided, required = wording.number(row.get("provided")), wording.number(row.get("required"))
    ratio = wording.percent(row.get("ratio"))
    tail = "" if ratio == wording.MISSING else f" ({ratio})"
    lines.append(escape(f"{prefix}provided {provided} of {required} required{tail}"))
    shortfall: Any = row.get("shortfall")
    try:
        if float(shortfall) > 0:
            lines.append(f"Shortfall {escape(wording.number(shortfall))}")
    except (TypeError, ValueError):
        pass
    return "<br>".join(lines)


#: The one place a service's tooltip rows are named, in their order (the browser builds the
#: tooltip from these columns of `ServicePoints.payload`; see `_SERVICE_LAYER_JS`).
SERVICE_TOOLTIP_ROWS: tuple[tuple[str, str], ...] = (
    ("provider", "Provider"),
    ("type", "Type"),
    ("tiers", "Tiers"),
    ("cohorts", "Cohorts"),
    ("hours", "Hours"),
    ("funding", "Funding ends"),
)


@dataclass(frozen=True)
class ServicePoints:
    """The public services as the browser draws them: columns, not one object per marker.

    `payload` holds, per point, `lat`/`lon` (rounded to `COORD_DECIMALS`), the raw `name`, the
    catchment `km` (0 = none) and, for each repeated text (provider, type, tiers, cohorts,
    hours, funding end, marker colour and shape), an index into a list of that text's distinct values
    (`<column>Values`). Texts are plain, never HTML: the browser escapes them when it builds a
    tooltip. `tiers_present` (vocabulary order) and `has_catchments` feed the legend.
    """

    payload: dict[str, list[Any]]
    tiers_present: tuple[str, ...]
    has_catchments: bool

    def __len__(self) -> int:
        return len(self.payload["lat"])


def _coded(values: pd.Series, column: str, text: Callable[[Any], str]) -> dict[str, list[Any]]:
    """`values` as indices into their distinct texts: `{column: [...], columnValues: [...]}`.

    `text` turns a value into what a reader sees; it runs once per distinct value, not per
    row (a national list repeats its providers, types and dates thousands of times).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    texts = ["" if _missing(u) else text(u) for u in uniques]
    # Distinct values may read alike (None and ""): one entry per text.
    distinct, index = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return {column: index[codes].tolist(), f"{column}Values": [str(t) for t in distinct]}


def service_points(services: gpd.GeoDataFrame | None, config: Config) -> ServicePoints:
    """The public services (`privacy.public_services`: never a confidential location) as
    columns for `ServiceLayer`, built without a Python object per marker."""
    if services is None or not len(services):
        empty: dict[str, list[Any]] = {"lat": [], "lon": [], "name": [], "km": []}
        return ServicePoints(payload=empty, tiers_present=(), has_catchments=False)
    public = public_services(services)

    def column(name: str) -> pd.Series:
        """A column (tuples for list values, so they can be counted); None for a missing one."""
        if name not in public:
            return pd.Series([None] * len(public), dtype=object)
        values = public[name].reset_index(drop=True)
        return values.map(_as_tuple) if name in ("tiers", "cohorts") else values

    first = column("tiers").map(lambda t: t[0] if t else "")
    type_labels = {k: v.label for k, v in config.service_types.items()}
    km = pd.to_numeric(column("catchment_km"), errors="coerce").fillna(0.0).clip(lower=0.0)
    payload: dict[str, list[Any]] = {
        "lat": np.round(public.geometry.y.to_numpy(), COORD_DECIMALS).tolist(),
        "lon": np.round(public.geometry.x.to_numpy(), COORD_DECIMALS).tolist(),
        "name": column("name").fillna("").astype(str).tolist(),
        "km": km.astype(float).tolist(),
    }
    payload |= _coded(column("provider"), "provider", str)
    payload |= _coded(column("service_type"), "type", lambda t: type_labels.get(str(t), str(t)))
    payload |= _coded(column("tiers"), "tiers", lambda ts: _labels(config.tiers, ts))
    payload |= _coded(column("cohorts"), "cohorts", lambda cs: _labels(config.cohorts, cs))
    payload |= _coded(column("hours"), "hours", wording.hours_label)
    payload |= _coded(column("funding_end"), "funding", uk_date)
    payload |= _coded(first, "fill", lambda f: TIER_COLOURS.get(f, OTHER_TIER_COLOUR))
    payload |= _coded(first, "shape", lambda f: CANVAS_SHAPES[TIER_SHAPES.get(f, OTHER_TIER_SHAPE)])
    order = list(config.tiers)
    # "" (no tier recorded) last: the legend names it like the static map's.
    present = sorted(set(first), key=lambda t: order.index(t) if t in order else len(order) + (t == ""))
    return ServicePoints(payload=payload, tiers_present=tuple(present), has_catchments=bool((km > 0).any()))


# --------------------------------------------------------------------------- legend
class Legend(MacroElement):
    """A Leaflet control (bottom right, clear of the zoom buttons) holding pre-escaped legend HTML."""

    _template = Template(
        """{% macro script(this, kwargs) %}
(function() {
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
        var div = L.DomUtil.create("div", "gapmap-legend");
        div.innerHTML = {{ this.html_json }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}"""
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html
        # JSON for JS; "</" escaped so the string can never close the <script> element.
        self.html_json = json.dumps(html).replace("</", "<\\/")


class ProjectorBehaviour(MacroElement):
    """What makes the map usable on a projector and inside a scrolling page.

    - The mouse wheel scrolls the page until the map is clicked (then it zooms; leaving the
      map turns that off again), so reading past the map never zooms it by accident.
    - The legend collapses to its title (a click opens it) when the map is small, and the
      first view fits the areas into the space the legend leaves free.
    - Area labels never overprint: largest areas first, a label that would overlap one
      already placed is shortened to its status symbol, and hidden if even that overlaps
      (the full name is in the area's tooltip and profile). Redone after every zoom.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var bounds = {{ this.bounds_json }};
    map.scrollWheelZoom.disable();
    map.on("click", function () { map.scrollWheelZoom.enable(); });
    map.getContainer().addEventListener("mouseleave", function () { map.scrollWheelZoom.disable(); });
    function overlaps(a, b) {
        return !(a.right <= b.left || a.left >= b.right || a.bottom <= b.top || a.top >= b.bottom);
    }
    function declutter() {
        var placed = [];
        var legend = map.getContainer().querySelector(".gapmap-legend");
        if (legend) { placed.push(legend.getBoundingClientRect()); }
        var labels = Array.prototype.slice.call(map.getContainer().querySelectorAll(".gapmap-label"));
        labels.sort(function (a, b) { return (+b.dataset.rank || 0) - (+a.dataset.rank || 0); });
        labels.forEach(function (el) {
            var full = el.querySelector(".gapmap-full"), short = el.querySelector(".gapmap-short");
            el.style.visibility = "visible";
            if (full) { full.style.display = ""; } if (short) { short.style.display = "none"; }
            var r = el.getBoundingClientRect();
            if (placed.some(function (p) { return overlaps(r, p); }) && full && short) {
                full.style.display = "none"; short.style.display = "";
                r = el.getBoundingClientRect();
            }
            if (placed.some(function (p) { return overlaps(r, p); })) {
                el.style.visibility = "hidden";
            } else { placed.push(r); }
        });
    }
    function fit() {
        var size = map.getSize();
        var legend = map.getContainer().querySelector(".gapmap-legend details");
        if (legend && (size.x < 760 || size.y < 420)) { legend.open = false; }
        var box = legend ? legend.getBoundingClientRect() : {width: 0, height: 0};
        // The legend sits bottom right: leave its width free when the map is wide enough,
        // else its height.
        var pad = size.x - box.width > 0.55 * size.x ? [box.width + 16, 10] : [10, box.height + 10];
        if (bounds) { map.fitBounds(bounds, {paddingTopLeft: [10, 10], paddingBottomRight: pad}); }
        declutter();
    }
    map.on("zoomend moveend", declutter);
    setTimeout(fit, 0);
    document.addEventListener("toggle", function () { setTimeout(declutter, 0); }, true);
})();
{% endmacro %}"""
    )

    def __init__(self, bounds: list[list[float]] | None) -> None:
        super().__init__()
        self._name = "ProjectorBehaviour"
        self.bounds_json = json.dumps(bounds)


#: The browser side of `ServiceLayer`: rebuilds features from the columns of `ServicePoints`,
#: draws them on one canvas (thousands of SVG elements would slow every pan and zoom), and
#: builds a marker's tooltip only when it is shown, escaping every text it puts into HTML
#: (Leaflet sets a tooltip's innerHTML).
_SERVICE_LAYER_JS = """function (d, o) {
    var escapes = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
    function esc(text) {
        return String(text).replace(/[&<>"']/g, function (c) { return escapes[c]; });
    }
    // Their own pane: above the areas (overlayPane, SVG), below the labels; see-through for
    // the mouse (CSS in `_new_map`), so the areas under the markers stay clickable. Leaflet's
    // own hit test of the canvas then runs on the map's mouse moves, for the tooltips.
    var canvas = L.canvas({padding: 0.5, pane: "gapmapServices"});
    var group = L.featureGroup();
    function hover(e) { canvas._onMouseMove(e.originalEvent); }
    function leave(e) { canvas._handleMouseOut(e); }
    // The legend's services part travels with the markers, so the base map (and its legend)
    // stays the same when only they change.
    function legendBox(map) { return map.getContainer().querySelector(".gapmap-legend-services"); }
    group.onAdd = function (map) {
        if (!map.getPane("gapmapServices")) { map.createPane("gapmapServices").style.zIndex = 450; }
        if (legendBox(map)) { legendBox(map).innerHTML = o.legend; }
        L.FeatureGroup.prototype.onAdd.call(this, map);
        zoomed(map);
        map.on("zoomend", onZoom);
        map.on("mousemove", hover);
        L.DomEvent.on(map.getContainer(), "mouseleave", leave);
    };
    group.onRemove = function (map) {
        map.off("zoomend", onZoom);
        map.off("mousemove", hover);
        L.DomEvent.off(map.getContainer(), "mouseleave", leave);
        if (legendBox(map)) { legendBox(map).innerHTML = ""; }
        L.FeatureGroup.prototype.onRemove.call(this, map);
    };
    // A marker drawn as its tier's shape (circle, square, triangle, diamond: the static maps'
    // shapes) within the circle Leaflet hit-tests, so tiers differ by more than colour.
    var ShapeMarker = L.CircleMarker.extend({
        _updatePath: function () {
            var shape = this.options.shape, r = this._renderer;
            if (!shape || shape === "circle" || !r._ctx) {
                return L.CircleMarker.prototype._updatePath.call(this);
            }
            if (!r._drawing || this._empty()) { return; }
            var p = this._point, ctx = r._ctx, s = Math.max(this._radius, 1);
            ctx.beginPath();
            if (shape === "square") {
                ctx.rect(p.x - 0.85 * s, p.y - 0.85 * s, 1.7 * s, 1.7 * s);
            } else if (shape === "triangle") {
                ctx.moveTo(p.x, p.y - 1.1 * s);
                ctx.lineTo(p.x + s, p.y + 0.75 * s);
                ctx.lineTo(p.x - s, p.y + 0.75 * s);
                ctx.closePath();
            } else {  // diamond
                ctx.moveTo(p.x, p.y - 1.1 * s);
                ctx.lineTo(p.x + 1.1 * s, p.y);
                ctx.lineTo(p.x, p.y + 1.1 * s);
                ctx.lineTo(p.x - 1.1 * s, p.y);
                ctx.closePath();
            }
            r._fillStroke(ctx, this);
        }
    });
    var features = [];
    for (var i = 0; i < d.lat.length; i++) {
        var props = {name: d.name[i], fill: d.fillValues[d.fill[i]], km: d.km[i],
                     shape: d.shapeValues ? d.shapeValues[d.shape[i]] : "circle"};
        o.rows.forEach(function (row) { props[row[0]] = d[row[0] + "Values"][d[row[0]][i]]; });
        features.push({type: "Feature", properties: props,
                       geometry: {type: "Point", coordinates: [d.lon[i], d.lat[i]]}});
        if (o.catchments && d.km[i] > 0) {
            L.circle([d.lat[i], d.lon[i]], {renderer: canvas, radius: d.km[i] * 1000, color: props.fill,
                weight: 2, dashArray: "6 6", fill: false, interactive: false}).addTo(group);
        }
    }
    function tooltip(layer) {
        var p = layer.feature.properties, out = ["<b>" + esc(p.name) + "</b>"];
        o.rows.forEach(function (row) { if (p[row[0]]) { out.push(esc(row[1]) + ": " + esc(p[row[0]])); } });
        return out.join("<br>");
    }
    var plain = {radius: o.radius, color: "#ffffff", weight: o.weight, fillOpacity: 1.0};
    // Dense lists grow from their small dots as the map is zoomed in (to 8 px at most), and
    // take the full white outline once big enough, so dark dots show on the darkest fills.
    function zoomed(map) {
        var r = Math.min(8, o.radius + 2 * Math.max(0, map.getZoom() - 8));
        if (r !== plain.radius) {
            plain.radius = r;
            plain.weight = r >= 4 ? Math.max(2, o.weight) : o.weight;
            markers.eachLayer(function (m) { m.setStyle(plain); });
        }
    }
    function onZoom(e) { zoomed(e.target); }
    var markers = L.geoJSON({type: "FeatureCollection", features: features}, {
        pointToLayer: function (f, latlng) {
            return new ShapeMarker(latlng, L.extend(
                {renderer: canvas, fillColor: f.properties.fill, shape: f.properties.shape}, plain));
        },
        onEachFeature: function (f, layer) {
            layer.bindTooltip(tooltip, {className: "gapmap-tooltip gapmap-service-tip"});
            // While a marker is hovered its tooltip is the only one (CSS in `_new_map`): the
            // area's, under the same pointer, would show through.
            layer.on("mouseover", function () {
                layer.setStyle({weight: 4, color: "#000000"});
                if (layer._map) { L.DomUtil.addClass(layer._map.getContainer(), "gapmap-on-service"); }
            });
            layer.on("mouseout", function () {
                layer.setStyle(plain);
                if (layer._map) { L.DomUtil.removeClass(layer._map.getContainer(), "gapmap-on-service"); }
            });
        }
    }).addTo(group);
    return group;
}"""


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "<" (so no "</script>" or "<!--"), ">" or "&",
    and no raw U+2028/U+2029 (line ends to JavaScript engines before ES2019)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


class ServiceLayer(MacroElement):
    """Every public service marker as ONE Leaflet layer on a canvas (`_SERVICE_LAYER_JS`).

    The page carries columns (`ServicePoints.payload`), not a folium element or a tooltip per
    marker: for a national list of 10,000 services that is a fraction of the bytes and of the
    time, in Python and in the browser.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = ({{ this.js }})({{ this.payload_json }}, {{ this.options_json }});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}"""
    )

    def __init__(self, points: ServicePoints, *, catchments: bool = False, legend: str = "") -> None:
        super().__init__()
        self._name = "ServiceLayer"
        self.js = _SERVICE_LAYER_JS
        self.payload_json = _script_json(points.payload)
        # Smaller dots when there are many (a national map), so areas stay readable.
        radius = 8 if len(points) <= MANY_MARKERS else 5 if len(points) <= DENSE_MARKERS else 2
        weight = 0.5 if len(points) > DENSE_MARKERS else 2
        rows = [list(row) for row in SERVICE_TOOLTIP_ROWS]
        self.options_json = _script_json(
            {"radius": radius, "weight": weight, "catchments": catchments, "rows": rows, "legend": legend}
        )


#: Status symbols for labels too small for words (and beside every word): shape, not colour.
STATUS_SYMBOLS: dict[str, str] = palette.STATUS_SYMBOLS
PATCHWORK_SYMBOLS: dict[str, str] = palette.PATCHWORK_SYMBOLS

_LEGEND_STYLE = (
    "background:#ffffff;color:#111111;padding:8px 10px;border:2px solid #333333;"
    "border-radius:4px;font:14px/1.3 system-ui,-apple-system,'Segoe UI',Arial,sans-serif;"
    "width:280px;max-height:calc(100vh - 40px);overflow-y:auto;box-shadow:0 1px 4px rgba(0,0,0,0.3);"
)


def _swatch(colour: str, word: str) -> str:
    return (
        f'<div style="display:flex;align-items:center;margin:3px 0">'
        f'<span style="display:inline-block;width:20px;height:20px;background:{colour};'
        f'border:2px solid #222;border-radius:2px;margin-right:8px;flex:none"></span>'
        f"<span>{escape(word)}</span></div>"
    )


#: The legend's picture of each marker shape: SVG in a 24 x 24 box, drawn as on the map.
_SHAPE_SVG: dict[str, str] = {
    "circle": '<circle cx="12" cy="12" r="8"/>',
    "square": '<rect x="5" y="5" width="14" height="14"/>',
    "triangle": '<polygon points="12,3 21,18 3,18"/>',
    "diamond": '<polygon points="12,2 22,12 12,22 2,12"/>',
}


def _marker_swatch(colour: str, shape: str, word: str) -> str:
    """A legend row with the marker as the map draws it: its tier's shape and colour."""
    return (
        '<div style="display:flex;align-items:center;margin:3px 0">'
        '<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" '
        f'style="margin-right:6px;flex:none"><g fill="{colour}" stroke="#222222" stroke-width="1.5">'
        f"{_SHAPE_SVG[shape]}</g></svg><span>{escape(word)}</span></div>"
    )


def legend_html_benchmark(
    benchmark: Any,
    config: Config,
    *,
    whole_selection: bool,
    year: int,
    denominator_source: str = "",
    caveat: str = "",
) -> str:
    """Legend for benchmark colouring: label, definition, thresholds in words, provenance, citation."""
    parts = [
        f'<div style="{_LEGEND_STYLE}"><details open>',
        f'<summary style="font-weight:700;font-size:16px;cursor:pointer">{escape(benchmark.label)}</summary>',
        f"<div>Benchmark: {escape(wording.benchmark_definition(benchmark))}</div>",
    ]
    if whole_selection:
        parts.append("<div><i>Scored for the whole selection, not per area.</i></div>")
    words = wording.status_legend(config)
    parts += [_swatch(STATUS_COLOURS[k], words[k]) for k in ("green", "amber", "red", "no_data")]
    if denominator_source and benchmark.scope == "area":
        parts.append(
            f'<div style="font-size:12px;margin-top:4px">Population: {escape(denominator_source)}</div>'
        )
    parts.append(
        f'<div style="font-size:12px;margin-top:4px">Source: {escape(wording.citation_text(benchmark))}</div>'
    )
    if caveat:
        parts.append(f'<div style="font-size:12px;margin-top:4px"><b>Caveat:</b> {escape(caveat)}</div>')
    return "".join(parts)


def legend_html_patchwork(tier: str, cohort: str, config: Config) -> str:
    """Legend for patchwork colouring of one tier x cohort cell."""
    parts = [
        f'<div style="{_LEGEND_STYLE}"><details open>',
        f'<summary style="font-weight:700;font-size:16px;cursor:pointer">{escape(_label(config.tiers, tier))}'
        f" × {escape(_label(config.cohorts, cohort))}</summary>",
        "<div>Is there a service of this tier for this cohort?</div>",
    ]
    parts += [_swatch(PATCHWORK_COLOURS[k], PATCHWORK_WORDS[k]) for k in ("has", "gap", "nowhere")]
    return "".join(parts)


def _legend_services(tiers_present: Iterable[str], config: Config, *, catchments: bool) -> str:
    parts = ['<div style="margin-top:6px;font-weight:700">Services (by first tier)</div>']
    for tier in tiers_present:
        shape = CANVAS_SHAPES[TIER_SHAPES.get(tier, OTHER_TIER_SHAPE)]
        word = _label(config.tiers, tier) if tier else "No tier recorded"
        parts.append(_marker_swatch(TIER_COLOURS.get(tier, OTHER_TIER_COLOUR), shape, word))
    parts.append(f'<div style="font-size:12px">{CONFIDENTIAL_NOTE}</div>')
    if catchments:
        parts.append('<div style="font-size:12px">Dashed circles: stated catchment.</div>')
    return "".join(parts)


# --------------------------------------------------------------------------- the map
@dataclass(frozen=True)
class MapOptions:
    """What a map shows, apart from its data.

    Parameters
    ----------
    colour_by
        "benchmark" (status of `benchmark_id`, default `view.default_benchmark`; a demand
        benchmark's rows when `benchmark_id` names one), "patchwork" (has / gap / nowhere for
        `tier` x `cohort`) or "evidence" (the best evidence rating in place in `tier` x `cohort`).
    show_services, show_catchments
        Public service markers; their stated catchment circles.
    basemap
        OpenStreetMap tiles underneath (the only network use; off by default).
    asset_mode
        "served": Leaflet from the app's static folder; "inline": Leaflet inside the page.
    area_labels
        Area names on the map; default on for up to `MAX_LABELLED_AREAS` areas.
    highlight_area
        An area code drawn with a thick outline (the area whose profile is open).
    year
        The Crown copyright year (default this year).
    """

    colour_by: ColourBy = "benchmark"
    benchmark_id: str | None = None
    tier: str | None = None
    cohort: str | None = None
    show_services: bool = True
    show_catchments: bool = False
    basemap: bool = False
    asset_mode: AssetMode = "served"
    area_labels: bool | None = None
    highlight_area: str | None = None
    year: int | None = None

    def __post_init__(self) -> None:
        if self.colour_by not in ("benchmark", "patchwork", "evidence"):
            raise ValueError(
                f'`colour_by` was "{self.colour_by}" but is expected to be '
                '"benchmark", "patchwork" or "evidence"'
            )


def build_map(
    areas: gpd.GeoDataFrame,
    analysis: Any,
    services: gpd.GeoDataFrame | None,
    config: Config,
    options: MapOptions | None = None,
    **changes: Any,
) -> OfflineMap:
    """An interactive map of the selection, coloured by benchmark status or patchwork gap,
    with the public services as one canvas layer.

    Parameters
    ----------
    areas
        Areas (EPSG:4326) with `area_code`, `area_name`, geometry. Only those in
        `analysis.selection` are drawn.
    analysis
        A `GapAnalysis` (uses `.gaps`, `.coverage`, `.profile`, `.selection`).
    services
        Services as `schema.SERVICE_COLUMNS`; only `privacy.public_services` rows are drawn.
    options, changes
        `MapOptions`, with any of its fields given as keywords changed
        (`build_map(..., colour_by="patchwork")`).
    """
    options = replace(options or MapOptions(), **changes)
    m = base_map(areas, analysis, config, options, services=services)
    if options.show_services:
        points = service_points(services, config)
        m.add_child(service_layer(points, config, options))
    return m


def base_map(
    areas: gpd.GeoDataFrame,
    analysis: Any,
    config: Config,
    options: MapOptions,
    *,
    outlines: gpd.GeoSeries | None = None,
    services: gpd.GeoDataFrame | None = None,
) -> OfflineMap:
    """The map without its service markers: coloured areas, labels and the legend, which
    keeps a place for the markers' part (filled by `service_layer` in the browser).

    The app sends the markers as a separate layer (`service_group`), so a view that changes
    only the markers (a filter that moves no area's colour, markers or catchments on or off)
    leaves this part as it was in the browser, zoom and all. `outlines` are the shown
    areas' `display_geometry` when the caller has them already (the app caches them);
    `services` are needed only to colour by evidence in place.
    """
    year = options.year or date.today().year
    shown = shown_areas(areas, analysis)
    m = _new_map(options.asset_mode, options.basemap)
    colouring = _colouring(analysis, config, options, year, services)
    geoms = display_geometry(shown) if outlines is None else outlines
    _add_areas(m, shown, geoms, colouring, basemap=options.basemap, highlight_area=options.highlight_area)
    labels = len(shown) <= MAX_LABELLED_AREAS if options.area_labels is None else options.area_labels
    if labels:
        _add_labels(m, shown, colouring)
    credit = escape(CROWN_COPYRIGHT.format(year=year))
    m.add_child(
        Legend(
            colouring.legend + '<div class="gapmap-legend-services"></div>'
            f'<div style="font-size:12px;margin-top:4px">{credit}</div></details></div>'
        )
    )
    _fit(m, geoms)
    return m


def service_layer(points: ServicePoints, config: Config, options: MapOptions) -> ServiceLayer:
    """The markers of `points` with the legend's services part: their tiers, or the note that
    confidential services are never shown (also when no point can be shown)."""
    if points.tiers_present:
        catchments = options.show_catchments and points.has_catchments
        legend = _legend_services(points.tiers_present, config, catchments=catchments)
    else:
        legend = f'<div style="font-size:12px;margin-top:6px">{CONFIDENTIAL_NOTE}</div>'
    return ServiceLayer(points, catchments=options.show_catchments, legend=legend)


def service_group(points: ServicePoints, config: Config, options: MapOptions) -> folium.FeatureGroup:
    """The service markers as a feature group (streamlit-folium's `feature_group_to_add`);
    empty when `options` hide them."""
    group = folium.FeatureGroup(name="Services", control=False)
    if options.show_services:
        group.add_child(service_layer(points, config, options))
    return group


def _colouring(analysis: Any, config: Config, options: MapOptions, year: int, services: Any) -> _Colouring:
    if options.colour_by == "benchmark":
        return _benchmark_colouring(analysis, config, options.benchmark_id, year)
    if options.colour_by == "evidence":
        return _evidence_colouring(analysis, config, services, options.tier, options.cohort)
    return _patchwork_colouring(analysis, config, options.tier, options.cohort)


@dataclass(frozen=True)
class _Colouring:
    """How areas are coloured: a state per area code, the fills and words of the states,
    per-area gap rows (benchmark colouring, for tooltips) and the legend's opening HTML."""

    kind: ColourBy
    states: dict[str, str]
    colours: dict[str, str]
    words: dict[str, str]
    symbols: dict[str, str]
    legend: str
    rows: dict[str, dict[str, Any]]
    whole_selection: bool = False
    benchmark: Any = None
    #: Ready-made (escaped) tooltips by area code, for colourings whose tooltip is not the
    #: benchmark's or the patchwork's.
    tooltips: dict[str, str] = field(default_factory=dict)


def shown_areas(areas: gpd.GeoDataFrame, analysis: Any) -> gpd.GeoDataFrame:
    """The selected areas (all of them when the selection names none that exist)."""
    selection = set(map(str, analysis.selection)) if len(analysis.selection) else set(areas[AREA_CODE])
    shown = areas[areas[AREA_CODE].astype(str).isin(selection)]
    return areas if shown.empty else shown


def _page(m: folium.Map) -> Figure:
    """The page (branca Figure) a map is drawn in: its header, body and scripts."""
    root = m.get_root()
    assert isinstance(root, Figure), "a folium Map always sits in a Figure"
    return root


def _new_map(asset_mode: AssetMode, basemap: bool) -> OfflineMap:
    """An empty offline map on a white page, with the label, legend and tooltip styles."""
    m = OfflineMap(
        tiles=None,
        asset_mode=asset_mode,
        control_scale=True,
        prefer_canvas=False,
        zoom_snap=0.25,
        attribution_control=basemap,
    )
    if basemap:
        folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19).add_to(m)
    # White page, dark text: legible on a projector without tiles. `div.` outranks leaflet.css's
    # grey `.leaflet-container` background, which an exported page inlines after this style.
    _page(m).header.add_child(
        folium.Element(
            "<style>div.leaflet-container{background:#ffffff;font-size:15px}"
            ".gapmap-label{font:600 13px/1.15 system-ui,Arial,sans-serif;color:#111;"
            "text-shadow:-1px -1px 0 #fff,1px -1px 0 #fff,-1px 1px 0 #fff,1px 1px 0 #fff,0 0 3px #fff;"
            "white-space:nowrap;text-align:center;pointer-events:none;display:inline-block;"
            "position:relative;left:50%;transform:translateX(-50%)}"
            ".gapmap-legend summary{list-style-position:inside}"
            ".leaflet-gapmapServices-pane,.leaflet-gapmapServices-pane canvas{pointer-events:none !important}"
            ".gapmap-on-service .leaflet-tooltip:not(.gapmap-service-tip){display:none}"
            # In the app the map fills its frame, whose height follows the window (app.py).
            "#map_div{height:100vh !important}"
            ".gapmap-tooltip{font-size:15px;line-height:1.35}</style>"
        ),
        name="gapmap_style",
    )
    return m


def _benchmark_colouring(analysis: Any, config: Config, benchmark_id: str | None, year: int) -> _Colouring:
    """Status of one benchmark per area (`gapmap.view.benchmark_classes`) and its legend.

    A demand benchmark (rows with `basis` "demand", or one refused for its level) is drawn by
    `_demand_colouring`: its legend and tooltips carry the basis and the demand period.
    """
    if benchmark_id and _is_demand(analysis, benchmark_id):
        return _demand_colouring(analysis, config, benchmark_id)
    profile = analysis.profile
    bench = profile.benchmark(benchmark_id) if benchmark_id else view.default_benchmark(profile)
    rows, whole_selection = benchmark_states(analysis, bench.id)
    summary = getattr(analysis, "summary", None) or {}
    legend = legend_html_benchmark(
        bench,
        config,
        whole_selection=whole_selection,
        year=year,
        denominator_source=str(summary.get("benchmarks", {}).get(bench.id, {}).get("denominator_source", "")),
        caveat=str(summary.get("profile", {}).get("caveat", "")),
    )
    return _Colouring(
        kind="benchmark",
        states=dict(view.benchmark_classes(analysis, bench.id, list(rows))),
        colours=STATUS_COLOURS,
        words=STATUS_WORDS,
        symbols=STATUS_SYMBOLS,
        legend=legend,
        rows=rows,
        whole_selection=whole_selection,
        benchmark=bench,
    )


def _patchwork_colouring(analysis: Any, config: Config, tier: str | None, cohort: str | None) -> _Colouring:
    """Has / gap / nowhere per area for one tier x cohort cell (`gapmap.view.patchwork_classes`)."""
    tier = tier or next(iter(config.tiers))
    cohort = cohort or next(iter(config.cohorts))
    words = {**PATCHWORK_WORDS, "has": "Provided", "gap": "Gap", "nowhere": "Nowhere", "no_data": "No data"}
    return _Colouring(
        kind="patchwork",
        states=patchwork_states(analysis, tier, cohort),
        colours={**PATCHWORK_COLOURS, "no_data": STATUS_COLOURS["no_data"]},
        words=words,
        symbols=PATCHWORK_SYMBOLS,
        legend=legend_html_patchwork(tier, cohort, config),
        rows={},
    )


def _is_demand(analysis: Any, benchmark_id: str) -> bool:
    summary = getattr(analysis, "summary", None) or {}
    if benchmark_id in ((summary.get("demand") or {}).get("benchmarks") or {}):
        return True
    gaps = analysis.gaps
    return "basis" in gaps.columns and bool(
        (gaps.loc[gaps["benchmark_id"] == benchmark_id, "basis"] == "demand").any()
    )


#: Legend order of demand states by kind of row: needed against provided, or against expected.
_DEMAND_REQUIRED = ("red", "amber", "green", "no_data")
_DEMAND_EXPECTED = ("low", "expected", "high", "no_data")


def legend_html_demand(
    label: str,
    *,
    definition: str,
    period: str,
    source: str,
    measured: str,
    states: Iterable[str],
    config: Config,
    refused: str = "",
) -> str:
    """Legend for a demand benchmark: its label, 'From demand' with the period, its definition,
    the classes in words, what the figures were measured on, and the source."""
    words = {**wording.STATUS_LABELS, **wording.status_legend(config)}
    colours = {**STATUS_COLOURS, **palette.DEMAND_COLOURS}
    basis = f"From demand, {period}" if period else "From demand"
    parts = [
        f'<div style="{_LEGEND_STYLE}"><details open>',
        f'<summary style="font-weight:700;font-size:16px;cursor:pointer">{escape(label)}</summary>',
        f"<div><b>{escape(basis)}</b>: {escape(definition)}</div>",
    ]
    if refused:
        parts.append(f'<div style="margin-top:4px"><b>Not scored per area shown.</b> {escape(refused)}</div>')
        parts.append(_swatch(STATUS_COLOURS["no_data"], "Not scored at this level"))
    else:
        parts += [_swatch(colours[k], words.get(k, k)) for k in states]
    if measured:
        parts.append(f'<div style="font-size:12px;margin-top:4px">Figures: {escape(measured)}</div>')
    parts.append(f'<div style="font-size:12px;margin-top:4px">Source: {escape(source)}</div>')
    return "".join(parts)


def _demand_colouring(analysis: Any, config: Config, benchmark_id: str) -> _Colouring:
    """A demand benchmark's status per area (`gapmap.view.benchmark_classes`), with the basis
    and period in the legend and every tooltip. Refused for its level (a police force area's
    figure while the map shows districts): every area "Not scored at this level", and the
    legend says why, rather than colouring areas the figure was not scored for."""
    from gapmap.demand import demand_benchmarks

    summary = getattr(analysis, "summary", None) or {}
    entry = summary.get("demand") or {}
    info = (entry.get("benchmarks") or {}).get(benchmark_id, {})
    refused = entry.get("refused") or {}
    is_refused = benchmark_id in (refused.get("benchmarks") or ())
    bench = next((b for b in demand_benchmarks(analysis.profile, config) if b.id == benchmark_id), None)
    gaps = analysis.gaps
    rows = gaps.loc[(gaps["benchmark_id"] == benchmark_id) & (gaps[AREA_CODE].astype(str) != "ALL")]
    label = str(info.get("label") or (bench.label if bench else benchmark_id))
    period = str(info.get("period") or (rows["period"].iat[0] if "period" in rows and len(rows) else ""))
    codes = [str(c) for c in analysis.selection]
    states = (
        {c: "no_data" for c in codes}
        if is_refused
        else dict(view.benchmark_classes(analysis, benchmark_id, codes))
    )
    kind = bench.kind if bench else "required"
    order = _DEMAND_EXPECTED if kind == "expected" else _DEMAND_REQUIRED
    measured = str(rows["denominator_source"].iat[0]) if len(rows) else ""
    basis = f"From demand, {period}" if period else "From demand"
    tooltips: dict[str, str] = {}
    by_area = {str(r[AREA_CODE]): r for r in rows.to_dict("records")}
    words = {**wording.STATUS_LABELS, "no_data": "Not scored at this level" if is_refused else "No data"}
    for code in codes:
        r = by_area.get(code)
        lines = [f"<b>{escape(words.get(states.get(code, 'no_data'), 'No data'))}</b>"]
        if r is not None:
            if kind == "required":
                needed, provided = wording.number(r.get("required")), wording.number(r.get("provided"))
                figure = f"needed {needed}, provided {provided}"
                ratio = wording.percent(r.get("ratio"))
                lines.append(escape(figure + ("" if ratio == wording.MISSING else f" ({ratio})")))
            elif kind == "expected":
                lines.append(
                    escape(
                        f"observed {wording.number(r.get('provided'))}, "
                        f"expected {wording.number(r.get('required'))}"
                    )
                )
            if r.get("reading"):
                lines.append(escape(str(r["reading"])))
        elif is_refused:
            lines.append("The demand table's figures are for a larger area.")
        lines.append(f"<i>{escape(basis)}</i>")
        tooltips[code] = "<br>".join(lines)
    legend = legend_html_demand(
        label,
        definition=bench.describe(config) if bench else "",
        period=period,
        source=bench.source if bench else "",
        measured=measured,
        states=order,
        config=config,
        refused=str(refused.get("reason", "")) if is_refused else "",
    )
    return _Colouring(
        kind="benchmark",
        states=states,
        colours={**STATUS_COLOURS, **palette.DEMAND_COLOURS},
        words=words,
        symbols=STATUS_SYMBOLS,
        legend=legend,
        rows={},
        tooltips=tooltips,
    )


def legend_html_evidence(tier: str, cohort: str, config: Config, counts: dict[str, int] | None = None) -> str:
    """Legend for evidence-rated coverage of one tier x cohort cell: the classes in words,
    what they mean, and the source (seed 002)."""
    counts = counts or {}
    parts = [
        f'<div style="{_LEGEND_STYLE}"><details open>',
        f'<summary style="font-weight:700;font-size:16px;cursor:pointer">{escape(_label(config.tiers, tier))}'
        f" × {escape(_label(config.cohorts, cohort))}: evidence in place</summary>",
    ]
    for k in palette.EVIDENCE_ORDER:
        n = counts.get(k, 0)
        parts.append(_swatch(palette.EVIDENCE_COLOURS[k], f"{wording.EVIDENCE_LABELS[k]} ({n})"))
    parts.append(f'<div style="font-size:12px;margin-top:4px">{escape(wording.EVIDENCE_RULE_SHORT)}</div>')
    parts.append(
        '<div style="font-size:12px;margin-top:4px">Source: seed 002, Crest Advisory (2023), rapid '
        "evidence review for the LLR Violence Reduction Network.</div>"
    )
    return "".join(parts)


def _evidence_colouring(
    analysis: Any, config: Config, services: Any, tier: str | None, cohort: str | None
) -> _Colouring:
    """The best evidence rating in place per area for one tier x cohort cell
    (`gapmap.view.evidence_classes`), with the strongest intervention in each tooltip."""
    from gapmap.interventions import evidence_coverage

    tier = tier or next(iter(config.tiers))
    cohort = cohort or next(iter(config.cohorts))
    codes = [str(c) for c in analysis.selection]
    table = evidence_coverage(analysis, services)
    cell = table.loc[(table["tier"] == tier) & (table["cohort"] == cohort)].set_index("area_code")
    # The same table `view.evidence_classes` reads, computed once for classes and tooltips.
    states = {c: str(cell.at[c, "evidence_class"]) if c in cell.index else "no_data" for c in codes}
    tooltips = {}
    for code in codes:
        state = states.get(code, "no_data")
        lines = [f"<b>{escape(wording.EVIDENCE_LABELS.get(state, 'No data'))}</b>"]
        if code in cell.index:
            row = cell.loc[code]
            lines.append(escape(wording.services_count(row["services"]) + " in this tier and cohort"))
            if row["best_intervention"]:
                lines.append(
                    escape(f"Strongest: {row['best_intervention']} (evidence {row['best_evidence']})")
                )
        tooltips[code] = "<br>".join(lines)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return _Colouring(
        kind="evidence",
        states=states,
        colours={**palette.EVIDENCE_COLOURS, "no_data": STATUS_COLOURS["no_data"]},
        words=dict(wording.EVIDENCE_SHORT),
        symbols=palette.EVIDENCE_SYMBOLS,
        legend=legend_html_evidence(tier, cohort, config, counts),
        rows={},
        tooltips=tooltips,
    )


def _add_areas(
    m: folium.Map,
    shown: gpd.GeoDataFrame,
    geoms: gpd.GeoSeries,
    colouring: _Colouring,
    *,
    basemap: bool,
    highlight_area: str | None,
) -> None:
    """The areas as one GeoJSON layer: fill by state, tooltip with the name and figures."""
    features = []
    # Columns, not iterrows: a Series per row is most of the time on England's 33,755 LSOAs.
    codes, names = ([str(v) for v in shown[c]] for c in (AREA_CODE, AREA_NAME))
    for code, name, geom in zip(codes, names, geoms, strict=True):
        state = colouring.states.get(code, "no_data")
        if code in colouring.tooltips:
            tooltip = f"<b>{escape(name)}</b><br>{colouring.tooltips[code]}"
        elif colouring.kind == "benchmark":
            tooltip = area_tooltip_benchmark(
                name,
                colouring.rows.get(code),
                whole_selection=colouring.whole_selection,
                benchmark=colouring.benchmark,
            )
        else:
            tooltip = f"<b>{escape(name)}</b><br>{escape(PATCHWORK_WORDS.get(state, 'No data'))}"
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "area_code": code,
                    "tooltip": tooltip,
                    "fill": colouring.colours.get(state, STATUS_COLOURS["no_data"]),
                    "selected": code == highlight_area,
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        selected = feature["properties"]["selected"]
        return {
            "fillColor": feature["properties"]["fill"],
            # Opaque on the white page, so each fill is exactly its palette colour (and its
            # lightness step); see-through only over a street map.
            "fillOpacity": 0.75 if basemap else 1.0,
            # Mid grey borders show on the darkest (Not met) and the lightest (Met) fills alike.
            "color": "#000000" if selected else "#808080",
            "weight": 5 if selected else 2,
        }

    minx, miny, maxx, maxy = (float(v) for v in geoms.total_bounds)
    _AreaLayer(
        {"type": "FeatureCollection", "features": features},
        bounds=[[miny, minx], [maxy, maxx]],
        name="Areas",
        style_function=style,
        highlight_function=lambda _f: {"weight": 4, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["tooltip"], labels=False, sticky=True, class_name="gapmap-tooltip"
        ),
        smooth_factor=0.5,
    ).add_to(m)


class _AreaLayer(folium.GeoJson):
    """The areas' GeoJSON layer, its bounds known from the outlines: folium would find them by
    walking every coordinate in Python, which streamlit-folium asks for on every rerun."""

    def __init__(self, data: dict[str, Any], *, bounds: list[list[float]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self._bounds = bounds

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [list(corner) for corner in self._bounds]


def _add_labels(m: folium.Map, shown: gpd.GeoDataFrame, colouring: _Colouring) -> None:
    """Name and status word on each area (so the map reads without colour); the browser
    shortens or hides a label that would overprint another (`ProjectorBehaviour`)."""
    projected = shown.geometry.to_crs(settings.BNG_EPSG)
    points = projected.representative_point().to_crs(settings.WGS84_EPSG)
    for (_, area), pt, size in zip(shown.iterrows(), points, projected.area, strict=True):
        state = colouring.states.get(str(area[AREA_CODE]), "no_data")
        word = escape(colouring.words.get(state, state))
        symbol = colouring.symbols.get(state, "?")
        # Full: name and status; short (when it would overprint a neighbour): the symbol.
        text = (
            f'<span class="gapmap-full">{escape(str(area[AREA_NAME]))}<br>{symbol} {word}</span>'
            f'<span class="gapmap-short" style="display:none" title="{word}">{symbol}</span>'
        )
        folium.Marker(
            [round(pt.y, COORD_DECIMALS), round(pt.x, COORD_DECIMALS)],
            icon=folium.DivIcon(
                html=f'<div class="gapmap-label" data-rank="{float(size):.0f}">{text}</div>',
                icon_size=(160, 34),
                icon_anchor=(80, 17),
                class_name="gapmap-label-icon",
            ),
            interactive=False,
        ).add_to(m)


def _fit(m: folium.Map, geoms: gpd.GeoSeries) -> None:
    """First view: the areas, clear of the legend (bottom right); the browser refits to the
    legend's real size and declutters labels (`ProjectorBehaviour`)."""
    minx, miny, maxx, maxy = geoms.total_bounds
    m.fit_bounds(
        [[miny, minx], [maxy, maxx]], padding_top_left=(10, 10), padding_bottom_right=(LEGEND_WIDTH_PX, 10)
    )
    m.add_child(ProjectorBehaviour([[float(miny), float(minx)], [float(maxy), float(maxx)]]))


def standalone_html(m: folium.Map) -> str:
    """One self-contained HTML file: Leaflet inlined, no remote URL (tiles only if a basemap is on).

    A map built with `asset_mode="served"` is switched to inline assets first.
    """
    if getattr(m, "asset_mode", None) != "inline":
        js_path, css_path = leaflet_paths()
        css = _inline_css_images(_read_vendor(css_path), css_path.parent)
        m.default_js = []
        m.default_css = []
        m.add_child(_InlineAssets(_read_vendor(js_path), css), name="leaflet_inline")
        m.asset_mode = "inline"  # type: ignore[attr-defined]
    return m.get_root().render()


# --------------------------------------------------------------------------- HTML

#: The demo badge over the HTML map: top centre, clear of the zoom buttons and the legend.
_HTML_BADGE_STYLE = (
    "position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:1000;"
    "background:#ffffff;color:#b2182b;border:3px solid #b2182b;padding:4px 12px;"
    "font:700 18px/1.2 system-ui,Arial,sans-serif"
)


def map_html(
    dataset: Any,
    analysis: Any,
    *,
    colour_by: str = "benchmark",
    benchmark_id: str | None = None,
    tier: str | None = None,
    cohort: str | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML file (Leaflet inlined, no basemap, no remote URL) of the map."""
    m = build_map(
        dataset.areas,
        analysis,
        # The renderer draws only public services; redacting first makes sure no confidential
        # location can reach the HTML even through a future code path (catchments, tooltips).
        redact_confidential(counted_services(dataset.services, analysis)),
        dataset.config,
        colour_by=colour_by,
        benchmark_id=benchmark_id,
        tier=tier,
        cohort=cohort,
        basemap=False,
        asset_mode="inline",
    )
    heading = title or "gapmap: provision against benchmarks"
    if getattr(dataset, "is_demo", False):
        heading += f" ({DEMO_BADGE})"
        # On the page too, not only in the tab title: the file travels without its folder name.
        _page(m).html.add_child(
            folium.Element(
                f'<div class="gapmap-demo-badge" style="{_HTML_BADGE_STYLE}">{escape(DEMO_BADGE)}</div>'
            ),
            name="gapmap_demo_badge",
        )
    html = standalone_html(m)
    # A page title so the file is recognisable in a browser tab and a folder listing.
    if "<title>" not in html:
        html = html.replace("<head>", f"<head>\n<title>{escape(heading)}</title>", 1)
    return html
