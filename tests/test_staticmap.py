"""Static map snapshots: real properties of the PNG/PDF, hand-checked classes, label placement,
and a reference image compared with a tolerance.

Regenerate the reference image after an intended change of the map's look:
    GAPMAP_UPDATE_REFERENCE=1 .venv/bin/python -m pytest tests/test_staticmap.py -k reference
then look at tests/fixtures/exports/demo_map_reference.png before committing it.
"""

from __future__ import annotations

import dataclasses
import io
import os
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from gapmap import staticmap
from gapmap.config import default_config
from gapmap.engine import analyse
from gapmap.settings import BNG_EPSG

TODAY = date(2026, 11, 22)
REFERENCE = "demo_map_reference.png"
REFERENCE_DPI = 40
#: Mean absolute difference (0-255 greyscale, 4x-downsampled) a render may drift from the reference
#: (fonts/antialiasing across library versions) before the test calls it broken.
REFERENCE_TOLERANCE = 3.0


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    """Text with all whitespace removed: PDF extraction splits wrapped lines anywhere."""
    return "".join(text.split())


# --------------------------------------------------------------------------- PNG / PDF


def test_png_is_a4_landscape_at_300_dpi(demo):
    dataset, analysis = demo
    png = staticmap.snapshot_png(dataset, analysis, today=TODAY)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    # A4 landscape = 11.69 x 8.27 inches -> 3507 x 2481 pixels at 300 dpi.
    assert image.size == (3507, 2481)
    dpi_x, dpi_y = image.info["dpi"]
    assert round(dpi_x) == 300 and round(dpi_y) == 300


def test_pdf_is_one_vector_page_with_title_legend_and_attribution(demo):
    dataset, analysis = demo
    bench = analysis.profile.benchmark("idva_fte")
    pdf = staticmap.snapshot_pdf(
        dataset, analysis, benchmark_id="idva_fte", title="Idva posts in Fenmarsh", today=TODAY
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert list(page.images) == []  # vector: no embedded raster
    width_in, height_in = float(page.mediabox.width) / 72, float(page.mediabox.height) / 72
    assert (round(width_in, 1), round(height_in, 1)) == (11.7, 8.3)
    text = squash(page.extract_text())
    for expected in (
        "Idva posts in Fenmarsh",
        bench.label,
        f"Benchmark: {bench.describe()}",
        "Source: SafeLives (undated). Reviewing your Marac data (web guidance).",
        f"Population: {analysis.summary['benchmarks']['idva_fte']['denominator_source']}",
        "Contains OS data © Crown copyright and database right 2026",
        "Data sources:",
        "demo_county_services.csv",
        "Fictional demo data",
        "22 November 2026",
        analysis.profile.label,
        "All services",
        "Not met: below 50% of the benchmark",
        "km",  # the scale bar's unit
    ):
        assert squash(expected) in text, expected


def test_real_data_has_no_demo_badge(demo):
    dataset, analysis = demo
    real = dataclasses.replace(dataset, is_demo=False)
    _, text = pdf_text(staticmap.snapshot_pdf(real, analysis, today=TODAY))
    assert "Fictional" not in text
    _, demo_text = pdf_text(staticmap.snapshot_pdf(dataset, analysis, today=TODAY))
    assert "Fictional demo data" in demo_text


def test_legend_counts_areas_per_status(demo):
    dataset, analysis = demo
    rows = analysis.gaps[
        (analysis.gaps["benchmark_id"] == "idva_fte") & (analysis.gaps["area_code"] != "ALL")
    ]
    expected = rows["status"].value_counts().to_dict()
    _, text = pdf_text(staticmap.snapshot_pdf(dataset, analysis, benchmark_id="idva_fte", today=TODAY))
    text = squash(text)
    words = staticmap.status_words(dataset.config)
    for status, n in expected.items():
        assert squash(f"{words[status]} ({n} area{'s' if n != 1 else ''})") in text


def test_filter_description_reaches_the_subtitle(demo):
    from gapmap.filters import ServiceFilter

    dataset, _ = demo
    flt = ServiceFilter(tiers={"primary", "secondary"}, hours={"24_7"}, on=date(2027, 4, 1))
    analysis = analyse(
        dataset.areas, dataset.population, dataset.services, dataset.config, service_filter=flt
    )
    _, text = pdf_text(staticmap.snapshot_pdf(dataset, analysis, today=TODAY))
    # Labels, not ids, and a UK date: the page is for people.
    expected = "Tiers: Primary prevention, Secondary: early intervention; Hours: 24/7; funded on 1 April 2027"
    assert squash(expected) in squash(text)


def test_patchwork_map_names_the_cell_and_counts_gaps(demo):
    dataset, analysis = demo
    cov = analysis.coverage
    cell = cov[(cov["tier"] == "secondary") & (cov["cohort"] == "whole_family")]
    n_gap = int(cell["patchwork_gap"].sum())
    assert n_gap > 0  # the demo has deliberate whole-family gaps
    pdf = staticmap.snapshot_pdf(
        dataset, analysis, colour_by="patchwork", tier="secondary", cohort="whole_family", today=TODAY
    )
    text = squash(pdf_text(pdf)[1])
    assert squash("Secondary: early intervention × Whole families") in text
    words = staticmap.PATCHWORK_WORDS
    assert squash(f"{words['gap']} ({n_gap} area{'s' if n_gap != 1 else ''})") in text


def test_unknown_colour_by_is_rejected(demo):
    dataset, analysis = demo
    with pytest.raises(ValueError, match="colour_by"):
        staticmap.snapshot_figure(dataset, analysis, colour_by="rainbow")


def test_confidential_services_are_never_drawn(demo):
    dataset, analysis = demo
    services = dataset.services
    confidential = services[services["confidential"].astype(bool)]
    assert len(confidential) > 0
    # Give the refuges real locations: the map must still not draw them.
    located = services.copy()
    x0, y0 = located[~located["confidential"]].geometry.iloc[0].coords[0]
    from shapely.geometry import Point

    located.loc[located["confidential"], "geometry"] = [
        Point(x0 + 0.01 * (i + 1), y0) for i in range(len(confidential))
    ]
    ds = dataclasses.replace(dataset, services=located)
    fig = staticmap.snapshot_figure(ds, analysis, today=TODAY)
    drawn = np.vstack([c.get_offsets() for ax in fig.axes for c in ax.collections if len(c.get_offsets())])
    secret = located[located["confidential"]].to_crs(BNG_EPSG).geometry
    public = located[~located["confidential"] & located.geometry.notna()].to_crs(BNG_EPSG).geometry
    for p in secret:
        assert np.hypot(drawn[:, 0] - p.x, drawn[:, 1] - p.y).min() > 1.0
    # ...while public services are drawn (the check above can fail).
    assert np.hypot(drawn[:, 0] - public.iloc[0].x, drawn[:, 1] - public.iloc[0].y).min() < 1.0


# --------------------------------------------------------------------------- classification


def _tiny_analysis() -> SimpleNamespace:
    config = default_config()
    profile = config.default_profile
    gaps = pd.DataFrame(
        {
            "area_code": ["A", "B", "ALL", "ALL"],
            "benchmark_id": ["idva_fte", "idva_fte", "idva_fte", "helpline"],
            "status": ["red", "green", "amber", "green"],
        }
    )
    # Cell (primary, cyp): A has 2, B has 0, C has 0 -> B, C are gaps.
    # Cell (tertiary, perpetrators): nobody has one -> nowhere.
    coverage = pd.DataFrame(
        {
            "area_code": ["A", "B", "C", "A", "B", "C"],
            "tier": ["primary"] * 3 + ["tertiary"] * 3,
            "cohort": ["cyp"] * 3 + ["perpetrators"] * 3,
            "services": [2, 0, 0, 0, 0, 0],
            "patchwork_gap": [False, True, True, False, False, False],
        }
    )
    return SimpleNamespace(
        gaps=gaps, coverage=coverage, profile=profile, summary={}, selection=("A", "B", "C")
    )


def test_benchmark_classes_by_hand():
    an = _tiny_analysis()
    idva = an.profile.benchmark("idva_fte")
    got = staticmap.benchmark_classes(an, idva, ["A", "B", "C"])
    assert got.to_dict() == {"A": "red", "B": "green", "C": "no_data"}
    helpline = an.profile.benchmark("helpline")  # selection scope: every area gets the ALL status
    assert set(staticmap.benchmark_classes(an, helpline, ["A", "B"])) == {"green"}


def test_patchwork_classes_by_hand():
    an = _tiny_analysis()
    assert staticmap.patchwork_classes(an, ["A", "B", "C", "D"], "primary", "cyp").to_dict() == {
        "A": "has",
        "B": "gap",
        "C": "gap",
        "D": "no_data",
    }
    assert set(staticmap.patchwork_classes(an, ["A", "B"], "tertiary", "perpetrators")) == {"nowhere"}


def test_gap_count_classes_by_hand():
    an = _tiny_analysis()
    classes, colours, hatches, order, words = staticmap.gap_count_classes(an, ["A", "B", "C"], None, None)
    assert classes.to_dict() == {"A": "none", "B": "gaps_0", "C": "gaps_0"}
    assert words["gaps_0"] == "1 gap"
    assert order == ("gaps_0", "none", "no_data")
    assert all(k in colours and k in hatches for k in order)


# --------------------------------------------------------------------------- geometry helpers


@pytest.mark.parametrize(
    ("span_m", "expected"), [(50_000, 10_000), (37_000, 5_000), (120_000, 20_000), (800, 100)]
)
def test_scale_bar_length_is_round_and_about_a_fifth(span_m, expected):
    assert staticmap._nice_length_m(span_m) == expected


def test_fit_limits_keep_metres_square():
    (x0, x1), (y0, y1) = staticmap._fit_limits((0, 0, 10_000, 40_000), 6.0, 4.0)
    # The axes box is 6 x 4 inches: one metre must be as long across as up.
    assert (x1 - x0) / (y1 - y0) == pytest.approx(6.0 / 4.0)
    assert x0 < 0 and x1 > 10_000 and y0 < 0 and y1 > 40_000


def _label_figure():
    fig = staticmap._new_figure((4, 3))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    return fig, ax


def _label_boxes(fig, ax):
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in ax.texts:
        t.update_positions(renderer)
        boxes.append(Text.get_window_extent(t, renderer))
    return boxes


def test_labels_never_overlap_even_when_anchors_coincide():
    fig, ax = _label_figure()
    points = [(50, 50, f"Area number {i}") for i in range(12)]
    placed, skipped = staticmap.place_labels(ax, fig, points)
    assert placed + skipped == 12
    assert placed >= 4  # offsets found room for several
    boxes = _label_boxes(fig, ax)
    assert len(boxes) == placed
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)


def test_well_separated_labels_all_sit_on_their_anchor():
    fig, ax = _label_figure()
    points = [(20, 20, "South West"), (80, 80, "North East")]
    assert staticmap.place_labels(ax, fig, points) == (2, 0)
    assert [t.xyann for t in ax.texts] == [(0, 0), (0, 0)]


# --------------------------------------------------------------------------- reference image


def _grey_small(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png)).convert("L")
    w, h = image.size
    return np.asarray(image.resize((w // 4, h // 4), Image.Resampling.BOX), dtype=float)


def _render_reference(dataset, analysis, **kwargs) -> bytes:
    return staticmap.snapshot_png(dataset, analysis, dpi=REFERENCE_DPI, today=TODAY, **kwargs)


def test_demo_png_matches_reference_image(demo, fixtures_dir):
    dataset, analysis = demo
    path = fixtures_dir / "exports" / REFERENCE
    png = _render_reference(dataset, analysis)
    if os.environ.get("GAPMAP_UPDATE_REFERENCE") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        pytest.skip(f"reference image rewritten: {path} (look at it before committing)")
    assert path.exists(), "no reference image: run with GAPMAP_UPDATE_REFERENCE=1 once"
    got, want = _grey_small(png), _grey_small(path.read_bytes())
    assert got.shape == want.shape
    diff = float(np.abs(got - want).mean())
    assert diff < REFERENCE_TOLERANCE, f"map render drifted from the reference: mean |diff| {diff:.2f}"


def test_reference_metric_notices_a_different_map(demo, fixtures_dir):
    """The tolerance is not so loose that another map would pass as the reference."""
    dataset, analysis = demo
    path = fixtures_dir / "exports" / REFERENCE
    if not path.exists():
        pytest.skip("no reference image yet")
    other = _render_reference(
        dataset, analysis, colour_by="patchwork", tier="secondary", cohort="whole_family"
    )
    diff = float(np.abs(_grey_small(other) - _grey_small(path.read_bytes())).mean())
    assert diff > REFERENCE_TOLERANCE


def marker_points(fig) -> np.ndarray:
    """Every scattered point of a figure (service markers; areas are patches, not offsets)."""
    offsets = [c.get_offsets() for ax in fig.axes for c in ax.collections if len(c.get_offsets())]
    return np.vstack(offsets) if offsets else np.empty((0, 2))


def assert_only_kept_markers(fig, kept, dropped) -> None:
    """Each kept service has a marker; no dropped one has (unless it shares a kept one's spot)."""
    drawn = marker_points(fig)
    kept_xy = np.column_stack([kept.geometry.x, kept.geometry.y])
    for p in kept.geometry:
        assert np.hypot(drawn[:, 0] - p.x, drawn[:, 1] - p.y).min() < 1.0
    for p in dropped.geometry:
        if np.hypot(kept_xy[:, 0] - p.x, kept_xy[:, 1] - p.y).min() < 1.0:
            continue
        assert np.hypot(drawn[:, 0] - p.x, drawn[:, 1] - p.y).min() > 1.0


def tier_split(dataset, tier: str):
    from gapmap.privacy import public_services

    public = public_services(dataset.services).to_crs(BNG_EPSG)
    has = np.array([tier in t for t in public["tiers"]])
    return public[has], public[~has]


def primary_only(dataset):
    """The demo analysed for primary prevention only, and its public services (BNG) kept / left out."""
    from gapmap.filters import ServiceFilter

    analysis = analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        dataset.config,
        service_filter=ServiceFilter(tiers={"primary"}),
    )
    return analysis, *tier_split(dataset, "primary")


def test_filtered_view_draws_only_its_tier(demo):
    dataset, _ = demo
    analysis, kept, dropped = primary_only(dataset)
    assert len(kept) == 5 and len(dropped) == 48  # sanctuary schemes are confidential: never drawn
    assert_only_kept_markers(staticmap.snapshot_figure(dataset, analysis, today=TODAY), kept, dropped)


def test_markers_use_the_render_palette(demo):
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_hex

    from gapmap import webmap

    dataset, analysis = demo
    fig = staticmap.snapshot_figure(dataset, analysis, today=TODAY)
    scatters = [
        c for c in fig.axes[0].collections if isinstance(c, PathCollection) and len(c.get_facecolor())
    ]
    drawn = {to_hex(c.get_facecolor()[0]) for c in scatters}
    # The demo has services of every tier on the map; each tier is drawn in the one palette.
    assert drawn == {to_hex(c) for c in webmap.TIER_COLOURS.values()}
