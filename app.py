"""gapmap: the Streamlit page a partnership reads on a projector.

Thin by design: widgets -> gapmap package calls -> display. Every number comes from the
package (gapmap.engine, gapmap.compare, gapmap.workbook ...) and every table or text shown is
built by gapmap.present; this file only chooses what to ask for and where to show it.

The first page (the map) imports only what it draws: gapmap.workbook, snapshot, pack and compare
(and with them matplotlib, openpyxl, pypdf) are imported inside the tab or button that needs
them, so a cold start reaches the map sooner (tests/test_app.py checks it).

Run with `make run` (or `streamlit run app.py`). The default dataset is the fictional demo
county; the sidebar's "Geography" switches to England built in (2024 districts, with every
partnership, tier-one authority, police force area and region ready to pick) or to your own
boundary, population and postcode files uploaded there. To open your own files by default,
set environment variables before starting (GAPMAP_SERVICES alone: your list on England built in):

    GAPMAP_BOUNDARIES   area boundaries (GeoJSON, GeoPackage or zipped Shapefile)
    GAPMAP_POPULATION   population denominators (CSV/XLSX; optional if the boundaries carry them)
    GAPMAP_SERVICES     the service list (CSV/XLSX); required with GAPMAP_BOUNDARIES
    GAPMAP_POSTCODES    postcode lookup (optional)
    GAPMAP_BENCHMARKS   your own vocabulary/benchmark TOML (optional)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from datetime import date
from typing import Any

import streamlit as st


def _serve_from_here() -> None:
    """`python app.py [streamlit options]`, what `make run` does: start the server in this process.

    The package's heavy imports (geopandas, folium, ...) run in a background thread while the
    browser loads Streamlit's front end, instead of on the critical path to the first map;
    the first script run simply finds them in sys.modules (or waits on the import lock).
    """
    import threading

    from streamlit.web import cli as streamlit_cli

    def preload() -> None:
        import gapmap.dataset
        import gapmap.engine
        import gapmap.present
        import gapmap.webmap  # noqa: F401

    threading.Thread(target=preload, name="gapmap-preload", daemon=True).start()
    sys.argv = ["streamlit", "run", __file__, *sys.argv[1:]]
    sys.exit(streamlit_cli.main())


if __name__ == "__main__" and not st.runtime.exists():
    _serve_from_here()

# The package is imported after the launcher above (see _serve_from_here): hence E402 for app.py.
from gapmap import auth, settings, webmap
from gapmap.choices import (
    ALL,
    DEMO,
    ENGLAND,
    GEOGRAPHY_LABELS,
    OWN,
    PICK,
    area_choices,
    geography_line,
    levels_of,
)
from gapmap.dataset import Dataset, validate_dataset
from gapmap.engine import GapAnalysis, analyse, services_serving
from gapmap.errors import GapmapInputError, ValidationReport
from gapmap.filters import ServiceFilter, parse_day
from gapmap.partnerships import load_partnerships, partnerships_for
from gapmap.present import (
    CUSTOM_AREAS,
    EXPORT_ITEMS,
    benchmark_lines,
    cohorts_table,
    comparison_lists,
    demand_metrics,
    evidence_table,
    export_file,
    filter_html,
    gaps_table,
    headline_metrics,
    index_text,
    kicker_html,
    label_of,
    md,
    most_gapped_cell,
    moved_table,
    nearest_services_table,
    opened_or_closed_cells,
    patchwork_by_tier,
    patchwork_grid,
    patchwork_table,
    population_rule_text,
    present_vintages,
    report_frame,
    saved_version_label,
    selection_options,
    services_table,
    serving_table,
    sources_table,
    status_rule_text,
    style_evidence,
    style_patchwork,
    style_status,
    tiers_table,
    versions_table,
)
from gapmap.view import (
    counted_line,
    counted_services,
    default_benchmark,
    demand_choices,
    demand_for_map,
    demand_unmapped_note,
    filter_description,
)
from gapmap.wording import EVIDENCE_LABELS, EVIDENCE_RULE, EVIDENCE_SOURCE

ENV_INPUTS = {
    "boundaries": "GAPMAP_BOUNDARIES",
    "population": "GAPMAP_POPULATION",
    "services": "GAPMAP_SERVICES",
    "postcodes": "GAPMAP_POSTCODES",
    "benchmarks": "GAPMAP_BENCHMARKS",
}
DEMO_KEY = "demo"
ENV_KEY = "env"
UPLOAD_KEY = "upload"
MAP_HEIGHT = 560

# Projector-friendly: large type, strong contrast, visible focus. Presentation only.
PAGE_CSS = """
<style>
.block-container {padding-top: 1.6rem !important; padding-bottom: 1rem !important;}
h1 {font-size: 2.4rem !important; line-height: 1.15 !important; padding-bottom: 0.2rem !important;}
[data-testid="stMetricValue"] {font-size: 2rem !important; color: #111;}
[data-testid="stMetricLabel"] p {font-size: 1.05rem !important; color: #222;}
.stTabs [data-baseweb="tab"] p {font-size: 1.25rem !important; font-weight: 600;}
.gapmap-demo {display: inline-block; background: #fff3cd; color: #4d3800; border: 3px solid #8a6d00;
              padding: 2px 12px; font-weight: 700; border-radius: 6px; margin-right: 12px;}
.gapmap-kicker {font-size: 1.2rem; color: #222; margin: -0.3rem 0 0.6rem 0;}
/* The dataset is named by the geography line below; the kicker names it only where that line
   is hidden (short screens, below). */
.gapmap-kicker-dataset {display: none;}
.gapmap-sub {font-size: 1.15rem; color: #222; margin-top: -0.4rem;}
/* Headline labels wrap instead of being cut ("Provided / required (…"). */
[data-testid="stMetricLabel"] * {white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important;}
[data-testid="stMetricLabel"] {height: auto !important; min-height: 0 !important;}
/* The map fills what the window leaves under the title, headline and tabs: on a 1280x720 or
   1024x600 projector the whole map and its legend are on the first screen. */
iframe[title*="st_folium"], iframe[title*="streamlit_folium"] {
  height: clamp(260px, calc(100vh - 390px), 760px) !important;}
.block-container {padding-left: 2rem !important; padding-right: 2rem !important;}
/* Streamlit's toolbar strip is see-through, so a title moved up under it stays readable. */
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stToolbar"] > div {
  background: transparent !important; pointer-events: none;}
[data-testid="stHeader"] button, [data-testid="stHeader"] a {pointer-events: auto;}
@media (max-height: 800px) {
  .block-container {padding-top: 1.5rem !important;}
  [data-testid="stMain"] [data-testid="stVerticalBlock"] {gap: 0.5rem !important;}
  h1 {font-size: 1.6rem !important; padding: 0 0 0.35rem 0 !important; line-height: 1.25 !important;}
  .gapmap-kicker {font-size: 0.95rem; margin: 0 0 0.1rem 0;}
  [data-testid="stCaptionContainer"] {display: none;}
  .gapmap-kicker-dataset {display: inline;}
  .gapmap-demo {padding: 0 8px; border-width: 2px;}
  [data-testid="stMetricValue"] {font-size: 1.6rem !important;}
  [data-testid="stMetricLabel"] p {font-size: 0.95rem !important;}
  .stTabs [data-baseweb="tab"] p {font-size: 1.05rem !important;}
  iframe[title*="st_folium"], iframe[title*="streamlit_folium"] {
    height: clamp(240px, calc(100vh - 282px), 760px) !important;}
}
@media (max-width: 1100px) {
  [data-testid="stMetricValue"] {font-size: 1.4rem !important;}
  [data-testid="stMetricLabel"] p {font-size: 0.85rem !important;}
  .gapmap-kicker {font-size: 0.85rem;}
  [data-testid="stSidebar"] {min-width: 250px !important; max-width: 250px !important;}
}
</style>
"""


# --------------------------------------------------------------------------- data (cached)
def env_inputs() -> dict[str, str]:
    """The input files named by GAPMAP_* environment variables (only those set)."""
    return {role: os.environ[var] for role, var in ENV_INPUTS.items() if os.environ.get(var)}


def geography() -> str:
    """The sidebar's geography: ENV_KEY, DEMO, ENGLAND or OWN (the demo before the sidebar is drawn)."""
    return st.session_state.get("geography") or (ENV_KEY if "boundaries" in env_inputs() else DEMO)


def own_files() -> dict[str, str]:
    """Role -> path of the boundary, population and postcode files uploaded in the sidebar."""
    return dict(st.session_state.get("own_files", {}))


@st.cache_data(show_spinner=False, max_entries=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's SHA-256; cached on (path, size, mtime), so an unchanged file is read once."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def content_fingerprint(path: Any) -> str:
    """SHA-256 of the file at `path` ("" when it cannot be read: loading it reports why)."""
    try:
        stat = os.stat(path)
        return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        return ""


def inputs_key() -> str:
    """The files in force (GAPMAP_*, the geography, uploads) by content, for cache keys.

    Keyed on each file's SHA-256, not its path: a configured file edited while the app runs
    is read again at the next rerun instead of the cached copy being shown.
    """
    files = {**env_inputs(), **own_files()}
    if geography() == DEMO:
        files |= {f"demo_{k}": str(v) for k, v in base_inputs().items() if v}
    prints = sorted((role, path, content_fingerprint(path)) for role, path in files.items())
    return repr((geography(), prints))


def base_inputs() -> dict[str, Any]:
    """Boundaries/population/postcodes/benchmarks that saved versions and uploads are checked against.

    Those of the sidebar's geography: the environment's files (GAPMAP_BOUNDARIES), England
    built in (no boundaries: `validate_dataset` uses it), the files uploaded in the sidebar, or
    the demo county's.
    """
    env = env_inputs()
    geo = geography()
    if geo == ENV_KEY:
        return {k: env.get(k) for k in ("boundaries", "population", "postcodes", "benchmarks")}
    if geo == ENGLAND:
        return {"boundaries": None, "population": None, "postcodes": env.get("postcodes"),
                "benchmarks": env.get("benchmarks")}  # fmt: skip
    if geo == OWN:
        files = own_files()
        return {"boundaries": files.get("boundaries"), "population": files.get("population"),
                "postcodes": files.get("postcodes"), "benchmarks": env.get("benchmarks")}  # fmt: skip
    return {
        "boundaries": settings.DEMO_BOUNDARIES,
        "population": settings.DEMO_POPULATION,
        "postcodes": settings.DEMO_POSTCODES if settings.DEMO_POSTCODES.is_file() else None,
        "benchmarks": env.get("benchmarks"),
    }


@st.cache_data(show_spinner="Loading and checking the data…", max_entries=8)
def load_source(source: str, version_path: str | None = None, inputs: str = "") -> Dataset:
    """The dataset behind a sidebar choice ("demo", "env" or a saved version's file).

    `inputs` only keys the cache: the GAPMAP_* files in force (see `inputs_key`).
    """
    if source == DEMO_KEY:
        dataset, report = validate_dataset(for_analysis=True)
    elif source == ENV_KEY:
        # GAPMAP_SERVICES without GAPMAP_BOUNDARIES: the list on England built in.
        dataset, report = validate_dataset(for_analysis=True, **env_inputs())
    else:
        from gapmap.storage import read_version_file

        # Checked against the checksum recorded at saving: a changed file is reported, not used.
        content = read_version_file(version_path)
        dataset, report = validate_dataset(
            services_content=content,
            services_name=os.path.basename(version_path),
            for_analysis=True,
            **base_inputs(),
        )
    if dataset is None:
        raise GapmapInputError(report.problems)
    return dataset


@st.cache_data(show_spinner="Checking the uploaded list…", max_entries=4)
def check_upload(
    content_sha256: str, _content: bytes, name: str, inputs: str = ""
) -> tuple[Dataset | None, ValidationReport]:
    """Validate an uploaded service list against the current base files (never raises)."""
    return validate_dataset(services_content=_content, services_name=name, for_analysis=True, **base_inputs())


@st.cache_data(show_spinner="Scoring benchmarks and the patchwork…", max_entries=32)
def run_analysis(
    dataset_key: str,
    _dataset: Dataset,
    profile: str,
    service_filter: ServiceFilter,
    selection: tuple[str, ...],
    population_vintage: str | None = None,
) -> GapAnalysis:
    return analyse(
        _dataset.areas,
        _dataset.population,
        _dataset.services,
        _dataset.config,
        profile=profile,
        service_filter=service_filter,
        selection=selection or None,
        small_area_population=_dataset.small_area_population,
        population_vintage=population_vintage,
    )


def dataset_key(dataset: Dataset) -> str:
    """What the dataset is made of, by content: each input's name and checksum.

    `Dataset.sources` names every input file with its SHA-256 (an upload's too), so two
    unsaved uploads, or a configured file before and after an edit, never share a key.
    """
    return repr(sorted(dataset.sources.items()))


@st.cache_data(show_spinner=False, max_entries=16)
def shown_services(key: str, _dataset: Dataset, _analysis: GapAnalysis) -> Any:
    """The services the analysis counted (`gapmap.view.counted_services`); `key` keys the cache."""
    return counted_services(_dataset.services, _analysis)


@st.cache_data(show_spinner="Measuring access for every neighbourhood…", max_entries=16)
def small_access(dataset_key: str, _dataset: Dataset, service_filter: ServiceFilter, area_code: str) -> Any:
    """Small-area access (gapmap.access) for one district of England built in; None elsewhere."""
    from gapmap.access import load_small_areas, small_area_access
    from gapmap.geography import ENGLAND_ID

    if _dataset.geography != ENGLAND_ID:
        return None
    names = dict(
        zip(_dataset.areas["area_code"].astype(str), _dataset.areas["area_name"].astype(str), strict=True)
    )
    result = small_area_access(
        load_small_areas(),
        service_filter.apply(_dataset.services),
        selection=[area_code],
        district_names=names,
    )
    return result if len(result.scores) else None


@st.cache_data(show_spinner=False, max_entries=32)
def small_access_png(
    dataset_key: str,
    _dataset: Dataset,
    _result: Any,
    service_filter: ServiceFilter,
    service_type: str,
    area_code: str,
) -> bytes:
    """The neighbourhood map of one district for one service type (PNG, 1280 x 720).

    `service_filter` is in the cache key because `_result` was computed with it.
    """
    from gapmap.access_map import small_access_figure, small_area_cells
    from gapmap.privacy import public_services
    from gapmap.staticmap import figure_to_bytes

    districts = _dataset.areas[_dataset.areas["area_code"].astype(str) == area_code]
    services = public_services(service_filter.apply(_dataset.services))
    spec = _dataset.config.service_types.get(service_type)
    fig = small_access_figure(
        small_area_cells(_result.small_areas, districts),
        _result,
        service_type,
        districts,
        type_label=getattr(spec, "label", service_type),
        services=services[services["service_type"] == service_type],
    )
    return figure_to_bytes(fig, "png", dpi=100)


def neighbourhood_access(dataset: Dataset, analysis: GapAnalysis, area_code: str) -> None:
    """The area profile's small-area access: residents far from each type, and the map."""
    key = f"{sorted(dataset.sources.items())}|{dataset.geography}"
    result = small_access(key, dataset, analysis.service_filter, area_code)
    if result is None:
        return
    from gapmap.access import area_access_table

    st.markdown(f"**Neighbourhoods far from a service** (LSOAs; {result.basis.lower()})")
    st.dataframe(
        area_access_table(result, dataset.config), hide_index=True, width="stretch", key="profile_lsoa"
    )
    types = sorted(set(result.scores["service_type"]))
    config = dataset.config
    chosen = st.selectbox(
        "Map neighbourhoods by distance to the nearest",
        types,
        index=types.index("idva") if "idva" in types else 0,
        format_func=lambda t: getattr(config.service_types.get(t), "label", t),
        key="profile_lsoa_type",
    )
    st.image(
        small_access_png(key, dataset, result, analysis.service_filter, chosen, area_code), width="stretch"
    )
    st.caption(result.describe())


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --------------------------------------------------------------------------- small helpers
def show_report(report: ValidationReport, *, what: str) -> None:
    if report.errors:
        st.error(
            f"{md(what)}: {len(report.errors)} error(s) and {len(report.warnings)} warning(s). "
            "Nothing was saved. Fix the rows below and upload the file again."
        )
    elif report.warnings:
        st.warning(f"{md(what)}: no errors, {len(report.warnings)} warning(s).")
    else:
        st.success(f"{md(what)}: no problems found.")
    if report.problems:
        st.dataframe(report_frame(report), hide_index=True, width="stretch", key=f"report_{what}")


# --------------------------------------------------------------------------- sign-in
SIGNED_IN_KEY = "auth_user"  # set only here, never by a widget: the browser cannot choose it


def sign_in_gate() -> str:
    """The role this session may act as; draws the sign-in form (and stops) until signed in.

    Sign-in is required when the server is bound beyond 127.0.0.1 (or GAPMAP_SIGN_IN is set,
    or users exist); with no usable users file the page then shows only why (fail closed).
    The role is read from the users file at every run, so a removed user is signed out.
    """
    policy = auth.access_policy(
        st.get_option("server.address"), settings.USERS_FILE, required=settings.SIGN_IN_REQUIRED
    )
    if policy.refusal:
        st.title("gapmap")
        st.error(policy.refusal)
        st.stop()
    if not policy.sign_in:
        return auth.LOCAL_ROLE
    user = policy.users.get(st.session_state.get(SIGNED_IN_KEY) or "")
    if user is None:
        st.session_state.pop(SIGNED_IN_KEY, None)
        sign_in_form(policy)
        st.stop()
    st.sidebar.markdown(f"Signed in as **{md(user.username)}** ({user.role})")
    if st.sidebar.button("Sign out", key="sign_out"):
        for key in list(st.session_state):
            del st.session_state[key]
        st.rerun()
    return user.role


def sign_in_form(policy: auth.AccessPolicy) -> None:
    st.title("gapmap: sign in")
    with st.form("sign_in_form"):
        name = st.text_input("User name", key="sign_in_name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="sign_in_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in")
    if submitted:
        user, message = auth.sign_in(name, password, policy.users)
        if user is None:
            st.error(message)
            return
        st.session_state[SIGNED_IN_KEY] = user.username
        st.rerun()


# --------------------------------------------------------------------------- upload (testable)
UPLOAD_KEYS = ("upload_content", "upload_name", "upload_sha", "save_message")


def sync_uploaded_file(role: str) -> None:
    """Drop any upload state for a role that may not upload (a viewer has no uploader).

    The upload itself is copied into session state by `take_upload`, the uploaders'
    on_change callback: it runs only when the analyst adds, replaces or removes a file, not
    when the uploader simply is not drawn (the Services tab is lazy). So an unsaved upload
    survives tab switches and reruns until it is replaced, removed or saved. Tests set
    `upload_content`/`upload_name` directly: the same path from here on.
    """
    if not auth.allows(role, "upload"):
        for key in UPLOAD_KEYS:
            st.session_state.pop(key, None)


def take_upload(widget_key: str) -> None:
    """on_change of a service-list uploader: keep its file, or forget it when it was removed."""
    uploaded = st.session_state.get(widget_key)
    st.session_state.pop("save_message", None)
    if uploaded is None:
        for key in ("upload_content", "upload_name", "upload_sha"):
            st.session_state.pop(key, None)
        return
    st.session_state["upload_content"] = uploaded.getvalue()
    st.session_state["upload_name"] = uploaded.name


def forget_upload() -> None:
    """After saving: the list is a saved version now, no longer 'Uploaded, not saved'."""
    for key in ("upload_content", "upload_name", "upload_sha"):
        st.session_state.pop(key, None)


def current_upload() -> tuple[bytes, str, str] | None:
    content = st.session_state.get("upload_content")
    if not content:
        return None
    name = st.session_state.get("upload_name") or "upload.csv"
    digest = sha256(content)
    st.session_state["upload_sha"] = digest
    return content, name, digest


def save_upload(content: bytes, name: str, row_count: int, role: str, geography_id: str = "") -> None:
    if not auth.allows(role, "save"):  # the button is not drawn for them either
        raise GapmapInputError(f"a {role} may not save service lists; ask an analyst", file=name)
    from gapmap.storage import save_if_new

    # The one rule `gapmap save` follows too: identical bytes are not stored again.
    version, created = save_if_new(content, name, row_count=row_count, geography=geography_id)
    if created:
        st.session_state["save_message"] = (
            f"Saved as version {version.version_id} ({version.row_count} services). "
            "Earlier versions are kept. The map now shows it."
        )
    else:
        st.session_state["save_message"] = (
            f"This file is already saved as version {version.version_id}. The map now shows it."
        )
    # Show what was saved: the dataset chooser (drawn before this, so set on the next run)
    # switches to the version, and the upload is no longer offered as unsaved.
    st.session_state["pending_dataset_choice"] = f"version:{version.version_id}"
    forget_upload()


# --------------------------------------------------------------------------- page sections
def sidebar_geography() -> str:
    """Geography radio (demo first, the default) and, for "Your own files", the uploads."""
    env = env_inputs()
    labels = dict(GEOGRAPHY_LABELS)
    if "boundaries" in env:
        labels = {ENV_KEY: "Configured files (GAPMAP_*)", **labels}
    elif "services" in env:
        labels = {ENGLAND: labels.pop(ENGLAND), **labels}  # the configured list is on England
    if st.session_state.get("geography") not in labels:
        st.session_state.pop("geography", None)
    geo = st.sidebar.radio("Geography", list(labels), format_func=labels.get, key="geography")
    if geo == OWN:
        sidebar_own_files()
    return geo


def sidebar_own_files() -> None:
    """Boundary, population and postcode uploads, kept as files (the loaders read paths)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.gettempdir()) / "gapmap-uploads"
    kinds = {
        "boundaries": (
            "Boundaries (GeoJSON, GeoPackage or zipped Shapefile)",
            ["geojson", "json", "gpkg", "zip"],
        ),
        "population": ("Population (CSV, XLSX or the ONS mid-year estimates workbook)", ["csv", "xlsx"]),
        "postcodes": ("Postcode lookup (ONSPD/NSPL CSV, optional)", ["csv", "zip"]),
    }
    files = own_files()
    with st.sidebar.expander("Your own files", expanded="boundaries" not in files):
        for role, (label, types) in kinds.items():
            uploaded = st.file_uploader(label, type=types, key=f"own_{role}")
            if uploaded is None:
                continue
            content = uploaded.getvalue()
            # The name keeps its extension (the readers go by it); the hash keeps uploads apart.
            path = folder / f"{sha256(content)[:16]}_{Path(uploaded.name).name}"
            if not path.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            files[role] = str(path)
    st.session_state["own_files"] = files


def geography_id_of_own_files() -> str:
    """The geography id saved versions of the uploaded boundaries carry ("custom:<sha12>")."""
    path = own_files().get("boundaries")
    if not path:
        return ""
    from pathlib import Path

    return f"custom:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]}"


def sidebar_dataset() -> tuple[str, str, str | None] | None:
    """Dataset choice on the sidebar's geography -> (dataset_key, label, version_path).

    Only what opens on that geography is offered: its saved versions (and those saved before
    versions recorded a geography), the demo list on the demo, an upload that passes on it.
    None when there is nothing to show yet (England or your own files before a list).
    """
    from gapmap.storage import versions_for

    geo = geography()
    env = env_inputs()
    options: dict[str, tuple[str, str | None]] = {}
    if geo == ENV_KEY or (geo == ENGLAND and "services" in env and "boundaries" not in env):
        options[ENV_KEY] = ("Configured list (GAPMAP_SERVICES)", None)
    if geo == DEMO:
        options[DEMO_KEY] = ("Demo (fictional)", None)
    geography_id = {DEMO: "demo", ENGLAND: ENGLAND}.get(geo) or geography_id_of_own_files()
    if geo == OWN and "boundaries" not in own_files():
        return None
    for v in reversed(versions_for(geography_id) if geography_id else []):
        options[f"version:{v.version_id}"] = (saved_version_label(v), str(v.path))
    upload = current_upload()
    if upload is not None:
        checked, _report = check_upload(upload[2], upload[0], upload[1], inputs_key())
        if checked is not None:
            options[UPLOAD_KEY] = (f"Uploaded, not saved: {upload[1]}", None)
    if not options:
        return None
    # Each geography remembers its own dataset choice (a widget's state lapses when not drawn).
    remembered = st.session_state.get(f"dataset_choice_{geo}")
    pending = st.session_state.pop("pending_dataset_choice", None)
    if pending in options:  # just saved: show the saved version
        st.session_state["dataset_choice"] = pending
    if st.session_state.get("dataset_choice") not in options:
        st.session_state.pop("dataset_choice", None)
        if remembered in options:
            st.session_state["dataset_choice"] = remembered
    choice = st.sidebar.selectbox(
        "Dataset", list(options), format_func=lambda k: options[k][0], key="dataset_choice"
    )
    st.session_state[f"dataset_choice_{geo}"] = choice
    return choice, options[choice][0], options[choice][1]


def get_dataset(choice: str, version_path: str | None) -> Dataset:
    if choice == UPLOAD_KEY:
        upload = current_upload()
        assert upload is not None  # the option exists only when an upload is valid
        dataset, report = check_upload(upload[2], upload[0], upload[1], inputs_key())
        if dataset is None:
            raise GapmapInputError(report.problems)
        return dataset
    if choice.startswith("version:"):
        return load_source("version", version_path, inputs_key())
    return load_source(choice, None, inputs_key())


def sidebar_selection(dataset: Dataset) -> tuple[tuple[str, ...], str]:
    """Partnership / areas -> (selected codes (empty = all), label)."""
    from gapmap.geography import lookup_for

    lookup = lookup_for(dataset.areas, dataset.geography)
    if len(levels_of(lookup)) > 1:
        return sidebar_statutory_selection(dataset, lookup)
    codes = dataset.areas["area_code"].astype(str).tolist()
    names = dict(zip(codes, dataset.areas["area_name"].astype(str), strict=True))
    found = {p.id: p for p in partnerships_for(codes)}
    options = selection_options(codes, found.values())
    if st.session_state.get("partnership") not in options:
        st.session_state.pop("partnership", None)
    pick = st.sidebar.selectbox(
        "Partnership / areas", list(options), format_func=options.get, key="partnership"
    )
    if pick in found:
        return found[pick].area_codes, found[pick].label
    if pick == CUSTOM_AREAS:
        kept = [c for c in st.session_state.get("custom_areas", []) if c in names]
        st.session_state["custom_areas"] = kept
        chosen = st.sidebar.multiselect(
            "Areas", codes, format_func=lambda c: f"{names[c]} ({c})", key="custom_areas"
        )
        if chosen:
            return tuple(chosen), f"{len(chosen)} chosen areas"
    return (), "All areas in the dataset"


def sidebar_statutory_selection(dataset: Dataset, lookup: Any) -> tuple[tuple[str, ...], str]:
    """On England's districts: any partnership, police force area, tier-one authority or region
    (type to search), or districts by name; remembered per geography."""
    choices = {c.key: c for c in area_choices(lookup, load_partnerships())}
    # The same widget as on the demo; each geography remembers its own choice.
    remembered = st.session_state.get(f"partnership_{dataset.geography}")
    if st.session_state.get("partnership") not in choices:
        st.session_state.pop("partnership", None)
        if remembered in choices:
            st.session_state["partnership"] = remembered
    pick = st.sidebar.selectbox(
        "Partnership / areas (type to search)",
        list(choices),
        format_func=lambda k: choices[k].label,
        key="partnership",
    )
    st.session_state[f"partnership_{dataset.geography}"] = pick
    if pick == PICK:
        names = dict(zip(lookup["district_code"], lookup["district_name"], strict=True))
        chosen = st.sidebar.multiselect(
            "Districts", list(names), format_func=lambda c: f"{names[c]} ({c})", key="custom_areas"
        )
        if chosen:
            return tuple(chosen), f"{len(chosen)} chosen districts"
        return (), "All areas in the dataset"
    if pick == ALL:
        return (), "All areas in the dataset"
    choice = choices[pick]
    return choice.districts, choice.label.split(": ", 1)[-1].rsplit(" (", 1)[0]


def sidebar_level(dataset: Dataset) -> str:
    """ "Score per" district / tier-one authority / police force area / region (England only)."""
    from gapmap.geography import LEVEL_LABELS, lookup_for

    levels = levels_of(lookup_for(dataset.areas, dataset.geography))
    if len(levels) == 1:
        return "district"
    key = f"level_{dataset.geography}"
    if key not in st.session_state and st.session_state.get(f"kept_{key}") in levels:
        st.session_state[key] = st.session_state[f"kept_{key}"]  # the widget lapsed while hidden
    level = st.sidebar.radio("Score per", levels, format_func=lambda v: LEVEL_LABELS[v], key=key)
    st.session_state[f"kept_{key}"] = level
    return level


def sidebar_view(dataset: Dataset) -> dict[str, Any]:
    config = dataset.config
    profiles = list(config.profiles)
    if st.session_state.get("profile") not in profiles:
        st.session_state["profile"] = config.default_profile.id
    profile_id = st.sidebar.selectbox(
        "Benchmark profile", profiles, format_func=lambda p: config.profiles[p].label, key="profile"
    )
    profile = config.profile(profile_id)
    # Filled once the demand rows are known (`choose_benchmark`): the choice lists them too.
    bench_box = st.sidebar.container()
    # Offer only the vintages this population table holds; "" = the documented rule.
    vintages = {"": "Most recent official estimate (the rule)"}
    vintages |= {v: label for v, label in present_vintages(dataset).items()}
    if st.session_state.get("population_vintage") not in vintages:
        st.session_state["population_vintage"] = ""
    population_vintage = st.sidebar.selectbox(
        "Population vintage",
        list(vintages),
        format_func=vintages.get,
        key="population_vintage",
        help="Which population estimate the benchmarks divide by. Census 2021 and mid-year "
        "estimates differ by about 2%.",
    )
    colour_by = st.sidebar.radio(
        "Colour areas by",
        ["benchmark", "patchwork", "evidence"],
        format_func={
            "benchmark": "Benchmark status",
            "patchwork": "Patchwork: tier × cohort",
            "evidence": "Patchwork: evidence in place",
        }.get,
        key="colour_by",
    )
    # Filled once the analysis is known, so the first tier x cohort offered is one with gaps.
    cell_box = st.sidebar.container()

    with st.sidebar.expander("Filter services", expanded=False):
        stypes = st.multiselect(
            "Service types (none chosen = all)",
            list(config.service_types),
            format_func=lambda s: config.service_types[s].label,
            key="f_service_types",
        )
        tiers = st.multiselect(
            "Tiers", list(config.tiers), format_func=lambda t: label_of(config.tiers, t), key="f_tiers"
        )
        cohorts = st.multiselect(
            "Cohorts",
            list(config.cohorts),
            format_func=lambda c: label_of(config.cohorts, c),
            key="f_cohorts",
        )
        groups = st.multiselect("Specialist groups", list(config.specialist_groups), key="f_groups")
        use_on = st.checkbox("Only services still funded on a date (funding cliff)", key="f_use_on")
        on = None
        if use_on:
            # A text box, not a date picker: Enter applies what was typed (a date picker
            # applied it only on leaving the field). UK dates, as people write them.
            if "f_on_text" not in st.session_state:
                st.session_state["f_on_text"] = date.today().strftime("%d/%m/%Y")
            typed = st.text_input("Funded on (DD/MM/YYYY, Enter applies)", key="f_on_text")
            try:
                on = parse_day(typed, what="The funding date")
            except ValueError as exc:
                st.error(str(exc))
    service_filter = ServiceFilter(
        service_types=stypes or None,
        tiers=tiers or None,
        cohorts=cohorts or None,
        specialist_groups=groups or None,
        on=on,
    )
    # Off shows the areas' colours alone: a national list of thousands covers them at first.
    show_services = st.sidebar.checkbox("Show service markers", value=True, key="show_services")
    show_catchments = st.sidebar.checkbox("Show catchment circles", key="show_catchments")
    basemap = st.sidebar.toggle(
        "Street map underneath (needs internet)",
        value=False,
        key="basemap",
        help="OpenStreetMap tiles. Off by default: the map works with no internet.",
    )
    return dict(
        profile=profile,
        population_vintage=population_vintage or None,
        benchmark_id=None,
        bench_box=bench_box,
        colour_by=colour_by,
        tier=None,
        cohort=None,
        cell_box=cell_box,
        service_filter=service_filter,
        show_services=show_services,
        show_catchments=show_catchments,
        basemap=basemap,
    )


def choose_benchmark(profile: Any, analysis: GapAnalysis) -> str:
    """The benchmark select: the profile's benchmarks, then the demand rows of a demand table
    loaded in the Need and options tab, labelled "from demand" with their period."""
    labels = {b.id: b.label for b in profile.benchmarks}
    labels |= demand_choices(analysis)
    if st.session_state.get("benchmark") not in labels:
        st.session_state["benchmark"] = default_benchmark(profile).id  # as every export's default
    chosen = st.selectbox("Benchmark", list(labels), format_func=labels.get, key="benchmark")
    unmapped = demand_unmapped_note(analysis)
    if unmapped:
        st.caption(f"The demand table loaded adds nothing to the map: {md(unmapped)}")
    elif len(labels) == len(profile.benchmarks):
        st.caption("Demand benchmarks appear here once a demand table is loaded (Need and options tab).")
    return str(chosen)


def keep_demand() -> None:
    """Keep the Need and options tab's demand table for the session: tabs are lazy, and a
    widget not drawn loses its state, yet the map's benchmark choice needs the table."""
    upload = st.session_state.get("demand_file")
    if upload is not None:
        st.session_state["demand_kept"] = ("upload", upload.getvalue(), upload.name)
    elif st.session_state.get("demand_demo"):
        st.session_state["demand_kept"] = ("demo", b"", "")
    elif st.session_state.get("demand_kept", ("",))[0] == "demo":
        st.session_state.pop("demand_kept", None)


def uploaded_demand_changed() -> None:
    """The demand uploader changed: a new file is kept; a removed one is forgotten."""
    removed = st.session_state.get("demand_file") is None
    if removed and st.session_state.get("demand_kept", ("",))[0] == "upload":
        st.session_state.pop("demand_kept", None)
    keep_demand()


def forget_demand() -> None:
    st.session_state.pop("demand_kept", None)


@st.cache_data(show_spinner=False, max_entries=8)
def kept_demand_table(kind: str, content: bytes, name: str, inputs: str, _config: Any) -> Any:
    """The kept demand table, read and checked once per content (`inputs` keys the config)."""
    from gapmap.commissioning import demo_demand_path
    from gapmap.demand import load_demand

    if kind == "demo":
        return load_demand(demo_demand_path(), _config)
    return load_demand(None, _config, content=content, name=name)


def with_kept_demand(dataset: Dataset, analysis: GapAnalysis) -> GapAnalysis:
    """`analysis` with the kept demand table's rows (`gapmap.view.demand_for_map`), if any.

    An unreadable table is reported in the Need and options tab, where it was given; the map
    then simply offers no demand rows.
    """
    kind, content, name = st.session_state.get("demand_kept", ("", b"", ""))
    if not kind or (kind == "demo" and not dataset.is_demo):
        return analysis
    try:
        demand = kept_demand_table(kind, content, name, inputs_key(), dataset.config)
        return demand_for_map(analysis, dataset.services, dataset.population, dataset.config, demand)
    except GapmapInputError:
        return analysis


def choose_cell(config: Any, analysis: GapAnalysis) -> tuple[str, str]:
    """Tier and cohort selectboxes; they open on the cell with the most gaps."""
    tiers, cohorts = list(config.tiers), list(config.cohorts)
    if "tier" not in st.session_state and "cohort" not in st.session_state:
        cell = most_gapped_cell(analysis)
        if cell is not None and cell[0] in tiers and cell[1] in cohorts:
            st.session_state["tier"], st.session_state["cohort"] = cell
    tier = st.selectbox("Tier", tiers, format_func=lambda t: label_of(config.tiers, t), key="tier")
    cohort = st.selectbox("Cohort", cohorts, format_func=lambda c: label_of(config.cohorts, c), key="cohort")
    return tier, cohort


def headline(dataset: Dataset, analysis: GapAnalysis, view: dict[str, Any], selection_label: str) -> None:
    if view["profile"].caveat:
        st.warning(f"**Caveat:** {md(view['profile'].caveat)}")
    demand = demand_choices(analysis)
    if view["benchmark_id"] in demand:
        metrics = demand_metrics(analysis, view["benchmark_id"], demand[view["benchmark_id"]])
    else:
        metrics = headline_metrics(analysis, view["profile"].benchmark(view["benchmark_id"]))
    for col, metric in zip(st.columns(4), metrics, strict=True):
        if metric is not None:
            col.metric(metric.label, metric.value, help=metric.help)
    if not view["service_filter"].is_empty:
        # Labels, not ids, and a UK date: the words of every other output (`gapmap.view`).
        described = filter_description(analysis, dataset.config)
        if view.get("cliff") is not None:
            described += f" · {view['cliff'].headline} (listed in the Gaps tab)"
        st.markdown(filter_html(described), unsafe_allow_html=True)


def area_profile(dataset: Dataset, analysis: GapAnalysis, area_code: str) -> None:
    """Everything about one area: benchmarks, tier x cohort cells, nearest services, who serves it."""
    config = dataset.config
    names = dict(zip(analysis.gaps["area_code"], analysis.gaps["area_name"], strict=False))
    st.subheader(f"Area profile: {md(names.get(area_code, area_code))}")
    st.markdown("**Every benchmark**")
    table = gaps_table(analysis)
    table = table[table["Code"] == area_code].drop(columns=["Area", "Code"])
    st.dataframe(style_status(table), hide_index=True, width="stretch", key="profile_benchmarks")

    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Tier × cohort** (✔ provided, ✖ GAP: other areas have it, – none anywhere)")
        grid = patchwork_grid(analysis, config, area_code)
        if len(grid):
            st.dataframe(style_patchwork(grid), width="stretch", key="profile_matrix")
    with right:
        st.markdown("**Nearest service of each type** (straight line)")
        nearest = nearest_services_table(analysis, config, area_code)
        st.dataframe(nearest, hide_index=True, width="stretch", key="profile_access")

    neighbourhood_access(dataset, analysis, area_code)

    from gapmap.interventions import default_catalogue, patchwork_options

    options = patchwork_options(analysis, default_catalogue(), area_code=area_code)
    if len(options):
        st.markdown(
            "**What would fill its patchwork gaps** (evidence-rated, seed 002; costs: Need and options tab)"
        )
        shown = ["tier", "cohort", "intervention", "evidence", "impact", "unit_cost", "cost_per"]
        st.dataframe(options[shown], hide_index=True, width="stretch", key="profile_options")

    st.markdown("**Services serving this area**")
    serving = services_serving(analysis, dataset.services, area_code)
    st.dataframe(serving_table(serving, config), hide_index=True, width="stretch", key="profile_services")
    n_conf = int(serving["confidential"].astype(bool).sum())
    if n_conf:
        st.caption(f"{n_conf} confidential service(s) (e.g. refuges) are counted; locations are withheld.")


@st.cache_data(show_spinner=False, max_entries=16)
def map_points(key: str, _services: Any, _config: Any) -> webmap.ServicePoints:
    """The markers' columns for the services counted (`key` keys the cache, as `shown_services`)."""
    return webmap.service_points(_services, _config)


@st.cache_data(show_spinner=False, max_entries=16)
def map_outlines(key: str, _areas: Any) -> Any:
    """Simplified area outlines for display (`key`: the dataset and the areas shown)."""
    return webmap.display_geometry(_areas)


def map_tab(dataset: Dataset, analysis: GapAnalysis, services: Any, view: dict[str, Any]) -> None:
    options = webmap.MapOptions(
        colour_by=view["colour_by"],
        benchmark_id=view["benchmark_id"],
        tier=view["tier"],
        cohort=view["cohort"],
        show_services=view["show_services"],
        show_catchments=view["show_catchments"],
        basemap=view["basemap"],
    )
    points = map_points(view["services_key"], services, dataset.config)
    shown = webmap.shown_areas(dataset.areas, analysis)
    outlines = map_outlines(repr((dataset_key(dataset), tuple(shown["area_code"]))), shown)
    m = webmap.base_map(
        dataset.areas, analysis, dataset.config, options, outlines=outlines, services=services
    )
    # Only a click on an area reruns the app: panning and zooming do not. render=False skips
    # streamlit-folium's extra whole-figure render (it renders the map itself anyway): the same
    # page, ~0.1 s sooner for all of England.
    # Imported here, not at the top: a component declared before the server exists (as when
    # `python app.py` preloads this module) is not registered with it.
    from streamlit_folium import st_folium

    # The markers go as a layer of their own: when only they change (a filter, catchments),
    # the browser keeps the map and swaps that layer. A rerun that changes nothing sends the
    # same bytes, which Streamlit replaces by a reference to what the browser already has.
    out = st_folium(
        m,
        key="map",
        height=MAP_HEIGHT,
        use_container_width=True,
        feature_group_to_add=webmap.service_group(points, dataset.config, options),
        returned_objects=["last_active_drawing"],
        render=False,
    )
    drawing = (out or {}).get("last_active_drawing") or {}
    clicked = (drawing.get("properties") or {}).get("area_code")
    if clicked and clicked != st.session_state.get("last_map_click"):
        st.session_state["last_map_click"] = clicked
        st.session_state["profile_area"] = clicked

    codes = list(analysis.selection)
    names = dict(
        zip(dataset.areas["area_code"].astype(str), dataset.areas["area_name"].astype(str), strict=True)
    )
    if st.session_state.get("profile_area") not in codes:
        st.session_state.pop("profile_area", None)
    area = st.selectbox(
        "Open an area's profile (or click an area on the map)",
        [None, *codes],
        format_func=lambda c: "Choose an area…" if c is None else names.get(c, c),
        key="profile_area",
    )
    if area:
        area_profile(dataset, analysis, area)


def cliff_section(cliff: Any) -> None:
    """The funding cliff: the services that drop off, and each benchmark before and after."""
    st.subheader(f"Funding cliff: {cliff.headline}")
    if len(cliff.services):
        st.dataframe(cliff.services, hide_index=True, width="stretch", key="cliff_services")
    st.markdown("**The whole selection before and after**")
    st.dataframe(cliff.figures, hide_index=True, width="stretch", key="cliff_figures")


def gaps_tab(dataset: Dataset, analysis: GapAnalysis, view: dict[str, Any]) -> None:
    if view.get("cliff") is not None:
        cliff_section(view["cliff"])
    only = st.checkbox("Only the chosen benchmark", value=False, key="gaps_only_chosen")
    table = gaps_table(analysis, benchmark_id=view["benchmark_id"] if only else None)
    st.dataframe(style_status(table), hide_index=True, width="stretch", height=520, key="gaps_table")
    content, file_name, mime = export_file("csv", dataset, analysis, title="", today=date.today())
    st.download_button(
        "Download the gap table (CSV)", data=content, file_name=file_name, mime=mime, key="gaps_csv"
    )


def patchwork_tab(dataset: Dataset, analysis: GapAnalysis, services: Any) -> None:
    summary = analysis.summary
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric("Patchwork index", index_text(summary.get("patchwork_index")))
    c2.metric("Population-weighted", index_text(summary.get("patchwork_index_weighted")))
    colour = c3.radio(
        "Colour by",
        ["provision", "evidence"],
        format_func={"provision": "Provision", "evidence": "Evidence in place (seed 002)"}.get,
        horizontal=True,
        key="patchwork_colour_by",
    )
    if colour == "evidence":
        st.markdown(
            " · ".join(f"{md(mark)} = {md(EVIDENCE_LABELS[k])}" for k, mark in _evidence_marks().items())
        )
        st.caption(f"{EVIDENCE_RULE} {EVIDENCE_SOURCE}")
        table, style, prefix = evidence_table(analysis, dataset.config, services), style_evidence, "evidence"
    else:
        st.markdown(
            "✔ n = provided (n services) · **✖ GAP** = other areas of the selection have it, this one "
            "does not · – none anywhere = no area of the selection has it"
        )
        table, style, prefix = patchwork_table(analysis, dataset.config), style_patchwork, "patchwork"
    # One table per tier (areas x its cohorts): five columns read on a 1280x720 projector,
    # where one table of all fifteen tier x cohort cells showed three and a half.
    for tier, part in patchwork_by_tier(table):
        st.markdown(f"**{md(tier)}**")
        st.dataframe(style(part), width="stretch", key=f"{prefix}_table_{tier}")


def _evidence_marks() -> dict[str, str]:
    from gapmap.interventions import EVIDENCE_CLASSES
    from gapmap.present import evidence_mark

    return {k: evidence_mark(k) for k in EVIDENCE_CLASSES}


def services_tab(dataset: Dataset, services: Any, choice_label: str, role: str) -> None:
    """The services counted (selection and filters), the uploader, saved versions, comparison."""
    from gapmap.storage import versions_for

    config = dataset.config
    st.subheader(f"Current list: {md(choice_label)}")
    st.markdown(md(counted_line(dataset.services, services)))
    st.dataframe(
        services_table(services, config),
        hide_index=True,
        width="stretch",
        height=320,
        key="services_current",
    )
    st.caption("Confidential services (refuges) are listed without any location.")

    if auth.allows(role, "upload"):
        upload_section(role)
    else:
        st.info("Signed in as a viewer: uploading, saving and comparing service lists need an analyst.")

    st.subheader("Saved versions")
    found = ValidationReport()
    versions = versions_for(dataset.geography, report=found)
    if found.problems:  # e.g. a damaged manifest entry: said here, the rest still works
        st.warning("Some saved versions need attention:")
        st.dataframe(report_frame(found), hide_index=True, width="stretch", key="storage_problems")
    if not versions:
        st.info("No saved versions yet.")
        return
    st.dataframe(versions_table(versions), hide_index=True, width="stretch", key="versions_table")
    if auth.allows(role, "compare"):
        compare_section(dataset, versions)


def service_uploader(widget_key: str) -> tuple[tuple[bytes, str, str], Dataset | None] | None:
    """The service-list uploader and what checking the current upload found.

    Returns the upload (content, name, SHA-256) and the checked dataset (None when the list
    cannot be used; the report says why), or None before any file is chosen. The upload lives
    in session state (`take_upload`), so it outlasts the uploader's tab.
    """
    st.file_uploader(
        "Service list (CSV or Excel)",
        type=["csv", "xlsx", "xls"],
        key=widget_key,
        on_change=take_upload,
        args=(widget_key,),
    )
    upload = current_upload()
    if upload is None:
        return None
    content, name, digest = upload
    checked, report = check_upload(digest, content, name, inputs_key())
    show_report(report, what=name)
    return upload, checked


def upload_section(role: str) -> None:
    """The uploader, its report and preview, and "Save as new version" (analysts only)."""
    st.subheader("Upload a new service list")
    uploaded = service_uploader("upload_file")
    if uploaded is not None:
        (content, name, _digest), checked = uploaded
        if checked is not None:
            st.markdown(f"**Preview** ({len(checked.services)} services)")
            st.dataframe(
                services_table(checked.services, checked.config).head(20),
                hide_index=True,
                width="stretch",
                key="upload_preview",
            )
            if st.button("Save as new version", type="primary", key="save_version"):
                save_upload(content, name, len(checked.services), role, checked.geography)
                st.rerun()  # the sidebar (drawn earlier in this run) must list the new version
    if st.session_state.get("save_message"):
        st.success(st.session_state["save_message"])


def compare_section(dataset: Dataset, versions: list[Any]) -> None:
    st.subheader("Compare two versions")
    options = {DEMO_KEY: "Demo list (fictional)"} if dataset.geography == "demo" else {}
    options.update({v.version_id: f"{v.version_id}: {v.original_name}" for v in versions})
    paths = {v.version_id: str(v.path) for v in versions}
    keys = list(options)
    if len(keys) < 2:
        st.info("Save at least two versions to compare them.")
        return
    c1, c2 = st.columns(2)
    old = c1.selectbox("Older", keys, index=len(keys) - 2, format_func=options.get, key="compare_old")
    new = c2.selectbox("Newer", keys, index=len(keys) - 1, format_func=options.get, key="compare_new")
    if old == new:
        st.info("Choose two different versions.")
        return
    from gapmap.compare import compare_versions

    old_ds = load_source(DEMO_KEY) if old == DEMO_KEY else load_source("version", paths[old], inputs_key())
    new_ds = load_source(DEMO_KEY) if new == DEMO_KEY else load_source("version", paths[new], inputs_key())
    comparison = compare_versions(
        old_ds,
        new_ds,
        profile=st.session_state.get("profile"),
        old_label=options[old],
        new_label=options[new],
    )
    show_comparison(comparison)


def show_comparison(comparison: Any) -> None:
    """Added / removed / changed services and how each area's figures moved (gapmap.compare)."""
    st.markdown(
        f"**{md(comparison.old_label)}** ({comparison.old_count} services) → "
        f"**{md(comparison.new_label)}** ({comparison.new_count} services); "
        f"services matched by {md(comparison.matched_by)}."
    )
    for note in comparison.notes:
        st.info(md(note))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Added", len(comparison.added))
    c2.metric("Removed", len(comparison.removed))
    c3.metric("Changed", comparison.changed["service_id"].nunique() if len(comparison.changed) else 0)
    c4.metric("Area figures that moved", len(comparison.moved))
    keys = {"Added services": "compare_added", "Removed services": "compare_removed"}
    for title, frame in comparison_lists(comparison):
        st.markdown(f"**{title}**")
        st.dataframe(frame, hide_index=True, width="stretch", key=keys.get(title, "compare_changed"))
    moved = comparison.moved
    if len(moved):
        st.markdown("**How each area's figures moved**")
        st.dataframe(moved_table(moved), hide_index=True, width="stretch", key="compare_moved")
    else:
        st.markdown("No area's benchmark figures moved.")
    cells = opened_or_closed_cells(comparison.coverage_changes)
    if len(cells):
        st.markdown("**Patchwork cells that opened or closed**")
        st.dataframe(cells, hide_index=True, width="stretch", key="compare_cells")


def closing_tab(dataset: Dataset, analysis: GapAnalysis, role: str, district: dict[str, Any]) -> None:
    """Need against provision, what would fill each gap and its cost, and what-if scenarios.

    `district` holds the district dataset, selection, level and vintage: a scenario changes the
    district service list and is scored as the page is (rolled up to the level when one is chosen).
    """
    from gapmap.commissioning import (
        area_profile as commissioning_profile,
    )
    from gapmap.commissioning import (
        build_commissioning,
        changes_view,
        demand_view,
        demo_demand_path,
        example_scenario_text,
    )
    from gapmap.demand import demand_for, load_demand
    from gapmap.scenarios import list_scenarios, parse_scenario, run_scenario, save_scenario

    st.subheader("Demand: need against provision")
    upload = st.file_uploader(
        "Demand table (CSV or Excel)",
        type=["csv", "xlsx"],
        key="demand_file",
        on_change=uploaded_demand_changed,
    )
    kept = st.session_state.get("demand_kept", ("", b"", ""))
    use_demo = dataset.is_demo and st.checkbox(
        "Use the demo county's demand table",
        value=kept[0] == "demo",
        key="demand_demo",
        on_change=keep_demand,
    )
    keep_demand()
    demand = None
    if upload is not None:
        demand = load_demand(None, dataset.config, content=upload.getvalue(), name=upload.name)
    elif use_demo:
        demand = load_demand(demo_demand_path(), dataset.config)
    elif kept[0] == "upload":  # given earlier in the session (the uploader forgets on leaving the tab)
        demand = load_demand(None, dataset.config, content=kept[1], name=kept[2])
        st.caption(f"Using {md(kept[2])}, uploaded earlier (the map's benchmark choice lists its rows).")
        st.button(f"Forget {md(kept[2])}", key="demand_forget", on_click=forget_demand)
    full, notes = demand_for(analysis, dataset.services, dataset.population, dataset.config, demand)
    table = demand_view(full)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch", key="demand_rows")
        for note in notes:
            st.caption(note)
    else:
        st.caption("No demand data: upload a demand table (area_code, period, marac_cases, ...).")

    extras = build_commissioning(dataset, full)
    names = dict(zip(analysis.coverage["area_code"], analysis.coverage["area_name"], strict=False))
    codes = list(analysis.selection)
    st.subheader("What is missing, what would fill it, roughly what it costs")
    area = st.selectbox("Area", codes, format_func=lambda c: names.get(c, c), key="closing_area")
    if area:
        prof = commissioning_profile(full, extras, dataset.config, area)
        for heading, key in (
            ("What is missing", "missing"),
            ("What the evidence says", "options"),
            ("Roughly what it costs", "costs"),
        ):
            st.markdown(f"**{heading}**")
            st.markdown("\n".join(f"- {md(line)}" for line in prof[key]) or "- Nothing.")

    st.subheader("What if? A scenario")
    text = st.text_area(
        "Scenario (TOML: add, remove or change services)",
        value=example_scenario_text(dataset.is_demo),
        height=260,
        key="scenario_text",
    )
    if st.button("Score this scenario", key="scenario_run"):
        scenario = parse_scenario(text.encode("utf-8"), "scenario.toml")
        st.session_state["scenario_result"] = run_scenario(
            district["dataset"],
            scenario,
            before=full,
            analyse_fn=lambda services: demand_for(
                run_analysis_for(district, analysis, services),
                services,
                dataset.population,
                dataset.config,
                demand,
            )[0],
        )
    result = st.session_state.get("scenario_result")
    if result is not None:
        changes, figures = changes_view(result)
        st.markdown(f"**{md(result.scenario.name)}**: the saved list is not changed.")
        st.dataframe(changes, hide_index=True, width="stretch", key="scenario_changes")
        st.dataframe(figures, hide_index=True, width="stretch", key="scenario_figures")
    if auth.allows(role, "save") and st.button("Save this scenario", key="scenario_save"):
        path = save_scenario(text.encode("utf-8"), "scenario.toml")
        st.success(f"Saved as {path.name}.")
    saved = list_scenarios()
    if saved:
        st.markdown("**Saved scenarios**")
        st.dataframe(saved, hide_index=True, width="stretch", key="scenario_list")


def run_analysis_for(district: dict[str, Any], analysis: GapAnalysis, services: Any) -> GapAnalysis:
    """The current view's analysis (profile, vintage, filter, selection, level) of another list."""
    dataset = district["dataset"]
    found = analyse(
        dataset.areas,
        dataset.population,
        services,
        dataset.config,
        profile=analysis.profile.id,
        service_filter=analysis.service_filter,
        selection=district["selection"] or None,
        small_area_population=dataset.small_area_population,
        population_vintage=district["vintage"],
    )
    if district["level"] != "district":
        from gapmap.levels import at_level

        found = at_level(dataclasses.replace(dataset, services=services), found, district["level"])[1]
    return found


def export_tab(dataset: Dataset, analysis: GapAnalysis, view: dict[str, Any], title: str) -> None:
    st.markdown("Exports use the current view: dataset, areas, benchmark, colouring and filters.")
    map_options = {k: view[k] for k in ("colour_by", "benchmark_id", "tier", "cohort")}
    signature = repr(
        (
            title,
            sorted(map_options.items()),
            view["service_filter"],
            analysis.selection,
            dataset.sources,
            view["profile"].id,
        )
    )
    today = date.today()
    for kind, label in EXPORT_ITEMS:
        c1, c2 = st.columns([2, 3])
        if c1.button(f"Prepare: {label}", key=f"prepare_{kind}"):
            with st.spinner(f"Preparing {label}…"):
                made = export_file(kind, dataset, analysis, title=title, today=today, **map_options)
                st.session_state[f"export_{kind}"] = (signature, *made)
        ready = st.session_state.get(f"export_{kind}")
        if ready and ready[0] == signature:
            c2.download_button(
                f"Download {label}", data=ready[1], file_name=ready[2], mime=ready[3], key=f"download_{kind}"
            )


def method_tab(dataset: Dataset, view: dict[str, Any], analysis: GapAnalysis | None = None) -> None:
    config = dataset.config
    for profile in config.profiles.values():
        st.subheader(f"Benchmarks: {md(profile.label)}" + (" (default)" if profile.default else ""))
        shown = analysis if analysis is not None and analysis.profile.id == profile.id else None
        st.markdown(benchmark_lines(profile, config, shown))
    st.markdown(status_rule_text(config))
    st.markdown(population_rule_text(analysis))
    st.subheader("Prevention tiers")
    st.dataframe(tiers_table(config), hide_index=True, width="stretch", key="method_tiers")
    st.subheader("Cohorts")
    st.dataframe(cohorts_table(config), hide_index=True, width="stretch", key="method_cohorts")
    st.subheader("The patchwork")
    st.markdown(
        "A tier × cohort cell (for example *secondary × perpetrators*) is a **patchwork gap** in an "
        "area when no service of that tier for that cohort serves the area although at least one "
        "other area of the selection has one. The **patchwork index** is the share of "
        "area × cell combinations that are patchwork gaps, among the cells provided somewhere in "
        "the selection (0 = every area has what any area has; 1 = nothing is shared); the "
        "weighted index weights areas by population. Cells with nothing anywhere are shown "
        "separately: they are partnership-wide gaps."
    )
    st.subheader("Confidential services")
    st.markdown(
        "Refuges and other confidential services count in their area's figures but are never "
        "shown as a point, in a tooltip or with an address, on screen or in any export."
    )
    st.subheader("Data used")
    st.dataframe(sources_table(dataset.sources), hide_index=True, width="stretch", key="method_sources")


# --------------------------------------------------------------------------- the page
def show_input_error(exc: GapmapInputError) -> None:
    """The one place a user's input mistake is shown: a readable report, never a traceback."""
    st.error("Some of the data could not be used. What is wrong and how to fix it:")
    st.dataframe(report_frame(exc.report), hide_index=True, width="stretch", key="input_errors")


def no_dataset_yet(role: str) -> None:
    """England or your own files before a service list: say so and offer the upload."""
    geo = geography()
    st.title(GEOGRAPHY_LABELS.get(geo, geo))
    if geo == OWN and "boundaries" not in own_files():
        st.info("Upload your boundary file (and population) under **Your own files** in the sidebar.")
        return
    if not auth.allows(role, "upload"):
        st.info("Signed in as a viewer: an analyst uploads the service list for this geography.")
        return
    st.info(
        "Upload your service list to see it on this geography; it is checked first and only shown "
        "if it fits. Nothing is saved until you choose to."
    )
    service_uploader("upload_file_start")


def page(role: str) -> None:
    st.sidebar.header("What to show")
    sidebar_geography()
    picked = sidebar_dataset()
    if picked is None:
        no_dataset_yet(role)
        return
    choice, choice_label, version_path = picked
    dataset = get_dataset(choice, version_path)
    selection, selection_label = sidebar_selection(dataset)
    level = sidebar_level(dataset)
    view = sidebar_view(dataset)
    analysis = run_analysis(
        dataset_key(dataset),
        dataset,
        view["profile"].id,
        view["service_filter"],
        selection,
        view["population_vintage"],
    )
    district = {
        "dataset": dataset,
        "selection": selection,
        "level": level,
        "vintage": view["population_vintage"],
    }
    view["cliff"] = None
    if view["service_filter"].on is not None:
        from gapmap.cliff import funding_cliff

        # The same view without the date: what the funding cliff takes away.
        before = run_analysis(
            dataset_key(dataset),
            dataset,
            view["profile"].id,
            dataclasses.replace(view["service_filter"], on=None),
            selection,
            view["population_vintage"],
        )
        view["cliff"] = funding_cliff(dataset.services, before, analysis, dataset.config)
    if level != "district":
        from gapmap.levels import at_level

        dataset, analysis = at_level(dataset, analysis, level)
    view["services_key"] = repr((dataset_key(dataset), view["service_filter"], analysis.selection, level))
    services = shown_services(view["services_key"], dataset, analysis)
    # The map, headline, gaps and exports also hold the demand rows of a kept demand table; the
    # Need and options tab adds its own to the population analysis.
    population_only, analysis = analysis, with_kept_demand(dataset, analysis)
    with view["bench_box"]:
        view["benchmark_id"] = choose_benchmark(view["profile"], analysis)
    if view["colour_by"] in ("patchwork", "evidence"):
        with view["cell_box"]:
            view["tier"], view["cohort"] = choose_cell(dataset.config, analysis)

    title = f"{selection_label}: domestic abuse and sexual violence services"
    st.title(selection_label)
    st.markdown(
        kicker_html(choice_label, fictional=dataset.is_demo, today=date.today()), unsafe_allow_html=True
    )
    # The dataset label holds the uploaded file's name: escaped, so a name cannot turn into a
    # link, an image or emphasis in the caption's markdown.
    st.caption(geography_line(dataset.geography, md(choice_label), level))
    headline(dataset, analysis, view, selection_label)

    # Lazy tabs: only the open tab runs, so the first page (the map) arrives sooner and a
    # change of filter recomputes only what that tab shows.
    names = ["Map", "Gaps", "Patchwork", "Need and options", "Services", "Export", "Method"]
    tabs = dict(zip(names, st.tabs(names, key="tab", on_change="rerun"), strict=True))
    sections = {
        "Map": lambda: map_tab(dataset, analysis, services, view),
        "Gaps": lambda: gaps_tab(dataset, analysis, view),
        "Patchwork": lambda: patchwork_tab(dataset, analysis, services),
        "Need and options": lambda: closing_tab(dataset, population_only, role, district),
        "Services": lambda: services_tab(dataset, services, choice_label, role),
        "Export": lambda: export_tab(dataset, analysis, view, title),
        "Method": lambda: method_tab(dataset, view, analysis),
    }
    for name, tab in tabs.items():
        if tab.open:
            with tab:
                sections[name]()


def main() -> None:
    st.set_page_config(
        page_title="gapmap: DA and SV provision", layout="wide", initial_sidebar_state="expanded"
    )
    st.markdown(PAGE_CSS, unsafe_allow_html=True)
    role = sign_in_gate()
    sync_uploaded_file(role)
    try:
        page(role)
    except GapmapInputError as exc:
        # Whatever was drawn before the problem (sidebar, title) stays, so another dataset
        # can be chosen.
        show_input_error(exc)


main()
