"""Status fills stay apart for colour-blind readers and in greyscale: measured on real renders.

The web map (standalone HTML in headless Chromium, screenshot at 1280x720) and the static map
(PNG) are drawn for the demo county with the Idva benchmark's statuses set by hand so that
every class appears (Not met, Partly met, Met, No data). Each class's pixels are found in the
screenshot by their palette colour; the whole image is then passed through the Machado, Oliveira
and Fernandes (2009) simulation matrices for deuteranopia and protanopia (severity 1, applied to
linear RGB) and through greyscale (the luminance itself), and the WCAG contrast ratio between
the median simulated fills is measured.

Threshold (gapmap.palette): at least 3:1 between neighbouring classes of the ordered scale
(Not met / Partly met / Met) -- WCAG 2.1 success criterion 1.4.11's minimum for graphics needed
to understand content -- and at least 1.5:1 between No data and every other class (No data is
off the scale and always carries its word or "?"). The old fills measured 1.3:1 (Met / Not met).
"""

from __future__ import annotations

import dataclasses
import io
import itertools

import numpy as np
import pytest
from PIL import Image

from gapmap import palette, staticmap, webmap

# Machado et al. (2009), severity 1.0, for linear RGB.
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)
PROTANOPIA = np.array(
    [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
)
STATUSES = ("red", "amber", "green", "no_data")
PAIRS = [
    ("red", "amber", palette.ADJACENT_CONTRAST),
    ("amber", "green", palette.ADJACENT_CONTRAST),
    ("no_data", "red", palette.NO_DATA_CONTRAST),
    ("no_data", "amber", palette.NO_DATA_CONTRAST),
    ("no_data", "green", palette.NO_DATA_CONTRAST),
]


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _encode(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray, vision: str) -> np.ndarray:
    """(..., 3) sRGB in 0-1 as seen with `vision`: normal, deuteranopia, protanopia, greyscale."""
    lin = _linear(rgb)
    if vision == "normal":
        return rgb
    if vision == "greyscale":
        y = lin @ np.array([0.2126, 0.7152, 0.0722])
        return _encode(np.repeat(y[..., None], 3, axis=-1))
    matrix = DEUTERANOPIA if vision == "deuteranopia" else PROTANOPIA
    return _encode(lin @ matrix.T)


def test_simulation_matrices_keep_white_and_merge_red_and_green():
    """Sanity: white stays white, and the old red and green fills collapse under deuteranopia."""
    white = np.ones(3)
    for vision in ("deuteranopia", "protanopia", "greyscale"):
        assert np.allclose(simulate(white, vision), white, atol=0.01)
    old_red, old_green = np.array([215, 48, 39]) / 255, np.array([26, 152, 80]) / 255
    seen = [tuple(simulate(c, "deuteranopia")) for c in (old_red, old_green)]
    assert palette.contrast_ratio(*seen) < 1.5


def class_masks(image: np.ndarray) -> dict[str, np.ndarray]:
    """Pixels within 3/255 of each status fill (edges, labels and hatching excluded)."""
    masks = {}
    for status in STATUSES:
        h = palette.STATUS_COLOURS[status].lstrip("#")
        target = np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)])
        masks[status] = np.all(np.abs(image.astype(int) - target) <= 3, axis=-1)
    return masks


def assert_fills_apart(png: bytes, what: str) -> dict[str, dict[str, float]]:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    masks = class_masks(image)
    for status, mask in masks.items():
        assert mask.sum() > 200, f"{what}: too few {status} pixels ({mask.sum()}) to measure"
    measured: dict[str, dict[str, float]] = {}
    rgb = image / 255.0
    for vision in ("normal", "deuteranopia", "protanopia", "greyscale"):
        seen = simulate(rgb, vision)
        fills = {s: tuple(np.median(seen[m], axis=0)) for s, m in masks.items()}
        for a, b, minimum in PAIRS:
            ratio = palette.contrast_ratio(fills[a], fills[b])
            measured.setdefault(vision, {})[f"{a}/{b}"] = ratio
            assert ratio >= minimum, f"{what}, {vision}: {a} vs {b} contrast {ratio:.2f} < {minimum}"
    return measured


@pytest.fixture(scope="module")
def every_status(demo):
    """The demo with its Idva statuses set so that each class colours two or three areas."""
    dataset, analysis = demo
    gaps = analysis.gaps.copy()
    rows = (gaps["benchmark_id"] == "idva_fte") & (gaps["area_code"] != "ALL")
    gaps.loc[rows, "status"] = [STATUSES[i % 4] for i in range(int(rows.sum()))]
    return dataset, dataclasses.replace(analysis, gaps=gaps)


def test_static_map_fills_are_apart_for_colour_blind_and_greyscale_readers(every_status):
    dataset, analysis = every_status
    png = staticmap.snapshot_png(dataset, analysis, benchmark_id="idva_fte", dpi=60)
    assert_fills_apart(png, "static map")


@pytest.mark.browser
def test_web_map_fills_are_apart_for_colour_blind_and_greyscale_readers(every_status, tmp_path):
    from test_e2e_browser import CHROMIUM_ARGS, require_browser

    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    dataset, analysis = every_status
    m = webmap.build_map(
        dataset.areas,
        analysis,
        dataset.services,
        dataset.config,
        benchmark_id="idva_fte",
        asset_mode="inline",
    )
    page_file = tmp_path / "map.html"
    page_file.write_text(webmap.standalone_html(m), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(page_file.as_uri())
            page.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length >= 9")
            page.wait_for_timeout(500)
            png = page.screenshot()
        finally:
            browser.close()
    assert_fills_apart(png, "web map")


def test_evidence_fills_step_in_lightness_for_colour_blind_and_greyscale_readers():
    """Evidence classes (High / Moderate / Low or unrated / Nothing) stay apart: each neighbour at
    least `palette.EVIDENCE_CONTRAST` (2:1) after simulation; the order is lightest to darkest."""
    order = palette.EVIDENCE_ORDER
    hexes = palette.EVIDENCE_COLOURS
    rgb = {k: np.array([int(hexes[k][i : i + 2], 16) for i in (1, 3, 5)]) / 255 for k in order}
    for vision in ("normal", "deuteranopia", "protanopia", "greyscale"):
        seen = {k: tuple(simulate(v, vision)) for k, v in rgb.items()}
        lum = [palette.relative_luminance(seen[k]) for k in order]
        assert lum == sorted(lum, reverse=True), vision
        for a, b in itertools.pairwise(order):
            ratio = palette.contrast_ratio(seen[a], seen[b])
            assert ratio >= palette.EVIDENCE_CONTRAST, f"{vision}: {a} vs {b} {ratio:.2f}"
