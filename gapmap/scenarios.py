"""What-if scenarios: add, remove or change services, layered on a service list, never saved into it.

A scenario is a small file (TOML or CSV) with a name and a list of actions:

TOML::

    name = "Two more Idva posts in Saltmere"
    description = "Fund 2 FTE from April 2027"
    [[add]]
    name = "Saltmere Idva (new)"
    service_type = "idva"
    serves = "E07999001"
    capacity = 2
    [[remove]]
    service_id = "S0012"
    [[change]]
    service_id = "S0003"
    capacity = 5
    funding_end = "2028-03-31"

CSV: one row per action, with columns `action` (add, remove or change), `service_id`, and the
service-list columns the action needs (`scenario_name` optional: the first non-blank one names it).

`apply_scenario` returns a *new* services frame (added rows go through the same validation as
any service list, with the same messages); the frame it was given, and any saved version, is
untouched. `run_scenario` scores before and after and lines up every figure (the version
comparison's tables, so a scenario reads like a comparison of two versions). Scenarios are saved
beside the saved versions (atomic writes) and listed by `list_scenarios`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap import settings
from gapmap.compare import (
    COVERAGE_CHANGE_COLUMNS,
    compare_area_figures,
    compare_coverage,
    diff_services,
)
from gapmap.config import Config
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.fileio import write_atomic
from gapmap.schema import SERVES_EVERYWHERE, SERVICE_COLUMNS
from gapmap.services import parse_date, validate_service_table
from gapmap.tables import ROW_COLUMN, read_table
from gapmap.wording import number, percent, status_label, unit_label

ACTIONS: tuple[str, ...] = ("add", "remove", "change")
#: Fields a `change` may set.
CHANGEABLE: tuple[str, ...] = ("capacity", "serves", "funding_end", "name")


@dataclass(frozen=True)
class ScenarioAction:
    action: str
    fields: dict[str, str]
    row: int | None = None  # the row (CSV) or the entry number (TOML) in messages


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    actions: tuple[ScenarioAction, ...]
    file: str = "scenario"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_scenario(content: bytes, name: str) -> Scenario:
    """Read a scenario file (TOML by its name ending in .toml, else CSV/XLSX); errors name the row."""
    report = ValidationReport()
    actions: list[ScenarioAction] = []
    if name.lower().endswith(".toml"):
        try:
            raw = tomllib.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GapmapInputError(f"this is not a readable TOML file: {exc}", file=name) from exc
        title = _text(raw.get("name"))
        description = _text(raw.get("description"))
        for key in raw:
            if key not in (*ACTIONS, "name", "description"):
                report.error(
                    name, f"`{key}` is not part of a scenario; use name, description, add, remove, change."
                )
        for action in ACTIONS:
            for k, entry in enumerate(raw.get(action, []) or [], start=1):
                if not isinstance(entry, dict):
                    report.error(name, f"[[{action}]] entry {k} is not a table of fields.")
                    continue
                actions.append(ScenarioAction(action, {str(f): _text(v) for f, v in entry.items()}, k))
    else:
        table = read_table(
            None,
            content=content,
            name=name,
            role="scenario",
            report=report,
            expected_columns=("action", "service_id", "name", "service_type", "capacity", "serves"),
        )
        if table is None:
            report.raise_if_errors()
            raise GapmapInputError("the scenario table could not be read", file=name)
        title, description = "", ""
        cols = {c.strip().lower(): c for c in table.columns if c != ROW_COLUMN}
        if "action" not in cols:
            raise GapmapInputError(
                "no `action` column; give each row an action: add, remove or change.", file=name
            )
        for rec in table.to_dict("records"):
            row = int(rec[ROW_COLUMN])
            values = {k: _text(rec[c]) for k, c in cols.items()}
            if not any(values.values()):
                continue
            title = title or values.pop("scenario_name", "")
            values.pop("scenario_name", None)
            description = description or values.pop("description", "")
            values.pop("description", None)
            action = values.pop("action").lower()
            actions.append(ScenarioAction(action, {k: v for k, v in values.items() if v}, row))
    for a in actions:
        where = f"row {a.row}" if not name.lower().endswith(".toml") else f"[[{a.action}]] entry {a.row}"
        if a.action not in ACTIONS:
            report.error(name, f"{where}: action `{a.action}` is not one of add, remove, change.", row=a.row)
        elif a.action in ("remove", "change") and not a.fields.get("service_id"):
            report.error(name, f"{where}: `{a.action}` needs the `service_id` of the service.", row=a.row)
        elif a.action == "change":
            unknown = [f for f in a.fields if f not in ("service_id", *CHANGEABLE)]
            if unknown:
                report.error(
                    name,
                    f"{where}: `{unknown[0]}` cannot be changed by a scenario; change one of: "
                    + ", ".join(CHANGEABLE)
                    + " (or remove the service and add a new one).",
                    row=a.row,
                )
    if not actions:
        report.error(name, "the scenario has no actions; add at least one add, remove or change.")
    report.raise_if_errors()
    stem = Path(name).stem
    return Scenario(name=title or stem, description=description, actions=tuple(actions), file=name)


def load_scenario(path: Path | str) -> Scenario:
    """Read a scenario file from disk."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise GapmapInputError(f"cannot read the scenario file: {exc.strerror}", file=path.name) from exc
    return parse_scenario(content, path.name)


def apply_scenario(
    services: gpd.GeoDataFrame,
    scenario: Scenario,
    config: Config,
    *,
    areas: gpd.GeoDataFrame | None = None,
    today: date | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The services with the scenario applied (a new frame), and a table of what it changed.

    Returns
    -------
    (services_after, changes): changes has action, service_id, name, field, before, after:
    one row per added or removed service and per changed field. Locations are never listed.
    Raises GapmapInputError naming every action that cannot be applied.
    """
    report = ValidationReport()
    file = scenario.file
    out = services.copy()
    ids = out["service_id"].astype(str)
    changes: list[dict[str, Any]] = []
    area_codes = set(areas["area_code"].astype(str)) if areas is not None else None

    def unknown_id(a: ScenarioAction) -> None:
        sid = a.fields["service_id"]
        close = difflib.get_close_matches(sid, list(ids), n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        report.error(file, f"no service has service_id `{sid}` in this service list.{hint}", row=a.row)

    remove_ids: set[str] = set()
    for a in scenario.actions:
        if a.action == "remove":
            sid = a.fields["service_id"]
            if sid not in set(ids):
                unknown_id(a)
                continue
            name = str(out.loc[ids == sid, "name"].iloc[0])
            remove_ids.add(sid)
            changes.append(
                {"action": "remove", "service_id": sid, "name": name, "field": "", "before": "", "after": ""}
            )
        elif a.action == "change":
            sid = a.fields["service_id"]
            if sid not in set(ids):
                unknown_id(a)
                continue
            pos = np.flatnonzero((ids == sid).to_numpy())[0]
            name = str(out["name"].iat[pos])
            for fld, text in a.fields.items():
                if fld == "service_id":
                    continue
                before = out[fld].iat[pos]
                if fld == "capacity":
                    try:
                        value: Any = float(text.replace(",", ""))
                    except ValueError:
                        report.error(
                            file, f"`capacity` is `{text}`, which is not a number.", row=a.row, column=fld
                        )
                        continue
                    if value < 0:
                        report.error(file, "`capacity` must be zero or more.", row=a.row, column=fld)
                        continue
                elif fld == "serves":
                    codes = tuple(c.strip() for c in text.replace(",", ";").split(";") if c.strip())
                    bad = [
                        c
                        for c in codes
                        if area_codes is not None and c != SERVES_EVERYWHERE and c not in area_codes
                    ]
                    if bad:
                        report.error(
                            file,
                            f"`serves` names `{bad[0]}`, which is not an area of these boundaries; "
                            "give area codes.",
                            row=a.row,
                            column=fld,
                        )
                        continue
                    value = codes
                elif fld == "funding_end":
                    stamp, why = parse_date(text)
                    if stamp is None:
                        report.error(
                            file, f"`funding_end` `{text}` {why}; write YYYY-MM-DD.", row=a.row, column=fld
                        )
                        continue
                    value = stamp
                else:
                    value = text
                out.iat[pos, out.columns.get_loc(fld)] = value
                changes.append(
                    {
                        "action": "change",
                        "service_id": sid,
                        "name": name,
                        "field": fld,
                        "before": _show(before),
                        "after": _show(value),
                    }
                )
    adds = [a for a in scenario.actions if a.action == "add"]
    if adds:
        used = set(ids)
        table = pd.DataFrame([a.fields for a in adds]).fillna("")
        if "service_id" not in table.columns:
            table["service_id"] = ""
        for k in range(len(table)):
            if not table.at[k, "service_id"]:
                n = k + 1
                while f"SCN{n:03d}" in used:
                    n += 1
                table.at[k, "service_id"] = f"SCN{n:03d}"
                used.add(f"SCN{n:03d}")
        table[ROW_COLUMN] = [a.row or 0 for a in adds]
        # In a TOML scenario "row" means the [[add]] entry number; the messages say so.
        label = f"{file} ([[add]] entry = row)" if file.lower().endswith(".toml") else file
        added = validate_service_table(
            table, file=label, config=config, areas=areas, report=report, today=today
        )
        if added is not None:
            clash = set(added["service_id"].astype(str)) & set(ids)
            for sid in sorted(clash):
                report.error(file, f"an added service uses service_id `{sid}`, which is already taken.")
            for r in added.itertuples(index=False):
                cap = (
                    ""
                    if pd.isna(r.capacity)
                    else f"{number(r.capacity)} {unit_label(r.capacity_unit)}".strip()
                )
                changes.append(
                    {
                        "action": "add",
                        "service_id": r.service_id,
                        "name": r.name,
                        "field": "capacity",
                        "before": "",
                        "after": cap,
                    }
                )
            extra = [c for c in out.columns if c not in added.columns]
            for c in extra:
                added[c] = np.nan
            out = pd.concat([out, added[list(out.columns)]], ignore_index=True)
    report.raise_if_errors()
    if remove_ids:
        out = out[~out["service_id"].astype(str).isin(remove_ids)].reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=services.crs)
    return out, pd.DataFrame(changes, columns=["action", "service_id", "name", "field", "before", "after"])


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "; ".join(value)
    if isinstance(value, pd.Timestamp):
        return "" if pd.isna(value) else value.date().isoformat()
    if isinstance(value, float):
        return "" if np.isnan(value) else number(value)
    return "" if value is None else str(value)


@dataclass
class ScenarioResult:
    """A scenario scored: the analyses before and after and what moved.

    Attributes
    ----------
    changes
        What the scenario did to the service list (`apply_scenario`).
    figures
        Every area x benchmark row before and after (`compare.AREA_CHANGE_COLUMNS`).
    coverage
        Patchwork cells whose number of services changed, with "gap closed"/"gap opened".
    """

    scenario: Scenario
    before: Any
    after: Any
    services_after: gpd.GeoDataFrame
    changes: pd.DataFrame
    figures: pd.DataFrame
    coverage: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COVERAGE_CHANGE_COLUMNS))
    )

    @property
    def moved(self) -> pd.DataFrame:
        return self.figures[self.figures["moved"]].reset_index(drop=True)

    def to_text(self) -> str:
        """Before and after in words for a terminal (no location is ever printed)."""
        lines = [f"Scenario: {self.scenario.name}"]
        if self.scenario.description:
            lines.append(f"  {self.scenario.description}")
        for r in self.changes.itertuples(index=False):
            if r.action == "change":
                lines.append(f"  ~ {r.service_id} {r.name}: {r.field} {r.before or '(blank)'} -> {r.after}")
            else:
                mark = "+" if r.action == "add" else "-"
                lines.append(f"  {mark} {r.service_id} {r.name}" + (f" ({r.after})" if r.after else ""))
        moved = self.moved
        lines.append("Before -> after:" if len(moved) else "No figure moved.")
        for r in moved.itertuples(index=False):
            lines.append(
                f"  {r.area_name}, {r.benchmark_label}: "
                f"provided {number(r.provided_old)} -> {number(r.provided_new)}; "
                f"ratio {_pct(r.ratio_old)} -> {_pct(r.ratio_new)}; "
                f"{status_label(r.status_old)} -> {status_label(r.status_new)}"
            )
        for r in self.coverage[self.coverage["change"] != ""].itertuples(index=False):
            lines.append(f"  {r.area_name}, {r.tier} x {r.cohort}: {r.change}")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return percent(x)


def run_scenario(
    dataset: Any,
    scenario: Scenario,
    *,
    analyse_fn: Any = None,
    before: Any = None,
    today: date | None = None,
) -> ScenarioResult:
    """Score the dataset before and after the scenario; the dataset itself is not changed.

    Parameters
    ----------
    analyse_fn
        `services -> GapAnalysis` (so the caller's profile, filter, selection and demand rows
        apply to both); default `engine.analyse` with the dataset's defaults.
    before
        The analysis already computed for the dataset, to save scoring it twice.
    """
    if analyse_fn is None:
        from gapmap.engine import analyse

        def analyse_fn(services: gpd.GeoDataFrame) -> Any:
            return analyse(
                dataset.areas,
                dataset.population,
                services,
                dataset.config,
                small_area_population=dataset.small_area_population,
            )

    after_services, changes = apply_scenario(
        dataset.services, scenario, dataset.config, areas=dataset.areas, today=today
    )
    before = before if before is not None else analyse_fn(dataset.services)
    after = analyse_fn(after_services)
    return ScenarioResult(
        scenario=scenario,
        before=before,
        after=after,
        services_after=after_services,
        changes=changes,
        figures=compare_area_figures(before.gaps, after.gaps),
        coverage=compare_coverage(before.coverage, after.coverage),
    )


def with_services(dataset: Any, services: gpd.GeoDataFrame) -> Any:
    """A copy of a Dataset with other services (the original is untouched)."""
    return dataclasses.replace(dataset, services=services)


# --------------------------------------------------------------------------- saved scenarios


def scenarios_dir(root: Path | str | None = None) -> Path:
    """Where scenarios are kept: beside the saved versions (`<saved>/../scenarios`)."""
    return Path(root) if root is not None else Path(settings.SAVED_SERVICES_DIR).parent / "scenarios"


def save_scenario(content: bytes, name: str, root: Path | str | None = None) -> Path:
    """Check and save a scenario file (atomic write); a name already used gets a number."""
    from gapmap.storage import safe_file_name

    parse_scenario(content, name)  # never save a scenario that cannot be read back
    folder = scenarios_dir(root)
    # Owner-only, like the saved versions: a scenario may add a service with its location.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = safe_file_name(name)
    stem, dot, ext = base.rpartition(".")
    stem, ext = (stem, ext) if dot else (base, "toml")
    target = folder / f"{stem}.{ext}"
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}.{ext}"
        n += 1
    return write_atomic(target, content, durable_rename=True)


def list_scenarios(root: Path | str | None = None) -> list[dict[str, str]]:
    """Saved scenarios, oldest first: file, name, actions and saved time (UTC ISO)."""
    folder = scenarios_dir(root)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
        if path.name.startswith(".") or path.suffix.lower() not in (".toml", ".csv", ".xlsx"):
            continue
        try:
            sc = parse_scenario(path.read_bytes(), path.name)
            name, count = sc.name, str(len(sc.actions))
        except GapmapInputError:
            name, count = "(cannot be read)", ""
        stamp = pd.Timestamp(path.stat().st_mtime, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append({"file": path.name, "name": name, "actions": count, "saved": stamp})
    return out


def scenario_json(result: ScenarioResult) -> str:
    """A compact summary for summary.json-style outputs."""
    return json.dumps(
        {
            "name": result.scenario.name,
            "description": result.scenario.description,
            "actions": len(result.scenario.actions),
            "figures_moved": int(result.figures["moved"].sum()),
        }
    )


__all__ = [
    "SERVICE_COLUMNS",
    "Scenario",
    "ScenarioResult",
    "apply_scenario",
    "diff_services",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "save_scenario",
    "with_services",
]
