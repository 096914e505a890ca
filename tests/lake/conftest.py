"""Fixtures of the lake tests: private copies of the landed small demo's warehouse, and one lake
published from it (read only) that the read-side tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from control_tower.lake.publish import publish_lake
from control_tower.lake.tables import lake_tables
from control_tower.settings import Settings
from tests.support.demo_data import DEMO_AS_OF
from tests.support.lake import Published, copy_warehouse


@pytest.fixture(scope="module")
def published(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The small demo published into a lake (read only: change a copy)."""
    folder = tmp_path_factory.mktemp("lake")
    warehouse = copy_warehouse(demo_settings, folder / "home")
    con = duckdb.connect(str(warehouse))
    try:
        tables = tuple(lake_tables(con))
        report = publish_lake(con, folder / "lake", as_of=DEMO_AS_OF, tables=tables)
    finally:
        con.close()
    return Published(warehouse, folder / "lake", report, tables)


@pytest.fixture
def writable(demo_settings: Settings, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a private copy of the demo's warehouse."""
    con = duckdb.connect(str(copy_warehouse(demo_settings, tmp_path / "home")))
    yield con
    con.close()
