"""Pipeline runs close the loop: the actions step sends approved requests, a later landed
stock_transfers extract confirms a transfer and closes its item as fixed by action, and a
request not confirmed by its expected day becomes overdue and an action_not_confirmed item.

The product clock is the suite's (CONTROL_TOWER_NOW: DEMO_NOW), so the as-of day is fixed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from control_tower.actions.store import ActionEvent, ActionRequest
from control_tower.exceptions.store import AuditEntry, ExceptionItem, ExceptionStore
from control_tower.settings import load_settings, utc_now
from pipelines.run import run_pipeline
from tests.support.action_outbox import approved_request, open_item
from tests.support.tiny_inbox import write_master

TRANSFER = {
    "from_location_id": "DC-CHI",
    "to_location_id": "DC-RTM",
    "item_id": "I1",
    "quantity": 24,
    "ship_date": "2026-03-19",
}


def _request(store: ExceptionStore, request_id: int) -> ActionRequest:
    with store.session() as s:
        return s.get_one(ActionRequest, request_id)


def _items(store: ExceptionStore, type: str) -> list[ExceptionItem]:
    with store.session() as s:
        return list(s.scalars(select(ExceptionItem).where(ExceptionItem.type == type)))


def _steps_ok(report) -> None:
    failed = {s.name: s.error for s in report.steps if s.status != "ok"}
    assert failed == {}


def test_a_later_transfer_extract_confirms_the_request_and_closes_its_item(
    tmp_path: Path,
) -> None:
    settings = load_settings(tmp_path / "home")
    write_master(settings.inbox)
    now = utc_now()
    with ExceptionStore.open(settings.app_db_url) as store:
        # raised from an item no detection rule owns, so only the confirmation closes it
        item_id = open_item(store, at=now, type="kpi_alert")
        transfer = approved_request(store, "stock_transfer", TRANSFER, at=now, exception_id=item_id)
        forgotten = approved_request(
            store, "recount", {"location_id": "DC-CHI", "item_id": "I2"}, at=now - timedelta(days=9),
            status="sent", sent_at=now - timedelta(days=8), expected_by=(now - timedelta(days=6)).date(),
        )  # fmt: skip

        first = run_pipeline(settings, trigger="cli")
        _steps_ok(first)
        sent = _request(store, transfer.id)
        assert sent.status == "sent"
        assert sent.expected_by.isoformat() == "2026-03-21"  # ship date + 2 days' grace
        outbox = settings.home / "outbox" / "erp" / f"stock_transfer_{transfer.request_uid}.json"
        assert json.loads(outbox.read_text())["params"] == TRANSFER
        # the recount nobody confirmed is overdue and in the planners' queue
        assert _request(store, forgotten.id).status == "overdue"
        [late] = _items(store, "action_not_confirmed")
        assert (late.key, late.status, late.owner_role) == (str(forgotten.id), "open", "planner")
        assert late.detail["request_uid"] == forgotten.request_uid
        assert late.detail["days_overdue"] == 6

        # the ERP's extract shows the transfer, carrying the request uid; the recount is cancelled
        wms = settings.inbox / "wms"
        wms.mkdir(parents=True, exist_ok=True)
        (wms / "stock_transfers.csv").write_text(
            "transfer_id,line_no,from_location_id,to_location_id,item_id,qty,uom,reference,"
            "created_at,shipped_ts,received_ts,status,updated_at\n"
            f"TR-1,1,DC-CHI,DC-RTM,I1,2,CS,{transfer.request_uid},2026-03-18T12:00:00,"
            "2026-03-18T16:00:00,,shipped,2026-03-18T16:00:00\n"
        )
        with store.session() as s:
            s.get_one(ActionRequest, forgotten.id).status = "cancelled"
        second = run_pipeline(settings, trigger="cli")
        _steps_ok(second)

        done = _request(store, transfer.id)
        assert (done.status, done.confirmed_by) == ("confirmed", "stock_transfers TR-1|1")
        item = store.get(item_id)
        assert item is not None
        assert (item.status, item.resolution_code) == ("resolved", "fixed_by_action")
        audit = store.audit(item_id)[-1]
        assert isinstance(audit, AuditEntry)
        assert (audit.actor, audit.action) == ("system", "resolve")
        assert transfer.request_uid in (audit.note or "")
        with store.session() as s:
            events = [
                e.event
                for e in s.scalars(select(ActionEvent).where(ActionEvent.request_id == transfer.id))
            ]
        assert events == ["delivered", "confirmed"]
        # the cancelled request's item cleared
        [late] = _items(store, "action_not_confirmed")
        assert (late.status, late.resolution_code) == ("resolved", "cleared")
