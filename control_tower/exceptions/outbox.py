"""The notification outbox: e-mail and webhook deliveries that failed every try of their run.

Such a delivery stays `pending` in `exc_alert_notifications` with its last error and the time
it is next due. Every pipeline run (`retry_due`, even a run with nothing new to land) tries the
due ones again on the channel they were meant for, with the same message: a success marks it
sent; a failure puts it off twice as long as the time before (`OutboxPolicy`, capped); one older
than the give-up age, or whose channel is no longer configured, is given up (`failed`). The
data-health page lists what is pending or given up (`attention`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypedDict

from sqlalchemy import func, select

from control_tower.exceptions.notify import (
    Channel,
    Notification,
    OutboxPolicy,
    RetryPolicy,
    addressed_channel,
    channels_from_settings,
    send_with_retries,
)
from control_tower.exceptions.store import AlertNotification, ExceptionStore
from control_tower.settings import Settings, utc_now

ATTENTION = ("pending", "failed")


@dataclass
class OutboxReport:
    """What one pass over the outbox did."""

    retried: int = 0
    sent: int = 0
    pending: int = 0  # failed again: due later
    given_up: int = 0

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"outbox: {self.retried} retried, {self.sent} sent, {self.pending} still pending, "
            f"{self.given_up} given up"
        )


class DeliveryRow(TypedDict):
    """A delivery waiting in the outbox or given up, for the data-health page."""

    id: int
    rule: str
    scope_value: str
    kind: str
    channel: str
    status: str
    created_at: datetime
    attempts: int
    rounds: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    error: str | None


def _note(row: AlertNotification) -> Notification:
    return Notification(
        rule=row.rule,
        scope_value=row.scope_value,
        kind=row.kind,
        subject=row.subject,
        body=row.body,
        at=row.created_at,
        exception_id=row.exception_id,
        payload=dict(row.payload or {}),
    )


def _hours(delta: float) -> str:
    return f"{delta / 3600:.1f} h"


def retry_due(
    store: ExceptionStore,
    channels: Sequence[Channel],
    *,
    now: datetime,
    policy: RetryPolicy | None = None,
    outbox: OutboxPolicy | None = None,
    addressed: Callable[[str, str], Channel | None] | None = None,
) -> OutboxReport:
    """Retry every pending delivery due at `now` (see the module docstring); one meant for one
    person (`target` set) goes through `addressed(channel, target)`."""
    policy, outbox = policy or RetryPolicy(), outbox or OutboxPolicy()
    by_name = {c.name: c for c in channels}
    report = OutboxReport()
    with store.session() as s:
        due = list(
            s.scalars(
                select(AlertNotification)
                .where(AlertNotification.status == "pending")
                .where(AlertNotification.next_attempt_at <= now)
                .order_by(AlertNotification.id)
            )
        )
    for row in due:  # sent outside any transaction: a slow channel holds no lock
        age = now - row.created_at
        channel = (
            by_name.get(row.channel)
            if row.target is None
            else (addressed(row.channel, row.target) if addressed else None)
        )
        tries, error = 0, row.error
        if age >= outbox.give_up_after:
            reason = f"given up after {row.rounds} rounds over {_hours(age.total_seconds())}"
        elif channel is None:
            reason = f"given up: the {row.channel} channel is no longer configured"
        else:
            report.retried += 1
            tries, error = send_with_retries(channel, _note(row), policy)
            reason = None
            if error is not None and age >= outbox.give_up_after:
                reason = (
                    f"given up after {row.rounds + 1} rounds over {_hours(age.total_seconds())}"
                )
        with store.session() as s:
            record = s.get_one(AlertNotification, row.id)
            record.attempts += tries
            if tries:
                record.rounds += 1
                record.last_attempt_at = now
            if reason is not None:
                record.status, record.next_attempt_at = "failed", None
                record.error = f"{reason}; last error: {error}"
                report.given_up += 1
            elif error is None:
                record.status, record.next_attempt_at, record.error = "sent", None, None
                report.sent += 1
            else:
                record.error = error
                record.next_attempt_at = outbox.next_attempt(record.rounds, now)
                report.pending += 1
    return report


def retry_pending(settings: Settings, *, now: datetime | None = None) -> OutboxReport:
    """The pipeline's pass over the installation's outbox, on its configured channels."""
    with ExceptionStore.open(settings.app_db_url) as store:
        return retry_due(
            store,
            channels_from_settings(settings),
            now=now or utc_now(),
            outbox=OutboxPolicy.from_settings(settings),
            addressed=partial(addressed_channel, settings),
        )


def attention(store: ExceptionStore, limit: int = 20) -> tuple[dict[str, int], list[DeliveryRow]]:
    """How many deliveries are pending and given up, and the newest `limit` of them."""
    with store.session() as s:
        counts = dict(
            s.execute(
                select(AlertNotification.status, func.count())
                .where(AlertNotification.status.in_(ATTENTION))
                .group_by(AlertNotification.status)
            ).all()
        )
        rows = s.scalars(
            select(AlertNotification)
            .where(AlertNotification.status.in_(ATTENTION))
            .order_by(AlertNotification.id.desc())
            .limit(limit)
        )
        listed = [
            DeliveryRow(**{name: getattr(r, name) for name in DeliveryRow.__annotations__})
            for r in rows
        ]
    return {status: int(counts.get(status, 0)) for status in ATTENTION}, listed
