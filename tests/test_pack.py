"""The partnership pack PDF: its pages, their text, vector output and size."""

from __future__ import annotations

import dataclasses
import io
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


def _first_page(texts: list[str], heading: str) -> int:
    """The 1-based number of the first page after the contents list that contains `heading`."""
    return next(n for n, t in enumerate(texts[2:], start=3) if heading in t)


def test_pack_pages_in_order(demo, demo_pack):
    _, analysis = demo
    _, reader, texts = demo_pack
    n_pages = len(reader.pages)
    area_benchmarks = [b for b in analysis.profile.benchmarks if b.scope == "area"]
    assert "Fenmarsh partnership pack" in texts[0]
    # Every page is numbered; the contents list gives each section's first page.
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {n_pages}" in text
    contents = squash(texts[1])
    maps = texts[2 : 2 + len(area_benchmarks)]
    for n, (bench, text) in enumerate(zip(area_benchmarks, maps, strict=True), start=3):
        assert squash(f"Map: {bench.label} page {n}") in contents  # one map a page
        assert squash(f"{bench.label}: provision against the benchmark") in squash(text)
        assert squash(f"Benchmark: {bench.describe()}") in squash(text)
    assert "The patchwork" in texts[2 + len(area_benchmarks)]
    first_matrix = 3 + len(area_benchmarks) + 1
    first_gaps = _first_page(texts, "Gap table")
    first_method = _first_page(texts, "Method and sources")
    assert _first_page(texts, "Patchwork matrix") == first_matrix
    assert first_matrix < first_gaps < first_method
    assert squash(f"Patchwork matrix (tier × cohort) page {first_matrix}") in contents
    assert squash(f"Gap table page {first_gaps}") in contents
    assert squash(f"Method and sources page {first_method}") in contents
    # A section running over several pages says so at the top of each page after its first.
    assert all("Patchwork matrix" in t for t in texts[first_matrix - 1 : first_gaps - 1])
    assert all("Gap table" in t for t in texts[first_gaps - 1 : first_method - 1])
    assert all("Method and sources" in t for t in texts[first_method - 1 :])


def test_long_tables_split_across_pages_with_their_header_repeated(demo, demo_pack):
    """The demo's gap table (9 areas x 10 benchmarks + the whole selection) runs over several
    landscape pages; each repeats the header row and every row appears once."""
    _, analysis = demo
    texts = demo_pack[2]
    pages = [t for t in texts[2:] if "Gap table" in t]
    assert len(pages) >= 2
    assert "Gap table (continued)" in pages[1]
    for text in pages:
        assert squash("Area Benchmark Denominator Required Provided Share Shortfall Status") in squash(text)
    joined = squash(" ".join(pages))
    for bench in analysis.profile.benchmarks:
        # Each benchmark's rows: one per area and the whole selection's.
        n_rows = int((analysis.gaps["benchmark_id"] == bench.id).sum())
        assert joined.count(squash(bench.label)) >= n_rows


def test_footer_names_the_selection_on_every_page(demo_pack):
    for text in demo_pack[2]:
        assert "Fenmarsh (fictional demo county)" in text


def test_user_text_is_printed_literally_not_read_as_markup(demo):
    """Paragraphs parse XML-like tags: an area or file name holding them must come out as typed
    (and neither break the build nor change the type size)."""
    dataset, _ = demo
    hostile = "<font size=80>X</font> & <b>"
    areas = dataset.areas.copy()
    areas.loc[areas["area_code"] == "E07999001", "area_name"] = hostile
    ds = dataclasses.replace(dataset, areas=areas, sources={**dataset.sources, "services": f"{hostile}.csv"})
    analysis = analyse(ds.areas, ds.population, ds.services, ds.config)
    text = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pack.partnership_pack(ds, analysis))).pages
    )
    assert text.count(hostile) >= 3  # the cover's selection, the matrix, the gap table
    assert f"{hostile}.csv" in text  # the cover's inputs and the method page


def test_text_is_set_in_embedded_dejavu_so_every_symbol_renders(demo_pack):
    """≥ − × £ need a Unicode font: every font of every page is embedded DejaVu Sans (TrueType
    in the text, Type 3 in the maps), never one of the 14 standard PDF fonts a reader substitutes."""
    _, reader, texts = demo_pack
    for page in reader.pages:
        fonts = []
        for ref in page["/Resources"].get_object().get("/Font", {}).values():
            fonts.append(ref.get_object())
        for xobject in page["/Resources"].get_object().get("/XObject", {}).values():
            inner = xobject.get_object().get("/Resources", {})
            fonts += [f.get_object() for f in inner.get_object().get("/Font", {}).values()]
        assert fonts
        for font in fonts:
            base = str(font["/BaseFont"])
            assert "DejaVu" in base or "GapmapSans" in base, base
            if font["/Subtype"] == "/Type3":  # the maps': every glyph drawn from the file itself
                assert "/CharProcs" in font, base
                continue
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
            assert descriptor is not None and "/FontFile2" in descriptor.get_object(), base
    assert "Patchwork matrix (tier × cohort)" in texts[1]


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


def _ink_right_edge(pdf: bytes, page: int, tmp_path) -> float:
    """The rightmost non-white pixel of `page` (1-based), as a fraction of the page's width."""
    import shutil
    import subprocess

    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot rasterise the pack")
    (tmp_path / "pack.pdf").write_bytes(pdf)
    stem = tmp_path / f"page{page}"
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-png", "-f", str(page), "-l", str(page), "-singlefile",
         str(tmp_path / "pack.pdf"), str(stem)],
        check=True,
    )  # fmt: skip
    image = Image.open(f"{stem}.png").point(lambda v: 255 if v > 230 else 0)
    bbox = Image.eval(image, lambda v: 255 - v).getbbox()
    return (bbox[2] if bbox else 0) / image.width


def test_cover_and_method_pages_keep_every_line_inside_the_margins(demo, tmp_path):
    """Long unbroken text (file names with hashes) wraps inside the margins, whole, not cut."""
    from gapmap.pack_layout import MARGIN

    dataset, analysis = demo
    long_name = "a_very_long_boundary_file_name_" * 4 + ".geojson (0123456789ab)"
    ds = dataclasses.replace(dataset, sources={**dataset.sources, "boundaries": long_name})
    data = pack.partnership_pack(ds, analysis, today=TODAY)
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    method = [n for n, t in enumerate(texts, start=1) if "Method and sources" in t][1:]
    for number in [1, *method]:
        width = float(reader.pages[number - 1].mediabox.width)
        assert _ink_right_edge(data, number, tmp_path) <= (width - MARGIN + 2) / width, number
    assert squash(long_name) in squash(texts[0])  # wrapped, not cut
    assert squash(long_name) in squash(" ".join(texts[method[0] - 1 :]))


def test_matrix_and_gap_table_hold_every_gap_and_row(demo, demo_pack):
    _, analysis = demo
    texts = demo_pack[2][2:]  # after the cover and the contents list (which names the sections)
    matrix = " ".join(t for t in texts if "Patchwork matrix" in t)
    # "GAP" also appears twice in the matrix's explanation (said once, above the table).
    assert matrix.count("GAP") - 2 == int(analysis.coverage["patchwork_gap"].sum())
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
    assert squash(pack.DEFAULT_TITLE) in squash(text)  # the title may wrap


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


def test_progress_reports_each_step_against_one_total(demo):
    dataset, analysis = demo
    calls: list[tuple[int, int]] = []
    pack.partnership_pack(dataset, analysis, today=TODAY, progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert calls == [(i, total) for i in range(1, total + 1)]


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
    text = squash(table[0])
    assert squash("9 areas: each cell is the share") in text
    idva = analysis.gaps[
        (analysis.gaps["benchmark_id"] == "idva_fte") & (analysis.gaps["area_code"] == "E07999001")
    ]
    share = f"{float(idva['ratio'].iloc[0]) * 100:.0f}%"
    assert squash(f"Saltmere {share}") in text  # the area's first cell is its IDVA share
    assert text.count("Saltmere") == 1


def test_filtered_pack_maps_draw_only_its_tier(demo):
    """The markers of every map page are drawn once, in the overlay laid over each page."""
    from tests.test_staticmap import assert_only_kept_markers, primary_only

    dataset, _ = demo
    analysis, kept, dropped = primary_only(dataset)
    n_maps = sum(b.scope == "area" for b in analysis.profile.benchmarks)  # + the patchwork map
    _, maps = pack.pack_story(dataset, analysis, title="Pack", today=TODAY)
    overlay, *pages = maps.figures
    assert len(pages) == n_maps + 1
    assert_only_kept_markers(overlay, kept, dropped)


def test_thousands_of_areas_are_counted_by_status_not_listed(demo, monkeypatch):
    """Small areas (LSOAs) would make hundreds of pages: above LIST_AREAS_UP_TO the matrix and
    gap table count areas instead; the demo's 9 areas stand in by lowering the threshold."""
    dataset, analysis = demo
    monkeypatch.setattr(pack, "LIST_AREAS_UP_TO", 5)
    reader = PdfReader(io.BytesIO(pack.partnership_pack(dataset, analysis, today=TODAY)))
    texts = [p.extract_text() for p in reader.pages]
    body = squash(" ".join(texts[2:]))
    # Every demo area falls short of the refuge standard (31 places against 100 required):
    # 9 not met, 0 partly met, 0 met, 0 without data; the whole selection not met.
    assert squash("Refuge family places 9 0 0 0 Not met") in body
    assert squash("9 areas: too many to list one by one here") in body
    # The patchwork: primary prevention x children and young people is a GAP in 6 areas
    # (the demo's story: school programmes in 3 of 9 areas).
    cyp = analysis.coverage[(analysis.coverage["tier"] == "primary") & (analysis.coverage["cohort"] == "cyp")]
    assert int(cyp["patchwork_gap"].sum()) == 6
    assert squash("Primary prevention Children and young people 3 6") in body
    tables = [t for t in texts[2:] if "areas by status" in t or "areas per tier" in t]
    assert len(tables) == 2 and not any("Saltmere" in t for t in tables)  # no area listed by name
