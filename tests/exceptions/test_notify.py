"""Alert notifications: recorded in the app, sent by e-mail and webhook, retried with back-off.

A local SMTP server and a local HTTP receiver (threads on 127.0.0.1) stand in
for the real ones; each can be told to refuse its first N deliveries.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from control_tower.exceptions.notify import (
    EmailChannel,
    Notification,
    RetryPolicy,
    WebhookChannel,
    channels_from_settings,
    deliver,
)
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings

NOTE = Notification(
    rule="fill_by_site",
    scope_value="L1",
    kind="firing",
    subject="[FIRING] fill_by_site: line_fill_rate location_id=L1",
    body="Alert rule fill_by_site is firing for location_id=L1.\n",
    at=datetime(2026, 3, 10, 8, 0),
    payload={"kpi": "line_fill_rate", "value": 0.9},
)


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib; refuses MAIL FROM with 451 while `server.refuse` > 0."""

    def reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())

    def handle(self) -> None:
        srv = self.server
        self.reply("220 test ESMTP")
        data: list[bytes] | None = None
        while line := self.rfile.readline():
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    srv.messages.append(b"".join(data).decode())  # type: ignore[attr-defined]
                    data = None
                    self.reply("250 queued")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"MAIL" and srv.refuse > 0:  # type: ignore[attr-defined]
                srv.refuse -= 1  # type: ignore[attr-defined]
                self.reply("451 try again later")
            elif verb == b"DATA":
                data = []
                self.reply("354 go ahead")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class _Receiver(BaseHTTPRequestHandler):
    """Answers 500 while `server.fail` > 0, then 204; keeps every JSON body."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.fail > 0:  # type: ignore[attr-defined]
            self.server.fail -= 1  # type: ignore[attr-defined]
            self.send_response(500)
        else:
            self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages, server.refuse = [], 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies, server.fail = [], 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as s:
        yield s


def email(smtp: socketserver.ThreadingTCPServer) -> EmailChannel:
    return EmailChannel(
        "127.0.0.1", smtp.server_address[1], "tower@example.com", ("ops@example.com",)
    )


def webhook(receiver: ThreadingHTTPServer) -> WebhookChannel:
    return WebhookChannel(f"http://127.0.0.1:{receiver.server_address[1]}/hook")


def test_every_notification_is_recorded_in_the_app(store: ExceptionStore) -> None:
    [record] = deliver(store, NOTE)
    assert (record.channel, record.status, record.subject) == ("app", "sent", NOTE.subject)


def test_email_is_retried_after_a_refusal_and_delivered(store, smtp) -> None:
    smtp.refuse = 1
    sleeps: list[float] = []
    records = deliver(store, NOTE, [email(smtp)], RetryPolicy(3, 0.5, sleeps.append))
    assert [(r.channel, r.status, r.attempts) for r in records] == [
        ("app", "sent", 1),
        ("email", "sent", 2),
    ]
    assert sleeps == [0.5]
    [message] = smtp.messages
    assert f"Subject: {NOTE.subject}" in message
    assert "is firing for location_id=L1" in message


def test_webhook_is_retried_with_back_off_and_delivered(store, receiver) -> None:
    receiver.fail = 2
    sleeps: list[float] = []
    records = deliver(store, NOTE, [webhook(receiver)], RetryPolicy(3, 0.5, sleeps.append))
    assert (records[1].status, records[1].attempts) == ("sent", 3)
    assert sleeps == [0.5, 1.0]  # 0.5 x 2^0, 0.5 x 2^1
    [body] = receiver.bodies
    assert (body["rule"], body["kind"], body["kpi"], body["value"]) == (
        "fill_by_site",
        "firing",
        "line_fill_rate",
        0.9,
    )


def test_a_delivery_that_keeps_failing_waits_in_the_outbox(store, receiver) -> None:
    receiver.fail = 10
    records = deliver(store, NOTE, [webhook(receiver)], RetryPolicy(3, 0, lambda _s: None))
    assert (records[1].status, records[1].attempts) == ("pending", 3)
    assert "HTTP Error 500" in (records[1].error or "")
    assert records[0].status == "sent"  # the app still has it


def test_unreachable_smtp_server_fails_cleanly(store) -> None:
    dead = EmailChannel("127.0.0.1", 1, "tower@example.com", ("ops@example.com",), timeout=1)
    records = deliver(store, NOTE, [dead], RetryPolicy(2, 0, lambda _s: None))
    assert (records[1].status, records[1].attempts) == ("pending", 2)


def test_channels_come_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert channels_from_settings(load_settings(tmp_path)) == []
    monkeypatch.setenv("CONTROL_TOWER_SMTP_HOST", "mail.local")
    monkeypatch.setenv("CONTROL_TOWER_ALERT_EMAIL_TO", "a@x.com, b@x.com")
    monkeypatch.setenv("CONTROL_TOWER_ALERT_WEBHOOK_URL", "https://hooks.local/x")
    email_channel, hook = channels_from_settings(load_settings(tmp_path))
    assert email_channel.recipients == ("a@x.com", "b@x.com")
    assert hook.url == "https://hooks.local/x"
