"""Sending a notice to one person's own address or URL, recorded with the outbox's retries.

Digests and escalation notices go to the channel a user chose in subscriptions.yml. Each is
recorded in `exc_alert_notifications` like an alert's notice, with its `target` (the address
or URL): one that fails every try waits in the outbox and later pipeline runs retry it to the
same person (`exceptions.outbox.retry_due`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from control_tower.exceptions.notify import (
    Notification,
    OutboxPolicy,
    RetryPolicy,
    addressed_channel,
    delivery_record,
    send_with_retries,
)
from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.notifications.config import Digest
from control_tower.settings import Settings


@dataclass(frozen=True)
class Sender:
    """How notices to people go out: the installation's settings and the retry policies."""

    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def send(self, store: ExceptionStore, note: Notification, to: Digest) -> AlertNotification:
        """Send `note` on the person's channel and record it (pending in the outbox on failure;
        failed at once when the channel cannot be used, e.g. e-mail without an SMTP server)."""
        channel = addressed_channel(self.settings, to.channel, to.to)
        if channel is None:
            attempts, error = 0, f"no {to.channel} channel: set CONTROL_TOWER_SMTP_HOST"
        else:
            attempts, error = send_with_retries(channel, note, self.policy)
        record = delivery_record(
            note,
            to.channel,
            attempts,
            error,
            OutboxPolicy.from_settings(self.settings),
            target=to.to,
            status="failed" if channel is None else None,
        )
        with store.session() as s:
            s.add(record)
        return record
