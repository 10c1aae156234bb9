from __future__ import annotations

import pytest

from gapmap.config import default_config, load_config
from gapmap.errors import ConfigError


def test_default_profiles_and_benchmarks():
    config = default_config()
    assert config.default_profile.id == "standards"
    assert set(config.profiles) == {"standards", "seed_2013_2023"}
    std = config.profile("standards")
    refuge = std.benchmark("refuge_family_spaces")
    assert (refuge.target, refuge.per, refuge.denominator) == (1, 10000, "all_persons")
    rcc, sarc = std.benchmark("rape_crisis_centre"), std.benchmark("sarc")
    assert (rcc.per, rcc.denominator) == (200000, "females")
    assert (sarc.per, sarc.denominator) == (400000, "females")
    idva = std.benchmark("idva_fte")
    assert (idva.target, idva.per, idva.denominator) == (4, 100000, "females_16_plus")
    assert idva.describe() == "4 per 100,000 females aged 16 and over"
    assert "high-risk (Marac-level) cases only" in idva.scope_note
    assert "40 Marac cases per 10,000 women aged 16+" in idva.scope_note  # the derivation
    for presence in ("refuge_presence", "rape_crisis_presence"):
        b = std.benchmark(presence)
        assert b.is_presence and b.regional and b.minimum == 1
        assert b.describe() == "at least 1 per region"
    # Every benchmark of every packaged profile carries a citation and a scope note, and
    # readers never see a seed number.
    for profile in config.profiles.values():
        for b in profile.benchmarks:
            assert b.publisher and b.title and b.year and b.scope_note, (profile.id, b.id)
            assert "seed" not in b.citation.lower() and "seed" not in b.source.lower()
    assert refuge.citation.startswith("Council of Europe (2008). Combating violence against women")
    seed = config.profile("seed_2013_2023")
    assert seed.benchmark("idva_fte").seed == "seed 001"  # kept as data, for provenance
    assert seed.benchmark("refuge_family_spaces").denominator == "females"
    assert "halves the requirement" in seed.caveat and not std.caveat


def test_denominator_vintages_are_data():
    config = default_config()
    assert config.vintages() == {
        "mye2023": "ONS mid-2023 population estimate",
        "census2021": "Census 2021",
        "mye2020": "ONS mid-2020 population estimate",
    }
    assert config.denominator_columns("females_16_plus")["census21_females_16plus_est"]["official"] is False


def test_refuge_is_confidential_by_default():
    assert default_config().service_types["refuge"].confidential
    assert not default_config().service_types["idva"].confidential


@pytest.mark.parametrize(
    ("ratio", "status"),
    [(None, "no_data"), (float("nan"), "no_data"), (1.0, "green"), (0.5, "amber"), (0.49, "red")],
)
def test_status_thresholds(ratio, status):
    assert default_config().status_for(ratio) == status


def _write(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_BENCH = """
[[profiles.mine.benchmarks]]
id = "idva_fte"
service_types = ["idva"]
measure = "capacity"
target = 5
per = 100000
denominator = "{denominator}"
source = "our board, 2026"
"""


def test_user_file_replaces_profiles_only(tmp_path):
    config = load_config(_write(tmp_path, GOOD_BENCH.format(denominator="females_16_plus")))
    assert list(config.profiles) == ["mine"]
    assert config.profile("mine").benchmark("idva_fte").target == 5
    assert "refuge" in config.service_types  # untouched sections keep the defaults


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD_BENCH.format(denominator="adult_women"), "unknown denominator `adult_women`"),
        (
            GOOD_BENCH.format(denominator="females").replace("per = 100000", "per = 0"),
            "`per` must be greater than zero",
        ),
        (GOOD_BENCH.format(denominator="females") * 2, "duplicate benchmark id `idva_fte`"),
        (
            GOOD_BENCH.format(denominator="females").replace('["idva"]', '["idvaa"]'),
            "unknown service type `idvaa`",
        ),
        (
            GOOD_BENCH.format(denominator="females").replace('source = "our board, 2026"', ""),
            "`source` is missing",
        ),
        ("[[profiles.x.benchmarks]\n", "not valid TOML"),
    ],
)
def test_bad_benchmark_files_are_clear(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert expected in str(info.value)
    assert "mine.toml" in str(info.value)


def test_unknown_profile_lists_known_ones():
    with pytest.raises(ConfigError, match="expected one of: standards, seed_2013_2023"):
        default_config().profile("nope")
