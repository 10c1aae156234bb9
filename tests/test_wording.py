"""gapmap.wording: one way of writing each number and word (hand-written expectations)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gapmap import wording
from gapmap.config import default_config


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4385, "4,385"),
        (4385.0, "4,385"),
        (57_690_323, "57,690,323"),
        (5649.004, "5,649"),  # 100 and over: no decimals
        (99.972, "100"),  # 10 to 100: one decimal, trailing zero dropped
        (16.605, "16.6"),
        (4.15126, "4.15"),  # 1 to 10: two decimals (the "4.2" vs "4.15")
        (4.2, "4.2"),
        (0.351, "0.35"),  # under 1: two significant figures (the "0.4 of 0.4")
        (0.379, "0.38"),
        (0.0379, "0.038"),
        (0.285, "0.29"),  # halves up, as on a calculator (binary float would give 0.28)
        (0.0, "0"),
        (None, "–"),
        (float("nan"), "–"),
        ("x", "–"),
    ],
)
def test_number_precision_follows_magnitude(value, text):
    assert wording.number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # Halves in the decimal the reader sees round up, whatever the binary float beneath:
        (2.675, "2.68"),  # the float is 2.67499999...: format() alone would give 2.67
        (-2.675, "-2.68"),  # away from zero, as Decimal's ROUND_HALF_UP
        (1.005, "1.01"),  # 1.00499999...
        (12.35, "12.4"),  # 12.3499999...
        (12.25, "12.3"),  # exactly a half in binary too: round-half-even would give 12.2
        (0.125, "0.13"),
        (0.00125, "0.0013"),
        (123_456.5, "123,457"),
        (999_999_999.5, "1,000,000,000"),
        # Not halves: the nearest figure, either side of one.
        (2.6749, "2.67"),
        (2.67500001, "2.68"),
        (0.28500000000000003, "0.29"),  # the float after 0.285
        (0.28499999999999998, "0.29"),  # the same float as 0.285 (its repr is 0.285)
        (0.2849999999999999, "0.28"),  # the float before it
        (-0.004, "-0.004"),
        (-0.00004, "0"),  # at most four decimals; no "-0"
        (1_234_567_890.25, "1,234,567,890"),  # beyond 1e9: the exact (Decimal) rounding
    ],
)
def test_number_rounds_the_decimal_a_reader_sees_half_up(value, text):
    assert wording.number(value) == text


def _half_up(value: float, places: int) -> str:
    """The rule in its plainest form: the repr's decimal, rounded half up by `Decimal`."""
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{exact:,.{places}f}"


@given(
    st.one_of(
        # Up to 1e20: beyond, Decimal's 28 digits cannot hold the quantized value (it raises).
        st.floats(min_value=-1e20, max_value=1e20),
        st.floats(min_value=-2e9, max_value=2e9),
        # Decimal halves and their neighbours, where binary rounding and half up part ways.
        st.builds(lambda n, p: (n * 10 + 5) / 10**p, st.integers(-(10**9), 10**9), st.integers(1, 5)),
    ),
    st.integers(0, 4),
)
def test_fixed_is_the_repr_rounded_half_up(value, places):
    assert wording._fixed(value, places) == _half_up(value, places)


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (0.3, 17, "0.30000000000000000"),
        (999999999.1, 8, "999,999,999.10000000"),
        (0.1, 20, "0." + "1".ljust(20, "0")),
    ],
)
def test_fixed_beyond_four_places_is_still_the_repr(value, places, text):
    """The fast float format is only exact to 4 places; beyond, the repr's digits, not the float's
    binary ones (0.3 is 0.299999999999999988897769753748... in binary)."""
    assert wording._fixed(value, places) == text == _half_up(value, places)


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(0.351 / 0.379, "93%"), (1.125, "113%"), (0.285, "29%"), (15.2, "1,520%"), (None, "–")],
)
def test_percent(ratio, text):
    assert wording.percent(ratio) == text


def test_words_are_the_same_everywhere():
    assert wording.status_label("red") == "Not met"
    assert wording.status_label("amber") == "Partly met"
    assert wording.hours_label("extended") == "Extended hours"  # never "Extended" on maps
    assert wording.hours_label("24_7") == "24/7"
    assert wording.unit_label("family_spaces") == "family places"
    assert wording.unit_label("bedspaces") == "bedspaces"
    assert wording.uk_date(date(2026, 11, 2)) == "2 November 2026"
    assert wording.uk_date(pd.NaT) == ""
    assert wording.iso_date(date(2026, 11, 2)) == "2026-11-02"


def test_figure_text_area_and_presence():
    std = default_config().profile("standards")
    idva, presence = std.benchmark("idva_fte"), std.benchmark("refuge_presence")
    row = {"status": "amber", "provided": 0.351, "required": 0.379, "ratio": 0.351 / 0.379}
    assert wording.figure_text(row, idva) == "Partly met: 0.35 of 0.38 (93%)"
    met = {"status": "green", "provided": 5.0, "required": 1.0, "ratio": 5.0}
    assert wording.figure_text(met, presence) == "Met: 5 services (at least 1 needed)"  # never 500%
    none = {"status": "red", "provided": 0.0, "required": 1.0, "ratio": 0.0}
    assert wording.figure_text(none, presence) == "Not met: 0 services (at least 1 needed)"
    one = {"status": "green", "provided": 1.0, "required": 1.0, "ratio": 1.0}
    assert wording.figure_text(one, presence) == "Met: 1 service (at least 1 needed)"


def test_definitions_and_citations_for_readers():
    std = default_config().profile("standards")
    presence = std.benchmark("rape_crisis_presence")
    assert wording.benchmark_definition(presence) == (
        "at least 1 per region (scored for the selection; regional scoring needs region geography)"
    )
    refuge = std.benchmark("refuge_family_spaces")
    assert wording.benchmark_definition(refuge) == "1 per 10,000 all persons"
    cite = wording.citation_text(refuge)
    assert cite.startswith(
        "Council of Europe (2008). Combating violence against women: minimum standards for support "
        "services (L. Kelly and L. Dubois)."
    )
    assert "Scope: 1 family place (a woman and her children) per 10,000 population" in cite
    provenance = {
        "label": "females aged 16 and over",
        "vintage_label": "Census 2021 estimate",
        "column": "census21_females_16plus_est",
    }
    assert wording.denominator_text(provenance) == (
        "females aged 16 and over, Census 2021 estimate (column census21_females_16plus_est)"
    )
