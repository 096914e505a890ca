"""Fixtures of the lake tests: private copies of the landed small demo's warehouse, and one lake
published from it (read only) that the read-side tests share."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from control_tower.lake.publish import LakeReport, publish_lake
from control_tower.lake.tables import LakeTable, lake_tables
from control_tower.settings import Settings
from tests.support.demo_data import DEMO_AS_OF


def copy_warehouse(settings: Settings, folder: Path) -> Path:
    """A private copy of the demo's warehouse in `folder` (safe to change)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "warehouse.duckdb"
    shutil.copy2(settings.warehouse_path, target)
    wal = settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + ".wal"))
    return target


@dataclass(frozen=True)
class Published:
    """A lake published once from a copy of the demo's warehouse."""

    warehouse: Path
    lake: Path
    report: LakeReport
    tables: tuple[LakeTable, ...]


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
