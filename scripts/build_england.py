"""Regenerate England's built-in geography (`gapmap/data/england/`) from ../shared/data.

    .venv/bin/python scripts/build_england.py [--source ../shared/data] [--out gapmap/data/england]

What it writes (see the README.md it also writes):

- ``england.gpkg``: four layers, ``district`` (LAD May 2024 BUC), ``tier1``, ``pfa`` and
  ``region``, each ``code``, ``name`` and a polygon in EPSG:4326. The three upper layers are
  dissolved from the districts, so every roll-up is exact and the borders agree.
- ``districts.csv``: one row per district with its tier-one authority, upper-tier LA (ONS),
  region and police force area, codes and names.
- ``district_csp.csv``: district -> community safety partnership -> police force area (a few
  districts have several CSPs).
- ``population.csv``: denominators per district; ``population_columns.csv`` labels each column
  with its vintage, status, source and the gapmap denominator it feeds.
- ``small_areas.csv.gz``: England's LSOAs 2021, one row each: code, name, district (LAD24, from
  the ONS best-fit lookup), geometric centroid in British National Grid metres and Census 2021
  usual residents (small-area access, `gapmap.access`). Gzipped CSV, about 0.5 MB: columnar
  formats would need pyarrow, which gapmap does not otherwise depend on.

The build is deterministic: coordinates are snapped to 1e-6 degrees (about 0.1 m) before the
dissolve, rows are sorted by code, and nothing depends on the clock.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

# The built-in small areas' file name and columns: one definition, the reader's.
from gapmap.access import BUILT_IN_FILE as SMALL_AREAS_FILE

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "gapmap" / "data" / "england"

#: In London the tier-one authority for Part 4 of the Domestic Abuse Act 2021 is the Greater
#: London Authority, the boroughs (and the City) being tier two.
GLA_CODE = "E61000001"
GLA_NAME = "Greater London Authority"
LONDON_REGION = "E12000007"

#: Snap grid in degrees: shared borders become identical before the dissolve.
GRID = 1e-6

#: Input files, relative to the source folder; their commits are in SOURCES.md.
INPUTS = {
    "districts": "boundaries/england_lad_2024_buc.geojson",
    "utla": "lookups/lad23_utla23_ew.csv",
    "region": "lookups/lad24_region24_england.csv",
    "csp": "lookups/lad24_csp24_pfa24_ew.csv",
    "population": "population/la_denominators_lad24_england.csv",
    "lsoa_centroids": "lsoa/lsoa21_centroids_england.csv",
    "lsoa_population": "population/lsoa21_usual_residents_census2021_england.csv",
    "lsoa_lookup": "lookups/lsoa21_ward24_lad24_ew.csv",
}

#: population.csv columns: (column, source column or formula, vintage, status, gapmap denominator).
POPULATION_COLUMNS: tuple[tuple[str, str, str, str, str], ...] = (
    ("census21_persons", "census21_persons", "Census 2021", "official", "all_persons"),
    ("census21_females", "census21_females", "Census 2021", "official", "females"),
    ("census21_males", "census21_males", "Census 2021", "official", ""),
    ("census21_females_16_64", "census21_females_16_64", "Census 2021", "official", ""),
    ("census21_females_65_74", "census21_females_65_74", "Census 2021", "official", ""),
    (
        "census21_females_16plus_lower_bound",
        "census21_females_16plus_lower_bound",
        "Census 2021",
        "exact lower bound",
        "",
    ),
    (
        "census21_females_16plus_est",
        "census21_females_16plus_est",
        "Census 2021 + mid-2020 under-1s",
        "estimate (about ±0.1%)",
        "females_16_plus",
    ),
    (
        "census21_females_18plus_est",
        "census21_females_18plus_est",
        "Census 2021 + mid-2020 ages 16-17",
        "estimate",
        "",
    ),
    ("mye2023_persons", "mye2023_persons", "mid-2023 estimate", "official", ""),
    ("mye2020_persons", "mye2020_persons", "mid-2020 estimate", "official", ""),
    ("mye2020_persons_16plus", "mye2020_persons_16plus", "mid-2020 estimate", "official", ""),
    ("mye2020_persons_18plus", "mye2020_persons_18plus", "mid-2020 estimate", "official", ""),
    (
        "mye2020_persons_0_17",
        "mye2020_persons - mye2020_persons_18plus",
        "mid-2020 estimate",
        "official (difference of two official figures)",
        "persons_0_17",
    ),
)


def _read_csv(source: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(source / INPUTS[key], dtype=str, keep_default_na=False)


def _snap(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    snapped = shapely.make_valid(shapely.set_precision(geoms.values, GRID))
    # make_valid may leave line fragments on a collapsed sliver: keep the polygons only.
    polys = [
        g
        if g.geom_type in ("Polygon", "MultiPolygon")
        else shapely.union_all(
            [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
        )
        for g in snapped
    ]
    return gpd.GeoSeries(polys, crs=geoms.crs, index=geoms.index)


def build_tables(source: Path) -> dict[str, pd.DataFrame]:
    """Every output as a frame (geometries as GeoDataFrames); nothing is written."""
    raw = gpd.read_file(source / INPUTS["districts"], engine="pyogrio")
    raw = raw.to_crs(4326) if raw.crs is not None and raw.crs.to_epsg() != 4326 else raw.set_crs(4326)
    districts = gpd.GeoDataFrame(
        {"code": raw["LAD24CD"].astype(str), "name": raw["LAD24NM"].astype(str)},
        geometry=_snap(raw.geometry),
        crs=4326,
    )
    districts = districts.sort_values("code").reset_index(drop=True)
    codes = set(districts["code"])
    if len(codes) != len(districts) or not all(c.startswith("E") for c in codes):
        raise ValueError("district codes must be unique English LAD24 codes")

    utla = _read_csv(source, "utla").rename(
        columns={"ltla23_code": "code", "utla23_code": "utla_code", "utla23_name": "utla_name"}
    )
    region = _read_csv(source, "region").rename(
        columns={"ltla24_code": "code", "region24_code": "region_code", "region24_name": "region_name"}
    )
    csp = _read_csv(source, "csp")
    csp = csp[csp["ltla24_code"].isin(codes)].rename(
        columns={
            "ltla24_code": "district_code",
            "ltla24_name": "district_name",
            "csp24_code": "csp_code",
            "csp24_name": "csp_name",
            "pfa24_code": "pfa_code",
            "pfa24_name": "pfa_name",
        }
    )
    csp = csp.sort_values(["district_code", "csp_code"]).reset_index(drop=True)
    pfa = csp.groupby("district_code", sort=True)[["pfa_code", "pfa_name"]].agg(set)
    if (pfa["pfa_code"].map(len) != 1).any():
        raise ValueError("a district lies in more than one police force area")
    pfa = pfa.apply(lambda col: col.map(lambda s: next(iter(s)))).rename_axis("code").reset_index()

    lookup = (
        districts[["code", "name"]]
        .merge(utla[["code", "utla_code", "utla_name"]], on="code", how="left", validate="1:1")
        .merge(region[["code", "region_code", "region_name"]], on="code", how="left", validate="1:1")
        .merge(pfa, on="code", how="left", validate="1:1")
    )
    if lookup.isna().any().any() or (lookup == "").any().any():
        missing = lookup[lookup.isna().any(axis=1) | (lookup == "").any(axis=1)]["code"].tolist()
        raise ValueError(f"districts without a parent in the lookups: {missing}")
    london = lookup["region_code"] == LONDON_REGION
    lookup["tier1_code"] = lookup["utla_code"].where(~london, GLA_CODE)
    lookup["tier1_name"] = lookup["utla_name"].where(~london, GLA_NAME)
    lookup = lookup.rename(columns={"code": "district_code", "name": "district_name"})
    lookup = lookup[
        [
            "district_code",
            "district_name",
            "tier1_code",
            "tier1_name",
            "utla_code",
            "utla_name",
            "region_code",
            "region_name",
            "pfa_code",
            "pfa_name",
        ]
    ]

    pop_raw = _read_csv(source, "population").set_index("lad24cd")
    if set(pop_raw.index) != codes:
        raise ValueError("the population table and the boundaries have different district codes")
    pop_raw = pop_raw.loc[districts["code"]]
    # The derived table repeats the parents: they must agree with the lookups used here.
    for ours, theirs in (
        ("utla_code", "utla23_code"),
        ("region_code", "region24_code"),
        ("pfa_code", "pfa24_code"),
    ):
        if (lookup[ours].to_numpy() != pop_raw[theirs].to_numpy()).any():
            raise ValueError(f"{INPUTS['population']} disagrees with the lookups on {theirs}")
    population = pd.DataFrame(
        {"district_code": districts["code"].to_numpy(), "district_name": districts["name"].to_numpy()}
    )
    for column, formula, *_ in POPULATION_COLUMNS:
        if " - " in formula:
            a, b = formula.split(" - ")
            population[column] = pop_raw[a].astype(int).to_numpy() - pop_raw[b].astype(int).to_numpy()
        else:
            population[column] = pop_raw[formula].astype(int).to_numpy()
    columns = pd.DataFrame(
        POPULATION_COLUMNS, columns=["column", "derived_from", "vintage", "status", "gapmap_denominator"]
    )

    tables: dict[str, pd.DataFrame] = {
        "district": districts,
        "districts.csv": lookup,
        "district_csp.csv": csp[
            ["district_code", "district_name", "csp_code", "csp_name", "pfa_code", "pfa_name"]
        ],
        "population.csv": population,
        "population_columns.csv": columns,
    }
    for level in ("tier1", "pfa", "region"):
        parents = lookup[["district_code", f"{level}_code", f"{level}_name"]]
        frame = districts.merge(parents, left_on="code", right_on="district_code")
        dissolved = frame.dissolve(by=[f"{level}_code", f"{level}_name"], as_index=False)
        out = gpd.GeoDataFrame(
            {"code": dissolved[f"{level}_code"], "name": dissolved[f"{level}_name"]},
            geometry=dissolved.geometry.values,
            crs=4326,
        )
        tables[level] = out.sort_values("code").reset_index(drop=True)
    return tables


def build_small_areas(source: Path, district_codes: set[str]) -> pd.DataFrame:
    """England's LSOAs 2021: centroid (BNG metres), Census 2021 usual residents, district.

    The district comes from the ONS LSOA21 -> LAD24 best-fit lookup; the centroid file's own
    district column must agree with it, and every LSOA must have a population.
    """
    cent = _read_csv(source, "lsoa_centroids")
    pop = _read_csv(source, "lsoa_population")
    look = _read_csv(source, "lsoa_lookup")
    look = look[look["lsoa21_code"].str.startswith("E")]
    frame = cent.merge(pop[["lsoa21_code", "census21_usual_residents"]], on="lsoa21_code", how="left")
    frame = frame.merge(
        look[["lsoa21_code", "ltla24_code"]].rename(columns={"ltla24_code": "lookup_lad"}),
        on="lsoa21_code",
        how="left",
        validate="1:1",
    )
    if frame["lsoa21_code"].duplicated().any() or len(frame) != len(cent):
        raise ValueError("LSOA codes must be unique in the centroid file")
    if (frame["census21_usual_residents"].fillna("") == "").any():
        raise ValueError(f"LSOAs without a population in {INPUTS['lsoa_population']}")
    if (frame["lookup_lad"] != frame["ltla24_code"]).any():
        raise ValueError(f"{INPUTS['lsoa_centroids']} and {INPUTS['lsoa_lookup']} disagree on districts")
    if not set(frame["lookup_lad"]) <= district_codes:
        raise ValueError("LSOAs in districts that are not England's 296")
    out = pd.DataFrame(
        {
            "small_area_code": frame["lsoa21_code"],
            "small_area_name": frame["lsoa21_name"],
            "district_code": frame["lookup_lad"],
            "easting": frame["bng_easting"].astype(int),
            "northing": frame["bng_northing"].astype(int),
            "population": frame["census21_usual_residents"].astype(int),
        }
    )
    return out.sort_values("small_area_code").reset_index(drop=True)


def small_areas_bytes(frame: pd.DataFrame) -> bytes:
    """The gzipped CSV, byte for byte reproducible (no file name or time in the header)."""
    import gzip
    import io

    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return buf.getvalue()


def build(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> list[Path]:
    """Write the built-in geography into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    tables = build_tables(source)
    gpkg = out / "england.gpkg"
    tmp = out / "england.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    for layer in ("district", "tier1", "pfa", "region"):
        # No spatial index: 470 polygons need none, and it would double the file.
        tables[layer].to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="NO")
    tmp.replace(gpkg)
    written = [gpkg]
    for name, frame in tables.items():
        if name.endswith(".csv"):
            path = out / name
            path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
            written.append(path)
    small = out / SMALL_AREAS_FILE
    small.write_bytes(small_areas_bytes(build_small_areas(source, set(tables["district"]["code"]))))
    written.append(small)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"error: {args.source} is not a folder (expected ../shared/data)", file=sys.stderr)
        return 2
    for path in build(args.source, args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
