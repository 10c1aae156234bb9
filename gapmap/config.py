"""Vocabulary and benchmark profiles, read from TOML and validated strictly.

The packaged `vocabulary.toml` holds the defaults; a user's file replaces the top-level
sections it defines (e.g. only `[profiles]`), so a custom benchmark file can be short.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from gapmap.errors import ConfigError, Problem

Measure = Literal["capacity", "count"]
Scope = Literal["area", "selection"]

DEFAULT_CONFIG_NAME = "vocabulary.toml"
#: Residents an area needs before a confidential service may be attributed to it alone.
DEFAULT_MIN_CONFIDENTIAL_POPULATION = 10_000.0
#: "Relevant accommodation" under the Domestic Abuse Act 2021 (SI 2021/991): confidential even
#: when a user's vocabulary file lists the type without `confidential_by_default`.
SAFE_ACCOMMODATION_TYPES: frozenset[str] = frozenset(
    {
        "refuge",
        "specialist_safe_accommodation",
        "dispersed_accommodation",
        "second_stage_accommodation",
        "emergency_accommodation",
        "sanctuary_scheme",
    }
)


@dataclass(frozen=True)
class ServiceType:
    id: str
    label: str
    tiers: tuple[str, ...]
    cohorts: tuple[str, ...]
    abuse_types: tuple[str, ...]
    capacity_unit: str  # "" when the type has no natural capacity
    #: `confidential_by_default` in the TOML (the older key `confidential` is still read): the
    #: location of a service of this type is secret unless its row says otherwise.
    confidential: bool = False

    @property
    def confidential_by_default(self) -> bool:
        """The TOML's name for `confidential`."""
        return self.confidential


@dataclass(frozen=True)
class Benchmark:
    """One per-population (or per-selection minimum) standard.

    For scope "area": required = denominator x target / per.
    For scope "selection": required = minimum, scored for the whole selection only.
    """

    id: str
    label: str
    service_types: tuple[str, ...]
    measure: Measure
    unit: str
    source: str
    scope: Scope = "area"
    target: float | None = None
    per: float | None = None
    denominator: str | None = None
    minimum: float | None = None
    denominator_label: str = ""
    publisher: str = ""
    title: str = ""
    year: str = ""
    scope_note: str = ""
    #: The evidence review the figure was taken from ("seed 002"): provenance data, never shown.
    seed: str = ""
    #: A "per region" presence rule: scored for the selection until regions exist.
    regional: bool = False

    @property
    def is_presence(self) -> bool:
        """An "at least N" rule, read as a count of services, never as a percentage."""
        return self.scope == "selection"

    def describe(self) -> str:
        """A one-line definition for legends, e.g. '4 per 100,000 females aged 16 and over'."""
        if self.scope == "selection":
            where = "per region" if self.regional else "for the whole selection"
            return f"at least {self.minimum:g} {where}"
        return f"{self.target:g} per {self.per:,.0f} {self.denominator_label or self.denominator}"

    @property
    def citation(self) -> str:
        """What readers see as the source: 'Publisher (year). Title.', else the `source` text."""
        if self.publisher and self.title:
            year = f" ({self.year})" if self.year else ""
            return f"{self.publisher}{year}. {self.title}."
        return self.source


@dataclass(frozen=True)
class Profile:
    id: str
    label: str
    benchmarks: tuple[Benchmark, ...]
    default: bool = False
    #: Demand-based benchmarks as raw TOML tables (parsed and checked by `gapmap.demand`).
    demand_benchmarks: tuple[dict[str, Any], ...] = ()
    #: Where the profile departs from the standards it cites; shown with every output made under it.
    caveat: str = ""

    def benchmark(self, benchmark_id: str) -> Benchmark:
        for b in self.benchmarks:
            if b.id == benchmark_id:
                return b
        known = ", ".join(b.id for b in self.benchmarks)
        raise ConfigError(
            f"benchmark `{benchmark_id}` is not in profile `{self.id}`; expected one of: {known}"
        )


@dataclass(frozen=True)
class Config:
    """Everything the vocabulary TOML defines. Treat as read-only."""

    source: str
    green_at: float
    amber_at: float
    tiers: dict[str, dict[str, str]]
    cohorts: dict[str, dict[str, str]]
    abuse_types: dict[str, dict[str, str]]
    hours: tuple[str, ...]
    specialist_groups: tuple[str, ...]
    capacity_units: dict[str, str]
    service_types: dict[str, ServiceType]
    denominators: dict[str, dict[str, Any]]
    profiles: dict[str, Profile] = field(default_factory=dict)
    #: `[demand_measures]`: measure id -> label, unit, meaning, source (see `gapmap.demand`).
    demand_measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: A confidential service is never attributed to an area with fewer residents than this
    #: (`[confidentiality] min_area_population`); see `gapmap.engine` ("Confidential services").
    min_confidential_population: float = DEFAULT_MIN_CONFIDENTIAL_POPULATION

    @property
    def default_profile(self) -> Profile:
        for p in self.profiles.values():
            if p.default:
                return p
        return next(iter(self.profiles.values()))

    def profile(self, profile_id: str | None) -> Profile:
        if profile_id is None:
            return self.default_profile
        if profile_id not in self.profiles:
            known = ", ".join(self.profiles)
            raise ConfigError(
                f"benchmark profile `{profile_id}` is not defined; expected one of: {known}",
                file=self.source,
            )
        return self.profiles[profile_id]

    def denominator_aliases(self) -> dict[str, list[str]]:
        return {k: list(v.get("aliases", [])) for k, v in self.denominators.items()}

    def denominator_columns(self, denominator: str) -> dict[str, dict[str, Any]]:
        """Column name -> {vintage, label, year, official} for the columns of known vintage."""
        return dict(self.denominators.get(denominator, {}).get("columns", {}))

    def vintages(self) -> dict[str, str]:
        """Vintage id -> label (the first label seen), for the CLI flag and the app's selectbox."""
        out: dict[str, str] = {}
        for d in self.denominators:
            for info in self.denominator_columns(d).values():
                if info.get("official", True):
                    out.setdefault(str(info["vintage"]), str(info.get("label", info["vintage"])))
        for d in self.denominators:
            for info in self.denominator_columns(d).values():
                out.setdefault(str(info["vintage"]), str(info.get("label", info["vintage"])))
        return out

    def status_for(self, ratio: float | None) -> str:
        """green / amber / red by the configured thresholds; `no_data` for a missing ratio."""
        if ratio is None or ratio != ratio:  # NaN check without numpy
            return "no_data"
        if ratio >= self.green_at:
            return "green"
        if ratio >= self.amber_at:
            return "amber"
        return "red"


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return list(value or [])


#: Largest benchmark/vocabulary file read (the packaged one is about 20 KB).
MAX_TOML_BYTES = 1024 * 1024


def _read_toml(path: Path | str, file_label: str) -> dict[str, Any]:
    if Path(path).is_dir():
        raise ConfigError(f"{path} is a folder; give the path of the TOML file itself.", file=file_label)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}. Check the path.", file=file_label) from None
    except OSError as exc:
        raise ConfigError(f"could not read the file ({exc.strerror or exc}).", file=file_label) from None
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(
            f"the file is over {MAX_TOML_BYTES // 1024:,} KB, far larger than a benchmark file; is it the "
            "right file?",
            file=file_label,
        )
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"this is not valid TOML ({exc}). Compare it with gapmap/vocabulary.toml.", file=file_label
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("the file is not UTF-8 text; save it as UTF-8 TOML.", file=file_label) from None
    except RecursionError:  # tomllib recurses once per level of [[[ … ]]] or {{{ … }}}
        raise ConfigError(
            "the file nests arrays or tables too deeply to read; it is damaged or not a benchmark file.",
            file=file_label,
        ) from None


# --------------------------------------------------------------------------- shapes
# A user's TOML can hold any type anywhere (a string where a table belongs, `nan` for a
# target). `_shape_problems` checks every value's type before `_build` reads it, so a wrong
# file gives a list of problems (ConfigError) and never an AttributeError or ValueError.

_TEXT_KEYS = ("label", "description", "unit", "source", "id", "measure", "scope", "denominator")
_TEXT_LIST_KEYS = ("tiers", "cohorts", "abuse_types", "service_types")
_NUMBER_KEYS = ("target", "per", "minimum", "green_at", "amber_at")
_FLAG_KEYS = ("default", "confidential")


def _kind(value: Any) -> str:
    """What a TOML value is, in the words of the TOML format."""
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f'a string ("{value[:40]}")'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        shown = repr(value)
        return f"an array ({shown if len(shown) <= 40 else shown[:39] + '…'})"
    return type(value).__name__


def _check_fields(entry: dict[str, Any], where: str, err: Any) -> None:
    """Type-check the known keys of one table (a tier, service type, benchmark …)."""
    for key, value in entry.items():
        if key in _TEXT_KEYS and not isinstance(value, str):
            err(f"{where}: `{key}` must be a string in quotes, got {_kind(value)}")
        elif key in _TEXT_LIST_KEYS and not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            err(f'{where}: `{key}` must be a list of strings such as ["a", "b"], got {_kind(value)}')
        elif key == "aliases" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            err(f'{where}: `aliases` must be a list of strings such as ["a", "b"], got {_kind(value)}')
        elif key in _NUMBER_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                err(f"{where}: `{key}` must be a number, got {_kind(value)}")
            elif not math.isfinite(value):
                err(f"{where}: `{key}` must be a finite number, got {value}")
        elif key in _FLAG_KEYS and not isinstance(value, bool):
            err(f"{where}: `{key}` must be true or false (no quotes), got {_kind(value)}")
        elif key == "capacity_unit" and not isinstance(value, str):
            err(f"{where}: `capacity_unit` must be a string in quotes, got {_kind(value)}")


def _shape_problems(raw: dict[str, Any], file_label: str) -> list[Problem]:
    """Every value of the wrong type in the merged configuration (empty when all are right)."""
    problems: list[Problem] = []

    def err(msg: str) -> None:
        problems.append(Problem(file_label, msg))

    def table(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        err(f"{where} must be a table (a [section] with keys below it), got {_kind(value)}")
        return {}

    _check_fields(table(raw.get("status", {}), "[status]"), "[status]", err)
    for section in ("tiers", "cohorts", "abuse_types", "service_types", "denominators"):
        for key, entry in table(raw.get(section, {}), f"[{section}]").items():
            _check_fields(table(entry, f"[{section}.{key}]"), f"[{section}.{key}]", err)
    for section in ("hours", "specialist_groups"):
        values = table(raw.get(section, {}), f"[{section}]").get("values", [])
        if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
            err(f'[{section}] `values` must be a list of strings such as ["a", "b"], got {_kind(values)}')
    for unit, meaning in table(raw.get("capacity_units", {}), "[capacity_units]").items():
        if not isinstance(meaning, str):
            err(f"[capacity_units] `{unit}` must be a string saying what one unit is, got {_kind(meaning)}")
    for pid, prof in table(raw.get("profiles", {}), "[profiles]").items():
        prof = table(prof, f"[profiles.{pid}]")
        _check_fields({k: v for k, v in prof.items() if k != "benchmarks"}, f"profile `{pid}`", err)
        benches = prof.get("benchmarks", [])
        if not isinstance(benches, list):
            err(f"profile `{pid}`: `benchmarks` must be [[profiles.{pid}.benchmarks]], got {_kind(benches)}")
            continue
        for i, bench in enumerate(benches, start=1):
            where = f"profile `{pid}`, benchmark {i}"
            if isinstance(bench, dict) and isinstance(bench.get("id"), str):
                where += f" (`{bench['id']}`)"
            if isinstance(bench, dict):
                _check_fields(bench, where, err)
            else:
                err(f"{where} must be a [[profiles.{pid}.benchmarks]] table, got {_kind(bench)}")
    return problems


def _build(raw: dict[str, Any], file_label: str) -> Config:
    problems: list[Problem] = _shape_problems(raw, file_label)
    if problems:  # the checks below assume every value has the right type
        raise ConfigError(problems)

    def err(msg: str) -> None:
        problems.append(Problem(file_label, msg))

    status = raw.get("status", {})
    green_at = float(status.get("green_at", 1.0))
    amber_at = float(status.get("amber_at", 0.5))
    if not 0 <= amber_at <= green_at:
        err(f"[status] needs 0 <= amber_at <= green_at; got amber_at={amber_at}, green_at={green_at}")

    tiers = raw.get("tiers", {})
    cohorts = raw.get("cohorts", {})
    abuse = raw.get("abuse_types", {})
    units = raw.get("capacity_units", {})
    denominators = raw.get("denominators", {})
    for did, dval in denominators.items():
        for column, info in (dval.get("columns") or {}).items():
            if not isinstance(info, dict) or not info.get("vintage"):
                err(
                    f"[denominators.{did}.columns] `{column}` needs a table with at least `vintage` "
                    '(e.g. { vintage = "census2021", label = "Census 2021", year = 2021 })'
                )
            elif not isinstance(info.get("year", 0), int):
                err(f"[denominators.{did}.columns] `{column}`: `year` must be a whole number")
    for section, table in (
        ("tiers", tiers),
        ("cohorts", cohorts),
        ("abuse_types", abuse),
        ("denominators", denominators),
    ):
        if not table:
            err(f"the `[{section}]` section is missing or empty")

    service_types: dict[str, ServiceType] = {}
    for sid, st in raw.get("service_types", {}).items():
        where = f"[service_types.{sid}]"
        for key, allowed in (("tiers", tiers), ("cohorts", cohorts), ("abuse_types", abuse)):
            for v in _as_list(st.get(key)):
                if v not in allowed:
                    err(f"{where} `{key}` has unknown value `{v}`; expected one of: {', '.join(allowed)}")
        unit = st.get("capacity_unit", "")
        if unit and unit not in units:
            err(f'{where} `capacity_unit` is `{unit}`; expected one of: {", ".join(units)} (or "")')
        secret = _confidential_by_default(sid, st, where, err)
        service_types[sid] = ServiceType(
            id=sid,
            label=st.get("label", sid),
            tiers=tuple(_as_list(st.get("tiers"))),
            cohorts=tuple(_as_list(st.get("cohorts"))),
            abuse_types=tuple(_as_list(st.get("abuse_types"))),
            capacity_unit=unit,
            confidential=secret,
        )
    if not service_types:
        err("the `[service_types]` section is missing or empty")

    profiles: dict[str, Profile] = {}
    for pid, prof in raw.get("profiles", {}).items():
        benches: list[Benchmark] = []
        seen: set[str] = set()
        for i, b in enumerate(prof.get("benchmarks", []), start=1):
            bid = b.get("id")
            where = f"profile `{pid}`, benchmark {i}" + (f" (`{bid}`)" if bid else "")
            if not bid:
                err(f"{where}: `id` is missing")
                continue
            if bid in seen:
                err(f"{where}: duplicate benchmark id `{bid}`; ids must be unique within a profile")
            seen.add(bid)
            stypes = _as_list(b.get("service_types"))
            if not stypes:
                err(f"{where}: `service_types` is missing; list the service types it counts")
            for s in stypes:
                if s not in service_types:
                    err(f"{where}: unknown service type `{s}`; expected one of: {', '.join(service_types)}")
            measure = b.get("measure", "count")
            if measure not in ("capacity", "count"):
                err(f'{where}: `measure` was "{measure}" but is expected to be "capacity" or "count"')
            scope = b.get("scope", "area")
            if scope not in ("area", "selection"):
                err(f'{where}: `scope` was "{scope}" but is expected to be "area" or "selection"')
            if not b.get("source"):
                err(f"{where}: `source` is missing; every benchmark must say where its figure comes from")
            target = b.get("target")
            per = b.get("per")
            denominator = b.get("denominator")
            minimum = b.get("minimum")
            if scope == "area":
                for key, val in (("target", target), ("per", per)):
                    if val is None:
                        err(f"{where}: `{key}` is missing; an area benchmark needs `target` and `per`")
                    elif not isinstance(val, (int, float)) or isinstance(val, bool):
                        err(f"{where}: `{key}` must be a number, got {val!r}")
                if isinstance(per, (int, float)) and per <= 0:
                    err(f"{where}: `per` must be greater than zero, got {per}")
                # A zero target makes every ratio a division by zero: a benchmark needs some provision.
                if isinstance(target, (int, float)) and target <= 0:
                    err(f"{where}: `target` must be greater than zero, got {target}")
                if denominator not in denominators:
                    err(
                        f"{where}: unknown denominator `{denominator}`; expected one of: "
                        f"{', '.join(denominators)} (or add it under [denominators])"
                    )
            else:
                if not isinstance(minimum, (int, float)) or minimum <= 0:
                    err(f"{where}: a selection-scope benchmark needs `minimum` > 0, got {minimum!r}")
            benches.append(
                Benchmark(
                    id=bid,
                    label=b.get("label", bid),
                    service_types=tuple(stypes),
                    measure=measure,
                    unit=b.get("unit", "count" if measure == "count" else ""),
                    source=b.get("source", ""),
                    scope=scope,
                    target=float(target) if isinstance(target, (int, float)) else None,
                    per=float(per) if isinstance(per, (int, float)) else None,
                    denominator=denominator,
                    minimum=float(minimum) if isinstance(minimum, (int, float)) else None,
                    denominator_label=denominators.get(denominator, {}).get("label", "")
                    if isinstance(denominator, str)
                    else "",
                    publisher=str(b.get("publisher", "")),
                    title=str(b.get("title", "")),
                    year=str(b.get("year", "")),
                    scope_note=str(b.get("scope_note", "")),
                    seed=str(b.get("seed", "")),
                    regional=bool(b.get("regional", False)),
                )
            )
        if not benches:
            err(f"profile `{pid}` has no benchmarks")
        # A profile without its own demand benchmarks uses the top-level `[[demand_benchmarks]]`.
        demand = prof.get("demand_benchmarks", raw.get("demand_benchmarks", []))
        profiles[pid] = Profile(
            pid,
            prof.get("label", pid),
            tuple(benches),
            bool(prof.get("default", False)),
            demand_benchmarks=tuple(d for d in demand if isinstance(d, dict)),
            caveat=" ".join(str(prof.get("caveat", "")).split()),
        )
    if not profiles:
        err("no benchmark profiles are defined; add at least one [profiles.NAME]")
    if sum(p.default for p in profiles.values()) > 1:
        err("more than one profile says `default = true`; mark only one")

    min_population = _min_confidential_population(raw.get("confidentiality", {}), err)

    if problems:
        raise ConfigError(problems)
    return Config(
        source=file_label,
        green_at=green_at,
        amber_at=amber_at,
        tiers=tiers,
        cohorts=cohorts,
        abuse_types=abuse,
        hours=tuple(raw.get("hours", {}).get("values", [])),
        specialist_groups=tuple(raw.get("specialist_groups", {}).get("values", [])),
        capacity_units=units,
        service_types=service_types,
        denominators=denominators,
        profiles=profiles,
        demand_measures=dict(raw.get("demand_measures", {})),
        min_confidential_population=min_population,
    )


def _confidential_by_default(sid: str, st: dict[str, Any], where: str, err: Any) -> bool:
    """`confidential_by_default` (or the older `confidential`) of a service type; fails closed.

    A value that is not true/false is an error rather than "not confidential", and when both
    keys are given and disagree the type is confidential (and the conflict reported).
    """
    values = {k: st[k] for k in ("confidential_by_default", "confidential") if k in st}
    if not values:
        # A user's file that lists a statutory accommodation type without saying is secret.
        return sid in SAFE_ACCOMMODATION_TYPES
    for key, value in values.items():
        if not isinstance(value, bool):
            err(f"{where} `{key}` is {value!r}; write true or false")
    if len({v for v in values.values() if isinstance(v, bool)}) > 1:
        err(f"{where} has both `confidential_by_default` and `confidential`, and they disagree; keep one")
    return any(v is not False for v in values.values())


def _min_confidential_population(section: Any, err: Any) -> float:
    """`[confidentiality] min_area_population`: a finite number, at least 1."""
    if not isinstance(section, dict):
        err("`confidentiality` must be a section ([confidentiality]), not a value")
        return DEFAULT_MIN_CONFIDENTIAL_POPULATION
    value = section.get("min_area_population", DEFAULT_MIN_CONFIDENTIAL_POPULATION)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= 1
        or value == float("inf")
    ):
        err(
            f"[confidentiality] `min_area_population` is {value!r}; write a whole number of residents "
            f"(e.g. {DEFAULT_MIN_CONFIDENTIAL_POPULATION:.0f})"
        )
        return DEFAULT_MIN_CONFIDENTIAL_POPULATION
    return float(value)


def _default_raw() -> dict[str, Any]:
    text = resources.files("gapmap").joinpath(DEFAULT_CONFIG_NAME).read_text(encoding="utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def default_config() -> Config:
    """The packaged vocabulary and benchmarks."""
    return _build(_default_raw(), DEFAULT_CONFIG_NAME)


def load_config(path: Path | str | None = None) -> Config:
    """Load the packaged config, overridden section by section by a user's TOML file.

    Parameters
    ----------
    path
        A user's TOML file, or None for the packaged defaults.
    """
    if path is None:
        return default_config()
    label = Path(path).name
    raw = _default_raw()
    user = _read_toml(path, label)
    # A misspelt section ("[profile.local]") would otherwise be ignored silently, and the
    # map would show the default benchmarks under the user's name for them.
    unknown = [key for key in user if key not in raw]
    if unknown:
        raise ConfigError(
            [Problem(label, f"unknown section `{key}`; expected one of: {', '.join(raw)}") for key in unknown]
        )
    raw.update(user)
    return _build(raw, label)
