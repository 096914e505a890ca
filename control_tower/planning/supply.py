"""Supply and stock around an item: its open purchase order lines and its stock and recent
demand at every location in scope.

Open PO lines: status neither cancelled nor closed, ordered minus received
quantity above zero (quantities are in eaches after landing). Demand: order
lines not cancelled over the 28 days before the snapshot day, per day (the
same window as the `stockout_risk` rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb

from control_tower.accounts import Scope

DEMAND_WINDOW_DAYS = 28
EXCESS_LEAD_TIMES = 2.0


@dataclass(frozen=True)
class PoLine:
    """One open purchase order line for an item at a location (quantities in eaches)."""

    location_id: str
    item_id: str
    po_id: str
    line_no: int
    supplier_id: str | None
    order_date: date | None
    expected_date: date | None
    ordered_qty: float
    open_qty: float


@dataclass(frozen=True)
class SiteStock:
    """An item's stock at one location's latest snapshot, with its recent demand."""

    location_id: str
    entity_id: str | None
    item_id: str
    snapshot_date: date
    on_hand_qty: float
    available_qty: float
    daily_demand: float
    lead_time_days: int | None

    @property
    def days_of_cover(self) -> float | None:
        """Available stock in days of demand (None without demand)."""
        return self.available_qty / self.daily_demand if self.daily_demand > 0 else None

    @property
    def excess_qty(self) -> float:
        """Stock above two lead times of this site's own demand (0 when none)."""
        keep = EXCESS_LEAD_TIMES * (self.lead_time_days or 0) * self.daily_demand
        return max(self.available_qty - keep, 0.0)


def open_po_lines(
    cur: duckdb.DuckDBPyConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[PoLine]]:
    """Open PO lines of each (location_id, item_id), earliest expected first."""
    pairs = sorted(set(keys))
    if not pairs:
        return {}
    rows = cur.execute(
        """
        WITH k AS (SELECT unnest(?::VARCHAR[]) AS location_id, unnest(?::VARCHAR[]) AS item_id),
        lines AS (
            SELECT l.* FROM purchase_order_lines AS l JOIN k USING (location_id, item_id)
            WHERE l.status NOT IN ('cancelled', 'closed')
        ),
        got AS (
            SELECT r.po_id, r.po_line_no, sum(CAST(r.received_qty AS DOUBLE)) AS qty
            FROM receipts AS r JOIN lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
            GROUP BY ALL
        )
        SELECT l.location_id, l.item_id, l.po_id, l.line_no, l.supplier_id, l.order_date,
               l.expected_date, CAST(l.ordered_qty AS DOUBLE) AS ordered_qty,
               CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0) AS open_qty
        FROM lines AS l
        LEFT JOIN got AS g ON g.po_id = l.po_id AND g.po_line_no = l.line_no
        WHERE CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0) > 0
        ORDER BY l.location_id, l.item_id, l.expected_date NULLS LAST, l.po_id, l.line_no
        """,
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    ).fetchall()
    found: dict[tuple[str, str], list[PoLine]] = {}
    for r in rows:
        found.setdefault((r[0], r[1]), []).append(PoLine(*r))
    return found


def site_stock(
    cur: duckdb.DuckDBPyConnection, scope: Scope, item_ids: Iterable[str]
) -> dict[str, list[SiteStock]]:
    """Each item's stock and demand at every location in scope (its latest snapshot there)."""
    items = sorted(set(item_ids))
    if not items:
        return {}
    condition, params = scope.sql("loc.entity_id", "s.location_id")
    rows = cur.execute(
        f"""
        WITH latest AS (
            SELECT location_id, max(snapshot_date) AS snapshot_date
            FROM inventory_snapshots GROUP BY location_id
        ),
        stock AS (
            SELECT s.location_id, loc.entity_id, s.item_id, s.snapshot_date,
                   CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty,
                   CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE)
                       AS available_qty
            FROM inventory_snapshots AS s
            JOIN latest USING (location_id, snapshot_date)
            LEFT JOIN locations AS loc ON loc.location_id = s.location_id
            WHERE s.item_id IN (SELECT unnest(?::VARCHAR[])) AND {condition}
        ),
        demand AS (
            SELECT o.location_id, o.item_id,
                   CAST(sum(o.ordered_qty) AS DOUBLE) / {DEMAND_WINDOW_DAYS} AS daily_demand
            FROM sales_order_lines AS o JOIN latest AS t USING (location_id)
            WHERE o.status <> 'cancelled' AND o.item_id IN (SELECT unnest(?::VARCHAR[]))
              AND o.order_ts_local_date >= t.snapshot_date - {DEMAND_WINDOW_DAYS}
              AND o.order_ts_local_date < t.snapshot_date
            GROUP BY ALL
        )
        SELECT st.location_id, st.entity_id, st.item_id, st.snapshot_date, st.on_hand_qty,
               st.available_qty, coalesce(d.daily_demand, 0), i.lead_time_days
        FROM stock AS st
        LEFT JOIN demand AS d USING (location_id, item_id)
        LEFT JOIN items AS i ON i.item_id = st.item_id
        ORDER BY st.item_id, st.location_id
        """,
        [items, *params, items],
    ).fetchall()
    found: dict[str, list[SiteStock]] = {}
    for r in rows:
        found.setdefault(r[2], []).append(SiteStock(*r))
    return found
