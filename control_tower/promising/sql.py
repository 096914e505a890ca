"""The inputs of available-to-promise, as SQL over the landed warehouse tables (schema main).

Every quantity is in base units (eaches): landing converts case packs with
`items.case_qty`, so `ordered_qty`, `shipped_qty`, `on_hand_qty` and the like
are eaches already (`uom_factor` only records the conversion used).

Each query takes the named parameter `$as_of` (DATE, the data's as-of day T).
Built with `restricted=True` it also takes `$item_ids` and `$location_ids`
(two VARCHAR lists of equal length, zipped into (item, location) pairs) and
reads only those item-locations: each table is semi-joined to the pairs, so a
request for a few item-locations does not aggregate the whole history. Bind
the parameters with `parameters(as_of, pairs)`.

`START_COLUMNS` (`start_sql`): the start availability of each item-location,
from its latest inventory snapshot on or before T:
    item_id, location_id, snapshot_date, on_hand_qty, allocated_qty,
    quarantined_qty, available_qty (= on_hand - allocated - quarantined).
An item-location without a snapshot on or before T has no row.

`SUPPLY_COLUMNS` (`supply_sql`): open purchase order lines (status `open`)
with quantity still to receive:
    item_id, location_id, po_id, line_no, expected_date (may be NULL),
    open_qty (= ordered - sum of receipts.received_qty of the line, > 0),
    event_date (the day the projection counts it: expected_date, or T+1 when
    the line is past due, expected on or before T, or undated).

`DEMAND_COLUMNS` (`demand_sql`): sales order lines still to ship, status
`open` or `backordered` (a `released` line's stock is inside allocated_qty
already, so counting it again would take it twice):
    item_id, location_id, order_id, line_no, customer_id, promised_date (the
    current promise, may be NULL), open_qty (= ordered - sum of
    shipments.shipped_qty of the line, > 0), event_date (promised_date, or
    T+1 when past due or without a promise).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

START_COLUMNS = (
    "item_id",
    "location_id",
    "snapshot_date",
    "on_hand_qty",
    "allocated_qty",
    "quarantined_qty",
    "available_qty",
)
SUPPLY_COLUMNS = (
    "item_id",
    "location_id",
    "po_id",
    "line_no",
    "expected_date",
    "open_qty",
    "event_date",
)
DEMAND_COLUMNS = (
    "item_id",
    "location_id",
    "order_id",
    "line_no",
    "customer_id",
    "promised_date",
    "open_qty",
    "event_date",
)

# The (item, location) pairs of a restricted query, from the two parallel list parameters.
_KEYS = """atp_keys AS (
    SELECT unnest($item_ids::VARCHAR[]) AS item_id, unnest($location_ids::VARCHAR[]) AS location_id
),"""


def _keys(restricted: bool) -> str:
    return _KEYS if restricted else ""


def _only(alias: str, restricted: bool) -> str:
    """A semi-join of `alias` to the asked pairs (nothing when unrestricted)."""
    if not restricted:
        return ""
    return (
        f"SEMI JOIN atp_keys AS k ON k.item_id = {alias}.item_id "
        f"AND k.location_id = {alias}.location_id"
    )


def _items_filter(alias: str, restricted: bool) -> str:
    """A cheap first filter on the item (prunes row groups before the pair semi-join)."""
    return f"AND {alias}.item_id IN (SELECT unnest($item_ids::VARCHAR[]))" if restricted else ""


def start_sql(*, restricted: bool = False) -> str:
    """Start availability per item-location at T (`START_COLUMNS`, module docstring)."""
    return f"""
WITH {_keys(restricted)}
latest AS (
    SELECT s.item_id, s.location_id,
           arg_max(s, s.snapshot_date) AS snap
    FROM main.inventory_snapshots AS s {_only("s", restricted)}
    WHERE s.snapshot_date <= CAST($as_of AS DATE) {_items_filter("s", restricted)}
    GROUP BY s.item_id, s.location_id
)
SELECT item_id, location_id, snap.snapshot_date,
       CAST(snap.on_hand_qty AS DOUBLE) AS on_hand_qty,
       CAST(snap.allocated_qty AS DOUBLE) AS allocated_qty,
       CAST(snap.quarantined_qty AS DOUBLE) AS quarantined_qty,
       CAST(snap.on_hand_qty - snap.allocated_qty - snap.quarantined_qty AS DOUBLE)
           AS available_qty
FROM latest
ORDER BY item_id, location_id
"""


def _event_date(column: str) -> str:
    """The projection day of an event: its date, or T+1 when past due or undated."""
    return (
        f"CASE WHEN {column} IS NULL OR {column} <= CAST($as_of AS DATE) "
        f"THEN CAST($as_of AS DATE) + 1 ELSE {column} END"
    )


class _Lines(NamedTuple):
    """Lines of `table` (keyed `key`, line_no) in one of `status`, with `columns`, due on
    `due`; what moved of each is the sum of `done_qty` of its rows in `done` (keyed `key`,
    `done_line`)."""

    table: str
    key: str
    columns: str
    status: str
    due: str
    done: str
    done_line: str
    done_qty: str


_SUPPLY = _Lines("purchase_order_lines", "po_id", "l.expected_date", "'open'", "expected_date",
                 "receipts", "po_line_no", "received_qty")  # fmt: skip
_DEMAND = _Lines("sales_order_lines", "order_id", "l.customer_id, l.promised_date",
                 "'open', 'backordered'", "promised_date", "shipments", "line_no",
                 "shipped_qty")  # fmt: skip


def _open_lines_sql(x: _Lines, restricted: bool) -> str:
    """The lines of `x` with quantity still to move (ordered minus moved > 0), on their day."""
    return f"""
WITH {_keys(restricted)}
lines AS (
    SELECT l.item_id, l.location_id, l.{x.key}, l.line_no, {x.columns},
           CAST(l.ordered_qty AS DOUBLE) AS ordered_qty
    FROM main.{x.table} AS l {_only("l", restricted)}
    WHERE l.status IN ({x.status}) {_items_filter("l", restricted)}
),
done AS (
    SELECT d.{x.key}, d.{x.done_line} AS line_no, sum(CAST(d.{x.done_qty} AS DOUBLE)) AS qty
    FROM main.{x.done} AS d
    SEMI JOIN lines AS l ON l.{x.key} = d.{x.key} AND l.line_no = d.{x.done_line}
    GROUP BY ALL
)
SELECT l.item_id, l.location_id, l.{x.key}, l.line_no, {x.columns},
       l.ordered_qty - coalesce(d.qty, 0) AS open_qty,
       {_event_date("l." + x.due)} AS event_date
FROM lines AS l
LEFT JOIN done AS d USING ({x.key}, line_no)
WHERE l.ordered_qty - coalesce(d.qty, 0) > 0
ORDER BY l.item_id, l.location_id, event_date, l.{x.key}, l.line_no
"""


def supply_sql(*, restricted: bool = False) -> str:
    """Open purchase order lines still to receive (`SUPPLY_COLUMNS`, module docstring)."""
    return _open_lines_sql(_SUPPLY, restricted)


def demand_sql(*, restricted: bool = False) -> str:
    """Open sales order lines still to ship (`DEMAND_COLUMNS`, module docstring)."""
    return _open_lines_sql(_DEMAND, restricted)


def parameters(as_of: date, pairs: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The named parameters of the queries: `as_of`, and with `pairs` ((item_id, location_id),
    for a restricted query) the two parallel lists `item_ids` and `location_ids`."""
    params: dict[str, Any] = {"as_of": as_of}
    if pairs is not None:
        keys = sorted(set(pairs))
        params["item_ids"] = [k[0] for k in keys]
        params["location_ids"] = [k[1] for k in keys]
    return params
