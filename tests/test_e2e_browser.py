"""End to end: the real app in headless Chromium, offline.

Starts the app as `make run` does (`python app.py`) on a free local port, opens it with
Playwright driving Debian's /usr/bin/chromium (never a downloaded browser), and checks through
the DOM that Leaflet drew the demo's areas and service markers, that every request stayed on
this machine, and saves a 1600x900 screenshot to tests/artifacts/app.png (git-ignored) for a
human to look at.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import REPO_ROOT, in_ci

CHROMIUM = Path(os.environ.get("GAPMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about"}

pytestmark = pytest.mark.browser


def require_browser() -> Path:
    """Chromium and Playwright, or skip (locally) / fail (CI=true) saying what is missing."""
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} not found (apt-get install chromium, or `make browser`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is not installed (pip install -r requirements-dev.txt)")
    if not (REPO_ROOT / "static" / "vendor" / "leaflet" / "leaflet.js").is_file():
        problems.append("Leaflet is not installed under static/vendor (run `make assets`)")
    if problems:
        message = "; ".join(problems)
        if in_ci():
            pytest.fail(message + " (CI=true: the browser test must run)")
        pytest.skip(message)
    return CHROMIUM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: A users file that does not exist: no sign-in unless a test gives its own (GAPMAP_USERS_FILE).
NO_USERS_FILE = "/nonexistent/gapmap-test-users.json"


@contextmanager
def running_app(
    env: dict[str, str] | None = None,
    timeout_s: float = 120,
    *,
    address: str | None = "127.0.0.1",
    script: Path | None = None,
) -> Iterator[str]:
    """`python app.py` (as `make run`) on a free port; yields the base URL once /_stcore/health answers.

    `address=None` passes no --server.address, so the repository's .streamlit/config.toml decides.
    `script` runs another page instead (`streamlit run script`; the benchmarks' minimal page).
    """
    port = free_port()
    launch = [sys.executable, str(REPO_ROOT / "app.py")]
    if script is not None:
        launch = [sys.executable, "-m", "streamlit", "run", str(script)]
    cmd = [
        *launch,
        "--server.headless", "true",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    if address is not None:
        cmd += ["--server.address", address]
    base_env = {k: v for k, v in os.environ.items() if k != "STREAMLIT_SERVER_ADDRESS"}
    base_env.setdefault("GAPMAP_USERS_FILE", NO_USERS_FILE)
    log = ARTIFACTS / f"streamlit_{port}.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env={**base_env, **(env or {})}
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
                try:
                    with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s; see {log}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.hostname in LOCAL_HOSTS


def open_page(playwright, chromium: Path):
    browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
    context = browser.new_context(viewport={"width": 1600, "height": 900}, device_scale_factor=1)
    return browser, context


def wait_for_map(page, *, min_paths: int, timeout_ms: int = 90_000):
    """The st_folium iframe once Leaflet has drawn at least `min_paths` interactive paths."""
    selector = "iframe[title*='st_folium'], iframe[title*='streamlit_folium']"
    deadline = time.monotonic() + timeout_ms / 1000
    frame = None
    while frame is None:
        # A rerun replaces the iframe: one found a moment ago may be detached (no content frame).
        page.wait_for_selector(selector, timeout=timeout_ms)
        frame_el = page.query_selector(selector)
        frame = frame_el.content_frame() if frame_el is not None else None
        if frame is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the map iframe never settled within {timeout_ms} ms")
            page.wait_for_timeout(200)
    frame.wait_for_function(
        "n => document.querySelectorAll('path.leaflet-interactive').length >= n", arg=min_paths,
        timeout=timeout_ms,
    )  # fmt: skip
    return frame


def test_app_draws_demo_map_offline(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    from gapmap import settings, webmap
    from gapmap.dataset import load_demo
    from gapmap.privacy import public_services

    demo = load_demo()
    n_areas = len(demo.areas)
    n_public = len(public_services(demo.services))
    requests: list[str] = []
    # Saved versions go to a temporary data folder, never into the repository.
    with running_app(env={"GAPMAP_DATA_DIR": str(tmp_path)}) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            context.on("request", lambda req: requests.append(req.url))
            page = context.new_page()
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            frame = wait_for_map(page, min_paths=n_areas)
            # Areas are SVG paths with the outline class; markers are circles on one canvas.
            paths = frame.eval_on_selector_all("path.leaflet-interactive", "els => els.length")
            assert paths >= n_areas
            assert frame.evaluate(MARKERS_JS) == n_public
            # Each marker is drawn as its tier's shape, so tiers differ by more than colour.
            drawn = frame.evaluate(MARKER_SHAPES_JS)
            first_tiers = {(t[0] if len(t) else "") for t in public_services(demo.services)["tiers"]}
            assert set(drawn) == {
                webmap.CANVAS_SHAPES[webmap.TIER_SHAPES.get(t, webmap.OTHER_TIER_SHAPE)] for t in first_tiers
            }
            assert frame.evaluate("document.querySelectorAll('canvas').length") >= 1
            legend = frame.inner_text(".gapmap-legend")
            assert "Refuge family places" in legend and "Source: Council of Europe (2008)." in legend
            assert "Services (by first tier)" in legend  # the markers' layer put its part in
            assert frame.evaluate("typeof L !== 'undefined' && L.version") == "1.9.4"
            page.wait_for_timeout(1500)  # let fonts and the legend settle for the screenshot
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=False)

            # The real file uploader: a broken list is reported and nothing is saved ...
            page.get_by_role("tab", name="Services").click()
            uploader = page.locator("input[type='file']")
            uploader.wait_for(state="attached", timeout=60_000)
            header = settings.DEMO_SERVICES.read_bytes().splitlines()[0]
            broken = header + b"\nX-1,Typo Service,refugee_centre,P,,,,,,,,,E06999001,,1,,,office,,,\n"
            uploader.set_input_files(files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": broken}])
            page.get_by_text("Nothing was saved", exact=False).first.wait_for(timeout=60_000)
            assert page.get_by_role("button", name="Save as new version").count() == 0
            saved = tmp_path / "services" / "saved"
            assert not saved.exists() or not any(saved.glob("v*"))
            # ... and a valid one can be saved as a new version.
            uploader.set_input_files(
                files=[
                    {
                        "name": "march.csv",
                        "mimeType": "text/csv",
                        "buffer": settings.DEMO_SERVICES.read_bytes(),
                    }
                ]
            )
            page.get_by_role("button", name="Save as new version").click(timeout=60_000)
            page.get_by_text("Saved as version v0001", exact=False).first.wait_for(timeout=60_000)
            assert [f.name for f in saved.glob("v*")] == ["v0001_march.csv"]
        finally:
            context.close()
            browser.close()
    assert requests, "no request was recorded"
    remote = sorted({u for u in requests if not is_local(u)})
    assert not remote, f"requests left this machine: {remote}"
    assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in requests), (
        "Leaflet not served by the app"
    )


XSS = "<img src=x onerror=alert(1)>"

#: Service markers on the map: the point features of the GeoJSON layers (areas are polygons).
MARKERS_JS = """() => {
    let n = 0;
    for (const id in window.map._layers) {
        const layer = window.map._layers[id];
        if (layer.getLatLng && layer.feature && layer.feature.geometry.type === "Point") n += 1;
    }
    return n;
}"""

#: The shape each service marker is drawn with (its tier's), one entry per distinct shape.
MARKER_SHAPES_JS = """() => {
    const shapes = new Set();
    for (const id in window.map._layers) {
        const layer = window.map._layers[id];
        if (layer.getLatLng && layer.feature && layer.feature.geometry.type === "Point") {
            shapes.add(layer.options.shape);
        }
    }
    return Array.from(shapes);
}"""

# Leaflet calls used below: fire a real layer click (propagated to the GeoJSON group, as a
# mouse click is, so streamlit-folium reports it) and open every tooltip at once.
CLICK_AREA_JS = """code => {
    for (const id in window.map._layers) {
        const layer = window.map._layers[id];
        if (layer.feature && layer.feature.properties && layer.feature.properties.area_code === code) {
            layer.fire("click", {latlng: layer.getBounds().getCenter()}, true);
            return true;
        }
    }
    return false;
}"""
#: Where a marker is (client coordinates inside the map's frame), found by its provider: the
#: first one inside the map and clear of the legend, so the mouse can reach it.
MARKER_POINT_JS = """needle => {
    const box = window.map.getContainer().getBoundingClientRect();
    const legend = document.querySelector(".gapmap-legend").getBoundingClientRect();
    for (const id in window.map._layers) {
        const layer = window.map._layers[id];
        if (layer.getLatLng && layer.feature && layer.feature.properties.provider.includes(needle)) {
            const p = window.map.latLngToContainerPoint(layer.getLatLng());
            const x = box.left + p.x, y = box.top + p.y;
            const inside = x > box.left + 60 && x < box.right - 10 && y > box.top + 10 && y < box.bottom - 40;
            const underLegend = x > legend.left - 10 && y > legend.top - 10;
            if (inside && !underLegend) return [x, y];
        }
    }
    return null;
}"""
HOVER_AREA_JS = CLICK_AREA_JS.replace('layer.fire("click"', 'layer.fire("mouseover"')


def hostile_dataset(folder: Path) -> dict[str, str]:
    """The demo with an area and a service whose name and provider are HTML/JS."""
    import json

    from shapely.geometry import shape

    from gapmap import settings

    geo = json.loads(settings.DEMO_BOUNDARIES.read_text(encoding="utf-8"))
    for feature in geo["features"]:
        if feature["properties"]["area_code"] == "E07999001":
            feature["properties"]["area_name"] = XSS
            saltmere = feature
    boundaries = folder / "hostile_areas.geojson"
    boundaries.write_text(json.dumps(geo), encoding="utf-8")
    with open(settings.DEMO_SERVICES, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # the demo names Saltmere in `serves`; it is renamed here
        row["serves"] = ";".join("E07999001" if s == "Saltmere" else s for s in row["serves"].split(";"))
    inside = shape(saltmere["geometry"]).representative_point()
    rows.append(
        {**dict.fromkeys(rows[0], ""), "service_id": "XSS-1", "name": XSS, "service_type": "outreach",
         "provider": XSS, "latitude": f"{inside.y:.5f}", "longitude": f"{inside.x:.5f}",
         "serves": "E07999001", "capacity": "1", "capacity_unit": "fte", "hours": "office"}
    )  # fmt: skip
    services = folder / "hostile_services.csv"
    with open(services, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {
        "GAPMAP_BOUNDARIES": str(boundaries),
        "GAPMAP_POPULATION": str(settings.DEMO_POPULATION),
        "GAPMAP_POSTCODES": str(settings.DEMO_POSTCODES),
        "GAPMAP_SERVICES": str(services),
    }


def test_hostile_names_show_as_text_and_a_map_click_opens_the_profile(tmp_path):
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with running_app(env=hostile_dataset(tmp_path)) as base, sync_playwright() as p:
        browser, context = open_page(p, chromium)
        try:
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base, wait_until="domcontentloaded", timeout=90_000)
            frame = wait_for_map(page, min_paths=9)
            labels = frame.eval_on_selector_all(".gapmap-label", "els => els.map(e => e.innerText)")
            assert any(XSS in text for text in labels), labels
            # Hover the hostile service's marker with the mouse (markers are on a canvas above
            # the areas: Leaflet's hit test finds it), then the hostile area: each tooltip shows.
            x, y = frame.evaluate(MARKER_POINT_JS, XSS)
            box = page.query_selector("iframe[title*='st_folium']").bounding_box()
            page.mouse.move(box["x"] + x, box["y"] + y)
            frame.wait_for_selector(".gapmap-service-tip", timeout=10_000)
            tips = frame.eval_on_selector_all(".gapmap-service-tip", "els => els.map(e => e.innerText)")
            assert any(tip.startswith(XSS) and f"Provider: {XSS}" in tip for tip in tips), tips
            page.mouse.move(1, 1)  # off the map: the marker's tooltip goes
            frame.wait_for_selector(".gapmap-service-tip", state="detached", timeout=10_000)
            assert frame.evaluate(HOVER_AREA_JS, "E07999001")
            tips = frame.eval_on_selector_all(".leaflet-tooltip", "els => els.map(e => e.innerText)")
            assert any(text.startswith(XSS) and "Not met" in text for text in tips), tips
            assert frame.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0

            # A click on the hostile area opens its profile below the map (st_folium -> rerun).
            assert frame.evaluate(CLICK_AREA_JS, "E07999001")
            heading = page.get_by_text("Area profile:", exact=False)
            heading.first.wait_for(timeout=60_000)
            assert XSS in heading.first.inner_text()
            page.get_by_text("Every benchmark").first.wait_for(timeout=60_000)
            assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        finally:
            context.close()
            browser.close()
    assert dialogs == [], f"script ran from a name: {dialogs}"
