"""Batches written into a copy of the landed demo's warehouse as landing writes them, for the
tests of incremental KPI refreshes."""

from __future__ import annotations

from datetime import datetime

import duckdb

from control_tower.storage.changes import Changes

LOADED_AT = datetime(2026, 3, 18, 11, 30)  # after the demo was landed


class Landing:
    """Batches written into the warehouse as landing writes them."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.loaded: list[tuple[str, int]] = []

    def batch(self, table: str) -> int:
        row = self.con.execute("SELECT max(batch_id) + 1 FROM ops.batches").fetchone()
        assert row is not None
        batch_id = int(row[0])
        self.con.execute(
            "INSERT INTO ops.batches (batch_id, table_name, file_name, source_path, status, "
            "started_at, finished_at) VALUES (?, ?, ?, ?, 'loaded', ?, ?)",
            [batch_id, table, f"{table}.csv", f"inbox/{table}.csv", LOADED_AT, LOADED_AT],
        )
        self.loaded.append((table, batch_id))
        return batch_id

    def update(self, table: str, assignments: str, where: str) -> None:
        """Rows of `table` matching `where` replaced by newer versions."""
        batch_id = self.batch(table)
        self.con.execute(f"UPDATE {table} SET {assignments}, _batch_id = {batch_id} WHERE {where}")

    def insert(self, table: str, select: str) -> None:
        """New rows of `table`: `select` returns them (without _batch_id and _loaded_at)."""
        batch_id = self.batch(table)
        self.con.execute(
            f"INSERT INTO {table} SELECT *, {batch_id}, TIMESTAMP '{LOADED_AT}' FROM ({select})"
        )

    def changes(self) -> Changes:
        loaded, self.loaded = self.loaded, []
        return Changes.of_batches(loaded)
