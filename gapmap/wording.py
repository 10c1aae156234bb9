"""One way of writing each number and word, for every output a person reads.

The app, the web map (tooltips and legend), the static maps, the pack, the workbook's label
columns, the CSV label columns and the CLI all write figures through these functions, so one
figure reads the same everywhere ("4.15" on the pack cover and in the app headline alike).
Files keep their machine codes (`status = red`) and add label columns (`status_label = Not met`).

Precision follows magnitude (`number`): whole numbers as they are with thousands separators;
100 and over, no decimals; 10 to 100, one; 1 to 10, two; under 1, two significant figures. So
0.351 of 0.379 reads "0.35 of 0.38 (93%)", never "0.4 of 0.4 (93%)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

#: What a missing figure reads as.
MISSING = "–"

#: The word that goes with each status colour (colour-blind and greyscale safe).
STATUS_LABELS: dict[str, str] = {
    "green": "Met",
    "amber": "Partly met",
    "red": "Not met",
    "no_data": "No data",
    # demand rows that count need without a benchmark (waiting lists, declined referrals)
    "info": "For information",
    # demand rows reading observed activity against an expected volume (Marac cases)
    "expected": "As expected",
    "low": "Below expected",
    "high": "Above expected",
}

#: Patchwork states of one tier x cohort cell in one area.
PATCHWORK_LABELS: dict[str, str] = {
    "has": "Provided",
    "gap": "Gap: provided elsewhere in the partnership, not here",
    "nowhere": "Not provided anywhere in the partnership",
}

#: Evidence-rated coverage of one tier x cohort cell (`gapmap.interventions.evidence_coverage`).
EVIDENCE_LABELS: dict[str, str] = {
    "high": "High-evidence option in place",
    "moderate": "Moderate-evidence option at best",
    "low": "Low-evidence or unrated provision only",
    "none": "Nothing in place",
    "no_data": "No data",
}
#: The same, short enough for a table cell on a projector.
EVIDENCE_SHORT: dict[str, str] = {
    "high": "High",
    "moderate": "Moderate",
    "low": "Low or unrated",
    "none": "Nothing",
    "no_data": "No data",
}
#: What the evidence classes mean, with their source (legends, the Method tab, the pack).
EVIDENCE_RULE = (
    "Each area is classed by the strongest evidence behind what is provided there in this tier "
    "and cohort: the evidence-quality rating, in seed 002 (Crest Advisory 2023, rapid evidence "
    "review for the LLR Violence Reduction Network), of the named interventions its services "
    "deliver. HIGH: a good systematic review of several studies that agree; MODERATE: an "
    "established body of research with limits; a split rating counts at its lower end. Services "
    "whose intervention is not in the catalogue, or not rated for this tier and cohort, are unrated."
)
#: The same rule in two lines, for a map legend on a projector.
EVIDENCE_RULE_SHORT = (
    "The strongest evidence-quality rating (seed 002) among the named interventions delivered "
    "here in this tier and cohort; a split rating counts at its lower end; unnamed or "
    "uncatalogued interventions are unrated."
)
EVIDENCE_SOURCE = (
    "Source: seed 002, Crest Advisory (2023), Rapid evidence review: interventions to prevent "
    "and reduce domestic abuse and sexual violence (LLR VRN); gapmap/interventions.toml."
)

#: Opening hours codes in words: "Extended hours" in the app, on maps and in the pack alike.
HOURS_LABELS: dict[str, str] = {"24_7": "24/7", "extended": "Extended hours", "office": "Office hours"}

#: Capacity units in words, after a figure ("4.15 FTE", "12 family places").
UNIT_LABELS: dict[str, str] = {
    "fte": "FTE",
    "family_spaces": "family places",
    "household_units": "household units",
    "bedspaces": "bedspaces",
    "commissioned_units": "commissioned units",
    "places": "places",
    "count": "",
}

#: How a service reached an area (the engine's `method` codes).
METHOD_LABELS: dict[str, str] = {
    "serves": "named in its `serves` list",
    "everywhere": "serves everywhere (a national service, `serves = *`)",
    "catchment": "inside its stated catchment circle",
    "point": "located in the area",
}

#: Said wherever a "per region" presence rule is scored, until region geography exists.
REGIONAL_NOTE = "scored for the selection; regional scoring needs region geography"


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


#: `Decimal` quanta for 0 to 4 decimal places (`_fixed`), made once.
_QUANTA: tuple[Decimal, ...] = tuple(Decimal(1).scaleb(-d) for d in range(5))


def _fixed(v: float | Decimal, decimals: int) -> str:
    """`v` to `decimals` places, halves rounded up as a reader with a calculator would.

    Rounds the shortest decimal that reads back as `v` (its repr), so 0.285 gives 0.29 and
    112.5% gives 113%, where binary floating point and round-half-even would give 0.28 and 112%.
    """
    if type(v) is float and -1e9 < v < 1e9 and 0 <= decimals <= 4:
        text = repr(v)
        # Unless the repr ends in a half at `decimals` places, Python's correctly rounded
        # format of the float gives the same digits as rounding its repr: a midpoint between
        # the two would lie in the float's rounding interval (far narrower than 0.00005 below
        # 1e9) with no more digits than the repr, and the repr is the shortest, then nearest,
        # decimal that reads back. Half the cost of `Decimal`; a report words thousands of figures.
        # Only to 4 places: at more, the float's own binary digits would show (0.3 to 17 places
        # is 0.29999999999999999, not the repr's 0.30000000000000000).
        if "e" not in text and not (len(text) - text.find(".") == decimals + 2 and text[-1] == "5"):
            return f"{v:,.{decimals}f}"
    quantum = _QUANTA[decimals] if 0 <= decimals < len(_QUANTA) else Decimal(1).scaleb(-decimals)
    exact = (v if isinstance(v, Decimal) else Decimal(repr(v))).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{exact:,.{decimals}f}"


def number(value: Any) -> str:
    """A figure with precision following its magnitude: '4,385', '57.3', '4.15', '0.35'.

    Trailing zeros are dropped ('4.2', not '4.20'); a missing value reads '–'.
    """
    v = _float(value)
    if v is None:
        return MISSING
    if abs(v - round(v)) < 1e-9:
        return f"{round(v):,}"
    a = abs(v)
    if a >= 100:
        decimals = 0
    elif a >= 10:
        decimals = 1
    elif a >= 1:
        decimals = 2
    else:
        # Two significant figures, at most four decimals (0.00004 reads '0').
        decimals = min(4, max(2, 1 - math.floor(math.log10(a))))
    text = _fixed(v, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def signed_number(value: Any) -> str:
    """A change with its sign: '+0.4', '-1.25', '0' (precision as `number`)."""
    v = _float(value)
    if v is None:
        return MISSING
    text = number(v)
    return text if text in ("0", MISSING) or text.startswith("-") else f"+{text}"


def percent(ratio: Any) -> str:
    """A ratio as a whole percentage: 0.926 -> '93%'; missing -> '–'."""
    v = _float(ratio)
    if v is None:
        return MISSING
    return f"{_fixed(Decimal(repr(v)) * 100, 0)}%"


def money(value: Any) -> str:
    """Pounds: '£2,970', '£136', '£0.50'; missing -> '–'."""
    v = _float(value)
    if v is None:
        return MISSING
    if abs(v) >= 1 or v == 0:
        return f"£{_fixed(v, 0)}" if abs(v - round(v)) < 0.005 or abs(v) >= 100 else f"£{_fixed(v, 2)}"
    return f"£{_fixed(v, 2)}"


def status_label(status: Any) -> str:
    """'Met' / 'Partly met' / 'Not met' / 'No data' for a status code."""
    return STATUS_LABELS.get(str(status), str(status))


def hours_label(code: Any) -> str:
    """'24/7' / 'Extended hours' / 'Office hours'; '' for blank."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return ""
    return HOURS_LABELS.get(str(code), str(code))


def unit_label(unit: Any) -> str:
    """A capacity unit in words ('FTE', 'family places'); '' for a plain count."""
    return UNIT_LABELS.get(str(unit or ""), str(unit or "").replace("_", " "))


def uk_date(value: Any) -> str:
    """'22 November 2026' (the on-screen style); '' for None/NaT."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp | datetime | date):
        if pd.isna(value):
            return ""
        return f"{value.day} {value:%B %Y}"
    return str(value)


def iso_date(value: Any) -> str:
    """'2026-11-22' (the file style); '' for None/NaT."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp | datetime | date):
        return "" if pd.isna(value) else f"{value:%Y-%m-%d}"
    return str(value)


def services_count(n: Any) -> str:
    """'1 service', '5 services'."""
    v = _float(n) or 0.0
    return f"{number(v)} service" + ("" if v == 1 else "s")


def presence_text(status: Any, provided: Any, minimum: Any) -> str:
    """A presence ("at least N") rule as a count: 'Met: 5 services (at least 1 needed)'."""
    return f"{status_label(status)}: {services_count(provided)} (at least {number(minimum)} needed)"


def provided_of_required(provided: Any, required: Any, ratio: Any) -> str:
    """'0.35 of 0.38 (93%)'; without a ratio, '0 of 0'."""
    ratio_text = percent(ratio)
    text = f"{number(provided)} of {number(required)}"
    return text if ratio_text == MISSING else f"{text} ({ratio_text})"


def figure_text(row: Mapping[str, Any], benchmark: Any) -> str:
    """One gap row in words, the same in every output.

    Area benchmarks: 'Not met: 0.35 of 0.38 (93%)'. Presence benchmarks: 'Met: 5 services
    (at least 1 needed)', never a percentage.
    """
    status = row.get("status", "no_data")
    if getattr(benchmark, "is_presence", False):
        return presence_text(status, row.get("provided"), row.get("required"))
    figures = provided_of_required(row.get("provided"), row.get("required"), row.get("ratio"))
    return f"{status_label(status)}: {figures}"


def ratio_cell(row: Mapping[str, Any], benchmark: Any) -> str:
    """The '% of benchmark' cell of a table: a percentage, or the count for a presence rule."""
    if getattr(benchmark, "is_presence", False):
        return f"{services_count(row.get('provided'))} (at least {number(row.get('required'))} needed)"
    return percent(row.get("ratio"))


def status_legend(config: Any) -> dict[str, str]:
    """Legend words for each status with the configured thresholds."""
    return {
        "red": f"{STATUS_LABELS['red']}: below {percent(config.amber_at)} of the benchmark",
        "amber": f"{STATUS_LABELS['amber']}: {percent(config.amber_at)} to under {percent(config.green_at)}",
        "green": f"{STATUS_LABELS['green']}: {percent(config.green_at)} of the benchmark or more",
        "no_data": f"{STATUS_LABELS['no_data']}: no denominator, or not scored",
    }


def benchmark_definition(benchmark: Any) -> str:
    """'1 per 10,000 all persons' or 'at least 1 per region (scored for the selection; …)'."""
    text = benchmark.describe()
    if getattr(benchmark, "regional", False):
        text += f" ({REGIONAL_NOTE})"
    return text


def citation_text(benchmark: Any) -> str:
    """The citation readers see, with the benchmark's scope note: never a seed number."""
    cite = benchmark.citation
    note = getattr(benchmark, "scope_note", "")
    return f"{cite} Scope: {note}." if note else cite


def denominator_text(provenance: Mapping[str, Any] | None) -> str:
    """'females aged 16 and over, Census 2021 estimate (…) (column census21_females_16plus_est)'."""
    if not provenance:
        return "not needed (a count of services)"
    label = provenance.get("label") or provenance.get("denominator") or ""
    vintage = provenance.get("vintage_label") or ""
    column = provenance.get("column") or ""
    if not column:
        return f"{label}: not in the population table"
    if not vintage:
        return f"{label} (column {column}, estimate year not stated in the file)"
    return f"{label}, {vintage} (column {column})"


def distance_text(value: Any, unit: str) -> str:
    """'12.4 km', '35 minutes'; nothing in reach (inf) reads 'none in reach'."""
    v = _float(value)
    if v is None:
        return "none in reach"
    return f"{number(round(v, 1))} {unit}"


def beyond_text(population_beyond: Any, population: Any, threshold: Any, unit: str) -> str:
    """'14,463 of 117,743 residents (12%) live more than 15 km (straight line) from the nearest one'.

    `unit` is "km" (straight-line distance) or "minutes" (a travel-time file): said every time,
    because a straight line is not a journey.
    """
    how = "km (straight line)" if unit == "km" else unit
    share = None
    p, b = _float(population), _float(population_beyond)
    if p and b is not None:
        share = b / p
    return (
        f"{number(round(b or 0))} of {number(round(p or 0))} residents ({percent(share)}) live more than "
        f"{number(threshold)} {how} from the nearest one"
    )


# --------------------------------------------------------------------------- credits and notes
#: Said under every map and in every pack and workbook (one wording for every medium).
CROWN_COPYRIGHT = "Contains OS data © Crown copyright and database right {year}"
ONS_ATTRIBUTION = "Source: Office for National Statistics licensed under the Open Government Licence v.3.0."
DEMO_BADGE = "Fictional demo data"
#: Said wherever the badge has room for a sentence. The county is what is fictional (see
#: `Dataset.is_demo`), so it holds for the demo list and for any list shown on the demo county.
DEMO_NOTE = (
    f"{DEMO_BADGE}: the county, its areas and its population are invented, "
    "so these figures describe no real place."
)
CONFIDENTIAL_NOTE = (
    "Refuges and other confidential services are counted in their area's figures "
    "but are never shown on the map."
)
