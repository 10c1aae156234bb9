"""All English districts with 10,000 services, in headless Chromium at 1280x720 (issue 13).

The markers must be drawn (one canvas layer, not 10,000 SVG elements), the page must stay
usable (a real mouse finds a marker's tooltip, a click on an area opens its profile), and
panning or zooming the map must not rerun the app. The screenshot goes to
tests/artifacts/app_national_1280x720.png for a human to look at.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_e2e_browser import (
    ARTIFACTS,
    CLICK_AREA_JS,
    MARKER_POINT_JS,
    MARKERS_JS,
    open_page,
    require_browser,
    running_app,
    wait_for_map,
)

pytestmark = [pytest.mark.browser, pytest.mark.shared_data]

N_SERVICES = 10_000
#: Public types only (the safe-accommodation types are confidential by default: no point).
TYPES = ("idva", "isva", "outreach", "counselling", "school_programme", "perpetrator_programme")


def national_list(boundaries: Path, out: Path) -> tuple[Path, int, str]:
    """10,000 located public services spread over England's districts; (file, areas, a code)."""
    from gapmap.boundaries import load_boundaries

    areas = load_boundaries(boundaries)
    per_area = N_SERVICES // len(areas) + 1
    points = areas.to_crs(27700).geometry.sample_points(size=per_area, rng=13).explode().to_crs(4326)
    codes = areas["area_code"].to_numpy()[points.index.to_numpy()]
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["service_id", "name", "service_type", "provider", "latitude", "longitude", "serves"])
        for i, (pt, code) in enumerate(zip(points.iloc[:N_SERVICES], codes, strict=False)):
            name = f"Service {i} <img src=x onerror=alert({i})>" if i == 0 else f"Service {i}"
            writer.writerow(
                [
                    f"N{i:05d}",
                    name,
                    TYPES[i % len(TYPES)],
                    f"Provider {i % 97}",
                    f"{pt.y:.5f}",
                    f"{pt.x:.5f}",
                    code,
                ]
            )
    return out, len(areas), str(areas["area_code"].iloc[0])


def test_ten_thousand_services_draw_on_a_projector_and_the_page_stays_usable(shared_data, tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    boundaries = shared_data / "boundaries" / "england_ltla_2024_ons_bsc.geojson"
    services, n_areas, code = national_list(boundaries, tmp_path / "national.csv")
    env = {
        "GAPMAP_BOUNDARIES": str(boundaries),
        "GAPMAP_POPULATION": str(shared_data / "population" / "la_denominators_lad24_england.csv"),
        "GAPMAP_SERVICES": str(services),
        "GAPMAP_DATA_DIR": str(tmp_path),
    }
    dialogs: list[str] = []
    sent: list[int] = []
    with running_app(env=env) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.set_viewport_size({"width": 1280, "height": 720})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
            page.goto(base, wait_until="domcontentloaded", timeout=120_000)
            frame = wait_for_map(page, min_paths=n_areas, timeout_ms=180_000)
            frame.wait_for_function(f"({MARKERS_JS})() === {N_SERVICES}", timeout=60_000)
            # The areas are SVG paths, the markers one canvas: no SVG element per marker.
            assert frame.eval_on_selector_all("path.leaflet-interactive", "els => els.length") == n_areas
            assert (
                frame.evaluate("document.querySelectorAll('.leaflet-gapmapServices-pane canvas').length") == 1
            )
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "app_national_1280x720.png"))
            box = page.query_selector("iframe[title*='st_folium']").bounding_box()
            assert box["y"] + box["height"] <= 720, box  # the whole map on the first screen

            # A real mouse over a marker shows its tooltip, its name as text.
            x, y = frame.evaluate(MARKER_POINT_JS, "Provider ")
            page.mouse.move(box["x"] + x, box["y"] + y)
            frame.wait_for_selector(".gapmap-service-tip", timeout=10_000)
            assert frame.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0

            # Panning and zooming stay in the browser: nothing goes back to the server.
            sent.clear()
            frame.evaluate("window.map.setZoom(window.map.getZoom() + 2)")
            frame.evaluate("window.map.panBy([200, 120])")
            page.mouse.move(box["x"] + 40, box["y"] + 200)
            page.wait_for_timeout(2000)
            assert sent == [], f"the map sent {len(sent)} messages on pan and zoom"

            # A click on an area still opens its profile below the map.
            assert frame.evaluate(CLICK_AREA_JS, code)
            page.get_by_text("Area profile:", exact=False).first.wait_for(timeout=120_000)
            assert frame.evaluate(f"({MARKERS_JS})()") == N_SERVICES  # the same map, kept
        finally:
            context.close()
            browser.close()
    assert dialogs == []
