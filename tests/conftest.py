"""Shared fixtures. Real public data lives beside the repo at ../shared/data (never copied in)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_shared_data() -> Path:
    """The ../shared/data folder; skip without it locally, fail without it on CI."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    message = f"../shared/data not found at {SHARED_DATA}"
    if in_ci():
        pytest.fail(message + " (CI=true: the real-data tests must run)")
    pytest.skip(message)


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


#: The date the demo is validated against in export tests (the demo's funding dates are fixed).
DEMO_TODAY = date(2026, 11, 22)


@pytest.fixture(scope="session")
def demo():
    """The fictional demo county and its default analysis (read-only: shared by many tests)."""
    from gapmap.dataset import load_demo
    from gapmap.engine import analyse

    dataset = load_demo(today=DEMO_TODAY)
    analysis = analyse(dataset.areas, dataset.population, dataset.services, dataset.config)
    return dataset, analysis


@pytest.fixture(autouse=True)
def _isolated_saved_versions(tmp_path, monkeypatch):
    """No test may write into the repository's data/services/saved."""
    from gapmap import settings

    monkeypatch.setattr(settings, "SAVED_SERVICES_DIR", tmp_path / "saved_versions")


@pytest.fixture(autouse=True)
def _no_sign_in_unless_a_test_asks(tmp_path, monkeypatch):
    """No users file (so no sign-in) and a fresh sign-in throttle, whatever the machine has."""
    from gapmap import auth, settings

    monkeypatch.setattr(settings, "USERS_FILE", tmp_path / "no_users.json")
    monkeypatch.setattr(settings, "SIGN_IN_REQUIRED", False)
    auth.THROTTLE.reset()
