"""One validated bundle of inputs: areas, population, services and the vocabulary.

`validate_dataset` reads every input, collects every problem into one report and never
raises for a user mistake; `load_dataset` is the same but raises `GapmapInputError` when
there are errors; `load_demo` loads the fictional demo county shipped under data/.

Inputs left as None fall back to the demo files (settings.DEMO_*), with two exceptions that
avoid checking a real service list against the fictional county:

* a service list given without boundaries is checked against England built in
  (`gapmap.geography`: 2024 districts, with `serves` able to name a tier-one authority,
  police force area or region, and the shipped population unless `population` is given).
  To check a list against the demo county, pass ``boundaries=settings.DEMO_BOUNDARIES``
  explicitly.
* boundaries given without a service list is an error (the demo services belong to the demo
  county only).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gapmap import settings
from gapmap.config import Config, default_config, load_config
from gapmap.errors import ConfigError, GapmapInputError, ValidationReport
from gapmap.schema import AREA_CODE, AREA_NAME, SERVICE_COLUMNS

PathLike = Path | str


@dataclass
class Dataset:
    """Everything an analysis needs, validated once at the edge.

    Attributes
    ----------
    areas
        `area_code`, `area_name`, geometry (EPSG:4326) [+ numeric columns from the file].
    population
        `area_code` + one float column per denominator.
    services
        Normalised services (`gapmap.schema.SERVICE_COLUMNS`).
    config
        Vocabulary and benchmark profiles.
    report
        The warnings that remained (a valid dataset has no errors).
    sources
        Role ("boundaries", "population", "services", "postcodes", "benchmarks") ->
        "file name (sha256[:12])", for the "where this came from" line of every output.
    is_demo
        True when the areas are the fictional demo county's, i.e. the demo boundary file
        (`settings.DEMO_BOUNDARIES`, or a byte-identical copy) is the one in use, whatever the
        service list. The geography is what makes a map fictional: a saved or uploaded list shown
        on the demo county still describes no real place, so every output labels it "Fictional
        demo data". Which service list was used stays in `sources["services"]`.
    small_area_population
        Optional `lon`, `lat`, `population`, `area_code` points (e.g. LSOA centroids).
    geography
        Which areas these are: ``"demo"`` (the fictional county), ``"england_lad24"`` (England
        built in) or ``"custom:<sha256[:12]>"`` (a boundary file); saved versions record it.
    """

    areas: gpd.GeoDataFrame
    population: pd.DataFrame
    services: gpd.GeoDataFrame
    config: Config
    report: ValidationReport
    sources: dict[str, str]
    is_demo: bool
    small_area_population: pd.DataFrame | None = None
    geography: str = "custom"


def file_fingerprint(name: str, content: bytes) -> str:
    """ "services.csv (1a2b3c4d5e6f)": the file name and the first 12 hex digits of its sha256."""
    return f"{name} ({hashlib.sha256(content).hexdigest()[:12]})"


def _fingerprint_path(path: PathLike) -> str:
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with open(p, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return p.name
    return f"{p.name} ({digest.hexdigest()[:12]})"


def _same_file(a: PathLike | None, b: PathLike) -> bool:
    if a is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _same_content(a: PathLike, b: PathLike) -> bool:
    """The same file, or a byte-identical copy of it (e.g. the demo boundaries saved elsewhere)."""
    if _same_file(a, b):
        return True
    try:
        pa, pb = Path(a), Path(b)
        if pa.stat().st_size != pb.stat().st_size:
            return False
        return pa.read_bytes() == pb.read_bytes()
    except OSError:
        return False


def empty_areas() -> gpd.GeoDataFrame:
    """An areas frame with no rows (services validated without boundaries)."""
    return gpd.GeoDataFrame(
        {AREA_CODE: pd.Series(dtype=object), AREA_NAME: pd.Series(dtype=object)},
        geometry=gpd.GeoSeries([], crs=settings.WGS84_EPSG),
    )


def empty_population(config: Config) -> pd.DataFrame:
    """A population frame with no rows but every denominator column."""
    columns = {AREA_CODE: pd.Series(dtype=object)}
    columns.update({d: pd.Series(dtype=float) for d in config.denominators})
    return pd.DataFrame(columns)


def empty_services() -> gpd.GeoDataFrame:
    data = {c: pd.Series(dtype=object) for c in SERVICE_COLUMNS if c != "geometry"}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=settings.WGS84_EPSG))


def validate_dataset(
    services: PathLike | None = None,
    boundaries: PathLike | None = None,
    population: PathLike | None = None,
    postcodes: PathLike | None = None,
    benchmarks: PathLike | None = None,
    *,
    services_content: bytes | None = None,
    services_name: str | None = None,
    today: date | None = None,
    for_analysis: bool = False,
) -> tuple[Dataset | None, ValidationReport]:
    """Read and validate every input; never raises for a user mistake.

    Parameters
    ----------
    services, boundaries, population, postcodes, benchmarks
        File paths; None means the demo file (see the module docstring for the exceptions).
        `benchmarks` is a vocabulary/benchmark TOML (default: the packaged one).
    services_content, services_name
        A service list uploaded in memory (bytes) and its file name; used instead of `services`.
    today
        The date "funding already ended" is judged against (default: today).
    for_analysis
        True when the dataset will be analysed (`load_dataset`): boundaries and population are
        then required. False (e.g. `python -m gapmap validate`) validates what was given.

    Returns
    -------
    (dataset, report): dataset is None when the report has errors.
    """
    report = ValidationReport()
    sources: dict[str, str] = {}

    # ---- vocabulary and benchmarks
    config = default_config()
    config_ok = True
    if benchmarks is not None:
        try:
            config = load_config(benchmarks)
            sources["benchmarks"] = _fingerprint_path(benchmarks)
        except ConfigError as exc:
            report.extend(exc.problems)
            config_ok = False  # keep validating the other files with the packaged vocabulary

    user_services = services is not None or services_content is not None
    services_label = services_name or (Path(services).name if services is not None else "upload")

    # ---- which files
    if boundaries is None and not user_services:
        boundaries_path: PathLike | None = settings.DEMO_BOUNDARIES
    else:
        boundaries_path = boundaries
    if boundaries is not None and not user_services:
        report.error(
            "services",
            "boundaries were given but no service list; the demo service list only fits the demo "
            "county. Pass your service list too (`--services FILE`).",
        )
        return None, report
    services_path = services if user_services else settings.DEMO_SERVICES
    on_demo_county = boundaries_path is not None and _same_content(boundaries_path, settings.DEMO_BOUNDARIES)
    if postcodes is None:
        # The demo lookup only knows the fictional county's postcodes: offer it for lists
        # checked against the demo boundaries (e.g. an upload in the app), never for a real area,
        # where it would only add a misleading line to every "data sources" footer.
        postcodes_path: PathLike | None = (
            settings.DEMO_POSTCODES if on_demo_county and settings.DEMO_POSTCODES.is_file() else None
        )
    else:
        postcodes_path = postcodes

    # ---- boundaries
    areas: gpd.GeoDataFrame | None = None
    boundaries_failed = False
    england = None
    if boundaries_path is None and user_services:
        from gapmap.geography import load_england

        england = load_england()
        areas = england.areas()
        sources["boundaries"] = f"England built in: LAD May 2024 BUC ({england.fingerprint})"
    elif boundaries_path is not None:
        from gapmap.boundaries import load_boundaries

        areas = _guarded(
            report, Path(boundaries_path).name, lambda: load_boundaries(boundaries_path, report=report)
        )
        if areas is None:
            boundaries_failed = True
        else:
            sources["boundaries"] = _fingerprint_path(boundaries_path)

    # ---- population
    if england is not None and population is None:
        population_frame: pd.DataFrame | None = england.population(config)
        sources["population"] = "England built in: Census 2021 and ONS mid-year estimates (population.csv)"
    else:
        population_frame = _population(
            population, boundaries, areas, boundaries_failed, config, report, sources, for_analysis
        )

    # ---- postcodes
    lookup: pd.DataFrame | None = None
    if postcodes_path is not None:
        from gapmap.postcodes import load_postcodes

        lookup = _guarded(
            report, Path(postcodes_path).name, lambda: load_postcodes(postcodes_path, report=report)
        )
        if lookup is not None:
            sources["postcodes"] = _fingerprint_path(postcodes_path)

    # ---- services
    from gapmap.services import validate_services

    services_frame = _guarded(
        report,
        services_label,
        lambda: validate_services(
            None if services_content is not None else services_path,
            config=config,
            areas=areas,
            postcodes=lookup,
            report=report,
            content=services_content,
            name=services_name if services_content is not None else None,
            today=today,
        ),
    )
    if services_frame is not None:
        if services_content is not None:
            sources["services"] = file_fingerprint(services_label, services_content)
        else:
            sources["services"] = _fingerprint_path(services_path)

    if not report.ok or not config_ok or services_frame is None:
        return None, report
    small_area_population = None
    if england is not None:
        from gapmap.access import built_in_small_area_population

        # England's districts: access distances from where their residents live (the LSOAs).
        small_area_population = built_in_small_area_population()
    dataset = Dataset(
        areas=areas if areas is not None else empty_areas(),
        population=population_frame if population_frame is not None else empty_population(config),
        services=services_frame,
        config=config,
        report=report,
        sources=sources,
        is_demo=on_demo_county,
        small_area_population=small_area_population,
        geography=_geography_id(on_demo_county, england is not None, sources.get("boundaries", "")),
    )
    return dataset, report


def _geography_id(on_demo: bool, on_england: bool, boundaries_source: str) -> str:
    """ "demo", "england_lad24" or "custom:<sha256[:12]>" of the boundary file (see `Dataset`)."""
    if on_demo:
        return "demo"
    if on_england:
        from gapmap.geography import ENGLAND_ID

        return ENGLAND_ID
    match = re.search(r"\(([0-9a-f]{12})\)$", boundaries_source)
    return f"custom:{match.group(1)}" if match else "custom"


def _guarded(report: ValidationReport, label: str, load):
    """Run a loader that reports into `report`; a raised GapmapInputError is collected too."""
    try:
        return load()
    except GapmapInputError as exc:
        known = set(report.problems)
        report.extend([p for p in exc.problems if p not in known])
        return None


def _population(
    population: PathLike | None,
    boundaries: PathLike | None,
    areas: gpd.GeoDataFrame | None,
    boundaries_failed: bool,
    config: Config,
    report: ValidationReport,
    sources: dict[str, str],
    for_analysis: bool,
) -> pd.DataFrame | None:
    from gapmap import population as population_module

    frame: pd.DataFrame | None = None
    label: str
    if population is not None:
        label = Path(population).name
        frame = _guarded(
            report, label, lambda: population_module.load_population(population, config=config, report=report)
        )
        if frame is not None:
            sources["population"] = _fingerprint_path(population)
    elif boundaries is None and areas is not None:
        # The demo boundaries: the demo population goes with them.
        label = settings.DEMO_POPULATION.name
        frame = _guarded(
            report,
            label,
            lambda: population_module.load_population(settings.DEMO_POPULATION, config=config, report=report),
        )
        if frame is not None:
            sources["population"] = _fingerprint_path(settings.DEMO_POPULATION)
    elif areas is not None:
        label = Path(boundaries).name if boundaries is not None else "boundaries"
        frame = population_module.population_from_boundaries(areas, config)
        if frame is not None:
            sources["population"] = f"population columns of {sources.get('boundaries', label)}"
        elif for_analysis:
            report.error(
                label,
                "no population was given and the boundary file has no population columns; pass "
                "`--population FILE` (CSV/XLSX with `area_code` and e.g. `females_16_plus`, or the ONS "
                "mid-year estimates workbook).",
            )
        else:
            report.warn(
                label,
                "no population was given and the boundary file has no population columns, so benchmarks "
                "cannot be scored; pass `--population FILE` for `python -m gapmap report`.",
            )
        return frame
    else:
        if for_analysis and not boundaries_failed:
            report.error("population", "no population was given; pass `--population FILE`.")
        return None
    if frame is not None and areas is not None:
        population_module.check_population_coverage(areas, frame, report, file=label)
    return frame


def load_dataset(
    services: PathLike | None = None,
    boundaries: PathLike | None = None,
    population: PathLike | None = None,
    postcodes: PathLike | None = None,
    benchmarks: PathLike | None = None,
    *,
    services_content: bytes | None = None,
    services_name: str | None = None,
    today: date | None = None,
) -> Dataset:
    """`validate_dataset` for analysis: raises `GapmapInputError` listing every problem on errors."""
    dataset, report = validate_dataset(
        services,
        boundaries,
        population,
        postcodes,
        benchmarks,
        services_content=services_content,
        services_name=services_name,
        today=today,
        for_analysis=True,
    )
    if dataset is None:
        raise GapmapInputError(report.problems)
    return dataset


def load_demo(today: date | None = None) -> Dataset:
    """The fictional demo county (data/): boundaries, population, postcodes and services."""
    return load_dataset(today=today)
