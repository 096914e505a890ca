"""Fixtures of the landing tests: a warehouse holding the clean baseline, copied per test.

These tests are of landing (batches, quarantine, upserts, the landed tables), so the
pipeline runs they make land and publish without the post-load steps (risk, exceptions,
KPIs...), which their own tests exercise; the baseline is landed with every step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines.run
from tests.support.extracts import baseline_files, copy_home, land


@pytest.fixture(scope="session")
def baseline_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose warehouse holds the baseline of every contract table (landed once)."""
    home = tmp_path_factory.mktemp("baseline") / "home"
    report = land(home, baseline_files())
    statuses = {b.table: b.status for b in report.ingest.batches}
    assert statuses == dict.fromkeys(statuses, "loaded"), statuses
    assert report.ingest.rows_quarantined == 0
    return home


@pytest.fixture
def home(baseline_home: Path, tmp_path: Path) -> Path:
    """A private copy of the baseline data folder."""
    return copy_home(baseline_home, tmp_path / "home")


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    """A data folder with nothing landed yet."""
    return tmp_path / "empty"


@pytest.fixture(autouse=True)
def _landing_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's pipeline runs (in this process) skip the post-load steps."""
    monkeypatch.setattr(pipelines.run, "POST_LOAD_STEPS", [])
