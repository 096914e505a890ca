"""Helpers of the lake tests: a private copy of a landed warehouse, and a published lake."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from control_tower.lake.publish import LakeReport
from control_tower.lake.tables import LakeTable
from control_tower.settings import Settings


def copy_warehouse(settings: Settings, folder: Path) -> Path:
    """A private copy of the warehouse of `settings` in `folder` (safe to change)."""
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
