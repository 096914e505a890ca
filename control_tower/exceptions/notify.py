"""Alert notification channels: in the app always, e-mail (SMTP) and webhook when configured.

Every notification is recorded in `exc_alert_notifications`, one row per
channel, with the number of attempts and the outcome: the in-app channel is
that record itself. E-mail and webhook deliveries are retried with
exponential back-off (`attempts` tries in all); a delivery that still fails
waits in the outbox (`pending`, with the last error) and the pipeline carries
on: later runs retry it (`exceptions.outbox`, back-off per `OutboxPolicy`).
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """What an alert has to say: firing, reraised (still firing) or resolved."""

    rule: str
    scope_value: str
    kind: str
    subject: str
    body: str
    at: datetime
    exception_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """A way to tell people; `send` raises on failure."""

    name: str

    def send(self, note: Notification) -> None: ...


@dataclass(frozen=True)
class EmailChannel:
    """Plain-text e-mail through an SMTP server (no authentication: a relay on the network)."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 10.0
    name: str = "email"

    def send(self, note: Notification) -> None:
        """Send one message; raises smtplib.SMTPException or OSError."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Subject"] = note.subject
        msg.set_content(note.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to a URL; any answer but 2xx is a failure."""

    url: str
    timeout: float = 10.0
    name: str = "webhook"

    def send(self, note: Notification) -> None:
        """POST the notification as JSON; raises OSError (urllib.error.URLError, HTTPError)."""
        body = json.dumps(
            {
                "rule": note.rule,
                "scope_value": note.scope_value,
                "kind": note.kind,
                "subject": note.subject,
                "body": note.body,
                "at": note.at.isoformat(sep=" "),
                "exception_id": note.exception_id,
                **note.payload,
            },
            default=str,
        ).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise OSError(f"webhook {self.url} answered HTTP {resp.status}")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` tries, waiting `backoff_seconds` x 2^n between them."""

    attempts: int = 3
    backoff_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class OutboxPolicy:
    """When later runs retry a delivery that failed: after `first_delay`, doubling each round up
    to `max_delay`; a delivery older than `give_up_after` is given up (failed)."""

    first_delay: timedelta = timedelta(minutes=5)
    max_delay: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(hours=72)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        """The installation's outbox settings."""
        return cls(
            timedelta(minutes=settings.outbox_retry_minutes),
            timedelta(hours=settings.outbox_retry_max_hours),
            timedelta(hours=settings.outbox_give_up_hours),
        )

    def next_attempt(self, rounds: int, now: datetime) -> datetime:
        """When a delivery that has failed `rounds` rounds (the last at `now`) is next due."""
        return now + min(self.first_delay * 2 ** (rounds - 1), self.max_delay)


def send_with_retries(
    channel: Channel, note: Notification, policy: RetryPolicy
) -> tuple[int, str | None]:
    """Send `note` on `channel`, up to `policy.attempts` tries; (tries made, last error or None)."""
    error: str | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            channel.send(note)
            return attempt, None
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "%s notification of %s failed (try %d): %s", channel.name, note.rule, attempt, error
            )
            if attempt < policy.attempts:
                policy.sleep(policy.backoff_seconds * 2 ** (attempt - 1))
    return policy.attempts, error


def deliver(
    store: ExceptionStore,
    note: Notification,
    channels: Sequence[Channel] = (),
    policy: RetryPolicy | None = None,
    outbox: OutboxPolicy | None = None,
) -> list[AlertNotification]:
    """Record `note` in the app and send it on every channel; returns the records written.

    A channel that fails every try leaves its record pending in the outbox, due again after
    `outbox.first_delay`."""
    policy = policy or RetryPolicy()
    outbox = outbox or OutboxPolicy()
    records = [
        AlertNotification(
            rule=note.rule,
            scope_value=note.scope_value,
            kind=note.kind,
            channel="app",
            created_at=note.at,
            status="sent",
            attempts=1,
            subject=note.subject,
            body=note.body,
            exception_id=note.exception_id,
        )
    ]
    for channel in channels:
        attempts, error = send_with_retries(channel, note, policy)
        records.append(delivery_record(note, channel.name, attempts, error, outbox))
    with store.session() as s:
        s.add_all(records)
    return records


def delivery_record(
    note: Notification,
    channel: str,
    attempts: int,
    error: str | None,
    outbox: OutboxPolicy,
    *,
    target: str | None = None,
    status: str | None = None,
) -> AlertNotification:
    """The (unsaved) record of one delivery round of `note` on `channel`: sent, or pending in
    the outbox (due after `outbox.first_delay`) when it failed; `target` for one person's own
    address or URL, `status` "failed" for one that cannot be sent at all."""
    status = status or ("pending" if error else "sent")
    return AlertNotification(
        rule=note.rule,
        scope_value=note.scope_value,
        kind=note.kind,
        channel=channel,
        target=target,
        created_at=note.at,
        status=status,
        attempts=attempts,
        error=error,
        subject=note.subject,
        body=note.body,
        exception_id=note.exception_id,
        payload=note.payload,
        rounds=1,
        last_attempt_at=note.at,
        next_attempt_at=outbox.next_attempt(1, note.at) if status == "pending" else None,
    )


def channels_from_settings(settings: Settings) -> list[Channel]:
    """The e-mail and webhook channels the settings configure (the app channel is implicit)."""
    channels: list[Channel] = []
    if settings.smtp_host and settings.alert_email_to:
        channels.append(
            EmailChannel(
                settings.smtp_host,
                settings.smtp_port,
                settings.alert_email_from,
                settings.alert_email_to,
            )
        )
    if settings.alert_webhook_url:
        channels.append(WebhookChannel(settings.alert_webhook_url))
    return channels


def addressed_channel(settings: Settings, channel: str, target: str) -> Channel | None:
    """A channel to one person's address ("email") or URL ("webhook"); None when e-mail has no
    SMTP server configured (or the channel is unknown)."""
    if channel == "email":
        if not settings.smtp_host:
            return None
        return EmailChannel(
            settings.smtp_host, settings.smtp_port, settings.alert_email_from, (target,)
        )
    if channel == "webhook":
        return WebhookChannel(target)
    return None
