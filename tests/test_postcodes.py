from __future__ import annotations

import math
import zipfile

import pandas as pd
import pytest

from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.postcodes import load_postcodes, normalise_postcode, normalise_postcodes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le1  5ww", "LE1 5WW"),
        ("LE15WW", "LE1 5WW"),
        (" sw1a 1aa ", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("cr2 6xh", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("EC1A\t1BB", "EC1A 1BB"),
        ("", None),
        ("LE1", None),
        ("12345", None),
        ("LE1 5W", None),
        ("not a postcode", None),
        (None, None),
        (52.6, None),
    ],
)
def test_normalise_postcode(text, expected):
    assert normalise_postcode(text) == expected


def test_vectorised_normalise_matches_scalar():
    values = ["le1  5ww", "bad", "", "sw1a1aa", None]
    got = normalise_postcodes(pd.Series(values, dtype=object)).tolist()
    assert [None if pd.isna(g) else g for g in got] == [normalise_postcode(v) for v in values]


def _write(tmp_path, text, name="lookup.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ONSPD = (
    "pcd,pcd2,pcds,dointr,doterm,oscty,lat,long,oslaua\n"
    "LE1 5WW,LE1  5WW,LE1 5WW,199801,,E10,52.634,-1.129,E06000016\n"
    "LE1 9ZZ,LE1  9ZZ,LE1 9ZZ,199801,200506,E10,52.640,-1.130,E06000016\n"
    "ZZ9 9ZZ,ZZ9  9ZZ,ZZ9 9ZZ,199801,,E10,99.999999,0.000000,\n"
)


def test_load_onspd_layout_keeps_only_needed_columns(tmp_path):
    lookup = load_postcodes(_write(tmp_path, ONSPD))
    assert list(lookup.columns) == ["lat", "long", "terminated"]
    assert lookup.loc["LE1 5WW", "lat"] == pytest.approx(52.634)
    assert lookup.loc["LE1 5WW", "long"] == pytest.approx(-1.129)
    assert not lookup.loc["LE1 5WW", "terminated"]
    assert lookup.loc["LE1 9ZZ", "terminated"]
    # ONSPD's "no grid reference" marker (lat 99.999999) is no location, not a point near the pole.
    assert math.isnan(lookup.loc["ZZ9 9ZZ", "lat"])
    assert lookup.attrs["file"] == "lookup.csv"


def test_nspl_style_pcd_only_and_unnormalised_postcodes(tmp_path):
    text = "PCD,LAT,LONG,DOTERM\nle15ww,52.634,-1.129,\n"
    lookup = load_postcodes(_write(tmp_path, text))
    assert list(lookup.index) == ["LE1 5WW"]


def test_live_row_wins_over_terminated_duplicate(tmp_path):
    text = "pcds,lat,long,doterm\nLE1 5WW,1.0,1.0,200101\nLE1 5WW,52.6,-1.1,\n"
    lookup = load_postcodes(_write(tmp_path, text))
    assert len(lookup) == 1
    assert lookup.loc["LE1 5WW", "lat"] == pytest.approx(52.6)
    assert not lookup.loc["LE1 5WW", "terminated"]


def test_without_doterm_nothing_is_terminated(tmp_path):
    lookup = load_postcodes(_write(tmp_path, "postcode,latitude,longitude\nLE1 5WW,52.6,-1.1\n"))
    assert not lookup["terminated"].any()


def test_missing_columns_reported_with_what_was_found(tmp_path):
    report = ValidationReport()
    result = load_postcodes(_write(tmp_path, "pcds,x,y\nLE1 5WW,1,2\n"), report=report)
    assert result is None
    (problem,) = report.errors
    assert "`lat`" in problem.message and "`long`" in problem.message
    assert "`x`" in problem.message  # what was found
    assert "NSPL" in problem.message


def test_missing_file_raises_without_report(tmp_path):
    with pytest.raises(GapmapInputError, match="not found"):
        load_postcodes(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    report = ValidationReport()
    assert load_postcodes(_write(tmp_path, ""), report=report) is None
    assert "empty" in report.errors[0].message


def test_zipped_onspd_reads_the_data_csv(tmp_path):
    path = tmp_path / "ONSPD_NOV_2025.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Documents/readme.csv", "notes\nnothing here\n")
        archive.writestr("Data/ONSPD_NOV_2025_UK.csv", ONSPD)
    lookup = load_postcodes(path)
    assert "LE1 5WW" in lookup.index


def test_windows_1252_lookup(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_bytes("pcds,lat,long,doterm,name\nLE1 5WW,52.6,-1.1,,Caf\xe9\n".encode("cp1252"))
    assert "LE1 5WW" in load_postcodes(path).index
