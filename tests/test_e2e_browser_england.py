"""End to end on England built in (headless Chromium, offline): the issue 10 browser acceptance.

Open the app (the demo first), switch the geography to England built in, upload a Lancashire
service list with the real file uploader, choose the Lancashire police force area by typing its
name, and see its 14 districts scored on the map; switch to the demo and back, and nothing of
one appears in the other.
"""

from __future__ import annotations

import time

import pytest
from test_app_england import LANCASHIRE
from test_e2e_browser import ARTIFACTS, open_page, require_browser, running_app, wait_for_map

pytestmark = pytest.mark.browser

#: The area codes Leaflet drew (every GeoJSON feature carries its code).
AREA_CODES_JS = """() => {
    const codes = new Set();
    for (const id in window.map._layers) {
        const layer = window.map._layers[id];
        if (layer.feature && layer.feature.properties && layer.feature.properties.area_code) {
            codes.add(layer.feature.properties.area_code);
        }
    }
    return Array.from(codes).sort();
}"""

PAN_LANCASHIRE = sorted({*(f"E07000{n}" for n in range(117, 129)), "E06000008", "E06000009"})
DEMO_CODES = sorted({"E06999001", *(f"E07999{n:03d}" for n in range(1, 9))})


def drawn_codes(page, expected: list[str], timeout_s: float = 90) -> list[str]:
    """The map's area codes once they are `expected`, or the last ones seen after `timeout_s`.

    The map iframe is replaced when the view changes, so it is looked up afresh on each try.
    """
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            frame = wait_for_map(page, min_paths=1, timeout_ms=30_000)
            seen = frame.evaluate(AREA_CODES_JS)
        except PlaywrightError:
            seen = []  # the iframe was replaced mid-read: look again
        if seen == expected:
            break
        page.wait_for_timeout(500)
    return seen


def test_lancashire_pfa_on_england_then_the_demo_and_back(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    with running_app(env={"GAPMAP_DATA_DIR": str(tmp_path)}) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            assert drawn_codes(page, DEMO_CODES) == DEMO_CODES  # the demo is the first screen

            page.get_by_text("England built in (2024 districts)").first.click()
            page.get_by_text("Upload your service list", exact=False).first.wait_for(timeout=60_000)
            uploader = page.locator("input[type='file']")
            uploader.wait_for(state="attached", timeout=60_000)
            uploader.set_input_files(
                files=[{"name": "lancashire.csv", "mimeType": "text/csv", "buffer": LANCASHIRE}]
            )
            box = page.get_by_role("combobox", name="Partnership / areas (type to search)")
            box.wait_for(timeout=90_000)
            box.click()
            page.keyboard.type("Police force area: Lanc")
            page.get_by_role("option", name="Police force area: Lancashire (14 districts)").click()
            page.get_by_role("heading", name="Lancashire", exact=True).wait_for(timeout=90_000)
            assert drawn_codes(page, PAN_LANCASHIRE) == PAN_LANCASHIRE
            page.get_by_text("Geography: England built in", exact=False).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "app_england_lancashire.png"), full_page=False)

            # The demo: its own county only; the Lancashire list is not offered there.
            page.get_by_text("Demo county (fictional)").first.click()
            assert drawn_codes(page, DEMO_CODES) == DEMO_CODES
            page.get_by_text("Geography: Demo county (fictional)", exact=False).first.wait_for(timeout=30_000)
            dataset_box = page.get_by_role("combobox", name="Dataset")
            dataset_box.click()
            options = page.get_by_role("option").all_inner_texts()
            page.keyboard.press("Escape")
            assert options and not any("lancashire" in o.lower() for o in options), options

            # And back: Lancashire again, nothing of the demo.
            page.get_by_text("England built in (2024 districts)").first.click()
            page.get_by_role("heading", name="Lancashire", exact=True).wait_for(timeout=90_000)
            assert drawn_codes(page, PAN_LANCASHIRE) == PAN_LANCASHIRE
        finally:
            context.close()
            browser.close()
