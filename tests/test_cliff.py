"""The funding cliff on the demo county, by hand from data/services/demo_county_services.csv.

Funding ending before 1 February 2027: FEN-019 (Wykesand Rural Outreach, 0.6 FTE outreach,
serves Wykesand, ends 31 January 2027) and FEN-053 (South Fenmarsh Refuge, 6 family places,
serves Orrington Fen, Brackenholm and Millbeck Levels, ends 31 January 2027). Everything else
ends later or has no end date. The demo has 31 refuge family places, so 25 remain: 25% of the
100 required (999,720 all persons / 10,000), Not met before and after.
"""

from __future__ import annotations

from datetime import date

import pytest

from gapmap.cliff import funding_cliff
from gapmap.engine import analyse
from gapmap.filters import ServiceFilter


@pytest.fixture(scope="module")
def cliff(demo):
    dataset, before = demo
    after = analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        dataset.config,
        service_filter=ServiceFilter(on=date(2027, 2, 1)),
    )
    return funding_cliff(dataset.services, before, after, dataset.config)


def test_the_services_that_drop_off_with_their_areas_and_benchmarks(cliff):
    rows = cliff.services.set_index("Service")
    assert list(rows.index) == ["South Fenmarsh Refuge (fictional)", "Wykesand Rural Outreach (fictional)"]
    refuge = rows.loc["South Fenmarsh Refuge (fictional)"]
    assert refuge["Funding ends"] == "31 January 2027"
    assert sorted(refuge["Areas affected"].split(", ")) == ["Brackenholm", "Millbeck Levels", "Orrington Fen"]
    assert "Refuge family places" in refuge["Benchmarks affected"]
    outreach = rows.loc["Wykesand Rural Outreach (fictional)"]
    assert outreach["Areas affected"] == "Wykesand"
    assert cliff.headline == "Funding ends before 1 February 2027 for 2 services."


def test_before_and_after_figures(cliff):
    refuge = cliff.figures.set_index("Benchmark").loc["Refuge family places"]
    assert (refuge["Provided before"], refuge["Provided after"]) == ("31", "25")
    assert (refuge["% before"], refuge["% after"]) == ("31%", "25%")
    assert refuge["Status before"] == refuge["Status after"] == "Not met"
    assert refuge["Areas below before"] == refuge["Areas below after"] == "9 of 9"


def test_the_pack_has_a_funding_cliff_section(demo):
    import io

    from pypdf import PdfReader

    from gapmap import pack

    dataset, _ = demo
    after = analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        dataset.config,
        service_filter=ServiceFilter(on=date(2027, 2, 1)),
    )
    reader = PdfReader(io.BytesIO(pack.partnership_pack(dataset, after, today=date(2026, 11, 22))))
    texts = [p.extract_text() for p in reader.pages]
    assert "Funding cliff" in texts[1]  # in the contents list
    cliff = " ".join(t for t in texts[2:] if "Funding cliff" in t)
    assert "South Fenmarsh Refuge (fictional)" in cliff and "31 January 2027" in cliff
    assert "Funding ends before 1 February 2027 for 2 services." in cliff
