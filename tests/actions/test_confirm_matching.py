"""What confirms each request type: the landed record that shows it done, and what does not.

A warehouse with the landed schema gets hand-written rows (each in a batch started before or
after the request was sent); the requests are written straight into the app database as sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from control_tower.actions.confirm import HOLD_CONFIRMED_BY, confirm, mirror_requests
from control_tower.actions.store import ActionRequest
from control_tower.exceptions.store import ExceptionStore
from control_tower.storage.schema import ensure_schema
from tests.support.action_outbox import TRANSFER, approved_request

SENT = datetime(2026, 3, 18, 11, 0)
AS_OF = date(2026, 3, 19)
BEFORE, AFTER = 1, 2  # batches started before and after the requests were sent


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as s:
        yield s


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    ensure_schema(con)
    for batch, started in ((BEFORE, SENT - timedelta(hours=2)), (AFTER, SENT + timedelta(hours=3))):
        con.execute(
            "INSERT INTO ops.batches (batch_id, file_name, source_path, status, started_at) "
            "VALUES (?, 'f.csv', 'f.csv', 'loaded', ?)",
            [batch, started],
        )
    yield con
    con.close()


def _insert(con: duckdb.DuckDBPyConnection, table: str, **values: Any) -> None:
    names = ", ".join(values)
    con.execute(
        f"INSERT INTO main.{table} ({names}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )


def _sent(store: ExceptionStore, type: str, params: dict[str, Any], **kw: Any) -> int:
    request = approved_request(
        store, type, params, at=SENT - timedelta(hours=1), status="sent", sent_at=SENT,
        expected_by=kw.pop("expected_by", AS_OF + timedelta(days=2)), **kw,
    )  # fmt: skip
    return request.id


def _state(store: ExceptionStore, request_id: int) -> tuple[str, str | None]:
    with store.session() as s:
        r = s.get_one(ActionRequest, request_id)
        return r.status, r.confirmed_by


def _transfer(con, tid: str, **over: Any) -> None:
    row = {
        "transfer_id": tid, "line_no": 1, "from_location_id": "DC1", "to_location_id": "DC2",
        "item_id": "SKU-1", "qty": 40.0, "uom": "EA", "reference": None,
        "created_at": SENT, "created_at_local_date": SENT.date(), "status": "shipped",
        "updated_at": SENT, "_batch_id": AFTER,
    }  # fmt: skip
    _insert(con, "stock_transfers", **{**row, **over})


def test_a_transfer_is_matched_by_reference_else_by_sites_item_quantity_and_day(store, con) -> None:
    by_reference = _sent(store, "stock_transfer", TRANSFER)
    by_match = _sent(store, "stock_transfer", {**TRANSFER, "item_id": "SKU-2"})
    too_small = _sent(store, "stock_transfer", {**TRANSFER, "item_id": "SKU-3"})
    cancelled = _sent(store, "stock_transfer", {**TRANSFER, "item_id": "SKU-4"})
    too_early = _sent(store, "stock_transfer", {**TRANSFER, "item_id": "SKU-5"})
    with store.session() as s:
        uid = s.get_one(ActionRequest, by_reference).request_uid
    # the referenced transfer moved less and from elsewhere: the reference is what counts
    _transfer(con, "T1", reference=uid, qty=5.0, from_location_id="DC9")
    _transfer(con, "T2", item_id="SKU-2", qty=50.0)
    _transfer(con, "T3", item_id="SKU-3", qty=39.0)
    _transfer(con, "T4", item_id="SKU-4", status="cancelled")
    _transfer(con, "T5", item_id="SKU-5", created_at_local_date=SENT.date() - timedelta(days=3))
    # a transfer carrying another request's reference confirms nothing else
    _transfer(con, "T6", item_id="SKU-3", qty=90.0, reference="someone-else")
    report = confirm(con, store, as_of=AS_OF, now=SENT + timedelta(hours=4))
    assert report.confirmed == 2
    assert _state(store, by_reference) == ("confirmed", "stock_transfers T1|1")
    assert _state(store, by_match) == ("confirmed", "stock_transfers T2|1")
    for unmatched in (too_small, cancelled, too_early):
        assert _state(store, unmatched) == ("sent", None)


def test_an_expedite_and_a_re_promise_need_a_later_extract_with_the_new_date(store, con) -> None:
    expedite = _sent(
        store, "po_expedite", {"po_id": "PO1", "po_line_no": 1, "new_expected_date": "2026-03-25"}
    )
    stale = _sent(
        store, "po_expedite", {"po_id": "PO2", "po_line_no": 1, "new_expected_date": "2026-03-25"}
    )
    repromise = _sent(
        store, "re_promise", {"order_id": "SO1", "line_no": 2, "new_promised_date": "2026-03-27"}
    )
    po = {
        "line_no": 1, "supplier_id": "S1", "item_id": "SKU-1", "location_id": "DC2",
        "ordered_qty": 10.0, "uom": "EA", "unit_cost": 1.0, "order_date": date(2026, 3, 1),
        "status": "open", "updated_at": SENT,
    }  # fmt: skip
    _insert(con, "purchase_order_lines", po_id="PO1", expected_date=date(2026, 3, 24),
            _batch_id=AFTER, **po)  # fmt: skip
    # the right date, but in an extract taken before the request was sent
    _insert(con, "purchase_order_lines", po_id="PO2", expected_date=date(2026, 3, 24),
            _batch_id=BEFORE, **po)  # fmt: skip
    _insert(
        con, "sales_order_lines", order_id="SO1", line_no=2, entity_id="E1", customer_id="C1",
        item_id="SKU-1", location_id="DC2", channel="EDI", order_ts=SENT, ordered_qty=5.0,
        uom="EA", unit_price=2.0, requested_date=date(2026, 3, 20),
        promised_date=date(2026, 3, 27), status="open", updated_at=SENT, _batch_id=AFTER,
    )  # fmt: skip
    confirm(con, store, as_of=AS_OF, now=SENT + timedelta(hours=4))
    assert _state(store, expedite) == ("confirmed", "purchase_order_lines PO1|1")
    assert _state(store, stale) == ("sent", None)
    assert _state(store, repromise) == ("confirmed", "sales_order_lines SO1|2")


def test_a_requisition_recount_and_release_are_matched_by_their_records(store, con) -> None:
    requisition = _sent(
        store, "purchase_requisition",
        {"item_id": "SKU-1", "location_id": "DC2", "quantity": 100, "supplier_id": "S1",
         "need_date": "2026-03-30"},
    )  # fmt: skip
    recount = _sent(store, "recount", {"location_id": "DC2", "item_id": "SKU-1", "bin_id": "B7"})
    release = _sent(store, "invoice_release", {"invoice_id": "INV1", "line_no": 1})
    _insert(
        con, "purchase_order_lines", po_id="PO9", line_no=3, supplier_id="S1", item_id="SKU-1",
        location_id="DC2", ordered_qty=120.0, uom="EA", unit_cost=1.0,
        order_date=date(2026, 3, 18), expected_date=date(2026, 3, 29), status="open",
        updated_at=SENT, _batch_id=AFTER,
    )  # fmt: skip
    count = {"location_id": "DC2", "item_id": "SKU-1", "system_qty": 5.0, "counted_qty": 4.0,
             "counter_id": "U1", "_batch_id": AFTER}  # fmt: skip
    _insert(con, "cycle_counts", count_id="CC1", bin_id="B7", counted_at=SENT - timedelta(hours=1),
            **count)  # fmt: skip
    _insert(con, "cycle_counts", count_id="CC2", bin_id="B8", counted_at=SENT + timedelta(hours=1),
            **count)  # fmt: skip
    confirm(con, store, as_of=AS_OF, now=SENT + timedelta(hours=4))
    assert _state(store, requisition) == ("confirmed", "purchase_order_lines PO9|3")
    assert _state(store, recount) == ("sent", None)  # one count too early, one in another bin
    _insert(con, "cycle_counts", count_id="CC3", bin_id="B7", counted_at=SENT + timedelta(hours=2),
            **count)  # fmt: skip
    invoice = {"entity_id": "E1", "supplier_id": "S1", "po_id": "PO9", "po_line_no": 3,
               "invoiced_qty": 120.0, "invoiced_unit_cost": 1.0,
               "invoice_date": date(2026, 3, 18), "first_pass_matched": False,
               "updated_at": SENT}  # fmt: skip
    _insert(con, "ap_invoice_lines", invoice_id="INV1", line_no=1, match_status="matched",
            _batch_id=AFTER, **invoice)  # fmt: skip
    confirm(con, store, as_of=AS_OF, now=SENT + timedelta(hours=5))
    assert _state(store, recount) == ("confirmed", "cycle_counts CC3")
    assert _state(store, release) == ("confirmed", "ap_invoice_lines INV1|1")


def test_an_invoice_hold_is_confirmed_on_delivery(store, con) -> None:
    hold = _sent(store, "invoice_hold", {"invoice_id": "INV1", "line_no": 1})
    report = confirm(con, store, as_of=AS_OF, now=SENT + timedelta(hours=1))
    assert report.confirmed == 1
    assert _state(store, hold) == ("confirmed", HOLD_CONFIRMED_BY)


def test_a_request_past_its_expected_day_becomes_overdue_and_is_mirrored(store, con) -> None:
    late = _sent(store, "stock_transfer", TRANSFER, expected_by=AS_OF - timedelta(days=1))
    due_today = _sent(store, "stock_transfer", TRANSFER, expected_by=AS_OF)
    report = confirm(con, store, as_of=AS_OF, now=SENT + timedelta(days=1))
    assert report.overdue == 1
    assert _state(store, late) == ("overdue", None)
    assert _state(store, due_today) == ("sent", None)
    assert mirror_requests(con, store) == 2
    rows = con.execute(
        "SELECT id, status, expected_by FROM exc.action_requests ORDER BY id"
    ).fetchall()
    assert rows == [(late, "overdue", AS_OF - timedelta(days=1)), (due_today, "sent", AS_OF)]
    # an overdue request is still confirmed by a later extract
    _transfer(con, "T1")
    confirm(con, store, as_of=AS_OF, now=SENT + timedelta(days=1))
    assert _state(store, late) == ("confirmed", "stock_transfers T1|1")


def test_a_person_cannot_choose_fixed_by_action(store) -> None:
    from control_tower.exceptions.workflow import TransitionError, act
    from tests.support.action_outbox import open_item

    item_id = open_item(store, at=SENT)
    with pytest.raises(TransitionError, match="fixed_by_action is recorded by the tower"):
        act(store, item_id, "resolve", user="pat", role="planner", reason="fixed_by_action")
