"""Small-area access: a two-step floating catchment (2SFCA) score per small area (LSOA), and
how many of each district's residents live beyond a chosen distance of any service of a type.

Definitions (pysal/access's `two_stage_fca`, after Luo and Wang 2003; decay after Dai 2010):

1. For each service *j*: the population within its catchment,
   ``D_j = sum over small areas i with cost(i, j) <= catchment of w(cost) * P_i``, and its
   supply-to-demand ratio ``R_j = S_j / D_j`` (a service with nobody in reach adds nothing).
2. For each small area *i*: ``A_i = sum over services j with cost(i, j) <= catchment of
   w(cost) * R_j``, written per 100,000 residents (`PER`): "services per 100,000 residents
   within reach". ``S_j`` is 1 per service (a count): capacities are in units that cannot be
   added up (FTE, family places...).

``w`` is 1 (no decay, the default), ``linear`` (``1 - cost / catchment``) or ``gaussian``
(Dai's Gaussian: 1 at the origin, 0 at the catchment edge).

Cost is the **straight-line distance in km** between British National Grid points (the small
area's geometric centroid and the service's location) unless a travel-time file gives minutes
instead (`load_travel_times`); every output says which (`AccessResult.basis`). The code cannot
tell whether you mixed units: the catchment and the "beyond" threshold are read in the cost's
unit.

Confidentiality: only located, **non-confidential** services count. A refuge never appears
here in any form, so no small-area figure can be differenced to find one.

Why not the `access` package itself: it works on a long table of every (origin, destination,
cost) row merged and grouped in pandas and needs scipy, which gapmap does not otherwise install;
for England (33,755 LSOAs x 10,000 services) that table would have 3.4e8 rows. Here a grid
bucketing finds only the pairs within the catchment and numpy `bincount` does both steps, with
the same definitions; `two_step_fca_naive` (plain loops over a full cost matrix) is the oracle
the tests compare it with.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gapmap.errors import GapmapInputError, Problem

#: Catchment radius, in the cost's unit (km straight-line, or minutes). Default is 20.
DEFAULT_CATCHMENT: float = 20.0
#: "Beyond" threshold for the district shares, in the cost's unit. Default is 15.
DEFAULT_BEYOND: float = 15.0
#: Distance decay: "none" (default), "linear" or "gaussian".
DECAYS: tuple[str, ...] = ("none", "linear", "gaussian")
#: Scores are written per this many residents. Default is 100,000.
PER: float = 100_000.0
#: The built-in small areas (England's LSOAs 2021), next to England's geography.
BUILT_IN_FILE = "small_areas.csv.gz"

SMALL_AREA_COLUMNS: tuple[str, ...] = (
    "small_area_code",
    "small_area_name",
    "district_code",
    "easting",
    "northing",
    "population",
)
SCORE_COLUMNS: tuple[str, ...] = (
    "small_area_code",
    "small_area_name",
    "district_code",
    "district_name",
    "service_type",
    "population",
    "nearest",
    "services_in_catchment",
    "score_per_100k",
    "beyond",
)
DISTRICT_COLUMNS: tuple[str, ...] = (
    "district_code",
    "district_name",
    "service_type",
    "population",
    "population_beyond",
    "share_beyond",
    "small_areas",
    "small_areas_beyond",
)

#: Header variants recognised in a small-areas file (lower-cased).
_ALIASES: dict[str, tuple[str, ...]] = {
    "small_area_code": ("small_area_code", "lsoa21_code", "lsoa21cd", "lsoa_code", "code"),
    "small_area_name": ("small_area_name", "lsoa21_name", "lsoa21nm", "lsoa_name", "name"),
    "district_code": ("district_code", "area_code", "ltla24_code", "lad24cd", "lad24_code"),
    "population": ("population", "census21_usual_residents", "usual_residents", "persons"),
    "easting": ("easting", "bng_easting", "x"),
    "northing": ("northing", "bng_northing", "y"),
    "lon": ("lon", "longitude", "centroid_lon", "long"),
    "lat": ("lat", "latitude", "centroid_lat"),
}
_TRAVEL_ALIASES: dict[str, tuple[str, ...]] = {
    "small_area_code": ("small_area_code", "origin", "lsoa21_code"),
    "service_id": ("service_id", "destination", "dest"),
    "minutes": ("minutes", "cost", "travel_time_minutes"),
}


@dataclass(frozen=True)
class AccessSettings:
    """Catchment, threshold and decay, in the unit of the cost (km or minutes)."""

    catchment: float = DEFAULT_CATCHMENT
    beyond: float = DEFAULT_BEYOND
    decay: str = "none"

    def __post_init__(self) -> None:
        problems = []
        if not (np.isfinite(self.catchment) and self.catchment > 0):
            problems.append(f"`catchment` was {self.catchment!r} but is expected to be a number above 0")
        if not (np.isfinite(self.beyond) and self.beyond >= 0):
            problems.append(f"`beyond` was {self.beyond!r} but is expected to be a number of 0 or more")
        if self.decay not in DECAYS:
            problems.append(f"`decay` was {self.decay!r} but is expected to be one of {list(DECAYS)}")
        if problems:
            raise GapmapInputError([Problem("settings", p) for p in problems], file="settings")


@dataclass
class AccessResult:
    """What `small_area_access` returns.

    Attributes
    ----------
    scores
        One row per selected small area x service type (`SCORE_COLUMNS`): `nearest` is the cost
        to the nearest counted service of the type (inf when none is reachable), `score_per_100k`
        the 2SFCA score, `beyond` whether `nearest` exceeds the threshold.
    districts
        One row per selected district x service type (`DISTRICT_COLUMNS`): the residents and
        small areas beyond the threshold, and their share.
    basis
        How cost was measured, in words, for every output ("Straight-line distance ...").
    unit
        "km" or "minutes".
    settings
        The catchment, threshold and decay used.
    services_counted
        Service type -> number of located, non-confidential services counted.
    notes
        Anything a reader should know (rows of a travel-time file that were ignored...).
    small_areas
        The selected small areas' rows of the input (with `x`, `y`), for maps.
    district_areas
        The selected districts' `area_code`, `area_name` and polygons, for maps (set by the
        caller: at tier-one or police-force level the report's areas are no longer districts).
    """

    scores: pd.DataFrame
    districts: pd.DataFrame
    basis: str
    unit: str
    settings: AccessSettings
    services_counted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    small_areas: pd.DataFrame | None = None
    district_areas: Any = None

    def describe(self) -> str:
        """One sentence for every output: cost basis, catchment, threshold, decay."""
        s = self.settings
        decay = "no distance decay" if s.decay == "none" else f"{s.decay} distance decay"
        return (
            f"{self.basis}. Access score: two-step floating catchment (services per 100,000 residents "
            f"within {s.catchment:g} {self.unit}, {decay}). Beyond: nearest service more than "
            f"{s.beyond:g} {self.unit} away. Only services with a public location count."
        )


# --------------------------------------------------------------------------- the 2SFCA itself


def decay_weights(cost: np.ndarray, catchment: float, decay: str = "none") -> np.ndarray:
    """Weight of each cost inside the catchment (1 at cost 0); 0 beyond the catchment."""
    cost = np.asarray(cost, dtype=float)
    inside = cost <= catchment
    if decay == "none":
        w = np.ones_like(cost)
    elif decay == "linear":
        w = 1.0 - cost / catchment
    elif decay == "gaussian":
        edge = np.exp(-0.5)
        w = (np.exp(-0.5 * (cost / catchment) ** 2) - edge) / (1.0 - edge)
    else:
        raise GapmapInputError(f"`decay` was {decay!r} but is expected to be one of {list(DECAYS)}")
    return np.where(inside, w, 0.0)


def fca_from_pairs(
    origin: np.ndarray,
    dest: np.ndarray,
    cost: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    catchment: float,
    decay: str = "none",
) -> np.ndarray:
    """2SFCA scores per origin from sparse (origin, destination, cost) pairs.

    Pairs with cost above the catchment are ignored, so a caller may pass every pair it has.

    Parameters
    ----------
    origin, dest, cost
        Equal-length arrays: small-area position, service position, cost between them.
    demand
        Population of each small area (length = number of small areas).
    supply
        Supply of each service (length = number of services).
    catchment, decay
        See the module docs.

    Returns
    -------
    numpy.ndarray
        ``A_i`` per small area (not yet multiplied by `PER`).
    """
    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    origin = np.asarray(origin, dtype=np.int64)
    dest = np.asarray(dest, dtype=np.int64)
    cost = np.asarray(cost, dtype=float)
    if decay == "none":  # weight 1 inside: skip the weight array (most of the time at scale)
        if len(cost) and cost.max() > catchment:
            keep = cost <= catchment
            origin, dest = origin[keep], dest[keep]
        reached = np.bincount(dest, demand[origin], minlength=len(supply))
        ratio = np.divide(supply, reached, out=np.zeros(len(supply)), where=reached > 0)
        return np.bincount(origin, ratio[dest], minlength=len(demand))
    w = decay_weights(cost, catchment, decay)
    keep = w > 0
    origin, dest, w = origin[keep], dest[keep], w[keep]
    reached = np.bincount(dest, w * demand[origin], minlength=len(supply))
    ratio = np.divide(supply, reached, out=np.zeros(len(supply)), where=reached > 0)
    return np.bincount(origin, w * ratio[dest], minlength=len(demand))


def two_step_fca_naive(
    cost: np.ndarray, demand: Sequence[float], supply: Sequence[float], catchment: float, decay: str = "none"
) -> list[float]:
    """The test oracle: plain loops over a full cost matrix (rows small areas, columns services).

    NaN or inf in `cost` means "not reachable". Follows the module docs word for word.
    """
    n_i, n_j = len(demand), len(supply)

    def weight(c: float) -> float:
        if not np.isfinite(c) or c > catchment:
            return 0.0
        if decay == "linear":
            return 1.0 - c / catchment
        if decay == "gaussian":
            edge = np.exp(-0.5)
            return float((np.exp(-0.5 * (c / catchment) ** 2) - edge) / (1.0 - edge))
        return 1.0

    ratios = []
    for j in range(n_j):
        reached = 0.0
        for i in range(n_i):
            reached += weight(float(cost[i][j])) * float(demand[i])
        ratios.append(float(supply[j]) / reached if reached > 0 else 0.0)
    scores = []
    for i in range(n_i):
        total = 0.0
        for j in range(n_j):
            total += weight(float(cost[i][j])) * ratios[j]
        scores.append(total)
    return scores


def straight_line_pairs(
    ox: np.ndarray, oy: np.ndarray, sx: np.ndarray, sy: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin, service, distance) for every pair within `radius` (same unit as the coordinates).

    Origins are binned on a square grid of side `radius`, so a service's pairs lie in the 3 x 3
    cells round its own; each of the nine neighbour offsets is one vectorised pass (sorted
    cell keys + `searchsorted`), so only about 9/pi times the true pairs are ever measured and
    never the full matrix. Faster than an STRtree `dwithin` query here, and it yields the
    distances at no extra cost.
    """
    ox, oy = np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)
    sx, sy = np.asarray(sx, dtype=float), np.asarray(sy, dtype=float)
    empty = np.zeros(0, dtype=np.int64)
    if len(ox) == 0 or len(sx) == 0:
        return empty, empty, np.zeros(0)
    x0 = min(ox.min(), sx.min())
    y0 = min(oy.min(), sy.min())
    ocx = np.floor((ox - x0) / radius).astype(np.int64) + 1  # +1: offsets of -1 stay >= 0
    ocy = np.floor((oy - y0) / radius).astype(np.int64) + 1
    scx = np.floor((sx - x0) / radius).astype(np.int64) + 1
    scy = np.floor((sy - y0) / radius).astype(np.int64) + 1
    height = int(max(ocy.max(), scy.max())) + 2
    order = np.argsort(ocx * height + ocy, kind="stable")
    keys = (ocx * height + ocy)[order]
    r2 = radius * radius
    parts_o, parts_s, parts_d = [], [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            key = (scx + dx) * height + (scy + dy)
            lo = np.searchsorted(keys, key, "left")
            counts = np.searchsorted(keys, key, "right") - lo
            total = int(counts.sum())
            if total == 0:
                continue
            svc = np.repeat(np.arange(len(sx)), counts)
            start = np.repeat(lo - (np.cumsum(counts) - counts), counts)
            origin = order[start + np.arange(total)]
            d2 = (ox[origin] - sx[svc]) ** 2 + (oy[origin] - sy[svc]) ** 2
            keep = d2 <= r2
            parts_o.append(origin[keep])
            parts_s.append(svc[keep])
            parts_d.append(np.sqrt(d2[keep]))
    if not parts_o:
        return empty, empty, np.zeros(0)
    return np.concatenate(parts_o), np.concatenate(parts_s), np.concatenate(parts_d)


# --------------------------------------------------------------------------- inputs


def _pick(columns: Iterable[str], aliases: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    return next((lower[a] for a in aliases if a in lower), None)


def _read_table(path: Path | str, label: str) -> pd.DataFrame:
    """A CSV (optionally gzipped) of up to `settings.MAX_BOUNDARY_BYTES`.

    Not `gapmap.tables.read_table`: a travel-time file has a row per pair in reach (millions
    for a county), far beyond the row limit meant for service lists.
    """
    from gapmap.settings import MAX_BOUNDARY_BYTES

    p = Path(path)
    try:
        if p.stat().st_size > MAX_BOUNDARY_BYTES:
            raise GapmapInputError(
                f"the {label} file is larger than {MAX_BOUNDARY_BYTES:,} bytes; gzip it or keep "
                "only the pairs within the catchment.",
                file=p.name,
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise GapmapInputError(
            f"could not read the {label} file ({exc.strerror}); check the path.", file=p.name
        ) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(MAX_BOUNDARY_BYTES * 4 + 1)  # a bomb stops here, not in memory
        except (OSError, EOFError):
            raise GapmapInputError(f"the {label} file is not a readable gzip file.", file=p.name) from None
        if len(raw) > MAX_BOUNDARY_BYTES * 4:
            raise GapmapInputError(f"the {label} file unpacks to too much data.", file=p.name)
    try:
        return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise GapmapInputError(
            f"the {label} file is not a readable CSV ({type(exc).__name__}); save it as CSV (UTF-8).",
            file=p.name,
        ) from None


def load_small_areas(path: Path | str | None = None) -> pd.DataFrame:
    """Small areas with their population and a point: the built-in LSOAs, or a CSV of your own.

    A file of your own needs one row per small area with `small_area_code` (or `lsoa21_code`),
    `district_code` (the code of the district it lies in, as in the boundaries),
    `population`, and either `easting` + `northing` (British National Grid metres) or `lon` +
    `lat` (WGS84); `small_area_name` is optional. Every problem is listed at once.

    Returns
    -------
    pandas.DataFrame
        `SMALL_AREA_COLUMNS` plus `x`, `y` (BNG metres, float); `small_area_lonlat` gives WGS84.
    """
    from gapmap.geography import data_dir
    from gapmap.projection import to_bng

    if path is None:
        frame = pd.read_csv(
            data_dir() / BUILT_IN_FILE,
            dtype={"small_area_code": str, "small_area_name": str, "district_code": str},
            keep_default_na=False,
        )
        x = frame["easting"].to_numpy(dtype=float)
        y = frame["northing"].to_numpy(dtype=float)
        frame["population"] = frame["population"].astype(float)
    else:
        name = Path(path).name
        raw = _read_table(path, "small-areas")
        cols = {k: _pick(raw.columns, v) for k, v in _ALIASES.items()}
        problems: list[Problem] = []
        for need in ("small_area_code", "district_code", "population"):
            if cols[need] is None:
                problems.append(
                    Problem(name, f"no `{need}` column; expected one of {list(_ALIASES[need])}.", column=need)
                )
        bng = cols["easting"] is not None and cols["northing"] is not None
        wgs = cols["lon"] is not None and cols["lat"] is not None
        if not (bng or wgs):
            problems.append(
                Problem(name, "no location: give `easting` + `northing` (BNG metres) or `lon` + `lat`.")
            )
        if problems:
            raise GapmapInputError(problems, file=name)
        code = raw[cols["small_area_code"]].str.strip()
        pop = pd.to_numeric(raw[cols["population"]], errors="coerce")
        a = pd.to_numeric(raw[cols["easting" if bng else "lon"]], errors="coerce")
        b = pd.to_numeric(raw[cols["northing" if bng else "lat"]], errors="coerce")
        for row in np.flatnonzero((code == "").to_numpy())[:20]:
            problems.append(
                Problem(
                    name, "empty code: give every small area a code.", int(row) + 2, cols["small_area_code"]
                )
            )
        for row in np.flatnonzero(code.duplicated(keep="first").to_numpy())[:20]:
            problems.append(
                Problem(
                    name,
                    "this code appears on an earlier row: one row per small area.",
                    int(row) + 2,
                    cols["small_area_code"],
                )
            )
        for row in np.flatnonzero(~(pop >= 0).to_numpy())[:20]:
            problems.append(
                Problem(name, "population must be a number of 0 or more.", int(row) + 2, cols["population"])
            )
        for row in np.flatnonzero(~(np.isfinite(a) & np.isfinite(b)).to_numpy())[:20]:
            problems.append(
                Problem(
                    name, "location must be two numbers.", int(row) + 2, cols["easting" if bng else "lon"]
                )
            )
        if problems:
            raise GapmapInputError(problems, file=name)
        frame = pd.DataFrame(
            {
                "small_area_code": code,
                "small_area_name": raw[cols["small_area_name"]] if cols["small_area_name"] else code,
                "district_code": raw[cols["district_code"]].str.strip(),
                "population": pop.astype(float),
            }
        )
        if bng:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        else:
            x, y = to_bng(a.to_numpy(dtype=float), b.to_numpy(dtype=float))
        frame["easting"], frame["northing"] = x, y
    frame["x"], frame["y"] = x, y
    return frame


def small_area_lonlat(small_areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon, lat of each small area's point (only maps need them, so not computed on load)."""
    from gapmap.projection import to_wgs84

    return to_wgs84(small_areas["x"].to_numpy(dtype=float), small_areas["y"].to_numpy(dtype=float))


def engine_small_area_population(small_areas: pd.DataFrame) -> pd.DataFrame:
    """Small areas (`load_small_areas`) as the engine's `small_area_population` rows.

    `area_code` is each small area's district, so `gapmap.engine.analyse` measures a
    district's access distances from the population-weighted centre of its small areas
    (where its residents live) instead of from an arbitrary point inside its polygon. The
    points are BNG `x`, `y`, the engine's own metres: no projection either way.
    """
    return pd.DataFrame(
        {
            "area_code": small_areas["district_code"].astype(str).to_numpy(dtype=object),
            "population": small_areas["population"].to_numpy(dtype=float),
            "x": small_areas["x"].to_numpy(dtype=float),
            "y": small_areas["y"].to_numpy(dtype=float),
        }
    )


@lru_cache(maxsize=1)
def _built_in_small_area_population() -> pd.DataFrame | None:
    from gapmap.geography import data_dir

    try:
        # Only the four columns the engine reads: the codes and names of 33,755 LSOAs are
        # most of the file's parsing time, and every `report` on England reads this.
        frame = pd.read_csv(
            data_dir() / BUILT_IN_FILE,
            usecols=["district_code", "population", "easting", "northing"],
            dtype={"district_code": str},
            keep_default_na=False,
        )
        small = pd.DataFrame(
            {
                "district_code": frame["district_code"],
                "population": frame["population"].astype(float),
                "x": frame["easting"].to_numpy(dtype=float),
                "y": frame["northing"].to_numpy(dtype=float),
            }
        )
        return engine_small_area_population(small)
    except (OSError, ValueError):  # a package installed without its data files, or a damaged one
        return None


def built_in_small_area_population() -> pd.DataFrame | None:
    """England's LSOAs 2021 (Census 2021 residents) as `small_area_population` for England's
    built-in districts (LAD 2024), or None when the built-in file is missing. Read once.
    """
    frame = _built_in_small_area_population()
    return None if frame is None else frame.copy()


def load_travel_times(path: Path | str) -> pd.DataFrame:
    """A travel-time file: `small_area_code`, `service_id`, `minutes` (one row per pair in reach).

    Pairs not in the file are read as not reachable. Header variants `origin`, `destination`,
    `cost` are accepted. Returns those three columns (minutes as float).
    """
    name = Path(path).name
    raw = _read_table(path, "travel-time")
    cols = {k: _pick(raw.columns, v) for k, v in _TRAVEL_ALIASES.items()}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        raise GapmapInputError(
            [
                Problem(name, f"no `{k}` column; expected one of {list(_TRAVEL_ALIASES[k])}.", column=k)
                for k in missing
            ],
            file=name,
        )
    minutes = pd.to_numeric(raw[cols["minutes"]], errors="coerce")
    bad = np.flatnonzero(~(minutes >= 0).to_numpy())
    if len(bad):
        raise GapmapInputError(
            [
                Problem(name, "minutes must be a number of 0 or more.", int(r) + 2, cols["minutes"])
                for r in bad[:20]
            ],
            file=name,
        )
    return pd.DataFrame(
        {
            "small_area_code": raw[cols["small_area_code"]].str.strip(),
            "service_id": raw[cols["service_id"]].str.strip(),
            "minutes": minutes.astype(float),
        }
    )


# --------------------------------------------------------------------------- the analysis


def _public_services(services: pd.DataFrame) -> pd.DataFrame:
    """Located, non-confidential services: x, y (BNG metres), service_type, service_id."""
    from gapmap.projection import to_bng

    if len(services) == 0:
        return pd.DataFrame({"service_id": [], "service_type": [], "x": [], "y": []})
    geoms = np.asarray(services.geometry.array, dtype=object)
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    confidential = pd.Series(services["confidential"]).fillna(False).astype(bool).to_numpy()
    keep = located & ~confidential
    g = geoms[keep]
    crs = getattr(services, "crs", None)
    if crs is not None and crs.to_epsg() == 27700:
        x, y = shapely.get_x(g), shapely.get_y(g)
    else:
        x, y = to_bng(shapely.get_x(g), shapely.get_y(g))
    return pd.DataFrame(
        {
            "service_id": services["service_id"].astype(str).to_numpy()[keep],
            "service_type": services["service_type"].astype(str).to_numpy()[keep],
            "x": x,
            "y": y,
        }
    )


def small_area_access(
    small_areas: pd.DataFrame,
    services: pd.DataFrame,
    *,
    selection: Sequence[str] | None = None,
    district_names: dict[str, str] | None = None,
    settings: AccessSettings | None = None,
    travel_times: pd.DataFrame | None = None,
) -> AccessResult:
    """Access per small area and the share of each district's residents beyond the threshold.

    Parameters
    ----------
    small_areas
        From `load_small_areas`: every small area of the dataset (catchments cross district
        borders, so residents just outside the selection still share its services).
    services
        Normalised services (after any filter); only located, non-confidential ones count.
    selection
        District codes whose small areas get rows; None for every district.
    district_names
        District code -> name for the outputs.
    settings
        Catchment, threshold and decay; defaults `AccessSettings()`.
    travel_times
        From `load_travel_times`: minutes replace straight-line km.

    Returns
    -------
    AccessResult
    """
    s = settings or AccessSettings()
    names = district_names or {}
    public = _public_services(services)
    notes: list[str] = []
    if travel_times is None:
        unit = "km"
        basis = "Straight-line distance (km) from each small area's centroid; not travel time"
    else:
        unit = "minutes"
        basis = "Travel time (minutes) from the travel-time file"

    districts = small_areas["district_code"].astype(str).to_numpy()
    if selection is None:
        chosen = np.ones(len(small_areas), dtype=bool)
    else:
        chosen = np.isin(districts, np.asarray(list(selection), dtype=object))
    sel_idx = np.flatnonzero(chosen)
    if selection is not None and len(selection) and not len(sel_idx):
        notes.append(
            "No small area lies in the selected areas (their codes differ from the small areas' "
            "`district_code`): small-area access is empty."
        )
    pop_all = small_areas["population"].to_numpy(dtype=float)
    x_all = small_areas["x"].to_numpy(dtype=float)
    y_all = small_areas["y"].to_numpy(dtype=float)

    type_codes, type_names = pd.factorize(public["service_type"], sort=True)
    counted = {str(t): int((type_codes == k).sum()) for k, t in enumerate(type_names)}
    sx, sy = public["x"].to_numpy(dtype=float), public["y"].to_numpy(dtype=float)
    n_types, n_sel = len(type_names), len(sel_idx)
    nearest = np.full((n_types, n_sel), np.inf)
    score = np.zeros((n_types, n_sel))
    in_reach = np.zeros((n_types, n_sel), dtype=np.int64)

    if travel_times is not None and n_sel and len(public):
        sa_pos = pd.Index(small_areas["small_area_code"].astype(str)).get_indexer(
            travel_times["small_area_code"]
        )
        sv_pos = pd.Index(public["service_id"]).get_indexer(travel_times["service_id"])
        ok = (sa_pos >= 0) & (sv_pos >= 0)
        if (~ok).any():
            notes.append(
                f"{int((~ok).sum()):,} travel-time rows name a small area not in the small-areas table "
                "or a service that is not counted (unknown, filtered out, without a location or "
                "confidential); they were ignored."
            )
        pair_o, pair_s = sa_pos[ok].astype(np.int64), sv_pos[ok].astype(np.int64)
        pair_c = travel_times["minutes"].to_numpy(dtype=float)[ok]
    sel_points = shapely.points(x_all[sel_idx], y_all[sel_idx]) if travel_times is None else None
    for k in range(n_types):
        members = np.flatnonzero(type_codes == k)
        if travel_times is None:
            # Only services that could reach a selected small area, and only the small areas
            # those services could reach, take part: both steps stay exact.
            near = _within_box(sx[members], sy[members], x_all[sel_idx], y_all[sel_idx], s.catchment * 1000)
            svc = members[near]
            demand_idx = (
                np.flatnonzero(_within_box(x_all, y_all, sx[svc], sy[svc], s.catchment * 1000))
                if len(svc)
                else np.zeros(0, dtype=np.int64)
            )
            o, d, c = straight_line_pairs(
                x_all[demand_idx], y_all[demand_idx], sx[svc], sy[svc], s.catchment * 1000
            )
            scores_k = fca_from_pairs(
                o, d, c / 1000.0, pop_all[demand_idx], np.ones(len(svc)), s.catchment, s.decay
            )
            full = np.zeros(len(small_areas))
            full[demand_idx] = scores_k
            counts = np.bincount(demand_idx[o], minlength=len(small_areas))
            score[k] = full[sel_idx]
            in_reach[k] = counts[sel_idx]
            # Nearest: the closest pair in reach where there is one (exact, since every
            # service within the catchment is a pair); a tree query only for the rest.
            best = np.full(len(small_areas), np.inf)
            np.minimum.at(best, demand_idx[o], c)
            near_k = best[sel_idx]
            far = ~np.isfinite(near_k)
            if far.any() and sel_points is not None:
                tree = shapely.STRtree(shapely.points(sx[members], sy[members]))
                _, dist = tree.query_nearest(sel_points[far], return_distance=True, all_matches=False)
                near_k[far] = dist
            nearest[k] = near_k / 1000.0
        elif n_sel:
            mine = np.isin(pair_s, members)
            o, d, c = pair_o[mine], pair_s[mine], pair_c[mine]
            local = np.full(len(public), -1)
            local[members] = np.arange(len(members))
            scores_k = fca_from_pairs(o, local[d], c, pop_all, np.ones(len(members)), s.catchment, s.decay)
            score[k] = scores_k[sel_idx]
            counts = np.bincount(o[c <= s.catchment], minlength=len(small_areas))
            in_reach[k] = counts[sel_idx]
            best = np.full(len(small_areas), np.inf)
            np.minimum.at(best, o, c)
            nearest[k] = best[sel_idx]

    sel = small_areas.iloc[sel_idx]
    codes = sel["district_code"].astype(str).to_numpy()
    dnames = np.array([names.get(c, c) for c in codes], dtype=object)
    pop = sel["population"].to_numpy(dtype=float)
    beyond = nearest > s.beyond
    scores = pd.DataFrame(
        {
            "small_area_code": np.tile(sel["small_area_code"].astype(str).to_numpy(), n_types),
            "small_area_name": np.tile(sel["small_area_name"].astype(str).to_numpy(), n_types),
            "district_code": np.tile(codes, n_types),
            "district_name": np.tile(dnames, n_types),
            "service_type": np.repeat(np.asarray(type_names, dtype=object), n_sel),
            "population": np.tile(pop, n_types),
            "nearest": nearest.reshape(-1),
            "services_in_catchment": in_reach.reshape(-1),
            "score_per_100k": score.reshape(-1) * PER,
            "beyond": beyond.reshape(-1),
        },
        columns=list(SCORE_COLUMNS),
    )
    district_rows = _district_shares(scores, selection)
    return AccessResult(
        scores=scores,
        districts=district_rows,
        basis=basis,
        unit=unit,
        settings=s,
        services_counted=counted,
        notes=notes,
        small_areas=sel.reset_index(drop=True),
    )


def _within_box(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray, margin: float) -> np.ndarray:
    """Which points (px, py) lie within `margin` of the bounding box of (qx, qy): a cheap pre-filter."""
    if len(qx) == 0 or len(px) == 0:
        return np.zeros(len(px), dtype=bool)
    return (
        (px >= qx.min() - margin)
        & (px <= qx.max() + margin)
        & (py >= qy.min() - margin)
        & (py <= qy.max() + margin)
    )


def _district_shares(scores: pd.DataFrame, selection: Sequence[str] | None) -> pd.DataFrame:
    if scores.empty:
        return pd.DataFrame({c: [] for c in DISTRICT_COLUMNS})
    frame = scores.assign(
        pop_beyond=scores["population"] * scores["beyond"], n_beyond=scores["beyond"].astype(np.int64)
    )
    out = (
        frame.groupby(["district_code", "district_name", "service_type"], sort=False)
        .agg(
            population=("population", "sum"),
            population_beyond=("pop_beyond", "sum"),
            small_areas=("small_area_code", "size"),
            small_areas_beyond=("n_beyond", "sum"),
        )
        .reset_index()
    )
    out["share_beyond"] = np.divide(
        out["population_beyond"].to_numpy(dtype=float),
        out["population"].to_numpy(dtype=float),
        out=np.full(len(out), np.nan),
        where=out["population"].to_numpy(dtype=float) > 0,
    )
    if selection is not None:  # the selection's order, then service type
        order = {c: k for k, c in enumerate(selection)}
        out = out.assign(_o=out["district_code"].map(order)).sort_values(["_o", "service_type"])
        out = out.drop(columns="_o")
    else:
        out = out.sort_values(["district_code", "service_type"])
    return out.loc[:, list(DISTRICT_COLUMNS)].reset_index(drop=True)


def area_access_table(result: AccessResult, config: Any = None) -> pd.DataFrame:
    """The area profile's table: per service type, residents and neighbourhoods beyond the threshold."""
    from gapmap import wording

    s, unit = result.settings, result.unit
    how = f"{wording.number(s.beyond)} {'km, straight line' if unit == 'km' else unit}"
    rows = []
    for r in result.districts.groupby("service_type", sort=True).sum(numeric_only=True).itertuples():
        spec = getattr(config, "service_types", {}).get(r.Index) if config is not None else None
        rows.append(
            {
                "Service type": getattr(spec, "label", r.Index),
                f"Residents beyond {how}": wording.number(round(r.population_beyond)),
                "Share of residents": wording.percent(
                    r.population_beyond / r.population if r.population else None
                ),
                "Neighbourhoods beyond": (
                    f"{wording.number(r.small_areas_beyond)} of {wording.number(r.small_areas)}"
                ),
            }
        )
    return pd.DataFrame(rows)


def small_access_frame(result: AccessResult) -> pd.DataFrame:
    """small_area_access.csv as a frame: the cost column named by its unit, figures rounded."""
    frame = result.scores.rename(columns={"nearest": f"nearest_{result.unit}"}).copy()
    col = f"nearest_{result.unit}"
    # inf (nothing of the type reachable in a travel-time file) is written as an empty cell.
    frame[col] = frame[col].astype(float).replace([np.inf, -np.inf], np.nan).round(2)
    frame["score_per_100k"] = frame["score_per_100k"].astype(float).round(3)
    frame["population"] = frame["population"].round().astype("int64")
    return frame


def access_beyond_frame(result: AccessResult) -> pd.DataFrame:
    """access_beyond.csv as a frame: per district and type, residents beyond the threshold."""
    frame = result.districts.copy()
    frame.insert(3, f"beyond_{result.unit}", result.settings.beyond)
    frame["population"] = frame["population"].round().astype("int64")
    frame["population_beyond"] = frame["population_beyond"].round().astype("int64")
    frame["share_beyond"] = frame["share_beyond"].astype(float).round(4)
    return frame


def access_summary(result: AccessResult) -> dict[str, Any]:
    """JSON-able description for summary.json: settings, basis and counts."""
    s = result.settings
    return {
        "basis": result.basis,
        "unit": result.unit,
        "catchment": s.catchment,
        "beyond": s.beyond,
        "decay": s.decay,
        "per": PER,
        "services_counted": dict(result.services_counted),
        "small_areas": int(result.scores["small_area_code"].nunique()) if len(result.scores) else 0,
        "description": result.describe(),
        "notes": list(result.notes),
    }


__all__ = [
    "AccessResult",
    "AccessSettings",
    "access_beyond_frame",
    "access_summary",
    "area_access_table",
    "decay_weights",
    "fca_from_pairs",
    "load_small_areas",
    "load_travel_times",
    "small_access_frame",
    "small_area_access",
    "small_area_lonlat",
    "straight_line_pairs",
    "two_step_fca_naive",
]
