"""Saved service-list versions: every save is a new file, none is ever overwritten.

Layout of the versions folder (default `settings.SAVED_SERVICES_DIR`)::

    v0001_services.csv
    v0002_services_march.xlsx
    manifest.json        {"format": 1, "versions": [{version_id, saved_at, row_count,
                                                     original_name, sha256, file
                                                     [, geography]}, ...]}
    .lock                held (fcntl.flock) while a save allocates an id and writes

Writes are atomic (temp file in the same folder, flush + fsync, os.replace, fsync of the
folder), so a crash leaves either the old state or the new one. The manifest is an index,
not the only record: if it is missing or unreadable it is rebuilt from the version files
present (and the problem is reported), so a damaged manifest never loses a version.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gapmap import settings
from gapmap.errors import GapmapInputError, Problem, ValidationReport
from gapmap.fileio import write_atomic

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
MANIFEST_FORMAT = 1
#: Longest sanitised original name kept in a version's file name.
MAX_NAME_LENGTH = 80

_VERSION_FILE = re.compile(r"^(v\d{4,})_(.+)$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SavedVersion:
    """One saved service list.

    Attributes
    ----------
    version_id
        "v0001", "v0002", ... in order of saving.
    saved_at
        ISO 8601 time in UTC, e.g. "2026-11-22T09:30:00Z".
    row_count
        Services in the list (as counted when it was saved).
    original_name
        The file name the analyst uploaded (for display only; never used as a path).
    sha256
        Checksum of the saved bytes.
    path
        Where the bytes are.
    geography
        The areas the list was validated against (`gapmap.dataset.Dataset.geography`:
        "demo", "england_lad24" or "custom:<sha256[:12] of the boundary file>"); "" for a
        version saved before this was recorded (manifests without the field stay valid).
    """

    version_id: str
    saved_at: str
    row_count: int
    original_name: str
    sha256: str
    path: Path
    geography: str = ""


# ---------------------------------------------------------------- names
def safe_file_name(original_name: str) -> str:
    """A harmless file name derived from what the analyst uploaded.

    Drops any folder part (both / and \\), transliterates to ASCII, keeps only letters,
    digits, ".", "_" and "-", never starts with "." and never contains "..", and is at most
    `MAX_NAME_LENGTH` characters (keeping the extension). Falls back to "services.csv".
    """
    base = re.split(r"[/\\]", original_name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE_CHARS.sub("_", base)
    base = re.sub(r"\.{2,}", ".", base)
    base = re.sub(r"[_-]+\.", ".", base).strip("._-")
    if not base:
        return "services.csv"
    if len(base) > MAX_NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 5:
            base = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip("._-") + "." + ext
        else:
            base = base[:MAX_NAME_LENGTH].rstrip("._-")
    return base or "services.csv"


def _version_number(version_id: str) -> int:
    return int(version_id[1:])


def _format_version(number: int) -> str:
    return f"v{number:04d}"


# ---------------------------------------------------------------- locking
@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the versions folder (between processes, via flock)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_NAME, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------- manifest
def _root(root: Path | str | None) -> Path:
    return Path(root) if root is not None else settings.SAVED_SERVICES_DIR


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count_rows(content: bytes, name: str) -> int:
    """Best-effort count of data rows, used only when a manifest entry must be rebuilt."""
    if name.lower().endswith((".xlsx", ".xlsm")):
        try:
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
            rows = sum(1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row))
            return max(rows - 1, 0)
        except Exception:  # a damaged workbook still gets listed
            return 0
    lines = [line for line in content.splitlines() if line.strip(b" ,;\t\r")]
    return max(len(lines) - 1, 0)


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(version: SavedVersion) -> dict:
    return {
        "version_id": version.version_id,
        "saved_at": version.saved_at,
        "row_count": version.row_count,
        "original_name": version.original_name,
        "sha256": version.sha256,
        "file": version.path.name,
        **({"geography": version.geography} if version.geography else {}),
    }


def _parse_manifest(root: Path) -> tuple[list[dict] | None, str | None]:
    """The manifest's entries, or (None, why) when it is missing or unreadable."""
    path = root / MANIFEST_NAME
    if not path.exists():
        return None, "missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["versions"]
        if not isinstance(entries, list):
            raise TypeError("`versions` is not a list")
        for entry in entries:
            if not isinstance(entry, dict) or not _VERSION_FILE.match(str(entry.get("file", ""))):
                raise ValueError(f"bad entry {entry!r:.80}")
            if not isinstance(entry.get("version_id"), str) or not isinstance(entry.get("row_count"), int):
                raise ValueError(f"bad entry {entry!r:.80}")
        return entries, None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {exc})"


def _scan(root: Path, report: ValidationReport) -> list[SavedVersion]:
    """Reconcile the manifest with the version files present.

    Every version file is listed: those the manifest knows keep its details, the others
    (manifest missing, corrupt, or a save interrupted between file and manifest) are
    rebuilt from the file. Manifest entries whose file has gone are reported, not listed.
    """
    if not root.is_dir():
        return []
    entries, why = _parse_manifest(root)
    files = {}
    for path in root.iterdir():
        match = _VERSION_FILE.match(path.name)
        if match and path.is_file():
            files[path.name] = path
    manifest_name = str(root / MANIFEST_NAME)
    if entries is None and why != "missing":
        report.warn(
            manifest_name,
            f"the list of saved versions is {why}; it was rebuilt from the {len(files)} version file(s) "
            "present (times and row counts of rebuilt entries are estimates)",
        )
    elif entries is None and files:
        report.warn(
            manifest_name,
            f"the list of saved versions is missing; it was rebuilt from the {len(files)} version file(s) "
            "present",
        )
    known: dict[str, dict] = {}
    for entry in entries or []:
        file_name = str(entry["file"])
        if file_name in files:
            known[file_name] = entry
        else:
            report.warn(
                manifest_name,
                f"version {entry['version_id']} is listed but its file `{file_name}` is missing; "
                "it cannot be opened",
            )
    versions: list[SavedVersion] = []
    for file_name, path in files.items():
        version_id = _VERSION_FILE.match(file_name).group(1)
        entry = known.get(file_name)
        if entry is not None:
            versions.append(
                SavedVersion(
                    version_id=str(entry["version_id"]),
                    saved_at=str(entry.get("saved_at", "")),
                    row_count=int(entry["row_count"]),
                    original_name=str(entry.get("original_name", "")),
                    sha256=str(entry.get("sha256", "")),
                    path=path,
                    geography=str(entry.get("geography", "") or ""),
                )
            )
            continue
        if entries is not None:
            report.warn(
                manifest_name,
                f"version file `{file_name}` was not in the list of saved versions; it has been added",
            )
        content = path.read_bytes()
        saved_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        versions.append(
            SavedVersion(
                version_id=version_id,
                saved_at=saved_at,
                row_count=_count_rows(content, file_name),
                original_name=_VERSION_FILE.match(file_name).group(2),
                sha256=hashlib.sha256(content).hexdigest(),
                path=path,
            )
        )
    versions.sort(key=lambda v: (_version_number(v.version_id), v.path.name))
    return versions


def _write_manifest(root: Path, versions: list[SavedVersion]) -> None:
    data = {"format": MANIFEST_FORMAT, "versions": [_entry(v) for v in versions]}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomic(root / MANIFEST_NAME, text, durable_rename=True)


def _repair(root: Path, versions: list[SavedVersion], report: ValidationReport) -> None:
    """Rewrite the manifest from a reconciled listing; keep the damaged one beside it."""
    manifest = root / MANIFEST_NAME
    entries, why = _parse_manifest(root)
    if entries is None and why != "missing" and manifest.exists():
        keep = root / f"manifest.damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.json"
        os.replace(manifest, keep)
        report.warn(str(manifest), f"the damaged list was kept as `{keep.name}`")
    _write_manifest(root, versions)


# ---------------------------------------------------------------- public API
def list_versions(
    root: Path | str | None = None, *, report: ValidationReport | None = None
) -> list[SavedVersion]:
    """Every saved version, oldest first.

    A missing or damaged manifest is rebuilt from the version files present; what was
    wrong is added to `report` (when given) and logged as a warning.
    """
    folder = _root(root)
    found = ValidationReport()
    versions = _scan(folder, found)
    if found.problems:
        try:
            with _locked(folder):
                # Re-scan under the lock: a concurrent save may have finished meanwhile.
                found = ValidationReport()
                versions = _scan(folder, found)
                if found.problems:
                    _repair(folder, versions, found)
        except OSError as exc:  # e.g. a read-only folder: still list what is there
            found.warn(
                str(folder / MANIFEST_NAME), f"the list of saved versions could not be repaired: {exc}"
            )
        for problem in found.problems:
            logger.warning("%s", problem)
    if report is not None:
        report.extend(found)
    return versions


def latest_version(root: Path | str | None = None) -> SavedVersion | None:
    """The most recently saved version, or None when nothing has been saved."""
    versions = list_versions(root)
    return versions[-1] if versions else None


def get_version(version_id: str, root: Path | str | None = None) -> SavedVersion:
    """The version with this id ("v0003"; "v3" and "3" also work).

    Raises
    ------
    GapmapInputError
        When no such version exists; the message lists the known ids.
    """
    versions = list_versions(root)
    wanted = str(version_id).strip()
    number = wanted[1:] if wanted[:1].lower() == "v" else wanted
    for v in versions:
        if v.version_id == wanted or (number.isdigit() and _version_number(v.version_id) == int(number)):
            return v
    known = ", ".join(v.version_id for v in versions) or "none (nothing has been saved yet)"
    raise GapmapInputError(
        f"there is no saved version `{wanted}`; known versions: {known}", file=str(_root(root))
    )


def save_version(
    content: bytes,
    original_name: str,
    *,
    row_count: int | None = None,
    root: Path | str | None = None,
    geography: str = "",
) -> SavedVersion:
    """Save a service list as a new version; earlier versions are never touched.

    Parameters
    ----------
    content
        The file's bytes exactly as uploaded (CSV or Excel).
    original_name
        The uploaded file's name; sanitised before it becomes part of the saved file name.
    row_count
        Services in the list (from validation). Counted roughly from the bytes when omitted.
    root
        Versions folder (default `settings.SAVED_SERVICES_DIR`).
    geography
        The areas the list was validated against (`Dataset.geography`), recorded so the
        version is offered only where it can be opened (`versions_for`).

    Two processes saving at once get different version ids: allocating the id, writing
    the file and updating the manifest happen under an exclusive lock.
    """
    if not content:
        raise GapmapInputError("the file is empty; nothing was saved", file=original_name or "upload")
    folder = _root(root)
    digest = hashlib.sha256(content).hexdigest()
    file_part = safe_file_name(original_name)
    if row_count is None:
        row_count = _count_rows(content, file_part)
    with _locked(folder):
        report = ValidationReport()
        versions = _scan(folder, report)
        for problem in report.problems:
            logger.warning("%s", problem)
        used = [_version_number(v.version_id) for v in versions]
        # also skip ids of listed-but-missing entries, so an id is never reused
        entries, _ = _parse_manifest(folder)
        used += [_version_number(str(e["version_id"])) for e in entries or [] if _valid_id(e["version_id"])]
        version_id = _format_version(max(used, default=0) + 1)
        path = folder / f"{version_id}_{file_part}"
        write_atomic(path, content, durable_rename=True)
        version = SavedVersion(
            version_id=version_id,
            saved_at=_utc_now(),
            row_count=int(row_count),
            original_name=original_name,
            sha256=digest,
            path=path,
            geography=geography,
        )
        _write_manifest(folder, [*versions, version])
    return version


def versions_for(geography: str, root: Path | str | None = None) -> list[SavedVersion]:
    """The versions that can be opened on `geography`: those validated against it, and those
    saved before the geography was recorded (`geography == ""`; the caller should say so)."""
    return [v for v in list_versions(root) if v.geography in ("", geography)]


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"v\d{4,}", value) is not None


def storage_problems(root: Path | str | None = None) -> list[Problem]:
    """What is wrong with the versions folder (and has been repaired), for display."""
    report = ValidationReport()
    list_versions(root, report=report)
    return report.problems
