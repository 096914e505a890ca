"""Helpers of the engine tests."""

from __future__ import annotations

import duckdb

from control_tower.engines.transpile import Schema, schema_of
from control_tower.storage.schema import ensure_schema


def warehouse_schema() -> Schema:
    """The columns of every table of a new warehouse (landed and derived), as the transpiler
    takes them."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        return schema_of(con)
    finally:
        con.close()
