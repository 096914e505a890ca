"""Fixtures of the exception tests: the exception_cases delivery landed once per session, copied per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.exception_cases import fresh_home, land


@pytest.fixture(scope="session")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the DELIVERY of exception_cases landed (do not change it: copy it)."""
    home = tmp_path_factory.mktemp("exc-landed")
    report = land(home)
    assert report.status == "ok", report.steps
    return home


@pytest.fixture
def home(landed: Path, tmp_path: Path) -> Path:
    """A private copy of the landed data folder with an empty exception queue."""
    return fresh_home(landed, tmp_path / "home")
