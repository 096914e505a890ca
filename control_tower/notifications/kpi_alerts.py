"""KPI alert notices in the app for the users who follow the rule (subscriptions.yml).

The alert step records each firing (and each reminder) of a KPI alert rule; after it, the
escalation step gives every subscriber of that rule whose scope allows the alert's item an
in-app notice linking to the item. Only the alerts recorded since the last such notice are
read (a day back the first time), so each alert is told once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from control_tower.accounts import Account
from control_tower.exceptions.store import AlertNotification, ExceptionItem, ExceptionStore
from control_tower.notifications.config import Subscription
from control_tower.notifications.store import UserNotification, notify_user

FIRST_LOOKBACK = timedelta(days=1)


def tell_alert_subscribers(
    store: ExceptionStore,
    subscriptions: dict[str, Subscription],
    users: Sequence[Account],
    *,
    now: datetime,
) -> int:
    """In-app notices for the KPI alerts fired since the last ones told; how many were written."""
    followers = [
        (sub, account)
        for account in users
        if not account.disabled
        and (sub := subscriptions.get(account.name)) is not None
        and sub.kpi_alerts
    ]
    if not followers:
        return 0
    written = 0
    with store.session() as s:
        last = s.scalar(
            select(func.max(UserNotification.created_at)).where(
                UserNotification.kind == "kpi_alert"
            )
        )
        fired = s.execute(
            select(AlertNotification, ExceptionItem)
            .join(ExceptionItem, ExceptionItem.id == AlertNotification.exception_id)
            .where(
                AlertNotification.channel == "app",
                AlertNotification.kind.in_(("firing", "reraised")),
                AlertNotification.created_at > (last or now - FIRST_LOOKBACK),
                AlertNotification.created_at <= now,
            )
            .order_by(AlertNotification.id)
        ).all()
        for note, item in fired:
            told = [
                sub.user
                for sub, account in followers
                if sub.follows_rule(note.rule)
                and account.scope.allows(item.entity_id, item.location_id)
            ]
            written += len(
                notify_user(
                    s,
                    told,
                    "kpi_alert",
                    note.subject,
                    note.body,
                    link=f"/exceptions/{item.id}",
                    exception_id=item.id,
                    now=note.created_at,
                )
            )
    return written
