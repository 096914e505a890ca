"""Escalation: an item past its SLA and still open goes up to a named role or user.

For each exception type with a policy in escalation.yml (or the "*" policy), an unresolved
item that is neither snoozed nor resolved and whose SLA (`exceptions.aging`, the one
definition) was breached at least `after_breach_hours` ago reaches level 1: its severity goes
one step up (`raise_severity`, capped at the top severity), the change is audited on the item
as an "escalate" action by the system naming the policy, and every recipient is told. While
the item stays breached and open, it goes up one level every `repeat_hours` (up to
`max_level`; at that level the recipients are still told every `repeat_hours`).

Recipients: every active user of `to_role` whose scope allows the item's entity and location,
and `to_user` when that user's scope allows it (a user never hears of an item outside their
scope). Each gets an in-app notice; one with a digest channel in subscriptions.yml also gets
the notice there at once.

The run is cheap: one grouped query finds the (type, SLA) pairs of the open items, one query
reads only the items past their escalation time; only those due are written. A resolved item's
escalation record is dropped, so an item that reopens starts again at level 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from control_tower.accounts import Account
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.notify import Notification
from control_tower.exceptions.registry import SEVERITIES, type_label
from control_tower.exceptions.store import (
    SYSTEM_USER,
    AuditEntry,
    ExceptionItem,
    ExceptionStore,
    in_chunks,
)
from control_tower.notifications.config import ANY, Escalations, Policy, Subscription
from control_tower.notifications.deliveries import Sender
from control_tower.notifications.store import Escalation, notify_user, users_to_tell

# Open and not snoozed: a snoozed item waits quietly until its snooze ends.
ESCALATING: tuple[str, ...] = ("open", "acknowledged")


@dataclass
class EscalationReport:
    """What one escalation run did."""

    escalated: int = 0  # items that went up a level
    repeated: int = 0  # notices repeated at the top level
    notices: int = 0  # in-app notices written
    deliveries: int = 0  # e-mails and webhooks sent
    failed_deliveries: int = 0
    without_recipient: list[int] = field(default_factory=list)  # item ids nobody could be told
    alert_notices: int = 0  # in-app notices of KPI alerts to their followers

    def summary(self) -> str:
        """One line for the run record."""
        text = (
            f"{self.escalated} items escalated, {self.repeated} reminders, {self.notices} in-app "
            f"notices, {self.deliveries} e-mails/webhooks"
        )
        if self.alert_notices:
            text += f"; {self.alert_notices} KPI alert notices to their followers"
        if self.failed_deliveries:
            text += f" ({self.failed_deliveries} failed: kept in the outbox)"
        if self.without_recipient:
            ids = ", ".join(f"#{i}" for i in self.without_recipient[:10])
            text += f"; no recipient in scope for {ids}"
        return text


def raised_severity(severity: str, steps: int = 1) -> str:
    """`severity` up `steps` steps, capped at the top severity."""
    at = SEVERITIES.index(severity) if severity in SEVERITIES else 0
    return SEVERITIES[min(at + steps, len(SEVERITIES) - 1)]


def recipients(policy: Policy, item: ExceptionItem, users: Sequence[Account]) -> list[str]:
    """The active users a policy tells about `item`: its role's users and its named user,
    each only when their scope allows the item."""
    return users_to_tell(
        users,
        role=policy.to_role,
        user=policy.to_user,
        entity_id=item.entity_id,
        location_id=item.location_id,
    )


def _candidates(s: Session, escalations: Escalations, now: datetime) -> list[ExceptionItem]:
    """Open items whose escalation (or its next repeat) is due, by their type's policy and SLA:
    only those are read."""
    types = None if ANY in escalations.policies else sorted(escalations.policies)
    where = [ExceptionItem.status.in_(ESCALATING)]
    if types is not None:
        where.append(ExceptionItem.type.in_(types))
    pairs = s.execute(
        select(ExceptionItem.type, ExceptionItem.sla_hours)
        .where(*where)
        .group_by(ExceptionItem.type, ExceptionItem.sla_hours)
    ).all()
    started = func.coalesce(ExceptionItem.event_at, ExceptionItem.created_at)
    due = []
    for type_name, sla_hours in pairs:
        policy = escalations.for_type(type_name)
        if policy is None:
            continue
        cutoff = now - timedelta(hours=sla_hours + policy.after_breach_hours)
        # Not escalated yet, or told long enough ago for the next repeat.
        waiting = Escalation.item_id.is_(None)
        if policy.repeat_hours is not None:
            repeat = now - timedelta(hours=policy.repeat_hours)
            waiting = or_(waiting, Escalation.last_notified_at <= repeat)
        due.append(
            and_(
                ExceptionItem.type == type_name,
                ExceptionItem.sla_hours == sla_hours,
                started <= cutoff,
                waiting,
            )
        )
    if not due:
        return []
    items = s.scalars(
        select(ExceptionItem)
        .outerjoin(Escalation, Escalation.item_id == ExceptionItem.id)
        .where(*where, or_(*due))
        .order_by(ExceptionItem.id)
    )
    out = []
    for item in items:  # the one definition of a breach decides
        policy = escalations.for_type(item.type)
        aging = item_aging(item, now)
        if (
            policy
            and aging.sla_breached
            and now >= aging.sla_due_at + timedelta(hours=policy.after_breach_hours)
        ):
            out.append(item)
    return out


def _message(item: ExceptionItem, policy: Policy, level: int, now: datetime) -> tuple[str, str]:
    aging = item_aging(item, now)
    late = now - aging.sla_due_at
    where = ", ".join(
        f"{k} {v}" for k, v in (("location", item.location_id), ("entity", item.entity_id)) if v
    )
    subject = f"[ESCALATED L{level}] #{item.id} {type_label(item.type)} {item.key}"[:255]
    body = (
        f"Exception #{item.id} ({type_label(item.type)}, {item.key}"
        + (f", {where}" if where else "")
        + f") is past its SLA of {item.sla_hours:g} h by {late.total_seconds() / 3600:.1f} h "
        f"and still {item.status}.\n"
        f"Escalation level {level} by {policy.name}; severity now {item.severity}.\n"
        f"Owner: {item.owner_role}; assignee: {item.assignee or 'nobody'}.\n"
        f"Open it: /exceptions/{item.id}\n"
    )
    return subject, body


def _escalate_one(
    store: ExceptionStore,
    item_id: int,
    policy: Policy,
    users: Sequence[Account],
    now: datetime,
    report: EscalationReport,
) -> tuple[list[str], Notification | None]:
    """Move one due item a level up (or remind), audit it, write the in-app notices."""
    with store.session() as s:
        item = s.get_one(ExceptionItem, item_id)
        record = s.get(Escalation, item_id)
        if record is None:
            level, changed = 1, True
        else:
            if policy.repeat_hours is None:
                return [], None
            if now < record.last_notified_at + timedelta(hours=policy.repeat_hours):
                return [], None
            top = policy.max_level or record.level + 1
            level = min(record.level + 1, top)
            changed = level != record.level
        if changed:
            changes: dict[str, list[object]] = {
                "escalation_level": [record.level if record else 0, level]
            }
            if policy.raise_severity:
                new = raised_severity(item.severity)
                if new != item.severity:
                    changes["severity"] = [item.severity, new]
                    item.severity = new
            s.flush()  # bumps the item's version when its severity changed
            s.add(
                AuditEntry(
                    item_id=item.id,
                    actor=SYSTEM_USER,
                    at=now,
                    action="escalate",
                    changes=changes,
                    version=item.version,
                    note=f"{policy.name}, level {level}",
                )
            )
        if record is None:
            record = Escalation(
                item_id=item.id, level=level, policy=policy.type, first_at=now, count=0
            )
            s.add(record)
        record.level, record.policy = level, policy.type
        record.last_notified_at, record.count = now, record.count + 1
        told = recipients(policy, item, users)
        subject, body = _message(item, policy, level, now)
        notify_user(
            s,
            told,
            "escalation",
            subject,
            body,
            link=f"/exceptions/{item.id}",
            exception_id=item.id,
            now=now,
        )
    if changed:
        report.escalated += 1
    else:
        report.repeated += 1
    report.notices += len(told)
    if not told:
        report.without_recipient.append(item_id)
    note = Notification(
        rule="escalation",
        scope_value="",
        kind="escalation",
        subject=subject,
        body=body,
        at=now,
        exception_id=item_id,
        payload={"level": level, "policy": policy.type, "link": f"/exceptions/{item_id}"},
    )
    return told, note


def escalate(
    store: ExceptionStore,
    escalations: Escalations,
    users: Sequence[Account],
    *,
    now: datetime,
    subscriptions: dict[str, Subscription] | None = None,
    sender: Sender | None = None,
) -> EscalationReport:
    """Escalate every item whose time has come (see the module docstring)."""
    report = EscalationReport()
    if not escalations.policies:
        return report
    with store.session() as s:
        resolved = select(ExceptionItem.id).where(
            ExceptionItem.id == Escalation.item_id, ExceptionItem.status == "resolved"
        )
        s.execute(delete(Escalation).where(resolved.exists()))
        due = [
            (item.id, escalations.for_type(item.type)) for item in _candidates(s, escalations, now)
        ]
    outgoing: list[tuple[str, Notification]] = []
    for chunk in in_chunks(due):
        for item_id, policy in chunk:
            assert policy is not None
            try:
                told, note = _escalate_one(store, item_id, policy, users, now, report)
            except StaleDataError:  # a person changed it meanwhile: the next run sees it
                continue
            if note is not None:
                outgoing += [(user, note) for user in told]
    # Sent after the changes are committed: a slow channel never holds a transaction.
    for user, note in outgoing:
        sub = (subscriptions or {}).get(user)
        if sub is None or sub.digest is None or sender is None:
            continue
        addressed = replace(note, scope_value=user, payload={**note.payload, "user": user})
        record = sender.send(store, addressed, sub.digest)
        report.deliveries += record.status == "sent"
        report.failed_deliveries += record.status != "sent"
    return report
