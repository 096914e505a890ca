"""The notification outbox: a delivery that failed every try is retried by later runs.

A fake channel fails on demand; the clock is passed in (`now`), so the back-off
schedule is exact: 5, 10, 20, 20 minutes (first delay 5 min, doubling, capped at 20).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from control_tower.exceptions.notify import Notification, OutboxPolicy, RetryPolicy, deliver
from control_tower.exceptions.outbox import attention, retry_due
from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.settings import load_settings
from pipelines.run import run_pipeline
from tests.support.tiny_inbox import write_master

T0 = datetime(2026, 3, 18, 11, 0)
NO_WAIT = RetryPolicy(2, 0, lambda _s: None)  # two tries a round, no sleeping
OUTBOX = OutboxPolicy(timedelta(minutes=5), timedelta(minutes=20), timedelta(hours=6))
NOTE = Notification(
    rule="fill_by_site",
    scope_value="L1",
    kind="firing",
    subject="Line fill rate below 95% at L1",
    body="0.90 for 2026-03-17",
    at=T0,
    payload={"kpi": "line_fill_rate", "value": 0.9},
)


class FakeChannel:
    """A webhook that refuses while `down`, and keeps what it was sent."""

    name = "webhook"

    def __init__(self) -> None:
        self.down = True
        self.tries = 0
        self.sent: list[Notification] = []

    def send(self, note: Notification) -> None:
        self.tries += 1
        if self.down:
            raise OSError(f"connection refused (try {self.tries})")
        self.sent.append(note)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as s:
        yield s


def _delivery(store: ExceptionStore) -> AlertNotification:
    [row] = [r for r in _all(store) if r.channel == "webhook"]
    return row


def _all(store: ExceptionStore) -> list[AlertNotification]:
    with store.session() as s:
        return list(s.scalars(select(AlertNotification).order_by(AlertNotification.id)))


def _retry(store: ExceptionStore, channel: FakeChannel, minutes: float):
    return retry_due(
        store, [channel], now=T0 + timedelta(minutes=minutes), policy=NO_WAIT, outbox=OUTBOX
    )


def test_a_failed_delivery_is_retried_with_capped_exponential_back_off(store) -> None:
    channel = FakeChannel()
    deliver(store, NOTE, [channel], NO_WAIT, OUTBOX)
    row = _delivery(store)
    assert (row.status, row.attempts, row.rounds) == ("pending", 2, 1)
    assert row.next_attempt_at == T0 + timedelta(minutes=5)
    assert row.error == "OSError: connection refused (try 2)"

    assert _retry(store, channel, 4).retried == 0  # not due yet
    due = 5.0
    for expected_delay in (10, 20, 20):  # 5 x 2, 5 x 4, then the 20-minute cap
        report = _retry(store, channel, due)
        assert (report.retried, report.pending) == (1, 1)
        row = _delivery(store)
        assert row.last_attempt_at == T0 + timedelta(minutes=due)
        assert row.next_attempt_at == row.last_attempt_at + timedelta(minutes=expected_delay)
        due += expected_delay
    assert (row.rounds, row.attempts, channel.tries) == (4, 8, 8)

    channel.down = False
    report = _retry(store, channel, due)
    assert (report.retried, report.sent) == (1, 1)
    row = _delivery(store)
    assert (row.status, row.attempts, row.rounds, row.error, row.next_attempt_at) == (
        "sent",
        9,
        5,
        None,
        None,
    )
    [resent] = channel.sent
    assert resent == NOTE  # the same message and payload, with its original time
    assert _retry(store, channel, due + 60).retried == 0  # sent once


def test_a_delivery_past_the_give_up_age_is_given_up_with_its_last_error(store) -> None:
    channel = FakeChannel()
    deliver(store, NOTE, [channel], NO_WAIT, OUTBOX)
    report = _retry(store, channel, 6 * 60)
    assert (report.retried, report.given_up) == (0, 1)
    assert channel.tries == 2  # not tried again
    row = _delivery(store)
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert row.error == (
        "given up after 1 rounds over 6.0 h; last error: OSError: connection refused (try 2)"
    )
    assert _retry(store, channel, 7 * 60).given_up == 0  # given up once


def test_a_delivery_whose_channel_is_no_longer_configured_is_given_up(store) -> None:
    deliver(store, NOTE, [FakeChannel()], NO_WAIT, OUTBOX)
    report = retry_due(store, [], now=T0 + timedelta(minutes=5), policy=NO_WAIT, outbox=OUTBOX)
    assert report.given_up == 1
    assert _delivery(store).error.startswith(
        "given up: the webhook channel is no longer configured"
    )


def test_attention_lists_pending_and_given_up_deliveries_with_their_last_error(store) -> None:
    deliver(store, NOTE, [FakeChannel()], NO_WAIT, OUTBOX)
    deliver(store, NOTE, [FakeChannel()], NO_WAIT, OUTBOX)
    retry_due(store, [], now=T0 + timedelta(minutes=5), policy=NO_WAIT, outbox=OUTBOX)  # both
    deliver(store, NOTE, [FakeChannel()], NO_WAIT, OUTBOX)
    counts, rows = attention(store)
    assert counts == {"pending": 1, "failed": 2}
    assert [r["status"] for r in rows] == ["pending", "failed", "failed"]  # newest first
    assert rows[0]["error"] == "OSError: connection refused (try 2)"
    assert rows[0]["next_attempt_at"] == T0 + timedelta(minutes=5)


def test_the_outbox_policy_comes_from_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONTROL_TOWER_OUTBOX_RETRY_MINUTES", "2")
    monkeypatch.setenv("CONTROL_TOWER_OUTBOX_RETRY_MAX_HOURS", "1")
    monkeypatch.setenv("CONTROL_TOWER_OUTBOX_GIVE_UP_HOURS", "24")
    policy = OutboxPolicy.from_settings(load_settings(tmp_path))
    assert policy == OutboxPolicy(timedelta(minutes=2), timedelta(hours=1), timedelta(hours=24))
    monkeypatch.setenv("CONTROL_TOWER_OUTBOX_GIVE_UP_HOURS", "0")
    with pytest.raises(ValueError, match="CONTROL_TOWER_OUTBOX_GIVE_UP_HOURS='0' must be greater"):
        load_settings(tmp_path)


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_a_pipeline_run_with_nothing_new_sends_what_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.bodies = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(
        "CONTROL_TOWER_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/hook"
    )
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    run_pipeline(settings, trigger="cli")
    with ExceptionStore.open(settings.app_db_url) as store:
        # A delivery of an earlier run (the product's clock is at T0 and runs on), due at once.
        deliver(store, NOTE, [FakeChannel()], NO_WAIT, OutboxPolicy(timedelta(0)))
        assert attention(store)[0]["pending"] == 1
        quiet = run_pipeline(settings, trigger="scheduler")
        assert quiet.ingest.batches == []
        assert attention(store)[0] == {"pending": 0, "failed": 0}
    server.shutdown()
    [body] = server.bodies  # type: ignore[attr-defined]
    assert b'"kpi": "line_fill_rate"' in body
