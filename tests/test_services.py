"""validate_services / validate_service_table on tiny hand-made lists."""

from __future__ import annotations

import math
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gapmap.config import default_config
from gapmap.errors import ValidationReport
from gapmap.schema import SERVICE_COLUMNS
from gapmap.services import parse_date, validate_service_table, validate_services

TODAY = date(2026, 11, 22)
HEADER_LINE = "name,service_type,latitude,longitude"


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    """Two 1-degree squares side by side: Alpha (west of -1) and Beta (east of -1)."""
    return gpd.GeoDataFrame(
        {"area_code": ["E07000001", "E07000002"], "area_name": ["Alpha Vale", "Beta Town"]},
        geometry=[box(-2, 52, -1, 53), box(-1, 52, 0, 53)],
        crs=4326,
    )


@pytest.fixture
def postcodes() -> pd.DataFrame:
    lookup = pd.DataFrame(
        {
            "lat": [52.5, 52.25, float("nan")],
            "long": [-1.5, -0.5, float("nan")],
            "terminated": [False, True, False],
        },
        index=pd.Index(["AB1 2CD", "AB1 9ZZ", "AB2 3EF"], name="postcode"),
    )
    lookup.attrs["file"] = "lookup.csv"
    return lookup


def run(tmp_path, text, *, areas=None, postcodes=None, name="services.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    report = ValidationReport()
    services = validate_services(
        path, config=default_config(), areas=areas, postcodes=postcodes, report=report, today=TODAY
    )
    return services, report


def messages(report, severity="error"):
    problems = report.errors if severity == "error" else report.warnings
    return [(p.row, p.column, p.message) for p in problems]


def test_minimal_list_normalised_with_defaults_from_type(tmp_path, areas):
    text = "Service name,Type,Lat,Long\nAlpha IDVA,idva,52.5,-1.5\nBeta Refuge,Refuge,,\n"
    text = text.replace("Beta Refuge,Refuge,,", "Beta Refuge,Refuge,,")
    text = "Service name,Type,Lat,Long,Serves\nAlpha IDVA,idva,52.5,-1.5,\nBeta Refuge,Refuge,,,Beta Town\n"
    services, report = run(tmp_path, text, areas=areas)
    assert report.ok, report.to_text()
    assert tuple(services.columns) == SERVICE_COLUMNS
    assert services.crs.to_epsg() == 4326
    idva, refuge = services.iloc[0], services.iloc[1]
    assert list(services["service_id"]) == ["S0001", "S0002"]
    assert idva["tiers"] == ("secondary", "tertiary")
    assert idva["cohorts"] == ("victims",)
    assert idva["abuse_types"] == ("da",)
    assert idva["capacity_unit"] == "fte"
    assert idva["location_source"] == "latlon"
    assert (idva.geometry.x, idva.geometry.y) == (-1.5, 52.5)
    assert idva["serves"] == ()
    assert not idva["confidential"]
    assert idva["source_row"] == 2
    # refuge: type matched by label, confidential by default, no location, serves by name
    assert refuge["service_type"] == "refuge"
    assert refuge["confidential"]
    assert refuge.geometry is None
    assert math.isnan(refuge["latitude"])
    assert refuge["location_source"] == ""
    assert refuge["serves"] == ("E07000002",)
    assert refuge["capacity_unit"] == "family_spaces"
    assert pd.isna(refuge["funding_end"])
    assert refuge["source_row"] == 3


@pytest.mark.parametrize(
    "header",
    [
        "Service name,Type,Lat,Lng",
        "SERVICE,service type,latitude,LONGITUDE",
        "Name ,Service-Type ,Lat ,Lon ",
        "name,service_type,Latitude,Longitude",
        "Name of service,Type of service,Latitude (WGS84),Longitude (WGS84)",
    ],
)
def test_header_aliases_and_case(tmp_path, header):
    services, report = run(tmp_path, f"{header}\nX,helpline,52.5,-1.5\n")
    assert report.errors == []
    assert services["name"].tolist() == ["X"]
    assert services["longitude"].tolist() == [-1.5]


def test_explicit_lists_accept_commas_labels_and_dedupe(tmp_path):
    text = (
        "name,service_type,tiers,cohorts,abuse_types,specialist_groups,latitude,longitude\n"
        'X,outreach,"Primary, secondary",victims;CYP;victims,da+sv,BME;lgbtq,52.5,-1.5\n'
    )
    services, report = run(tmp_path, text)
    assert report.ok, report.to_text()
    row = services.iloc[0]
    assert row["tiers"] == ("primary", "secondary")
    assert row["cohorts"] == ("victims", "cyp")
    assert row["abuse_types"] == ("da", "sv")
    assert row["specialist_groups"] == ("bme", "lgbtq")


def test_unknown_tier_and_cohort_errors_name_row_column_and_allowed_values(tmp_path):
    text = (
        "name,service_type,tiers,cohorts,latitude,longitude\nX,outreach,primry;quaternary,victim,52.5,-1.5\n"
    )
    services, report = run(tmp_path, text)
    assert services is None
    errs = messages(report)
    assert any(
        r == 2 and c == "tiers" and "`primry`" in m and "did you mean `primary`" in m for r, c, m in errs
    )
    assert any(
        r == 2 and c == "tiers" and "`quaternary`" in m and "primary, secondary, tertiary" in m
        for r, c, m in errs
    )
    assert any(r == 2 and c == "cohorts" and "did you mean `victims`" in m for r, c, m in errs)


def test_list_cells_repeated_over_rows_each_get_their_errors_and_defaults(tmp_path):
    # Lists are parsed once per distinct cell: every row with an unknown token still gets its
    # own error (in row order), a blank cell its own type's default, a filled one its own list.
    text = (
        "name,service_type,tiers,latitude,longitude\n"
        "A,outreach,primry,52.5,-1.5\n"
        "B,idva,,52.5,-1.5\n"
        "C,outreach,primry,52.5,-1.5\n"
        "D,outreach,,52.5,-1.5\n"
        "E,idva,tertiary,52.5,-1.5\n"
    )
    services, report = run(tmp_path, text)
    assert services is None
    tier_errors = [(r, c) for r, c, m in messages(report) if c == "tiers" and "`primry`" in m]
    assert tier_errors == [(2, "tiers"), (4, "tiers")]
    good = text.replace("primry", "primary")
    services, report = run(tmp_path, good)
    assert report.ok, report.to_text()
    config = default_config()
    assert services["tiers"].tolist() == [
        ("primary",),
        tuple(config.service_types["idva"].tiers),
        ("primary",),
        tuple(config.service_types["outreach"].tiers),
        ("tertiary",),
    ]


def test_unknown_service_type_suggests_nearest(tmp_path):
    services, report = run(tmp_path, f"{HEADER_LINE}\nX,idvaa,52.5,-1.5\n")
    assert services is None
    (problem,) = report.errors
    assert (problem.row, problem.column) == (2, "service_type")
    # An unknown type may be a refuge's row: the value is not quoted, the suggestion is.
    assert "`idvaa`" not in problem.message and "did you mean `idva`" in problem.message
    assert "value not shown: this row may be confidential" in problem.message
    assert "refuge" in problem.message  # the full list, so the analyst can pick


def test_blank_name_and_type_are_errors(tmp_path):
    services, report = run(tmp_path, f"{HEADER_LINE}\n,idva,52.5,-1.5\nX,,52.5,-1.5\n")
    assert services is None
    assert {(p.row, p.column) for p in report.errors} == {(2, "name"), (3, "service_type")}


def test_service_ids_given_generated_and_duplicates(tmp_path):
    text = (
        "id,name,service_type,latitude,longitude\n"
        "A1,X,idva,52.5,-1.5\n,Y,idva,52.5,-1.5\nS0001,Z,idva,52.5,-1.5\n"
    )
    services, report = run(tmp_path, text)
    assert report.ok
    # the blank id is generated without colliding with the given S0001
    assert services["service_id"].tolist() == ["A1", "S0002", "S0001"]

    text = "service_id,name,service_type,latitude,longitude\nA1,X,idva,52.5,-1.5\nA1,Y,idva,52.5,-1.5\n"
    services, report = run(tmp_path, text)
    assert services is None
    (problem,) = report.errors
    assert problem.row == 3 and "row 2" in problem.message and "`A1`" in problem.message


def test_empty_rows_are_skipped_and_rows_keep_their_numbers(tmp_path):
    services, report = run(tmp_path, f"{HEADER_LINE}\n,,,\nX,idva,52.5,-1.5\n\n,,,\nY,marac,52.5,-1.5\n")
    assert report.ok
    assert services["source_row"].tolist() == [3, 6]


def test_serves_codes_names_star_and_unknown(tmp_path, areas):
    text = (
        "name,service_type,serves\n"
        "A,helpline,*\n"
        "B,helpline,e07000001; beta town\n"
        'C,helpline,"Alpha Vale, Beta Town"\n'
        "D,helpline,Gamma City\n"
    )
    services, report = run(tmp_path, text, areas=areas)
    assert services is None
    (problem,) = report.errors
    assert (problem.row, problem.column) == (5, "serves")
    assert "`Gamma City`" in problem.message
    services, report = run(
        tmp_path, text.replace("D,helpline,Gamma City\n", "D,helpline,Beta Twn\n"), areas=areas
    )
    assert "did you mean `Beta Town`" in report.errors[0].message
    services, report = run(tmp_path, text.replace("D,helpline,Gamma City\n", ""), areas=areas)
    assert report.ok
    assert services["serves"].tolist() == [("*",), ("E07000001", "E07000002"), ("E07000001", "E07000002")]


def test_serves_without_areas_is_kept_as_text(tmp_path):
    services, report = run(tmp_path, "name,service_type,serves\nA,helpline,e07000001;Somewhere\n")
    assert report.ok
    assert services["serves"].tolist() == [("E07000001", "Somewhere")]


def test_no_location_and_no_serves_is_an_error(tmp_path):
    services, report = run(tmp_path, "name,service_type,serves\nSafe House,refuge,\n")
    assert services is None
    (problem,) = report.errors
    assert problem.row == 2
    assert "refuges usually have no published location: give `serves`" in problem.message


def test_point_outside_every_area_is_a_warning(tmp_path, areas):
    services, report = run(tmp_path, f"{HEADER_LINE}\nX,idva,51.5,-1.5\nY,idva,52.5,-0.5\n", areas=areas)
    assert report.ok
    (warning,) = report.warnings
    assert warning.row == 2 and "outside every area" in warning.message
    assert len(services) == 2


def test_partial_and_out_of_range_coordinates(tmp_path):
    text = f"{HEADER_LINE}\nA,idva,52.5,\nB,idva,,-1.5\nC,idva,95,-1.5\nD,idva,52.5,200\nE,idva,abc,-1.5\n"
    services, report = run(tmp_path, text)
    assert services is None
    errs = messages(report)
    assert any(r == 2 and c == "longitude" and "give both" in m for r, c, m in errs)
    assert any(r == 3 and c == "latitude" and "give both" in m for r, c, m in errs)
    assert any(r == 4 and c == "latitude" and "out of range" in m for r, c, m in errs)
    assert any(r == 5 and c == "longitude" and "out of range" in m for r, c, m in errs)
    assert any(r == 6 and c == "latitude" and "not a number" in m for r, c, m in errs)
    # one error per bad row: no extra "no location and no serves" on top
    assert len(errs) == 5


def test_swapped_lat_lon_is_fixed_with_a_warning(tmp_path):
    services, report = run(tmp_path, f"{HEADER_LINE}\nX,idva,-1.5,52.5\n")
    assert report.ok
    (warning,) = report.warnings
    assert "swapped" in warning.message and warning.row == 2
    assert (services.iloc[0]["latitude"], services.iloc[0]["longitude"]) == (52.5, -1.5)


def test_outside_great_britain_is_a_warning(tmp_path):
    _, report = run(tmp_path, f"{HEADER_LINE}\nParis,idva,48.85,2.35\n")
    assert report.ok
    (warning,) = report.warnings
    assert "outside Great Britain" in warning.message


def test_easting_northing_converted_from_bng(tmp_path):
    # OS worked example (A guide to coordinate systems in Great Britain, annex C): E 651409.903,
    # N 313177.270 is OSGB36 52°39'27.2531"N 1°43'4.5177"E; WGS84 differs from OSGB36 by well
    # under 0.003 degrees here.
    services, report = run(tmp_path, "name,service_type,Easting,Northing\nX,idva,651409.903,313177.270\n")
    assert report.ok, report.to_text()
    row = services.iloc[0]
    assert row["location_source"] == "easting_northing"
    assert row["latitude"] == pytest.approx(52 + 39 / 60 + 27.2531 / 3600, abs=0.003)
    assert row["longitude"] == pytest.approx(1 + 43 / 60 + 4.5177 / 3600, abs=0.003)


def test_bng_out_of_range_and_partial(tmp_path):
    text = "name,service_type,easting,northing\nA,idva,800000,100000\nB,idva,450000,\n"
    services, report = run(tmp_path, text)
    assert services is None
    errs = messages(report)
    assert any(r == 2 and "outside British National Grid" in m for r, c, m in errs)
    assert any(r == 3 and c == "northing" for r, c, m in errs)


def test_lat_lon_takes_precedence_over_postcode(tmp_path, postcodes):
    text = "name,service_type,latitude,longitude,postcode\nX,idva,52.9,-1.9,ab12cd\n"
    services, report = run(tmp_path, text, postcodes=postcodes)
    assert report.ok
    row = services.iloc[0]
    assert row["location_source"] == "latlon" and row["postcode"] == "AB1 2CD"
    assert row["latitude"] == 52.9


def test_postcode_lookup_known_terminated_unknown_and_malformed(tmp_path, postcodes):
    text = (
        "name,service_type,postcode,serves\n"
        "Known,idva,ab1  2cd,\n"
        "Old,idva,AB1 9ZZ,\n"
        "Unknown,idva,ZZ1 1ZZ,E07000001\n"
        "Nogrid,idva,AB2 3EF,E07000001\n"
        "Bad,idva,not a postcode,E07000001\n"
    )
    services, report = run(tmp_path, text, postcodes=postcodes)
    assert report.ok, report.to_text()
    by_name = services.set_index("name")
    assert by_name.loc["Known", "latitude"] == 52.5 and by_name.loc["Known", "location_source"] == "postcode"
    assert by_name.loc["Old", "latitude"] == 52.25  # terminated: still located
    assert by_name.loc["Unknown"].geometry is None
    warns = messages(report, "warning")
    assert any(r == 3 and "terminated" in m for r, c, m in warns)
    assert any(r == 4 and "not in the postcode lookup `lookup.csv`" in m for r, c, m in warns)
    assert any(r == 5 and "no grid reference" in m for r, c, m in warns)
    assert any(r == 6 and "not a UK postcode" in m for r, c, m in warns)
    assert all(c == "postcode" for r, c, m in warns)


def test_postcode_only_without_lookup_warns_once(tmp_path):
    _, report = run(tmp_path, "name,service_type,postcode,serves\nA,idva,AB1 2CD,*\nB,idva,AB1 2CD,*\n")
    assert report.ok
    (warning,) = report.warnings
    assert "rows 2, 3" in warning.message and "--postcodes" in warning.message


def test_numbers(tmp_path):
    text = (
        "name,service_type,capacity,catchment_km,latitude,longitude\n"
        'A,idva,"1,200",12.5,52.5,-1.5\n'
        "B,idva,lots,0,52.5,-1.5\n"
        "C,idva,-2,-1,52.5,-1.5\n"
        "D,idva,0,,52.5,-1.5\n"
    )
    services, report = run(tmp_path, text)
    assert services is None
    errs = messages(report)
    assert any(r == 3 and c == "capacity" and "`lots`" in m and "not a number" in m for r, c, m in errs)
    assert any(r == 3 and c == "catchment_km" and "greater than zero" in m for r, c, m in errs)
    assert any(r == 4 and c == "capacity" and "zero or more" in m for r, c, m in errs)
    assert any(r == 4 and c == "catchment_km" for r, c, m in errs)
    assert len(errs) == 4  # rows 2 and 5 are fine
    services, report = run(tmp_path, text.replace("B,idva,lots,0,52.5,-1.5\nC,idva,-2,-1,52.5,-1.5\n", ""))
    assert services["capacity"].tolist() == [1200.0, 0.0]
    assert services["catchment_km"].iloc[0] == 12.5 and math.isnan(services["catchment_km"].iloc[1])


def test_capacity_unit_and_hours(tmp_path):
    text = (
        "name,service_type,capacity_unit,hours,latitude,longitude\n"
        "A,idva,FTE,24/7,52.5,-1.5\n"
        "B,idva,,Office hours,52.5,-1.5\n"
        "C,idva,beds,weekends,52.5,-1.5\n"
    )
    services, report = run(tmp_path, text)
    assert services is None
    errs = messages(report)
    assert any(r == 4 and c == "capacity_unit" and "`beds`" in m for r, c, m in errs)
    assert any(r == 4 and c == "hours" and "24_7, extended, office" in m for r, c, m in errs)
    services, report = run(tmp_path, text.replace("C,idva,beds,weekends,52.5,-1.5\n", ""))
    assert services["capacity_unit"].tolist() == ["fte", "fte"]
    assert services["hours"].tolist() == ["24_7", "office"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-31", "2027-03-31"),
        ("31/03/2027", "2027-03-31"),
        ("1/4/2027", "2027-04-01"),
        ("2027-03-31 00:00:00", "2027-03-31"),
        ("46477", "2027-03-31"),  # an Excel date cell handed over as its serial number
    ],
)
def test_parse_date_accepts_iso_uk_and_excel(text, expected):
    stamp, reason = parse_date(text)
    assert reason == "" and stamp == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["31/02/2026", "03/31/2027", "next year", "2027-13-01", "123"])
def test_parse_date_rejects(text):
    stamp, reason = parse_date(text)
    assert stamp is None and reason


def test_funding_end_errors_and_past_warning(tmp_path):
    text = (
        f"{HEADER_LINE},funding_end\n"
        "A,idva,52.5,-1.5,31/02/2026\nB,idva,52.5,-1.5,2026-03-31\nC,idva,52.5,-1.5,\n"
    )
    services, report = run(tmp_path, text)
    assert services is None
    (error,) = report.errors
    assert (error.row, error.column) == (2, "funding_end")
    assert "`31/02/2026`" in error.message and "YYYY-MM-DD" in error.message
    (warning,) = report.warnings
    assert warning.row == 3 and "31 March 2026" in warning.message and "22 November 2026" in warning.message


def test_confidential_flag_parsing_and_refuge_override_warning(tmp_path):
    text = (
        "name,service_type,confidential,serves\n"
        "A,idva,yes,*\nB,idva,0,*\nC,refuge,,*\nD,refuge,false,*\nE,idva,,*\n"
    )
    services, report = run(tmp_path, text)
    assert report.ok
    assert services["confidential"].tolist() == [True, False, True, False, False]
    (warning,) = report.warnings
    assert warning.row == 5 and "refuge addresses are usually secret" in warning.message
    services, report = run(tmp_path, "name,service_type,confidential,serves\nA,idva,maybe,*\n")
    # An unreadable flag may hide a refuge: the value is not quoted back.
    assert "`maybe`" not in report.errors[0].message and report.errors[0].column == "confidential"
    assert "cannot be read (value not shown: this row may be confidential)" in report.errors[0].message


def test_confidential_locations_never_appear_in_messages(tmp_path, postcodes, areas):
    text = (
        "name,service_type,latitude,longitude,easting,northing,postcode,address,confidential\n"
        "Safe House One,refuge,95.123,-1.777,,,,1 Secret Street,\n"
        "Safe House Two,refuge,-1.234,52.789,,,,2 Secret Street,\n"
        "Safe House Three,refuge,,,999999,123456,,3 Secret Street,\n"
        "Safe House Four,refuge,,,,,ZZ9 8YX,4 Secret Street,\n"
        "Safe House Five,refuge,,,,,AB1 9ZZ,5 Secret Street,\n"
        "Safe House Six,idva,48.111,2.333,,,,6 Secret Street,yes\n"
        "Safe House Seven,refuge,52.5,,,,not-a-pc,,maybe\n"
    )
    _, report = run(tmp_path, text, postcodes=postcodes, areas=areas)
    assert len(report.problems) >= 7
    secrets = [
        "95.123",
        "1.777",
        "1.234",
        "52.789",
        "999999",
        "123456",
        "ZZ9",
        "AB1",
        "Secret",
        "48.111",
        "2.333",
    ]
    secrets += ["52.5", "not-a-pc"]
    for problem in report.problems:
        for secret in secrets:
            assert secret not in problem.message, (secret, str(problem))
    assert any("value not shown: this row may be confidential" in p.message for p in report.problems)


def test_html_in_names_passes_through_unchanged(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    text = f'name,service_type,provider,intervention,lat,lon\n"{evil}",idva,"{evil}","{evil}",52,-1\n'
    services, report = run(tmp_path, text)
    assert report.ok
    row = services.iloc[0]
    assert row["name"] == evil and row["provider"] == evil and row["intervention"] == evil


def test_duplicate_meaning_columns_and_typo_headers(tmp_path):
    services, report = run(tmp_path, "name,service_type,lat,latitude,longitude\nX,idva,52.5,52.5,-1.5\n")
    assert services is None
    assert "`lat` and `latitude` both mean `latitude`" in report.errors[0].message
    services, report = run(tmp_path, "name,service_type,lattitude,longitude\nX,idva,52.5,-1.5\n")
    assert any(
        "`lattitude` is not recognised" in w.message and "`latitude`" in w.message for w in report.warnings
    )


def test_missing_required_column_says_what_was_found(tmp_path):
    services, report = run(tmp_path, "name,kind,latitude,longitude\nX,idva,52.5,-1.5\n")
    assert services is None
    (problem,) = report.errors
    assert "`service_type` is missing" in problem.message and "`kind`" in problem.message


def test_pure_table_function_with_row_column():
    table = pd.DataFrame(
        {"Name": ["A", "B"], "Type": ["idva", "marac"], "Serves": ["*", "*"], "__row__": [5, 9]}, dtype=object
    )
    report = ValidationReport()
    services = validate_service_table(
        table, file="sheet.xlsx", config=default_config(), report=report, today=TODAY
    )
    assert report.ok
    assert services["source_row"].tolist() == [5, 9]


def test_upload_bytes(tmp_path):
    report = ValidationReport()
    content = f"{HEADER_LINE}\nX,idva,52.5,-1.5\n".encode()
    services = validate_services(
        None, config=default_config(), report=report, content=content, name="upload.csv", today=TODAY
    )
    assert report.ok and len(services) == 1


def test_ten_thousand_rows_validate(tmp_path, areas, postcodes):
    """Not timed (see benchmarks/): the vectorised path gives the same answers at scale."""
    lines = [HEADER_LINE + ",postcode,serves,capacity,funding_end,tiers"]
    for i in range(10_000):
        if i % 2:
            lines.append(f"S{i},idva,52.{i % 9 + 1},-1.{i % 7 + 1},,,{i % 5},2027-03-31,primary;secondary")
        else:
            lines.append(f"S{i},refuge,,,AB1 2CD,E07000001,3,31/03/2027,")
    services, report = run(tmp_path, "\n".join(lines) + "\n", areas=areas, postcodes=postcodes)
    assert report.ok, report.to_text()[:500]
    assert len(services) == 10_000
    assert services["location_source"].value_counts().to_dict() == {"latlon": 5000, "postcode": 5000}
    assert services["capacity"].sum() == sum(i % 5 for i in range(1, 10_000, 2)) + 3 * 5000


# ---- property: a confidential service's location never reaches a message

_coordinate = st.floats(min_value=-400, max_value=1_500_000, allow_nan=False, allow_infinity=False).map(
    lambda x: f"{x:.4f}"
)
_postcode = st.from_regex(r"[A-Z]{2}[0-9] [0-9][A-Z]{2}", fullmatch=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lat=st.one_of(st.just(""), _coordinate),
    lon=st.one_of(st.just(""), _coordinate),
    east=st.one_of(st.just(""), _coordinate),
    north=st.one_of(st.just(""), _coordinate),
    postcode=st.one_of(st.just(""), _postcode),
    flag=st.sampled_from(["", "yes", "true", "1", "perhaps"]),
)
def test_confidential_location_never_in_any_message(areas, postcodes, lat, lon, east, north, postcode, flag):
    table = pd.DataFrame(
        {
            "name": ["Safe House"],
            "service_type": ["refuge"],
            "latitude": [lat],
            "longitude": [lon],
            "easting": [east],
            "northing": [north],
            "postcode": [postcode],
            "address": ["1 Hidden Lane"],
            "confidential": [flag],
            "__row__": [2],
        },
        dtype=object,
    )
    report = ValidationReport()
    validate_service_table(
        table,
        file="s.csv",
        config=default_config(),
        areas=areas,
        postcodes=postcodes,
        report=report,
        today=TODAY,
    )
    secrets = [v for v in (lat, lon, east, north, postcode, "Hidden Lane") if v]
    # also the short form messages use for numbers (long enough not to match ordinary text)
    secrets += [f"{float(v):g}" for v in (lat, lon, east, north) if v and len(f"{float(v):g}") >= 4]
    for problem in report.problems:
        for secret in secrets:
            assert secret not in problem.message, (secret, str(problem))


@pytest.mark.shared_data
def test_serves_and_points_against_real_lad24_boundaries(shared_data, tmp_path):
    from gapmap.boundaries import load_boundaries

    areas = load_boundaries(shared_data / "boundaries" / "england_lad_2024_buc.geojson")
    text = (
        "name,service_type,latitude,longitude,serves\n"
        "Clock Tower IDVA,idva,52.6357,-1.1339,\n"  # Leicester city centre
        'LLR Helpline,helpline,,,"leicester; Rutland; Blaby"\n'
        'Bristol Refuge,refuge,,,"Bristol, City of"\n'
        "Lancs MARAC,marac,,,E07000117\n"  # Burnley
    )
    services, report = run(tmp_path, text, areas=areas)
    assert report.ok, report.to_text()
    assert services["serves"].tolist() == [
        (),
        ("E06000016", "E06000017", "E07000129"),
        ("E06000023",),
        ("E07000117",),
    ]
    assert report.warnings == []  # the Leicester point lies inside an area


def test_reader_messages_about_a_refuge_row_do_not_quote_its_values(tmp_path):
    text = (
        "name,service_type,serves,address\n"
        "Safe House,refuge,*,1 Hidden Lane,LE1 5WW,52.63\n"
        "Open IDVA,idva,*,2 Open Road,overflow\n"
    )
    _, report = run(tmp_path, text)
    by_row = {p.row: p.message for p in report.errors}
    assert "LE1 5WW" not in by_row[2] and "52.63" not in by_row[2] and "value not shown" in by_row[2]
    assert "'overflow'" in by_row[3]  # not confidential: the analyst sees what was dropped
