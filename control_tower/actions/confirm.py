"""Confirmation from the data: a sent request is done when a later extract shows it.

The pipeline's `actions` step (`refresh_actions`, before the exceptions are detected):

1. dispatches the outbox (`actions.outbox.dispatch`): approved requests not sent yet, and
   the deliveries due for a retry;
2. judges every `sent` or `overdue` request against the landed tables, one set-based DuckDB
   query per type over the open requests only (`MATCHES`, docs/actions.md "Confirmation"); a
   match confirms the request (`confirmed_at`, `confirmed_by` = table and key of the record)
   and resolves its exception item with `fixed_by_action`; a sent request whose expected day
   has passed unconfirmed becomes `overdue`. A delivered `invoice_hold` is confirmed at once:
   the contract has no field that shows a hold;
3. copies every request to `exc.action_requests`, where the `action_not_confirmed` rule
   reads the overdue ones (it clears when they are confirmed or cancelled).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import select

from control_tower.actions.outbox import DispatchReport, dispatch, event, request_in
from control_tower.actions.store import ActionRequest
from control_tower.exceptions.mirror import loading
from control_tower.exceptions.store import SYSTEM_USER, ExceptionStore
from control_tower.exceptions.workflow import FIXED_BY_ACTION, WorkflowError, act
from control_tower.settings import Settings

log = logging.getLogger(__name__)

JUDGED = ("sent", "overdue")
# The hold is delivered, and nothing in the contract can show it: what confirmed it.
HOLD_CONFIRMED_BY = "delivery (the extract contract has no field that shows an invoice hold)"

# The open requests the queries read (temp table act_open), one typed column per parameter.
OPEN_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "request_uid": pl.String,
    "type": pl.String,
    "request_day": pl.Date,
    "sent_at": pl.Datetime("us"),
    "from_location_id": pl.String,
    "to_location_id": pl.String,
    "location_id": pl.String,
    "item_id": pl.String,
    "supplier_id": pl.String,
    "bin_id": pl.String,
    "quantity": pl.Float64,
    "po_id": pl.String,
    "po_line_no": pl.Int64,
    "order_id": pl.String,
    "invoice_id": pl.String,
    "line_no": pl.Int64,
    "new_date": pl.Date,
}
_NEW_DATE = ("new_expected_date", "new_promised_date")


def _first(order: str) -> str:
    return f"QUALIFY row_number() OVER (PARTITION BY r.id ORDER BY {order}) = 1"


# "In a later extract": the record's batch (ops.batches, on the product clock) started after
# the request was sent.
# Per type: the SQL of (id, source, source_key) for each open request of the type that the
# landed tables show done (one row per request: the first matching record).
MATCHES: dict[str, str] = {
    "stock_transfer": """
        SELECT r.id, 'stock_transfers' AS source, t.transfer_id || '|' || t.line_no AS source_key
        FROM act_open AS r
        JOIN main.stock_transfers AS t ON t.reference = r.request_uid
        WHERE r.type = 'stock_transfer' AND t.status <> 'cancelled'
        UNION ALL
        SELECT r.id, 'stock_transfers', t.transfer_id || '|' || t.line_no
        FROM act_open AS r
        JOIN main.stock_transfers AS t
          ON t.from_location_id = r.from_location_id AND t.to_location_id = r.to_location_id
         AND t.item_id = r.item_id
        WHERE r.type = 'stock_transfer' AND t.status <> 'cancelled' AND t.reference IS NULL
          AND t.qty >= r.quantity AND t.created_at_local_date >= r.request_day
    """,
    "po_expedite": """
        SELECT r.id, 'purchase_order_lines', p.po_id || '|' || p.line_no
        FROM act_open AS r
        JOIN main.purchase_order_lines AS p ON p.po_id = r.po_id AND p.line_no = r.po_line_no
        JOIN ops.batches AS b ON b.batch_id = p._batch_id AND b.started_at > r.sent_at
        WHERE r.type = 'po_expedite' AND p.status <> 'cancelled'
          AND p.expected_date <= r.new_date     """,
    "purchase_requisition": """
        SELECT r.id, 'purchase_order_lines', p.po_id || '|' || p.line_no
        FROM act_open AS r
        JOIN main.purchase_order_lines AS p
          ON p.item_id = r.item_id AND p.location_id = r.location_id
        WHERE r.type = 'purchase_requisition' AND p.status <> 'cancelled'
          AND (r.supplier_id IS NULL OR p.supplier_id = r.supplier_id)
          AND p.ordered_qty >= r.quantity AND p.order_date >= r.request_day
    """,
    "re_promise": """
        SELECT r.id, 'sales_order_lines', l.order_id || '|' || l.line_no
        FROM act_open AS r
        JOIN main.sales_order_lines AS l ON l.order_id = r.order_id AND l.line_no = r.line_no
        JOIN ops.batches AS b ON b.batch_id = l._batch_id AND b.started_at > r.sent_at
        WHERE r.type = 're_promise' AND l.promised_date = r.new_date
    """,
    "recount": """
        SELECT r.id, 'cycle_counts', c.count_id
        FROM act_open AS r
        JOIN main.cycle_counts AS c ON c.location_id = r.location_id AND c.item_id = r.item_id
        WHERE r.type = 'recount' AND (r.bin_id IS NULL OR c.bin_id = r.bin_id)
          AND c.counted_at > r.sent_at
    """,
    "invoice_release": """
        SELECT r.id, 'ap_invoice_lines', a.invoice_id || '|' || a.line_no
        FROM act_open AS r
        JOIN main.ap_invoice_lines AS a ON a.invoice_id = r.invoice_id AND a.line_no = r.line_no
        JOIN ops.batches AS b ON b.batch_id = a._batch_id AND b.started_at > r.sent_at
        WHERE r.type = 'invoice_release' AND a.match_status = 'matched'
    """,
}


@dataclass
class ConfirmReport:
    """What one actions step did."""

    dispatch: DispatchReport = field(default_factory=DispatchReport)
    judged: int = 0
    confirmed: int = 0
    overdue: int = 0
    resolved: int = 0  # exception items closed as fixed by action
    mirrored: int = 0

    def summary(self) -> str:
        """One line for the run log."""
        return (
            f"{self.dispatch.summary()}; {self.judged} sent requests judged: "
            f"{self.confirmed} confirmed ({self.resolved} items fixed by action), "
            f"{self.overdue} overdue; {self.mirrored} requests mirrored"
        )


def refresh_actions(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, as_of: date, now: datetime
) -> ConfirmReport:
    """Dispatch, confirm and mirror (see the module docstring)."""
    with ExceptionStore.open(settings.app_db_url) as store:
        report = ConfirmReport(dispatch=dispatch(store, settings, now=now))
        confirm(con, store, as_of=as_of, now=now, report=report)
        report.mirrored = mirror_requests(con, store)
    return report


def confirm(
    con: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    *,
    as_of: date,
    now: datetime,
    report: ConfirmReport | None = None,
) -> ConfirmReport:
    """Judge every sent or overdue request against the landed tables at `as_of`."""
    report = report or ConfirmReport()
    with store.session() as s:
        pending = list(s.scalars(select(ActionRequest).where(ActionRequest.status.in_(JUDGED))))
    report.judged = len(pending)
    if not pending:
        return report
    found = {r.id: HOLD_CONFIRMED_BY for r in pending if r.type == "invoice_hold"}
    found |= _matches(con, pending)
    for request in pending:
        by = found.get(request.id)
        if by is not None:
            report.confirmed += 1
            report.resolved += _confirmed(store, request.id, by, now)
        elif request.status == "sent" and request.expected_by and request.expected_by < as_of:
            report.overdue += _overdue(store, request.id, as_of, now)
    return report


def _open_frame(pending: list[ActionRequest]) -> pl.DataFrame:
    rows = []
    for r in pending:
        p = dict(r.params or {})
        new_date = next((p[k] for k in _NEW_DATE if p.get(k)), None)
        rows.append(
            {
                **{k: p.get(k) for k in OPEN_SCHEMA if k in p},
                "id": r.id,
                "request_uid": r.request_uid,
                "type": r.type,
                "request_day": r.requested_at.date(),
                "sent_at": r.sent_at,
                "new_date": date.fromisoformat(new_date) if new_date else None,
            }
        )
    return pl.DataFrame(rows, schema=OPEN_SCHEMA, strict=False)


def _matches(con: duckdb.DuckDBPyConnection, pending: list[ActionRequest]) -> dict[int, str]:
    """Request id -> `<table> <key>` of the landed record that shows it done."""
    types = sorted({r.type for r in pending} & set(MATCHES))
    if not types:
        return {}
    out: dict[int, str] = {}
    with loading(con, "act_open", _open_frame(pending)):
        for kind in types:
            rows = con.execute(
                f"SELECT * FROM ({MATCHES[kind]}) AS r(id, source, source_key) {_first('source_key')}"
            ).fetchall()
            out |= {int(i): f"{source} {key}" for i, source, key in rows}
    return out


def _confirmed(store: ExceptionStore, request_id: int, by: str, now: datetime) -> int:
    """Confirm one request and resolve its item as fixed by action; 1 when the item closed."""
    with request_in(store, request_id, *JUDGED) as (s, request):
        if request is None:
            return 0
        request.status, request.confirmed_at, request.confirmed_by = "confirmed", now, by
        s.add(event(request_id, now, "confirmed", f"shown done by {by}", record=by))
        item_id, uid = request.exception_id, request.request_uid
    if item_id is None:
        return 0
    note = f"fixed by action request {uid} ({by})"
    try:
        act(store, item_id, "resolve", user=SYSTEM_USER, reason=FIXED_BY_ACTION, note=note, now=now)
    except WorkflowError as exc:  # resolved by a person first, or gone: theirs stands
        log.info("exception %s not closed by request %s: %s", item_id, uid, exc)
        return 0
    return 1


def _overdue(store: ExceptionStore, request_id: int, as_of: date, now: datetime) -> int:
    with request_in(store, request_id, "sent") as (s, request):
        if request is None:
            return 0
        request.status = "overdue"
        note = f"not shown done by {request.expected_by:%Y-%m-%d} (data as of {as_of:%Y-%m-%d})"
        s.add(event(request_id, now, "overdue", note))
    return 1


MIRROR_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "request_uid": pl.String,
    "type": pl.String,
    "system": pl.String,
    "status": pl.String,
    "exception_id": pl.Int64,
    "entity_id": pl.String,
    "location_id": pl.String,
    "item_id": pl.String,
    "params": pl.String,
    "value": pl.Float64,
    "requested_by": pl.String,
    "requested_at": pl.Datetime("us"),
    "sent_at": pl.Datetime("us"),
    "expected_by": pl.Date,
    "confirmed_at": pl.Datetime("us"),
    "confirmed_by": pl.String,
}


def _mirror_rows(store: ExceptionStore) -> Iterator[dict[str, Any]]:
    with store.session() as s:
        for r in s.scalars(select(ActionRequest).order_by(ActionRequest.id)):
            row = {name: getattr(r, name) for name in MIRROR_SCHEMA}
            row["params"] = json.dumps(r.params or {}, sort_keys=True)
            yield row


def mirror_requests(con: duckdb.DuckDBPyConnection, store: ExceptionStore) -> int:
    """Replace `exc.action_requests` with every request as it stands; returns how many."""
    frame = pl.DataFrame(list(_mirror_rows(store)), schema=MIRROR_SCHEMA, orient="row")
    cols = ", ".join(MIRROR_SCHEMA)
    with loading(con, "act_mirror", frame):
        con.execute("DELETE FROM exc.action_requests")
        con.execute(f"INSERT INTO exc.action_requests ({cols}) SELECT {cols} FROM act_mirror")
    return frame.height
