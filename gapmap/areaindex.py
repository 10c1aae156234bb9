"""A cached spatial index of a set of areas, for testing which area a point lies in.

Shared by the service-list validator (a point outside every area gets a warning) and the
engine (a point counts in the area it lies in), so that validating a list and then scoring it
against the same areas builds the index once. Kept apart from `gapmap.engine` so that
checking a file (`gapmap validate`) does not import the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import shapely

#: Area sets kept per kind of entry (the districts and the small areas of a session, with room
#: to spare).
_CACHE_SIZE = 4
_CACHE: OrderedDict[tuple[str, tuple[int, ...]], Any] = OrderedDict()
_LOCK = threading.Lock()  # Streamlit serves sessions from threads

T = TypeVar("T")


def cached_for(geoms: np.ndarray, kind: str, build: Callable[[np.ndarray], T]) -> T:
    """`build(geoms)` for exactly these geometry objects (the same objects, in order), built
    once and kept: the last `_CACHE_SIZE` area sets of each `kind`.

    Shapely geometries are immutable, and `build` gets (and an entry holds) its own copy of the
    array it was keyed on, so no key's object ids can be reused while the entry exists.
    """
    key = (kind, tuple(map(id, geoms)))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return cast(T, _CACHE[key])
        entry = _CACHE[key] = build(np.asarray(geoms, dtype=object).copy())
        same_kind = [k for k in _CACHE if k[0] == kind]
        for old in same_kind[: max(0, len(same_kind) - _CACHE_SIZE)]:
            del _CACHE[old]
        return entry


def _prepared_tree(geoms: np.ndarray) -> shapely.STRtree:
    shapely.prepare(geoms)  # in place: the same immutable objects, faster tests
    return shapely.STRtree(geoms)


def area_tree(geoms: np.ndarray) -> shapely.STRtree:
    """An STRtree of exactly these geometry objects, whose polygons are prepared (indexed) for
    point tests; built once and kept (`cached_for`)."""
    return cached_for(geoms, "tree", _prepared_tree)


def points_in_any_area(
    lon: np.ndarray, lat: np.ndarray, geoms: np.ndarray, points: np.ndarray | None = None
) -> np.ndarray:
    """Whether each point (lon, lat, in the areas' coordinates) lies inside or on the border
    of any of `geoms`. `points` are the same points as shapely geometries, when the caller has
    them already.

    Candidates by bounding box from the areas' tree, then one vectorised test of each
    candidate's coordinates against its prepared polygon (as the engine places points).
    """
    inside = np.zeros(len(lon), dtype=bool)
    if not len(lon) or not len(geoms):
        return inside
    geoms = np.asarray(geoms, dtype=object)
    hit_pt, hit_area = area_tree(geoms).query(shapely.points(lon, lat) if points is None else points)
    hit = shapely.intersects_xy(geoms[hit_area], lon[hit_pt], lat[hit_pt])
    inside[hit_pt[hit]] = True
    return inside
