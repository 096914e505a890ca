"""The action outbox: files per request, a signed webhook, retries, idempotency, giving up.

A real HTTP receiver runs in a thread: it answers the first POST with HTTP 500 and accepts
the later ones, verifying each signature with the shared secret the way docs/actions.md
shows a receiver should.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from control_tower.actions.outbox import attention, csv_columns, dispatch
from control_tower.actions.store import ActionDelivery, ActionEvent, ActionRequest
from control_tower.exceptions.notify import RetryPolicy
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import Settings
from tests.support.action_outbox import TRANSFER, approved_request

T0 = datetime(2026, 3, 18, 11, 0)
SECRET = "s3cret-for-the-receiver"
NO_WAIT = RetryPolicy(2, 0, lambda _s: None)  # two tries a run, no sleeping
ONE_TRY = RetryPolicy(1, 0, lambda _s: None)


def verify(secret: str, header: str, body: bytes) -> bool:
    """A receiver's check of `X-Control-Tower-Signature` (as docs/actions.md shows it)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver(ThreadingHTTPServer):
    """Fails the first `fail_first` posts with HTTP 500; keeps what it accepted by key."""

    def __init__(self, fail_first: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_first = fail_first
        self.posts = 0
        self.accepted: dict[str, list[bytes]] = {}
        self.bad_signatures = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/actions"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.posts += 1
        if not verify(SECRET, self.headers["X-Control-Tower-Signature"], body):
            server.bad_signatures += 1
            self.send_response(401)
        elif server.posts <= server.fail_first:
            self.send_response(500)
        else:
            key = self.headers["Idempotency-Key"]
            server.accepted.setdefault(key, []).append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, app_db_url=f"sqlite:///{tmp_path / 'app.sqlite'}")


@pytest.fixture
def store(settings: Settings) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(settings.app_db_url) as s:
        yield s


def _request(store: ExceptionStore, request_id: int) -> ActionRequest:
    with store.session() as s:
        return s.get_one(ActionRequest, request_id)


def _events(store: ExceptionStore, request_id: int) -> list[str]:
    with store.session() as s:
        rows = s.scalars(
            select(ActionEvent).where(ActionEvent.request_id == request_id).order_by(ActionEvent.id)
        )
        return [r.event for r in rows]


def test_the_files_hold_the_documented_json_and_csv(store, settings) -> None:
    request = approved_request(store, "stock_transfer", TRANSFER, at=T0, exception_id=None)
    report = dispatch(store, settings, now=T0, retry=NO_WAIT)
    assert (report.sent, report.delivered) == (1, 1)
    folder = settings.home / "outbox" / "erp"
    stem = f"stock_transfer_{request.request_uid}"
    assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.csv", f"{stem}.json"]
    doc = json.loads((folder / f"{stem}.json").read_text())
    assert doc == {
        "request_uid": request.request_uid,
        "type": "stock_transfer",
        "system": "erp",
        "status": "approved",
        "params": TRANSFER,
        "exception_id": None,
        "value": 1200.0,
        "requested_by": "pat",
        "requested_at": "2026-03-18T10:00:00Z",
        "approved_by": "lee",
        "approved_at": "2026-03-18T11:00:00Z",
        "note": "cover the stockout",
    }
    with (folder / f"{stem}.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(csv_columns("stock_transfer")) == [
        "request_uid", "type", "system", "from_location_id", "to_location_id", "item_id",
        "quantity", "ship_date", "exception_id", "value", "requested_by", "requested_at",
        "approved_by", "approved_at", "note",
    ]  # fmt: skip
    assert rows[1] == [
        request.request_uid, "stock_transfer", "erp", "DC1", "DC2", "SKU-1", "40.0",
        "2026-03-20", "", "1200.0", "pat", "2026-03-18T10:00:00Z", "lee",
        "2026-03-18T11:00:00Z", "cover the stockout",
    ]  # fmt: skip
    assert len(rows) == 2
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    sent = _request(store, request.id)
    assert sent.status == "sent"
    assert sent.sent_at == T0
    # the ship date plus the default two days' grace
    assert sent.expected_by == date(2026, 3, 22)
    assert _events(store, request.id) == ["delivered"]


def test_dispatching_twice_writes_and_sends_nothing_more(store, settings) -> None:
    request = approved_request(store, "recount", {"location_id": "DC2", "item_id": "SKU-1"}, at=T0)
    dispatch(store, settings, now=T0, retry=NO_WAIT)
    path = settings.home / "outbox" / "wms" / f"recount_{request.request_uid}.json"
    first = path.stat().st_mtime_ns
    # a second dispatch of the same request, even named explicitly, re-sends nothing
    with store.session() as s:
        s.get_one(ActionRequest, request.id).status = "approved"
    again = dispatch(store, settings, now=T0 + timedelta(hours=1), request_ids=[request.id])
    assert (again.delivered, again.failed) == (0, 0)
    assert path.stat().st_mtime_ns == first
    # a recount is due the day it is sent, plus the grace
    assert _request(store, request.id).expected_by == date(2026, 3, 20)


def test_a_file_with_other_content_is_never_replaced(store, settings) -> None:
    request = approved_request(store, "recount", {"location_id": "DC2", "item_id": "SKU-1"}, at=T0)
    path = settings.home / "outbox" / "wms" / f"recount_{request.request_uid}.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    report = dispatch(store, settings, now=T0, retry=NO_WAIT)
    assert (report.sent, report.failed) == (0, 1)
    assert path.read_text() == "{}"
    with store.session() as s:
        [row] = s.scalars(select(ActionDelivery))
        assert "exists with other content" in (row.error or "")


def test_the_webhook_sees_each_request_once_despite_a_failure_and_a_second_run(
    store, settings, receiver
) -> None:
    hooked = replace(settings, action_webhook_url=receiver.url, action_webhook_secret=SECRET)
    first = approved_request(store, "stock_transfer", TRANSFER, at=T0)
    second = approved_request(
        store, "po_expedite", {"po_id": "PO1", "po_line_no": 1, "new_expected_date": "2026-03-25"},
        at=T0,
    )  # fmt: skip
    report = dispatch(store, hooked, now=T0, retry=NO_WAIT)
    # the first post failed (500), its retry in the same run and the second request got in
    assert receiver.posts == 3
    assert receiver.bad_signatures == 0
    assert (report.sent, report.failed) == (2, 0)
    dispatch(store, hooked, now=T0 + timedelta(hours=1), retry=NO_WAIT)
    assert receiver.posts == 3
    assert sorted(receiver.accepted) == sorted([first.request_uid, second.request_uid])
    for uid, bodies in receiver.accepted.items():
        assert len(bodies) == 1
        assert json.loads(bodies[0])["request_uid"] == uid
    # the body posted is the JSON file's content, byte for byte
    path = settings.home / "outbox" / "erp" / f"stock_transfer_{first.request_uid}.json"
    assert receiver.accepted[first.request_uid][0] == path.read_bytes()
    assert _request(store, second.id).expected_by == date(2026, 3, 27)


def test_a_failed_webhook_is_retried_by_a_later_run_after_its_back_off(
    store, settings, receiver
) -> None:
    hooked = replace(settings, action_webhook_url=receiver.url, action_webhook_secret=SECRET)
    request = approved_request(store, "stock_transfer", TRANSFER, at=T0)
    report = dispatch(store, hooked, now=T0, retry=ONE_TRY)
    assert (report.sent, report.failed, report.delivered) == (0, 1, 1)  # the files got it
    assert _request(store, request.id).status == "approved"
    counts, rows = attention(store)
    assert counts == {"pending": 1, "failed": 0}
    assert rows[0]["request_uid"] == request.request_uid
    assert "HTTP" in (rows[0]["error"] or "")
    # not due yet: the first retry waits CONTROL_TOWER_OUTBOX_RETRY_MINUTES (5)
    dispatch(store, hooked, now=T0 + timedelta(minutes=2), retry=ONE_TRY)
    assert receiver.posts == 1
    later = dispatch(store, hooked, now=T0 + timedelta(minutes=6), retry=ONE_TRY)
    assert (later.sent, receiver.posts, len(receiver.accepted[request.request_uid])) == (1, 2, 1)
    assert _events(store, request.id) == ["delivered", "delivery_failed", "delivered"]
    assert attention(store)[0] == {"pending": 0, "failed": 0}


def test_a_delivery_still_failing_after_the_give_up_age_is_given_up(store, settings) -> None:
    dead = replace(
        settings,
        action_webhook_url="http://127.0.0.1:9/nothing-listens-here",
        action_webhook_secret=SECRET,
        outbox_give_up_hours=6,
    )
    request = approved_request(store, "stock_transfer", TRANSFER, at=T0)
    dispatch(store, dead, now=T0, retry=ONE_TRY)
    dispatch(store, dead, now=T0 + timedelta(hours=5), retry=ONE_TRY)
    assert _request(store, request.id).status == "approved"
    report = dispatch(store, dead, now=T0 + timedelta(hours=7), retry=ONE_TRY)
    assert report.given_up == 1
    assert _events(store, request.id)[-1] == "delivery_given_up"
    counts, rows = attention(store)
    assert counts == {"pending": 0, "failed": 1}
    assert rows[0]["error"].startswith("given up after 3 rounds over 7.0 h")
    # given up: later runs leave it alone, and it is never sent
    assert dispatch(store, dead, now=T0 + timedelta(hours=9), retry=ONE_TRY).failed == 0
    assert _request(store, request.id).status == "approved"


def test_a_delivery_being_sent_is_not_sent_again_by_another_dispatcher(store, settings) -> None:
    request = approved_request(store, "recount", {"location_id": "DC2", "item_id": "SKU-1"}, at=T0)
    sends: list[str] = []

    class Nested:
        """A channel during whose send a second dispatcher (another process) runs."""

        name = "file"

        def target(self, _doc: object) -> str:
            return "nested"

        def send(self, note) -> None:
            sends.append(note.scope_value)
            if len(sends) == 1:
                dispatch(store, settings, now=T0, channels=[self], retry=NO_WAIT)

    report = dispatch(store, settings, now=T0, channels=[Nested()], retry=NO_WAIT)
    assert sends == [request.request_uid]
    assert report.sent == 1
