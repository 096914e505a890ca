"""The extract contract: every canonical ERP, WMS and TMS table, its key, columns and checks.

This package is the single source of truth for what an extract must look like
(see the README's "Extract contract" section). The landing pipeline, the demo
generator and the data-health page all read these declarations; nothing else
spells out a table's columns.
"""

from __future__ import annotations

from control_tower.contracts.model import Column, ColumnType, Reference, Table, TimezoneSource
from control_tower.contracts.tables import (
    LOAD_ORDER,
    SYSTEMS,
    TABLES,
    table,
    tables_for_system,
)

__all__ = [
    "LOAD_ORDER",
    "SYSTEMS",
    "TABLES",
    "Column",
    "ColumnType",
    "Reference",
    "Table",
    "TimezoneSource",
    "table",
    "tables_for_system",
]
