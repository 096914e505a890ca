"""Fixtures of the action request tests: a private copy of the small demo (requests change the
app database), its serving snapshot and its exception store."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import Settings
from tests.support.data_copies import private_copy


@pytest.fixture(scope="module")
def settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the small demo."""
    return private_copy(demo_settings, tmp_path_factory.mktemp("requests"))


@pytest.fixture(scope="module")
def cur(snapshot: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The small demo's serving snapshot (requests change the app database, never the data)."""
    return snapshot


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[ExceptionStore]:
    """The copy's exception store (requests live beside the items)."""
    with ExceptionStore.open(settings.app_db_url) as opened:
        yield opened
