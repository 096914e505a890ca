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

This is the one definition of the ATP inputs: `promising.answer` runs the
`*_sql` queries, the `order_at_risk` exception rule builds on the same
`*_ctes` fragments (CTEs without WITH, named by the caller), so the two never
disagree on what is available, supplied or demanded.

`START_COLUMNS` (`start_sql`): the start availability of each item-location,
from its location's latest inventory snapshot on or before T:
    item_id, location_id, snapshot_date, on_hand_qty, allocated_qty,
    quarantined_qty, available_qty (= on_hand - allocated - quarantined).
Snapshots are whole-location daily pictures (EXTRACT_CONTRACT, and the
stockout_rate KPI counts each item-location-day of one), so an item missing
from its location's latest snapshot has none available there: it has no row
(0), rather than an older snapshot's stock that the location no longer shows.

`SUPPLY_COLUMNS` (`supply_sql`): open purchase order lines (status `open`:
a `received`, `closed` or `cancelled` line brings nothing more) with quantity
still to receive:
    item_id, location_id, po_id, line_no, expected_date (may be NULL),
    open_qty (= ordered - sum of receipts.received_qty of the line, > 0),
    event_date (the day the projection counts it: expected_date, or T+1 when
    the line is past due, expected on or before T, or undated).

`DEMAND_COLUMNS` (`demand_sql`): sales order lines still to ship, status
`open` or `backordered` (a `released` line's stock is inside allocated_qty
already, so counting it again would take it twice):
    item_id, location_id, order_id, line_no, customer_id, promised_date (the
    current promise, may be NULL: the tower's latest re-promise of the line,
    `exc.line_promises`, when recorded after the line's updated_at, else the
    landed promised_date), open_qty (= ordered - sum of
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
AS_OF = "CAST($as_of AS DATE)"


def _keys(restricted: bool) -> str:
    return _KEYS if restricted else ""


def _only(alias: str, keys: str | None) -> str:
    """A semi-join of `alias` to the (item_id, location_id) pairs of CTE `keys` (or nothing)."""
    if keys is None:
        return ""
    return (
        f"SEMI JOIN {keys} AS k ON k.item_id = {alias}.item_id "
        f"AND k.location_id = {alias}.location_id"
    )


def _items_filter(alias: str, restricted: bool, items_in: str | None = None) -> str:
    """A cheap first filter on the item (prunes row groups before the pair semi-join); or the
    items of CTE `items_in`."""
    if restricted:
        return f"AND {alias}.item_id IN (SELECT unnest($item_ids::VARCHAR[]))"
    return f"AND {alias}.item_id IN (SELECT item_id FROM {items_in})" if items_in else ""


def start_ctes(name: str, *, restricted: bool = False, items_in: str | None = None) -> str:
    """CTEs (no WITH) ending in `name` with `START_COLUMNS`: the rows of each location's
    latest snapshot on or before T; restricted to the asked pairs, or to the items of CTE
    `items_in`. Snapshots are whole-location daily pictures, so an item missing from its
    location's latest one has nothing available there (no row: 0)."""
    keys = "atp_keys" if restricted else None
    locations = "AND s.location_id IN (SELECT location_id FROM atp_keys)" if restricted else ""
    return f"""
{name}_days AS (
    SELECT s.location_id, max(s.snapshot_date) AS snapshot_date
    FROM main.inventory_snapshots AS s
    WHERE s.snapshot_date <= {AS_OF} {locations}
    GROUP BY s.location_id
),
{name} AS (
    SELECT s.item_id, s.location_id, s.snapshot_date,
           CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty,
           CAST(s.allocated_qty AS DOUBLE) AS allocated_qty,
           CAST(s.quarantined_qty AS DOUBLE) AS quarantined_qty,
           CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE) AS available_qty
    FROM main.inventory_snapshots AS s
    JOIN {name}_days AS ld USING (location_id, snapshot_date) {_only("s", keys)}
    WHERE TRUE {_items_filter("s", restricted, items_in)}
)"""


def start_sql(*, restricted: bool = False) -> str:
    """Start availability per item-location at T (`START_COLUMNS`, module docstring)."""
    return f"""
WITH {_keys(restricted)} {start_ctes("atp_start", restricted=restricted)}
SELECT {", ".join(START_COLUMNS)} FROM atp_start
ORDER BY item_id, location_id
"""


def event_day(column: str) -> str:
    """The projection day of an event: its date, or T+1 when past due or undated."""
    return f"CASE WHEN {column} IS NULL OR {column} <= {AS_OF} THEN {AS_OF} + 1 ELSE {column} END"


class _Lines(NamedTuple):
    """Lines of `table` (keyed `key`, line_no) in one of `status`, with `columns` (which may
    read the tables of `join`), due on `due`; what moved of each is the sum of `done_qty` of
    its rows in `done` (keyed `key`, `done_line`)."""

    table: str
    key: str
    columns: str
    status: str
    due: str
    done: str
    done_line: str
    done_qty: str
    join: str = ""


# A line's promise: the tower's latest re-promise when it was recorded after the line's
# updated_at (a later extract with a newer promise wins), else the landed promised_date.
EFFECTIVE_PROMISE = (
    "CASE WHEN rp.recorded_at > l.updated_at THEN rp.promised_date ELSE l.promised_date END"
)
_REPROMISES = (
    "LEFT JOIN exc.line_promises AS rp ON rp.order_id = l.order_id AND rp.line_no = l.line_no"
)
_SUPPLY = _Lines("purchase_order_lines", "po_id", "l.expected_date", "'open'", "expected_date",
                 "receipts", "po_line_no", "received_qty")  # fmt: skip
_DEMAND = _Lines("sales_order_lines", "order_id",
                 f"l.customer_id, {EFFECTIVE_PROMISE} AS promised_date",
                 "'open', 'backordered'", "promised_date", "shipments", "line_no",
                 "shipped_qty", _REPROMISES)  # fmt: skip
# The same without the tower's re-promises: a snapshot published before they existed.
_DEMAND_LANDED = _DEMAND._replace(columns="l.customer_id, l.promised_date", join="")


def _open_lines_ctes(
    x: _Lines, name: str, *, restricted: bool, pairs_in: str | None, extra: str
) -> str:
    """CTEs ending in `name`: the lines of `x` with quantity still to move (ordered minus moved
    > 0), `open_qty`, on their `event_date`; with the `extra` columns of the line (`l.`)."""
    keys = "atp_keys" if restricted else pairs_in
    extra = f", {extra}" if extra else ""
    return f"""
{name}_lines AS (
    SELECT l.item_id, l.location_id, l.{x.key}, l.line_no, {x.columns}{extra},
           CAST(l.ordered_qty AS DOUBLE) AS ordered_qty
    FROM main.{x.table} AS l {_only("l", keys)} {x.join}
    WHERE l.status IN ({x.status}) {_items_filter("l", restricted)}
),
{name}_done AS (
    SELECT d.{x.key}, d.{x.done_line} AS line_no, sum(CAST(d.{x.done_qty} AS DOUBLE)) AS qty
    FROM main.{x.done} AS d
    SEMI JOIN {name}_lines AS l ON l.{x.key} = d.{x.key} AND l.line_no = d.{x.done_line}
    GROUP BY ALL
),
{name} AS (
    SELECT l.*, l.ordered_qty - coalesce(d.qty, 0) AS open_qty,
           {event_day("l." + x.due)} AS event_date
    FROM {name}_lines AS l
    LEFT JOIN {name}_done AS d USING ({x.key}, line_no)
    WHERE l.ordered_qty - coalesce(d.qty, 0) > 0
)"""


def supply_ctes(name: str, *, restricted: bool = False, pairs_in: str | None = None) -> str:
    """CTEs (no WITH) ending in `name` with `SUPPLY_COLUMNS` (and ordered_qty): open PO lines
    still to receive; restricted to the asked pairs, or to the pairs of CTE `pairs_in`."""
    return _open_lines_ctes(_SUPPLY, name, restricted=restricted, pairs_in=pairs_in, extra="")


def demand_ctes(
    name: str, *, restricted: bool = False, extra: str = "", repromises: bool = True
) -> str:
    """CTEs (no WITH) ending in `name` with `DEMAND_COLUMNS`, ordered_qty and the `extra`
    columns of the line (e.g. "l.entity_id, l.order_ts"): open order lines still to ship, on
    their effective promise (`repromises=False`: the landed promise, for a database without
    `exc.line_promises`)."""
    lines = _DEMAND if repromises else _DEMAND_LANDED
    return _open_lines_ctes(lines, name, restricted=restricted, pairs_in=None, extra=extra)


def _select(ctes: str, name: str, columns: tuple[str, ...], key: str, restricted: bool) -> str:
    return f"""
WITH {_keys(restricted)} {ctes}
SELECT {", ".join(columns)} FROM {name}
ORDER BY item_id, location_id, event_date, {key}, line_no
"""


def supply_sql(*, restricted: bool = False) -> str:
    """Open purchase order lines still to receive (`SUPPLY_COLUMNS`, module docstring)."""
    ctes = supply_ctes("atp_supply", restricted=restricted)
    return _select(ctes, "atp_supply", SUPPLY_COLUMNS, "po_id", restricted)


def demand_sql(*, restricted: bool = False, repromises: bool = True) -> str:
    """Open sales order lines still to ship (`DEMAND_COLUMNS`, module docstring)."""
    ctes = demand_ctes("atp_demand", restricted=restricted, repromises=repromises)
    return _select(ctes, "atp_demand", DEMAND_COLUMNS, "order_id", restricted)


def parameters(as_of: date, pairs: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The named parameters of the queries: `as_of`, and with `pairs` ((item_id, location_id),
    for a restricted query) the two parallel lists `item_ids` and `location_ids`."""
    params: dict[str, Any] = {"as_of": as_of}
    if pairs is not None:
        keys = sorted(set(pairs))
        params["item_ids"] = [k[0] for k in keys]
        params["location_ids"] = [k[1] for k in keys]
    return params
