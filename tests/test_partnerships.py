"""gapmap.partnerships: named partnerships as data."""

from __future__ import annotations

import pandas as pd
import pytest

from gapmap.errors import ConfigError
from gapmap.partnerships import load_partnerships, partnerships_for


def test_packaged_partnerships():
    parts = load_partnerships()
    assert len(parts["llr"].area_codes) == 9
    assert {"E06000016", "E06000017"} <= set(parts["llr"].area_codes)
    assert {f"E070001{n}" for n in range(29, 36)} <= set(parts["llr"].area_codes)
    assert len(parts["pan_lancashire"].area_codes) == 14
    assert len(parts["fenmarsh"].area_codes) == 9


def test_partnerships_for_keeps_only_present_areas():
    found = partnerships_for(["E06000016", "E07000133", "E09000001"])
    assert [p.id for p in found] == ["llr"]
    assert found[0].area_codes == ("E06000016", "E07000133")


def test_bad_file_names_the_partnership(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[partnerships.x]\nlabel = "X"\nareas = []\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine.toml.*partnerships.x"):
        load_partnerships(bad)


def test_real_codes_exist_in_2024_districts(shared_data):
    codes = set(pd.read_csv(shared_data / "population" / "la_denominators_lad24_england.csv").iloc[:, 0])
    for pid in ("llr", "pan_lancashire"):
        missing = set(load_partnerships()[pid].area_codes) - codes
        assert not missing, f"{pid}: {missing}"
