"""Fixtures of the KPI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from control_tower.kpi.catalog import DEFAULT_DIR


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of the shipped definitions, to edit."""
    return Path(shutil.copytree(DEFAULT_DIR, tmp_path / "kpi_definitions"))
