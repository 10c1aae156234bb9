"""`pip install .` gives a `gapmap` command with the package data (checked by hand in a fresh
venv; here, without network, that pyproject.toml declares what that needs, and that a copy of
exactly those files runs the demo report with an offline map)."""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_build_backend_and_console_script():
    data = _pyproject()
    assert data["build-system"]["build-backend"] == "setuptools.build_meta"
    module, _, function = data["project"]["scripts"]["gapmap"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    assert data["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}


def test_package_data_covers_england_and_the_toml_files():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["gapmap"]
    package = REPO / "gapmap"
    shipped = [p.relative_to(package).as_posix() for p in (package / "data" / "england").iterdir()]
    shipped += [p.name for p in package.glob("*.toml")]
    assert {"data/england/england.gpkg", "data/england/README.md", "vocabulary.toml"} <= set(shipped)
    for name in shipped:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def _package_files() -> list[Path]:
    """What `pip install .` puts in site-packages/gapmap: every module, plus the package data
    (setuptools globs each pattern under the package folder, `*` not crossing a `/`)."""
    package = REPO / "gapmap"
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["gapmap"]
    files = {p for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    for pattern in patterns:
        files |= {p for p in package.glob(pattern) if p.is_file()}
    return sorted(files)


def test_leaflet_ships_in_the_package_with_its_licence():
    shipped = {p.relative_to(REPO / "gapmap").as_posix() for p in _package_files()}
    leaflet = {"vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/LICENSE"}
    assert leaflet <= shipped
    # Every image leaflet.css refers to travels too (HTML exports inline them as data: URIs).
    css = (REPO / "gapmap" / "vendor" / "leaflet" / "leaflet.css").read_text(encoding="utf-8")
    for image in re.findall(r"url\((images/[^)]+)\)", css):
        assert f"vendor/leaflet/{image}" in shipped, image
    js = (REPO / "gapmap" / "vendor" / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in js[:200]
    assert "BSD 2-Clause License" in (REPO / "gapmap" / "vendor" / "leaflet" / "LICENSE").read_text()


def test_installed_copy_writes_an_offline_map_of_the_demo(tmp_path):
    # The package as pip installs it, alone in a folder: no data/, no static/, no app.py beside
    # it. The libraries come from this interpreter.
    site = tmp_path / "site-packages"
    for source in _package_files():
        target = site / source.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPMAP_")}
    env.update(PYTHONPATH=str(site), XDG_DATA_HOME=str(tmp_path / "home"), HOME=str(tmp_path / "home"))
    out = tmp_path / "report"
    code = "import sys, gapmap.cli; print(gapmap.cli.__file__); sys.exit(gapmap.cli.main())"
    run = subprocess.run(
        [sys.executable, "-c", code, "report", "--out", str(out), "--no-pack", "--no-xlsx"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert Path(run.stdout.splitlines()[0]).is_relative_to(site)  # the copy ran, not the checkout
    # The demo county was written on first use, byte for byte the checkout's.
    demo = tmp_path / "home" / "gapmap" / "demo"
    for name in ("boundaries/demo_county.geojson", "services/demo_county_services.csv"):
        assert (demo / name).read_bytes() == (REPO / "data" / name).read_bytes(), name
    assert "(demo data: the fictional county, not real provision)" in run.stdout
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in html  # inlined
    # Offline: nothing the page loads comes from elsewhere.
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"<link[^>]*\shref=[\"']?(https?:)?//", html, re.I)
