"""ServiceFilter: each field alone, combined, the funding cliff, and describe()."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from test_engine import make_services, service

from gapmap.filters import ServiceFilter


@pytest.fixture
def services():
    return make_services(
        [
            service("idva", "idva", serves=("*",), hours="office", funding_end=pd.Timestamp("2027-03-31")),
            service("school", "school_programme", serves=("*",), specialist_groups=("young_people",)),
            service(
                "perp", "perpetrator_programme", serves=("*",), hours="24_7", specialist_groups=("male",)
            ),
            service("isva", "isva", serves=("*",), hours="extended", funding_end=pd.Timestamp("2026-12-31")),
        ]
    )


def ids(frame) -> set[str]:
    return set(frame["service_id"])


def test_empty_filter_keeps_everything_and_returns_a_copy(services):
    f = ServiceFilter()
    assert f.is_empty
    out = f.apply(services)
    assert ids(out) == {"idva", "school", "perp", "isva"}
    assert out is not services
    assert f.describe() == "All services"


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (ServiceFilter(service_types={"idva", "isva"}), {"idva", "isva"}),
        (ServiceFilter(tiers={"primary"}), {"school"}),
        (ServiceFilter(tiers={"tertiary"}), {"idva", "isva"}),  # multi-tier services match either
        (ServiceFilter(cohorts={"perpetrators"}), {"perp"}),
        (ServiceFilter(abuse_types={"sv"}), {"school", "isva"}),
        (ServiceFilter(specialist_groups={"male", "young_people"}), {"school", "perp"}),
        (ServiceFilter(hours={"24_7", "extended"}), {"perp", "isva"}),  # unknown hours never match
        (ServiceFilter(service_types={"idva", "isva"}, abuse_types={"sv"}), {"isva"}),  # AND
        (ServiceFilter(tiers=set()), set()),
    ],
)
def test_each_field(services, flt, expected):
    assert ids(flt.apply(services)) == expected


def test_funding_cliff(services):
    # Funding that ends before the date is gone; ending on the day, or no end date, stays.
    assert ids(ServiceFilter(on=date(2027, 1, 1)).apply(services)) == {"idva", "school", "perp"}
    assert ids(ServiceFilter(on=date(2027, 3, 31)).apply(services)) == {"idva", "school", "perp"}
    assert ids(ServiceFilter(on=date(2027, 4, 1)).apply(services)) == {"school", "perp"}
    assert ids(ServiceFilter(on=date(2020, 1, 1)).apply(services)) == {"idva", "school", "perp", "isva"}


def test_accepts_lists_and_single_strings_and_is_hashable():
    f = ServiceFilter(tiers=["primary", "secondary"], hours="24_7")
    assert f.tiers == frozenset({"primary", "secondary"})
    assert f.hours == frozenset({"24_7"})
    assert hash(f) == hash(ServiceFilter(tiers=("secondary", "primary"), hours={"24_7"}))


def test_describe_and_to_dict():
    f = ServiceFilter(tiers={"primary"}, on=date(2027, 4, 1))
    assert f.describe() == "Tiers: primary; funded on 2027-04-01"
    f2 = ServiceFilter(service_types={"isva", "idva"}, cohorts={"cyp"})
    assert f2.describe() == "Service types: idva, isva; Cohorts: cyp"
    assert f.to_dict()["on"] == "2027-04-01"
    assert f2.to_dict()["service_types"] == ["idva", "isva"]
    assert f2.to_dict()["tiers"] is None


def test_empty_frame(services):
    assert len(ServiceFilter(tiers={"primary"}).apply(services.iloc[:0])) == 0
