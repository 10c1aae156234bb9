"""Column names of the normalised frames every module exchanges.

Loaders return these shapes; the engine, renderer and exporters trust them
(validate once at the edge).

Areas (GeoDataFrame, EPSG:4326), one row per area:
    area_code, area_name, geometry [, population columns carried in the boundary file]

Population (DataFrame), one row per area:
    area_code, then one float column per denominator (all_persons, females,
    females_16_plus, persons_0_17, and any other numeric column)

Services (GeoDataFrame, EPSG:4326), one row per service; geometry is a Point or None:
    see SERVICE_COLUMNS. List-like fields hold tuples of strings.
"""

from __future__ import annotations

AREA_CODE = "area_code"
AREA_NAME = "area_name"

#: The normalised service columns, in output order.
SERVICE_COLUMNS: tuple[str, ...] = (
    "service_id",  # str, unique
    "name",  # str
    "service_type",  # str, a key of config.service_types
    "provider",  # str ("" if unknown)
    "tiers",  # tuple[str, ...]
    "cohorts",  # tuple[str, ...]
    "abuse_types",  # tuple[str, ...]
    "latitude",  # float, NaN without a location (WGS84)
    "longitude",  # float
    "postcode",  # str, normalised "AB1 2CD" or ""
    "address",  # str ("" if none)
    "location_source",  # "latlon" | "easting_northing" | "postcode" | ""
    "serves",  # tuple[str, ...]: area codes, or ("*",) for every area; () = the area containing the point
    "catchment_km",  # float or NaN
    "capacity",  # float or NaN
    "capacity_unit",  # str
    "specialist_groups",  # tuple[str, ...]: tailored provision for these groups
    "by_and_for",  # tuple[str, ...]: groups whose own organisations run it ("by and for")
    "wheelchair_accessible",  # True / False / None (not stated)
    "accepts_nrpf",  # True / False / None: accepts people with no recourse to public funds
    "accepts_older_sons",  # True / False / None: accepts women with older sons (refuges)
    "accepts_pets",  # True / False / None
    "hours",  # "24_7" | "extended" | "office" | ""
    "funding_end",  # pandas Timestamp or NaT
    "confidential",  # bool
    "intervention",  # str
    "source_row",  # int: the row number in the analyst's file
    "geometry",  # shapely Point or None
)

LIST_COLUMNS: tuple[str, ...] = (
    "tiers",
    "cohorts",
    "abuse_types",
    "serves",
    "specialist_groups",
    "by_and_for",
)

#: Optional eligibility facts: True, False or None when the list does not say.
ELIGIBILITY_COLUMNS: tuple[str, ...] = (
    "wheelchair_accessible",
    "accepts_nrpf",
    "accepts_older_sons",
    "accepts_pets",
)

#: Columns that can reveal where a service is. Blanked for confidential services
#: before anything leaves the engine (maps, tooltips, exports, logs).
#: `catchment_km` is among them: a radius plus per-area figures narrows a location down.
LOCATION_COLUMNS: tuple[str, ...] = (
    "latitude",
    "longitude",
    "postcode",
    "address",
    "geometry",
    "catchment_km",
)

SERVES_EVERYWHERE = "*"
