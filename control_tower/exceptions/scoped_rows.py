"""Landed rows read for one user: limited to the user's scope on both dimensions.

Every row read for an exception's source records is limited to the reader's
scope, whatever key led to it (a shipment from another site stays hidden). A
table that lacks a dimension reaches it through the table that carries it
(`_SCOPE_PATHS`): a location's entity from the location master, an invoice
line's location from its purchase order line, a freight shipment's and a
tracking event's location from the warehouse shipment. A restriction on a
dimension a table cannot reach shows none of its rows (a user limited to sites
sees no close tasks and no load batches, which belong to no site).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from control_tower.accounts import Scope

ROW_LIMIT = 50  # rows of one kind read for one item (tracking events, wave shipments ...)


def _entity_of(location: str) -> str:
    return f"(SELECT l.entity_id FROM locations AS l WHERE l.location_id = {location})"


_SHIPMENT_SITE = "(SELECT any_value(s.location_id) FROM shipments AS s WHERE s.shipment_id = {})"
_FREIGHT_SITE = (
    "(SELECT any_value(s.location_id) FROM freight_shipments AS f "
    "JOIN shipments AS s ON s.shipment_id = f.shipment_id WHERE f.tms_shipment_id = {})"
)
_PO_LINE_SITE = (
    "(SELECT p.location_id FROM purchase_order_lines AS p "
    "WHERE p.po_id = t.po_id AND p.line_no = t.po_line_no)"
)


def _at_site(location: str) -> tuple[str, str]:
    return _entity_of(location), location


# Per landed table: the SQL of a row `t`'s entity and location, read through the table that
# carries the dimension when `t` lacks it (None: it cannot be reached; see the module docstring).
_SCOPE_PATHS: dict[str, tuple[str | None, str | None]] = {
    "sales_order_lines": ("t.entity_id", "t.location_id"),
    "ap_invoice_lines": ("t.entity_id", _PO_LINE_SITE),
    "close_tasks": ("t.entity_id", None),
    **{
        table: _at_site("t.location_id")
        for table in (
            "purchase_order_lines",
            "inventory_snapshots",
            "cycle_counts",
            "waves",
            "shipments",
            "receipts",
        )
    },
    "freight_shipments": _at_site(_SHIPMENT_SITE.format("t.shipment_id")),
    "tracking_events": _at_site(_FREIGHT_SITE.format("t.tms_shipment_id")),
}


def scope_sql(scope: Scope, table: str) -> tuple[str, list[Any]]:
    """The condition limiting rows `t` of a landed table to `scope`, and its values; a table
    with no path to a restricted dimension (or not listed) matches nothing."""
    entity, location = _SCOPE_PATHS.get(table, (None, None))
    return scope.sql(entity, location)


class ScopedReader:
    """Reads rows of one item's tables, scoped, with the file each came from."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, scope: Scope) -> None:
        self.cur = cur
        self.scope = scope

    def rows(
        self,
        table: str,
        where: str,
        params: Sequence[Any],
        *,
        order: str = "1",
        limit: int = ROW_LIMIT,
    ) -> list[dict[str, Any]]:
        """Rows of `table` (a name from code) matching `where`, in scope, newest per `order`."""
        in_scope, scope_params = scope_sql(self.scope, table)
        sql = (
            f"SELECT t.*, b.file_name AS _file_name FROM {table} AS t "
            "LEFT JOIN ops.batches AS b ON b.batch_id = t._batch_id "
            f"WHERE ({where}) AND {in_scope} ORDER BY {order} LIMIT {int(limit)}"
        )
        try:
            result = self.cur.execute(sql, [*params, *scope_params])
        except duckdb.CatalogException:
            return []  # the table was never landed
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
