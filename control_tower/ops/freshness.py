"""Source freshness: for every contract table, its newest batch and newest data, against its SLA.

Materialised by the `freshness` post-load step into `ops.table_freshness`;
the age is computed by readers against the current time, so a source that
stops delivering turns stale even when nothing else runs.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from control_tower.contracts import TABLES, ColumnType, Table

# A batch proves its source is delivering when it loaded, unless every row it read was bad.
DELIVERED = "status = 'loaded' AND (rows_read = 0 OR rows_quarantined < rows_read)"


def data_time_column(table: Table) -> str | None:
    """The column that dates a row's content: the version stamp, else its first time or date."""
    if table.cursor:
        return table.cursor
    for kind in (ColumnType.TIMESTAMP, ColumnType.DATE):
        for col in table.columns:
            if col.type is kind:
                return col.name
    return None


def refresh_freshness(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild ops.table_freshness; returns the number of tables described."""
    parts = []
    for table in TABLES.values():
        col = data_time_column(table)
        newest = f"CAST(max({col}) AS TIMESTAMP)" if col else "NULL::TIMESTAMP"
        parts.append(
            f"SELECT '{table.system}' AS system, '{table.name}' AS table_name, "
            f"count(*) AS row_count, {newest} AS newest_data_at, "
            f"'{col or ''}' AS data_time_column, "
            f"CAST({float(table.freshness_sla_hours)} AS DOUBLE) AS sla_hours "
            f"FROM main.{table.name}"
        )
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "CREATE OR REPLACE TABLE ops.table_freshness AS "
        "WITH t AS (" + " UNION ALL ".join(parts) + "), "
        f"b AS (SELECT table_name, max(finished_at) FILTER (WHERE {DELIVERED}) AS last_loaded_at, "
        f"  max(batch_id) FILTER (WHERE {DELIVERED}) AS last_batch_id, "
        "  count(*) FILTER (WHERE status = 'loaded') AS batches_loaded, "
        "  count(*) FILTER (WHERE status = 'rejected') AS batches_rejected, "
        "  sum(rows_quarantined) AS rows_quarantined "
        "  FROM ops.batches GROUP BY table_name) "
        "SELECT t.*, b.last_loaded_at, b.last_batch_id, coalesce(b.batches_loaded, 0) AS batches_loaded, "
        "coalesce(b.batches_rejected, 0) AS batches_rejected, "
        "coalesce(b.rows_quarantined, 0) AS rows_quarantined, now()::TIMESTAMP AS computed_at "
        "FROM t LEFT JOIN b USING (table_name) ORDER BY system, table_name"
    )
    con.execute("COMMIT")
    return len(parts)


def freshness_status(last_loaded_at: datetime | None, sla_hours: float, now: datetime) -> str:
    """fresh, stale or never, for a table last loaded at `last_loaded_at` (UTC, naive)."""
    if last_loaded_at is None:
        return "never"
    age_h = (now - last_loaded_at).total_seconds() / 3600
    return "fresh" if age_h <= sla_hours else "stale"
