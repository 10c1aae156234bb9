from __future__ import annotations

import pytest

from gapmap.config import default_config, load_config
from gapmap.errors import ConfigError


def test_default_profiles_and_benchmarks():
    config = default_config()
    assert config.default_profile.id == "seed_2013_2023"
    assert set(config.profiles) == {"seed_2013_2023", "council_of_europe_2008"}
    idva = config.profile("seed_2013_2023").benchmark("idva_fte")
    assert (idva.target, idva.per, idva.denominator) == (4, 100000, "females_16_plus")
    assert "CAADA" in idva.source
    assert idva.describe() == "4 per 100,000 females aged 16 and over"
    coe = config.profile("council_of_europe_2008").benchmark("refuge_family_spaces")
    assert coe.denominator == "all_persons"


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
    with pytest.raises(ConfigError, match="expected one of: seed_2013_2023, council_of_europe_2008"):
        default_config().profile("nope")
