"""Confidential locations (refuges) never leave the aggregate.

Every path that shows or writes services (maps, tooltips, tables, exports, logs)
goes through `redact_confidential` or `public_services` first.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from gapmap.schema import LOCATION_COLUMNS


def redact_confidential(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in which confidential services keep their row but lose every location field."""
    out = services.copy()
    if "confidential" not in out.columns or not out["confidential"].any():
        return out
    mask = out["confidential"].astype(bool).to_numpy()
    for col in LOCATION_COLUMNS:
        if col not in out.columns:
            continue
        if col == "geometry":
            out.loc[mask, "geometry"] = None
        elif col in ("latitude", "longitude", "catchment_km"):
            out.loc[mask, col] = np.nan
        else:
            out.loc[mask, col] = ""
    return out


def public_services(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Only the services that may appear as points: not confidential and with a location."""
    keep = ~services["confidential"].astype(bool) & services.geometry.notna() & ~services.geometry.is_empty
    return services.loc[keep].copy()
