"""What-if scenarios: applied to a copy, scored before and after, saved and listed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gapmap.errors import GapmapInputError
from gapmap.scenarios import (
    apply_scenario,
    list_scenarios,
    parse_scenario,
    run_scenario,
    save_scenario,
)

TODAY = date(2026, 11, 22)
TWO_IDVA = (
    b'name = "Two more Idva posts in Saltmere"\n'
    b"[[add]]\n"
    b'name = "Saltmere Idva (new)"\nservice_type = "idva"\nserves = "E07999001"\ncapacity = 2\n'
)


def test_adding_two_idva_fte_to_one_district_moves_its_figures(demo):
    dataset, before = demo
    n_before = len(dataset.services)
    result = run_scenario(dataset, parse_scenario(TWO_IDVA, "two.toml"), before=before, today=TODAY)
    assert len(dataset.services) == n_before  # the loaded list is untouched
    assert len(result.services_after) == n_before + 1
    row = result.figures[
        (result.figures["area_code"] == "E07999001") & (result.figures["benchmark_id"] == "idva_fte")
    ].iloc[0]
    # A service serving only Saltmere adds all its 2 FTE there, and nowhere else.
    assert row["provided_new"] - row["provided_old"] == pytest.approx(2.0)
    assert row["required_new"] == row["required_old"]
    others = result.figures[
        (result.figures["area_code"] != "E07999001")
        & (result.figures["area_code"] != "ALL")
        & (result.figures["benchmark_id"] == "idva_fte")
    ]
    assert not others["moved"].any()
    total = result.figures[
        (result.figures["area_code"] == "ALL") & (result.figures["benchmark_id"] == "idva_fte")
    ]
    assert total.iloc[0]["provided_change"] == pytest.approx(2.0)
    text = result.to_text()
    assert "+ SCN001 Saltmere Idva (new) (2 FTE)" in text
    assert "Saltmere, Idva posts (FTE)" in text


def test_remove_and_change_with_a_table_of_what_changed(demo):
    dataset, _ = demo
    sid = str(dataset.services["service_id"].iloc[0])
    text = (
        "action,service_id,capacity,funding_end\n"
        f"change,{sid},5,2027-03-31\n"
        f"remove,{dataset.services['service_id'].iloc[1]},,\n"
    ).encode()
    after, changes = apply_scenario(
        dataset.services, parse_scenario(text, "s.csv"), dataset.config, areas=dataset.areas
    )
    assert len(after) == len(dataset.services) - 1
    assert after.loc[after["service_id"] == sid, "capacity"].iloc[0] == 5
    assert dataset.services["capacity"].iloc[0] != 5  # the original frame is unchanged
    assert list(changes["action"]) == ["change", "change", "remove"]
    cap = changes[changes["field"] == "capacity"].iloc[0]
    assert (cap["before"], cap["after"]) == ("1,200", "5")  # FEN-001 has 1,200 places
    assert changes[changes["field"] == "funding_end"].iloc[0]["after"] == "2027-03-31"


def test_bad_actions_are_reported_with_rows(demo):
    dataset, _ = demo
    text = (
        b"action,service_id,capacity,postcode\n"
        b"change,FEN-001,lots,\nchange,FEN-001,,AB1 2CD\nmove,FEN-002,,\n"
    )
    with pytest.raises(GapmapInputError) as info:
        parse_scenario(text, "bad.csv")
    msg = str(info.value)
    assert "row 3" in msg and "`postcode` cannot be changed" in msg
    assert "row 4" in msg and "action `move`" in msg
    sc = parse_scenario(b"action,service_id,capacity\nchange,FEN-001,lots\nremove,FEN-0001,\n", "bad.csv")
    with pytest.raises(GapmapInputError) as info:
        apply_scenario(dataset.services, sc, dataset.config, areas=dataset.areas)
    msg = str(info.value)
    assert "`capacity` is `lots`" in msg
    assert "no service has service_id `FEN-0001`" in msg and "Did you mean `FEN-001`" in msg


def test_an_added_service_is_validated_like_any_service(demo):
    dataset, _ = demo
    sc = parse_scenario(b'[[add]]\nname = "X"\nservice_type = "idvaa"\nserves = "E07999001"\n', "x.toml")
    with pytest.raises(GapmapInputError, match=r"not a known service type .*; did you mean `idva`"):
        apply_scenario(dataset.services, sc, dataset.config, areas=dataset.areas)


def test_scenarios_are_saved_atomically_and_listed(tmp_path):
    path = save_scenario(TWO_IDVA, "two idva.toml", root=tmp_path)
    again = save_scenario(TWO_IDVA, "two idva.toml", root=tmp_path)
    assert path.name == "two_idva.toml" and again.name == "two_idva-2.toml"
    listed = list_scenarios(tmp_path)
    assert [s["file"] for s in listed] == ["two_idva.toml", "two_idva-2.toml"]
    assert listed[0]["name"] == "Two more Idva posts in Saltmere" and listed[0]["actions"] == "1"
    with pytest.raises(GapmapInputError):
        save_scenario(b"nonsense = 1\n", "bad.toml", root=tmp_path)
    assert len(list_scenarios(tmp_path)) == 2


def test_the_scenarios_folder_is_owner_only(tmp_path):
    """A scenario may add a located service: its folder is 0700, like the saved versions'."""
    folder = tmp_path / "scenarios"
    save_scenario(TWO_IDVA, "two idva.toml", root=folder)
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_scenario_adding_a_located_refuge_leaks_its_location_nowhere(tmp_path, capsys):
    """A refuge added by a scenario with a postcode and coordinates is counted in its areas'
    after figures, but no output (CSVs, workbook, pack, console) holds its location."""
    from test_hostile_exports import SECRET, SECRET_LAT, SECRET_LON, SECRET_POSTCODE, leaks, output_texts

    from gapmap.cli import main

    scenario = tmp_path / "refuge.toml"
    scenario.write_text(
        'name = "A new refuge"\n[[add]]\n'
        f'name = "{SECRET["name"]}"\nservice_type = "refuge"\npostcode = "{SECRET_POSTCODE}"\n'
        f'latitude = {SECRET_LAT}\nlongitude = {SECRET_LON}\nserves = "E07999006;E07999007"\n'
        'capacity = 7\ncapacity_unit = "family_spaces"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["report", "--scenario", str(scenario), "--out", str(out), "--no-maps"]) == 0
    console = capsys.readouterr().out
    figures = pd.read_csv(out / "scenario.csv", dtype={"area_code": str})
    moved = figures[(figures["benchmark_id"] == "refuge_family_spaces") & figures["moved"]]
    assert {"E07999006", "E07999007"} <= set(moved["area_code"])  # it is counted
    texts = output_texts(out)
    texts["console"] = console
    assert texts["pack.pdf:text"].count("Scenario: A new refuge") >= 1
    assert {name: f for name, f in ((n, leaks(t)) for n, t in texts.items()) if f} == {}


def test_scenarios_command_saves_and_lists(tmp_path, capsys):
    from gapmap.cli import main

    path = tmp_path / "two.toml"
    path.write_bytes(TWO_IDVA)
    folder = tmp_path / "kept"
    assert main(["scenarios", "save", str(path), "--dir", str(folder)]) == 0
    assert main(["scenarios", "list", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"saved {folder / 'two.toml'}" in out
    assert "two.toml  Two more Idva posts in Saltmere (1 action(s))" in out
