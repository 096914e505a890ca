"""Fixtures of the risk tests: the session's small demo, whose pipeline run trained and scored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def landed(demo_home: Path) -> Path:
    """The data folder of the landed small demo; the risk step trained and scored (do not change)."""
    return demo_home


@pytest.fixture
def home(landed: Path, tmp_path: Path) -> Path:
    """A private copy of the landed data folder."""
    dest = tmp_path / "home"
    shutil.copytree(landed, dest)
    return dest
