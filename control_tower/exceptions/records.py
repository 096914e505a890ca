"""The source records behind one exception item, as a dated timeline.

An item names its condition by a business key (an order line, a freight
shipment, a bin count, a wave ...; see `types.py`). This module reads the
landed rows that key points to from a serving snapshot: for an order line its
line, shipments, freight shipments and tracking events; for a stock item its
snapshots, purchase order lines and receipts; the cycle counts of a bin; the
wave and what shipped on it; the invoice line with its PO line and receipts;
the close task; for data problems the batches of the table. Each row becomes
one `SourceEvent` with its date, a sentence, the raw fields and the batch and
file it was landed from (`_batch_id` -> `ops.batches.file_name`), so a person
can trace it to the extract.

Scope: the item itself has been checked against the user's scope by the
caller, and every row read here is limited to the user's scope as well, on
both dimensions, whatever key led to it (`scoped_rows`: a shipment from
another site stays hidden; a user limited to sites sees no close tasks and
no load batches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.scoped_rows import ScopedReader, scope_sql
from control_tower.exceptions.store import ExceptionItem


@dataclass(frozen=True)
class SourceEvent:
    """One landed record on an item's timeline."""

    at: datetime | date | None
    kind: str  # short name of the kind of record, e.g. "Order line"
    title: str  # what happened, in a sentence
    table: str  # the landed table the record lives in
    fields: dict[str, Any]  # the record as landed (without lineage columns)
    batch_id: int | None
    file_name: str | None

    def sort_key(self) -> tuple[int, datetime]:
        """Dated events in time order, undated ones last."""
        if self.at is None:
            return (1, datetime.max)
        at = (
            self.at
            if isinstance(self.at, datetime)
            else datetime.combine(self.at, datetime.min.time())
        )
        return (0, at)

    def as_json(self) -> dict[str, Any]:
        """The event as JSON-ready values (dates and times as ISO text)."""
        return {
            "at": _plain(self.at),
            "kind": self.kind,
            "title": self.title,
            "table": self.table,
            "batch_id": self.batch_id,
            "file_name": self.file_name,
            "fields": {k: _plain(v) for k, v in self.fields.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _event(table: str, kind: str, row: dict[str, Any], at_field: str, title: str) -> SourceEvent:
    fields = {k: v for k, v in row.items() if k not in ("_batch_id", "_loaded_at", "_file_name")}
    return SourceEvent(
        at=row.get(at_field),
        kind=kind,
        title=title,
        table=table,
        fields=fields,
        batch_id=row.get("_batch_id"),
        file_name=row.get("_file_name"),
    )


def _num(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _parts(item: ExceptionItem, count: int) -> list[str]:
    parts = item.key.split("|")
    return parts if len(parts) == count else [""] * count


# --- per kind of record ---------------------------------------------------------------------------


def _order_line(r: ScopedReader, order_id: str, line_no: Any) -> list[SourceEvent]:
    out = []
    for row in r.rows(
        "sales_order_lines",
        "t.order_id = ? AND t.line_no = ?",
        [order_id, line_no],
    ):
        first, now = row.get("first_promised_date"), row.get("promised_date")
        promise = f"promised {first}" + (f", now {now}" if now and now != first else "")
        out.append(
            _event(
                "sales_order_lines",
                "Order line",
                row,
                "order_ts",
                f"Order {order_id} line {line_no} ordered: {_num(row.get('ordered_qty'))} of "
                f"{row.get('item_id')} for {row.get('customer_id')}, {promise}; "
                f"status {row.get('status')}",
            )
        )
    return out


def _shipments(r: ScopedReader, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    return r.rows("shipments", where, params, order="t.shipped_ts")


def _shipment_events(rows: list[dict[str, Any]]) -> list[SourceEvent]:
    return [
        _event(
            "shipments",
            "Shipment",
            row,
            "shipped_ts",
            f"Shipment {row.get('shipment_id')} shipped {_num(row.get('shipped_qty'))} of "
            f"{row.get('item_id')} (order {row.get('order_id')} line {row.get('line_no')})"
            + (f", wave {row['wave_id']}" if row.get("wave_id") else ""),
        )
        for row in rows
    ]


def _freight(r: ScopedReader, shipment_ids: Sequence[str]) -> list[SourceEvent]:
    """Freight shipments and their tracking events, for shipments already read in scope."""
    ids = sorted({s for s in shipment_ids if s})
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    freight = r.rows(
        "freight_shipments", f"t.shipment_id IN ({marks})", ids, order="t.planned_pickup_ts"
    )
    return _freight_events(r, freight)


def _freight_events(r: ScopedReader, freight: list[dict[str, Any]]) -> list[SourceEvent]:
    out = []
    for row in freight:
        delivered = row.get("actual_delivery_ts")
        at = "actual_delivery_ts" if delivered else "promised_delivery_ts"
        state = (
            f"delivered {delivered}" if delivered else f"promised {row.get('promised_delivery_ts')}"
        )
        out.append(
            _event(
                "freight_shipments",
                "Freight",
                row,
                at,
                f"Freight {row.get('tms_shipment_id')} with {row.get('carrier_id')} "
                f"({row.get('service_level') or row.get('mode')}): {state}; status {row.get('status')}",
            )
        )
    tms = sorted({row["tms_shipment_id"] for row in freight if row.get("tms_shipment_id")})
    if tms:
        marks = ", ".join("?" * len(tms))
        for row in r.rows(
            "tracking_events", f"t.tms_shipment_id IN ({marks})", tms, order="t.event_ts DESC"
        ):
            reason = f": {row['reason']}" if row.get("reason") else ""
            where = f" at {row['location']}" if row.get("location") else ""
            out.append(
                _event(
                    "tracking_events",
                    "Tracking",
                    row,
                    "event_ts",
                    f"{row.get('tms_shipment_id')} {row.get('event_type')}{where}{reason}",
                )
            )
    return out


def _po_lines(r: ScopedReader, where: str, params: Sequence[Any], order: str) -> list[SourceEvent]:
    return [
        _event(
            "purchase_order_lines",
            "Purchase order",
            row,
            "order_date",
            f"PO {row.get('po_id')} line {row.get('line_no')}: {_num(row.get('ordered_qty'))} of "
            f"{row.get('item_id')} from {row.get('supplier_id')}, expected {row.get('expected_date')}; "
            f"status {row.get('status')}",
        )
        for row in r.rows("purchase_order_lines", where, params, order=order)
    ]


def _receipts(r: ScopedReader, where: str, params: Sequence[Any], order: str) -> list[SourceEvent]:
    out = []
    for row in r.rows("receipts", where, params, order=order):
        away = row.get("putaway_ts")
        damaged = row.get("damaged_qty")
        hurt = f", {_num(damaged)} damaged" if damaged else ""
        out.append(
            _event(
                "receipts",
                "Receipt",
                row,
                "arrived_ts",
                f"Receipt {row.get('receipt_id')} line {row.get('line_no')}: "
                f"{_num(row.get('received_qty'))} of {row.get('item_id')} arrived{hurt} "
                f"(PO {row.get('po_id')} line {row.get('po_line_no')}); "
                + (f"put away {away}" if away else "not put away"),
            )
        )
    return out


def _document_line(item: ExceptionItem, id_field: str) -> tuple[Any, Any]:
    """The document id and line number an item names: from its detail, else from its key."""
    d = item.detail or {}
    doc_id, line = _parts(item, 2)
    return d.get(id_field) or doc_id, d.get("line_no") or line


def _order_line_item(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    order_id, line_no = _document_line(item, "order_id")
    events = _order_line(r, order_id, line_no)
    ships = _shipments(r, "t.order_id = ? AND t.line_no = ?", [order_id, line_no])
    events += _shipment_events(ships)
    events += _freight(r, [s.get("shipment_id") for s in ships])
    return events


def _carrier_delay(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    d = item.detail or {}
    shipment_id = d.get("shipment_id")
    ships = _shipments(r, "t.shipment_id = ?", [shipment_id]) if shipment_id else []
    if not ships:
        return []  # the freight is reached only through a shipment in scope
    events = _shipment_events(ships)
    tms = d.get("tms_shipment_id") or item.key
    freight = r.rows("freight_shipments", "t.tms_shipment_id = ?", [tms])
    events += _freight_events(r, freight)
    seen: set[tuple[Any, Any]] = set()
    for s in ships:
        line = (s.get("order_id"), s.get("line_no"))
        if line not in seen and len(seen) < 10:
            seen.add(line)
            events += _order_line(r, *line)
    return events


def _stockout(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    location, sku = _parts(item, 2)
    location, sku = item.location_id or location, item.item_id or sku
    events = []
    for row in r.rows(
        "inventory_snapshots",
        "t.location_id = ? AND t.item_id = ?",
        [location, sku],
        order="t.snapshot_date DESC",
        limit=14,
    ):
        available = (row.get("on_hand_qty") or 0) - (row.get("allocated_qty") or 0)
        available -= row.get("quarantined_qty") or 0
        events.append(
            _event(
                "inventory_snapshots",
                "Stock snapshot",
                row,
                "snapshot_date",
                f"Stock of {sku} at {location}: {_num(row.get('on_hand_qty'))} on hand, "
                f"{_num(available)} available, {_num(row.get('in_transit_qty'))} in transit",
            )
        )
    events += _po_lines(
        r,
        "t.location_id = ? AND t.item_id = ?",
        [location, sku],
        order="t.expected_date DESC",
    )[:10]
    events += _receipts(
        r, "t.location_id = ? AND t.item_id = ?", [location, sku], order="t.arrived_ts DESC"
    )[:10]
    return events


def _receipt(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    receipt_id, line_no = _document_line(item, "receipt_id")
    rows = r.rows(
        "receipts",
        "t.receipt_id = ? AND t.line_no = ?",
        [receipt_id, line_no],
    )
    events = _receipts(r, "t.receipt_id = ? AND t.line_no = ?", [receipt_id, line_no], "1")
    for row in rows[:1]:
        if row.get("po_id"):
            events += _po_lines(
                r, "t.po_id = ? AND t.line_no = ?", [row["po_id"], row.get("po_line_no")], "1"
            )
    return events


def _po_line_item(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    """A purchase order line and every receipt against it."""
    po_id, line_no = _document_line(item, "po_id")
    key = [po_id, line_no]
    events = _po_lines(r, "t.po_id = ? AND t.line_no = ?", key, "1")
    events += _receipts(r, "t.po_id = ? AND t.po_line_no = ?", key, "t.arrived_ts")
    return events


def _cycle_count(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    location, bin_id, sku = _parts(item, 3)
    d = item.detail or {}
    bin_id = d.get("bin_id") or bin_id
    events = []
    for row in r.rows(
        "cycle_counts",
        "t.location_id = ? AND t.bin_id = ? AND t.item_id = ?",
        [item.location_id or location, bin_id, item.item_id or sku],
        order="t.counted_at DESC",
        limit=10,
    ):
        events.append(
            _event(
                "cycle_counts",
                "Cycle count",
                row,
                "counted_at",
                f"Count {row.get('count_id')} of bin {bin_id} by {row.get('counter_id')}: "
                f"system {_num(row.get('system_qty'))}, counted {_num(row.get('counted_qty'))}",
            )
        )
    return events


def _wave(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    wave_id = (item.detail or {}).get("wave_id") or item.key
    events = []
    for row in r.rows("waves", "t.wave_id = ?", [wave_id]):
        done = row.get("completed_ts")
        released = row.get("released_ts")
        events.append(
            _event(
                "waves",
                "Wave",
                row,
                "planned_release_ts",
                f"Wave {wave_id} planned for release {row.get('planned_release_ts')} and completion "
                f"{row.get('planned_complete_ts')}; "
                + (f"released {released}" if released else "not released")
                + (f", completed {done}" if done else "")
                + f"; {_num(row.get('lines_picked'))} of {_num(row.get('lines_planned'))} lines picked",
            )
        )
    events += _shipment_events(_shipments(r, "t.wave_id = ?", [wave_id]))
    return events


def _invoice(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    d = item.detail or {}
    invoice_id, line = _parts(item, 2)
    invoice_id = d.get("invoice_id") or invoice_id
    line_no = d.get("line_no") or line
    events = []
    rows = r.rows(
        "ap_invoice_lines",
        "t.invoice_id = ? AND t.line_no = ?",
        [invoice_id, line_no],
    )
    for row in rows:
        events.append(
            _event(
                "ap_invoice_lines",
                "Invoice line",
                row,
                "invoice_date",
                f"Invoice {invoice_id} line {line_no} from {row.get('supplier_id')}: "
                f"{_num(row.get('invoiced_qty'))} at {_num(row.get('invoiced_unit_cost'))}; "
                f"match {row.get('match_status')}",
            )
        )
    for row in rows[:1]:
        if row.get("po_id"):
            key = [row["po_id"], row.get("po_line_no")]
            events += _po_lines(r, "t.po_id = ? AND t.line_no = ?", key, "1")
            events += _receipts(r, "t.po_id = ? AND t.po_line_no = ?", key, "t.arrived_ts")
    return events


def _close_task(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    entity, period, task = _parts(item, 3)
    d = item.detail or {}
    return [
        _event(
            "close_tasks",
            "Close task",
            row,
            "due_date",
            f"{row.get('task_name')} ({row.get('category')}) for {period} owned by "
            f"{row.get('owner')}, due {row.get('due_date')}; status {row.get('status')}",
        )
        for row in r.rows(
            "close_tasks",
            "t.entity_id = ? AND t.period = ? AND t.task_id = ?",
            [item.entity_id or entity, d.get("period") or period, d.get("task_id") or task],
        )
    ]


def _table_batches(r: ScopedReader, item: ExceptionItem) -> list[SourceEvent]:
    table = (item.detail or {}).get("table_name") or item.key
    in_scope, scope_params = scope_sql(r.scope, "ops.batches")  # loads belong to no site
    try:
        result = r.cur.execute(
            f"SELECT * FROM ops.batches WHERE table_name = ? AND {in_scope} "
            "ORDER BY batch_id DESC LIMIT 10",
            [table, *scope_params],
        )
    except duckdb.CatalogException:
        return []
    names = [d[0] for d in result.description]
    events = []
    for values in result.fetchall():
        row = dict(zip(names, values, strict=True))
        events.append(
            SourceEvent(
                at=row.get("started_at"),
                kind="Batch",
                title=f"Batch {row.get('batch_id')} of {table}: {row.get('status')}, "
                f"{_num(row.get('rows_read'))} rows read, "
                f"{_num(row.get('rows_quarantined'))} quarantined",
                table="ops.batches",
                fields=row,
                batch_id=row.get("batch_id"),
                file_name=row.get("file_name"),
            )
        )
    return events


_READERS: dict[str, Callable[[ScopedReader, ExceptionItem], list[SourceEvent]]] = {
    "backordered_line": _order_line_item,
    "short_shipment": _order_line_item,
    "carrier_delay": _carrier_delay,
    "stockout_risk": _stockout,
    "receipt_not_put_away": _receipt,
    "overdue_po_line": _po_line_item,
    "receipt_discrepancy": _po_line_item,
    "cycle_count_variance": _cycle_count,
    "late_wave": _wave,
    "unmatched_invoice_line": _invoice,
    "overdue_close_task": _close_task,
    "quarantined_rows": _table_batches,
    "stale_source": _table_batches,
}


def has_source_records(type_name: str) -> bool:
    """Whether items of this type point to landed records."""
    return type_name in _READERS


def source_records(
    cur: duckdb.DuckDBPyConnection, item: ExceptionItem, scope: Scope
) -> list[SourceEvent]:
    """The landed records behind an item (already checked to be in `scope`), oldest first."""
    reader = _READERS.get(item.type)
    if reader is None:
        return []
    events = reader(ScopedReader(cur, scope), item)
    return sorted(events, key=SourceEvent.sort_key)
