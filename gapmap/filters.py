"""One filter object for services, used identically by the engine, the app and the CLI.

`ServiceFilter()` (every field None) keeps every service. Each field that is set restricts
the services to those matching it; fields combine with AND, values within a field with OR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd


def parse_day(text: str, *, what: str = "the date") -> date:
    """A date as people type it: UK '31/03/2028' (or 31-03-2028, 31.3.2028), or ISO '2028-03-31'.

    Raises
    ------
    ValueError
        With a message naming `what`, the text and the expected form.
    """
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        found = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", raw)
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise ValueError(
        f"{what} was {text!r} but is expected to be a day as DD/MM/YYYY (e.g. 31/03/2028) "
        "or YYYY-MM-DD (e.g. 2028-03-31)"
    )


_LIST_FIELDS = ("tiers", "cohorts", "abuse_types", "specialist_groups")

_LABELS = {
    "service_types": "Service types",
    "tiers": "Tiers",
    "cohorts": "Cohorts",
    "abuse_types": "Abuse types",
    "specialist_groups": "Specialist groups",
    "hours": "Hours",
}


def _overlaps(column: pd.Series, wanted: frozenset[str]) -> np.ndarray:
    """True where the row's tuple shares at least one value with `wanted`.

    Evaluated once per distinct tuple (a handful), not once per service.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    ok_unique = np.array([bool(wanted.intersection(u or ())) for u in uniques], dtype=bool)
    out = np.zeros(len(column), dtype=bool)
    valid = codes >= 0
    out[valid] = ok_unique[codes[valid]]
    return out


def _frozen(values: Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return frozenset([values])
    return frozenset(values)


@dataclass(frozen=True)
class ServiceFilter:
    """Which services to count. None means "no restriction" for that field.

    Parameters
    ----------
    service_types, tiers, cohorts, abuse_types, specialist_groups, hours
        Sets of vocabulary ids. A service matches a list field (tiers, cohorts, abuse_types,
        specialist_groups) when it has at least one of the wanted values. A service with no
        `hours` recorded does not match an `hours` restriction (unknown is not "24_7").
    on
        A date: services whose `funding_end` is before it are left out (the funding cliff).
        Services with no funding end date are kept.
    """

    service_types: frozenset[str] | None = None
    tiers: frozenset[str] | None = None
    cohorts: frozenset[str] | None = None
    abuse_types: frozenset[str] | None = None
    specialist_groups: frozenset[str] | None = None
    hours: frozenset[str] | None = None
    on: date | None = None

    def __post_init__(self) -> None:
        # Accept lists/tuples/a single string from callers; store frozensets (hashable, so the
        # filter can be a cache key in the app).
        for f in fields(self):
            if f.name != "on":
                object.__setattr__(self, f.name, _frozen(getattr(self, f.name)))

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every service."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def apply(self, services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The services that pass the filter (a new frame; the input is not changed)."""
        if self.is_empty or len(services) == 0:
            return services.copy()
        keep = np.ones(len(services), dtype=bool)
        if self.service_types is not None:
            keep &= services["service_type"].isin(self.service_types).to_numpy(dtype=bool)
        if self.hours is not None:
            keep &= services["hours"].isin(self.hours).to_numpy(dtype=bool)
        for name in _LIST_FIELDS:
            wanted = getattr(self, name)
            if wanted is not None:
                keep &= _overlaps(services[name], wanted)
        if self.on is not None:
            ends = pd.to_datetime(services["funding_end"], errors="coerce")
            ended = (ends < pd.Timestamp(self.on)).fillna(False).to_numpy(dtype=bool)
            keep &= ~ended
        return services.loc[keep].copy()

    def describe(self) -> str:
        """A short text for subtitles: "All services" or "Tiers: primary; funded on 2027-04-01"."""
        parts = []
        for name, label in _LABELS.items():
            values = getattr(self, name)
            if values is not None:
                parts.append(f"{label}: {', '.join(sorted(values)) or '(none)'}")
        if self.on is not None:
            parts.append(f"funded on {self.on.isoformat()}")
        return "; ".join(parts) if parts else "All services"

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (sorted lists, ISO date) for summary.json."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                out[f.name] = None
            elif f.name == "on":
                out[f.name] = value.isoformat()
            else:
                out[f.name] = sorted(value)
        return out
