"""Saved service-list versions: every save is a new file, none is ever overwritten.

Layout of the versions folder (default `settings.SAVED_SERVICES_DIR`)::

    v0001_services.csv
    v0002_services_march.xlsx
    manifest.json        {"format": 1, "versions": [{version_id, saved_at, row_count,
                                                     original_name, sha256, file}, ...]}
    .lock                held (fcntl.flock) while a save allocates an id and writes

The folder is created owner-only (0700) and files honour the umask: saved lists hold the
exact locations of confidential services (refuges). Each version's sha256 is checked when it
is read (`read_version`): a file changed since it was saved is reported, never used. Hidden
temp files left by a killed save are removed by the next save or listing once they are older
than `STALE_TEMP_SECONDS`. A damaged manifest entry is reported on its own and the other
versions still list and open; a folder that cannot be written gives a clear GapmapInputError.

Writes are atomic (temp file in the same folder, flush + fsync, os.replace, fsync of the
folder), so a crash leaves either the old state or the new one. The manifest is an index,
not the only record: if it is missing or unreadable it is rebuilt from the version files
present (and the problem is reported), so a damaged manifest never loses a version.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gapmap import settings
from gapmap.errors import GapmapInputError, Problem, ValidationReport
from gapmap.fileio import is_temp_name, write_atomic

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
MANIFEST_FORMAT = 1
#: Longest sanitised original name kept in a version's file name.
MAX_NAME_LENGTH = 80

_VERSION_FILE = re.compile(r"^(v\d{4,})_(.+)$")


def _version_parts(file_name: str) -> tuple[str, str]:
    """(version id, original name) of a version file's name, e.g. "v0003_list.csv".

    Only called on names the folder listing has already matched against `_VERSION_FILE`.
    """
    match = _VERSION_FILE.match(file_name)
    if match is None:
        raise ValueError(f"{file_name!r} is not a saved version's file name")
    return match.group(1), match.group(2)


_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: A hidden temp file older than this (seconds) belongs to a save that was killed: saves
#: write under the folder's lock and take well under a second.
STALE_TEMP_SECONDS = 300
#: The clock stale temp files are judged by (tests replace it).
_clock = time.time


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
    problem
        Why this version cannot be opened (its checksum is lost), or "" when it can.
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
    problem: str = ""
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
    # Owner-only: the saved lists hold confidential locations (the umask may tighten it further).
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
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


def _parse_manifest(root: Path) -> tuple[list | None, str | None]:
    """The manifest's raw entries, or (None, why) when it is missing or unreadable as a whole.

    Entries are checked one by one in `_scan`, so one damaged entry never hides the others.
    """
    path = root / MANIFEST_NAME
    if not path.exists():
        return None, "missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("it is not a JSON object")
        entries = data["versions"]
        if not isinstance(entries, list):
            raise TypeError("`versions` is not a list")
        return entries, None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"


def _short(value: object) -> str:
    """A manifest value for a message: its repr, cut short (manifests can be hand-edited)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_iso_utc(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def _entry_faults(entry: dict, file_name: str) -> tuple[list[str], bool]:
    """What is wrong with one manifest entry, and whether its checksum is usable."""
    expected_id = _version_parts(file_name)[0]
    faults = []
    if entry.get("version_id") != expected_id:
        faults.append(f"`version_id` is {_short(entry.get('version_id'))}, not `{expected_id}`")
    if entry.get("file") != file_name:
        faults.append(f"`file` is {_short(entry.get('file'))}, not `{file_name}`")
    row_count = entry.get("row_count")
    if not isinstance(row_count, int) or isinstance(row_count, bool) or row_count < 0:
        faults.append(f"`row_count` is {_short(row_count)}, not a whole number")
    if not _is_iso_utc(entry.get("saved_at")):
        faults.append(f"`saved_at` is {_short(entry.get('saved_at'))}, not a time like 2026-11-22T09:30:00Z")
    if not isinstance(entry.get("original_name"), str):
        faults.append(f"`original_name` is {_short(entry.get('original_name'))}, not text")
    sha = entry.get("sha256")
    checksum_ok = isinstance(sha, str) and _SHA256.fullmatch(sha) is not None
    if not checksum_ok:
        faults.append("`sha256` is missing" if sha in (None, "") else "`sha256` is not a checksum")
    return faults, checksum_ok


def _from_file(path: Path, version_id: str) -> SavedVersion:
    """A version rebuilt from its file alone (no usable manifest entry)."""
    content = path.read_bytes()
    return SavedVersion(
        version_id=version_id,
        saved_at=_mtime_iso(path),
        row_count=_count_rows(content, path.name),
        original_name=_version_parts(path.name)[1],
        sha256=hashlib.sha256(content).hexdigest(),
        path=path,
    )


def _mtime_iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scan(root: Path, report: ValidationReport) -> tuple[list[SavedVersion], bool]:
    """Reconcile the manifest with the version files present -> (versions, manifest damaged).

    Every version file is listed: those the manifest knows keep its details, the others
    (manifest missing, corrupt, or a save interrupted between file and manifest) are
    rebuilt from the file. Manifest entries whose file has gone are reported, not listed.
    A damaged entry is reported on its own and never stops the other versions listing; when
    its checksum is lost the version is still listed but will not be opened (`read_version`).
    """
    if not root.is_dir():
        return [], False
    manifest_name = str(root / MANIFEST_NAME)
    try:
        names = list(root.iterdir())
    except OSError as exc:
        report.warn(
            str(root),
            f"the saved versions cannot be read ({exc.strerror or exc}); ask whoever runs gapmap to let "
            "the account it runs as read this folder",
        )
        return [], False
    entries, why = _parse_manifest(root)
    files = {}
    for path in names:
        match = _VERSION_FILE.match(path.name)
        if match and path.is_file():
            files[path.name] = path
    damaged = entries is None and why != "missing"
    if damaged:
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
    by_id: dict[str, str] = {}
    for file_name in sorted(files):
        by_id.setdefault(_version_parts(file_name)[0], file_name)
    known: dict[str, dict] = {}
    for index, entry in enumerate(entries or [], start=1):
        if not isinstance(entry, dict):
            damaged = True
            report.warn(manifest_name, f"entry {index} is not a record ({_short(entry)}); it was ignored")
            continue
        listed_file, version_id = entry.get("file"), entry.get("version_id")
        if isinstance(listed_file, str) and listed_file in files:
            target = listed_file
        elif _valid_id(version_id) and version_id in by_id:
            target = by_id[version_id]
        elif isinstance(listed_file, str) and _VERSION_FILE.match(listed_file) and _valid_id(version_id):
            report.warn(
                manifest_name,
                f"version {version_id} is listed but its file `{listed_file}` is missing; it cannot be "
                "opened",
            )
            continue
        else:
            damaged = True
            report.warn(
                manifest_name,
                f"entry {index} names no saved version (`version_id` {_short(version_id)}, `file` "
                f"{_short(listed_file)}); it was ignored",
            )
            continue
        if target in known:
            damaged = True
            report.warn(manifest_name, f"entry {index} repeats version file `{target}`; it was ignored")
            continue
        known[target] = entry
    versions: list[SavedVersion] = []
    for file_name, path in files.items():
        version_id = _version_parts(file_name)[0]
        entry = known.get(file_name)
        if entry is None:
            if entries is not None:
                report.warn(
                    manifest_name,
                    f"version file `{file_name}` was not in the list of saved versions; it has been added",
                )
            versions.append(_from_file(path, version_id))
            continue
        faults, checksum_ok = _entry_faults(entry, file_name)
        problem = ""
        if faults:
            damaged = True
            if checksum_ok:
                advice = "the version is listed with details taken from its file"
            else:
                problem = (
                    f"saved version {version_id} cannot be checked: its checksum in manifest.json is lost, "
                    "so it is not opened. Restore manifest.json from a backup, or open "
                    f"`{file_name}`, check it and save it as a new version"
                )
                advice = "its checksum is lost, so it is listed but will not be opened"
            report.warn(
                manifest_name, f"the entry for version {version_id} is damaged: {'; '.join(faults)}; {advice}"
            )
        row_count = entry.get("row_count")
        if not isinstance(row_count, int) or isinstance(row_count, bool) or row_count < 0:
            row_count = _count_rows(path.read_bytes(), file_name)
        original_name = entry.get("original_name")
        versions.append(
            SavedVersion(
                version_id=version_id,
                saved_at=entry["saved_at"] if _is_iso_utc(entry.get("saved_at")) else _mtime_iso(path),
                row_count=row_count,
                original_name=original_name
                if isinstance(original_name, str)
                else _version_parts(file_name)[1],
                sha256=entry["sha256"] if checksum_ok else "",
                path=path,
                problem=problem,
                geography=str(entry.get("geography", "") or ""),
            )
        )
    versions.sort(key=lambda v: (_version_number(v.version_id), v.path.name))
    return versions, damaged


def _write_manifest(root: Path, versions: list[SavedVersion]) -> None:
    data = {"format": MANIFEST_FORMAT, "versions": [_entry(v) for v in versions]}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomic(root / MANIFEST_NAME, text, durable_rename=True)


def _repair(root: Path, versions: list[SavedVersion], damaged: bool, report: ValidationReport) -> None:
    """Rewrite the manifest from a reconciled listing; keep a damaged one beside it.

    Nothing is written when the manifest already says exactly this (a version whose checksum
    is lost is kept as such, with an empty `sha256`, and reported at every listing).
    """
    manifest = root / MANIFEST_NAME
    entries, _ = _parse_manifest(root)
    # compared as JSON text: True == 1 in Python, not in the file
    if json.dumps(entries, sort_keys=True) == json.dumps([_entry(v) for v in versions], sort_keys=True):
        return
    if damaged and manifest.exists():
        keep = root / f"manifest.damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.json"
        os.replace(manifest, keep)
        report.warn(str(manifest), f"the damaged list was kept as `{keep.name}`")
    _write_manifest(root, versions)


def _stale_temp_files(root: Path) -> list[Path]:
    """Hidden temp files left by saves that were killed before their rename."""
    now = _clock()
    stale = []
    try:
        for path in root.iterdir():
            if is_temp_name(path.name) and path.is_file() and now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                stale.append(path)
    except OSError:  # unreadable folder: reported by _scan
        return []
    return stale


def _remove_stale_temp_files(root: Path) -> None:
    for path in _stale_temp_files(root):
        try:
            path.unlink()
            logger.warning("removed `%s`, a partial file left by an interrupted save", path)
        except OSError as exc:  # read-only folder: they are never listed anyway
            logger.warning("could not remove the partial file `%s`: %s", path, exc)


def _cannot_save(folder: Path, exc: OSError) -> GapmapInputError:
    """A clear message for a save the file system refused (never a raw OSError)."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        message = (
            f"cannot save: the folder {folder} is not writable ({exc.strerror or exc}); nothing was saved. "
            "Ask whoever runs gapmap to let the account it runs as write there, or set GAPMAP_DATA_DIR "
            "to a writable folder and restart gapmap"
        )
    elif exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        message = (
            f"cannot save: the disk holding {folder} is full; nothing was saved. Free some space and "
            "save again"
        )
    else:
        message = f"cannot save in the folder {folder} ({exc.strerror or exc}); nothing was saved"
    return GapmapInputError(message, file=str(folder))


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
    versions, _ = _scan(folder, found)
    needs_repair = bool(found.problems)
    if needs_repair or (folder.is_dir() and _stale_temp_files(folder)):
        try:
            with _locked(folder):
                # Re-scan under the lock: a concurrent save may have finished meanwhile.
                _remove_stale_temp_files(folder)
                found = ValidationReport()
                versions, damaged = _scan(folder, found)
                if found.problems:
                    _repair(folder, versions, damaged, found)
        except OSError as exc:  # e.g. a read-only folder: still list what is there
            if needs_repair:  # (stale temp files alone are never listed: nothing to say)
                found.warn(
                    str(folder / MANIFEST_NAME),
                    f"the list of saved versions could not be repaired ({exc.strerror or exc}); "
                    "the versions are listed as found",
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
    return _save_version(content, original_name, row_count=row_count, root=root, geography=geography)[0]


def save_if_new(
    content: bytes,
    original_name: str,
    *,
    row_count: int | None = None,
    root: Path | str | None = None,
    geography: str = "",
) -> tuple[SavedVersion, bool]:
    """Save a service list unless the same bytes are already saved for this geography.

    The one rule the app and `gapmap save` share: a byte-identical list (same SHA-256) already
    saved for `geography` (or before versions recorded one) is not stored again; that version
    is returned with False. Otherwise as `save_version`, returning True. The check and the
    save happen under the same lock, so two identical saves at once make one version.
    """
    return _save_version(
        content, original_name, row_count=row_count, root=root, geography=geography, reuse_identical=True
    )


def _save_version(
    content: bytes,
    original_name: str,
    *,
    row_count: int | None,
    root: Path | str | None,
    geography: str,
    reuse_identical: bool = False,
) -> tuple[SavedVersion, bool]:
    if not content:
        raise GapmapInputError("the file is empty; nothing was saved", file=original_name or "upload")
    folder = _root(root)
    digest = hashlib.sha256(content).hexdigest()
    file_part = safe_file_name(original_name)
    if row_count is None:
        row_count = _count_rows(content, file_part)
    try:
        with _locked(folder):
            _remove_stale_temp_files(folder)
            report = ValidationReport()
            versions, damaged = _scan(folder, report)
            for problem in report.problems:
                logger.warning("%s", problem)
            same = [
                v for v in versions if v.sha256 == digest and not v.problem and v.geography in ("", geography)
            ]
            if reuse_identical and same:
                return same[-1], False
            used = [_version_number(v.version_id) for v in versions]
            # also skip ids of listed-but-missing entries, so an id is never reused
            entries, _ = _parse_manifest(folder)
            used += [
                _version_number(e["version_id"])
                for e in entries or []
                if isinstance(e, dict) and _valid_id(e.get("version_id"))
            ]
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
            if damaged and (folder / MANIFEST_NAME).exists():
                _repair(folder, versions, damaged, report)  # keeps the damaged manifest beside
            _write_manifest(folder, [*versions, version])
    except OSError as exc:
        raise _cannot_save(folder, exc) from exc
    return version, True


def read_version(version: SavedVersion) -> bytes:
    """The saved bytes of `version`, checked against the checksum recorded when it was saved.

    Raises
    ------
    GapmapInputError
        When the file cannot be read, its checksum is lost, or it has changed since it was
        saved (edited by hand, damaged): the message says which version and what to do.
    """
    where = str(version.path)
    if version.problem:
        raise GapmapInputError(version.problem, file=where)
    try:
        content = version.path.read_bytes()
    except OSError as exc:
        raise GapmapInputError(
            f"saved version {version.version_id} cannot be read ({exc.strerror or exc}); restore "
            f"`{version.path.name}` from a backup",
            file=where,
        ) from exc
    if hashlib.sha256(content).hexdigest() != version.sha256:
        raise GapmapInputError(
            f"saved version {version.version_id} has changed since it was saved (its contents no longer "
            "match the checksum recorded in manifest.json), so it was not used. Restore "
            f"`{version.path.name}` from a backup, or upload the corrected list and save it as a new version",
            file=where,
        )
    return content


def read_version_file(path: Path | str) -> bytes:
    """`read_version` for a saved version given by its file's path (as the app holds it)."""
    path = Path(path)
    for version in list_versions(path.parent):
        if version.path.name == path.name:
            return read_version(version)
    raise GapmapInputError(
        f"`{path.name}` is not a saved version (it may have been removed); choose another version",
        file=str(path),
    )


def versions_for(
    geography: str, root: Path | str | None = None, *, report: ValidationReport | None = None
) -> list[SavedVersion]:
    """The versions that can be opened on `geography`: those validated against it, and those
    saved before the geography was recorded (`geography == ""`; the caller should say so)."""
    return [v for v in list_versions(root, report=report) if v.geography in ("", geography)]


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"v\d{4,}", value) is not None


def storage_problems(root: Path | str | None = None) -> list[Problem]:
    """What is wrong with the versions folder (and has been repaired), for display."""
    report = ValidationReport()
    list_versions(root, report=report)
    return report.problems
