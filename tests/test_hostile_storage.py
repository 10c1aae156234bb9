"""Hostile saved-version folders (issue 8, point 8): each case with the message it must give.

None may raise anything but GapmapInputError, and a damaged entry or file must never stop the
other versions listing and opening. A read-only folder cannot be produced with chmod when the
tests run as root (as on CI): root writes anyway. Those cases therefore make the file system
refuse the way it would (PermissionError/OSError with the real errno from os.open or
os.replace); `test_real_read_only_folder` uses a real chmod and runs only when not root.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import gapmap.fileio as fileio
import gapmap.storage as storage
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.storage import (
    MANIFEST_NAME,
    list_versions,
    read_version,
    read_version_file,
    save_version,
    storage_problems,
)

CSV_A = b"name,service_type,postcode\nA,idva,QX1 0AE\nB,marac,QX1 0JR\n"
CSV_B = b"name,service_type,postcode\nC,refuge,QX1 4UW\n"


def two_versions(root: Path):
    return save_version(CSV_A, "a.csv", row_count=2, root=root), save_version(
        CSV_B, "b.csv", row_count=1, root=root
    )


def edit_manifest(root: Path, index: int, **changes) -> None:
    """Hand-edit entry `index` of the manifest (a value of `...` deletes the key)."""
    path = root / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is ...:
            data["versions"][index].pop(key)
        else:
            data["versions"][index][key] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def messages(report: ValidationReport) -> str:
    return "\n".join(p.message for p in report.problems)


# ---------------------------------------------------------------- tampered version
def test_tampered_version_is_reported_never_used(tmp_path):
    _, b = two_versions(tmp_path)
    b.path.write_bytes(CSV_B.replace(b"refuge", b"outreach"))  # hand-edited after saving
    listed = list_versions(tmp_path)
    assert [v.version_id for v in listed] == ["v0001", "v0002"]  # still listed
    with pytest.raises(GapmapInputError) as info:
        read_version(listed[1])
    text = str(info.value)
    assert "saved version v0002 has changed since it was saved" in text
    assert "checksum recorded in manifest.json" in text
    assert "Restore `v0002_b.csv` from a backup, or upload the corrected list" in text
    assert str(b.path) in text  # the file is named
    with pytest.raises(GapmapInputError, match="v0002 has changed"):
        read_version_file(b.path)
    assert read_version(listed[0]) == CSV_A  # the other version opens


def test_untouched_version_reads_back(tmp_path):
    a, _ = two_versions(tmp_path)
    assert read_version_file(a.path) == CSV_A


def test_path_that_is_not_a_saved_version(tmp_path):
    two_versions(tmp_path)
    with pytest.raises(GapmapInputError, match=r"`v0009_x\.csv` is not a saved version"):
        read_version_file(tmp_path / "v0009_x.csv")


# ---------------------------------------------------------------- damaged manifest entries
@pytest.mark.parametrize(
    ("changes", "expected", "opens"),
    [
        # a non-numeric id broke every page load before (int("ABC") while sorting)
        (
            {"version_id": "vABC"},
            "the entry for version v0002 is damaged: `version_id` is 'vABC', not `v0002`",
            True,
        ),
        ({"row_count": "many"}, "`row_count` is 'many', not a whole number", True),
        ({"row_count": True}, "`row_count` is True, not a whole number", True),
        ({"saved_at": 20261122}, "`saved_at` is 20261122, not a time like 2026-11-22T09:30:00Z", True),
        ({"original_name": ["x"]}, "`original_name` is ['x'], not text", True),
        (
            {"sha256": ...},
            "`sha256` is missing; its checksum is lost, so it is listed but will not be opened",
            False,
        ),
        ({"sha256": 12345}, "`sha256` is not a checksum", False),
        ({"file": "../../etc/passwd"}, "`file` is '../../etc/passwd', not `v0002_b.csv`", True),
    ],
)
def test_damaged_entry_is_reported_and_the_rest_still_works(tmp_path, changes, expected, opens):
    two_versions(tmp_path)
    edit_manifest(tmp_path, 1, **changes)
    report = ValidationReport()
    listed = list_versions(tmp_path, report=report)
    assert expected in messages(report)
    assert report.ok  # warnings: the page goes on
    assert [v.version_id for v in listed] == ["v0001", "v0002"]
    assert all(isinstance(v.row_count, int) and v.saved_at.endswith("Z") for v in listed)
    assert read_version(listed[0]) == CSV_A
    if opens:
        assert read_version(listed[1]) == CSV_B
        assert listed[1].row_count == 1  # kept, or counted from the file: 1 data row
    else:
        with pytest.raises(GapmapInputError) as info:
            read_version(listed[1])
        assert "saved version v0002 cannot be checked: its checksum in manifest.json is lost" in str(
            info.value
        )
        assert "Restore manifest.json from a backup" in str(info.value)
    # the damaged manifest is kept beside the repaired one
    assert len(list(tmp_path.glob("manifest.damaged-*.json"))) == 1


def test_lost_checksum_stays_lost_after_repair_and_a_new_save(tmp_path):
    two_versions(tmp_path)
    edit_manifest(tmp_path, 1, sha256="not a checksum")
    list_versions(tmp_path)  # repairs the manifest
    third = save_version(CSV_A + b"D,idva,QX1 0AE\n", "c.csv", row_count=3, root=tmp_path)
    listed = list_versions(tmp_path)
    assert [v.version_id for v in listed] == ["v0001", "v0002", "v0003"]
    assert listed[1].problem  # never laundered into a fresh checksum of whatever is there now
    with pytest.raises(GapmapInputError, match="cannot be checked"):
        read_version(listed[1])
    assert read_version(third) == CSV_A + b"D,idva,QX1 0AE\n"
    # the repaired manifest is written once, not at every listing
    assert len(list(tmp_path.glob("manifest.damaged-*.json"))) == 1


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("v0002_b.csv", "entry 2 is not a record ('v0002_b.csv'); it was ignored"),
        (None, "entry 2 is not a record (None); it was ignored"),
        (
            {"version_id": 7, "file": 7},
            "entry 2 names no saved version (`version_id` 7, `file` 7); it was ignored",
        ),
    ],
)
def test_entry_that_is_not_a_record(tmp_path, entry, expected):
    two_versions(tmp_path)
    data = json.loads((tmp_path / MANIFEST_NAME).read_text())
    data["versions"][1] = entry
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data))
    report = ValidationReport()
    listed = list_versions(tmp_path, report=report)
    assert expected in messages(report)
    # b's file is still found, rebuilt from the file and reported as added
    assert [v.version_id for v in listed] == ["v0001", "v0002"]
    assert "version file `v0002_b.csv` was not in the list of saved versions" in messages(report)
    assert read_version(listed[0]) == CSV_A
    # and saving continues the numbering
    assert save_version(CSV_A, "c.csv", row_count=2, root=tmp_path).version_id == "v0003"


def test_manifest_that_is_not_an_object(tmp_path):
    two_versions(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("[1, 2, 3]")
    report = ValidationReport()
    assert [v.version_id for v in list_versions(tmp_path, report=report)] == ["v0001", "v0002"]
    assert "the list of saved versions is unreadable (TypeError: it is not a JSON object)" in messages(report)


# ---------------------------------------------------------------- partial files of killed saves
def test_stale_partial_files_are_removed_and_never_listed(tmp_path):
    save_version(CSV_A, "a.csv", row_count=2, root=tmp_path)
    stale = tmp_path / ".v0002_b.csv.3f9a1c2b7d4e.tmp"
    stale.write_bytes(CSV_B[:10])  # what a save killed mid-write leaves
    old = storage._clock() - storage.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = tmp_path / ".manifest.json.0a1b2c3d4e5f.tmp"  # a save in progress right now
    fresh.write_bytes(b"{")
    assert [v.version_id for v in list_versions(tmp_path)] == ["v0001"]
    assert not stale.exists()
    assert fresh.exists()  # younger than STALE_TEMP_SECONDS: left alone


def test_save_removes_stale_partial_files(tmp_path, monkeypatch):
    save_version(CSV_A, "a.csv", row_count=2, root=tmp_path)
    stale = tmp_path / ".v0002_b.csv.3f9a1c2b7d4e.tmp"
    stale.write_bytes(b"partial")
    # an injected clock instead of an old mtime: the same rule from the other side
    monkeypatch.setattr(storage, "_clock", lambda: stale.stat().st_mtime + storage.STALE_TEMP_SECONDS + 1)
    assert save_version(CSV_B, "b.csv", row_count=1, root=tmp_path).version_id == "v0002"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock",
        "manifest.json",
        "v0001_a.csv",
        "v0002_b.csv",
    ]


def test_killed_save_leaves_no_partial_file_and_the_old_state(tmp_path, monkeypatch):
    save_version(CSV_A, "a.csv", row_count=2, root=tmp_path)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process is interrupted between write and rename

    monkeypatch.setattr(fileio.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        save_version(CSV_B, "b.csv", row_count=1, root=tmp_path)
    monkeypatch.undo()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert [v.version_id for v in list_versions(tmp_path)] == ["v0001"]


# ---------------------------------------------------------------- folders that refuse
def refuse_with(code: int):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return refuse


@pytest.mark.parametrize(
    ("where", "code", "expected"),
    [
        ("open", errno.EACCES, "is not writable (Permission denied); nothing was saved"),
        ("open", errno.EROFS, "is not writable (Read-only file system); nothing was saved"),
        ("replace", errno.EPERM, "is not writable (Operation not permitted); nothing was saved"),
        ("open", errno.ENOSPC, "is full; nothing was saved. Free some space"),
    ],
)
def test_folder_that_refuses_writes_gives_a_clear_error(tmp_path, monkeypatch, where, code, expected):
    first = save_version(CSV_A, "a.csv", row_count=2, root=tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    # As root, chmod does not stop writes: make the system call refuse as a read-only folder would.
    monkeypatch.setattr(fileio.os, where, refuse_with(code))
    with pytest.raises(GapmapInputError) as info:
        save_version(CSV_B, "b.csv", row_count=1, root=tmp_path)
    monkeypatch.undo()
    text = str(info.value)
    assert text.startswith(f"ERROR: {tmp_path}: cannot save")
    assert expected in text
    if code != errno.ENOSPC:
        assert "set GAPMAP_DATA_DIR to a writable folder" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert read_version(list_versions(tmp_path)[0]) == CSV_A == first.path.read_bytes()


def test_lock_file_that_cannot_be_opened(tmp_path, monkeypatch):
    import builtins

    save_version(CSV_A, "a.csv", row_count=2, root=tmp_path)
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if str(file).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    with pytest.raises(GapmapInputError, match=r"cannot save: the folder .* is not writable"):
        save_version(CSV_B, "b.csv", row_count=1, root=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 0500 folder anyway")
def test_real_read_only_folder(tmp_path):
    root = tmp_path / "saved"
    save_version(CSV_A, "a.csv", row_count=2, root=root)
    root.chmod(0o500)
    try:
        with pytest.raises(GapmapInputError, match="is not writable"):
            save_version(CSV_B, "b.csv", row_count=1, root=root)
        assert [v.version_id for v in list_versions(root)] == ["v0001"]
    finally:
        root.chmod(0o700)


def test_unreadable_folder_lists_nothing_with_a_message(tmp_path, monkeypatch):
    two_versions(tmp_path)

    def refuse(self):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    problems = storage_problems(tmp_path)
    assert list_versions(tmp_path) == []
    assert "the saved versions cannot be read (Permission denied)" in problems[0].message


# ---------------------------------------------------------------- the page never breaks
def test_page_lists_and_opens_around_a_damaged_entry_and_refuses_a_tampered_version():
    from streamlit.testing.v1 import AppTest

    from gapmap import settings

    demo = settings.DEMO_SERVICES.read_bytes()
    root = settings.SAVED_SERVICES_DIR  # a temp folder (conftest)
    save_version(demo, "good.csv", row_count=60)
    save_version(demo, "damaged_entry.csv", row_count=60)
    tampered = save_version(demo, "tampered.csv", row_count=60)
    edit_manifest(root, 1, version_id="vABC", row_count="sixty")  # broke every page load before
    tampered.path.write_bytes(demo.replace(b"Fenmarsh", b"Fenmarch"))

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    options = at.selectbox(key="dataset_choice").options
    assert [o.split(":")[0] for o in options if o.startswith("Saved")] == [
        "Saved v0003",
        "Saved v0002",
        "Saved v0001",
    ]
    at.selectbox(key="dataset_choice").set_value("version:v0002").run()  # the damaged entry opens
    assert not at.exception, at.exception
    assert not at.error
    at.selectbox(key="dataset_choice").set_value("version:v0003").run()  # the tampered file does not
    assert not at.exception, at.exception
    assert any("could not be used" in e.value for e in at.error)
    table = next(df.value for df in at.dataframe if "What is wrong and how to fix it" in df.value.columns)
    assert table["What is wrong and how to fix it"].str.contains("saved version v0003 has changed").any()


def test_services_tab_says_what_needs_attention():
    from streamlit.testing.v1 import AppTest

    from gapmap import settings

    demo = settings.DEMO_SERVICES.read_bytes()
    save_version(demo, "good.csv", row_count=60)
    save_version(demo, "damaged_entry.csv", row_count=60)
    edit_manifest(settings.SAVED_SERVICES_DIR, 1, sha256="0" * 10)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.session_state["tab"] = "Services"
    at.run()
    assert not at.exception, at.exception
    assert any("Some saved versions need attention" in w.value for w in at.warning)
    table = next(df.value for df in at.dataframe if "What is wrong and how to fix it" in df.value.columns)
    # (the first listing of the run already repaired the manifest: the bad checksum is now "lost")
    [message] = [m for m in table["What is wrong and how to fix it"] if "v0002" in m]
    assert message.startswith("the entry for version v0002 is damaged: `sha256` is missing")
    assert message.endswith("its checksum is lost, so it is listed but will not be opened")


def test_cli_versions_reports_damage_on_stderr(tmp_path, capsys):
    from gapmap.cli import main

    two_versions(tmp_path)
    edit_manifest(tmp_path, 0, version_id="vABC")
    assert main(["versions", "--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == ["v0001", "v0002"]
    assert "the entry for version v0001 is damaged: `version_id` is 'vABC'" in captured.err
