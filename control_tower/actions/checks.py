"""What the warehouse must confirm before a request is stored: its ids exist, its sites are in
the caller's scope, the stock a transfer takes is there, and what the request is worth.

Read from a DuckDB connection on the serving snapshot (the data the person saw). Each check
refuses with `RequestInputError` (the field, the value, why) or, for a site outside the
caller's scope, `RequestNotAllowedError`.

A transfer's quantity must be available to leave the source site on the ship date: the
source's available-to-promise over the horizon (`control_tower.promising`: the least
projected availability from the ship date to the end of the horizon), so a transfer never
takes stock the source has promised to its own later orders.

Value (money the approval rules judge): transfer and requisition, quantity x the item's
unit cost; expedite, the PO line's quantity still to receive x its unit cost; re-promise, the
order line's quantity still to ship x its unit price; invoice hold or release, invoiced
quantity x invoiced unit cost; recount, the item's system quantity at the site (latest
inventory snapshot) x its unit cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.actions.types import RequestInputError, RequestNotAllowedError
from control_tower.promising.answer import as_of_day, read_projections
from control_tower.promising.atp import DEFAULT_HORIZON_DAYS, EPSILON, MAX_HORIZON_DAYS


@dataclass(frozen=True)
class Checked:
    """A request the warehouse confirms: its scope columns and its value in money."""

    entity_id: str | None
    location_id: str | None
    item_id: str | None
    value: float


def _one(cur: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> tuple[Any, ...] | None:
    return cur.execute(sql, list(params)).fetchone()


def site_entity(cur: duckdb.DuckDBPyConnection, field: str, location_id: str) -> str:
    """The entity of a known site, or RequestInputError for an unknown one."""
    row = _one(cur, "SELECT entity_id FROM main.locations WHERE location_id = ?", location_id)
    if row is None:
        raise RequestInputError(field, location_id, "no such site in the warehouse")
    return row[0]


def unit_cost(cur: duckdb.DuckDBPyConnection, field: str, item_id: str) -> float:
    """The unit cost of a known item, or RequestInputError for an unknown one."""
    row = _one(cur, "SELECT unit_cost FROM main.items WHERE item_id = ?", item_id)
    if row is None:
        raise RequestInputError(field, item_id, "no such item in the item master")
    return float(row[0] or 0)


def in_scope(scope: Scope, entity_id: str | None, location_id: str | None, what: str) -> None:
    """RequestNotAllowedError when a site of the request is outside the caller's scope."""
    if not scope.allows(entity_id, location_id):
        where = location_id or entity_id
        raise RequestNotAllowedError(f"{what} {where} is outside your scope ({scope.describe()})")


def available_to_transfer(
    cur: duckdb.DuckDBPyConnection, item_id: str, location_id: str, ship_date: date, qty: float
) -> tuple[float, date]:
    """What of `qty` can leave `location_id` on `ship_date` (module docstring), and the end of
    the horizon it was judged over."""
    as_of = as_of_day(cur)
    if as_of is None:
        raise RequestInputError("ship_date", ship_date.isoformat(), "no data landed yet")
    ahead = (ship_date - as_of).days
    if ahead > MAX_HORIZON_DAYS:
        raise RequestInputError(
            "ship_date", ship_date.isoformat(), f"more than {MAX_HORIZON_DAYS} days ahead"
        )
    horizon = max(DEFAULT_HORIZON_DAYS, ahead)
    projection = read_projections(cur, [(item_id, location_id)], as_of=as_of, horizon_days=horizon)[
        (item_id, location_id)
    ]
    return projection.partial_qty(qty, ship_date), projection.end


def _transfer(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    source, target = p["from_location_id"], p["to_location_id"]
    if source == target:
        raise RequestInputError("to_location_id", target, "the same site as the source")
    from_entity = site_entity(cur, "from_location_id", source)
    to_entity = site_entity(cur, "to_location_id", target)
    if from_entity != to_entity:
        raise RequestInputError(
            "to_location_id",
            target,
            f"of entity {to_entity}, the source {source} of entity {from_entity}: "
            "transfers stay within one entity",
        )
    cost = unit_cost(cur, "item_id", p["item_id"])
    in_scope(scope, from_entity, source, "the source site")
    in_scope(scope, to_entity, target, "the destination site")
    qty = p["quantity"]
    free, end = available_to_transfer(
        cur, p["item_id"], source, date.fromisoformat(p["ship_date"]), qty
    )
    if free < qty - EPSILON:
        raise RequestInputError(
            "quantity",
            qty,
            f"only {free:g} of {p['item_id']} can leave {source} on {p['ship_date']} "
            f"without uncovering its own orders up to {end.isoformat()}",
        )
    return Checked(to_entity, target, p["item_id"], qty * cost)


def _expedite(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    row = _one(
        cur,
        "SELECT l.location_id, l.item_id, l.status, l.unit_cost, l.ordered_qty - coalesce("
        "(SELECT sum(r.received_qty) FROM main.receipts AS r WHERE r.po_id = l.po_id "
        "AND r.po_line_no = l.line_no), 0) FROM main.purchase_order_lines AS l "
        "WHERE l.po_id = ? AND l.line_no = ?",
        p["po_id"],
        p["po_line_no"],
    )
    if row is None:
        raise RequestInputError("po_line_no", p["po_line_no"], f"PO {p['po_id']} has no such line")
    location, item, status, cost, remaining = row
    if status != "open" or remaining <= 0:
        raise RequestInputError(
            "po_line_no", p["po_line_no"], f"the PO line is {status}, nothing left to receive"
        )
    entity = site_entity(cur, "po_id", location)
    in_scope(scope, entity, location, "the PO line's site")
    return Checked(entity, location, item, float(remaining) * float(cost or 0))


def _requisition(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    cost = unit_cost(cur, "item_id", p["item_id"])
    entity = site_entity(cur, "location_id", p["location_id"])
    known = _one(
        cur,
        "SELECT 1 WHERE ? IN (SELECT supplier_id FROM main.items "
        "UNION SELECT supplier_id FROM main.purchase_order_lines)",
        p["supplier_id"],
    )
    if known is None:
        raise RequestInputError("supplier_id", p["supplier_id"], "no such supplier")
    in_scope(scope, entity, p["location_id"], "the site")
    return Checked(entity, p["location_id"], p["item_id"], p["quantity"] * cost)


def _re_promise(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    row = _one(
        cur,
        "SELECT l.entity_id, l.location_id, l.item_id, l.status, l.unit_price, "
        "l.ordered_qty - coalesce((SELECT sum(s.shipped_qty) FROM main.shipments AS s "
        "WHERE s.order_id = l.order_id AND s.line_no = l.line_no), 0) "
        "FROM main.sales_order_lines AS l WHERE l.order_id = ? AND l.line_no = ?",
        p["order_id"],
        p["line_no"],
    )
    if row is None:
        raise RequestInputError("line_no", p["line_no"], f"order {p['order_id']} has no such line")
    entity, location, item, status, price, open_qty = row
    if status in ("shipped", "closed", "cancelled") or open_qty <= 0:
        raise RequestInputError("line_no", p["line_no"], f"the order line is {status}")
    in_scope(scope, entity, location, "the order line's site")
    return Checked(entity, location, item, float(open_qty) * float(price or 0))


def _recount(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    entity = site_entity(cur, "location_id", p["location_id"])
    cost = unit_cost(cur, "item_id", p["item_id"])
    in_scope(scope, entity, p["location_id"], "the site")
    row = _one(
        cur,
        "SELECT on_hand_qty FROM main.inventory_snapshots WHERE location_id = ? AND item_id = ? "
        "ORDER BY snapshot_date DESC LIMIT 1",
        p["location_id"],
        p["item_id"],
    )
    system_qty = float(row[0]) if row and row[0] is not None else 0.0
    return Checked(entity, p["location_id"], p["item_id"], system_qty * cost)


def _invoice(cur: duckdb.DuckDBPyConnection, p: dict[str, Any], scope: Scope) -> Checked:
    row = _one(
        cur,
        "SELECT a.entity_id, l.location_id, l.item_id, a.invoiced_qty * a.invoiced_unit_cost "
        "FROM main.ap_invoice_lines AS a LEFT JOIN main.purchase_order_lines AS l "
        "ON l.po_id = a.po_id AND l.line_no = a.po_line_no "
        "WHERE a.invoice_id = ? AND a.line_no = ?",
        p["invoice_id"],
        p["line_no"],
    )
    if row is None:
        raise RequestInputError(
            "line_no", p["line_no"], f"invoice {p['invoice_id']} has no such line"
        )
    entity, location, item, value = row
    in_scope(scope, entity, location, "the invoice's site")
    return Checked(entity, location, item, float(value or 0))


_CHECKS = {
    "stock_transfer": _transfer,
    "po_expedite": _expedite,
    "purchase_requisition": _requisition,
    "re_promise": _re_promise,
    "recount": _recount,
    "invoice_hold": _invoice,
    "invoice_release": _invoice,
}


def check_in_warehouse(
    cur: duckdb.DuckDBPyConnection, type_name: str, params: dict[str, Any], scope: Scope
) -> Checked:
    """Confirm parsed parameters (`types.parse_params`) against the warehouse (module
    docstring); the request's scope columns and value."""
    return _CHECKS[type_name](cur, params, scope)
