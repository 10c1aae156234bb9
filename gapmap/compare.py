"""Compare two versions of a service list: what changed, and how each area's figures moved.

`compare_versions(old, new)` pairs services by `service_id` (or, when both lists carry only
generated ids, by name + type + provider) and reports services added, removed and changed
field by field; then it scores both versions with `gapmap.engine.analyse` and lines up every
area x benchmark figure before and after.

Confidential services (refuges) are compared like any other, except that their location
fields are never compared, shown or written: only their name, type, capacity and so on.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gapmap import wording
from gapmap.errors import GapmapInputError
from gapmap.privacy import redact_confidential
from gapmap.schema import AREA_CODE, AREA_NAME, LIST_COLUMNS, LOCATION_COLUMNS, SERVICE_COLUMNS

#: The fields compared, in schema order. service_id is the key; source_row, geometry and
#: location_source are bookkeeping (a move shows up in postcode/latitude/longitude).
_BOOKKEEPING = frozenset({"service_id", "location_source", "source_row", "geometry"})
COMPARED_FIELDS: tuple[str, ...] = tuple(c for c in SERVICE_COLUMNS if c not in _BOOKKEEPING)

#: Columns of `added` / `removed`: what identifies a service and what it contributes.
SERVICE_SUMMARY_COLUMNS: tuple[str, ...] = (
    "service_id",
    "name",
    "service_type",
    "provider",
    "tiers",
    "cohorts",
    "serves",
    "capacity",
    "capacity_unit",
    "funding_end",
    "confidential",
    "postcode",
    "latitude",
    "longitude",
)

CHANGED_COLUMNS: tuple[str, ...] = ("service_id", "name", "field", "old", "new")

AREA_CHANGE_COLUMNS: tuple[str, ...] = (
    AREA_CODE,
    AREA_NAME,
    "benchmark_id",
    "benchmark_label",
    "required_old",
    "required_new",
    "provided_old",
    "provided_new",
    "provided_change",
    "ratio_old",
    "ratio_new",
    "ratio_change",
    "status_old",
    "status_new",
    "moved",
)

COVERAGE_CHANGE_COLUMNS: tuple[str, ...] = (
    AREA_CODE,
    AREA_NAME,
    "tier",
    "cohort",
    "services_old",
    "services_new",
    "change",
)

#: Ids `gapmap.services` generates for rows without one (S0001, S0002, … in row order). They
#: follow row order, so matching two lists by them would pair unrelated services.
_GENERATED_ID = re.compile(r"^S\d{4,}$")

#: Differences smaller than this are rounding, not change (capacities, ratios, coordinates).
_TOLERANCE = 1e-9


@dataclass
class VersionComparison:
    """What changed between two service lists.

    Attributes
    ----------
    added, removed
        One row per service (`SERVICE_SUMMARY_COLUMNS`, display strings). Confidential
        services have their location fields blank.
    changed
        One row per changed field of a service present in both: service_id, name, field,
        old, new (display strings). Never a location field of a confidential service.
    area_changes
        One row per area x benchmark (and the `ALL` selection rows): required, provided,
        ratio and status before and after, the differences, and `moved` (anything differs).
    coverage_changes
        The patchwork: one row per area x tier x cohort whose number of services changed;
        `change` is "gap closed" (none before), "gap opened" (none after) or "".
    profile
        The benchmark profile id both versions were scored with.
    old_label, new_label
        Where each version came from (e.g. "v0003" or a file name).
    matched_by
        "service_id" or "name, service_type and provider".
    """

    added: pd.DataFrame
    removed: pd.DataFrame
    changed: pd.DataFrame
    area_changes: pd.DataFrame
    coverage_changes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COVERAGE_CHANGE_COLUMNS))
    )
    profile: str | None = None
    old_label: str = "old"
    new_label: str = "new"
    old_count: int = 0
    new_count: int = 0
    matched_by: str = "service_id"
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(len(self.added) or len(self.removed) or len(self.changed))

    @property
    def moved(self) -> pd.DataFrame:
        """Only the area x benchmark rows whose figures moved."""
        if self.area_changes.empty:
            return self.area_changes
        return self.area_changes[self.area_changes["moved"]].reset_index(drop=True)

    def to_text(self) -> str:
        """A summary for a terminal or a log (no confidential location, by construction)."""
        lines = [
            f"Comparing {self.old_label} ({self.old_count} services) with "
            f"{self.new_label} ({self.new_count} services); services matched by {self.matched_by}.",
        ]
        if self.profile:
            lines.append(f"Benchmark profile: {self.profile}.")
        lines.extend(self.notes)
        lines.append("")
        if not self.has_changes:
            lines.append("The two service lists describe the same services.")
        for title, frame, mark in (("Added", self.added, "+"), ("Removed", self.removed, "-")):
            if len(frame):
                lines.append(f"{title} ({len(frame)}):")
                for row in frame.itertuples(index=False):
                    lines.append(f"  {mark} {row.service_id} {row.name} [{row.service_type}]")
        if len(self.changed):
            n = self.changed["service_id"].nunique()
            lines.append(f"Changed ({n}):")
            for (service_id, name), rows in self.changed.groupby(["service_id", "name"], sort=False):
                parts = [f"{r.field} {_quoted(r.old)} -> {_quoted(r.new)}" for r in rows.itertuples()]
                lines.append(f"  ~ {service_id} {name}: " + "; ".join(parts))
        moved = self.moved
        lines.append("")
        if moved.empty:
            lines.append("No area's benchmark figures moved.")
        else:
            lines.append(f"Area figures that moved ({len(moved)}):")
            for row in moved.itertuples(index=False):
                lines.append(
                    f"  {row.area_name} ({row.area_code}), {row.benchmark_label}: "
                    f"provided {wording.number(row.provided_old)} -> {wording.number(row.provided_new)} "
                    f"({wording.signed_number(row.provided_change)}); share of the benchmark "
                    f"{wording.percent(row.ratio_old)} -> {wording.percent(row.ratio_new)}; "
                    f"{wording.status_label(row.status_old)} -> {wording.status_label(row.status_new)}"
                )
        opened = self.coverage_changes[self.coverage_changes["change"] != ""]
        if len(opened):
            lines.append("")
            lines.append(f"Patchwork cells that opened or closed ({len(opened)}):")
            for row in opened.itertuples(index=False):
                lines.append(f"  {row.area_name} ({row.area_code}), {row.tier} x {row.cohort}: {row.change}")
        return "\n".join(lines)


# ---------------------------------------------------------------- value formatting
def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, (tuple, list, str)) else False
    except (TypeError, ValueError):
        return False


def _normalise(column: str, value: Any) -> Any:
    """A comparable form: sets for list columns, rounded floats, ISO dates, '' for missing."""
    if _is_missing(value):
        return ""
    if column in LIST_COLUMNS:
        items = (value,) if isinstance(value, str) else tuple(value)
        return tuple(sorted(str(v) for v in items if str(v) != ""))
    if column == "funding_end":
        return pd.Timestamp(value).date().isoformat()
    if column == "confidential":
        return bool(value)
    if column in ("latitude", "longitude"):
        return round(float(value), 5)  # about a metre
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 9)
    return str(value)


def _display(value: Any) -> str:
    if value == "" or value == ():
        return ""
    if isinstance(value, tuple):
        return "; ".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _quoted(text: str) -> str:
    return f"'{text}'" if text else "(blank)"


# ---------------------------------------------------------------- service-level diff
def _keys(services: pd.DataFrame, by_id: bool) -> list[str]:
    if by_id:
        return services["service_id"].astype(str).tolist()
    keys: list[str] = []
    seen: dict[str, int] = {}
    for name, kind, provider in zip(
        services["name"].astype(str),
        services["service_type"].astype(str),
        services["provider"].astype(str),
        strict=True,
    ):
        base = f"{name.strip().casefold()}|{kind}|{provider.strip().casefold()}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(f"{base}|{seen[base]}")  # the n-th identical service pairs with the n-th
    return keys


def _only_generated_ids(services: pd.DataFrame) -> bool:
    ids = services["service_id"].astype(str)
    return len(ids) > 0 and bool(ids.str.match(_GENERATED_ID).all())


def _summary_rows(services: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for record in services.to_dict("records"):
        rows.append({c: _display(_normalise(c, record.get(c))) for c in SERVICE_SUMMARY_COLUMNS})
    return pd.DataFrame(rows, columns=list(SERVICE_SUMMARY_COLUMNS), dtype=object)


def diff_services(
    old: pd.DataFrame, new: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """Services added, removed and changed between two normalised service frames.

    Returns
    -------
    (added, removed, changed, matched_by); see `VersionComparison`.
    """
    old = redact_confidential(old) if len(old) else old
    new = redact_confidential(new) if len(new) else new
    by_id = not (_only_generated_ids(old) and _only_generated_ids(new))
    matched_by = "service_id" if by_id else "name, service_type and provider"
    old_keys, new_keys = _keys(old, by_id), _keys(new, by_id)
    old_pos = {k: i for i, k in enumerate(old_keys)}
    new_pos = {k: i for i, k in enumerate(new_keys)}

    added = _summary_rows(new.iloc[[new_pos[k] for k in new_keys if k not in old_pos]])
    removed = _summary_rows(old.iloc[[old_pos[k] for k in old_keys if k not in new_pos]])

    old_records = old.to_dict("records")
    new_records = new.to_dict("records")
    changes = []
    for key in new_keys:
        if key not in old_pos:
            continue
        before, after = old_records[old_pos[key]], new_records[new_pos[key]]
        secret = bool(_normalise("confidential", before.get("confidential"))) or bool(
            _normalise("confidential", after.get("confidential"))
        )
        for column in COMPARED_FIELDS:
            if secret and column in LOCATION_COLUMNS:
                continue  # a refuge's address must not leak, not even as "it moved"
            a, b = _normalise(column, before.get(column)), _normalise(column, after.get(column))
            if a != b:
                changes.append(
                    {
                        "service_id": str(after["service_id"]),
                        "name": str(after["name"]),
                        "field": column,
                        "old": _display(a),
                        "new": _display(b),
                    }
                )
    changed = pd.DataFrame(changes, columns=list(CHANGED_COLUMNS), dtype=object)
    return added, removed, changed, matched_by


# ---------------------------------------------------------------- area figures
def _analyse(dataset, profile: str | None, selection: Sequence[str] | None = None):
    from gapmap.engine import analyse

    return analyse(
        dataset.areas,
        dataset.population,
        dataset.services,
        dataset.config,
        profile=profile,
        selection=selection,
        small_area_population=getattr(dataset, "small_area_population", None),
    )


def _changed(a: Any, b: Any) -> bool:
    if _is_missing(a) and _is_missing(b):
        return False
    if _is_missing(a) or _is_missing(b):
        return True
    if isinstance(a, str) or isinstance(b, str):
        return str(a) != str(b)
    return abs(float(a) - float(b)) > _TOLERANCE * max(1.0, abs(float(a)), abs(float(b)))


def compare_area_figures(old_gaps: pd.DataFrame, new_gaps: pd.DataFrame) -> pd.DataFrame:
    """Line up two `GapAnalysis.gaps` frames by area and benchmark (see `AREA_CHANGE_COLUMNS`)."""
    keys = [AREA_CODE, "benchmark_id"]
    wanted = [AREA_NAME, "benchmark_label", "required", "provided", "ratio", "status"]
    left = old_gaps[keys + wanted]
    right = new_gaps[keys + wanted]
    merged = left.merge(right, on=keys, how="outer", suffixes=("_old", "_new"), sort=False)
    out = pd.DataFrame(
        {
            AREA_CODE: merged[AREA_CODE],
            AREA_NAME: merged[f"{AREA_NAME}_new"].fillna(merged[f"{AREA_NAME}_old"]),
            "benchmark_id": merged["benchmark_id"],
            "benchmark_label": merged["benchmark_label_new"].fillna(merged["benchmark_label_old"]),
        }
    )
    for column in ("required", "provided", "ratio"):
        out[f"{column}_old"] = pd.to_numeric(merged[f"{column}_old"], errors="coerce").astype(float)
        out[f"{column}_new"] = pd.to_numeric(merged[f"{column}_new"], errors="coerce").astype(float)
    out["provided_change"] = out["provided_new"] - out["provided_old"]
    out["ratio_change"] = out["ratio_new"] - out["ratio_old"]
    out["status_old"] = merged["status_old"].astype(object).where(merged["status_old"].notna(), "absent")
    out["status_new"] = merged["status_new"].astype(object).where(merged["status_new"].notna(), "absent")
    moved = []
    for row in out.itertuples(index=False):
        moved.append(
            row.status_old != row.status_new
            or any(
                _changed(getattr(row, f"{c}_old"), getattr(row, f"{c}_new"))
                for c in ("required", "provided", "ratio")
            )
        )
    out["moved"] = moved
    return out[list(AREA_CHANGE_COLUMNS)].reset_index(drop=True)


def compare_coverage(old_coverage: pd.DataFrame, new_coverage: pd.DataFrame) -> pd.DataFrame:
    """Tier x cohort cells whose number of services changed (see `COVERAGE_CHANGE_COLUMNS`)."""
    keys = [AREA_CODE, "tier", "cohort"]
    left = old_coverage[[*keys, AREA_NAME, "services"]]
    right = new_coverage[[*keys, AREA_NAME, "services"]]
    merged = left.merge(right, on=keys, how="outer", suffixes=("_old", "_new"), sort=False)
    out = pd.DataFrame(
        {
            AREA_CODE: merged[AREA_CODE],
            AREA_NAME: merged[f"{AREA_NAME}_new"].fillna(merged[f"{AREA_NAME}_old"]),
            "tier": merged["tier"],
            "cohort": merged["cohort"],
            "services_old": pd.to_numeric(merged["services_old"], errors="coerce").fillna(0.0).astype(float),
            "services_new": pd.to_numeric(merged["services_new"], errors="coerce").fillna(0.0).astype(float),
        }
    )
    out = out[(out["services_old"] - out["services_new"]).abs() > _TOLERANCE].copy()
    before, after = out["services_old"] > _TOLERANCE, out["services_new"] > _TOLERANCE
    out["change"] = ""
    out.loc[~before & after, "change"] = "gap closed"
    out.loc[before & ~after, "change"] = "gap opened"
    return out[list(COVERAGE_CHANGE_COLUMNS)].reset_index(drop=True)


# ---------------------------------------------------------------- public API
def compare_versions(
    old,
    new,
    *,
    profile: str | None = None,
    old_label: str = "old",
    new_label: str = "new",
    selection: Sequence[str] | None = None,
) -> VersionComparison:
    """Compare two datasets' service lists and how their benchmark figures differ.

    Parameters
    ----------
    old, new
        `gapmap.dataset.Dataset` objects (normally the same areas and population, two
        versions of the service list).
    profile
        Benchmark profile id scored on both; None for the new dataset's default profile.
    old_label, new_label
        How to name the versions in the summary (e.g. "v0003").
    selection
        Area codes whose figures are compared (a partnership); None for every area.
    """
    added, removed, changed, matched_by = diff_services(old.services, new.services)
    notes = []
    config = new.config
    profile_id = profile or config.default_profile.id
    old_analysis = _analyse(_with_config(old, config), profile_id, selection)
    new_analysis = _analyse(new, profile_id, selection)
    if sorted(old.areas[AREA_CODE].astype(str)) != sorted(new.areas[AREA_CODE].astype(str)):
        notes.append("Note: the two versions were checked against different areas.")
    return VersionComparison(
        added=added,
        removed=removed,
        changed=changed,
        area_changes=compare_area_figures(old_analysis.gaps, new_analysis.gaps),
        coverage_changes=compare_coverage(old_analysis.coverage, new_analysis.coverage),
        profile=profile_id,
        old_label=old_label,
        new_label=new_label,
        old_count=len(old.services),
        new_count=len(new.services),
        matched_by=matched_by,
        notes=notes,
    )


def _with_config(dataset, config):
    """The dataset scored with `config` (both versions must use the same benchmarks)."""
    if dataset.config is config:
        return dataset
    from dataclasses import replace

    return replace(dataset, config=config)


def _resolve(reference: str, folder: Path | None) -> tuple[Path, str]:
    """A version id in `folder` or a path to a service file -> (path, label)."""
    from gapmap.storage import get_version, read_version

    candidate = Path(reference)
    if candidate.is_file():
        return candidate, candidate.name
    if re.fullmatch(r"[vV]?\d+", reference.strip()):
        version = get_version(reference, folder)
        read_version(version)  # a version changed since it was saved is reported, never compared
        return version.path, f"{version.version_id} ({version.original_name}, saved {version.saved_at})"
    raise GapmapInputError(
        f"`{reference}` is neither a saved version id (like v0003; see `python -m gapmap versions`) "
        "nor an existing service file",
        file=reference,
    )


def _recorded_geography(reference: str, folder: Path | None) -> str:
    """The geography a saved version was validated against ("" for a file or an old version)."""
    from gapmap.storage import get_version

    if Path(reference).is_file() or not re.fullmatch(r"[vV]?\d+", reference.strip()):
        return ""
    return get_version(reference, folder).geography


def run_compare(args: argparse.Namespace) -> int:
    """`python -m gapmap compare OLD NEW`: print what changed between two service lists.

    OLD and NEW are saved version ids (in `--dir`, default data/services/saved) or paths.
    Without `--boundaries`, both lists are checked against the fictional demo county.
    """
    from gapmap import settings
    from gapmap.dataset import load_dataset

    folder = getattr(args, "dir", None)
    old_path, old_label = _resolve(args.old, folder)
    new_path, new_label = _resolve(args.new, folder)
    boundaries, population = args.boundaries, args.population
    notes = []
    recorded = {_recorded_geography(args.old, folder), _recorded_geography(args.new, folder)} - {""}
    if boundaries is None and len(recorded) > 1:
        raise GapmapInputError(
            f"{args.old} and {args.new} were checked against different areas "
            f"({', '.join(sorted(recorded))}); compare versions of the same geography, or pass "
            "--boundaries to check both against one.",
            file="compare",
        )
    if boundaries is None and recorded == {"england_lad24"}:
        notes.append("Areas: England built in (the geography both versions were saved on).")
    elif boundaries is None and recorded and recorded != {"demo"}:
        raise GapmapInputError(
            f"{args.old} and {args.new} were checked against your own boundary file; pass it again with "
            "--boundaries (and --population).",
            file="compare",
        )
    elif boundaries is None:
        boundaries = settings.DEMO_BOUNDARIES
        population = population or settings.DEMO_POPULATION
        notes.append("Areas: the fictional demo county (pass --boundaries and --population to use your own).")
    inputs = {
        "boundaries": boundaries,
        "population": population,
        "postcodes": args.postcodes,
        "benchmarks": args.benchmarks,
    }
    old = load_dataset(services=old_path, **inputs)
    new = load_dataset(services=new_path, **inputs)
    selection = None
    if getattr(args, "areas", None):
        from gapmap.geography import select_areas

        selection = select_areas(args.areas, new.areas, new.geography)
        count = len(selection) if selection is not None else len(new.areas)  # None: every area
        notes.append(f"Figures cover the {count} area(s) of --areas {args.areas}.")
    comparison = compare_versions(
        old,
        new,
        profile=getattr(args, "profile", None),
        old_label=old_label,
        new_label=new_label,
        selection=selection,
    )
    comparison.notes[:0] = notes
    print(comparison.to_text())
    return 0
