"""Fixtures of the risk tests: the small demo (seed 7) landed once per session through the pipeline."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from control_tower.demo import generate
from control_tower.settings import load_settings
from pipelines.run import run_pipeline

AS_OF = dt.date(2026, 3, 15)


@pytest.fixture(scope="session")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the small demo landed; the risk step trained and scored (do not change)."""
    home = tmp_path_factory.mktemp("risk-landed")
    settings = load_settings(home)
    settings.ensure_dirs()
    generate(settings.inbox, seed=7, scale="small", as_of=AS_OF)
    report = run_pipeline(settings, trigger="cli", inbox=settings.inbox)
    assert report.status == "ok", report.steps
    return home


@pytest.fixture
def home(landed: Path, tmp_path: Path) -> Path:
    """A private copy of the landed data folder."""
    dest = tmp_path / "home"
    shutil.copytree(landed, dest)
    return dest
