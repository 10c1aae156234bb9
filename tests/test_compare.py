"""Comparing two service-list versions: service diff and area figures, hand-computed."""

from __future__ import annotations

import shutil
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gapmap import settings
from gapmap.cli import main
from gapmap.compare import compare_versions, diff_services
from gapmap.config import default_config
from gapmap.dataset import Dataset
from gapmap.errors import ValidationReport
from gapmap.services import validate_services
from gapmap.storage import save_version

TODAY = date(2026, 11, 22)
A, B = "E07000901", "E07000902"

HEADER = "service_id,name,service_type,provider,latitude,longitude,serves,capacity,funding_end,confidential\n"
OLD = HEADER + (
    "X1,Alpha IDVA,idva,P,54.05,0.05,E07000901,2,,\n"
    "X2,County IDVA,idva,P,,,*,3,,\n"
    "R1,Hidden Refuge,refuge,P,,,E07000901;E07000902,10,,true\n"
    "M1,Beta MARAC,marac,P,54.05,0.15,,,,\n"
)
# X1: capacity 2 -> 4 and a funding end; X2 unchanged; R1: capacity 10 -> 12 and (by mistake)
# given a location; M1 removed; H1 helpline and R2 refuge (with a location) added.
NEW = HEADER + (
    "X1,Alpha IDVA,idva,P,54.05,0.05,E07000901,4,2027-03-31,\n"
    "X2,County IDVA,idva,P,,,*,3,,\n"
    "R1,Hidden Refuge,refuge,P,54.061,0.071,E07000901;E07000902,12,,true\n"
    "H1,County Helpline,helpline,P,,,*,,,\n"
    "R2,New Refuge,refuge,P,54.062,0.162,E07000902,4,,true\n"
)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_code": [A, B], "area_name": ["Area A", "Area B"]},
        geometry=[box(0.0, 54.0, 0.1, 54.1), box(0.1, 54.0, 0.2, 54.1)],
        crs=4326,
    )


def _population() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": [A, B],
            "all_persons": [250_000.0, 125_000.0],
            "females": [125_000.0, 62_500.0],
            "females_16_plus": [100_000.0, 50_000.0],
            "persons_0_17": [50_000.0, 25_000.0],
        }
    )


def _dataset(csv_text: str, name: str) -> Dataset:
    config = default_config()
    areas = _areas()
    report = ValidationReport()
    services = validate_services(
        None,
        config=config,
        areas=areas,
        report=report,
        content=csv_text.encode(),
        name=name,
        today=TODAY,
    )
    assert services is not None and report.ok, report.to_text()
    return Dataset(
        areas=areas,
        population=_population(),
        services=services,
        config=config,
        report=report,
        sources={"services": name},
        is_demo=False,
    )


@pytest.fixture(scope="module")
def comparison():
    # The seed profile: the hand-computed figures below use its MARAC and per-women refuge rules.
    return compare_versions(
        _dataset(OLD, "old.csv"),
        _dataset(NEW, "new.csv"),
        old_label="v1",
        new_label="v2",
        profile="seed_2013_2023",
    )


def _figure(comparison, area: str, benchmark: str) -> pd.Series:
    rows = comparison.area_changes
    match = rows[(rows["area_code"] == area) & (rows["benchmark_id"] == benchmark)]
    assert len(match) == 1, f"{area} x {benchmark}: {len(match)} rows"
    return match.iloc[0]


def test_added_removed_changed(comparison):
    assert comparison.matched_by == "service_id"
    assert sorted(comparison.added["service_id"]) == ["H1", "R2"]
    assert comparison.removed["service_id"].tolist() == ["M1"]
    changes = {(r.service_id, r.field): (r.old, r.new) for r in comparison.changed.itertuples()}
    assert changes == {
        ("X1", "capacity"): ("2", "4"),
        ("X1", "funding_end"): ("", "2027-03-31"),
        ("R1", "capacity"): ("10", "12"),
    }
    assert comparison.has_changes


def test_confidential_locations_never_exposed(comparison):
    # R1 gained coordinates but is confidential: no location field in the changes
    assert not comparison.changed["field"].isin(["latitude", "longitude", "postcode", "address"]).any()
    r2 = comparison.added.set_index("service_id").loc["R2"]
    assert r2["latitude"] == r2["longitude"] == r2["postcode"] == ""
    assert r2["confidential"] == "yes"
    text = comparison.to_text()
    for secret in ("54.061", "0.071", "54.062", "0.162"):
        assert secret not in text


def test_idva_figures_hand_computed(comparison):
    # required = females 16+ x 4 / 100,000: A 4, B 2. The county-wide 3 FTE is shared by
    # females 16+ (2:1): A 2, B 1. Old A = 2 + 2 = 4; new A = 4 + 2 = 6. B stays 1.
    a = _figure(comparison, A, "idva_fte")
    assert a["required_old"] == pytest.approx(4) and a["required_new"] == pytest.approx(4)
    assert a["provided_old"] == pytest.approx(4) and a["provided_new"] == pytest.approx(6)
    assert a["provided_change"] == pytest.approx(2)
    assert a["ratio_old"] == pytest.approx(1.0) and a["ratio_new"] == pytest.approx(1.5)
    assert a["ratio_change"] == pytest.approx(0.5)
    assert (a["status_old"], a["status_new"]) == ("green", "green")
    assert a["moved"]
    b = _figure(comparison, B, "idva_fte")
    assert b["provided_old"] == pytest.approx(1) and b["provided_new"] == pytest.approx(1)
    assert (b["status_old"], b["status_new"]) == ("amber", "amber")
    assert not b["moved"]
    total = _figure(comparison, "ALL", "idva_fte")
    assert total["provided_old"] == pytest.approx(5) and total["provided_new"] == pytest.approx(7)


def test_refuge_and_marac_figures_hand_computed(comparison):
    # refuge spaces: 1 per 10,000 females -> A 12.5, B 6.25. R1 shared 2:1 by females.
    # old: A 10*2/3, B 10/3; new: R1 12 -> A 8, B 4, plus R2 (4, B only) -> B 8.
    a = _figure(comparison, A, "refuge_family_spaces")
    assert a["provided_old"] == pytest.approx(20 / 3) and a["provided_new"] == pytest.approx(8)
    assert a["ratio_new"] == pytest.approx(8 / 12.5)
    b = _figure(comparison, B, "refuge_family_spaces")
    assert b["provided_old"] == pytest.approx(10 / 3) and b["provided_new"] == pytest.approx(8)
    assert b["ratio_new"] == pytest.approx(8 / 6.25)
    assert (b["status_old"], b["status_new"]) == ("amber", "green")
    # MARAC: 1 per 100,000 females 16+; M1 (in B) removed: B 1 -> 0, ratio 2 -> 0
    m = _figure(comparison, B, "marac")
    assert (m["provided_old"], m["provided_new"]) == (pytest.approx(1), pytest.approx(0))
    assert (m["status_old"], m["status_new"]) == ("green", "red")


def test_selection_benchmark_moves(comparison):
    helpline = _figure(comparison, "ALL", "helpline")
    assert helpline["provided_old"] == pytest.approx(0) and helpline["provided_new"] == pytest.approx(1)
    assert helpline["status_new"] == "green" and helpline["moved"]


def test_moved_lists_only_rows_that_moved(comparison):
    moved = comparison.moved
    assert moved["moved"].all()
    assert not ((moved["area_code"] == B) & (moved["benchmark_id"] == "idva_fte")).any()
    text = comparison.to_text()
    assert "Added (2)" in text and "Removed (1)" in text and "Changed (2)" in text
    assert (
        "Area A (E07000901), IDVA posts (FTE): provided 4 -> 6 (+2); share of the benchmark "
        "100% -> 150%; Met -> Met"
    ) in text


def test_identical_versions_have_no_changes():
    same = compare_versions(_dataset(OLD, "a.csv"), _dataset(OLD, "b.csv"))
    assert not same.has_changes
    assert same.added.empty and same.removed.empty and same.changed.empty
    assert not same.area_changes["moved"].any()
    assert "same services" in same.to_text()


def test_generated_ids_are_matched_by_name_not_row_order():
    header = "name,service_type,provider,serves,capacity\n"
    old = header + "Alpha IDVA,idva,P,E07000901,2\nBeta IDVA,idva,P,E07000902,1\n"
    # a service inserted at the top shifts every generated id (S0001, S0002, ...)
    new = (
        header
        + "Gamma IDVA,idva,P,E07000902,1\nAlpha IDVA,idva,P,E07000901,2\nBeta IDVA,idva,P,E07000902,1.5\n"
    )
    old_ds, new_ds = _dataset(old, "old.csv"), _dataset(new, "new.csv")
    added, removed, changed, matched_by = diff_services(old_ds.services, new_ds.services)
    assert matched_by == "name, service_type and provider"
    assert added["name"].tolist() == ["Gamma IDVA"]
    assert removed.empty
    assert [(r.name, r.field, r.old, r.new) for r in changed.itertuples()] == [
        ("Beta IDVA", "capacity", "1", "1.5")
    ]


def test_list_order_and_float_noise_are_not_changes():
    old = (
        HEADER.replace("confidential", "tiers")
        + "X1,Alpha,idva,P,54.05,0.05,E07000901,2,,secondary;tertiary\n"
    )
    new = HEADER.replace("confidential", "tiers") + (
        "X1,Alpha,idva,P,54.050000001,0.05,E07000901,2.0000000000001,,tertiary;secondary\n"
    )
    _, _, changed, _ = diff_services(_dataset(old, "o.csv").services, _dataset(new, "n.csv").services)
    assert changed.empty


# ---------------------------------------------------------------- the command line
def test_cli_compare_saved_versions(tmp_path, capsys):
    new_file = tmp_path / "new.csv"
    text = settings.DEMO_SERVICES.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("FEN-047,")]  # drop the city MARAC
    new_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    saved = tmp_path / "saved"
    save_version(settings.DEMO_SERVICES.read_bytes(), "demo.csv", row_count=60, root=saved)
    save_version(new_file.read_bytes(), "new.csv", row_count=59, root=saved)
    assert main(["compare", "v0001", "v0002", "--dir", str(saved), "--profile", "seed_2013_2023"]) == 0
    out = capsys.readouterr().out
    assert "Removed (1):" in out and "FEN-047" in out
    assert "Fenmarsh City (E06999001), MARACs: provided 1 -> 0 (-1)" in out
    assert "fictional demo county" in out


def test_cli_compare_file_paths(tmp_path, capsys):
    copy = tmp_path / "copy.csv"
    shutil.copy(settings.DEMO_SERVICES, copy)
    assert main(["compare", str(settings.DEMO_SERVICES), str(copy)]) == 0
    assert "same services" in capsys.readouterr().out


def test_cli_compare_unknown_version_lists_known_ones(tmp_path, capsys):
    saved = tmp_path / "saved"
    save_version(b"name,service_type\nA,idva\n", "a.csv", row_count=1, root=saved)
    assert main(["compare", "v0001", "v0007", "--dir", str(saved)]) == 1
    err = capsys.readouterr().err
    assert "v0007" in err and "v0001" in err


def test_cli_compare_neither_version_nor_file(tmp_path, capsys):
    assert main(["compare", "no-such-file.csv", "v1", "--dir", str(tmp_path)]) == 1
    assert "neither a saved version id" in capsys.readouterr().err


def test_patchwork_cells_that_open_and_close():
    header = "service_id,name,service_type,provider,serves,capacity\n"
    old = header + "X1,Alpha IDVA,idva,P,E07000901,2\nP1,Change,perpetrator_programme,P,E07000901,10\n"
    new = header + "X1,Alpha IDVA,idva,P,E07000901,2\nP2,Change B,perpetrator_programme,P,E07000902,10\n"
    comparison = compare_versions(_dataset(old, "o.csv"), _dataset(new, "n.csv"))
    cells = {(r.area_code, r.tier, r.cohort): r.change for r in comparison.coverage_changes.itertuples()}
    # perpetrator programmes are secondary x perpetrators: A loses its only one, B gains one
    assert cells == {
        (A, "secondary", "perpetrators"): "gap opened",
        (B, "secondary", "perpetrators"): "gap closed",
    }
    text = comparison.to_text()
    assert "Area A (E07000901), secondary x perpetrators: gap opened" in text
    assert "Area B (E07000902), secondary x perpetrators: gap closed" in text


def test_unchanged_patchwork_has_no_coverage_rows():
    same = compare_versions(_dataset(OLD, "a.csv"), _dataset(OLD, "b.csv"))
    assert same.coverage_changes.empty
