"""The daily digest: for each subscriber, what is new, breached and theirs, within their scope.

A user with a `digest` in subscriptions.yml gets one message a day, at or after their hour
(UTC), by e-mail (plain text, through the installation's SMTP server) or webhook (JSON). It
lists, since their last digest (a day back for the first one) and only for rows their account's
scope allows:

- new: items of the queues they follow, first detected since then;
- breached: open items of those queues whose SLA (`exceptions.aging`) ran out since then;
- assigned: every open item assigned to them;
- KPI alerts: notices of the alert rules they follow that fired (or fired again) since then.

Each digest is recorded in `exc_alert_notifications` (rule "digest", the user, the address):
a failed send waits in the outbox and later runs retry it, and a user who has a digest
recorded for the day gets no second one that day. The user also gets an in-app notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from control_tower.accounts import Account
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.notify import Notification
from control_tower.exceptions.query import scope_condition
from control_tower.exceptions.registry import type_label
from control_tower.exceptions.store import (
    UNRESOLVED,
    AlertNotification,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.notifications.config import ANY, Subscription
from control_tower.notifications.deliveries import Sender
from control_tower.notifications.store import notify_user

DIGEST_RULE = "digest"
FIRST_LOOKBACK = timedelta(days=1)
MAX_LISTED = 50  # per section; the count says how many there are in all


@dataclass(frozen=True)
class Line:
    """One item or alert in a digest."""

    id: int | None
    text: str
    link: str | None


@dataclass
class UserDigest:
    """What one user's digest says."""

    user: str
    since: datetime
    at: datetime
    sections: dict[str, list[Line]] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """The message's subject line."""
        counts = ", ".join(f"{len(v)} {k}" for k, v in self.sections.items())
        return f"Control Tower digest for {self.user}, {self.at:%Y-%m-%d}: {counts}"

    @property
    def body(self) -> str:
        """The plain-text message."""
        out = [
            f"Daily digest for {self.user}: since {self.since:%Y-%m-%d %H:%M} UTC, "
            "within your scope.",
            "",
        ]
        for title, lines in self.sections.items():
            out.append(f"{title[0].upper()}{title[1:]} ({len(lines)})")
            out += [f"  - {line.text}" for line in lines[:MAX_LISTED]] or ["  (none)"]
            if len(lines) > MAX_LISTED:
                out.append(f"  ... and {len(lines) - MAX_LISTED} more")
            out.append("")
        return "\n".join(out)

    def payload(self) -> dict[str, Any]:
        """The webhook's structured content."""
        return {
            "user": self.user,
            "day": self.at.date().isoformat(),
            "since": self.since.isoformat(sep=" "),
            **{
                title.replace(" ", "_"): [
                    {"id": line.id, "text": line.text, "link": line.link}
                    for line in lines[:MAX_LISTED]
                ]
                for title, lines in self.sections.items()
            },
        }


def _item_line(item: ExceptionItem, extra: str = "") -> Line:
    where = " ".join(v for v in (item.location_id, item.entity_id) if v)
    text = (
        f"#{item.id} {type_label(item.type)} {item.key} [{item.severity}, {item.status}]"
        + (f" {where}" if where else "")
        + extra
    )
    return Line(item.id, text, f"/exceptions/{item.id}")


def last_digest_at(store: ExceptionStore, user: str) -> datetime | None:
    """When the user's last digest was made (sent or waiting in the outbox)."""
    with store.session() as s:
        return s.scalar(
            select(func.max(AlertNotification.created_at)).where(
                AlertNotification.rule == DIGEST_RULE, AlertNotification.scope_value == user
            )
        )


def build_digest(
    store: ExceptionStore, sub: Subscription, account: Account, *, now: datetime
) -> UserDigest:
    """The digest of one subscriber at `now` (nothing is sent or recorded)."""
    since = last_digest_at(store, sub.user) or now - FIRST_LOOKBACK
    digest = UserDigest(sub.user, since, now)
    in_scope = scope_condition(account.scope)
    followed = [] if ANY in sub.queues else [ExceptionItem.type.in_(sub.queues)]
    with store.session() as s:
        new, breached = [], []
        if sub.queues:
            new = list(
                s.scalars(
                    select(ExceptionItem)
                    .where(in_scope, *followed, ExceptionItem.created_at > since)
                    .order_by(ExceptionItem.id)
                )
            )
            open_items = s.scalars(
                select(ExceptionItem)
                .where(in_scope, *followed, ExceptionItem.status.in_(UNRESOLVED))
                .order_by(ExceptionItem.id)
            )
            for item in open_items:
                aging = item_aging(item, now)
                if aging.sla_breached and aging.sla_due_at > since:
                    breached.append((item, aging.sla_due_at))
        assigned = list(
            s.scalars(
                select(ExceptionItem)
                .where(
                    in_scope,
                    ExceptionItem.assignee == sub.user,
                    ExceptionItem.status.in_(UNRESOLVED),
                )
                .order_by(ExceptionItem.id)
            )
        )
        alerts = []
        if sub.kpi_alerts:
            rules = [] if ANY in sub.kpi_alerts else [AlertNotification.rule.in_(sub.kpi_alerts)]
            alerts = list(
                s.execute(
                    select(AlertNotification, ExceptionItem)
                    .join(ExceptionItem, ExceptionItem.id == AlertNotification.exception_id)
                    .where(
                        in_scope,
                        *rules,
                        AlertNotification.channel == "app",
                        AlertNotification.kind.in_(("firing", "reraised")),
                        AlertNotification.created_at > since,
                    )
                    .order_by(AlertNotification.id)
                ).all()
            )
    digest.sections["new"] = [_item_line(i) for i in new]
    digest.sections["breached"] = [
        _item_line(i, f", SLA due {due:%Y-%m-%d %H:%M} UTC") for i, due in breached
    ]
    digest.sections["assigned to you"] = [_item_line(i) for i in assigned]
    digest.sections["KPI alerts"] = [
        Line(n.exception_id, f"{n.created_at:%Y-%m-%d %H:%M} {n.subject}", f"/exceptions/{i.id}")
        for n, i in alerts
    ]
    return digest


def sent_today(store: ExceptionStore, user: str, now: datetime) -> bool:
    """Whether the user's digest of `now`'s day (UTC) is already recorded."""
    start = datetime.combine(now.date(), time.min)
    with store.session() as s:
        return bool(
            s.scalar(
                select(func.count())
                .select_from(AlertNotification)
                .where(
                    AlertNotification.rule == DIGEST_RULE,
                    AlertNotification.scope_value == user,
                    AlertNotification.created_at >= start,
                )
            )
        )


@dataclass
class DigestReport:
    """What one digest pass did."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # kept in the outbox, retried later
    skipped: list[str] = field(default_factory=list)  # not due yet, or already sent today
    digests: list[UserDigest] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"digests: {len(self.sent)} sent, {len(self.failed)} failed (in the outbox), "
            f"{len(self.skipped)} not due or already sent today"
        )


def send_digests(
    store: ExceptionStore,
    subscriptions: dict[str, Subscription],
    users: Sequence[Account],
    *,
    now: datetime,
    sender: Sender | None,
    only: str | None = None,
    force_hour: bool = False,
) -> DigestReport:
    """Send each due digest (its hour has come today, none sent today); `only` one user's.

    `sender` None builds the digests without sending or recording them (a dry run);
    `force_hour` sends before the user's hour (the command line's explicit request)."""
    accounts = {u.name: u for u in users if not u.disabled}
    report = DigestReport()
    for name, sub in sorted(subscriptions.items()):
        if sub.digest is None or (only is not None and name != only) or name not in accounts:
            continue
        if (not force_hour and now.hour < sub.digest.hour) or sent_today(store, name, now):
            report.skipped.append(name)
            continue
        digest = build_digest(store, sub, accounts[name], now=now)
        report.digests.append(digest)
        if sender is None:
            continue
        note = Notification(
            rule=DIGEST_RULE,
            scope_value=name,
            kind="digest",
            subject=digest.subject,
            body=digest.body,
            at=now,
            payload=digest.payload(),
        )
        record = sender.send(store, note, sub.digest)
        (report.sent if record.status == "sent" else report.failed).append(name)
        notify_user(
            store,
            name,
            "digest",
            digest.subject,
            digest.body,
            link="/notifications",
            now=now,
        )
    return report
