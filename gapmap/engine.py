"""The gap engine: from areas + population + services to the figures a partnership argues about.

Everything here is a pure function of normalised frames (see `gapmap.schema`); loaders
validate at the edge and the engine trusts its input. The hot path is vectorised with numpy:
no Python loop runs once per service (loops run over benchmarks, service types or the few
distinct tier/cohort tuples). What depends only on the areas' shapes (their edges in BNG, a
spatial index, a point inside each) is built once per set of geometry objects and kept for
the next call (`_AreaGeometry`), as geopandas keeps a frame's spatial index; `*` services
are shared in closed form, never as a row per area, until `assignments` is read.

How a service is assigned to areas (in this order of precedence):

1. `serves` lists area codes: it serves exactly those areas (codes not in the dataset are
   ignored). `("*",)` means every area of the *dataset*, not only the selection, so a
   partnership sees only its share of a national service.
2. `catchment_km` > 0 and a location (never for a confidential service, see below): every
   area the circle (radius in km, computed in British National Grid metres, exact circle, not
   a polygon) intersects, each with `land_share` = share of the area's land inside the circle.
3. A location: the area containing the point (one point-in-polygon query; a point exactly on a
   shared border goes to the first area in file order).
4. Otherwise the service is *unassigned* (counted in `summary["unassigned_services"]`).

Confidential services (refuges, safe accommodation, any row flagged `confidential`): no
output may place one more precisely than a whole area of at least
`config.min_confidential_population` residents (`[confidentiality] min_area_population`,
default 10,000). The rule:

- it counts only through `serves` (codes, names or `*`) or the single area containing its point;
  never by catchment land share (the loader refuses `catchment_km` on it; one that reaches the
  engine anyway is read as a point), so its share of an area never varies with geometry;
- small areas: a link of a confidential service to an area whose population (the patchwork
  population below: all persons, else the first denominator) is below the threshold or unknown
  is dropped. A `serves` list keeps its other areas (shared among them as usual); a service left
  with no area is *withheld*: counted in no area, no `ALL` row, no coverage cell and no
  selection-scope count, since any of these could be differenced between selections to find
  its area. `*` says nothing about a location and is kept;
- honesty: each benchmark's rows carry `withheld_confidential`, the number of its services
  affected (the same on every row: a per-area count would place them), and
  `summary["withheld_confidential"]` plus a note say what was withheld and why;
- access (nearest distance) never uses a confidential service.

How a service is shared between the areas it serves (per benchmark):
weight(area) = land_share(area) x denominator(area, benchmark) (land_share is 1 except for
catchments); share = weight / sum of the service's weights. Areas whose denominator is
missing or zero get weight 0. If *every* area a service serves lacks the denominator, its
capacity is split by land share instead (equally for a `serves` list), and the benchmark's
summary entry counts it in `split_without_denominator`. Capacity is therefore conserved.

Benchmark rows (`gaps`): required = denominator x target / per; provided = shared capacity
(measure "capacity") or shared count (measure "count"); ratio = provided / required;
shortfall = max(required - provided, 0); status from `config.status_for`.

- Missing denominator (the area has no population row or the value is blank): ratio NaN,
  status `no_data`.
- required == 0 with a known denominator (a zero denominator, or a target of 0): nothing is
  required, so ratio is NaN (undefined), shortfall 0 and status `green`.
- A service without capacity (or whose `capacity_unit` is set and differs from the
  benchmark's unit) adds nothing to a capacity benchmark; the rows it serves count it in
  `unmeasured_services`. Units are never converted: those in another unit are listed in the
  summary entry's `not_counted_units` and named in a note.
- Denominators: each benchmark reads the column `gapmap.population.resolve_denominators`
  picks (the most recent official estimate present, or the `population_vintage` asked for);
  `denominator_source` on every gap row and in the summary says which column and vintage.
- `ALL` rows: sums over the selected areas that have the denominator (denominator, required
  and provided alike) and the ratio of the sums; what reached selected areas without the
  denominator is in the summary as `provided_without_denominator`. Selection-scope
  benchmarks (`minimum`) have only an `ALL` row: provided = number of distinct services of
  the benchmark's types serving any selected area, required = minimum.

Tier x cohort coverage (`coverage`): for every selected area and every (tier, cohort) cell of
the vocabulary, the number of services serving the area whose tiers include the tier and
whose cohorts include the cohort (a service counts in every cell of its tiers x cohorts).
`patchwork_gap` = this area has none while another selected area has at least one.
`summary["patchwork_index"]` = patchwork gaps / (selected areas x cells provided anywhere
in the selection); `patchwork_index_weighted` weights each area by its population (the
column named in `summary["patchwork_population"]`: all_persons if present, else the first
denominator available), i.e. the share of the population living without a cell that exists
elsewhere in the selection.

Tier shares (`summary["tier_shares"]`): over the services serving the selection, each
tier's share of services and, per capacity unit, of capacity. A service with n tiers counts
1/n in each. Capacity is the part of each service that reaches the selection (shared by the
patchwork population), so a national service adds only the selection's share.

Access (`access`): straight-line distance in km (BNG) from each selected area's origin to the
nearest located, non-confidential service of each type (filters apply). The origin is the
population-weighted centre of the area's small areas when `small_area_population` is
given, otherwise a point guaranteed inside the polygon (`point_on_surface`).
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.areaindex import area_tree, cached_for
from gapmap.config import Benchmark, Config, Profile
from gapmap.errors import GapmapInputError
from gapmap.filters import ServiceFilter
from gapmap.population import resolve_denominators
from gapmap.privacy import redact_confidential
from gapmap.projection import to_bng
from gapmap.schema import AREA_CODE, AREA_NAME, SERVES_EVERYWHERE
from gapmap.settings import WGS84_EPSG
from gapmap.wording import REGIONAL_NOTE, benchmark_definition, denominator_text, unit_label

ALL_CODE = "ALL"
ALL_NAME = "All selected areas"

GAPS_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "benchmark_id",
    "benchmark_label",
    "denominator",
    "denominator_source",
    "required",
    "provided",
    "ratio",
    "shortfall",
    "status",
    "unmeasured_services",
    "withheld_confidential",
    # population | demand (gapmap.demand adds rows from a demand table beside these)
    "basis",
    # demand rows only: the demand table's period, and the row's meaning in words
    "period",
    "reading",
)
COVERAGE_COLUMNS: tuple[str, ...] = ("area_code", "area_name", "tier", "cohort", "services", "patchwork_gap")
ACCESS_COLUMNS: tuple[str, ...] = ("area_code", "area_name", "service_type", "nearest_km")
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("service_id", "area_code", "weight", "land_share", "method")

#: How a service reached an area (the `method` column of `assignments`).
METHODS: tuple[str, ...] = ("serves", "everywhere", "catchment", "point")
_SERVES, _EVERYWHERE, _CATCHMENT, _POINT = range(4)

#: The population used for the weighted patchwork index, tier capacity shares and the
#: `weight` column of `assignments`: the first of these columns present, else the first
#: denominator the population table has.
PATCHWORK_POPULATION_PREFERENCE: tuple[str, ...] = ("all_persons",)


class _Deferred:
    """A frame of `GapAnalysis` kept as the arrays it is made from until first read.

    Plain arrays, so a GapAnalysis still pickles (the app caches it) before and after.
    """

    def build(self) -> pd.DataFrame:
        raise NotImplementedError


class _LazyAssignments(_Deferred):
    """The arrays behind `GapAnalysis.assignments`; the frame is built on first read.

    Every `*` service has a row per area of the dataset: 200 national services on England's
    33,755 LSOAs are 6.8 million rows, most of a run's time, and a report never reads them.
    """

    def __init__(self, *arrays: Any) -> None:
        self.arrays = arrays

    def serving_ids(self, chosen: set[str]) -> np.ndarray:
        """The ids of the services with a row for an area in `chosen`, without building the frame
        (`gapmap.view.counted_services` reads this: millions of `*` rows on England's LSOAs)."""
        svc, area, _share, _land, _method, star, _star_share, service_ids, area_codes = self.arrays
        in_chosen = np.isin(np.asarray(area_codes).astype(str), list(chosen))
        rows = svc[in_chosen[area]] if len(area) else svc[:0]
        if in_chosen.any():
            rows = np.concatenate((rows, star))
        return np.asarray(service_ids, dtype=object)[np.unique(rows.astype(np.int64))]

    def areas_of(self, wanted: set[str]) -> dict[str, list[str]]:
        """The areas each service in `wanted` is credited to (its rows; `*` services have none
        here: they are credited everywhere), without building the frame."""
        svc, area, _share, _land, _method, _star, _star_share, service_ids, area_codes = self.arrays
        ids = np.asarray(service_ids, dtype=object).astype(str)
        rows = np.isin(ids, list(wanted))[svc] if len(svc) else np.zeros(0, dtype=bool)
        out: dict[str, list[str]] = {}
        for s, a in zip(svc[rows], area[rows], strict=True):
            out.setdefault(str(ids[s]), []).append(str(area_codes[a]))
        return out

    def build(self) -> pd.DataFrame:
        svc, area, share, land, method, star, star_share, service_ids, area_codes = self.arrays
        n_areas, n_star = len(area_codes), len(star)
        return pd.DataFrame(
            {
                "service_id": _labels(np.concatenate((svc, np.repeat(star, n_areas))), service_ids),
                "area_code": _labels(np.concatenate((area, np.tile(np.arange(n_areas), n_star))), area_codes),
                "weight": np.concatenate((share, np.tile(star_share, n_star))),
                "land_share": np.concatenate((land, np.ones(n_areas * n_star))),
                "method": _labels(
                    np.concatenate((method, np.full(n_areas * n_star, _EVERYWHERE, dtype=np.int8))),
                    np.asarray(METHODS, dtype=object),
                ),
            }
        )


class _LazyAccess(_Deferred):
    """The arrays behind `GapAnalysis.access`; the distances are measured on first read.

    The map and its reruns never read them (an area's profile, the tables and the upper
    levels do), and measuring them was a fifth of a run: projecting every service to BNG
    and a nearest search per type.
    """

    def __init__(
        self,
        origin_x: np.ndarray,
        origin_y: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        types: np.ndarray,
        sel_codes: np.ndarray,
        sel_names: np.ndarray,
    ) -> None:
        self.arrays = (origin_x, origin_y, lon, lat, types, sel_codes, sel_names)

    def build(self) -> pd.DataFrame:
        ox, oy, lon, lat, types, sel_codes, sel_names = self.arrays
        n_sel = len(sel_codes)
        if len(lon) == 0 or n_sel == 0:
            return pd.DataFrame({c: [] for c in ACCESS_COLUMNS}).astype({"nearest_km": float})
        px, py = to_bng(lon, lat)
        type_codes, type_names = pd.factorize(types, sort=True)
        out = _nearest_by_group(ox, oy, px, py, type_codes, len(type_names)) / 1000.0
        return pd.DataFrame(
            {
                "area_code": _text(sel_codes, np.tile(np.arange(n_sel), len(type_names))),
                "area_name": _text(sel_names, np.tile(np.arange(n_sel), len(type_names))),
                "service_type": _text(
                    np.asarray(type_names, dtype=object), np.repeat(np.arange(len(type_names)), n_sel)
                ),
                "nearest_km": out.reshape(-1),
            }
        )


class _BuiltOnRead:
    """A dataclass field that may be given a `_Deferred` and reads as its frame.

    On the class it raises AttributeError, so `dataclass` sees no default value.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self.slot)
        value = obj.__dict__[self.slot]
        if isinstance(value, _Deferred):
            value = value.build()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class GapAnalysis:
    """The result of `analyse`. Frames use the column names in the module constants.

    Attributes
    ----------
    gaps
        One row per selected area x area-scope benchmark, plus one `ALL` row per benchmark.
    coverage
        One row per selected area x tier x cohort (every cell of the vocabulary, zeros included).
    access
        One row per selected area x service type with at least one located, non-confidential
        service: distance in km to the nearest one, measured when first read.
    summary
        JSON-able dict: profile, filters, patchwork indices, tier shares, benchmark totals, counts.
    assignments
        service_id, area_code, weight, land_share, method: one row per (service, area served),
        over the whole dataset. `weight` is the share of the service the area gets when sharing
        by the patchwork population (`summary["patchwork_population"]`, normally all persons);
        each benchmark shares by its own denominator in the same way (see the module docs).
    profile
        The benchmark profile scored.
    selection
        The selected area codes, in the order given.
    service_filter
        The filter the figures were computed with: `service_filter.apply(services)` gives the
        services counted, so maps and lists can show exactly those.
    """

    gaps: pd.DataFrame
    coverage: pd.DataFrame
    #: `access` and `assignments` may be given a `_Deferred`, read as its frame (see
    #: `_BuiltOnRead`, installed below).
    access: pd.DataFrame
    summary: dict[str, Any]
    assignments: pd.DataFrame
    profile: Profile
    selection: tuple[str, ...]
    service_filter: ServiceFilter = field(default_factory=ServiceFilter)
    #: `gapmap.access.AccessResult` when small-area access was computed (`gapmap report`).
    small_area_access: Any = None

    def replace(self, **changes: Any) -> GapAnalysis:
        """A copy with `changes`, as `dataclasses.replace` makes, except that frames not read
        yet stay unbuilt (`dataclasses.replace` reads every field: 7.8 million assignment rows
        on England's small areas, for a change of summary)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"GapAnalysis has no field {sorted(unknown)[0]!r}")
        new = copy.copy(self)
        for name, value in changes.items():
            setattr(new, name, value)
        return new


# Installed after `dataclass` has read the fields, so neither has a default.
for _name in ("access", "assignments"):
    setattr(GapAnalysis, _name, _BuiltOnRead())
    GapAnalysis.__dict__[_name].__set_name__(GapAnalysis, _name)


# --------------------------------------------------------------------------- projection


# One fixed WGS84 -> BNG operation for every module: `gapmap.projection`.


# --------------------------------------------------------------------------- catchments


#: Edges per chunk. A chunk whose bounding box misses a circle contributes one circular
#: sector (exact: a box that excludes the centre subtends less than half a turn), and one
#: wholly inside contributes one triangle sum, so only chunks the circle's edge crosses are
#: expanded to their edges.
_CHUNK_EDGES = 8


@dataclass
class _AreaEdges:
    """Every polygon edge of every area in BNG metres, contiguous per area, grouped in chunks.

    Exterior rings run anticlockwise and holes clockwise, so summing signed per-edge
    quantities gives areas directly (holes subtract).
    """

    segments: np.ndarray  # (4, n_edges): ax, ay, bx, by (rows, so gathers stay 1-D)
    bounds: np.ndarray  # (n_areas, 4) minx, miny, maxx, maxy (NaN for empty areas)
    area_m2: np.ndarray  # (n_areas,) land area in square metres
    chunk_start: np.ndarray  # (n_areas,) first chunk of each area
    chunk_count: np.ndarray  # (n_areas,) number of chunks of each area
    chunk_bounds: np.ndarray  # (4, n_chunks): minx, miny, maxx, maxy
    chunk_ends: np.ndarray  # (4, n_chunks): first vertex x, y, last vertex x, y
    chunk_cross: np.ndarray  # (n_chunks,) sum of ax*by - ay*bx over the chunk's edges
    chunk_edge_start: np.ndarray  # (n_chunks,)
    chunk_edge_count: np.ndarray  # (n_chunks,)
    #: STRtree of the bounding boxes of the areas that have edges, and those areas' positions;
    #: built on the first catchment query and kept with the edges (see `_AreaGeometry`).
    box_tree: Any = None
    box_areas: np.ndarray | None = None


def _area_edges(geoms: np.ndarray) -> _AreaEdges:
    """Project the areas to BNG once and flatten them into edge and chunk arrays."""
    n = len(geoms)
    parts, part_area = shapely.get_parts(geoms, return_index=True)
    polys_mask = shapely.get_type_id(parts) == 3
    parts, part_area = parts[polys_mask], part_area[polys_mask]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    # Neighbouring areas share their border vertices: project each distinct vertex once.
    distinct, back = np.unique(coords[:, 0] + 1j * coords[:, 1], return_inverse=True)
    ux, uy = to_bng(distinct.real, distinct.imag)
    x, y = ux[back], uy[back]
    n_rings = len(rings)
    # Orient rings: exteriors anticlockwise (positive area), holes clockwise, by reversing
    # the coordinate order of the rings that run the wrong way.
    same = coord_ring[:-1] == coord_ring[1:]
    ring_area = np.bincount(
        coord_ring[:-1][same], 0.5 * (x[:-1] * y[1:] - y[:-1] * x[1:])[same], minlength=n_rings
    )
    exterior = np.ones(n_rings, dtype=bool)
    exterior[1:] = ring_part[1:] != ring_part[:-1]  # get_rings lists the exterior first
    flip = np.where(exterior, ring_area < 0, ring_area > 0)
    if flip.any():
        ring_len = np.bincount(coord_ring, minlength=n_rings)
        ring_first = np.cumsum(ring_len) - ring_len
        idx = np.arange(len(x))
        r = coord_ring
        src = np.where(flip[r], 2 * ring_first[r] + ring_len[r] - 1 - idx, idx)
        x, y = x[src], y[src]
    ax, ay = x[:-1][same], y[:-1][same]
    bx, by = x[1:][same], y[1:][same]
    edge_ring = coord_ring[:-1][same]
    edge_area = part_area[ring_part[edge_ring]]
    n_edges = len(ax)
    area_m2 = np.bincount(edge_area, 0.5 * (ax * by - ay * bx), minlength=n)

    # Chunks of up to _CHUNK_EDGES consecutive edges of one ring.
    new_ring = np.ones(n_edges, dtype=bool)
    new_ring[1:] = edge_ring[1:] != edge_ring[:-1]
    ring_edge_first = np.maximum.accumulate(np.where(new_ring, np.arange(n_edges), 0))
    new_chunk = new_ring | ((np.arange(n_edges) - ring_edge_first) % _CHUNK_EDGES == 0)
    c_start = np.nonzero(new_chunk)[0]
    c_count = np.diff(np.append(c_start, n_edges))
    c_last = c_start + c_count - 1
    lo_x, lo_y = np.minimum(ax, bx), np.minimum(ay, by)
    hi_x, hi_y = np.maximum(ax, bx), np.maximum(ay, by)
    if n_edges:
        chunk_bounds = np.column_stack(
            (
                np.minimum.reduceat(lo_x, c_start),
                np.minimum.reduceat(lo_y, c_start),
                np.maximum.reduceat(hi_x, c_start),
                np.maximum.reduceat(hi_y, c_start),
            )
        )
        chunk_cross = np.add.reduceat(ax * by - ay * bx, c_start)
    else:
        chunk_bounds = np.zeros((0, 4))
        chunk_cross = np.zeros(0)
    chunk_area = edge_area[c_start]
    chunk_count = np.bincount(chunk_area, minlength=n)
    bounds = np.full((n, 4), np.nan)
    has = chunk_count > 0
    if has.any():
        first_chunk = (np.cumsum(chunk_count) - chunk_count)[has]
        bounds[has, 0] = np.minimum.reduceat(chunk_bounds[:, 0], first_chunk)
        bounds[has, 1] = np.minimum.reduceat(chunk_bounds[:, 1], first_chunk)
        bounds[has, 2] = np.maximum.reduceat(chunk_bounds[:, 2], first_chunk)
        bounds[has, 3] = np.maximum.reduceat(chunk_bounds[:, 3], first_chunk)
    return _AreaEdges(
        segments=np.vstack((ax, ay, bx, by)),
        bounds=bounds,
        area_m2=area_m2,
        chunk_start=np.cumsum(chunk_count) - chunk_count,
        chunk_count=chunk_count,
        chunk_bounds=np.ascontiguousarray(chunk_bounds.T),
        chunk_ends=np.vstack((ax[c_start], ay[c_start], bx[c_last], by[c_last])),
        chunk_cross=chunk_cross,
        chunk_edge_start=c_start,
        chunk_edge_count=c_count,
    )


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges (start, count): (owner of each element, element index), concatenated."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(total) + np.repeat(starts - first, counts)


def _disk_edge_areas(
    ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """Signed area of (triangle origin-A-B) intersected with the disk of radius r at the origin.

    Summed over the edges of a closed ring this is the exact area of ring ∩ disk (the
    standard edge decomposition: a circular sector where the edge lies outside the circle,
    the triangle where it lies inside). Most edges lie wholly inside or wholly outside, so the
    full formula runs only on the few that cross the circle.
    """
    r2 = r * r
    la2 = ax * ax + ay * ay
    out = 0.5 * (ax * by - ay * bx)  # the triangle: exact for edges wholly inside the disk
    rest = np.nonzero((la2 > r2) | (bx * bx + by * by > r2))[0]
    ax, ay, bx, by, r2, la2 = ax[rest], ay[rest], bx[rest], by[rest], r2[rest], la2[rest]
    half_r2 = 0.5 * r2
    # The sector: exact for edges that miss the disk; corrected below for those crossing it.
    part = half_r2 * np.arctan2(2.0 * out[rest], ax * bx + ay * by)
    dx, dy = bx - ax, by - ay
    a = dx * dx + dy * dy
    half_b = ax * dx + ay * dy
    disc = half_b * half_b - a * (la2 - r2)
    hit = np.nonzero((disc > 0) & (a > 0))[0]
    root = np.sqrt(disc[hit])
    ah, hb = a[hit], half_b[hit]
    t1 = (-hb - root) / ah
    t2 = (-hb + root) / ah
    touch = (t1 < 1.0) & (t2 > 0.0)  # the segment itself, not only its line, enters the disk
    i = hit[touch]
    t1 = np.clip(t1[touch], 0.0, 1.0)
    t2 = np.clip(t2[touch], 0.0, 1.0)
    pax, pay, pbx, pby, pdx, pdy = ax[i], ay[i], bx[i], by[i], dx[i], dy[i]
    p1x, p1y = pax + t1 * pdx, pay + t1 * pdy
    p2x, p2y = pax + t2 * pdx, pay + t2 * pdy
    part[i] = (
        half_r2[i] * np.arctan2(pax * p1y - pay * p1x, pax * p1x + pay * p1y)
        + 0.5 * (p1x * p2y - p1y * p2x)
        + half_r2[i] * np.arctan2(p2x * pby - p2y * pbx, p2x * pbx + p2y * pby)
    )
    out[rest] = part
    return out


def _catchment_links(
    cx: np.ndarray, cy: np.ndarray, radius_m: np.ndarray, edges: _AreaEdges
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(circle index, area index, land share) for every area a circle overlaps."""
    b = edges.bounds
    if edges.box_tree is None or edges.box_areas is None:
        with_edges = np.nonzero(np.isfinite(b[:, 0]))[0]
        edges.box_tree, edges.box_areas = shapely.STRtree(shapely.box(*b[with_edges].T)), with_edges
    has_edges: np.ndarray = edges.box_areas
    if len(has_edges) == 0 or len(cx) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # Candidate pairs: bounding boxes overlap (tree query), then the circle reaches the box.
    circle_boxes = shapely.box(cx - radius_m, cy - radius_m, cx + radius_m, cy + radius_m)
    pc, pa = edges.box_tree.query(circle_boxes)
    pa = has_edges[pa]
    bb = b[pa]
    ccx, ccy, rr = cx[pc], cy[pc], radius_m[pc]
    gx = np.maximum(np.maximum(bb[:, 0] - ccx, ccx - bb[:, 2]), 0.0)
    gy = np.maximum(np.maximum(bb[:, 1] - ccy, ccy - bb[:, 3]), 0.0)
    r2 = rr * rr
    near = (gx * gx + gy * gy) < r2
    # The whole bounding box inside the circle: the area is entirely covered.
    fx = np.maximum(np.abs(ccx - bb[:, 0]), np.abs(ccx - bb[:, 2]))
    fy = np.maximum(np.abs(ccy - bb[:, 1]), np.abs(ccy - bb[:, 3]))
    full = near & ((fx * fx + fy * fy) <= r2)
    partial = near & ~full
    full_c, full_a = pc[full], pa[full]
    part_c, part_a = pc[partial], pa[partial]
    share = _partial_shares(cx[part_c], cy[part_c], radius_m[part_c], part_a, edges)
    keep = share > 1e-12
    circle = np.concatenate((full_c, part_c[keep]))
    area = np.concatenate((full_a, part_a[keep]))
    shares = np.concatenate((np.ones(len(full_c)), share[keep]))
    order = np.lexsort((area, circle))
    return circle[order], area[order], shares[order]


#: Work arrays are processed in blocks of about this many elements. Small temporaries stay
#: in the CPU cache and below the allocator's mmap threshold; one big array per step costs
#: more in page faults than in arithmetic (measured: about half the catchment time).
_BLOCK = 4096


def _blocks(sizes: np.ndarray, limit: int | None = None) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges whose `sizes` add up to about `limit` each."""
    limit = limit or _BLOCK
    if len(sizes) == 0:
        return []
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(limit, ends[-1], limit), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [len(sizes)])))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _partial_shares(
    cx: np.ndarray, cy: np.ndarray, r: np.ndarray, area: np.ndarray, edges: _AreaEdges
) -> np.ndarray:
    """Share of each area's land inside its circle, for (circle, area) pairs."""
    out = np.zeros(len(area))
    for a, b in _blocks(edges.chunk_count[area]):  # blocks of pairs, not a loop over services
        out[a:b] = _partial_shares_block(cx[a:b], cy[a:b], r[a:b], area[a:b], edges)
    return out


def _partial_shares_block(
    cx: np.ndarray, cy: np.ndarray, r: np.ndarray, area: np.ndarray, edges: _AreaEdges
) -> np.ndarray:
    if len(area) == 0:
        return np.zeros(0)
    pair, chunk = _expand(edges.chunk_start[area], edges.chunk_count[area])
    ox, oy, rr = cx[pair], cy[pair], r[pair]
    b = edges.chunk_bounds
    x0, y0, x1, y1 = b[0][chunk], b[1][chunk], b[2][chunk], b[3][chunk]
    gx = np.maximum(np.maximum(x0 - ox, ox - x1), 0.0)
    gy = np.maximum(np.maximum(y0 - oy, oy - y1), 0.0)
    fx = np.maximum(np.abs(ox - x0), np.abs(ox - x1))
    fy = np.maximum(np.abs(oy - y0), np.abs(oy - y1))
    r2 = rr * rr
    outside = (gx * gx + gy * gy) >= r2
    inside = ~outside & ((fx * fx + fy * fy) <= r2)
    ends = edges.chunk_ends
    fxa, fya, lxa, lya = ends[0][chunk], ends[1][chunk], ends[2][chunk], ends[3][chunk]
    fxr, fyr, lxr, lyr = fxa - ox, fya - oy, lxa - ox, lya - oy
    contribution = np.where(
        outside,
        0.5 * r2 * np.arctan2(fxr * lyr - fyr * lxr, fxr * lxr + fyr * lyr),
        # Sum of cross(A - O, B - O) over a path = sum cross(A, B) - cross(O, last - first).
        0.5 * (edges.chunk_cross[chunk] - (ox * (lya - fya) - oy * (lxa - fxa))),
    )
    crossing = np.nonzero(~outside & ~inside)[0]
    if len(crossing):
        sub, e = _expand(edges.chunk_edge_start[chunk[crossing]], edges.chunk_edge_count[chunk[crossing]])
        seg = edges.segments
        owner = crossing[sub]
        sx, sy = ox[owner], oy[owner]
        per_edge = _disk_edge_areas(seg[0][e] - sx, seg[1][e] - sy, seg[2][e] - sx, seg[3][e] - sy, rr[owner])
        contribution[crossing] = np.bincount(sub, per_edge, minlength=len(crossing))
    covered = np.bincount(pair, contribution, minlength=len(area))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(covered / edges.area_m2[area], 0.0, 1.0)


# --------------------------------------------------------------------------- area geometry


class _AreaGeometry:
    """What the engine derives from the areas' shapes alone, kept between calls.

    The app scores the same areas on every rerun and a report once per profile; projecting
    every vertex to BNG and cutting the rings into edges each time was the largest part of a
    run (a geopandas sjoin keeps its spatial index on the frame in the same way). Made and
    kept by `gapmap.areaindex.cached_for`, which hands it its own copy of the geometry array.
    """

    def __init__(self, geoms: np.ndarray) -> None:
        self.geoms = geoms
        self._edges: _AreaEdges | None = None
        self._surface: tuple[np.ndarray, np.ndarray] | None = None
        self._tree: shapely.STRtree | None = None
        self._lock = threading.Lock()  # one build per entry, whichever session asks first

    def tree(self) -> shapely.STRtree:
        """An STRtree of the areas, whose polygons are prepared (indexed) for point tests: the
        one `gapmap.areaindex` keeps, which the service-list validator may have built already."""
        with self._lock:
            if self._tree is None:
                self._tree = area_tree(self.geoms)
            return self._tree

    def edges(self) -> _AreaEdges:
        """Every area's edges in BNG metres (for catchment circles)."""
        with self._lock:
            if self._edges is None:
                self._edges = _area_edges(self.geoms)
            return self._edges

    def surface_points(self) -> tuple[np.ndarray, np.ndarray]:
        """BNG x, y of a point inside each area (`point_on_surface`), the origin for access."""
        with self._lock:
            if self._surface is None:
                rep = shapely.point_on_surface(self.geoms)
                self._surface = to_bng(shapely.get_x(rep), shapely.get_y(rep))
            return self._surface


def _area_geometry(geoms: np.ndarray) -> _AreaGeometry:
    """The cached `_AreaGeometry` of exactly these geometry objects (the same objects, in order)."""
    return cached_for(geoms, "engine", _AreaGeometry)


# --------------------------------------------------------------------------- assignment


@dataclass
class _Links:
    """(service, area) pairs, except `*` services, which serve every area of the dataset and
    are handled in closed form (share of area j = its denominator / the dataset's total)
    rather than as one link per area.
    """

    svc: np.ndarray  # int: position of the service in the filtered frame
    area: np.ndarray  # int: position of the area in `areas`
    land_share: np.ndarray  # float
    method: np.ndarray  # int8 index into METHODS
    star: np.ndarray  # int: positions of the `*` services


@dataclass
class _Locations:
    """Service points: shapely geometries (EPSG:4326) and lon/lat (NaN where unlocated).

    Only catchment centres and access candidates need BNG metres, each projected when used.
    """

    geoms: np.ndarray
    located: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def _locate(services: gpd.GeoDataFrame) -> _Locations:
    """The services' points as arrays."""
    geoms = np.asarray(services.geometry.array, dtype=object)
    n = len(geoms)
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if n else np.zeros(0, dtype=bool)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if located.any():
        lon[located], lat[located] = shapely.get_x(geoms[located]), shapely.get_y(geoms[located])
    return _Locations(geoms, located, lon, lat)


def _assign(
    services: pd.DataFrame, where: _Locations, geometry: _AreaGeometry, area_index: pd.Index
) -> _Links:
    """Which areas each service serves (see the module docs for the rules)."""
    serves_svc, serves_area, star_svc, has_serves = _serves_links(services["serves"], area_index)
    parts = [(serves_svc, serves_area, np.ones(len(serves_svc)), _SERVES)]
    catchment_km = pd.to_numeric(services["catchment_km"], errors="coerce").to_numpy(dtype=float)
    # A confidential service never gets a catchment circle (its land shares give its position
    # away): the loader refuses one, and any that reaches the engine is read as a point.
    confidential = services["confidential"].fillna(False).astype(bool).to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        use_catchment = ~has_serves & where.located & (catchment_km > 0) & ~confidential
    use_point = ~has_serves & where.located & ~use_catchment
    if use_point.any():
        pos = np.nonzero(use_point)[0]
        pt, area = _point_links(where.geoms[pos], where.lon[pos], where.lat[pos], geometry)
        parts.append((pos[pt], area, np.ones(len(pt)), _POINT))
    if use_catchment.any():
        pos = np.nonzero(use_catchment)[0]
        radius_m = catchment_km[pos] * 1000.0
        cx, cy = to_bng(where.lon[pos], where.lat[pos])
        circle, area, share = _catchment_links(cx, cy, radius_m, geometry.edges())
        parts.append((pos[circle], area, share, _CATCHMENT))
    return _Links(
        np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False),
        np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False),
        np.concatenate([p[2] for p in parts]).astype(float, copy=False),
        np.concatenate([np.full(len(p[0]), p[3], dtype=np.int8) for p in parts]),
        star_svc,
    )


def _serves_links(serves_column: pd.Series, area_index: pd.Index) -> tuple[np.ndarray, ...]:
    """The `serves` lists, flattened without a Python-level loop: (service, area) links sorted
    by service then area (a code listed twice counts once, unknown codes are ignored), the
    `*` services, and which services have a list at all.
    """
    serves = serves_column.to_numpy(dtype=object)
    n, n_areas = len(serves), len(area_index)
    lengths = np.fromiter(map(len, serves), dtype=np.int64, count=n)
    has_serves = lengths > 0
    empty = np.zeros(0, dtype=np.int64)
    if not has_serves.any():
        return empty, empty, empty, has_serves
    flat = np.fromiter(itertools.chain.from_iterable(serves), dtype=object, count=int(lengths.sum()))
    flat_svc = np.repeat(np.arange(n), lengths)
    star = flat == SERVES_EVERYWHERE
    star_svc = _sorted_unique(flat_svc[star])  # flat_svc is already in order
    listed = ~star & ~np.isin(flat_svc, star_svc)
    code_pos = area_index.get_indexer(flat[listed])
    ok = code_pos >= 0
    key = _sorted_unique(np.sort(flat_svc[listed][ok] * n_areas + code_pos[ok]))
    return key // n_areas, key % n_areas, star_svc, has_serves


def _point_links(
    points: np.ndarray, lon: np.ndarray, lat: np.ndarray, geometry: _AreaGeometry
) -> tuple[np.ndarray, np.ndarray]:
    """(point, area) for each point inside an area, by point; a point on a shared border goes
    to the first area in file order.
    """
    # Candidates by bounding box from the areas' tree, then one vectorised test of each
    # candidate's coordinates against its prepared polygon: a third of the time of a
    # predicate query at a million services.
    hit_pt, hit_area = geometry.tree().query(points)
    inside = shapely.intersects_xy(geometry.geoms[hit_area], lon[hit_pt], lat[hit_pt])
    hit_pt, hit_area = hit_pt[inside], hit_area[inside]
    hits = np.bincount(hit_pt, minlength=len(lon))
    if hits.max(initial=0) > 1:  # a point on a border: keep its first area
        order = np.lexsort((hit_area, hit_pt))
        hit_pt, hit_area = hit_pt[order], hit_area[order]
        first = np.nonzero(np.diff(hit_pt, prepend=-1))[0]  # the first row of each point
        return hit_pt[first], hit_area[first]
    # Each point in one area at most (the usual case): no sort needed.
    area_of = np.zeros(len(lon), dtype=np.int64)
    area_of[hit_pt] = hit_area
    found = np.nonzero(hits)[0]
    return found, area_of[found]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an array already sorted, in order.

    `np.unique` hashes integer arrays first (numpy 2), which was a second at a million
    services; a sorted array needs only a comparison with its neighbour.
    """
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _shares(links: _Links, mask: np.ndarray, denominator: np.ndarray, n_services: int):
    """Each link's share of its service, weighting areas by land share x denominator.

    Returns (link positions used, share per used link, services that fell back to land share).
    """
    li = np.nonzero(mask)[0]
    ls, la, land = links.svc[li], links.area[li], links.land_share[li]
    d = denominator[la]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(d) & (d > 0)
    w = np.where(usable, land * np.where(usable, d, 0.0), 0.0)
    total = np.bincount(ls, w, minlength=n_services)
    fallback_link = total[ls] <= 0
    if fallback_link.any():
        w = np.where(fallback_link, land, w)
        total = np.bincount(ls, w, minlength=n_services)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total[ls] > 0, w / total[ls], 0.0)
    fallback_services = _sorted_unique(np.sort(ls[fallback_link]))
    return li, share, fallback_services


def _star_weights(denominator: np.ndarray) -> tuple[np.ndarray, bool]:
    """Share of a `*` service each area of the dataset gets, and whether it fell back to equal."""
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(denominator) & (denominator > 0)
    d = np.where(usable, denominator, 0.0)
    total = d.sum()
    if total > 0:
        return d / total, False
    n = len(denominator)
    return np.full(n, 1.0 / n if n else 0.0), True


def _withhold_small_areas(
    links: _Links, confidential: np.ndarray, population: np.ndarray, minimum: float
) -> tuple[_Links, np.ndarray]:
    """Drop every link of a confidential service to an area below `minimum` residents.

    An area without a population figure counts as small (fail closed). `*` services are
    untouched: serving every area says nothing about where a service is. Returns the kept links
    and, per service, whether any of its links was dropped.
    """
    with np.errstate(invalid="ignore"):
        small = ~(np.nan_to_num(population, nan=-1.0) >= minimum)
    drop = confidential[links.svc] & small[links.area]
    withheld = np.zeros(len(confidential), dtype=bool)
    withheld[links.svc[drop]] = True
    if not drop.any():
        return links, withheld
    keep = ~drop
    kept = _Links(links.svc[keep], links.area[keep], links.land_share[keep], links.method[keep], links.star)
    return kept, withheld


# --------------------------------------------------------------------------- helpers


class _Population:
    """Population columns aligned to the areas (NaN where an area has no row or value).

    The first row wins when a code appears twice (the loader reports duplicates).
    """

    def __init__(self, population: pd.DataFrame, area_index: pd.Index) -> None:
        # A plain frame without `attrs`: pandas deep-copies attrs on every column access.
        self._frame = pd.DataFrame(population, copy=False)
        codes = self._frame[AREA_CODE].astype(str).to_numpy(dtype=object)
        rows = np.nonzero(~pd.Index(codes).duplicated())[0]
        pos = pd.Index(codes[rows], dtype=object).get_indexer(area_index)
        self._rows = np.where(pos >= 0, rows[np.maximum(pos, 0)], -1) if len(rows) else np.full(len(pos), -1)
        self.columns = [c for c in self._frame.columns if c != AREA_CODE]
        self._cache: dict[str, np.ndarray] = {}
        #: Denominator id -> the frame column it is read from (`resolve_denominators`).
        self.resolved: dict[str, str] = {}

    def is_numeric(self, column: str) -> bool:
        return pd.api.types.is_numeric_dtype(self._frame[column])

    def get(self, column: str | None) -> np.ndarray | None:
        """The column per area (a denominator id reads its resolved column), or None."""
        column = self.resolved.get(column, column) if column is not None else None
        if column is None or column not in self.columns:
            return None
        if column not in self._cache:
            values = pd.to_numeric(self._frame[column], errors="coerce").to_numpy(dtype=float)
            out = np.full(len(self._rows), np.nan)
            ok = self._rows >= 0
            out[ok] = values[self._rows[ok]]
            self._cache[column] = out
        return self._cache[column]


def _strings(values: pd.Series, missing: str = "") -> np.ndarray:
    """A string column as a numpy object array, converting each distinct value only once.

    pandas 3 stores strings in Arrow; converting every cell to a Python object is the slow
    part of `to_numpy(dtype=object)`, and service columns repeat a few values many times.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.append(np.asarray(uniques, dtype=object), missing)  # code -1 -> `missing`
    return table[codes]


def _text(labels: np.ndarray, codes: np.ndarray) -> Any:
    """`labels[codes]` as pandas' default string column, built in Arrow by one `take`.

    A frame with a row per small area x cell (500,000 rows for England's LSOAs) otherwise
    converts every cell's Python string to Arrow one by one, most of the engine's time there.
    Same values and dtype as the plain object array would get.
    """
    labels = np.asarray(labels, dtype=object)
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas' string dtype needs pyarrow anyway
        return labels[codes]
    if len(labels) == 0 or len(codes) == 0 or not all(isinstance(v, str) for v in labels):
        return labels[codes]
    taken = pa.array(labels, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))
    return pd.array(taken, dtype=pd.Series(labels[:1]).dtype)


def _labels(codes: np.ndarray, categories: np.ndarray | pd.Index) -> pd.Categorical | np.ndarray:
    """Strings for a large column, as a categorical when the labels are unique.

    Building a categorical from integer codes avoids converting tens of thousands of Python
    strings (a `*` service has one row per area of the dataset).
    """
    if pd.Index(categories).is_unique:
        # The codes are positions computed here, so pandas need not re-check them.
        return pd.Categorical.from_codes(codes, categories=categories, validate=False)
    return np.asarray(categories, dtype=object)[codes]


def _json_number(x: Any) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return None if not math.isfinite(x) else x


class _Codes:
    """A string column factorised once: `isin` then costs one lookup per distinct value."""

    def __init__(self, values: np.ndarray) -> None:
        self.codes, self.uniques = pd.factorize(values)

    def isin(self, wanted: Sequence[str]) -> np.ndarray:
        wanted_set = set(wanted)
        lut = np.array([u in wanted_set for u in self.uniques] + [False], dtype=bool)
        return lut[self.codes]  # code -1 (missing) picks the final False


def _status(
    config: Config, ratio: np.ndarray, required: np.ndarray, has_denominator: np.ndarray
) -> np.ndarray:
    """`config.status_for` for arrays (same thresholds, same comparisons), plus the two cases
    it cannot see: no denominator -> no_data; nothing required -> green (the benchmark is met).
    """
    with np.errstate(invalid="ignore"):
        status = np.select(
            [
                ~has_denominator,
                required == 0,
                np.isnan(ratio),
                ratio >= config.green_at,
                ratio >= config.amber_at,
            ],
            ["no_data", "green", "no_data", "green", "amber"],
            default="red",
        )
    return status.astype(object)


def _membership(uniques: Sequence[Any], vocabulary: Sequence[str]) -> np.ndarray:
    """(len(uniques), len(vocabulary)) bool: which vocabulary ids each distinct tuple holds."""
    m = np.zeros((len(uniques), len(vocabulary)), dtype=bool)
    where = {v: j for j, v in enumerate(vocabulary)}
    for i, u in enumerate(uniques):  # distinct tuples only (a handful), not services
        for v in u or ():
            j = where.get(v)
            if j is not None:
                m[i, j] = True
    return m


def _selection_positions(selection: Sequence[str] | None, area_index: pd.Index) -> np.ndarray:
    if selection is None:
        return np.arange(len(area_index))
    codes = list(dict.fromkeys(str(c).strip() for c in selection if str(c).strip()))
    pos = area_index.get_indexer(codes)
    unknown = [c for c, p in zip(codes, pos, strict=True) if p < 0]
    if unknown:
        raise GapmapInputError(
            f"the selection names area codes that are not in the boundaries: {', '.join(unknown)}. "
            "Use codes from the boundary file's area_code column.",
            file="selection",
        )
    if not codes:
        raise GapmapInputError("the selection is empty; choose at least one area.", file="selection")
    return pos


def _representative_points(
    geometry: _AreaGeometry,
    area_index: pd.Index,
    positions: np.ndarray,
    small_area_population: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BNG x, y of each selected area's origin for access, and whether it is population-weighted.

    A point inside each area (`point_on_surface`) is found only when some selected area has no
    weighted centre: England's built-in small areas weight every district, and finding a point
    inside each of its 296 was a tenth of a first analysis.
    """
    weighted = np.zeros(len(positions), dtype=bool)
    centre: tuple[np.ndarray, np.ndarray] | None = None
    if small_area_population is not None and len(small_area_population):
        sap = small_area_population
        # Each distinct code looked up once: England's 33,755 small areas name 296 districts.
        codes, uniques = pd.factorize(sap[AREA_CODE].astype(str))
        found = pd.Index(area_index[positions]).get_indexer(uniques)
        idx = np.append(found, -1)[codes]  # code -1 (a missing code) finds no area
        pop = pd.to_numeric(sap["population"], errors="coerce").to_numpy(dtype=float)
        given_bng = "x" in sap.columns and "y" in sap.columns
        # BNG metres given with the points (`gapmap.access.engine_small_area_population`), else
        # lon/lat projected here.
        a, b = ("x", "y") if given_bng else ("lon", "lat")
        first = pd.to_numeric(sap[a], errors="coerce").to_numpy(dtype=float)
        second = pd.to_numeric(sap[b], errors="coerce").to_numpy(dtype=float)
        ok = (idx >= 0) & np.isfinite(pop) & (pop > 0) & np.isfinite(first) & np.isfinite(second)
        if ok.any():
            sx, sy = (first[ok], second[ok]) if given_bng else to_bng(first[ok], second[ok])
            k = len(positions)
            total = np.bincount(idx[ok], pop[ok], minlength=k)
            wx = np.bincount(idx[ok], pop[ok] * sx, minlength=k)
            wy = np.bincount(idx[ok], pop[ok] * sy, minlength=k)
            weighted = total > 0
            centre = (wx / np.where(weighted, total, 1.0), wy / np.where(weighted, total, 1.0))
    if centre is not None and weighted.all():
        return centre[0], centre[1], weighted
    all_x, all_y = geometry.surface_points()
    x, y = all_x[positions], all_y[positions]
    if centre is not None:
        x, y = np.where(weighted, centre[0], x), np.where(weighted, centre[1], y)
    return x, y, weighted


# --------------------------------------------------------------------------- analyse


@dataclass
class _AreaSet:
    """The areas of the dataset as arrays, and which of them are selected."""

    codes: np.ndarray  # object: area codes, in file order
    names: np.ndarray  # object
    index: pd.Index  # codes -> position
    geometry: _AreaGeometry
    sel_pos: np.ndarray  # positions of the selected areas, in the order given
    selected: np.ndarray  # bool per area

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def n_sel(self) -> int:
        return len(self.sel_pos)

    @property
    def sel_codes(self) -> np.ndarray:
        return self.codes[self.sel_pos]

    @property
    def sel_names(self) -> np.ndarray:
        return self.names[self.sel_pos]


@dataclass
class _ServiceTable:
    """The service columns the engine reads, as arrays (one row per filtered service)."""

    cols: pd.DataFrame  # a plain pandas view of the services (GeoDataFrame column reads are slow)
    ids: pd.Index
    types: np.ndarray  # object
    type_codes: _Codes
    capacity: np.ndarray  # float, NaN when not given
    units: np.ndarray  # object: the row's unit, else its type's unit, else ""
    confidential: np.ndarray  # bool

    @property
    def n(self) -> int:
        return len(self.types)


@dataclass
class _Reach:
    """Which services reach which areas, after confidential links to small areas were dropped."""

    links: _Links
    withheld: np.ndarray  # bool per service: a link was dropped to keep its location secret
    assigned_before: np.ndarray  # bool per service: it had a link before the drop
    is_star: np.ndarray  # bool per service: serves `*`
    assigned: np.ndarray  # bool per service: serves at least one area (`*` included)
    serving_sel: np.ndarray  # bool per service: serves at least one selected area


def _in_wgs84(
    areas: gpd.GeoDataFrame, services: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Both frames in EPSG:4326, the engine's input CRS (unchanged when already so)."""
    if areas.crs is not None and areas.crs.to_epsg() != WGS84_EPSG:
        areas = areas.to_crs(WGS84_EPSG)
    if services.crs is not None and len(services) and services.crs.to_epsg() != WGS84_EPSG:
        services = services.to_crs(WGS84_EPSG)
    return areas, services


def _area_set(areas: gpd.GeoDataFrame, selection: Sequence[str] | None) -> _AreaSet:
    """The areas as arrays and the selection's positions (unknown codes raise)."""
    area_cols = pd.DataFrame(areas, copy=False)
    codes = _strings(area_cols[AREA_CODE].astype(str))
    index = pd.Index(codes, dtype=object)
    sel_pos = _selection_positions(selection, index)
    selected = np.zeros(len(codes), dtype=bool)
    selected[sel_pos] = True
    return _AreaSet(
        codes=codes,
        names=_strings(area_cols[AREA_NAME].astype(str)),
        index=index,
        geometry=_area_geometry(np.asarray(areas.geometry.array, dtype=object)),
        sel_pos=sel_pos,
        selected=selected,
    )


def _service_table(svc: gpd.GeoDataFrame, config: Config) -> _ServiceTable:
    """The columns the engine reads; a blank capacity unit takes the service type's unit."""
    cols = pd.DataFrame(svc, copy=False)
    types = _strings(cols["service_type"])
    type_codes = _Codes(types)
    units = _strings(cols["capacity_unit"])
    blank_unit = units == ""
    if blank_unit.any():  # one look-up per distinct type, not per service
        type_unit = [getattr(config.service_types.get(t), "capacity_unit", "") for t in type_codes.uniques]
        units[blank_unit] = np.array([*type_unit, ""], dtype=object)[type_codes.codes[blank_unit]]
    return _ServiceTable(
        cols=cols,
        ids=pd.Index(cols["service_id"].astype(str)),
        types=types,
        type_codes=type_codes,
        capacity=pd.to_numeric(cols["capacity"], errors="coerce").to_numpy(dtype=float),
        units=units,
        confidential=cols["confidential"].fillna(False).astype(bool).to_numpy(dtype=bool),
    )


def _population_table(
    population: pd.DataFrame, config: Config, area_index: pd.Index, population_vintage: str | None
) -> tuple[_Population, dict[str, dict[str, Any]], list[str]]:
    """Population aligned to the areas, which column each denominator reads, and notes."""
    pop = _Population(population, area_index)
    provenance, notes = resolve_denominators(population, config, population_vintage)
    pop.resolved = {d: p["frame_column"] for d, p in provenance.items()}
    return pop, provenance, notes


def _patchwork_population(
    pop: _Population, config: Config, n_areas: int, notes: list[str]
) -> tuple[str | None, np.ndarray]:
    """The population that weights the patchwork index, tier capacity and `assignments`, and
    that a confidential service's area must reach: all persons, else the first denominator,
    else the first numeric column (all NaN, with a note, when there is none).
    """
    patch_col = next((c for c in PATCHWORK_POPULATION_PREFERENCE if c in pop.resolved), None)
    if patch_col is None:
        patch_col = next((c for c in config.denominators if c in pop.resolved), None)
    if patch_col is None:
        numeric = [c for c in pop.columns if pop.is_numeric(c)]
        patch_col = numeric[0] if numeric else None
    patch_pop = pop.get(patch_col)
    if patch_pop is None:
        patch_pop = np.full(n_areas, np.nan)
        notes.append("The population table has no numeric column: the weighted patchwork index is empty.")
    return patch_col, patch_pop


def _reach(
    links: _Links, table: _ServiceTable, patch_pop: np.ndarray, area_set: _AreaSet, minimum: float
) -> _Reach:
    """Drop confidential links to small areas (module docs, "Confidential services"), then
    mark the services that serve anything and those that serve the selection.
    """
    n_svc = table.n
    assigned_before = np.zeros(n_svc, dtype=bool)
    assigned_before[links.svc] = True
    links, withheld = _withhold_small_areas(links, table.confidential, patch_pop, minimum)
    is_star = np.zeros(n_svc, dtype=bool)
    is_star[links.star] = True
    assigned = is_star.copy()
    assigned[links.svc] = True
    serving_sel = (np.bincount(links.svc, area_set.selected[links.area], minlength=n_svc) > 0) | (
        is_star & (area_set.n_sel > 0)
    )
    return _Reach(links, withheld, assigned_before, is_star, assigned, serving_sel)


def _withheld_note(withheld: np.ndarray, config: Config) -> str:
    """What was withheld and why, in words ("" when nothing was)."""
    if not withheld.any():
        return ""
    return (
        f"{int(withheld.sum())} confidential service(s) serve or lie in areas of fewer than "
        f"{config.min_confidential_population:,.0f} residents; to keep their locations secret they "
        "are not counted in those areas (nor in any total built from them), so those areas' figures "
        "are low. The `withheld_confidential` column of each benchmark says how many of its services "
        "this affects. Use larger areas (districts) to count them, or give them `serves` listing "
        "larger areas."
    )


@dataclass
class _Coverage:
    """The tier x cohort grid: the frame, and what the patchwork figures need from it."""

    frame: pd.DataFrame
    gap_cells: np.ndarray  # (n_sel, n_cells) bool
    provided_anywhere: np.ndarray  # (n_cells,) bool
    tier_m: np.ndarray  # (distinct tier tuples, tiers) bool
    t_codes: np.ndarray  # per service: its tier tuple's row of tier_m


def _coverage(table: _ServiceTable, reach: _Reach, area_set: _AreaSet, config: Config) -> _Coverage:
    """Services per selected area and (tier, cohort) cell, and the cells that are patchwork
    gaps: none here while another selected area has at least one.

    Counted per distinct (tiers, cohorts) pair of tuples, then spread to cells by a matrix
    product, so no loop runs per service.
    """
    links, n_sel = reach.links, area_set.n_sel
    tiers, cohorts = list(config.tiers), list(config.cohorts)
    t_codes, t_uni = pd.factorize(table.cols["tiers"], use_na_sentinel=False)
    c_codes, c_uni = pd.factorize(table.cols["cohorts"], use_na_sentinel=False)
    tier_m = _membership(list(t_uni), tiers)
    cohort_m = _membership(list(c_uni), cohorts)
    n_cells = len(tiers) * len(cohorts)
    n_combo = len(t_uni) * len(c_uni)
    combo_cells = (tier_m[:, None, :, None] & cohort_m[None, :, None, :]).reshape(n_combo, n_cells)
    combo = t_codes * len(c_uni) + c_codes
    sel_of_area = np.full(area_set.n, -1)
    sel_of_area[area_set.sel_pos] = np.arange(n_sel)
    in_sel = area_set.selected[links.area]
    key = sel_of_area[links.area[in_sel]] * n_combo + combo[links.svc[in_sel]]
    per_combo = np.bincount(key, minlength=n_sel * n_combo).reshape(n_sel, n_combo)
    counts = per_combo @ combo_cells.astype(np.int64) if n_combo else np.zeros((n_sel, n_cells), int)
    if len(links.star):  # every `*` service serves every area
        counts = counts + combo_cells[combo[links.star]].sum(axis=0, dtype=np.int64)[None, :]
    provided_anywhere = counts.sum(axis=0) > 0
    gap_cells = (counts == 0) & provided_anywhere[None, :]
    frame = pd.DataFrame(
        {
            "area_code": _text(area_set.sel_codes, np.repeat(np.arange(n_sel), n_cells)),
            "area_name": _text(area_set.sel_names, np.repeat(np.arange(n_sel), n_cells)),
            "tier": _text(
                np.array(tiers, dtype=object), np.tile(np.repeat(np.arange(len(tiers)), len(cohorts)), n_sel)
            ),
            "cohort": _text(
                np.array(cohorts, dtype=object), np.tile(np.arange(len(cohorts)), len(tiers) * n_sel)
            ),
            "services": counts.reshape(-1).astype(np.int64),
            "patchwork_gap": gap_cells.reshape(-1),
        }
    )
    return _Coverage(frame, gap_cells, provided_anywhere, tier_m, t_codes)


def _patchwork_indices(
    coverage: _Coverage, patch_pop: np.ndarray, area_set: _AreaSet
) -> tuple[float | None, float | None]:
    """(patchwork index, population-weighted index): the share of (selected area x cell
    provided anywhere in the selection) that are gaps, plainly and weighted by population.
    """
    n_sel = area_set.n_sel
    n_provided = int(coverage.provided_anywhere.sum())
    n_gaps = int(coverage.gap_cells.sum())
    index = n_gaps / (n_sel * n_provided) if n_provided and n_sel else None
    sel_pop = np.nan_to_num(patch_pop[area_set.sel_pos], nan=0.0)
    sel_pop = np.where(sel_pop > 0, sel_pop, 0.0)
    if n_provided and sel_pop.sum() > 0:
        gaps_per_area = coverage.gap_cells.sum(axis=1)
        weighted = float((gaps_per_area * sel_pop).sum() / (sel_pop.sum() * n_provided))
    else:
        weighted = None
    return index, weighted


def _tier_shares(
    table: _ServiceTable,
    reach: _Reach,
    coverage: _Coverage,
    pop_share: np.ndarray,
    star_pop_share: np.ndarray,
    area_set: _AreaSet,
    config: Config,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Each tier's share of the services serving the selection and, per unit, of their capacity
    that reaches it (shared by the patchwork population); a service with n tiers counts 1/n in
    each. Returns (tier shares, capacity total per unit).
    """
    tiers = list(config.tiers)
    tier_m = coverage.tier_m
    n_tiers_of = tier_m.sum(axis=1)
    tier_frac = np.divide(
        tier_m, n_tiers_of[:, None], out=np.zeros(tier_m.shape), where=n_tiers_of[:, None] > 0
    )
    frac = tier_frac[coverage.t_codes] if table.n else np.zeros((0, len(tiers)))
    serving_sel = reach.serving_sel
    n_serving = int(serving_sel.sum())
    svc_by_tier = frac[serving_sel].sum(axis=0)
    in_sel = area_set.selected[reach.links.area]
    sel_fraction = np.bincount(reach.links.svc, pop_share * in_sel, minlength=table.n).astype(float)
    sel_fraction[reach.is_star] = star_pop_share[area_set.selected].sum()
    cap_in_sel = np.where(np.isfinite(table.capacity), table.capacity, 0.0) * sel_fraction
    unit_codes, unit_names = pd.factorize(table.units)
    unit_totals = np.bincount(unit_codes, cap_in_sel, minlength=len(unit_names))
    cap_units = sorted((str(u), k) for k, u in enumerate(unit_names) if unit_totals[k] > 0)
    cap_totals = {u: float(unit_totals[k]) for u, k in cap_units}
    shares: dict[str, Any] = {}
    for j, tier in enumerate(tiers):
        by_unit = np.bincount(unit_codes, frac[:, j] * cap_in_sel, minlength=len(unit_names))
        shares[tier] = {
            "label": config.tiers[tier].get("label", tier),
            "services": _json_number(svc_by_tier[j] / n_serving) if n_serving else None,
            "service_count": float(svc_by_tier[j]),
            "capacity": {u: _json_number(by_unit[k] / unit_totals[k]) for u, k in cap_units},
        }
    return shares, cap_totals


def _access_origin_text(weighted: np.ndarray, n_sel: int) -> str:
    """Where access distances are measured from, in words."""
    if weighted.all() and n_sel:
        return "population-weighted centre of small areas"
    if not weighted.any():
        return "a point inside each area"
    return "population-weighted centre where small-area populations exist, else a point inside the area"


def analyse(
    areas: gpd.GeoDataFrame,
    population: pd.DataFrame,
    services: gpd.GeoDataFrame,
    config: Config,
    *,
    profile: str | None = None,
    service_filter: ServiceFilter | None = None,
    selection: Sequence[str] | None = None,
    small_area_population: pd.DataFrame | None = None,
    population_vintage: str | None = None,
) -> GapAnalysis:
    """Score every benchmark, the tier x cohort patchwork and access for a selection of areas.

    Parameters
    ----------
    areas
        area_code, area_name, geometry (EPSG:4326): the whole dataset. Sharing of services
        (including `*` services) is computed over all of it.
    population
        area_code + one numeric column per denominator.
    services
        Normalised services (`gapmap.schema.SERVICE_COLUMNS`).
    config
        The vocabulary and benchmark profiles.
    profile
        Profile id; None for the config's default profile.
    service_filter
        Which services to count; None for all.
    selection
        Area codes forming the selection (a partnership); None for every area.
    small_area_population
        Optional area_code, population rows (e.g. LSOA centroids) with their points as BNG
        `x`, `y` metres or as `lon`, `lat`: access is then measured from each area's
        population-weighted centre. `gapmap.dataset` fills it from the built-in LSOAs for England's districts.
    population_vintage
        A vintage id (`census2021`, `mye2023`…) to read every denominator from when the table
        has it; None for the most recent official figure present
        (`gapmap.population.resolve_denominators`).

    Returns
    -------
    GapAnalysis
    """
    prof = config.profile(profile)
    flt = service_filter or ServiceFilter()
    svc = services if flt.is_empty else flt.apply(services)
    areas, svc = _in_wgs84(areas, svc)
    area_set = _area_set(areas, selection)
    pop, provenance, notes = _population_table(population, config, area_set.index, population_vintage)
    patch_col, patch_pop = _patchwork_population(pop, config, area_set.n, notes)

    table = _service_table(svc, config)
    where = _locate(svc)
    links = _assign(table.cols, where, area_set.geometry, area_set.index)
    reach = _reach(links, table, patch_pop, area_set, config.min_confidential_population)
    withheld_note = _withheld_note(reach.withheld, config)
    if withheld_note:
        notes.append(withheld_note)

    blocks, bench_summary = [], {}
    for bench in prof.benchmarks:
        block, entry = _score_benchmark(bench, config, reach, pop, table, area_set, notes, provenance)
        blocks.append(block)
        bench_summary[bench.id] = entry
    gaps = _gaps_frame(blocks, area_set.sel_codes, area_set.sel_names)

    coverage = _coverage(table, reach, area_set, config)
    patchwork_index, patchwork_weighted = _patchwork_indices(coverage, patch_pop, area_set)
    _, pop_share, _ = _shares(reach.links, np.ones(len(reach.links.svc), dtype=bool), patch_pop, table.n)
    star_pop_share, _ = _star_weights(patch_pop)
    tier_shares, cap_totals = _tier_shares(
        table, reach, coverage, pop_share, star_pop_share, area_set, config
    )

    # Nearest services among those serving the selection: a Preston profile never names a
    # Leicestershire service 150 km away as its nearest.
    access, access_weighted = _access(
        table.cols,
        where,
        table.types,
        area_set.geometry,
        area_set.index,
        area_set.sel_pos,
        area_set.sel_codes,
        area_set.sel_names,
        small_area_population,
        reach.serving_sel,
    )

    summary = {
        "profile": {"id": prof.id, "label": prof.label, "caveat": prof.caveat},
        "population_vintage": population_vintage or "most recent official figure present",
        "denominators": {
            d: {k: v for k, v in p.items() if k != "frame_column"} | {"text": denominator_text(p)}
            for d, p in provenance.items()
        },
        "filters": flt.describe(),
        "filter": flt.to_dict(),
        "selection": [str(c) for c in area_set.sel_codes],
        "areas_selected": area_set.n_sel,
        "areas_in_dataset": area_set.n,
        "services_in": len(services),
        "services_after_filter": table.n,
        "unassigned_services": int((~reach.assigned & ~reach.withheld).sum()),
        "withheld_confidential": {
            "services": int(reach.withheld.sum()),
            "not_counted_anywhere": int((reach.withheld & reach.assigned_before & ~reach.assigned).sum()),
            "min_area_population": config.min_confidential_population,
            "population": patch_col,
            "note": withheld_note,
        },
        "services_serving_selection": int(reach.serving_sel.sum()),
        "patchwork_index": _json_number(patchwork_index),
        "patchwork_index_weighted": _json_number(patchwork_weighted),
        "patchwork_population": patch_col,
        "patchwork_gaps": int(coverage.gap_cells.sum()),
        "patchwork_cells_provided": int(coverage.provided_anywhere.sum()),
        "tier_shares": tier_shares,
        "tier_capacity_totals": cap_totals,
        "benchmarks": bench_summary,
        "access_origin": _access_origin_text(access_weighted, area_set.n_sel),
        "notes": notes,
    }
    # Built only when read (see `_LazyAssignments`).
    assignments = _LazyAssignments(
        reach.links.svc,
        reach.links.area,
        pop_share,
        reach.links.land_share,
        reach.links.method,
        reach.links.star,
        star_pop_share,
        table.ids.to_numpy(dtype=object),
        area_set.codes,
    )
    return GapAnalysis(
        gaps=gaps,
        coverage=coverage.frame,
        access=access,  # read as a frame (_BuiltOnRead)
        summary=summary,
        assignments=assignments,  # read as a frame (_BuiltOnRead)
        profile=prof,
        selection=tuple(str(c) for c in area_set.sel_codes),
        service_filter=flt,
    )


def _score_benchmark(
    bench: Benchmark,
    config: Config,
    reach: _Reach,
    pop: _Population,
    table: _ServiceTable,
    area_set: _AreaSet,
    notes: list[str],
    provenance: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rows (as arrays) and the summary entry for one benchmark."""
    is_type = table.type_codes.isin(bench.service_types)
    # The same on every row: a per-area count would place the withheld services.
    n_withheld = int((is_type & reach.withheld).sum())
    prov, source_text = _denominator_source(bench, pop, provenance)
    entry = _benchmark_entry(bench, prov, source_text, n_withheld)
    if bench.scope == "selection":
        return _score_selection_scope(
            bench, config, is_type, reach.serving_sel, entry, source_text, n_withheld
        )

    denom = pop.get(bench.denominator)
    if denom is None:
        denom = np.full(area_set.n, np.nan)
        notes.append(
            f"The population table has no `{bench.denominator}` column: benchmark `{bench.id}` has no data."
        )
    value, unmeasured = _counted_value(bench, is_type, table, reach.serving_sel, entry, notes)
    provided_all_areas, unmeasured_area, fallback_in_sel = _provided_per_area(
        reach, is_type, denom, value, unmeasured, area_set.n
    )
    d = denom[area_set.sel_pos]
    rows = _area_rows(bench, config, d, provided_all_areas[area_set.sel_pos])
    has, required, provided = rows[6], rows[1], rows[2]
    all_row = _all_row(config, d, required, provided, has)
    d_all, req_all, prov_all, ratio_all, short_all, status_all = all_row
    unmeasured_all = int((unmeasured & reach.serving_sel).sum())
    if fallback_in_sel:
        notes.append(
            f"Benchmark `{bench.id}`: {fallback_in_sel} service(s) serve only areas without "
            f"`{bench.denominator}`; their capacity was split by land share (equally for a list of areas)."
        )
    entry.update(
        denominator_total=_json_number(d_all),
        required=_json_number(req_all),
        provided=_json_number(prov_all),
        ratio=_json_number(ratio_all),
        shortfall=_json_number(short_all),
        status=status_all,
        unmeasured_services=unmeasured_all,
        services_counted=int((is_type & reach.serving_sel).sum()),
        split_without_denominator=fallback_in_sel,
        # Like with like: capacity landing in areas without the denominator (only possible
        # through the equal-split fallback) is reported here, not set against others' need.
        provided_without_denominator=float(provided[~has].sum()),
        areas_without_denominator=int((~has).sum()),
    )
    block = {
        "bench": bench,
        "source_text": source_text,
        "area": (*rows[:6], unmeasured_area[area_set.sel_pos]),
        "all": (*all_row, unmeasured_all),
        "withheld": n_withheld,
    }
    return block, entry


def _denominator_source(
    bench: Benchmark, pop: _Population, provenance: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any] | None, str]:
    """Where the benchmark's denominator comes from, and that in words for every row.

    A custom benchmark may name a plain numeric column of the population table instead of a
    denominator of the vocabulary; a selection-scope benchmark has no denominator.
    """
    prov = provenance.get(bench.denominator or "") if bench.denominator else None
    if bench.denominator and prov is None and bench.denominator in pop.columns:
        prov = {"denominator": bench.denominator, "label": bench.denominator, "column": bench.denominator}
    source_text = denominator_text(prov) if bench.scope == "area" else denominator_text(None)
    return prov, source_text


def _benchmark_entry(
    bench: Benchmark, prov: dict[str, Any] | None, source_text: str, n_withheld: int
) -> dict[str, Any]:
    """The summary entry's description of the benchmark (the figures are added after scoring)."""
    return {
        "label": bench.label,
        "definition": benchmark_definition(bench),
        "citation": bench.citation,
        "publisher": bench.publisher,
        "title": bench.title,
        "year": bench.year,
        "scope_note": bench.scope_note,
        "seed_reference": bench.seed,
        "presence": bench.is_presence,
        "denominator_source": source_text,
        "denominator_column": (prov or {}).get("column"),
        "denominator_vintage": (prov or {}).get("vintage_label"),
        "source": bench.source,
        "measure": bench.measure,
        "unit": bench.unit,
        "scope": bench.scope,
        "denominator": bench.denominator,
        "service_types": list(bench.service_types),
        "withheld_confidential": n_withheld,
    }


def _score_selection_scope(
    bench: Benchmark,
    config: Config,
    is_type: np.ndarray,
    serving_sel: np.ndarray,
    entry: dict[str, Any],
    source_text: str,
    n_withheld: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An "at least n" benchmark: one ALL row, provided = distinct services of its types
    serving any selected area, required = the minimum (nothing required: green).
    """
    provided = float((is_type & serving_sel).sum())
    required = float(bench.minimum or 0)
    ratio = provided / required if required else math.nan
    status = config.status_for(ratio) if required else "green"
    entry.update(
        required=required,
        provided=provided,
        ratio=_json_number(ratio),
        shortfall=max(required - provided, 0.0),
        status=status,
        unmeasured_services=0,
        services_counted=int(provided),
    )
    if bench.regional:
        entry["scored_for"] = REGIONAL_NOTE
    block = {
        "bench": bench,
        "source_text": source_text,
        "area": None,
        "all": (math.nan, required, provided, ratio, max(required - provided, 0.0), status, 0),
        "withheld": n_withheld,
    }
    return block, entry


def _counted_value(
    bench: Benchmark,
    is_type: np.ndarray,
    table: _ServiceTable,
    serving_sel: np.ndarray,
    entry: dict[str, Any],
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """What each service adds to the benchmark (its capacity, or 1 for a count) and which of
    its services are unmeasured (no capacity, or capacity in another unit: units are never
    converted, and those left out are named in the entry and a note).
    """
    if bench.measure != "capacity":
        return is_type.astype(float), np.zeros(table.n, dtype=bool)
    units, capacity = table.units, table.capacity
    unit_ok = (units == "") | (units == bench.unit)
    measured = is_type & np.isfinite(capacity) & unit_ok
    other_unit = is_type & ~unit_ok & serving_sel
    if other_unit.any():  # a bedspace is not a family place
        counts = pd.Series(units[other_unit]).value_counts()
        entry["not_counted_units"] = {str(u): int(n) for u, n in counts.items()}
        listed = ", ".join(f"{n} in {unit_label(u) or u} ({u})" for u, n in counts.items())
        notes.append(
            f"{bench.label}: {int(other_unit.sum())} service(s) give their capacity in another unit "
            f"({listed}), not {unit_label(bench.unit) or bench.unit} ({bench.unit}); they are not "
            "counted, because units are never converted. Give their capacity in "
            f"{bench.unit} to count them."
        )
    return np.where(measured, capacity, 0.0), is_type & ~measured


def _provided_per_area(
    reach: _Reach,
    is_type: np.ndarray,
    denom: np.ndarray,
    value: np.ndarray,
    unmeasured: np.ndarray,
    n_areas: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Each area's share of the benchmark's services, over the whole dataset: (provided per
    area, unmeasured services per area, services serving the selection that fell back to a
    split by land share because none of their areas has the denominator).

    `*` services are added in closed form (every area's share of the dataset's denominator),
    not as a link per area.
    """
    links, n_svc = reach.links, len(value)
    li, share, fallback = _shares(links, is_type[links.svc], denom, n_svc)
    ls, la = links.svc[li], links.area[li]
    # (bincount of nothing is int64, hence the cast)
    provided = np.bincount(la, value[ls] * share, minlength=n_areas).astype(float)
    unmeasured_area = np.bincount(la, unmeasured[ls], minlength=n_areas).astype(np.int64)
    fallback_in_sel = int(reach.serving_sel[fallback].sum()) if len(fallback) else 0
    star_here = is_type & reach.is_star
    if star_here.any():
        star_share, star_fallback = _star_weights(denom)
        provided += value[star_here].sum() * star_share
        unmeasured_area += int((unmeasured & reach.is_star).sum())
        if star_fallback:
            fallback_in_sel += int((star_here & reach.serving_sel).sum())
    return provided, unmeasured_area, fallback_in_sel


def _area_rows(
    bench: Benchmark, config: Config, d: np.ndarray, provided: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The selected areas' rows: (denominator, required, provided, ratio, shortfall, status,
    has denominator). No denominator: no_data; nothing required: ratio NaN and green.
    """
    has = np.isfinite(d)
    required = np.where(has, d * (bench.target or 0.0) / (bench.per or 1.0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has & (required > 0), provided / np.where(required > 0, required, 1.0), np.nan)
    shortfall = np.where(has, np.maximum(required - provided, 0.0), np.nan)
    status = _status(config, ratio, np.nan_to_num(required, nan=-1.0), has)
    return d, required, provided, ratio, shortfall, status, has


def _all_row(
    config: Config, d: np.ndarray, required: np.ndarray, provided: np.ndarray, has: np.ndarray
) -> tuple[float, float, float, float, float, str]:
    """The ALL row over the selected areas that have the denominator: sums, and the ratio of
    the sums. Returns (denominator, required, provided, ratio, shortfall, status).
    """
    if not has.any():
        return math.nan, math.nan, float(provided[has].sum()), math.nan, math.nan, "no_data"
    d_all = float(d[has].sum())
    req_all = float(required[has].sum())
    prov_all = float(provided[has].sum())
    ratio_all = prov_all / req_all if req_all > 0 else math.nan
    status = "green" if req_all == 0 else config.status_for(ratio_all)
    return d_all, req_all, prov_all, ratio_all, max(req_all - prov_all, 0.0), status


def _gaps_frame(blocks: list[dict[str, Any]], sel_codes: np.ndarray, sel_names: np.ndarray) -> pd.DataFrame:
    """One frame from the per-benchmark arrays: each benchmark's area rows, then its ALL row.

    Text columns are built from row indices into short label arrays (one Arrow `take` each):
    33,755 small areas x 7 benchmarks is 236,000 rows, and converting a Python string per
    cell was most of the frame's cost.
    """
    if not blocks:  # a profile without benchmarks: an empty frame, as it always was
        empty = {c: np.zeros(0) for c in GAPS_COLUMNS if c not in _TEXT_EXTRA}
        extra = {c: np.full(0, "", dtype=object) for c in _TEXT_EXTRA}
        return pd.DataFrame(empty | extra, columns=list(GAPS_COLUMNS))
    n_sel = len(sel_codes)
    row_area: list[np.ndarray] = []  # position in the selection; n_sel for the ALL row
    row_bench: list[np.ndarray] = []
    values: list[list[np.ndarray]] = [[] for _ in range(7)]  # the 7 fields of block["all"]
    for k, block in enumerate(blocks):
        if block["area"] is None:  # selection scope: the ALL row only
            fields = [np.array([v], dtype=object if i == 5 else None) for i, v in enumerate(block["all"])]
            row_area.append(np.array([n_sel]))
        else:
            fields = [
                np.append(np.asarray(col, dtype=object if i == 5 else None), v)
                for i, (col, v) in enumerate(zip(block["area"], block["all"], strict=True))
            ]
            row_area.append(np.arange(n_sel + 1))
        row_bench.append(np.full(len(fields[0]), k))
        for acc, field_values in zip(values, fields, strict=True):
            acc.append(field_values)
    areas = np.concatenate(row_area)
    bench = np.concatenate(row_bench)
    withheld = np.array([block["withheld"] for block in blocks], dtype=np.int64)[bench]
    d, req, prov, ratio, short, status, unmeasured = (np.concatenate(v) for v in values)
    one = np.zeros(len(areas), dtype=np.int64)
    data = {
        "area_code": _text(np.append(np.asarray(sel_codes, dtype=object), ALL_CODE), areas),
        "area_name": _text(np.append(np.asarray(sel_names, dtype=object), ALL_NAME), areas),
        "benchmark_id": _text(np.array([b["bench"].id for b in blocks], dtype=object), bench),
        "benchmark_label": _text(np.array([b["bench"].label for b in blocks], dtype=object), bench),
        "denominator": d.astype(float),
        "denominator_source": _text(np.array([b["source_text"] for b in blocks], dtype=object), bench),
        "required": req.astype(float),
        "provided": prov.astype(float),
        "ratio": ratio.astype(float),
        "shortfall": short.astype(float),
        "status": _text(*_factorised(status)),
        "unmeasured_services": unmeasured.astype(np.int64),
        "withheld_confidential": withheld,
        "basis": _text(np.array(["population"], dtype=object), one),
        "period": _text(np.array([""], dtype=object), one),
        "reading": _text(np.array([""], dtype=object), one),
    }
    return pd.DataFrame(data, columns=list(GAPS_COLUMNS))


_TEXT_EXTRA = ("basis", "period", "reading")


def _factorised(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct labels, index of each value): the arguments `_text` takes."""
    codes, uniques = pd.factorize(values)
    return np.asarray(uniques, dtype=object), codes


def _access(
    svc: pd.DataFrame,
    where: _Locations,
    types: np.ndarray,
    geometry: _AreaGeometry,
    area_index: pd.Index,
    sel_pos: np.ndarray,
    sel_codes: np.ndarray,
    sel_names: np.ndarray,
    small_area_population: pd.DataFrame | None,
    serving: np.ndarray | None = None,
) -> tuple[_LazyAccess, np.ndarray]:
    """Distance (km) from each selected area's origin to the nearest public service of each
    type, measured when first read, and whether each origin is population-weighted.

    Only services marked in `serving` (those serving the selection) are candidates.
    """
    public = where.located & ~svc["confidential"].fillna(False).astype(bool).to_numpy(dtype=bool)
    if serving is not None:
        public &= serving
    ox, oy, weighted = _representative_points(geometry, area_index, sel_pos, small_area_population)
    lazy = _LazyAccess(ox, oy, where.lon[public], where.lat[public], types[public], sel_codes, sel_names)
    return lazy, weighted


def _nearest_by_group(
    ox: np.ndarray, oy: np.ndarray, px: np.ndarray, py: np.ndarray, group: np.ndarray, n_groups: int
) -> np.ndarray:
    """(n_groups, n_origins) distance from each origin to the nearest point of each group.

    Exact brute force over blocks of origins: for a few hundred areas and ten thousand
    services this is as fast as a nearest-neighbour tree per service type, needs no loop over
    types, and memory stays small (blocks of `_BLOCK`).
    """
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(n_groups))
    # float32 halves the memory traffic; centred BNG coordinates (< 700 km) keep ~5 cm.
    x0, y0 = float(np.mean(px)), float(np.mean(py))
    sx = (px[order] - x0).astype(np.float32)
    sy = (py[order] - y0).astype(np.float32)
    ox = (ox - x0).astype(np.float32)
    oy = (oy - y0).astype(np.float32)
    out = np.empty((n_groups, len(ox)))
    if len(sx) > _STRIP_SERVICES_PER_ORIGIN * len(ox):
        ends = np.append(starts[1:], len(sx))
        for g in range(n_groups):
            out[g] = _nearest_in_strips(ox, oy, sx[starts[g] : ends[g]], sy[starts[g] : ends[g]])
        return out
    block = max(1, 4 * _BLOCK // max(len(sx), 1))  # float32 cells: see `_BLOCK`
    for b in range(0, len(ox), block):  # blocks of areas, not services
        d2 = ox[b : b + block, None] - sx[None, :]
        d2 *= d2
        dy = oy[b : b + block, None] - sy[None, :]
        dy *= dy
        d2 += dy
        out[:, b : b + block] = np.sqrt(np.minimum.reduceat(d2, starts, axis=1).astype(float)).T
    return out


#: With more than this many services per origin, `_nearest_by_group` looks only at the services
#: in a strip around each origin (`_nearest_in_strips`) instead of at every service: 296
#: districts x a million services is 296 million distances (0.45 s; strips 0.19 s). Below it
#: (measured crossover about 700: 296 x 200,000) the brute force is faster, and always for
#: small areas, whose origins are many.
_STRIP_SERVICES_PER_ORIGIN = 700

#: Services per group sampled for the first, upper-bound distances of `_nearest_in_strips`.
_STRIP_SAMPLE = 2048


def _nearest_in_strips(ox: np.ndarray, oy: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Distance from each origin to its nearest point: the value the brute force gives, exactly.

    All coordinates are float32 (as `_nearest_by_group` makes them). The distance to any point
    of a sample bounds the nearest distance U from above; the float32 formula's few roundings
    change a squared distance by a relative 3e-7 at most, so the point with the smallest
    float32 value lies within U (1 + 1e-6) + 1 mm, and hence within that much in x: among the
    points of that vertical strip (a binary search in the points sorted by x) the same float32
    formula is minimised, so the minimum is the brute force's own. An origin without a strip
    (not a finite point) is measured against every point, as the brute force does.
    """
    order = np.argsort(sx, kind="stable")
    xs, ys = sx[order], sy[order]
    step = max(1, len(xs) // _STRIP_SAMPLE)
    ax, ay = xs[::step].astype(float), ys[::step].astype(float)
    ox64, oy64 = ox.astype(float), oy.astype(float)
    bound = np.sqrt(((ox64[:, None] - ax[None, :]) ** 2 + (oy64[:, None] - ay[None, :]) ** 2).min(axis=1))
    width = bound * (1.0 + 1e-6) + 1e-3
    lo = np.searchsorted(xs, ox64 - width, side="left")
    hi = np.searchsorted(xs, ox64 + width, side="right")
    out = np.empty(len(ox))
    empty = hi <= lo
    lo[empty], hi[empty] = 0, len(xs)
    for i in range(len(ox)):  # origins (areas), not services
        d2 = ox[i] - xs[lo[i] : hi[i]]
        d2 *= d2
        dy = oy[i] - ys[lo[i] : hi[i]]
        dy *= dy
        d2 += dy
        out[i] = np.sqrt(float(d2.min()))
    return out


def worst_served(access: pd.DataFrame, service_type: str, n: int = 5) -> pd.DataFrame:
    """The `n` selected areas farthest from their nearest service of `service_type`."""
    rows = access[access["service_type"] == service_type]
    return (
        rows.sort_values(["nearest_km", "area_code"], ascending=[False, True]).head(n).reset_index(drop=True)
    )


def services_serving(analysis: GapAnalysis, services: gpd.GeoDataFrame, area_code: str) -> gpd.GeoDataFrame:
    """The services that serve `area_code` in `analysis`, confidential locations redacted.

    The rows carry a `share` column: the share of each service the area gets when shared by
    `analysis.summary["patchwork_population"]`.
    """
    a = analysis.assignments
    rows = a[a["area_code"] == str(area_code)]
    share = rows.groupby("service_id")["weight"].sum()
    ids = services["service_id"].astype(str)
    out = services.loc[ids.isin(share.index).to_numpy()].copy()
    out["share"] = ids[ids.isin(share.index)].map(share).to_numpy(dtype=float)
    return redact_confidential(out)
