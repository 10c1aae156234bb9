"""What the app offers to choose: the geography, and the areas of it (UI-free, pure).

The app (app.py) draws these as widgets; everything it needs to know about England's levels,
partnerships and which saved versions fit comes from here, so it can be tested without a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from gapmap.geography import ENGLAND_ID, LEVEL_LABELS, LEVELS, resolve_areas
from gapmap.partnerships import Partnership

#: Geography choices in the order offered; the demo first (the first screen's default).
DEMO = "demo"
ENGLAND = ENGLAND_ID
OWN = "own"
GEOGRAPHY_LABELS: dict[str, str] = {
    DEMO: "Demo county (fictional)",
    ENGLAND: "England built in (2024 districts)",
    OWN: "Your own files",
}

#: Area choices that are not a named area (the same keys as `gapmap.present`'s chooser).
ALL = "__all__"
PICK = "__custom__"

_KIND_LABELS = {"partnership": "Partnership", **{k: v.capitalize() for k, v in LEVEL_LABELS.items()}}


@dataclass(frozen=True)
class AreaChoice:
    """One entry of the "Areas" chooser: a key, its label and the districts it means."""

    key: str
    label: str
    districts: tuple[str, ...]


def area_choices(lookup: pd.DataFrame, partnerships: Mapping[str, Partnership]) -> list[AreaChoice]:
    """Every ready-made selection of a geography, for a searchable chooser.

    `ALL` first (every area of the dataset), then partnerships with districts in `lookup`,
    every police force area, tier-one authority and region (when the lookup has those levels),
    each labelled with its kind and size ("Police force area: Lancashire (14 districts)"), and
    `PICK` (choose districts by name) last. Keys are the partnership id or ``LEVEL:CODE``.
    """
    known = set(lookup["district_code"].astype(str))
    out: list[AreaChoice] = [AreaChoice(ALL, f"All areas in the dataset ({_n(tuple(known))})", ())]
    for p in partnerships.values():
        members = tuple(c for c in p.area_codes if c in known)
        if members:
            out.append(AreaChoice(p.id, f"Partnership: {p.label} ({_n(members)})", members))
    for level in ("pfa", "tier1", "region"):
        if f"{level}_code" not in lookup.columns:
            continue
        grouped = lookup.groupby([f"{level}_name", f"{level}_code"], sort=True)["district_code"]
        for (name, code), members in grouped:
            codes = tuple(sorted(members.astype(str)))
            out.append(AreaChoice(f"{level}:{code}", f"{_KIND_LABELS[level]}: {name} ({_n(codes)})", codes))
    out.append(AreaChoice(PICK, "Choose districts by name…", ()))
    return out


def _n(codes: Sequence[str]) -> str:
    return f"{len(codes)} district{'s' if len(codes) != 1 else ''}"


def choice_for(text: str, choices: Sequence[AreaChoice], lookup: pd.DataFrame, partnerships) -> str | None:
    """The key of the ready-made choice meaning the same districts as `text` (a name or code)."""
    wanted = resolve_areas(text, lookup, partnerships)
    for choice in choices:
        if wanted is not None and set(choice.districts) == set(wanted):
            return choice.key
    return None


def levels_of(lookup: pd.DataFrame) -> tuple[str, ...]:
    """The levels a geography can be scored at (district only without a statutory lookup)."""
    return tuple(level for level in LEVELS if level == "district" or f"{level}_code" in lookup.columns)


def geography_line(geography: str, dataset_label: str, level: str = "district") -> str:
    """'Geography: England built in (2024 districts) · Dataset: … · Scored per police force area'."""
    if geography.startswith("custom"):
        where = "Your own boundary file"
    else:
        where = GEOGRAPHY_LABELS.get(geography, geography)
    line = f"Geography: {where} · Dataset: {dataset_label}"
    if level != "district":
        line += f" · Scored per {LEVEL_LABELS[level]} (sums of its districts)"
    return line
