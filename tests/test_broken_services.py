"""The broken-input corpus (tests/broken/services/cases.toml): every bad file gets its own
specific, actionable message naming row and column, never a traceback, and nothing is saved."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from gapmap import cli, settings
from gapmap.dataset import validate_dataset

CORPUS = Path(__file__).resolve().parent / "broken" / "services"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "services"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
TODAY = date(2026, 11, 22)
BASE_INPUTS = {
    "boundaries": FIXTURES / "two_areas.geojson",
    "population": FIXTURES / "population.csv",
    "postcodes": FIXTURES / "postcodes.csv",
}


def _inputs(case):
    services = CORPUS / case.get("services", case["file"])
    benchmarks = CORPUS / case["file"] if "services" in case else None
    return services, benchmarks


def _matches(problem, case):
    return (
        problem.severity == case["severity"]
        and problem.file == case["file"]
        and problem.row == case.get("row")
        and (problem.column == case["column"] if "column" in case else True)
        and all(fragment in problem.message for fragment in case["fragments"])
    )


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_broken_input_gets_its_own_message(case, monkeypatch):
    if "max_bytes" in case:
        monkeypatch.setattr(settings, "MAX_INPUT_BYTES", case["max_bytes"])
    services, benchmarks = _inputs(case)
    dataset, report = validate_dataset(services, benchmarks=benchmarks, today=TODAY, **BASE_INPUTS)

    assert report.ok is case["valid"], report.to_text()
    assert (dataset is not None) is case["valid"]
    if "severity" in case:
        assert any(_matches(p, case) for p in report.problems), report.to_text()
    else:
        assert report.problems == [], report.to_text()
    if "source_rows" in case:
        assert dataset.services["source_row"].tolist() == case["source_rows"]
    for key, column in (("ids", "service_id"), ("names", "name")):
        if key in case:
            assert dataset.services[column].tolist() == case[key]
    assert not settings.SAVED_SERVICES_DIR.exists()


@pytest.mark.parametrize("case", [c for c in CASES if not c["valid"]], ids=lambda c: c["file"])
def test_invalid_input_is_never_saved(case, monkeypatch, capsys):
    if "max_bytes" in case:
        monkeypatch.setattr(settings, "MAX_INPUT_BYTES", case["max_bytes"])
    services, benchmarks = _inputs(case)
    argv = ["save", "--services", str(services)]
    for role, path in BASE_INPUTS.items():
        argv += [f"--{role}", str(path)]
    if benchmarks is not None:
        argv += ["--benchmarks", str(benchmarks)]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "Nothing was saved." in out
    assert "Traceback" not in out
    assert not settings.SAVED_SERVICES_DIR.exists()


def test_corpus_is_complete_and_every_message_is_specific():
    files = {p.name for p in CORPUS.iterdir() if p.name != "cases.toml"}
    used = {c["file"] for c in CASES} | {c["services"] for c in CASES if "services" in c}
    assert files == used  # no orphan files, no case without its file
    assert len(CASES) >= 25
    expectations = [tuple(c["fragments"]) for c in CASES if "fragments" in c]
    assert len(expectations) == len(set(expectations))
