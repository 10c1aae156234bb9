"""The services a view counts (`gapmap.view.counted_services`), and every output that lists them.

Fixture (tests/fixtures/services): two areas, Alpha Vale (E07000001) and Beta Town (E07000002).
A-IDVA is located in Alpha; B-MARAC in Beta; REF-1 (a refuge, confidential) serves Beta Town by
name; HL-1 (a helpline) serves every area (`*`). So a view of Alpha alone counts A-IDVA and
HL-1; of Beta alone B-MARAC, REF-1 and HL-1; of both, all four.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from gapmap.dataset import validate_dataset
from gapmap.engine import analyse
from gapmap.filters import ServiceFilter
from gapmap.view import counted_line, counted_services

F = Path(__file__).resolve().parent / "fixtures" / "services"
ALPHA, BETA = "E07000001", "E07000002"


@pytest.fixture(scope="module")
def dataset():
    ds, report = validate_dataset(
        services=F / "services.csv",
        boundaries=F / "two_areas.geojson",
        population=F / "population.csv",
        postcodes=F / "postcodes.csv",
        for_analysis=True,
    )
    assert ds is not None, report.to_text()
    return ds


def run(ds, selection=None, **flt):
    return analyse(
        ds.areas,
        ds.population,
        ds.services,
        ds.config,
        selection=selection,
        service_filter=ServiceFilter(**flt),
    )


def ids(frame) -> list[str]:
    return frame["service_id"].astype(str).tolist()


def test_only_services_serving_the_selection_are_counted(dataset):
    assert ids(counted_services(dataset.services, run(dataset, (ALPHA,)))) == ["A-IDVA", "HL-1"]
    assert ids(counted_services(dataset.services, run(dataset, (BETA,)))) == ["B-MARAC", "REF-1", "HL-1"]
    assert ids(counted_services(dataset.services, run(dataset))) == ["A-IDVA", "B-MARAC", "REF-1", "HL-1"]


def test_the_filter_and_the_selection_both_apply(dataset):
    analysis = run(dataset, (ALPHA,), service_types=["idva", "marac"])
    assert ids(counted_services(dataset.services, analysis)) == ["A-IDVA"]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [((ALPHA,), ["A-IDVA", "HL-1"]), ((BETA,), ["B-MARAC", "REF-1", "HL-1"])],
)
def test_the_engine_arrays_and_the_built_frame_count_the_same(dataset, selection, expected):
    """counted_services asks the engine's arrays while `assignments` is unread, and reads the
    frame (categorical codes) once something has built it: the same services either way."""
    analysis = run(dataset, selection)
    assert "serving_ids" in dir(analysis.__dict__["_assignments"])  # still the arrays
    from_arrays = ids(counted_services(dataset.services, analysis))
    assert isinstance(analysis.assignments, pd.DataFrame)  # reading it builds the frame
    from_frame = ids(counted_services(dataset.services, analysis))
    assert from_arrays == from_frame == expected


def test_a_hand_made_assignments_frame_of_plain_text_is_read_too(dataset):
    """A stand-in analysis with an object-dtype frame (no engine arrays), codes given as numbers."""
    from types import SimpleNamespace

    frame = pd.DataFrame({"service_id": ["B-MARAC", "A-IDVA", "HL-1"], "area_code": [2, 1, 1]})
    stand_in = SimpleNamespace(service_filter=None, selection=("1",), assignments=frame)
    assert ids(counted_services(dataset.services, stand_in)) == ["A-IDVA", "HL-1"]


def test_selection_name_counts_areas_with_a_thousands_separator():
    from types import SimpleNamespace

    from gapmap.view import selection_name

    many = SimpleNamespace(selection=tuple(f"E{i:08d}" for i in range(33_755)), summary={})
    assert selection_name(many) == "33,755 areas"
    two = SimpleNamespace(selection=("E1", "E2"), summary={})
    assert selection_name(two) == "2 areas"


def test_counted_line_says_how_many_of_the_list():
    import pandas as pd

    four, two = pd.DataFrame({"x": range(4)}), pd.DataFrame({"x": range(2)})
    assert (
        counted_line(four, two) == "2 of the 4 services in the list serve the selection and pass the filters."
    )
    assert counted_line(four, four) == "All 4 services in the list serve the selection and pass the filters."


def test_nearest_services_are_those_serving_the_selection(dataset):
    """Alpha alone: its nearest MARAC is not Beta's MARAC 68 km away, which does not serve it."""
    access = run(dataset, (ALPHA,)).access
    assert access["service_type"].tolist() == ["idva"]
    both = run(dataset).access
    marac = both[(both["area_code"] == ALPHA) & (both["service_type"] == "marac")]
    assert marac["nearest_km"].round(0).tolist() == [68.0]  # when Beta is selected too, it serves


def test_workbook_services_sheet_and_summary_list_only_the_selection(dataset):
    from gapmap.workbook import gaps_xlsx_bytes

    wb = load_workbook(io.BytesIO(gaps_xlsx_bytes(dataset, run(dataset, (ALPHA,)))))
    names = [row[0] for row in wb["Services"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert names == ["A-IDVA", "HL-1"]
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Services counted"] == 2


def test_pack_counts_only_the_selection(dataset):
    from gapmap.pack import _services_counted

    text = _services_counted(dataset, run(dataset, (ALPHA,)))
    assert "2 of 4 in the list" in text


def test_web_and_static_maps_default_to_the_same_benchmark(dataset):
    """A profile whose first benchmark is scored for the whole selection: both maps open on the
    first one scored per area (the web map used to take the first of all)."""
    import dataclasses
    import re

    from gapmap import staticmap, webmap
    from gapmap.view import default_benchmark

    analysis = run(dataset)
    profile = analysis.profile
    whole = [b for b in profile.benchmarks if b.scope != "area"]
    per_area = [b for b in profile.benchmarks if b.scope == "area"]
    assert whole and per_area
    reordered = dataclasses.replace(profile, benchmarks=(whole[0], *per_area, *whole[1:]))
    analysis = dataclasses.replace(analysis, profile=reordered)
    assert default_benchmark(reordered).id == per_area[0].id
    assert staticmap.pick_benchmark(analysis, None).id == per_area[0].id
    html = webmap.build_map(dataset.areas, analysis, dataset.services, dataset.config).get_root().render()
    legend = re.search(r"div\.innerHTML = (\".*?\");", html).group(1)
    assert per_area[0].label in legend and whole[0].label not in legend


def test_a_demand_table_finer_than_the_scored_level_says_why_it_adds_nothing(tmp_path):
    """District rows when police force areas are scored are not used (never added up silently):
    the map's benchmark choice is told why, instead of inviting a table that is loaded."""
    from gapmap import view
    from gapmap.dataset import load_dataset
    from gapmap.demand import load_demand
    from gapmap.engine import analyse
    from gapmap.geography import lookup_for
    from gapmap.levels import at_level

    services = tmp_path / "services.csv"
    services.write_text(
        "service_id,name,service_type,latitude,longitude,capacity\nS1,Idva,idva,52.64,-1.13,2\n"
    )
    ds = load_dataset(services=services)
    leicestershire = ["E06000016", "E06000017", "E07000129", "E07000130", "E07000131"]
    districts = analyse(ds.areas, ds.population, ds.services, ds.config, selection=leicestershire)
    level_ds, forces = at_level(ds, districts, "pfa", lookup_for(ds.areas, ds.geography))
    table = load_demand(
        None,
        ds.config,
        content=b"area_code,period,marac_cases\nE07000129,2024-25,40\nE07000130,2024-25,55\n",
        name="districts.csv",
    )
    mapped = view.demand_for_map(forces, level_ds.services, level_ds.population, ds.config, table)
    assert view.demand_choices(mapped) == {}
    note = view.demand_unmapped_note(mapped)
    assert "districts.csv: 2 row(s) are for a finer level (district or unitary authority)" in note
    assert "score at that level" in note
    # With no table, or one the map can use, there is nothing to explain.
    assert view.demand_unmapped_note(forces) == ""
    usable = view.demand_for_map(districts, ds.services, ds.population, ds.config, table)
    assert view.demand_choices(usable) and view.demand_unmapped_note(usable) == ""
