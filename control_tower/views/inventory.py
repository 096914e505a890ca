"""Inventory positions for the inventory page and the positions API: one snapshot day's rows of
the governed model `inventory_position_values` (kpi_definitions/models), within a user's scope.

The page, the API and the KPIs `available_units` and `inventory_value` read the same model
rows. Building the whole model (every snapshot day of every item) for one page would read
the whole snapshot history, so this module builds it for one day's keys only: the keys (the
day's snapshot rows of the sites in scope, filtered) become the model's `scope`, and the base
model `inventory_positions` reads each table restricted to them through its own `incremental.
scoped` SELECTs (`kpi.keyed.scoped_sql`), the same restriction a refresh by key uses. A row
outside the user's scope is never built. Answers are kept once per published snapshot
(`kpi.serving.kept`).

`movements` lists what moved an item at a site (receipts, shipments, adjustments, counts and
stock transfers) in the days up to a snapshot day, for the page's drill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog
from control_tower.kpi.keyed import scoped_sql
from control_tower.kpi.serving import kept
from control_tower.storage.serving import published_as_of
from control_tower.views.sql import named

MODEL = "inventory_position_values"  # the rows the page and the API show
BASE_MODEL = "inventory_positions"  # what the KPIs read; MODEL adds the entity's currency
SCOPE_CTE = "inventory_day_keys"
MOVEMENT_DAYS = 28  # the drill lists the movements of this many days up to the snapshot day
MOVEMENT_LIMIT = 500
# The columns of a position, in the order the API returns them.
COLUMNS = (
    "snapshot_date",
    "location_id",
    "location_name",
    "entity_id",
    "entity_currency",
    "reporting_currency",
    "item_id",
    "description",
    "category",
    "abc_class",
    "on_hand_units",
    "allocated_units",
    "quarantined_units",
    "in_transit_units",
    "available_units",
    "on_order_units",
    "shipped_units_28d",
    "avg_daily_demand",
    "days_of_cover",
    "is_out_of_stock",
    "unit_cost",
    "inventory_value",
    "available_value",
    "on_order_value",
    "entity_rate",
    "inventory_value_entity",
    "available_value_entity",
    "on_order_value_entity",
    "previous_snapshot_date",
    "on_hand_change",
    "available_change",
)


@dataclass(frozen=True)
class Filters:
    """What a reader asked for besides the day: a site, an item, a category, a text search on
    the item's id or description. None: not filtered."""

    location_id: str | None = None
    item_id: str | None = None
    category: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class Totals:
    """The figures of the page's tiles, over the positions shown."""

    rows: int
    inventory_value: float  # reporting currency
    available_units: float
    on_order_units: float
    on_order_value: float  # reporting currency
    out_of_stock: int  # item-sites with available <= 0
    # per entity currency: value of the rows in it; None when a row of it has no rate
    value_by_currency: tuple[tuple[str, float | None], ...]


def data_as_of(cur: duckdb.DuckDBPyConnection) -> date | None:
    """The as-of day the model is built for: the day of the published KPI values (so the page
    and the KPIs agree), else the day after the newest snapshot; None without snapshots."""
    day = published_as_of(cur)
    if day is not None:
        return day
    row = cur.execute("SELECT max(snapshot_date) FROM inventory_snapshots").fetchone()
    return row[0] + timedelta(days=1) if row and row[0] is not None else None


def snapshot_days(cur: duckdb.DuckDBPyConnection, scope: Scope, as_of: date) -> list[date]:
    """The snapshot days before `as_of` with a row in scope, latest first."""
    condition, params = scope.sql("l.entity_id", "s.location_id")

    def read() -> list[date]:
        rows = cur.execute(
            "SELECT DISTINCT s.snapshot_date FROM inventory_snapshots AS s "
            "LEFT JOIN locations AS l ON l.location_id = s.location_id "
            f"WHERE s.snapshot_date < $as_of AND {named(condition)} ORDER BY 1 DESC",
            {"as_of": as_of, **{f"s{i}": v for i, v in enumerate(params)}},
        ).fetchall()
        return [r[0] for r in rows]

    return kept(("views.inventory.days", scope, as_of), read)


def categories(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Every item category, sorted."""
    rows = cur.execute(
        "SELECT DISTINCT category FROM items WHERE category IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _keys_sql(scope: Scope, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The day's keys in scope and matching the filters (parameter $day)."""
    condition, scope_params = scope.sql("l.entity_id", "s.location_id")
    where = ["s.snapshot_date = $day", named(condition)]
    params: dict[str, Any] = {f"s{i}": v for i, v in enumerate(scope_params)}
    if filters.location_id is not None:
        where.append("s.location_id = $f_location")
        params["f_location"] = filters.location_id
    if filters.item_id is not None:
        where.append("s.item_id = $f_item")
        params["f_item"] = filters.item_id
    if filters.category is not None:
        where.append("i.category = $f_category")
        params["f_category"] = filters.category
    if filters.search:
        where.append("(s.item_id ILIKE $f_search OR i.description ILIKE $f_search)")
        params["f_search"] = f"%{filters.search}%"
    sql = (
        "SELECT s.snapshot_date, s.location_id, s.item_id FROM inventory_snapshots AS s "
        "LEFT JOIN locations AS l ON l.location_id = s.location_id "
        "LEFT JOIN items AS i ON i.item_id = s.item_id "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def positions_sql(catalog: Catalog, scope: Scope, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The SQL of one day's positions (parameters $day and $as_of besides those returned)."""
    base = catalog.models[BASE_MODEL]
    values = catalog.models[MODEL]
    keys, params = _keys_sql(scope, filters)
    names = ", ".join(f"v.{c}" for c in values.columns)
    sql = (
        f"WITH {SCOPE_CTE} AS ({keys}),\n"
        f"{BASE_MODEL} AS ({scoped_sql(base, scope=SCOPE_CTE)})\n"
        f"SELECT {names}, l.name AS location_name, i.description\n"
        f"FROM ({values.sql}) AS v\n"
        "LEFT JOIN locations AS l ON l.location_id = v.location_id\n"
        "LEFT JOIN items AS i ON i.item_id = v.item_id\n"
        f"SEMI JOIN {SCOPE_CTE} AS k ON k.snapshot_date = v.snapshot_date "
        "AND k.location_id = v.location_id AND k.item_id = v.item_id\n"
        "ORDER BY v.location_id, v.category NULLS LAST, v.item_id"
    )
    return sql, params


def positions(
    cur: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: Scope,
    *,
    as_of: date,
    day: date,
    filters: Filters = Filters(),
) -> list[dict[str, Any]]:
    """The positions of `day` in scope matching `filters`, as dicts of COLUMNS."""

    def read() -> list[dict[str, Any]]:
        sql, params = positions_sql(catalog, scope, filters)
        result = cur.execute(sql, {**params, "day": day, "as_of": as_of})
        names = [d[0] for d in result.description]
        out = []
        for raw in result.fetchall():
            row = dict(zip(names, raw, strict=True))
            out.append({c: _plain(row.get(c)) for c in COLUMNS})
        return out

    return kept(("views.inventory.positions", scope, as_of, day, filters), read)


def _plain(value: Any) -> Any:
    """A DECIMAL as a float (the page and the API show numbers, not decimals)."""
    if value is None or isinstance(value, int | float | str | date | bool):
        return value
    return float(value)


def totals(rows: list[dict[str, Any]]) -> Totals:
    """The tiles' figures over `rows`: a value in an entity currency is None as soon as one
    of its rows has no rate (a missing rate is never counted as 0)."""
    by_currency: dict[str, float | None] = {}
    for r in rows:
        currency = r["entity_currency"] or "unknown currency"
        value = r["inventory_value_entity"]
        if currency not in by_currency:
            by_currency[currency] = 0.0
        if value is None or by_currency[currency] is None:
            by_currency[currency] = None
        else:
            by_currency[currency] = (by_currency[currency] or 0.0) + value
    return Totals(
        rows=len(rows),
        inventory_value=sum(r["inventory_value"] or 0.0 for r in rows),
        available_units=sum(r["available_units"] or 0.0 for r in rows),
        on_order_units=sum(r["on_order_units"] or 0.0 for r in rows),
        on_order_value=sum(r["on_order_value"] or 0.0 for r in rows),
        out_of_stock=sum(1 for r in rows if r["is_out_of_stock"]),
        value_by_currency=tuple(sorted(by_currency.items())),
    )


@dataclass(frozen=True)
class Movement:
    """One thing that moved an item's stock at a site (quantity signed: + in, - out)."""

    day: date
    kind: str  # receipt, shipment, adjustment, count, transfer in, transfer out
    reference: str
    qty: float
    detail: str


_MOVEMENTS = """
SELECT arrived_ts_local_date, 'receipt', receipt_id || '/' || line_no,
       CAST(received_qty AS DOUBLE),
       'PO ' || po_id || '/' || po_line_no
           || CASE WHEN damaged_qty > 0 THEN ', ' || CAST(damaged_qty AS VARCHAR) || ' damaged'
                   ELSE '' END
FROM receipts WHERE location_id = $location AND item_id = $item
  AND arrived_ts_local_date BETWEEN $first AND $day
UNION ALL
SELECT shipped_ts_local_date, 'shipment', shipment_id, -CAST(shipped_qty AS DOUBLE),
       'order ' || order_id || '/' || line_no
FROM shipments WHERE location_id = $location AND item_id = $item
  AND shipped_ts_local_date BETWEEN $first AND $day
UNION ALL
SELECT adjusted_at_local_date, 'adjustment', adjustment_id, CAST(qty_delta AS DOUBLE),
       reason_code || ' by ' || user_id
FROM inventory_adjustments WHERE location_id = $location AND item_id = $item
  AND adjusted_at_local_date BETWEEN $first AND $day
UNION ALL
SELECT counted_at_local_date, 'count', count_id,
       CAST(counted_qty AS DOUBLE) - CAST(system_qty AS DOUBLE),
       'bin ' || bin_id || ': counted ' || CAST(counted_qty AS VARCHAR) || ', system '
           || CAST(system_qty AS VARCHAR)
FROM cycle_counts WHERE location_id = $location AND item_id = $item
  AND counted_at_local_date BETWEEN $first AND $day
UNION ALL
SELECT shipped_ts_local_date, 'transfer out', transfer_id || '/' || line_no, -CAST(qty AS DOUBLE),
       'to ' || to_location_id || ' (' || status || ')'
FROM stock_transfers WHERE from_location_id = $location AND item_id = $item
  AND status <> 'cancelled' AND shipped_ts_local_date BETWEEN $first AND $day
UNION ALL
SELECT received_ts_local_date, 'transfer in', transfer_id || '/' || line_no, CAST(qty AS DOUBLE),
       'from ' || from_location_id
FROM stock_transfers WHERE to_location_id = $location AND item_id = $item
  AND status <> 'cancelled' AND received_ts_local_date BETWEEN $first AND $day
ORDER BY 1 DESC, 2, 3
LIMIT $limit
"""


def movements(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    location_id: str,
    item_id: str,
    *,
    day: date,
    days: int = MOVEMENT_DAYS,
) -> list[Movement]:
    """What moved `item_id` at `location_id` in the `days` days up to `day` (local dates),
    newest first; nothing when the site is outside `scope`."""
    row = cur.execute(
        "SELECT entity_id FROM locations WHERE location_id = ?", [location_id]
    ).fetchone()
    if row is None or not scope.allows(row[0], location_id):
        return []
    rows = cur.execute(
        _MOVEMENTS,
        {
            "location": location_id,
            "item": item_id,
            "first": day - timedelta(days=days - 1),
            "day": day,
            "limit": MOVEMENT_LIMIT,
        },
    ).fetchall()
    return [Movement(r[0], r[1], r[2], float(r[3]), r[4] or "") for r in rows]
