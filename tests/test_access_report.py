"""`gapmap report` with small-area access on England built in (no shared data needed)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gapmap.access import load_small_areas
from gapmap.cli import main

# Rutland (E06000017) with one public IDVA in Oakham and a confidential refuge with an address.
SERVICES = (
    "service_id,name,service_type,latitude,longitude,capacity,capacity_unit,confidential\n"
    "I1,IDVA Oakham,idva,52.6700,-0.7270,1,fte,false\n"
    "R1,Refuge,refuge,52.5900,-0.5000,4,family_spaces,true\n"
)


def _run(tmp_path, *extra: str, services: str = SERVICES) -> tuple[int, object]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "services.csv"
    src.write_text(services)
    out = tmp_path / "out"
    code = main(
        ["report", "--services", str(src), "--areas", "E06000017", "--out", str(out), "--no-maps",
         "--no-pack", "--no-xlsx", "--access-beyond", "10", *extra]
    )  # fmt: skip
    return code, out


def test_report_writes_small_area_tables_saying_straight_line(tmp_path, capsys):
    code, out = _run(tmp_path)
    assert code == 0
    small = pd.read_csv(out / "small_area_access.csv")
    beyond = pd.read_csv(out / "access_beyond.csv")
    builtin = load_small_areas()
    rutland = builtin[builtin["district_code"] == "E06000017"]
    # One row per Rutland LSOA for the one public type; the refuge is in no row.
    assert sorted(small["small_area_code"]) == sorted(rutland["small_area_code"])
    assert set(small["service_type"]) == {"idva"}
    assert "nearest_km" in small.columns
    row = beyond.iloc[0]
    assert row["district_code"] == "E06000017" and row["beyond_km"] == 10
    assert row["population"] == rutland["population"].sum()
    assert row["population_beyond"] == small.loc[small["beyond"], "population"].sum()
    assert row["share_beyond"] == pytest.approx(row["population_beyond"] / row["population"], abs=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["small_area_access"]["unit"] == "km"
    assert "Straight-line distance" in summary["small_area_access"]["description"]
    assert summary["small_area_access"]["services_counted"] == {"idva": 1}
    printed = capsys.readouterr().out
    assert "km (straight line) from the nearest one" in printed


def test_a_confidential_service_changes_no_small_area_figure(tmp_path):
    _, out = _run(tmp_path / "a")
    without = SERVICES.rsplit("R1,", 1)[0]
    _, out2 = _run(tmp_path / "b", services=without)
    for name in ("small_area_access.csv", "access_beyond.csv"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes(), name


def test_travel_times_file_replaces_distance_and_says_minutes(tmp_path):
    rutland = load_small_areas().query("district_code == 'E06000017'")["small_area_code"]
    tt = tmp_path / "tt.csv"
    lines = ["small_area_code,service_id,minutes"] + [f"{c},I1,{5 + k}" for k, c in enumerate(rutland)]
    tt.write_text("\n".join(lines) + "\n")
    code, out = _run(tmp_path, "--travel-times", str(tt), "--access-catchment", "30")
    assert code == 0
    small = pd.read_csv(out / "small_area_access.csv")
    assert "nearest_minutes" in small.columns and "nearest_km" not in small.columns
    # Minutes are read as given: the k-th LSOA is 5 + k minutes away; beyond 10 = k > 5.
    assert sorted(small["nearest_minutes"]) == [5 + k for k in range(len(rutland))]
    assert int(small["beyond"].sum()) == len(rutland) - 6
    assert "beyond_minutes" in pd.read_csv(out / "access_beyond.csv").columns


def test_no_small_areas_writes_no_small_area_table(tmp_path):
    code, out = _run(tmp_path, "--no-small-areas")
    assert code == 0
    assert not (out / "small_area_access.csv").exists() and not (out / "access_beyond.csv").exists()


def test_report_draws_the_small_area_map_without_the_refuge(tmp_path):
    src = tmp_path / "services.csv"
    src.write_text(SERVICES)
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                "--services",
                str(src),
                "--areas",
                "E06000017",
                "--out",
                str(out),
                "--no-pack",
                "--no-xlsx",
            ]
        )
        == 0
    )
    png = (out / "small_area_access_idva.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # 1280 x 720: the PNG header's width and height.
    assert int.from_bytes(png[16:20], "big") == 1280 and int.from_bytes(png[20:24], "big") == 720
    assert not list(out.glob("small_area_access_refuge*"))


def test_pack_has_the_access_map_and_the_district_table(tmp_path):
    import pypdf

    _, out = _run(tmp_path)  # --no-pack in _run: run again with the pack
    src = tmp_path / "services.csv"
    assert (
        main(
            [
                "report",
                "--services",
                str(src),
                "--areas",
                "E06000017",
                "--out",
                str(out),
                "--no-maps",
                "--no-xlsx",
            ]
        )
        == 0
    )
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(out / "pack.pdf").pages)
    assert "How far is the nearest" in text and "Residents far from a service" in text
    assert "Straight-line distance (km)" in text
    small = pd.read_csv(out / "access_beyond.csv").iloc[0]
    # The table's cell for Rutland: share and residents beyond, as the CSV says.
    assert f"({int(small['population_beyond']):,})" in text
