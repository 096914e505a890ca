"""One item at one location, for the planner's drill page: the item and location masters,
inventory and demand history, and its suppliers' recent on-time record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.planning.sql import records

MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class ItemFacts:
    """What the item master and location master say about one item-location."""

    item_id: str
    description: str | None
    category: str | None
    abc_class: str | None
    supplier_id: str | None
    lead_time_days: int | None
    unit_cost: float | None
    unit_price: float | None
    case_qty: int | None
    location_id: str
    location_name: str | None
    entity_id: str | None


def valid_id(value: Any) -> str | None:
    """An item or location id as given in a URL, or None when it cannot be one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_ID_LENGTH or any(ord(c) < 32 for c in value):
        return None
    return value


def item_facts(
    cur: duckdb.DuckDBPyConnection, scope: Scope, location_id: Any, item_id: Any
) -> ItemFacts | None:
    """The item and location masters of an item-location in scope, or None (unknown or out of scope)."""
    loc, item = valid_id(location_id), valid_id(item_id)
    if loc is None or item is None:
        return None
    condition, params = scope.sql("l.entity_id", "l.location_id")
    row = cur.execute(
        f"""
        SELECT i.item_id, i.description, i.category, i.abc_class, i.supplier_id,
               i.lead_time_days, CAST(i.unit_cost AS DOUBLE), CAST(i.unit_price AS DOUBLE),
               i.case_qty, l.location_id, l.name, l.entity_id
        FROM items AS i, locations AS l
        WHERE i.item_id = ? AND l.location_id = ? AND {condition}
        """,
        [item, loc, *params],
    ).fetchone()
    return ItemFacts(*row) if row else None


def inventory_history(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str, days: int = 90
) -> list[dict[str, Any]]:
    """Daily snapshots (on hand, available, in transit) of the last `days` days with data."""
    return records(
        cur,
        """
        SELECT snapshot_date, CAST(on_hand_qty AS DOUBLE) AS on_hand_qty,
               CAST(on_hand_qty - allocated_qty - quarantined_qty AS DOUBLE) AS available_qty,
               CAST(in_transit_qty AS DOUBLE) AS in_transit_qty
        FROM inventory_snapshots
        WHERE location_id = ? AND item_id = ?
          AND snapshot_date > (SELECT max(snapshot_date) FROM inventory_snapshots
                               WHERE location_id = ?) - ?
        ORDER BY snapshot_date
        """,
        [location_id, item_id, location_id, days],
    )


def demand_history(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str, until: date, days: int = 60
) -> list[dict[str, Any]]:
    """Units ordered and order lines per day over the `days` days before `until` (inclusive)."""
    return records(
        cur,
        """
        SELECT order_ts_local_date AS day, CAST(sum(ordered_qty) AS DOUBLE) AS qty,
               count(*) AS lines
        FROM sales_order_lines
        WHERE location_id = ? AND item_id = ? AND status <> 'cancelled'
          AND order_ts_local_date > CAST(? AS DATE) - CAST(? AS INTEGER)
          AND order_ts_local_date <= CAST(? AS DATE)
        GROUP BY ALL ORDER BY day
        """,
        [location_id, item_id, until, days, until],
    )


def supplier_on_time(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    supplier_ids: Iterable[str],
    until: date,
    days: int = 180,
) -> dict[str, dict[str, Any]]:
    """Each supplier's receipts of the last `days` days against their PO's expected date, at
    the locations in `scope` only (a user limited to sites never sees another site's record)."""
    ids = sorted({s for s in supplier_ids if s})
    if not ids:
        return {}
    condition, params = scope.sql("loc.entity_id", "r.location_id")
    rows = records(
        cur,
        f"""
        SELECT l.supplier_id, count(*) AS receipts,
               avg(CASE WHEN r.arrived_ts_local_date <= l.expected_date THEN 1.0 ELSE 0.0 END)
                   AS on_time_share,
               avg(greatest(r.arrived_ts_local_date - l.expected_date, 0)) AS avg_days_late
        FROM receipts AS r
        JOIN purchase_order_lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
        LEFT JOIN locations AS loc ON loc.location_id = r.location_id
        WHERE l.supplier_id IN (SELECT unnest(?::VARCHAR[]))
          AND r.arrived_ts_local_date > CAST(? AS DATE) - CAST(? AS INTEGER)
          AND r.arrived_ts_local_date <= CAST(? AS DATE)
          AND {condition}
        GROUP BY l.supplier_id
        """,
        [ids, until, days, until, *params],
    )
    return {r["supplier_id"]: r for r in rows}
