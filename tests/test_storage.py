"""Saved service-list versions: atomic, never overwritten, safe under concurrent saves."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from gapmap import settings
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.storage import (
    MANIFEST_NAME,
    get_version,
    latest_version,
    list_versions,
    safe_file_name,
    save_version,
)

CSV = b"name,service_type,postcode\nA,idva,QX1 0AE\nB,marac,QX1 0JR\n"


def test_first_save_creates_v0001_and_manifest(tmp_path):
    v = save_version(CSV, "services.csv", row_count=2, root=tmp_path)
    assert v.version_id == "v0001"
    assert v.path == tmp_path / "v0001_services.csv"
    assert v.path.read_bytes() == CSV
    assert v.sha256 == hashlib.sha256(CSV).hexdigest()
    assert v.row_count == 2
    assert v.saved_at.endswith("Z") and v.saved_at[4] == "-"
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["versions"] == [
        {
            "version_id": "v0001",
            "saved_at": v.saved_at,
            "row_count": 2,
            "original_name": "services.csv",
            "sha256": v.sha256,
            "file": "v0001_services.csv",
        }
    ]
    # no temp files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "manifest.json", "v0001_services.csv"]


def test_later_saves_keep_earlier_versions(tmp_path):
    first = save_version(CSV, "services.csv", row_count=2, root=tmp_path)
    second = save_version(b"name\nX\n", "services.csv", row_count=1, root=tmp_path)
    assert (first.version_id, second.version_id) == ("v0001", "v0002")
    assert first.path.read_bytes() == CSV  # same original name, not overwritten
    assert [v.version_id for v in list_versions(tmp_path)] == ["v0001", "v0002"]
    assert latest_version(tmp_path) == second


def test_default_root_is_settings_dir():
    # conftest points SAVED_SERVICES_DIR at a temp folder
    v = save_version(CSV, "a.csv", row_count=2)
    assert v.path.parent == settings.SAVED_SERVICES_DIR
    assert latest_version() == v


def test_empty_folder_and_missing_folder(tmp_path):
    assert list_versions(tmp_path / "nothing") == []
    assert latest_version(tmp_path / "nothing") is None
    assert not (tmp_path / "nothing").exists()  # reading creates nothing


def test_empty_content_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(GapmapInputError, match="empty"):
        save_version(b"", "services.csv", row_count=0, root=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("services.csv", "services.csv"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.xlsx", "evil.xlsx"),
        ("..", "services.csv"),
        ("", "services.csv"),
        (".hidden.csv", "hidden.csv"),
        ("my list (March) 2026.csv", "my_list_March_2026.csv"),
        ("Liste_é_ü.csv", "Liste_e_u.csv"),
        ("a..b.csv", "a.b.csv"),
        ("<script>.csv", "script.csv"),
    ],
)
def test_safe_file_name(original, expected):
    assert safe_file_name(original) == expected


def test_safe_file_name_limits_length_keeping_extension():
    name = safe_file_name("x" * 500 + ".xlsx")
    assert len(name) <= 80 and name.endswith(".xlsx")


def test_hostile_original_name_stays_inside_root(tmp_path):
    v = save_version(CSV, "../../outside.csv", row_count=2, root=tmp_path)
    assert v.path.parent == tmp_path
    assert v.path.name == "v0001_outside.csv"
    assert v.original_name == "../../outside.csv"  # kept for display only
    assert not (tmp_path.parent / "outside.csv").exists()


def test_get_version_by_id_and_unknown_id(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    second = save_version(CSV, "b.csv", row_count=2, root=tmp_path)
    assert get_version("v0002", tmp_path) == second
    assert get_version("v2", tmp_path) == second
    assert get_version("2", tmp_path) == second
    with pytest.raises(GapmapInputError) as info:
        get_version("v0009", tmp_path)
    message = str(info.value)
    assert "v0009" in message and "v0001, v0002" in message


def test_get_version_when_nothing_saved(tmp_path):
    with pytest.raises(GapmapInputError, match="nothing has been saved"):
        get_version("v0001", tmp_path)


def test_row_count_estimated_when_not_given(tmp_path):
    v = save_version(CSV + b"\n\n", "a.csv", root=tmp_path)
    assert v.row_count == 2


def test_corrupt_manifest_is_rebuilt_without_losing_versions(tmp_path):
    a = save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    b = save_version(b"name\nX\n", "b.csv", row_count=1, root=tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"versions": [', encoding="utf-8")
    report = ValidationReport()
    versions = list_versions(tmp_path, report=report)
    assert [v.version_id for v in versions] == ["v0001", "v0002"]
    assert [v.sha256 for v in versions] == [a.sha256, b.sha256]
    assert [v.row_count for v in versions] == [2, 1]  # estimated from the files
    assert report.warnings and "rebuilt" in report.warnings[0].message
    assert report.ok  # a repaired manifest is a warning, not an error
    # the repaired manifest is valid again and the damaged one kept beside it
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert [e["version_id"] for e in manifest["versions"]] == ["v0001", "v0002"]
    assert len(list(tmp_path.glob("manifest.damaged-*.json"))) == 1
    # and the next save continues the numbering
    assert save_version(CSV, "c.csv", row_count=2, root=tmp_path).version_id == "v0003"


def test_missing_manifest_is_rebuilt(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    (tmp_path / MANIFEST_NAME).unlink()
    report = ValidationReport()
    assert [v.version_id for v in list_versions(tmp_path, report=report)] == ["v0001"]
    assert "missing" in report.warnings[0].message
    assert (tmp_path / MANIFEST_NAME).exists()


def test_manifest_with_wrong_shape_is_rebuilt(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"versions": [{"file": "../../x"}]}', encoding="utf-8")
    report = ValidationReport()
    assert [v.version_id for v in list_versions(tmp_path, report=report)] == ["v0001"]
    assert report.warnings


def test_orphan_version_file_is_added(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    # a save interrupted after writing its file but before the manifest update
    (tmp_path / "v0002_b.csv").write_bytes(b"name\nX\nY\n")
    report = ValidationReport()
    versions = list_versions(tmp_path, report=report)
    assert [(v.version_id, v.row_count) for v in versions] == [("v0001", 2), ("v0002", 2)]
    assert "not in the list" in report.warnings[0].message


def test_listed_version_whose_file_vanished_is_reported(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    b = save_version(CSV, "b.csv", row_count=2, root=tmp_path)
    b.path.unlink()
    report = ValidationReport()
    assert [v.version_id for v in list_versions(tmp_path, report=report)] == ["v0001"]
    assert "v0002" in report.warnings[0].message and "missing" in report.warnings[0].message


def test_unrelated_files_are_ignored(tmp_path):
    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".v0009_x.csv.abc.tmp").write_bytes(b"partial")  # an interrupted temp file
    assert [v.version_id for v in list_versions(tmp_path)] == ["v0001"]


def _save_in_child(args: tuple[str, int]) -> str:
    root, index = args
    content = f"name,service_type\nService {index},idva\n".encode()
    return save_version(content, f"list_{index}.csv", row_count=1, root=Path(root)).version_id


def test_concurrent_saves_get_distinct_versions_and_valid_manifest(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        ids = pool.map(_save_in_child, [(str(tmp_path), i) for i in range(16)])
    assert sorted(ids) == [f"v{n:04d}" for n in range(1, 17)]
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert sorted(e["version_id"] for e in manifest["versions"]) == sorted(ids)
    versions = list_versions(tmp_path)
    assert len(versions) == 16
    # every version file holds exactly what its saver wrote
    names = {v.original_name for v in versions}
    assert names == {f"list_{i}.csv" for i in range(16)}
    for v in versions:
        index = v.original_name.removeprefix("list_").removesuffix(".csv")
        assert v.path.read_bytes() == f"name,service_type\nService {index},idva\n".encode()
        assert hashlib.sha256(v.path.read_bytes()).hexdigest() == v.sha256


def test_damaged_manifest_in_read_only_folder_still_lists(tmp_path, monkeypatch):
    import gapmap.storage as storage

    save_version(CSV, "a.csv", row_count=2, root=tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("not json", encoding="utf-8")

    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(storage, "_repair", refuse)
    report = ValidationReport()
    assert [v.version_id for v in list_versions(tmp_path, report=report)] == ["v0001"]
    assert any("could not be repaired" in p.message for p in report.warnings)


def test_cli_save_then_versions(tmp_path, capsys):
    from gapmap.cli import main

    saved = tmp_path / "saved"
    args = ["save", "--services", str(settings.DEMO_SERVICES), "--boundaries", str(settings.DEMO_BOUNDARIES)]
    assert main([*args, "--dir", str(saved)]) == 0
    assert "Saved as version v0001 (60 rows)" in capsys.readouterr().out
    assert main(["versions", "--dir", str(saved)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("v0001\t") and "60 rows\tdemo_county_services.csv" in out


def test_cli_save_invalid_list_saves_nothing(tmp_path, capsys):
    from gapmap.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("name,service_type\nA,not_a_type\n", encoding="utf-8")
    saved = tmp_path / "saved"
    assert main(["save", "--services", str(bad), "--dir", str(saved)]) == 1
    assert "Nothing was saved" in capsys.readouterr().out
    assert list_versions(saved) == []


# ---------------------------------------------------------------- permissions (issue 8, point 8)
@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    import os

    previous = os.umask(0o022)
    os.umask(previous)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_saved_files_honour_a_strict_umask(tmp_path, umask):
    umask(0o077)
    v = save_version(CSV, "a.csv", row_count=2, root=tmp_path / "saved")
    assert _mode(v.path) == 0o600  # was forced to 0644 before
    assert _mode(tmp_path / "saved" / MANIFEST_NAME) == 0o600
    assert _mode(tmp_path / "saved") == 0o700


def test_saved_folder_is_owner_only_even_under_a_loose_umask(tmp_path, umask):
    umask(0o022)
    v = save_version(CSV, "a.csv", row_count=2, root=tmp_path / "saved")
    assert _mode(tmp_path / "saved") == 0o700  # holds refuge locations
    assert _mode(v.path) == 0o644  # 0o666 & ~0o022: the umask decides, not gapmap


def test_write_atomic_private_mode(tmp_path, umask):
    from gapmap.fileio import write_atomic

    umask(0)
    assert _mode(write_atomic(tmp_path / "private.json", "{}", mode=0o600)) == 0o600
    assert _mode(write_atomic(tmp_path / "shared.txt", "x")) == 0o666


def test_write_atomic_never_writes_through_a_planted_temp_name(tmp_path, monkeypatch):
    # The temp file is created with O_EXCL: an existing file (or symlink) of that name is an
    # error, never overwritten or followed.
    import secrets

    from gapmap.fileio import write_atomic

    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    monkeypatch.setattr(secrets, "token_hex", lambda n: "fixed")
    (tmp_path / ".out.txt.fixed.tmp").symlink_to(target)
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "out.txt", "new")
    assert target.read_text() == "keep"


def test_saved_files_are_fsynced_and_report_exports_are_not(tmp_path, monkeypatch):
    """A saved version is durable; an export (made again by running the command again) is
    atomic but skips the fsync."""
    import os

    from gapmap import report
    from gapmap.fileio import write_atomic

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    write_atomic(tmp_path / "v0001.csv", "a,b\n", durable_rename=True)
    assert len(synced) == 2  # the file, then its folder
    synced.clear()
    path = report._write_export(tmp_path / "gaps.csv", "a,b\n")
    assert synced == [] and path.read_text() == "a,b\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
