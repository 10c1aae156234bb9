"""The partnership pack PDF: its pages, their text, vector output and size."""

from __future__ import annotations

import dataclasses
import io
import math
from datetime import date

import pytest
from pypdf import PdfReader

from gapmap import pack
from gapmap.engine import analyse
from gapmap.wording import citation_text
from gapmap.wording import number as fmt_number

TODAY = date(2026, 11, 22)


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def demo_pack(demo):
    dataset, analysis = demo
    data = pack.partnership_pack(dataset, analysis, title="Fenmarsh partnership pack", today=TODAY)
    reader = PdfReader(io.BytesIO(data))
    return data, reader, [page.extract_text() for page in reader.pages]


def test_pack_pages_in_order(demo, demo_pack):
    _, analysis = demo
    _, reader, texts = demo_pack
    area_benchmarks = [b for b in analysis.profile.benchmarks if b.scope == "area"]
    n_matrix = math.ceil(len(analysis.selection) / pack.MATRIX_ROWS_PER_PAGE)
    n_gaps = math.ceil(len(analysis.gaps) / pack.GAP_ROWS_PER_PAGE)
    n_method = sum("Method and sources" in t for t in texts[2:])  # not the contents list
    assert n_method >= 1
    n_pages = 2 + len(area_benchmarks) + 1 + n_matrix + n_gaps + n_method
    assert len(reader.pages) == n_pages  # cover, contents, maps, patchwork map, tables, method

    assert "Fenmarsh partnership pack" in texts[0]
    # Every page is numbered; the contents list gives each section's first page.
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {n_pages}" in text
    contents = squash(texts[1])
    first_matrix = 3 + len(area_benchmarks) + 1
    assert squash(f"Map: {area_benchmarks[0].label} page 3") in contents
    assert squash(f"Patchwork matrix (tier × cohort) page {first_matrix}") in contents
    assert squash(f"Gap table page {first_matrix + n_matrix}") in contents
    assert squash(f"Method and sources page {first_matrix + n_matrix + n_gaps}") in contents
    maps = texts[2 : 2 + len(area_benchmarks)]
    for bench, text in zip(area_benchmarks, maps, strict=True):
        assert squash(f"{bench.label}: provision against the benchmark") in squash(text)
        assert squash(f"Benchmark: {bench.describe()}") in squash(text)
    assert "The patchwork" in texts[2 + len(area_benchmarks)]
    rest = texts[3 + len(area_benchmarks) :]
    assert all("Patchwork matrix" in t for t in rest[:n_matrix])
    assert all("Gap table" in t for t in rest[n_matrix : n_matrix + n_gaps])
    assert all("Method and sources" in t for t in rest[n_matrix + n_gaps :])


def test_every_page_says_demo_and_carries_the_crown_copyright_line(demo_pack):
    _, _, texts = demo_pack
    for text in texts:
        assert "Fictional demo data" in text
        assert squash("Contains OS data © Crown copyright and database right 2026") in squash(text)


def test_cover_states_selection_date_inputs_profile_and_headline(demo, demo_pack):
    dataset, analysis = demo
    cover = squash(demo_pack[2][0])
    assert squash("Fenmarsh (fictional demo county): Fenmarsh City") in cover
    assert squash("22 November 2026") in cover
    assert squash(analysis.profile.label) in cover
    for name in dataset.areas["area_name"]:
        assert squash(name) in cover
    for value in dataset.sources.values():
        assert squash(value) in cover
    for bench in analysis.profile.benchmarks:
        assert squash(bench.label) in cover
    assert squash(f"Patchwork index: {fmt_number(analysis.summary['patchwork_index'])}") in cover
    # The cover names the population column and vintage behind the figures.
    for bench in analysis.profile.benchmarks:
        if bench.scope == "area":
            assert squash(analysis.summary["benchmarks"][bench.id]["denominator_source"]) in cover
    # The demo list: 60 services, 6 of them confidential (4 refuges, 2 sanctuary schemes) and 1 campaign
    # with no location.
    assert (
        squash("All services: 60 of 60 in the list; not on the maps: 6 confidential, 1 with no location")
        in cover
    )


def test_cover_and_method_pages_keep_every_line_inside_the_margins(demo):
    """Long unbroken text (file names with hashes) is wrapped by its measured width."""
    dataset, analysis = demo
    long_name = "a_very_long_boundary_file_name_" * 4 + ".geojson (0123456789ab)"
    ds = dataclasses.replace(dataset, sources={**dataset.sources, "boundaries": long_name})
    pages = pack._method_pages(ds, analysis, today=TODAY)
    for fig in [pack._cover(ds, analysis, title="Cover", today=TODAY), *pages]:
        renderer = fig.canvas.get_renderer()
        right_px = fig.bbox.width * pack._RIGHT
        for text in fig.texts:
            assert text.get_window_extent(renderer).x1 <= right_px + 1, text.get_text()
    last = squash(" ".join(t.get_text() for t in pages[-1].texts))
    assert squash(long_name) in last  # wrapped, not cut


def test_matrix_and_gap_table_hold_every_gap_and_row(demo, demo_pack):
    _, analysis = demo
    texts = demo_pack[2][2:]  # after the cover and the contents list (which names the sections)
    matrix = " ".join(t for t in texts if "Patchwork matrix" in t)
    # "GAP" also appears twice in each matrix page's explanation.
    n_pages = sum("Patchwork matrix" in t for t in texts)
    assert matrix.count("GAP") - 2 * n_pages == int(analysis.coverage["patchwork_gap"].sum())
    table = squash(" ".join(t for t in texts if "Gap table" in t))
    for name in analysis.gaps.loc[analysis.gaps["area_code"] != "ALL", "area_name"].unique():
        assert squash(name) in table
    n_whole = int((analysis.gaps["area_code"] == "ALL").sum())
    assert table.count("Wholeselection") - table.count("Wholeselectionrowssum") == n_whole


def test_method_page_cites_every_benchmark_source(demo, demo_pack):
    _, analysis = demo
    method = squash(" ".join(t for t in demo_pack[2] if "Method and sources" in t))
    for bench in analysis.profile.benchmarks:
        # Citations a commissioner can look up, with the scope note and, for area benchmarks,
        # the population column and vintage used; never a seed number.
        assert squash(citation_text(bench)) in method
        if bench.scope == "area":
            assert (
                squash(f"Population: {analysis.summary['benchmarks'][bench.id]['denominator_source']}")
                in method
            )
    assert "seed" not in method.lower()
    assert squash("Patchwork index = number of gaps") in method
    assert squash("Refuges and other confidential services are counted") in method


def test_pack_is_vector_and_small(demo_pack):
    data, reader, _ = demo_pack
    assert all(len(page.images) == 0 for page in reader.pages)
    assert len(data) < 5 * 1024 * 1024
    assert reader.metadata.title == "Fenmarsh partnership pack"


def test_real_data_pack_has_no_demo_words(demo):
    dataset, analysis = demo
    data = pack.partnership_pack(dataclasses.replace(dataset, is_demo=False), analysis, today=TODAY)
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Fictional" not in text
    assert pack.DEFAULT_TITLE in text


def test_selection_subset_only_lists_its_areas(demo):
    dataset, _ = demo
    selection = ["E07999001", "E07999002"]
    analysis = analyse(
        dataset.areas, dataset.population, dataset.services, dataset.config, selection=selection
    )
    reader = PdfReader(io.BytesIO(pack.partnership_pack(dataset, analysis, today=TODAY)))
    cover = reader.pages[0].extract_text()
    assert "Saltmere" in cover and "Haverby Wolds" in cover
    assert "Wykesand" not in cover
    assert "(2 areas)" in cover


@pytest.mark.shared_data
def test_real_county_pack_is_under_5_mb(shared_data, tmp_path):
    """Pan-Lancashire (14 districts) on the more detailed ONS BSC boundaries, all of England
    loaded as context: the pack a county partnership would circulate."""
    from gapmap.boundaries import load_boundaries
    from gapmap.dataset import load_dataset
    from gapmap.partnerships import load_partnerships

    boundaries = shared_data / "boundaries" / "england_ltla_2024_ons_bsc.geojson"
    population = shared_data / "population" / "la_denominators_lad24_england.csv"
    lancs = load_partnerships()["pan_lancashire"].area_codes
    areas = load_boundaries(boundaries)
    points = areas.to_crs(27700).representative_point().to_crs(4326)
    rows = []
    for i, (code, pt) in enumerate(zip(areas["area_code"], points, strict=True)):
        if code in lancs:
            rows.append(
                f"I{i},IDVA {code},idva,{pt.y:.5f},{pt.x:.5f},{code},3,fte,false\n"
                f"R{i},Refuge {code},refuge,,,{code},6,family_spaces,true\n"
            )
    services = tmp_path / "lancs_services.csv"
    services.write_text(
        "service_id,name,service_type,latitude,longitude,serves,capacity,capacity_unit,confidential\n"
        + "".join(rows),
        encoding="utf-8",
    )
    dataset = load_dataset(services=services, boundaries=boundaries, population=population)
    analysis = analyse(
        dataset.areas, dataset.population, dataset.services, dataset.config, selection=list(lancs)
    )
    data = pack.partnership_pack(dataset, analysis, title="Pan-Lancashire", today=TODAY)
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(data) < 5 * 1024 * 1024
    assert "Blackpool" in text and "Fictional" not in text
    assert "Pan-Lancashire:" in text  # the selection is recognised as the named partnership
    assert "(14 areas)" in text


def test_progress_reports_every_page_against_the_right_total(demo):
    dataset, analysis = demo
    calls: list[tuple[int, int]] = []
    data = pack.partnership_pack(dataset, analysis, today=TODAY, progress=lambda d, t: calls.append((d, t)))
    n_pages = len(PdfReader(io.BytesIO(data)).pages)
    assert calls == [(i, n_pages) for i in range(1, n_pages + 1)]
    assert pack.page_count(dataset, analysis) == n_pages


def test_many_areas_get_one_gap_row_per_area(demo, monkeypatch):
    """Above COMPACT_GAP_TABLE_ABOVE areas the pack lists each area once (share + status per
    benchmark); the demo's 9 areas stand in for a region by lowering the threshold."""
    dataset, analysis = demo
    monkeypatch.setattr(pack, "COMPACT_GAP_TABLE_ABOVE", 5)
    data = pack.partnership_pack(dataset, analysis, today=TODAY)
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    table = [t for t in texts[2:] if "Gap table" in t]  # not the contents list
    assert len(table) == 1  # 9 areas + the whole selection fit one page
    assert len(reader.pages) == pack.page_count(dataset, analysis)
    text = squash(table[0])
    assert squash("9 areas: each cell is the share") in text
    idva = analysis.gaps[
        (analysis.gaps["benchmark_id"] == "idva_fte") & (analysis.gaps["area_code"] == "E07999001")
    ]
    share = f"{float(idva['ratio'].iloc[0]) * 100:.0f}%"
    assert squash(f"Saltmere {share}") in text  # the area's first cell is its IDVA share
    assert text.count("Saltmere") == 1


def test_filtered_pack_maps_draw_only_its_tier(demo):
    from tests.test_staticmap import assert_only_kept_markers, primary_only

    dataset, _ = demo
    analysis, kept, dropped = primary_only(dataset)
    n_maps = sum(b.scope == "area" for b in analysis.profile.benchmarks)  # + the patchwork map
    pages = pack.pack_figures(dataset, analysis, today=TODAY)
    next(pages)  # the cover
    next(pages)  # the contents list
    for _ in range(n_maps):
        assert_only_kept_markers(next(pages), kept, dropped)


def test_no_page_text_runs_past_the_right_margin(demo):
    dataset, analysis = demo
    n_maps = sum(b.scope == "area" for b in analysis.profile.benchmarks) + 1
    for number, fig in enumerate(pack.pack_figures(dataset, analysis, today=TODAY)):
        is_map = 2 <= number <= n_maps + 1  # map pages use the snapshot's wider layout (to 0.97)
        right_px = fig.bbox.width * (0.97 if is_map else pack._RIGHT)
        renderer = fig.canvas.get_renderer()
        for text in fig.texts:
            assert text.get_window_extent(renderer).x1 <= right_px + 1, (number, text.get_text())
