"""A cached spatial index of a set of areas, for testing which area a point lies in.

Shared by the service-list validator (a point outside every area gets a warning) and the
engine (a point counts in the area it lies in), so that validating a list and then scoring it
against the same areas builds the index once. Kept apart from `gapmap.engine` so that
checking a file (`gapmap validate`) does not import the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import shapely

#: Area sets kept (the districts and the small areas of a session, with room to spare).
_CACHE_SIZE = 4
_CACHE: OrderedDict[tuple[int, ...], tuple[np.ndarray, shapely.STRtree]] = OrderedDict()
_LOCK = threading.Lock()  # Streamlit serves sessions from threads


def area_tree(geoms: np.ndarray) -> shapely.STRtree:
    """An STRtree of exactly these geometry objects (the same objects, in order), whose
    polygons are prepared (indexed) for point tests; built once and kept.

    Shapely geometries are immutable, and an entry holds its own copy of the array it was
    keyed on, so no key's object ids can be reused while the entry exists.
    """
    key = tuple(map(id, geoms))
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is None:
            kept = np.asarray(geoms, dtype=object).copy()
            shapely.prepare(kept)  # in place: the same immutable objects, faster tests
            entry = _CACHE[key] = (kept, shapely.STRtree(kept))
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        return entry[1]


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
