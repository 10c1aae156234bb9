"""Named partnerships (sets of areas), read from `partnerships.toml` as data."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gapmap.errors import ConfigError, Problem

DEFAULT_PARTNERSHIPS_NAME = "partnerships.toml"


@dataclass(frozen=True)
class Partnership:
    """A named set of ONS area codes, e.g. LLR = Leicester + Rutland + 7 Leicestershire districts."""

    id: str
    label: str
    area_codes: tuple[str, ...]
    note: str = ""

    def present_in(self, area_codes: Iterable[str]) -> tuple[str, ...]:
        """This partnership's codes that appear in `area_codes`, in the partnership's order."""
        available = set(area_codes)
        return tuple(c for c in self.area_codes if c in available)


def load_partnerships(path: Path | str | None = None) -> dict[str, Partnership]:
    """Partnerships from a TOML file (default: the packaged `partnerships.toml`).

    Raises
    ------
    ConfigError
        Naming the file and the partnership when a table lacks `label` or `areas`.
    """
    if path is None:
        text = resources.files("gapmap").joinpath(DEFAULT_PARTNERSHIPS_NAME).read_text(encoding="utf-8")
        label = DEFAULT_PARTNERSHIPS_NAME
    else:
        label = Path(path).name
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"file not found: {path}. Check the path.", file=label) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"this is not valid TOML ({exc}).", file=label) from None

    problems: list[Problem] = []
    out: dict[str, Partnership] = {}
    for pid, table in raw.get("partnerships", {}).items():
        areas = table.get("areas")
        if not isinstance(areas, list) or not areas or not all(isinstance(a, str) for a in areas):
            problems.append(
                Problem(label, f"[partnerships.{pid}] `areas` must be a non-empty list of area codes")
            )
            continue
        out[pid] = Partnership(
            id=pid,
            label=str(table.get("label", pid)),
            area_codes=tuple(a.strip() for a in areas),
            note=str(table.get("note", "")),
        )
    if problems:
        raise ConfigError(problems)
    return out


def partnerships_for(
    area_codes: Iterable[str], partnerships: dict[str, Partnership] | None = None
) -> list[Partnership]:
    """Partnerships with at least one area in `area_codes`, restricted to those areas."""
    codes = list(area_codes)
    chosen = []
    for p in (partnerships if partnerships is not None else load_partnerships()).values():
        present = p.present_in(codes)
        if present:
            chosen.append(Partnership(p.id, p.label, present, p.note))
    return chosen
