"""gapmap.webmap: folium HTML asserted as text on a tiny hand-made selection.

The analysis here is a stand-in with the GapAnalysis fields render uses (gaps, coverage,
profile, selection), so the renderer is tested without the engine.
"""

from __future__ import annotations

import itertools
import re
from json import loads as json_loads
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gapmap import settings, webmap
from gapmap.config import default_config
from gapmap.schema import SERVICE_COLUMNS

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

# A confidential refuge with a coordinate no other feature uses (to 3 dp).
REFUGE_LAT, REFUGE_LON = 52.61737, -1.13291
REFUGE_NAME = "Secret Haven Refuge"

needs_leaflet = pytest.mark.skipif(
    not (settings.VENDOR_DIR / "leaflet" / "leaflet.js").is_file(),
    reason="Leaflet not installed: run `make assets`",
)


@pytest.fixture
def config():
    return default_config()


@pytest.fixture
def areas():
    # Three 0.2-degree squares side by side near Leicester; the middle one has a hostile name.
    return gpd.GeoDataFrame(
        {
            "area_code": ["E07000001", "E07000002", "E07000003"],
            "area_name": ["Northby", XSS, "Southam & Vale"],
        },
        geometry=[box(-1.4, 52.5, -1.2, 52.7), box(-1.2, 52.5, -1.0, 52.7), box(-1.0, 52.5, -0.8, 52.7)],
        crs=4326,
    )


def _gaps(config) -> pd.DataFrame:
    rows = []
    for bench in config.default_profile.benchmarks:
        if bench.scope == "selection":
            rows.append(
                dict(
                    area_code="ALL",
                    area_name="Whole selection",
                    benchmark_id=bench.id,
                    ratio=0.0,
                    required=1.0,
                    provided=0.0,
                    shortfall=1.0,
                    status="red",
                )
            )
            continue
        for code, name, ratio, status in (
            ("E07000001", "Northby", 1.2, "green"),
            ("E07000002", XSS, 0.6, "amber"),
            ("E07000003", "Southam & Vale", 0.1, "red"),
        ):
            rows.append(
                dict(
                    area_code=code,
                    area_name=name,
                    benchmark_id=bench.id,
                    ratio=ratio,
                    required=10.0,
                    provided=10.0 * ratio,
                    shortfall=max(10.0 - 10.0 * ratio, 0.0),
                    status=status,
                )
            )
    frame = pd.DataFrame(rows)
    frame["benchmark_label"] = frame["benchmark_id"]
    frame["denominator"] = 100000.0
    frame["unmeasured_services"] = 0
    return frame


def _coverage() -> pd.DataFrame:
    rows = []
    for code in ("E07000001", "E07000002", "E07000003"):
        for tier in ("primary", "secondary", "tertiary"):
            for cohort in ("victims", "cyp", "perpetrators", "whole_family", "community"):
                services = 0
                if tier == "secondary" and cohort == "perpetrators" and code == "E07000001":
                    services = 2
                if tier == "tertiary" and cohort == "victims":
                    services = 1
                rows.append(dict(area_code=code, area_name=code, tier=tier, cohort=cohort, services=services))
    frame = pd.DataFrame(rows)
    cell_has = frame.groupby(["tier", "cohort"])["services"].transform("sum") > 0
    frame["patchwork_gap"] = cell_has & (frame["services"] == 0)
    return frame


@pytest.fixture
def analysis(config):
    return SimpleNamespace(
        gaps=_gaps(config),
        coverage=_coverage(),
        profile=config.default_profile,
        selection=("E07000001", "E07000002", "E07000003"),
    )


def _service(sid, name, stype, lat, lon, *, tiers, cohorts, confidential=False, provider="", **extra):
    row = {c: None for c in SERVICE_COLUMNS}
    row.update(
        service_id=sid,
        name=name,
        service_type=stype,
        provider=provider,
        tiers=tiers,
        cohorts=cohorts,
        abuse_types=("da",),
        latitude=lat,
        longitude=lon,
        postcode="LE1 1AA" if confidential else "",
        address="1 Hidden Lane" if confidential else "",
        location_source="latlon",
        serves=(),
        catchment_km=np.nan,
        capacity=np.nan,
        capacity_unit="",
        specialist_groups=(),
        hours="office",
        funding_end=pd.NaT,
        confidential=confidential,
        intervention="",
        source_row=2,
        geometry=Point(lon, lat),
    )
    row.update(extra)
    return row


@pytest.fixture
def services():
    rows = [
        _service(
            "s1",
            XSS,
            "idva",
            52.6,
            -1.3,
            tiers=("secondary", "tertiary"),
            cohorts=("victims",),
            provider=XSS,
            funding_end=pd.Timestamp("2027-03-31"),
            catchment_km=12.0,
        ),
        _service(
            "s2",
            "Schools Tender",
            "school_programme",
            52.55,
            -0.9,
            tiers=("primary",),
            cohorts=("cyp",),
            provider="Tender",
        ),
        _service(
            "s3",
            REFUGE_NAME,
            "refuge",
            REFUGE_LAT,
            REFUGE_LON,
            tiers=("tertiary",),
            cohorts=("victims", "cyp"),
            confidential=True,
            provider="Hidden Provider Ltd",
        ),
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _html(m) -> str:
    """The rendered page with folium's JSON escapes of < > & ' undone, as a browser would read them."""
    raw = m.get_root().render()
    assert XSS not in raw
    for code, char in (
        ("\\u003c", "<"),
        ("\\u003e", ">"),
        ("\\u0026", "&"),
        ("\\u0027", "'"),
        ("<\\/", "</"),
    ):
        raw = raw.replace(code, char)
    return raw


#: The service layer's call in the page: `(function ...)(payload, options);`.
LAYER_CALL = re.compile(r"\}\)\((\{\"lat\".*?\}), (\{\"radius\".*?\})\);")


def _layer(m) -> tuple[dict, dict] | None:
    """The service layer's columns and options as the page carries them (None: no layer)."""
    import json

    found = LAYER_CALL.search(m.get_root().render())
    return None if found is None else (json.loads(found.group(1)), json.loads(found.group(2)))


def _decoded(payload: dict, i: int) -> dict:
    """Point `i` of a layer's columns with every coded column looked up, as the browser does."""
    row = {key: payload[key][i] for key in ("lat", "lon", "name", "km")}
    for key in [k for k in payload if f"{k}Values" in payload]:
        row[key] = payload[f"{key}Values"][payload[key][i]]
    return row


def test_benchmark_colours_and_words_per_area(areas, analysis, services, config):
    html = _html(webmap.build_map(areas, analysis, services, config, benchmark_id="idva_fte"))
    for colour in ("#e5f5e0", "#c45c00", "#4a0012"):
        assert colour in html
    # Each area's fill comes from its own status row.
    fills = re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', html)
    assert dict(fills) == {"E07000001": "#e5f5e0", "E07000002": "#c45c00", "E07000003": "#4a0012"}
    # The status word travels with the colour (tooltips and labels).
    assert "Partly met" in html and "Not met" in html and "Met<" in html


def test_legend_states_benchmark_definition_and_source(areas, analysis, services, config):
    bench = config.default_profile.benchmark("idva_fte")
    html = _html(webmap.build_map(areas, analysis, services, config, benchmark_id="idva_fte"))
    legend = re.search(r"div\.innerHTML = (\".*?\");", html).group(1)
    assert "Idva posts (FTE)" in legend
    assert bench.describe() in legend  # "4 per 100,000 females aged 16 and over"
    # A citation a commissioner can look up, with the scope note; never a seed number.
    assert "SafeLives (undated). Reviewing your Marac data (web guidance)." in legend
    assert "high-risk (Marac-level) cases only" in legend
    assert "seed" not in legend.lower()
    assert "Crown copyright" in legend


def test_tooltip_precision_follows_magnitude_and_presence_reads_as_a_count(config):
    row = {
        "status": "amber",
        "provided": 0.351,
        "required": 0.379,
        "ratio": 0.351 / 0.379,
        "shortfall": 0.028,
    }
    tip = webmap.area_tooltip_benchmark("Alpha", row, whole_selection=False)
    # The "provided 0.4 of 0.4 required (93%)" now reads with the precision of the figures.
    assert "provided 0.35 of 0.38 required (93%)" in tip
    assert "Shortfall 0.028" in tip
    presence = config.profile("standards").benchmark("refuge_presence")
    row = {"status": "green", "provided": 5.0, "required": 1.0, "ratio": 5.0, "shortfall": 0.0}
    tip = webmap.area_tooltip_benchmark("Alpha", row, whole_selection=True, benchmark=presence)
    assert "Whole selection: Met: 5 services (at least 1 needed)" in tip
    assert "%" not in tip


def test_selection_scope_benchmark_colours_every_area_from_the_whole_selection(
    areas, analysis, services, config
):
    html = _html(webmap.build_map(areas, analysis, services, config, benchmark_id="helpline"))
    fills = re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', html)
    assert {c for _, c in fills} == {"#4a0012"}
    assert "Scored for the whole selection" in html


def test_patchwork_colouring_has_gap_nowhere(areas, analysis, services, config):
    m = webmap.build_map(
        areas, analysis, services, config, colour_by="patchwork", tier="secondary", cohort="perpetrators"
    )
    fills = dict(re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', _html(m)))
    assert fills == {"E07000001": "#e5f5e0", "E07000002": "#4a0012", "E07000003": "#4a0012"}
    m = webmap.build_map(
        areas, analysis, services, config, colour_by="patchwork", tier="primary", cohort="cyp"
    )
    fills = dict(re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', _html(m)))
    assert set(fills.values()) == {webmap.PATCHWORK_COLOURS["nowhere"]}
    assert "Not provided anywhere in the partnership" in _html(m)


def test_hostile_names_and_providers_show_as_text(areas, analysis, services, config):
    m = webmap.build_map(areas, analysis, services, config, show_catchments=True)
    # Service texts travel as JSON data, "<" escaped so they cannot end the script; the browser
    # escapes them when it builds a tooltip (tests/test_e2e_browser.py hovers the marker).
    payload, _ = _layer(m)
    assert _decoded(payload, 0)["name"] == XSS and _decoded(payload, 0)["provider"] == XSS
    html = _html(m).replace(XSS, "", 2)  # the two data strings: name and provider
    assert XSS not in html  # areas' names are escaped in Python (labels and tooltips)
    assert XSS_ESCAPED in html
    assert "Southam &amp; Vale" in html


def test_layer_json_cannot_close_the_script():
    text = webmap._script_json({"name": "</script><!-- & '>"})
    assert not {"<", ">", "&"} & set(text)
    assert json_loads(text) == {"name": "</script><!-- & '>"}


def test_confidential_service_never_in_html(areas, analysis, services, config):
    for colour_by in ("benchmark", "patchwork"):
        m = webmap.build_map(areas, analysis, services, config, colour_by=colour_by, show_catchments=True)
        html = _html(m)
        assert REFUGE_NAME not in html
        assert "Hidden Provider" not in html
        assert "Hidden Lane" not in html and "LE1 1AA" not in html
        for coord in (f"{REFUGE_LAT:.3f}", f"{REFUGE_LON:.3f}"):
            assert coord not in html
    # The public services are there: one point each, drawn as circle markers on a canvas.
    payload, _ = _layer(m)
    assert payload["name"] == [XSS, "Schools Tender"]
    assert "new ShapeMarker(" in html and "L.CircleMarker.extend(" in html and "L.canvas(" in html


def test_service_points_are_columns_of_plain_text(config, services):
    points = webmap.service_points(services, config)
    assert len(points) == 2  # the refuge is confidential: never a point
    first, second = _decoded(points.payload, 0), _decoded(points.payload, 1)
    assert first == {
        "lat": 52.6,
        "lon": -1.3,
        "name": XSS,
        "km": 12.0,
        "provider": XSS,
        "type": config.service_types["idva"].label,
        "tiers": "Secondary: early intervention, Tertiary: reduction and recovery",
        "cohorts": "Adult victim-survivors",
        "hours": "Office hours",
        "funding": "31 March 2027",
        "fill": webmap.TIER_COLOURS["secondary"],
        "shape": "square",  # the secondary tier's shape, as on the static maps
    }
    assert (second["km"], second["funding"], second["fill"]) == (0.0, "", webmap.TIER_COLOURS["primary"])
    assert second["shape"] == "circle"
    # Every tooltip row the browser shows is a column here, in order.
    assert [key for key, _ in webmap.SERVICE_TOOLTIP_ROWS] == [
        "provider", "type", "tiers", "cohorts", "hours", "funding"
    ]  # fmt: skip
    assert points.tiers_present == ("primary", "secondary") and points.has_catchments


def test_tiers_differ_by_shape_as_well_as_colour_in_markers_and_legend(config, services):
    untiered = services[services["service_id"] == "s2"].assign(service_id="s9", tiers=[()])
    tertiary = services[services["service_id"] == "s2"].assign(service_id="s10", tiers=[("tertiary",)])
    frame = gpd.GeoDataFrame(pd.concat([services, untiered, tertiary]), crs=4326)
    points = webmap.service_points(frame, config)
    shapes = [_decoded(points.payload, i)["shape"] for i in range(len(points))]
    assert shapes == ["square", "circle", "diamond", "triangle"]  # s1 secondary, s2 primary, s9, s10
    assert points.tiers_present == ("primary", "secondary", "tertiary", "")
    legend = webmap.service_layer(points, config, webmap.MapOptions()).options_json
    legend = json_loads(legend)["legend"]
    # One row per tier, each with its marker's shape and colour, in the vocabulary's order.
    rows = [row for row in legend.split("<svg")[1:]]
    assert len(rows) == 4
    for row, tier, shape in zip(
        rows, ("primary", "secondary", "tertiary", ""), ("circle", "rect", "polygon", "polygon"), strict=True
    ):
        colour = webmap.TIER_COLOURS.get(tier, webmap.OTHER_TIER_COLOUR)
        assert f'fill="{colour}"' in row and f"<{shape} " in row
    assert "No tier recorded" in rows[3] and "12,2 22,12" in rows[3]  # the diamond
    assert "ShapeMarker" in webmap._SERVICE_LAYER_JS and '"triangle"' in webmap._SERVICE_LAYER_JS


def test_repeated_texts_are_sent_once(config, services):
    many = pd.concat([services[services["service_id"] == "s2"]] * 500, ignore_index=True)
    points = webmap.service_points(gpd.GeoDataFrame(many, crs=4326), config)
    assert len(points) == 500
    assert points.payload["providerValues"] == ["Tender"] and set(points.payload["provider"]) == {0}
    assert points.payload["typeValues"] == [config.service_types["school_programme"].label]


def test_markers_coloured_by_first_tier_and_catchments_on_request(areas, analysis, services, config):
    payload, options = _layer(webmap.build_map(areas, analysis, services, config))
    assert set(payload["fillValues"]) == {webmap.TIER_COLOURS["secondary"], webmap.TIER_COLOURS["primary"]}
    assert options["catchments"] is False and options["radius"] == 8
    payload, options = _layer(webmap.build_map(areas, analysis, services, config, show_catchments=True))
    assert options["catchments"] is True and payload["km"] == [12.0, 0.0]


def test_dense_lists_get_small_thin_dots(config, services):
    def marker_options(n: int) -> dict:
        many = pd.concat([services[services["service_id"] == "s2"]] * n, ignore_index=True)
        points = webmap.service_points(gpd.GeoDataFrame(many, crs=4326), config)
        return json_loads(webmap.ServiceLayer(points).options_json)

    assert (marker_options(150)["radius"], marker_options(150)["weight"]) == (8, 2)
    assert (marker_options(151)["radius"], marker_options(151)["weight"]) == (5, 2)
    assert (marker_options(2001)["radius"], marker_options(2001)["weight"]) == (2, 0.5)


def test_no_services_layer_when_hidden(areas, analysis, services, config):
    assert _layer(webmap.build_map(areas, analysis, services, config, show_services=False)) is None


def test_options_and_keywords_build_the_same_map(areas, analysis, services, config):
    options = webmap.MapOptions(colour_by="patchwork", tier="secondary", cohort="perpetrators")
    by_options = webmap.build_map(areas, analysis, services, config, options)
    by_keywords = webmap.build_map(
        areas, analysis, services, config, colour_by="patchwork", tier="secondary", cohort="perpetrators"
    )
    assert _layer(by_options) == _layer(by_keywords)
    fills = re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', _html(by_options))
    assert dict(fills) == dict(
        re.findall(r'"area_code": "(E0700000\d)".*?"fill": "(#[0-9a-f]{6})"', _html(by_keywords))
    )
    assert dict(fills)["E07000002"] == webmap.PATCHWORK_COLOURS["gap"]


def test_the_app_sends_the_markers_as_a_layer_of_their_own(areas, analysis, services, config):
    options = webmap.MapOptions(show_catchments=True)
    points = webmap.service_points(services, config)
    base = webmap.base_map(areas, analysis, config, options)
    assert _layer(base) is None  # the base map has no markers ...
    assert "gapmap-legend-services" in _html(base)  # ... only their legend's place
    # The markers and their part of the legend travel together, so turning markers or
    # catchments on or off leaves the base map as it was.
    group = webmap.service_group(points, config, options)
    (layer,) = group._children.values()
    assert json_loads(layer.payload_json) == points.payload
    legend = json_loads(layer.options_json)["legend"]
    assert "Services (by first tier)" in legend and "Dashed circles" in legend
    plain = json_loads(
        webmap.service_group(points, config, webmap.MapOptions())._children.popitem()[1].options_json
    )
    assert "Dashed circles" not in plain["legend"]
    assert not webmap.service_group(points, config, webmap.MapOptions(show_services=False))._children
    hidden = webmap.base_map(areas, analysis, config, webmap.MapOptions(show_services=False))
    same_ids = lambda html: re.sub(r"_[0-9a-f]{32}", "_id", html)  # noqa: E731 (folium's random ids)
    shown = webmap.base_map(areas, analysis, config, options)  # rendered once, as `hidden`
    assert same_ids(_html(hidden)) == same_ids(_html(shown))


def test_served_assets_reference_only_local_leaflet(areas, analysis, services, config):
    html = _html(webmap.build_map(areas, analysis, services, config))
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls == ["/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/leaflet/leaflet.css"]
    assert "cdn" not in html.lower()
    assert "tile.openstreetmap" not in html


def test_basemap_is_opt_in(areas, analysis, services, config):
    assert "tile.openstreetmap.org" not in _html(webmap.build_map(areas, analysis, services, config))
    assert "tile.openstreetmap.org" in _html(
        webmap.build_map(areas, analysis, services, config, basemap=True)
    )


@needs_leaflet
def test_standalone_html_is_self_contained(areas, analysis, services, config):
    js = (settings.VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    for mode in ("served", "inline"):
        html = webmap.standalone_html(webmap.build_map(areas, analysis, services, config, asset_mode=mode))
        assert js.replace("</script", "<\\/script") in html  # Leaflet itself is inlined
        rest = html.replace(js, "")  # Leaflet's own attribution link is text, not a request
        assert not re.findall(r'(?:src|href)\s*=\s*"[^"]*"', rest)
        for marker in ("http://", "https://", "//cdn"):
            assert marker not in rest
        assert "url(images/" not in html  # Leaflet CSS images inlined as data: URIs


@needs_leaflet
def test_standalone_with_basemap_has_only_the_tile_url(areas, analysis, services, config):
    js = (settings.VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    html = webmap.standalone_html(webmap.build_map(areas, analysis, services, config, basemap=True))
    rest = html.replace(js, "")
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", rest))
    assert urls == {
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://www.openstreetmap.org/copyright",
    }


def test_display_geometry_simplifies_and_rounds():
    # A wiggly 20 km square: hundreds of vertices within 50 m of the outline.
    xs = np.linspace(440000, 460000, 401)
    wiggle = 30 * np.sin(np.arange(len(xs)))
    ring = [(x, 300000 + w) for x, w in zip(xs, wiggle, strict=True)] + [(460000, 320000), (440000, 320000)]
    from shapely.geometry import Polygon

    poly = gpd.GeoDataFrame({"area_code": ["A"], "area_name": ["A"]}, geometry=[Polygon(ring)], crs=27700)
    out = webmap.display_geometry(poly.to_crs(4326))
    coords = np.asarray(out.iloc[0].exterior.coords)
    assert len(coords) < 40  # from 403
    assert np.allclose(coords, np.round(coords, 5))
    # Still the same area to within 1%.
    assert out.to_crs(27700).area.iloc[0] == pytest.approx(poly.area.iloc[0], rel=0.01)


def test_display_geometry_keeps_tiny_areas(areas):
    tiny = gpd.GeoDataFrame(
        {"area_code": ["T"], "area_name": ["T"]}, geometry=[box(-1.0, 52.0, -0.9995, 52.0005)], crs=4326
    )
    out = webmap.display_geometry(tiny)
    assert not out.iloc[0].is_empty


def test_uk_date():
    assert webmap.uk_date(pd.Timestamp("2026-11-22")) == "22 November 2026"
    assert webmap.uk_date(pd.NaT) == ""
    assert webmap.uk_date(None) == ""


def test_bad_colour_by_names_allowed_values(areas, analysis, services, config):
    with pytest.raises(ValueError, match='expected to be "benchmark", "patchwork" or "evidence"'):
        webmap.build_map(areas, analysis, services, config, colour_by="rainbow")


def test_highlighted_area_has_a_thick_outline(areas, analysis, services, config):
    html = _html(webmap.build_map(areas, analysis, services, config, highlight_area="E07000003"))
    selected = re.findall(r'"area_code": "(E0700000\d)".*?"selected": (true|false)', html)
    assert dict(selected) == {"E07000001": "false", "E07000002": "false", "E07000003": "true"}
    assert '"weight": 5' in html


def test_only_confidential_services_draws_no_points(areas, analysis, services, config):
    refuges_only = services[services["confidential"]]
    m = webmap.build_map(areas, analysis, refuges_only, config)
    payload, options = _layer(m)
    assert payload["lat"] == [] and payload["name"] == []
    assert webmap.CONFIDENTIAL_NOTE in options["legend"]  # the legend still says why
    assert REFUGE_NAME not in _html(m)


# --------------------------------------------------------------------------- the tier palette


def lightness(hex_colour: str) -> float:
    """CIELAB L* (0 black .. 100 white) of an sRGB colour: what survives greyscale printing."""
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * (y ** (1 / 3) if y > 216 / 24389 else (24389 / 27 * y + 16) / 116) - 16


def test_lightness_by_hand():
    assert lightness("#000000") == pytest.approx(0.0, abs=1e-9)
    assert lightness("#ffffff") == pytest.approx(100.0)
    assert lightness("#777777") == pytest.approx(50.03, abs=0.05)  # a published sRGB -> L* value


def test_tier_colours_differ_in_lightness_so_greyscale_keeps_them_apart(config):
    colours = [webmap.TIER_COLOURS[t] for t in config.tiers] + [webmap.OTHER_TIER_COLOUR]
    assert len(set(colours)) == len(colours)
    values = sorted(lightness(c) for c in colours)
    assert min(b - a for a, b in itertools.pairwise(values)) >= 15


def test_tier_colours_are_not_status_hues():
    # Markers sit on red/amber/green fills: no tier colour may be one of them.
    assert not set(webmap.TIER_COLOURS.values()) & set(webmap.STATUS_COLOURS.values())


def test_one_palette_for_every_map(config):
    from gapmap import staticmap

    assert set(webmap.TIER_SHAPES) == set(webmap.TIER_COLOURS) == set(config.tiers)
    assert len(set(webmap.TIER_SHAPES.values()) | {webmap.OTHER_TIER_SHAPE}) == len(webmap.TIER_SHAPES) + 1
    for tier in config.tiers:
        assert staticmap.TIER_MARKERS[tier] == (webmap.TIER_SHAPES[tier], webmap.TIER_COLOURS[tier])
    assert staticmap.DEFAULT_MARKER == (webmap.OTHER_TIER_SHAPE, webmap.OTHER_TIER_COLOUR)
    assert staticmap.STATUS_COLOURS == webmap.STATUS_COLOURS


def test_area_bounds_are_known_without_walking_every_coordinate(areas, analysis, services, config):
    from folium.utilities import get_bounds

    m = webmap.build_map(areas, analysis, services, config)
    (layer,) = [c for c in m._children.values() if isinstance(c, webmap._AreaLayer)]
    # What folium would find by walking the coordinates (its own function, the oracle).
    assert layer.get_bounds() == get_bounds(layer.data, lonlat=True) == [[52.5, -1.4], [52.7, -0.8]]
