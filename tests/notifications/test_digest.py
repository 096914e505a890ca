"""The daily digest: content within the user's scope, delivered to a local SMTP server (aiosmtpd)
or a webhook, once a day, failed sends retried by the outbox to the same person."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from control_tower.exceptions.outbox import retry_pending
from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.notifications import list_notifications
from control_tower.notifications.service import run_digests
from control_tower.settings import Settings
from tests.support.notification_cases import T0, add_item, write
from tests.support.smtp_server import Mailbox, local_smtp

DAY2 = T0 + timedelta(days=1)  # 2026-03-03 08:00 UTC
SUBSCRIPTIONS = """\
users:
  pat:
    queues: "*"
    kpi_alerts: "*"
    digest: {{channel: email, to: pat@example.com, hour: 7}}
  pia:
    queues: [stockout_risk]
    kpi_alerts: "*"
    digest: {{channel: {pia_channel}, to: "{pia_to}", hour: 6}}
"""


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on 127.0.0.1 for the test's length."""
    with local_smtp() as server:
        yield server


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.fail > 0:  # type: ignore[attr-defined]
            self.server.fail -= 1  # type: ignore[attr-defined]
            self.send_response(503)
        else:
            self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies, server.fail = [], 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/digest"


def _queue(store: ExceptionStore) -> dict[str, int]:
    """Items at both sites: new, breached, assigned, and a KPI alert's notice."""
    ids = {
        "nj_new": add_item(store, key="NJ-NEW", created_at=T0 + timedelta(hours=20)).id,
        "tx_new": add_item(
            store, key="TX-NEW", location_id="DC-TX", created_at=T0 + timedelta(hours=21)
        ).id,
        # began two days ago with a 30 h SLA: breached since the last day
        "tx_late": add_item(
            store, key="TX-LATE", location_id="DC-TX", created_at=T0 - timedelta(hours=10),
            sla_hours=30.0,
        ).id,
        "nj_mine": add_item(
            store, key="NJ-MINE", type="carrier_delay", assignee="pat",
            created_at=T0 - timedelta(days=5), sla_hours=500.0,
        ).id,
        "alert": add_item(
            store, key="fill_low|DC-NJ", type="kpi_alert", owner_role="executive",
            created_at=T0 + timedelta(hours=22),
        ).id,
    }  # fmt: skip
    with store.session() as s:
        s.add(
            AlertNotification(
                rule="fill_low", scope_value="DC-NJ", kind="firing", channel="app",
                created_at=T0 + timedelta(hours=22), status="sent", attempts=1,
                subject="[FIRING] fill_low: line_fill_rate location_id=DC-NJ", body="",
                exception_id=ids["alert"],
            )
        )  # fmt: skip
    return ids


def _configure(settings: Settings, pia_channel: str = "email", pia_to: str = "pia@example.com"):
    write(
        settings.subscriptions_path,
        SUBSCRIPTIONS.format(pia_channel=pia_channel, pia_to=pia_to),
    )


@pytest.fixture
def mailing(
    settings: Settings, store: ExceptionStore, smtp: tuple[int, Mailbox]
) -> tuple[Settings, Mailbox]:
    """Both users subscribed by e-mail to the local SMTP server, the queue of `_queue` filled."""
    port, inbox = smtp
    settings = replace(settings, smtp_port=port)
    _configure(settings)
    _queue(store)
    return settings, inbox


def test_each_digest_lists_only_what_the_users_scope_allows(
    mailing: tuple[Settings, Mailbox], store: ExceptionStore
) -> None:
    settings, inbox = mailing
    report = run_digests(settings, now=DAY2)
    assert sorted(report.sent) == ["pat", "pia"]
    mail = {m["To"]: m for m in inbox.messages}
    assert set(mail) == {"pat@example.com", "pia@example.com"}
    pat = mail["pat@example.com"].get_payload()
    pia = mail["pia@example.com"].get_payload()
    assert mail["pat@example.com"]["From"] == settings.alert_email_from
    assert "Control Tower digest for pat, 2026-03-03" in mail["pat@example.com"]["Subject"]
    # pat (every site, every queue): both new items, the breach, his own item, the alert.
    assert "New (3)" in pat  # NJ-NEW, TX-NEW and the alert's item (queues "*")
    for key in ("NJ-NEW", "TX-NEW", "TX-LATE", "NJ-MINE", "[FIRING] fill_low"):
        assert key in pat
    assert "Assigned to you (1)" in pat
    # pia (DC-TX, stockouts only): nothing of DC-NJ, not even the alert on it.
    assert "TX-NEW" in pia
    assert "TX-LATE" in pia
    for key in ("NJ-NEW", "NJ-MINE", "fill_low"):
        assert key not in pia
    assert "Breached (1)" in pia
    assert "KPI alerts (0)" in pia
    # Each also gets the digest in the app.
    (notice,) = list_notifications(store, "pia")
    assert notice.kind == "digest"


def test_a_digest_goes_once_a_day_and_not_before_its_hour(
    mailing: tuple[Settings, Mailbox], store: ExceptionStore
) -> None:
    settings, inbox = mailing
    early = DAY2.replace(hour=6, minute=30)  # pia's hour (6) has come, pat's (7) not yet
    assert run_digests(settings, now=early).sent == ["pia"]
    assert sorted(run_digests(settings, now=DAY2).sent) == ["pat"]
    again = run_digests(settings, now=DAY2 + timedelta(hours=3))
    assert again.sent == []
    assert sorted(again.skipped) == ["pat", "pia"]
    assert len(inbox.messages) == 2
    # The next day's digest covers what came since the last one: the old items are not new.
    add_item(store, key="NJ-LATER", created_at=DAY2 + timedelta(hours=5))
    assert sorted(run_digests(settings, now=DAY2 + timedelta(days=1)).sent) == ["pat", "pia"]
    latest = next(m for m in reversed(inbox.messages) if m["To"] == "pat@example.com")
    body = latest.get_payload()
    assert "NJ-LATER" in body
    assert "New (1)" in body


def test_a_dry_run_sends_and_records_nothing(
    mailing: tuple[Settings, Mailbox], store: ExceptionStore
) -> None:
    settings, inbox = mailing
    report = run_digests(settings, now=DAY2, user="pia", dry_run=True)
    assert [d.user for d in report.digests] == ["pia"]
    assert inbox.messages == []
    assert list_notifications(store, "pia") == []


def test_a_webhook_digest_is_json_and_a_failed_one_is_retried_to_the_same_url(
    settings: Settings, store: ExceptionStore, hook: ThreadingHTTPServer
) -> None:
    _configure(settings, pia_channel="webhook", pia_to=_url(hook))
    ids = _queue(store)
    hook.fail = 3  # type: ignore[attr-defined]  # every try of the first round
    report = run_digests(settings, now=DAY2, user="pia")
    assert report.failed == ["pia"]
    with store.session() as s:
        (row,) = s.query(AlertNotification).filter_by(rule="digest").all()
        assert (row.status, row.channel, row.target) == ("pending", "webhook", _url(hook))
    assert run_digests(settings, now=DAY2, user="pia").sent == []  # recorded: not twice
    retried = retry_pending(settings, now=DAY2 + timedelta(hours=1))
    assert retried.sent == 1
    (body,) = hook.bodies  # type: ignore[attr-defined]
    assert (body["rule"], body["kind"], body["user"], body["day"]) == (
        "digest",
        "digest",
        "pia",
        "2026-03-03",
    )
    assert [line["id"] for line in body["new"]] == [ids["tx_new"]]
    assert [line["id"] for line in body["breached"]] == [ids["tx_late"]]
    assert body["new"][0]["link"] == f"/exceptions/{ids['tx_new']}"
