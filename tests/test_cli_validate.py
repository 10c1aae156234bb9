"""`python -m gapmap validate` and `save` exit codes: 0 valid (warnings allowed), 1 errors, 2 usage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gapmap import cli, settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "services"
CORPUS = Path(__file__).resolve().parent / "broken" / "services"
REPO = Path(__file__).resolve().parent.parent
AREA_ARGS = [
    "--boundaries",
    str(FIXTURES / "two_areas.geojson"),
    "--population",
    str(FIXTURES / "population.csv"),
    "--postcodes",
    str(FIXTURES / "postcodes.csv"),
]


def test_valid_list_exits_0(capsys):
    assert cli.main(["validate", "--services", str(FIXTURES / "services.csv"), *AREA_ARGS]) == 0
    assert "0 error(s), 0 warning(s)." in capsys.readouterr().out


def test_warnings_still_exit_0(capsys):
    code = cli.main(["validate", "--services", str(CORPUS / "swapped_lat_lon.csv"), *AREA_ARGS])
    out = capsys.readouterr().out
    assert code == 0
    assert "WARNING: swapped_lat_lon.csv, row 2" in out and "0 error(s), 1 warning(s)." in out


def test_errors_exit_1_and_print_row_and_column(capsys):
    code = cli.main(["validate", "--services", str(CORPUS / "capacity_not_a_number.csv"), *AREA_ARGS])
    out = capsys.readouterr().out
    assert code == 1
    assert "ERROR: capacity_not_a_number.csv, row 3, column `capacity`:" in out


def test_services_without_boundaries_are_checked_against_england(capsys):
    code = cli.main(
        [
            "validate",
            "--services",
            str(FIXTURES / "services.csv"),
            "--postcodes",
            str(FIXTURES / "postcodes.csv"),
        ]
    )
    out = capsys.readouterr().out
    # The fixture's `Beta Town` is no English district: England built in is what it was checked on.
    # Row 4 is a refuge, so the message gives its row and column, not the area it names.
    assert code == 1
    assert "ERROR: services.csv, row 4, column `serves`: `serves` names an area that is not" in out
    assert "Beta Town" not in out


def test_missing_services_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["validate"])
    assert exc.value.code == 2
    assert "--services" in capsys.readouterr().err


def test_missing_file_exits_1(tmp_path, capsys):
    assert cli.main(["validate", "--services", str(tmp_path / "nope.csv")]) == 1
    assert "not found" in capsys.readouterr().out


def test_subprocess_exit_codes(tmp_path):
    """The real entry point, as an analyst types it (no traceback on stderr)."""
    env = {**os.environ, "GAPMAP_DATA_DIR": str(tmp_path / "data")}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "gapmap", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = run("validate", "--services", str(FIXTURES / "services.csv"), *AREA_ARGS)
    bad = run("validate", "--services", str(CORPUS / "unknown_service_type.csv"), *AREA_ARGS)
    usage = run("validate")
    assert (ok.returncode, bad.returncode, usage.returncode) == (0, 1, 2)
    assert "did you mean `idva`" in bad.stdout
    for result in (ok, bad, usage):
        assert "Traceback" not in result.stderr


def test_save_writes_nothing_for_an_invalid_file(capsys):
    argv = ["save", "--services", str(CORPUS / "unknown_service_type.csv"), *AREA_ARGS]
    assert cli.main(argv) == 1
    assert "Nothing was saved." in capsys.readouterr().out
    assert not settings.SAVED_SERVICES_DIR.exists()


def test_save_writes_a_version_for_a_valid_file(tmp_path, capsys):
    folder = tmp_path / "versions"
    argv = ["save", "--services", str(FIXTURES / "services.csv"), *AREA_ARGS, "--dir", str(folder)]
    assert cli.main(argv) == 0
    assert "Saved as version" in capsys.readouterr().out
    from gapmap.storage import list_versions

    (version,) = list_versions(folder)
    assert version.row_count == 4
    assert version.original_name == "services.csv"
    assert version.path.read_bytes() == (FIXTURES / "services.csv").read_bytes()


def test_saving_the_same_file_twice_keeps_one_version_as_the_app_does(tmp_path, capsys):
    """The app refuses to store an identical list again; `gapmap save` follows the same rule."""
    folder = tmp_path / "versions"
    argv = ["save", "--services", str(FIXTURES / "services.csv"), *AREA_ARGS, "--dir", str(folder)]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0
    assert "already saved as version v0001" in capsys.readouterr().out
    from gapmap.storage import list_versions

    assert [v.version_id for v in list_versions(folder)] == ["v0001"]
    # A changed list is a new version.
    changed = tmp_path / "services.csv"
    changed.write_bytes((FIXTURES / "services.csv").read_bytes() + b"\n")
    assert cli.main(["save", "--services", str(changed), *AREA_ARGS, "--dir", str(folder)]) == 0
    assert [v.version_id for v in list_versions(folder)] == ["v0001", "v0002"]
