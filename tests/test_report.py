"""`python -m gapmap report`: the files, their exact columns, and nothing written on bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from test_engine import EXPECTED_GAPS, KM, A, B, C, D, make_areas, make_population, wgs84

from gapmap.cli import main
from gapmap.csvtables import ACCESS_CSV_COLUMNS, COVERAGE_CSV_COLUMNS, GAPS_CSV_COLUMNS
from gapmap.report import json_safe

FAST = ["--no-maps", "--no-pack", "--no-xlsx"]


def write_fixture_inputs(folder: Path) -> dict[str, Path]:
    """The hand-computed fixture of test_engine.py as the files an analyst would pass."""
    boundaries = folder / "squares.geojson"
    make_areas().to_file(boundaries, driver="GeoJSON")
    population = folder / "population.csv"
    make_population().to_csv(population, index=False)

    def at(x, y):
        lon, lat = wgs84(x * KM, y * KM)
        return {"latitude": round(lat, 8), "longitude": round(lon, 8)}

    rows = [
        {"service_id": "S1", "service_type": "idva", "serves": f"{A};{B}", "capacity": 3},
        {"service_id": "S2", "service_type": "idva", "serves": "*", "capacity": 1},
        {"service_id": "S3", "service_type": "idva", **at(405, 315), "capacity": 0.5},
        {"service_id": "S4", "service_type": "idva", **at(402, 305)},
        {"service_id": "S5", "service_type": "marac", **at(410, 305), "catchment_km": 2},
        {"service_id": "S6", "service_type": "marac", **at(415, 315)},
        # Serves by *name*: the loader resolves "Charlie" to its code.
        {"service_id": "S7", "service_type": "refuge", "serves": "Charlie", "capacity": 6},
        {"service_id": "S8", "service_type": "helpline", "serves": "*"},
        {
            "service_id": "S9",
            "service_type": "perpetrator_programme",
            **at(415, 305),
            "capacity": 20,
            "funding_end": "2036-03-31",
        },
    ]
    services = folder / "services.csv"
    frame = pd.DataFrame(rows)
    frame.insert(1, "name", [f"Service {r['service_id']}" for r in rows])
    frame.to_csv(services, index=False)
    return {"boundaries": boundaries, "population": population, "services": services}


def report_args(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    # The hand calculation (tests/test_engine.py) is under the seed profile: pinned here.
    args = ["report", "--out", str(out), *FAST, "--profile", "seed_2013_2023", *extra]
    for role, path in inputs.items():
        args += [f"--{role}", str(path)]
    return args


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"area_code": str})


def test_report_on_the_fixture_files_matches_the_hand_calculation(tmp_path, capsys):
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(report_args(inputs, out)) == 0
    # options.csv and costs.csv: what would fill each patchwork gap, and its cost (issue 12).
    assert sorted(p.name for p in out.iterdir()) == [
        "access.csv",
        "costs.csv",
        "coverage.csv",
        "gaps.csv",
        "options.csv",
        "summary.json",
    ]

    gaps = read_csv(out / "gaps.csv")
    assert list(gaps.columns) == list(GAPS_CSV_COLUMNS)
    # S10 (outside every area) is left out of the file: the rest are the same numbers.
    for (area, bench), expected in EXPECTED_GAPS.items():
        row = gaps[(gaps.area_code == area) & (gaps.benchmark_id == bench)].iloc[0]
        for name, value in zip(
            ("denominator", "required", "provided", "ratio", "shortfall"), expected[:5], strict=True
        ):
            if value is None:
                assert math.isnan(row[name]), (area, bench, name)
            else:
                assert row[name] == pytest.approx(value, abs=5e-5), (area, bench, name)
        assert row["status"] == expected[5]
        assert row["unmeasured_services"] == expected[6]

    coverage = read_csv(out / "coverage.csv")
    assert list(coverage.columns) == list(COVERAGE_CSV_COLUMNS)
    cell = coverage[(coverage.tier == "tertiary") & (coverage.cohort == "cyp")].set_index("area_code")
    assert cell.services.to_dict() == {A: 0, B: 0, C: 1, D: 0}
    assert cell.patchwork_gap.to_dict() == {A: True, B: True, C: False, D: True}

    access = read_csv(out / "access.csv")
    assert list(access.columns) == list(ACCESS_CSV_COLUMNS)
    assert "refuge" not in set(access.service_type)  # confidential: never a distance

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["profile"]["id"] == "seed_2013_2023"
    assert summary["patchwork_index"] == pytest.approx(6 / 16)
    assert summary["is_demo"] is False
    assert set(summary["inputs"]) >= {"boundaries", "population", "services"}
    assert "services.csv (" in summary["inputs"]["services"]  # file name + hash
    assert summary["benchmarks"]["idva_fte"]["ratio"] == pytest.approx(4.5 / 4.0)
    assert "generated_at" in summary
    out_text = capsys.readouterr().out
    assert "IDVA posts (FTE): Met: 4.5 of 4 (113%)" in out_text  # the CLI writes as the pack does
    assert "Caveat: Figures as the 2013 Lancashire JSNA" in out_text
    # Every benchmark names its denominator source, in gaps.csv and summary.json alike.
    area_rows = gaps[gaps.benchmark_id.isin(["idva_fte", "marac", "refuge_family_spaces"])]
    assert (area_rows.denominator_source.str.contains(r"\(column ")).all()
    assert set(gaps.profile) == {"seed_2013_2023"}
    assert gaps.profile_caveat.str.contains("halves the requirement").all()
    for bid, entry in summary["benchmarks"].items():
        assert entry["denominator_source"], bid
        assert "seed" not in entry["citation"].lower()
    idva_all = gaps[(gaps.area_code == "ALL") & (gaps.benchmark_id == "idva_fte")].iloc[0]
    assert idva_all.status_label == "Met" and idva_all.figure_label == "Met: 4.5 of 4 (113%)"
    helpline = gaps[gaps.benchmark_id == "helpline"].iloc[0]
    assert helpline.figure_label == "Met: 1 service (at least 1 needed)"
    assert summary["benchmarks"]["helpline"]["figure_label"] == "Met: 1 service (at least 1 needed)"


def test_report_filters_and_selection(tmp_path):
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(report_args(inputs, out, "--areas", f"{A},{B}", "--on", "2036-04-01")) == 0
    gaps = read_csv(out / "gaps.csv")
    assert set(gaps.area_code) == {A, B, "ALL"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["filters"] == "funded on 2036-04-01"
    assert summary["filter"]["on"] == "2036-04-01"
    assert summary["selection"] == [A, B]
    assert summary["services_after_filter"] == 8  # S9's funding has ended


def test_report_on_the_demo(tmp_path, capsys):
    out = tmp_path / "demo_report"
    assert main(["report", "--out", str(out), *FAST]) == 0
    gaps = read_csv(out / "gaps.csv")
    assert list(gaps.columns) == list(GAPS_CSV_COLUMNS)
    assert (gaps.area_code == "ALL").sum() == gaps.benchmark_id.nunique()
    assert set(gaps.status) <= {"green", "amber", "red", "no_data"}
    assert list(read_csv(out / "coverage.csv").columns) == list(COVERAGE_CSV_COLUMNS)
    assert list(read_csv(out / "access.csv").columns) == list(ACCESS_CSV_COLUMNS)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["is_demo"] is True
    assert summary["inputs"]["services"].startswith("demo_county_services.csv")
    assert "demo data" in capsys.readouterr().out


def test_invalid_services_write_nothing(tmp_path, capsys):
    inputs = write_fixture_inputs(tmp_path)
    bad = tmp_path / "bad_services.csv"
    bad.write_text("service_id,name,service_type,serves\nX1,Broken,not_a_type,Nowhere\n", encoding="utf-8")
    inputs["services"] = bad
    out = tmp_path / "out"
    assert main(report_args(inputs, out)) == 1
    assert not out.exists()
    text = capsys.readouterr().out
    assert "bad_services.csv" in text and "ERROR" in text
    assert "Nothing was written." in text


def test_unknown_area_code_writes_nothing(tmp_path, capsys):
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(report_args(inputs, out, "--areas", f"{A},E09999999")) == 1
    assert not out.exists()
    assert "E09999999" in capsys.readouterr().out


def test_unknown_profile_writes_nothing(tmp_path, capsys):
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(report_args(inputs, out, "--profile", "nope")) == 1
    assert not out.exists()
    assert "nope" in capsys.readouterr().out


def test_bad_on_date_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", "--out", str(out), "--on", "1 April 2027", *FAST]) == 2
    assert not out.exists()
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_existing_output_files_are_replaced_whole(tmp_path):
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("stale", encoding="utf-8")
    assert main(report_args(inputs, out)) == 0
    assert (out / "gaps.csv").read_text(encoding="utf-8").startswith("area_code,")
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_json_safe():
    import numpy as np

    doc = json_safe({"a": np.float64("nan"), "b": np.int64(3), "c": (1.5, np.bool_(True)), "d": math.inf})
    assert doc == {"a": None, "b": 3, "c": [1.5, True], "d": None}
    json.dumps(doc, allow_nan=False)


def test_on_accepts_a_uk_date(tmp_path):
    """`--on 01/04/2036` is the same day as `--on 2036-04-01` (UK dates where people type)."""
    inputs = write_fixture_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(report_args(inputs, out, "--areas", f"{A},{B}", "--on", "01/04/2036")) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["filter"]["on"] == "2036-04-01"  # files keep ISO dates
    assert summary["services_after_filter"] == 8


def test_parse_day_reads_uk_and_iso_and_refuses_the_rest():
    from datetime import date

    from gapmap.filters import parse_day

    assert parse_day("31/03/2028") == parse_day("31-3-2028") == parse_day("2028-03-31") == date(2028, 3, 31)
    for bad in ("31/02/2028", "03/31/2028", "1 April 2027", "2028/03/31"):
        with pytest.raises(ValueError, match="DD/MM/YYYY"):
            parse_day(bad)
