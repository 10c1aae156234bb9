"""The exported HTML map opened in a real browser (Debian chromium, offline file://).

What only a browser can tell: which CSS wins (the white page over leaflet.css's grey) and
where the demo badge lands (on screen, clear of the zoom buttons).
"""

from __future__ import annotations

from datetime import date

import pytest
from test_e2e_browser import CHROMIUM_ARGS, require_browser

from gapmap import webmap
from gapmap.dataset import load_demo
from gapmap.engine import analyse

pytestmark = pytest.mark.browser


def test_exported_map_is_white_with_the_demo_badge_in_view(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    dataset = load_demo(today=date(2026, 11, 22))
    analysis = analyse(dataset.areas, dataset.population, dataset.services, dataset.config)
    page_path = tmp_path / "map.html"
    page_path.write_text(webmap.map_html(dataset, analysis, title="Fenmarsh"), encoding="utf-8")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 750})
            page.goto(page_path.as_uri())
            page.wait_for_selector("path.leaflet-interactive")
            background = page.evaluate(
                "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"
            )
            badge = page.locator(".gapmap-demo-badge").bounding_box()
            zoom = page.locator(".leaflet-control-zoom").bounding_box()
            badge_text = page.locator(".gapmap-demo-badge").inner_text()
        finally:
            browser.close()

    assert background == "rgb(255, 255, 255)"
    assert badge_text == "Fictional demo data"
    assert badge["y"] >= 0 and badge["x"] >= 0 and badge["x"] + badge["width"] <= 1200
    assert badge["x"] > zoom["x"] + zoom["width"]  # not over the zoom buttons
