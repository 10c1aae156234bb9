"""Partnerships by name in validate / compare, and versions kept to their own geography."""

from __future__ import annotations

import json

from gapmap import settings
from gapmap.cli import main
from gapmap.storage import list_versions, save_version, versions_for

OLD = """service_id,name,service_type,serves,capacity,capacity_unit
IDVA-COUNTY,County IDVA service,idva,E10000018,8,fte
IDVA-CITY,Leicester IDVA service,idva,Leicester,6,fte
IDVA-PRESTON,Preston IDVA,idva,Preston,2,fte
"""
# The county service loses 4 FTE; Preston's (outside LLR) gains 3.
NEW = OLD.replace("E10000018,8,fte", "E10000018,4,fte").replace("Preston,2,fte", "Preston,5,fte")


SAVE_DEMO = [
    "save",
    "--services",
    str(settings.DEMO_SERVICES),
    "--boundaries",
    str(settings.DEMO_BOUNDARIES),
    "--population",
    str(settings.DEMO_POPULATION),
]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_lists_the_selection_by_partnership_id(tmp_path, capsys):
    path = _write(tmp_path, "s.csv", OLD)
    assert main(["validate", "--services", str(path), "--areas", "llr"]) == 0
    out = capsys.readouterr().out
    assert "Selection: 9 area(s): Leicester (E06000016), Rutland (E06000017), Blaby (E07000129)" in out


def test_validate_reports_an_ambiguous_area_name(tmp_path, capsys):
    path = _write(tmp_path, "s.csv", OLD)
    assert main(["validate", "--services", str(path), "--areas", "Lancashire"]) == 1
    out = capsys.readouterr().out
    assert "ERROR: --areas: `Lancashire` could mean" in out and "E10000017" in out and "E23000003" in out


def test_save_records_the_geography_and_versions_are_kept_apart(tmp_path, capsys):
    saved = tmp_path / "saved"
    path = _write(tmp_path, "s.csv", OLD)
    assert main(["save", "--services", str(path), "--dir", str(saved)]) == 0
    assert main([*SAVE_DEMO, "--dir", str(saved)]) == 0
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert [v["geography"] for v in manifest["versions"]] == ["england_lad24", "demo"]
    assert [v.version_id for v in versions_for("england_lad24", saved)] == ["v0001"]
    assert [v.version_id for v in versions_for("demo", saved)] == ["v0002"]
    capsys.readouterr()
    assert main(["versions", "--dir", str(saved)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("\tengland_lad24") and lines[1].endswith("\tdemo")


def test_a_manifest_without_geography_still_reads(tmp_path):
    """Versions saved before the field existed: listed everywhere, marked as not recorded."""
    saved = tmp_path / "saved"
    save_version(b"name,service_type\nA,idva\n", "a.csv", row_count=1, root=saved)
    data = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert "geography" not in data["versions"][0]  # nothing written when nothing is known
    (version,) = list_versions(saved)
    assert version.geography == ""
    assert versions_for("demo", saved) == versions_for("england_lad24", saved) == [version]


def test_compare_on_england_with_areas_covers_the_partnership_only(tmp_path, capsys):
    saved = tmp_path / "saved"
    for name, text in (("old.csv", OLD), ("new.csv", NEW)):
        assert main(["save", "--services", str(_write(tmp_path, name, text)), "--dir", str(saved)]) == 0
    capsys.readouterr()
    assert main(["compare", "v1", "v2", "--dir", str(saved), "--areas", "llr"]) == 0
    out = capsys.readouterr().out
    assert "England built in" in out
    # LLR: 14 -> 10 FTE; Preston's change is outside the selection and absent from the figures.
    assert "All selected areas (ALL), Idva posts (FTE): provided 14 -> 10 (-4)" in out
    assert "Preston (E07000123)" not in out


def test_compare_refuses_versions_of_different_geographies(tmp_path, capsys):
    saved = tmp_path / "saved"
    assert main(["save", "--services", str(_write(tmp_path, "s.csv", OLD)), "--dir", str(saved)]) == 0
    assert main([*SAVE_DEMO, "--dir", str(saved)]) == 0
    capsys.readouterr()
    assert main(["compare", "v1", "v2", "--dir", str(saved)]) == 1
    assert "checked against different areas (demo, england_lad24)" in capsys.readouterr().err
