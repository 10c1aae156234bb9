"""The app in headless Chromium: what is shown is what was chosen, at projector sizes.

Driven through the real widgets (file uploader, tabs, dataset chooser, a Leaflet click), with
the helpers of tests/test_e2e_browser.py. Screenshots go to tests/artifacts/ (git-ignored) for
a human to look at: app_<width>x<height>.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e_browser import (
    ARTIFACTS,
    CLICK_AREA_JS,
    MARKERS_JS,
    open_page,
    require_browser,
    running_app,
    wait_for_map,
)

from gapmap import settings

pytestmark = pytest.mark.browser


def without(service_ids: list[str]) -> bytes:
    lines = settings.DEMO_SERVICES.read_bytes().splitlines(keepends=True)
    kept = [ln for ln in lines if not any(ln.startswith(s.encode() + b",") for s in service_ids)]
    assert len(kept) == len(lines) - len(service_ids)
    return b"".join(kept)


def public_located(content: bytes) -> int:
    """Markers a list draws on the demo: its public services with a location."""
    from gapmap.dataset import validate_dataset
    from gapmap.privacy import public_services

    dataset, _ = validate_dataset(
        services_content=content,
        services_name="x.csv",
        boundaries=settings.DEMO_BOUNDARIES,
        population=settings.DEMO_POPULATION,
        postcodes=settings.DEMO_POSTCODES,
        for_analysis=True,
    )
    public = public_services(dataset.services)
    return int((~(public.geometry.isna() | public.geometry.is_empty)).sum())


MAP_IFRAME = "iframe[title*='st_folium'], iframe[title*='streamlit_folium']"


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the sidebar selectbox labelled `label`."""
    page.get_by_role("combobox", name=label).first.click()
    page.get_by_role("option", name=option).first.click()


def upload(page, content: bytes, name: str) -> None:
    page.get_by_role("tab", name="Services").click()
    uploader = page.locator("input[type='file']")
    uploader.wait_for(state="attached", timeout=60_000)
    uploader.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    page.get_by_text(f"{name}: no problems found", exact=False).first.wait_for(timeout=60_000)


def map_tab(page, expected_markers: int):
    # A click that lands while the app is still rerunning (after a dataset choice) can be undone
    # by the rerun's redraw of the tabs: click again until the Map tab is the selected one.
    tab = page.get_by_role("tab", name="Map")
    for _ in range(30):
        tab.click()
        page.wait_for_timeout(500)
        if tab.get_attribute("aria-selected") == "true" and page.locator(MAP_IFRAME).first.is_visible():
            break
    frame = wait_for_map(page, min_paths=9)
    frame.wait_for_function(f"({MARKERS_JS})() === {expected_markers}", timeout=60_000)
    return frame


def test_two_uploads_in_a_row_show_the_second_list_and_survive_tab_switches(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    list_a = without(["FEN-022"])
    list_b = without(["FEN-022", "FEN-001", "FEN-002", "FEN-003"])
    n_a, n_b = public_located(list_a), public_located(list_b)
    assert n_a != n_b
    with running_app(env={"GAPMAP_DATA_DIR": str(tmp_path)}) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            wait_for_map(page, min_paths=9)
            upload(page, list_a, "list_a.csv")
            choose(page, "Dataset", "Uploaded, not saved: list_a.csv")
            map_tab(page, n_a)
            upload(page, list_b, "list_b.csv")
            choose(page, "Dataset", "Uploaded, not saved: list_b.csv")
            frame = map_tab(page, n_b)  # the second list's markers, not the first's
            assert frame.evaluate(MARKERS_JS) == n_b
            # Switching tabs keeps the unsaved upload (its uploader is not drawn meanwhile).
            for name in ("Gaps", "Patchwork", "Export", "Map"):
                page.get_by_role("tab", name=name).click()
                page.wait_for_timeout(1500)
            chosen = page.get_by_role("combobox", name="Dataset").first.input_value()
            assert chosen == "Uploaded, not saved: list_b.csv"
            map_tab(page, n_b)
        finally:
            context.close()
            browser.close()


@pytest.mark.parametrize("size", [(1600, 900), (1280, 720), (1024, 600)])
def test_map_legend_and_headline_fit_the_first_screen(size):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    width, height = size
    with running_app() as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": height})
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            frame = wait_for_map(page, min_paths=9)
            page.wait_for_timeout(1500)
            Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"app_{width}x{height}.png"), full_page=False)
            # The title and kicker are not hidden under Streamlit's toolbar strip.
            for selector in ("h1", ".gapmap-kicker"):
                assert page.evaluate(
                    """s => { const h = document.querySelector(s); const r = h.getBoundingClientRect();
                    const e = document.elementFromPoint(r.left + 8, r.top + r.height / 2);
                    return r.top >= 0 && h.contains(e); }""",
                    selector,
                ), selector
            # The dataset is named once on screen: the geography line, or on short screens (where
            # that line is hidden for room) the kicker.
            shown = page.evaluate(
                """() => [...document.querySelectorAll(
                    '.gapmap-kicker-dataset, [data-testid="stCaptionContainer"]')]
                    .filter(e => e.offsetParent !== null && e.innerText.includes('Dataset: Demo (fictional)'))
                    .length"""
            )
            assert shown == 1, shown
            iframe = page.locator("iframe[title*='st_folium'], iframe[title*='streamlit_folium']").first
            box = iframe.bounding_box()
            assert box is not None and box["y"] + box["height"] <= height, (box, height)
            for metric in page.locator("[data-testid='stMetric']").all():
                mbox = metric.bounding_box()
                assert mbox is not None and mbox["y"] + mbox["height"] <= height
                value = metric.locator("[data-testid='stMetricValue']")
                # Not cut: the text fits its box.
                assert value.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), value.inner_text()
            legend = frame.locator(".gapmap-legend").bounding_box()
            assert legend is not None and legend["y"] + legend["height"] <= height  # page coordinates
            # Every area drawn inside the map's frame.
            inside = frame.evaluate(
                """() => { const m = window.map.getContainer().getBoundingClientRect();
                let ok = 0; let n = 0;
                for (const id in window.map._layers) { const l = window.map._layers[id];
                  if (l.feature && l.feature.geometry.type !== 'Point' && l._path) { n += 1;
                    const r = l._path.getBoundingClientRect();
                    if (r.left >= m.left - 1 && r.right <= m.right + 1 && r.top >= m.top - 1
                        && r.bottom <= m.bottom + 1) ok += 1; } }
                return [ok, n]; }"""
            )
            assert inside[0] == inside[1] == 9, inside
            # Labels never overprint: the visible ones do not overlap each other or the legend.
            overlaps = frame.evaluate(
                """() => { const shown = [...document.querySelectorAll('.gapmap-label')]
                    .filter(e => e.style.visibility !== 'hidden').map(e => e.getBoundingClientRect());
                  const legend = document.querySelector('.gapmap-legend').getBoundingClientRect();
                  const hit = (a, b) => !(a.right <= b.left || a.left >= b.right
                                          || a.bottom <= b.top || a.top >= b.bottom);
                  let n = 0;
                  shown.forEach((a, i) => { if (hit(a, legend)) n += 1;
                    shown.slice(i + 1).forEach(b => { if (hit(a, b)) n += 1; }); });
                  return [n, shown.length]; }"""
            )
            assert overlaps[0] == 0 and overlaps[1] >= 5, overlaps
            # The wheel scrolls the page until the map is clicked.
            assert frame.evaluate("window.map.scrollWheelZoom.enabled()") is False
            # Clicking an area shows all three tiers of its grid (and lets the wheel zoom).
            assert frame.evaluate(CLICK_AREA_JS, "E07999006")
            page.get_by_text("Area profile: Wykesand").first.wait_for(timeout=60_000)
            grid = page.locator("[data-testid='stDataFrame']", has_text="Perpetrators").first
            grid.wait_for(timeout=60_000)
            # A real click on the map (an empty corner) lets the wheel zoom it.
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 6)
            frame.wait_for_function("window.map.scrollWheelZoom.enabled()", timeout=10_000)
        finally:
            context.close()
            browser.close()


def test_enter_applies_a_typed_uk_funding_date():
    """Type 01/02/2027 in the funding-cliff box and press Enter (no click elsewhere): the
    headline drops to 25 of 100 refuge family places (tests/test_cliff.py by hand)."""
    chromium = require_browser()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with running_app() as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            wait_for_map(page, min_paths=9)
            page.get_by_text("Filter services").first.click()
            box = page.get_by_label("Funded on (DD/MM/YYYY, Enter applies)")
            # A click that lands while a rerun redraws the sidebar can be lost on a busy machine:
            # tick the box again until the date field shows (a real user would do the same).
            tick = page.get_by_role("checkbox", name="Only services still funded on a date (funding cliff)")
            for _ in range(3):
                if not tick.is_checked():
                    page.get_by_text("Only services still funded on a date").first.click()
                try:
                    box.wait_for(timeout=20_000)
                    break
                except PlaywrightTimeout:
                    continue
            box.wait_for(timeout=20_000)
            box.fill("01/02/2027")
            box.press("Enter")
            page.get_by_text("25 / 100", exact=True).first.wait_for(timeout=60_000)
            line = page.locator(".gapmap-sub").first.inner_text()
            assert "funded on 1 February 2027" in line and "for 2 services" in line
        finally:
            context.close()
            browser.close()


def test_markers_off_and_on_swap_only_their_layer():
    """The base map stays (same iframe, same zoom); only the markers' layer goes and comes back."""
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    n_markers = public_located(settings.DEMO_SERVICES.read_bytes())
    with running_app() as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            frame = wait_for_map(page, min_paths=9)
            frame.wait_for_function(f"({MARKERS_JS})() === {n_markers}", timeout=60_000)
            frame.evaluate("window.map.setZoom(window.map.getZoom() + 1)")
            zoom = frame.evaluate("window.map.getZoom()")
            page.get_by_text("Show service markers").click()
            frame.wait_for_function(f"({MARKERS_JS})() === 0", timeout=60_000)
            assert "Services (by first tier)" not in frame.inner_text(".gapmap-legend")
            page.get_by_text("Show service markers").click()
            frame.wait_for_function(f"({MARKERS_JS})() === {n_markers}", timeout=60_000)
            assert "Services (by first tier)" in frame.inner_text(".gapmap-legend")
            assert not frame.is_detached() and frame.evaluate("window.map.getZoom()") == zoom
        finally:
            context.close()
            browser.close()
