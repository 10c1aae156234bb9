"""England built in: districts, the statutory geographies above them, and their populations.

The package ships England's 2024 geography in `gapmap/data/england/` (built by
`scripts/build_england.py` from ../shared/data; see the README.md there): 296 districts (LAD May
2024 BUC) and, dissolved from them, 121 tier-one authorities, 39 police force areas and 9
regions, with the lookups between them and population denominators per district.

Levels, finest first:

- ``district``: local authority district (E06 unitary, E07 lower tier, E08 metropolitan, E09
  London borough);
- ``tier1``: the authority with the Domestic Abuse Act 2021 Part 4 duty (county, unitary,
  metropolitan district; in London the Greater London Authority);
- ``pfa``: police force area (Victims and Prisoners Act 2024 duty to collaborate);
- ``region``: the nine regions (refuge provision is read per region).

Every function here is pure (the files are read once and cached; treat the frames returned as
read-only). `resolve_areas` turns what a user types (a partnership id, a code or name of any
level, or a list of them) into district codes; `roll_up` sums per-district figures to a level.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gapmap.config import Config
from gapmap.errors import GapmapInputError, Problem
from gapmap.partnerships import Partnership, load_partnerships
from gapmap.schema import AREA_CODE, AREA_NAME

LEVELS: tuple[str, ...] = ("district", "tier1", "pfa", "region")
LEVEL_LABELS: dict[str, str] = {
    "district": "district",
    "tier1": "tier-one authority",
    "pfa": "police force area",
    "region": "region",
}

#: The geography id recorded with saved versions and shown on every page.
ENGLAND_ID = "england_lad24"
ENGLAND_LABEL = "England built in (LAD May 2024 BUC, 296 districts)"
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2024."
)


def data_dir() -> Path:
    """The folder holding the built-in geography (package data)."""
    return Path(str(resources.files("gapmap").joinpath("data", "england")))


class AreaGroups(Mapping[str, tuple[str, ...]]):
    """Casefolded code or name of an upper-level area -> its district codes.

    Carried in `areas.attrs["area_groups"]` so that `serves` can name a county or a police
    force area. Immutable; deep copies return the same object because pandas deep-copies
    `attrs` on every column access.
    """

    def __init__(self, groups: Mapping[str, tuple[str, ...]]) -> None:
        self._groups = dict(groups)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._groups[key]

    def __iter__(self):
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __deepcopy__(self, memo: dict) -> AreaGroups:
        return self

    def __copy__(self) -> AreaGroups:
        return self


@dataclass(frozen=True)
class England:
    """England's built-in geography (see the module docs). Treat every frame as read-only.

    Attributes
    ----------
    districts
        area_code, area_name, geometry (EPSG:4326), one row per district, sorted by code.
    lookup
        district_code, district_name, then ``{level}_code``/``{level}_name`` for tier1, pfa and
        region (and utla_code/utla_name, the ONS upper tier).
    csp
        district -> community safety partnership -> police force area (one row per pair).
    population_table
        population.csv as shipped: district_code, district_name and one column per figure.
    population_columns
        population_columns.csv: column, derived_from, vintage, status, gapmap_denominator.
    """

    districts: gpd.GeoDataFrame
    lookup: pd.DataFrame
    csp: pd.DataFrame
    population_table: pd.DataFrame
    population_columns: pd.DataFrame
    folder: Path = field(default_factory=data_dir)

    def layer(self, level: str) -> gpd.GeoDataFrame:
        """area_code, area_name, geometry of every area of `level` (dissolved from the districts)."""
        _check_level(level)
        if level == "district":
            return self.districts
        return _read_layer(str(self.folder), level)

    def areas(self) -> gpd.GeoDataFrame:
        """The districts as a dataset's areas: a copy whose ``attrs["area_groups"]`` lets
        `serves` name a tier-one authority, police force area or region."""
        out = self.districts.copy()
        out.attrs["area_groups"] = self.groups()
        out.attrs["geography"] = ENGLAND_ID
        return out

    def population(self, config: Config | None = None) -> pd.DataFrame:
        """area_code + the gapmap denominators + every other column, labelled with its vintage.

        ``attrs["column_sources"]`` says which shipped column each
        denominator came from, as `gapmap.population.load_population` does for a file.
        """
        table = self.population_table
        out = pd.DataFrame({AREA_CODE: table["district_code"].astype(str).to_numpy()})
        sources: dict[str, str] = {AREA_CODE: "district_code"}
        wanted = set(config.denominators) if config is not None else None
        for row in self.population_columns.itertuples(index=False):
            denominator = str(row.gapmap_denominator or "")
            if denominator and (wanted is None or denominator in wanted):
                out[denominator] = table[row.column].astype(float).to_numpy()
                sources[denominator] = str(row.column)
        for row in self.population_columns.itertuples(index=False):
            out[row.column] = table[row.column].astype(float).to_numpy()
            # The plain column name: the vocabulary knows each shipped column's vintage, and
            # gapmap.population.resolve_denominators applies the one documented rule to it.
            sources[row.column] = str(row.column)
        out.attrs["column_sources"] = sources
        out.attrs["area_names"] = dict(zip(out[AREA_CODE], table["district_name"].astype(str), strict=True))
        return out

    @property
    def fingerprint(self) -> str:
        """ "england.gpkg (sha256[:12])" of the shipped geometry, for "where this came from"."""
        return _fingerprint(str(self.folder / "england.gpkg"))

    def groups(self) -> AreaGroups:
        """Codes and names of every upper-level area -> districts (see `_groups`; cached)."""
        return self._groups

    @cached_property
    def _groups(self) -> AreaGroups:
        """Codes and names of every tier-one authority, police force area and region -> districts.

        A name shared by areas with different districts (Lancashire the county and Lancashire
        the police force area) maps to an empty tuple: `serves` then asks for the code.
        """
        by_key: dict[str, set[tuple[str, ...]]] = {}
        for level in LEVELS[1:]:
            for code, name, members in _members(self.lookup, level):
                by_key.setdefault(code.casefold(), set()).add(members)
                by_key.setdefault(_key(name), set()).add(members)
        return AreaGroups({k: next(iter(v)) if len(v) == 1 else () for k, v in by_key.items()})


@lru_cache(maxsize=4)
def _fingerprint(path: str) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return f"{Path(path).name} ({digest})"


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise GapmapInputError(
            f"level `{level}` is not known; expected one of: {', '.join(LEVELS)}.", file="--level"
        )


@lru_cache(maxsize=8)
def _read_layer(folder: str, level: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(Path(folder) / "england.gpkg", layer=level, engine="pyogrio")
    return frame.rename(columns={"code": AREA_CODE, "name": AREA_NAME})


def _read_csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


@lru_cache(maxsize=2)
def _load(folder: str) -> England:
    base = Path(folder)
    population = _read_csv(base, "population.csv")
    columns = _read_csv(base, "population_columns.csv")
    for column in columns["column"]:
        population[column] = pd.to_numeric(population[column])
    return England(
        districts=_read_layer(folder, "district"),
        lookup=_read_csv(base, "districts.csv"),
        csp=_read_csv(base, "district_csp.csv"),
        population_table=population,
        population_columns=columns,
        folder=base,
    )


def load_england(folder: Path | str | None = None) -> England:
    """The built-in geography (cached: the same object on every call for the same folder)."""
    return _load(str(Path(folder) if folder is not None else data_dir()))


def districts_of(level: str, code: str, england: England | None = None) -> tuple[str, ...]:
    """The district codes of area `code` of `level` (sorted by code).

    Raises
    ------
    GapmapInputError
        When the level or the code is not known.
    """
    _check_level(level)
    eng = england or load_england()
    column = "district_code" if level == "district" else f"{level}_code"
    found = eng.lookup.loc[eng.lookup[column] == code.strip().upper(), "district_code"]
    if found.empty:
        raise GapmapInputError(
            f"`{code}` is not a {LEVEL_LABELS[level]} code of the built-in England geography.", file=level
        )
    return tuple(found)


def level_of_code(code: str, lookup: pd.DataFrame) -> str | None:
    """Which level `code` belongs to in `lookup` (None if none)."""
    for level in LEVELS:
        column = "district_code" if level == "district" else f"{level}_code"
        if column in lookup.columns and (lookup[column] == code).any():
            return level
    return None


# --------------------------------------------------------------------------- resolving names


def _key(text: str) -> str:
    """Names compared casefolded, with runs of spaces collapsed and `&` read as `and`."""
    return re.sub(r"\s+", " ", text.replace("&", " and ")).strip().casefold()


def _members(lookup: pd.DataFrame, level: str) -> Iterable[tuple[str, str, tuple[str, ...]]]:
    if level == "district":
        for code, name in zip(lookup["district_code"], lookup["district_name"], strict=True):
            yield str(code), str(name), (str(code),)
        return
    code_col, name_col = f"{level}_code", f"{level}_name"
    if code_col not in lookup.columns:
        return
    grouped = lookup.groupby([code_col, name_col], sort=True)["district_code"]
    for (code, name), members in grouped:
        yield str(code), str(name), tuple(str(c) for c in members)


@dataclass(frozen=True)
class _Candidate:
    kind: str  # a level, or "partnership"
    code: str
    name: str
    districts: tuple[str, ...]

    def describe(self) -> str:
        what = "partnership" if self.kind == "partnership" else LEVEL_LABELS[self.kind]
        n = len(self.districts)
        return f"{self.name} ({what} {self.code}, {n} district{'s' if n != 1 else ''})"


def _index(
    lookup: pd.DataFrame, partnerships: Mapping[str, Partnership]
) -> tuple[dict[str, list[_Candidate]], list[str]]:
    index: dict[str, list[_Candidate]] = {}
    known_districts = set(lookup["district_code"].astype(str))
    shown: list[str] = []
    for level in LEVELS:
        for code, name, members in _members(lookup, level):
            cand = _Candidate(level, code, name, members)
            index.setdefault(code.casefold(), []).append(cand)
            index.setdefault(_key(name), []).append(cand)
            shown.append(name)
    for p in partnerships.values():
        members = tuple(c for c in p.area_codes if c in known_districts)
        if not members:
            continue  # a partnership of another geography (the demo county on England)
        cand = _Candidate("partnership", p.id, p.label, members)
        index.setdefault(p.id.casefold(), []).append(cand)
        index.setdefault(_key(p.label), []).append(cand)
        shown.append(p.id)
    return index, shown


def district_lookup(areas: pd.DataFrame) -> pd.DataFrame:
    """A lookup with districts only, for a geography without levels (the demo, your own file)."""
    return pd.DataFrame(
        {
            "district_code": areas[AREA_CODE].astype(str).to_numpy(),
            "district_name": areas[AREA_NAME].astype(str).to_numpy(),
        }
    )


def resolve_areas(
    text: str | Sequence[str] | None,
    lookup: pd.DataFrame | None = None,
    partnerships: Mapping[str, Partnership] | None = None,
    *,
    source: str = "--areas",
) -> tuple[str, ...] | None:
    """District codes meant by what a user typed; None for an empty text (every area).

    Parameters
    ----------
    text
        A partnership id (``llr``) or label, a code or name of any level (``E23000021``,
        ``Leicestershire`` the county), or a list of them separated by commas or semicolons
        (``Preston, Blackpool``); names with a comma of their own (``Bristol, City of``) are
        recognised. A sequence is read as its items.
    lookup
        district_code, district_name and ``{level}_code``/``{level}_name`` columns (default:
        the built-in England lookup); `district_lookup(areas)` for a geography without levels.
    partnerships
        id -> Partnership (default: the packaged partnerships.toml).
    source
        Where the text came from, for messages (``--areas``).

    Raises
    ------
    GapmapInputError
        Listing every piece not recognised (with suggestions) and every ambiguous name (with
        its candidates).
    """
    if text is None:
        return None
    pieces = (
        [p.strip() for p in text]
        if not isinstance(text, str)
        else [p.strip() for p in re.split(r"[;,]", text)]
    )
    pieces = [p for p in pieces if p]
    if not pieces:
        return None
    lk = lookup if lookup is not None else load_england().lookup
    index, shown = _index(lk, partnerships if partnerships is not None else load_partnerships())

    found: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(pieces):
        # The longest run of pieces that is one name ("Bristol, City of" split at its comma).
        for j in range(min(len(pieces), i + 3), i, -1):
            token = ", ".join(pieces[i:j])
            candidates = index.get(_key(token)) or index.get(token.casefold())
            if candidates:
                break
        else:
            token, candidates, j = pieces[i], None, i + 1
        i = j
        if not candidates:
            problems.append(
                f"`{token}` is not a partnership, area code or area name here{_suggest(token, shown)}"
            )
            continue
        distinct = {c.districts: c for c in candidates}
        if len(distinct) > 1:
            listed = "; ".join(c.describe() for c in distinct.values())
            problems.append(f"`{token}` could mean: {listed}. Use the code instead.")
            continue
        for code in candidates[0].districts:
            if code not in found:
                found.append(code)
    if problems:
        raise GapmapInputError([Problem(source, m) for m in problems])
    return tuple(found)


def _suggest(token: str, shown: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(token, shown, n=3, cutoff=0.6)
    if not close:
        lowered = {s.casefold(): s for s in shown}
        close = [
            lowered[m] for m in difflib.get_close_matches(token.casefold(), list(lowered), n=3, cutoff=0.6)
        ]
    return f"; did you mean {', '.join(f'`{c}`' for c in close)}?" if close else "."


# --------------------------------------------------------------------------- rolling up


def parents(level: str, lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """district_code -> the code and name of its area at `level` (columns area_code, area_name)."""
    _check_level(level)
    lk = lookup if lookup is not None else load_england().lookup
    if level != "district" and f"{level}_code" not in lk.columns:
        raise GapmapInputError(
            "these areas are not districts of the built-in England geography (LAD 2024 codes), so "
            f"they cannot be added up to {LEVEL_LABELS[level]} level; score them per district "
            "(`--level district`).",
            file="--level",
        )
    if level == "district":
        return pd.DataFrame(
            {
                "district_code": lk["district_code"],
                AREA_CODE: lk["district_code"],
                AREA_NAME: lk["district_name"],
            }
        )
    return pd.DataFrame(
        {"district_code": lk["district_code"], AREA_CODE: lk[f"{level}_code"], AREA_NAME: lk[f"{level}_name"]}
    )


def roll_up(frame: pd.DataFrame, level: str, lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum a per-district frame's numeric columns to `level`.

    Parameters
    ----------
    frame
        ``area_code`` (district codes) and numeric columns; other columns are dropped.
    level
        One of `LEVELS`.

    Returns
    -------
    area_code, area_name and the sums, one row per area of `level` that has a district in
    `frame`, sorted by code. A sum over districts with a missing value is missing (NaN), not
    a partial total.

    Raises
    ------
    GapmapInputError
        When a district code is not in the lookup.
    """
    up = parents(level, lookup)
    unknown = sorted(set(frame[AREA_CODE].astype(str)) - set(up["district_code"]))
    if unknown:
        raise GapmapInputError(
            f"{len(unknown)} area(s) are not districts of the built-in England geography "
            f"({', '.join(unknown[:5])}{', …' if len(unknown) > 5 else ''}), so they cannot be "
            f"added up to {LEVEL_LABELS[level]} level.",
            file="--level",
        )
    numeric = [c for c in frame.columns if c != AREA_CODE and pd.api.types.is_numeric_dtype(frame[c])]
    joined = frame[[AREA_CODE, *numeric]].merge(
        up.rename(columns={AREA_CODE: "_parent", AREA_NAME: "_parent_name"}),
        left_on=AREA_CODE,
        right_on="district_code",
        how="left",
    )
    grouped = joined.groupby(["_parent", "_parent_name"], sort=True)[numeric]
    out = grouped.sum(min_count=1)
    # Any missing district value makes the level's value missing: no silent partial totals.
    has_missing = grouped.apply(lambda g: g.isna().any())
    out = out.mask(has_missing)
    out = out.reset_index().rename(columns={"_parent": AREA_CODE, "_parent_name": AREA_NAME})
    return out


def lookup_for(areas: pd.DataFrame, geography: str) -> pd.DataFrame:
    """The lookup `resolve_areas` and `roll_up` use for a dataset's areas.

    England built in has every level. Another geography (the demo, your own boundary file)
    has its own areas as districts; if every one of its codes is an English 2024 district, the
    built-in levels apply to it too (your own, more detailed LAD24 boundaries).
    """
    if geography == ENGLAND_ID:
        return load_england().lookup
    codes = set(areas[AREA_CODE].astype(str))
    england = load_england().lookup
    if codes and codes <= set(england["district_code"]):
        own = district_lookup(areas).set_index("district_code")["district_name"]
        out = england[england["district_code"].isin(codes)].copy()
        out["district_name"] = out["district_code"].map(own)
        return out.reset_index(drop=True)
    return district_lookup(areas)


def select_areas(
    text: str | Sequence[str] | None,
    areas: pd.DataFrame,
    geography: str,
    partnerships: Mapping[str, Partnership] | None = None,
    *,
    source: str = "--areas",
) -> tuple[str, ...] | None:
    """`resolve_areas` on a dataset's own areas (see `lookup_for`); None means every area."""
    return resolve_areas(text, lookup_for(areas, geography), partnerships, source=source)
