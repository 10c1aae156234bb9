"""gapmap.webmap: folium HTML asserted as text on a tiny hand-made selection.

The analysis here is a stand-in with the GapAnalysis fields render uses (gaps, coverage,
profile, selection), so the renderer is tested without the engine.
"""

from __future__ import annotations

import itertools
import re
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
    html = _html(webmap.build_map(areas, analysis, services, config, show_catchments=True))
    assert XSS not in html
    assert XSS_ESCAPED in html
    assert "Southam &amp; Vale" in html


def test_confidential_service_never_in_html(areas, analysis, services, config):
    for colour_by in ("benchmark", "patchwork"):
        html = _html(
            webmap.build_map(areas, analysis, services, config, colour_by=colour_by, show_catchments=True)
        )
        assert REFUGE_NAME not in html
        assert "Hidden Provider" not in html
        assert "Hidden Lane" not in html and "LE1 1AA" not in html
        for coord in (f"{REFUGE_LAT:.3f}", f"{REFUGE_LON:.3f}"):
            assert coord not in html
    # The public services are there: one point each, drawn as circle markers.
    assert len(re.findall(r'"type": "Point"', html)) == 2
    assert "new L.CircleMarker(latlng, opts)" in html


def test_service_tooltip_fields_and_uk_date(config, services):
    rec = services.iloc[0].to_dict()
    tip = webmap.service_tooltip(rec, config)
    assert "IDVA service" in tip
    assert "Secondary: early intervention, Tertiary: reduction and recovery" in tip
    assert "Adult victim-survivors" in tip
    assert "Office hours" in tip
    assert "31 March 2027" in tip
    assert XSS not in tip


def test_markers_coloured_by_first_tier_and_catchments_on_request(areas, analysis, services, config):
    html = _html(webmap.build_map(areas, analysis, services, config))
    assert webmap.TIER_COLOURS["secondary"] in html and webmap.TIER_COLOURS["primary"] in html
    assert "L.circle(" not in html
    html = _html(webmap.build_map(areas, analysis, services, config, show_catchments=True))
    assert html.count("L.circle(") == 1
    assert '"radius": 12000.0' in html


def test_no_services_layer_when_hidden(areas, analysis, services, config):
    html = _html(webmap.build_map(areas, analysis, services, config, show_services=False))
    assert '"type": "Point"' not in html


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
    html = _html(webmap.build_map(areas, analysis, refuges_only, config))
    assert '"type": "Point"' not in html
    assert REFUGE_NAME not in html
    assert webmap.CONFIDENTIAL_NOTE in html


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
