"""A refuge's location must never leave the aggregate (domain.md, "Confidential locations").

The demo service list plus one confidential refuge that has everything an analyst might type:
coordinates, a postcode and an address. It is placed in open country inside Dunstow Vale, about
4 km from every area boundary and every demo postcode, so no other number in any output can
look like its position. The full `python -m gapmap report` CLI runs into a temp folder; then
every output is searched for the refuge's coordinates (any rounding, either decimal mark, as a
lat/lon pair or in British National Grid metres), its postcode and its address.
"""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from pyproj import Transformer

from gapmap import webmap
from gapmap.cli import main
from gapmap.dataset import load_dataset, load_demo
from gapmap.engine import analyse
from gapmap.settings import DEMO_BOUNDARIES, DEMO_POPULATION, DEMO_POSTCODES, DEMO_SERVICES

SECRET_LAT, SECRET_LON = 54.10471, 1.48127
SECRET_AREA = "E07999003"  # Dunstow Vale
SECRET_POSTCODE = "QX4 7HD"
SECRET_ADDRESS = "17 Lantern Row, Dunstow Vale"
SECRET_CAPACITY = 7
SECRET = {
    "service_id": "FEN-SECRET",
    "name": "Lantern House Refuge (fictional)",
    "service_type": "refuge",
    "provider": "Fenmarsh Women's Aid (fictional)",
    "postcode": SECRET_POSTCODE,
    "latitude": str(SECRET_LAT),
    "longitude": str(SECRET_LON),
    "address": SECRET_ADDRESS,
    "capacity": str(SECRET_CAPACITY),
    "capacity_unit": "family_spaces",
    "hours": "24_7",
    "confidential": "true",
}
#: The demo county's other inputs (the CLI uses the demo files only when no services are given).
DEMO_INPUTS = (
    "--boundaries",
    str(DEMO_BOUNDARIES),
    "--population",
    str(DEMO_POPULATION),
    "--postcodes",
    str(DEMO_POSTCODES),
)
#: Within this many characters a latitude and a longitude count as one written position.
PAIR_WINDOW = 80


def _coordinate_pattern(value: float) -> str:
    """Regex for `value` written to 3+ decimals, rounded or truncated, with '.' or ','."""
    whole, _, frac = f"{value:.5f}".partition(".")
    options = {frac[:3], f"{round(value, 3):.3f}".partition(".")[2]}
    return rf"(?<![\d.]){whole}[.,](?:{'|'.join(sorted(options))})\d*"


def _bng_patterns() -> tuple[str, str]:
    e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(SECRET_LON, SECRET_LAT)
    # To 100 m: the first digits of the easting/northing in metres (or km with decimals).
    e_digits, n_digits = f"{e:.0f}"[:4], f"{n:.0f}"[:4]
    return rf"(?<!\d){e_digits[:3]}[.,]?{e_digits[3]}\d*", rf"(?<!\d){n_digits[:3]}[.,]?{n_digits[3]}\d*"


def leaks(text: str) -> list[str]:
    """What of the secret refuge's location `text` gives away (empty when nothing)."""
    found = []
    if re.search(re.escape(SECRET_POSTCODE).replace(r"\ ", r"\s*"), text, flags=re.I):
        found.append("postcode")
    if "lantern row" in text.lower():
        found.append("address")
    pairs = [
        ("lat/lon", _coordinate_pattern(SECRET_LAT), _coordinate_pattern(SECRET_LON)),
        ("easting/northing", *_bng_patterns()),
    ]
    for label, a, b in pairs:
        for m in re.finditer(a, text):
            window = text[max(0, m.start() - PAIR_WINDOW) : m.end() + PAIR_WINDOW]
            if re.search(b, window):
                found.append(f"{label} near {window!r}")
                break
    return found


def xlsx_text(data: bytes) -> str:
    """Every cell of every sheet, one line per row."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    lines = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            lines.append(", ".join("" if v is None else str(v) for v in row))
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def services_with_secret(tmp_path_factory):
    folder = tmp_path_factory.mktemp("secret")
    with open(DEMO_SERVICES, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    if "address" not in fields:
        fields.append("address")
    rows.append({k: SECRET.get(k, "") for k in fields})
    path = folder / "services_with_secret_refuge.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def report_out(services_with_secret, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
        code = main(
            [
                "report",
                "--services",
                str(services_with_secret),
                *DEMO_INPUTS,
                "--out",
                str(out),
                "--title",
                "Secret",
            ]
        )
    assert code == 0, capture.getvalue()
    return out, capture.getvalue()


def test_the_detector_finds_what_it_looks_for(services_with_secret):
    assert leaks(services_with_secret.read_text(encoding="utf-8"))  # the input holds everything
    for text in (
        "[1.48127, 54.10471]",
        '"lat": 54.105, "lng": 1.481',
        "54,1047;1,4813",
        "qx47hd",
        "Refuge at 17 LANTERN ROW",
    ):
        assert leaks(text), text
    assert leaks("1.4813 54.1047") and not leaks("54.1047 alone") and not leaks("11.48127 154.10471")
    e, n = Transformer.from_crs(4326, 27700, always_xy=True).transform(SECRET_LON, SECRET_LAT)
    assert leaks(f"POINT ({e:.1f} {n:.1f})")


def test_refuge_is_counted_in_its_area(services_with_secret, report_out):
    out, _ = report_out
    gaps = pd.read_csv(out / "gaps.csv", dtype={"area_code": str})
    demo = load_demo()
    base = analyse(demo.areas, demo.population, demo.services, demo.config).gaps

    def provided(frame):
        row = frame[(frame["area_code"] == SECRET_AREA) & (frame["benchmark_id"] == "refuge_family_spaces")]
        return float(row["provided"].iloc[0])

    assert provided(gaps) > 0
    # All of its 7 family spaces go to the area containing it (a located service with no `serves`).
    assert provided(gaps) - provided(base) == pytest.approx(SECRET_CAPACITY, abs=1e-3)
    coverage = pd.read_csv(out / "coverage.csv", dtype={"area_code": str})
    cell = coverage[
        (coverage["area_code"] == SECRET_AREA)
        & (coverage["tier"] == "tertiary")
        & (coverage["cohort"] == "victims")
    ]
    assert int(cell["services"].iloc[0]) >= 1


def test_no_output_of_the_report_reveals_the_refuge(report_out):
    out, console = report_out
    expected = {"gaps.csv", "coverage.csv", "access.csv", "summary.json", "map.png", "map.pdf", "map.html"}
    expected |= {"gaps.xlsx", "pack.pdf"}
    assert expected <= {p.name for p in out.iterdir()}
    texts = {
        "console": console,
        "gaps.csv": (out / "gaps.csv").read_text(encoding="utf-8"),
        "coverage.csv": (out / "coverage.csv").read_text(encoding="utf-8"),
        "access.csv": (out / "access.csv").read_text(encoding="utf-8"),
        "summary.json": (out / "summary.json").read_text(encoding="utf-8"),
        "map.html": (out / "map.html").read_text(encoding="utf-8"),
        "gaps.xlsx": xlsx_text((out / "gaps.xlsx").read_bytes()),
        "map.pdf": pdf_text((out / "map.pdf").read_bytes()),
        "pack.pdf": pdf_text((out / "pack.pdf").read_bytes()),
    }
    json.loads(texts["summary.json"])  # really read it
    for name, text in texts.items():
        assert text, name
        assert leaks(text) == [], name


def test_the_scan_reads_every_workbook_cell(report_out):
    """Public services keep their coordinates in the Services sheet: the same scan sees them."""
    out, _ = report_out
    text = xlsx_text((out / "gaps.xlsx").read_bytes())
    assert "Lantern House Refuge (fictional)" in text  # the refuge's row is there, location-less
    public = load_demo().services
    first = public[~public["confidential"] & public["latitude"].notna()].iloc[0]
    assert re.search(_coordinate_pattern(float(first["latitude"])), text)


@pytest.mark.parametrize("catchments", [False, True])
def test_folium_map_and_tooltips_never_show_the_refuge(services_with_secret, catchments):
    dataset = load_dataset(
        services=services_with_secret,
        boundaries=DEMO_BOUNDARIES,
        population=DEMO_POPULATION,
        postcodes=DEMO_POSTCODES,
    )
    secret_rows = dataset.services[dataset.services["service_id"] == "FEN-SECRET"]
    assert bool(secret_rows["confidential"].iloc[0])
    assert secret_rows["latitude"].notna().all()  # the loader kept it (the engine needs it)
    analysis = analyse(dataset.areas, dataset.population, dataset.services, dataset.config)
    for colour_by in ("benchmark", "patchwork"):
        m = webmap.build_map(
            dataset.areas,
            analysis,
            dataset.services,  # NOT redacted: the renderer must protect it on its own
            dataset.config,
            colour_by=colour_by,
            benchmark_id="refuge_family_spaces" if colour_by == "benchmark" else None,
            tier="tertiary",
            cohort="victims",
            show_catchments=catchments,
            asset_mode="inline",
        )
        html = webmap.standalone_html(m)
        assert leaks(html) == []
