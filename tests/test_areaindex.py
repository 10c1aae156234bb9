"""The areas' point index shared by the service-list validator and the engine."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from gapmap import engine
from gapmap.areaindex import area_tree, points_in_any_area


def _areas() -> np.ndarray:
    # Two unit squares one apart, the second with a hole (2.4..2.6, 0.4..0.6).
    holed = Polygon(box(2, 0, 3, 1).exterior.coords, [box(2.4, 0.4, 2.6, 0.6).exterior.coords])
    return np.array([box(0, 0, 1, 1), holed], dtype=object)


def test_points_inside_on_a_border_or_outside_every_area():
    lon = np.array([0.5, 1.0, 1.5, 2.2, 2.5, 3.0, -0.1, 0.0])
    lat = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.0])
    inside = points_in_any_area(lon, lat, _areas())
    # inside; on an edge; between the squares; inside; in the hole; a corner; left of all; a corner
    assert inside.tolist() == [True, True, False, True, False, True, False, True]
    points = shapely.points(lon, lat)
    assert points_in_any_area(lon, lat, _areas(), points).tolist() == inside.tolist()


def test_no_points_or_no_areas():
    assert points_in_any_area(np.zeros(0), np.zeros(0), _areas()).tolist() == []
    assert points_in_any_area(np.array([0.5]), np.array([0.5]), np.zeros(0, dtype=object)).tolist() == [False]


def test_the_tree_is_kept_per_set_of_geometry_objects_and_shared_with_the_engine():
    geoms = _areas()
    tree = area_tree(geoms)
    assert area_tree(geoms.copy()) is tree  # the same objects: the same tree
    assert area_tree(_areas()) is not tree  # equal shapes, other objects: built again
    assert shapely.is_prepared(geoms).all()
    assert engine._area_geometry(geoms).tree() is tree
