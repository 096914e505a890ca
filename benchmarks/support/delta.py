"""A delta drop: updates of a fixed share of the landed order lines, as one extract file.

It is what an ERP delivers between two full extracts: newer versions of
existing lines, with their status moved one step on (open -> released ->
shipped -> closed, backordered -> released) and, on every other chosen line,
one more unit in the line's unit of measure. The file follows the extract
contract (its required columns, typed as the contract reads them, timestamps
as UTC instants), so it lands through the ordinary upsert: every row is an
update that wins on `updated_at`.

The lines are every n-th line in key order (n = 1 / fraction), so the same
landed data always gives the same file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from control_tower.contracts import ColumnType, table

TABLE = table("sales_order_lines")
KPI = "unit_fill_rate"  # its denominator sums the ordered units of measurable lines
# One step on in the order's life; a closed or cancelled line keeps its status.
NEXT_STATUS = {
    "open": "released",
    "released": "shipped",
    "backordered": "released",
    "shipped": "closed",
}


@dataclass(frozen=True)
class DeltaDrop:
    """The file written and what serving it must show."""

    path: Path
    rows: int
    quantity_changes: int
    status_changes: int
    # unit_fill_rate, overall by day: the change of each day's denominator the delta causes
    denominator_change: dict[date, float] = field(default_factory=dict)


def _status_sql() -> str:
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in NEXT_STATUS.items())
    return f"CASE status {cases} ELSE status END"


def _text(name: str, kind: ColumnType) -> str:
    """The landed value of a contract column written back as the contract reads it."""
    col = f'"{name}"'
    if kind is ColumnType.TIMESTAMP:  # landed in UTC: an instant with Z
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%SZ')"
    if kind is ColumnType.DATE:
        return f"strftime({col}, '%Y-%m-%d')"
    return f"CAST({col} AS VARCHAR)"


def write_order_line_delta(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    *,
    fraction: float,
    changed_at: datetime,
    as_of: date,
) -> DeltaDrop:
    """Write `fraction` of the landed order lines, changed, to `inbox/erp/` (atomically).

    `con` reads the landed warehouse; `changed_at` (UTC) is the new `updated_at` (or one
    minute after a line's landed one, when that is later, so every row wins); `as_of` is the
    KPI evaluation date the expected denominator changes are computed for.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"the delta fraction must be in (0, 1], got {fraction}")
    every = max(1, round(1 / fraction))
    stamp = changed_at.strftime("%Y-%m-%d %H:%M:%S")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _delta AS
        SELECT *, {_status_sql()} AS new_status,
            (n // {every}) % 2 = 1 AS more_qty,
            greatest(updated_at + INTERVAL 1 MINUTE, TIMESTAMP '{stamp}') AS new_updated_at
        FROM (SELECT *, row_number() OVER (ORDER BY order_id, line_no) - 1 AS n
              FROM sales_order_lines)
        WHERE n % {every} = 0"""
    )
    overrides = {
        "status": "new_status",
        "ordered_qty": "CAST(CAST(ordered_qty / uom_factor AS DECIMAL(18,4))"
        " + CASE WHEN more_qty THEN 1 ELSE 0 END AS VARCHAR)",
        "updated_at": "strftime(new_updated_at, '%Y-%m-%dT%H:%M:%SZ')",
    }
    selects = ", ".join(
        f'{overrides.get(c.name) or _text(c.name, c.type)} AS "{c.name}"'
        for c in TABLE.columns
        if c.required
    )
    erp = inbox / "erp"
    erp.mkdir(parents=True, exist_ok=True)
    final = erp / f"{TABLE.name}_delta_{changed_at:%Y%m%dT%H%M%S}.csv"
    tmp = erp / f".{final.name}.tmp"
    con.execute(f"COPY (SELECT {selects} FROM _delta ORDER BY n) TO '{tmp}' (HEADER)")
    rows, qty, status = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE more_qty), "
        "count(*) FILTER (WHERE new_status <> status) FROM _delta"
    ).fetchone()
    changes = con.execute(
        """SELECT d.order_ts_local_date, sum(d.uom_factor)
        FROM _delta AS d
        WHERE d.more_qty AND d.new_status <> 'cancelled' AND d.order_ts_local_date <= $as_of
          AND (d.promised_date < $as_of OR EXISTS (
                SELECT 1 FROM shipments AS s
                WHERE s.order_id = d.order_id AND s.line_no = d.line_no
                  AND s.shipped_ts_local_date < $as_of))
        GROUP BY ALL ORDER BY 1""",
        {"as_of": as_of},
    ).fetchall()
    con.execute("DROP TABLE _delta")
    os.replace(tmp, final)  # the drop: the file appears whole
    return DeltaDrop(final, rows, qty, status, {day: float(n) for day, n in changes})
