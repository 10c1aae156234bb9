"""Atomic file writes: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Temp files are named `.{final name}.{random}.tmp` in the destination's folder.
TEMP_SUFFIX = ".tmp"


def fsync_directory(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    """True for a temp file name `write_atomic` makes (left behind only by a killed write)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX) and name.count(".") >= 3


def write_atomic(
    path: Path | str,
    data: bytes | str,
    *,
    durable_rename: bool = False,
    mode: int = 0o666,
    durable: bool = True,
) -> Path:
    """Write via a temp file in the same folder, fsync, then os.replace.

    Parameters
    ----------
    path
        Destination; missing parent folders are created.
    data
        Bytes, or text written as UTF-8 with "\\n" newlines.
    durable_rename
        Also fsync the folder, so the rename itself survives a power cut (saved versions).
    mode
        Permissions asked for; the process umask is applied by the system as for any new
        file (so 0o666 under umask 077 gives 0600). Private files (users) pass 0o600.
    durable
        False skips the fsync: still atomic for every reader, but a power cut just after may
        leave the old file or an empty one. For outputs that are made again by running the
        command again (report exports: a disk flush per file saved); never for what only the
        user has (saved versions, users, scenarios).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    # os.open with O_EXCL (not mkstemp, which always makes 0600) so the umask decides the
    # permissions, and O_NOFOLLOW so a planted symlink is never written through.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable_rename:
        fsync_directory(path.parent)
    return path
