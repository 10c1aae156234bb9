"""`pip install .` gives a `gapmap` command with the package data (checked by hand in a fresh
venv; here, without network, that pyproject.toml declares what that needs)."""

from __future__ import annotations

import fnmatch
import importlib
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
