"""The engine's fast paths: what it keeps between calls, and the strip search for the nearest
service, each checked against the plain computation it replaces.

The refactor of issues 11 and 13 was checked output for output against a frozen copy of the
previous engine on random mixes (`tests/test_engine_equivalence.py`, last in commit 4110b1a); that copy
is not kept, so the engine has one definition. Hand-computed expectations are in test_engine.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_engine import (
    EXPECTED_KM,
    KM,
    A,
    B,
    C,
    D,
    fixture_services,
    make_areas,
    make_population,
    make_services,
    service,
    small_area_population,
)

from gapmap import engine
from gapmap.config import default_config

CONFIG = default_config()


def test_kept_geometry_follows_the_shapes_not_the_codes():
    """What the engine keeps between calls is keyed by the geometry objects: the same codes
    on other shapes are scored on those shapes."""
    services = make_services([service("P", "idva", bng=(405 * KM, 305 * KM), capacity=1.0)])
    areas = make_areas()
    first = engine.analyse(areas, make_population(), services, CONFIG)
    assert first.assignments.set_index("service_id").loc["P", "area_code"] == A
    swapped = areas.copy()
    # The very same shapely objects, A's and B's traded: the same ids in another order.
    swapped.geometry = areas.geometry.iloc[[1, 0, 2, 3]].to_numpy()
    assert swapped.geometry.iloc[0] is areas.geometry.iloc[1]
    again = engine.analyse(swapped, make_population(), services, CONFIG)
    assert again.assignments.set_index("service_id").loc["P", "area_code"] == B


@pytest.mark.parametrize("seed", range(6))
def test_nearest_in_strips_gives_the_brute_force_distances_exactly(monkeypatch, seed):
    # The strip search is used above `_STRIP_SERVICES_PER_ORIGIN`; forced on here, on clustered and
    # spread points (duplicates and an origin on a service included), it must give the very
    # float values of the brute force, not merely close ones.
    rng = np.random.default_rng(seed)
    n_o, n_s, n_g = 40, int(rng.integers(1, 3000)), int(rng.integers(1, 5))
    ox = rng.uniform(0, 600_000, n_o)
    oy = rng.uniform(0, 600_000, n_o)
    spread = rng.choice([500.0, 50_000.0])
    px = np.concatenate((rng.uniform(0, 600_000, n_s), ox[:3] + rng.normal(0, spread, 3)))
    py = np.concatenate((rng.uniform(0, 600_000, n_s), oy[:3] + rng.normal(0, spread, 3)))
    px[:5], py[:5] = px[5], py[5]  # duplicates
    px[-1], py[-1] = ox[0], oy[0]  # a service at an origin
    group = np.sort(rng.integers(0, n_g, len(px)))
    group[:n_g] = np.arange(n_g)  # every group has a point (as the engine's groups do)
    group = rng.permutation(group)
    ox[1] = np.nan  # an area without a point (an empty geometry): NaN both ways
    brute = engine._nearest_by_group(ox, oy, px, py, group, n_g)
    monkeypatch.setattr(engine, "_STRIP_SERVICES_PER_ORIGIN", 0)
    monkeypatch.setattr(engine, "_STRIP_SAMPLE", int(rng.integers(1, 64)))
    strips = engine._nearest_by_group(ox, oy, px, py, group, n_g)
    assert np.isnan(brute[:, 1]).all()
    assert np.array_equal(strips, brute, equal_nan=True)


def test_a_point_inside_each_area_is_found_only_for_areas_without_small_areas(monkeypatch):
    """Access origins: the population-weighted centre wherever small areas give one; a point
    inside the area (`point_on_surface`) is looked for only when some area has none."""

    def refuse(*args, **kwargs):
        raise AssertionError("looked for a point inside the areas")

    monkeypatch.setattr(engine.shapely, "point_on_surface", refuse)
    every = engine.analyse(
        make_areas(),
        make_population(),
        fixture_services(),
        CONFIG,
        small_area_population=small_area_population(),
    )
    acc = every.access
    # The idva distances from the squares' centres, by hand (test_engine.EXPECTED_KM).
    for area, km in EXPECTED_KM["idva"].items():
        row = acc[(acc.service_type == "idva") & (acc.area_code == area)]
        assert row.nearest_km.iloc[0] == pytest.approx(km, abs=1e-4)
    assert every.summary["access_origin"] == "population-weighted centre of small areas"

    # C and D without small areas: a point inside each is needed, and only they use it.
    monkeypatch.undo()
    sap = small_area_population()
    some = engine.analyse(
        make_areas(),
        make_population(),
        fixture_services(),
        CONFIG,
        small_area_population=sap[~sap.area_code.isin([C, D])],
    )
    acc = some.access
    assert some.summary["access_origin"].startswith("population-weighted centre where small-area")
    for area in (A, B):
        row = acc[(acc.service_type == "idva") & (acc.area_code == area)]
        assert row.nearest_km.iloc[0] == pytest.approx(EXPECTED_KM["idva"][area], abs=1e-4)
    # C holds an idva (EXPECTED_KM: 0 km from its centre); from any point inside C it is
    # within the square's diagonal, 10 x sqrt(2) km.
    c = acc[(acc.service_type == "idva") & (acc.area_code == C)]
    assert 0.0 <= c.nearest_km.iloc[0] <= 10 * 2**0.5
