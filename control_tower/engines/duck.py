"""The default engine: DuckDB runs the governed SQL as written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from control_tower.engines.base import EngineError


class DuckDBEngine:
    """Governed SQL on a DuckDB connection (the warehouse, or one over a lake's views)."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query_arrow(self, sql: str, params: Mapping[str, Any], *, what: str) -> pa.Table:
        try:
            return self.con.sql(sql, params=dict(params)).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(f"{what}: DuckDB could not run the query: {exc}") from exc

    def create_temp_view(
        self, name: str, sql: str, params: Mapping[str, Any], *, what: str
    ) -> None:
        # A temp table, not a view: later queries read it many times.
        try:
            self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}', dict(params))
        except duckdb.Error as exc:
            raise EngineError(f"{what}: DuckDB could not build {name}: {exc}") from exc

    def drop_temp_view(self, name: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        """The connection belongs to the caller."""
