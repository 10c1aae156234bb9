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
from typing import Any

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


def _demo_files_ready() -> None:
    """Write the demo county's files where `settings.DEMO_*` expects them, if any is missing.

    A checkout has them under data/; `pip install .` ships no data/, so the first demo run of
    an installed gapmap generates them (deterministic, the same bytes as the checkout's).
    """
    demo_files = (
        settings.DEMO_BOUNDARIES,
        settings.DEMO_POPULATION,
        settings.DEMO_POSTCODES,
        settings.DEMO_SERVICES,
    )
    if all(path.is_file() for path in demo_files):
        return
    from gapmap.demo import write_demo

    try:
        write_demo(settings.DEMO_ROOT)
    except OSError as exc:
        raise GapmapInputError(
            f"the demo county's files are missing and cannot be written to {settings.DEMO_ROOT} "
            f"({exc.strerror}); set GAPMAP_DATA_DIR to a folder you can write to, or pass your own "
            "files (`--services FILE`).",
            file="demo",
        ) from None


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
    config, config_ok = _vocabulary(benchmarks, report, sources)
    user_services = services is not None or services_content is not None
    paths = _input_paths(services, boundaries, postcodes, user_services, report)
    if paths is None:
        return None, report
    areas, boundaries_failed, england = _areas(paths.boundaries, user_services, report, sources)
    if england is not None and population is None:
        population_frame: pd.DataFrame | None = england.population(config)
        sources["population"] = "England built in: Census 2021 and ONS mid-year estimates (population.csv)"
    else:
        population_frame = _population(
            population, boundaries, areas, boundaries_failed, config, report, sources, for_analysis
        )
    lookup = _postcode_lookup(paths.postcodes, report, sources)
    services_frame = _services(
        paths.services, services_content, services_name, config, areas, lookup, today, report, sources
    )
    if not report.ok or not config_ok or services_frame is None:
        return None, report
    small_area_population = None
    if england is not None and for_analysis:
        from gapmap.access import built_in_small_area_population

        # England's districts: access distances from where their residents live (the LSOAs).
        # Only when scoring: `validate` checks files and needs neither them nor the engine.
        small_area_population = built_in_small_area_population()
    dataset = Dataset(
        areas=areas if areas is not None else empty_areas(),
        population=population_frame if population_frame is not None else empty_population(config),
        services=services_frame,
        config=config,
        report=report,
        sources=sources,
        is_demo=paths.on_demo_county,
        small_area_population=small_area_population,
        geography=_geography_id(paths.on_demo_county, england is not None, sources.get("boundaries", "")),
    )
    return dataset, report


def _vocabulary(
    benchmarks: PathLike | None, report: ValidationReport, sources: dict[str, str]
) -> tuple[Config, bool]:
    """Checks the user's vocabulary/benchmark TOML, if given. Returns (the vocabulary to use,
    whether it is the one asked for): on errors, the packaged one, so that the other files are
    still checked."""
    if benchmarks is None:
        return default_config(), True
    try:
        config = load_config(benchmarks)
    except ConfigError as exc:
        report.extend(exc.problems)
        return default_config(), False
    sources["benchmarks"] = _fingerprint_path(benchmarks)
    return config, True


@dataclass
class _InputPaths:
    """The files to read once the demo defaults are applied (None: that input is not used)."""

    boundaries: PathLike | None
    services: PathLike | None
    postcodes: PathLike | None
    on_demo_county: bool


def _input_paths(
    services: PathLike | None,
    boundaries: PathLike | None,
    postcodes: PathLike | None,
    user_services: bool,
    report: ValidationReport,
) -> _InputPaths | None:
    """Checks the files given make a whole (boundaries need a service list) and applies the
    demo defaults. Returns the files to read, or None (with an error in `report`)."""
    if boundaries is None and not user_services:
        try:
            _demo_files_ready()
        except GapmapInputError as exc:  # reported like any other input problem, never raised
            report.extend(exc.problems)
            return None
        boundaries_path: PathLike | None = settings.DEMO_BOUNDARIES
    else:
        boundaries_path = boundaries
    if boundaries is not None and not user_services:
        report.error(
            "services",
            "boundaries were given but no service list; the demo service list only fits the demo "
            "county. Pass your service list too (`--services FILE`).",
        )
        return None
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
    return _InputPaths(
        boundaries=boundaries_path,
        services=services if user_services else settings.DEMO_SERVICES,
        postcodes=postcodes_path,
        on_demo_county=on_demo_county,
    )


def _areas(
    boundaries_path: PathLike | None, user_services: bool, report: ValidationReport, sources: dict[str, str]
) -> tuple[gpd.GeoDataFrame | None, bool, Any]:
    """Checks the boundary file (or takes England built in for a service list given alone).

    Returns (areas or None, whether a boundary file failed, the `England` bundle when built in).
    """
    if boundaries_path is None and user_services:
        from gapmap.geography import load_england

        england = load_england()
        sources["boundaries"] = f"England built in: LAD May 2024 BUC ({england.fingerprint})"
        return england.areas(), False, england
    if boundaries_path is None:
        return None, False, None
    from gapmap.boundaries import load_boundaries

    path = boundaries_path
    areas = _guarded(report, Path(path).name, lambda: load_boundaries(path, report=report))
    if areas is None:
        return None, True, None
    sources["boundaries"] = _fingerprint_path(path)
    return areas, False, None


def _postcode_lookup(
    postcodes_path: PathLike | None, report: ValidationReport, sources: dict[str, str]
) -> pd.DataFrame | None:
    """Checks the postcode lookup, if one is used. Returns it, or None."""
    if postcodes_path is None:
        return None
    from gapmap.postcodes import load_postcodes

    path = postcodes_path
    lookup = _guarded(report, Path(path).name, lambda: load_postcodes(path, report=report))
    if lookup is not None:
        sources["postcodes"] = _fingerprint_path(path)
    return lookup


def _services(
    services_path: PathLike | None,
    services_content: bytes | None,
    services_name: str | None,
    config: Config,
    areas: gpd.GeoDataFrame | None,
    lookup: pd.DataFrame | None,
    today: date | None,
    report: ValidationReport,
    sources: dict[str, str],
) -> gpd.GeoDataFrame | None:
    """Checks the service list (a file, or an upload's bytes) against the areas. Returns the
    services frame, or None when it has errors."""
    from gapmap.services import validate_services

    uploaded = services_content is not None
    label = services_name or (Path(services_path).name if services_path is not None else "upload")
    frame = _guarded(
        report,
        label,
        lambda: validate_services(
            None if uploaded else services_path,
            config=config,
            areas=areas,
            postcodes=lookup,
            report=report,
            content=services_content,
            name=services_name if uploaded else None,
            today=today,
        ),
    )
    if frame is not None:
        if services_content is not None:
            sources["services"] = file_fingerprint(label, services_content)
        elif services_path is not None:
            sources["services"] = _fingerprint_path(services_path)
    return frame


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
