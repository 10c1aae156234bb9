"""WGS84 lon/lat <-> British National Grid metres: one fixed operation for every module.

`settings.WGS84_TO_BNG_PIPELINE` (EPSG's "OSGB36 to WGS 84 (6)" Helmert) rather than EPSG:27700's
best available operation, so that distances, land shares, the demo county and easting/northing
inputs cannot change with which PROJ grids (OSTN15) a machine happens to have.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer
from pyproj.enums import TransformDirection

from gapmap.settings import WGS84_TO_BNG_PIPELINE

__all__ = ["to_bng", "to_wgs84", "transformer"]


@lru_cache(maxsize=1)
def transformer() -> Transformer:
    """WGS84 lon/lat to BNG metres; `direction=TransformDirection.INVERSE` runs it back.

    Built from the pipeline in a fraction of a millisecond (an operation search by EPSG codes
    costs ~20 ms per process); it holds no data, so one is kept.
    """
    return Transformer.from_pipeline(WGS84_TO_BNG_PIPELINE)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat arrays (EPSG:4326) to BNG easting/northing arrays (metres)."""
    if len(lon) == 0:
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = transformer().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BNG easting/northing arrays (metres) to lon/lat arrays (EPSG:4326): `to_bng` backwards."""
    if len(x) == 0:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lon, lat = transformer().transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float), direction=TransformDirection.INVERSE
    )
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
