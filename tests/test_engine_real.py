"""Real data: pan-Lancashire with the seed 001 figures (15 FTE of IDVAs, 10 MARACs).

Seed 001 (Lancashire JSNA, 2013) measured "over 15 full-time equivalent IDVA posts" against
4 per 100,000 adult females and "10 MARACs" against 1 per 100,000 adult females. The ALL
ratios must equal the hand calculation straight from the population file.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_engine import make_services, service

from gapmap.config import default_config
from gapmap.engine import analyse

pytestmark = pytest.mark.shared_data

LANCASHIRE_DISTRICTS = [f"E07000{n}" for n in range(117, 129)]  # the twelve districts
PAN_LANCASHIRE = [*LANCASHIRE_DISTRICTS, "E06000008", "E06000009"]  # + Blackburn w/ Darwen, Blackpool


@pytest.fixture
def lancashire(shared_data):
    from gapmap.boundaries import load_boundaries
    from gapmap.population import load_population

    shared = shared_data
    config = default_config()
    areas = load_boundaries(shared / "boundaries" / "england_lad_2024_buc.geojson")
    population = load_population(shared / "population" / "la_denominators_lad24_england.csv", config=config)
    raw = pd.read_csv(shared / "population" / "la_denominators_lad24_england.csv", dtype={"lad24cd": str})
    return config, areas, population, raw


def seed_001_services():
    rows = [service("idva_county", "idva", serves=tuple(PAN_LANCASHIRE), capacity=15.0)]
    # Ten MARACs, each serving one or two of the fourteen areas (every area covered).
    groups = [PAN_LANCASHIRE[i::10] for i in range(10)]
    rows += [service(f"marac_{i}", "marac", serves=tuple(g)) for i, g in enumerate(groups)]
    return make_services(rows)


def test_pan_lancashire_all_ratios_equal_the_hand_calculation(lancashire):
    config, areas, population, raw = lancashire
    assert set(PAN_LANCASHIRE) <= set(areas.area_code)
    analysis = analyse(
        areas, population, seed_001_services(), config, profile="seed_2013_2023", selection=PAN_LANCASHIRE
    )

    adult_females = raw.loc[raw.lad24cd.isin(PAN_LANCASHIRE), "census21_females_16plus_est"].sum()
    assert len(raw.loc[raw.lad24cd.isin(PAN_LANCASHIRE)]) == 14
    gaps = analysis.gaps.set_index(["area_code", "benchmark_id"])

    idva = gaps.loc[("ALL", "idva_fte")]
    assert idva.denominator == pytest.approx(adult_females)
    assert idva.required == pytest.approx(adult_females * 4 / 100_000)
    assert idva.provided == pytest.approx(15.0)
    assert idva.ratio == pytest.approx(15 / (adult_females * 4 / 100_000))

    marac = gaps.loc[("ALL", "marac")]
    assert marac.provided == pytest.approx(10.0)
    assert marac.ratio == pytest.approx(10 / (adult_females * 1 / 100_000))

    # A county-wide service gives every district it serves the same ratio.
    per_area = analysis.gaps[(analysis.gaps.benchmark_id == "idva_fte") & (analysis.gaps.area_code != "ALL")]
    assert len(per_area) == 14
    assert per_area.ratio.to_numpy() == pytest.approx([idva.ratio] * 14)
    assert analysis.summary["unassigned_services"] == 0
