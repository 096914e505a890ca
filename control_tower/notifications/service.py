"""The installation's notification runs: escalation (a pipeline step), digests (the scheduler's
hourly job) and the check of both configuration files, from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from control_tower.accounts import Account, AccountStore
from control_tower.config_files import ConfigError
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.notifications.config import (
    Escalations,
    Subscription,
    load_escalations,
    load_subscriptions,
)
from control_tower.notifications.deliveries import Sender
from control_tower.notifications.digest import DigestReport, send_digests
from control_tower.notifications.escalation import EscalationReport, escalate
from control_tower.notifications.kpi_alerts import tell_alert_subscribers
from control_tower.notifications.store import notify_user
from control_tower.settings import Settings, utc_now


@dataclass(frozen=True)
class Configuration:
    """Both files of an installation, checked against its accounts."""

    escalations: Escalations
    subscriptions: dict[str, Subscription]
    users: list[Account]


def load_configuration(settings: Settings) -> Configuration:
    """escalation.yml and subscriptions.yml, every user they name an active account; raises
    ConfigError (file, line, reason)."""
    escalations = load_escalations(settings.escalation_path)
    subscriptions = load_subscriptions(settings.subscriptions_path)
    with AccountStore.open(settings.app_db_url) as accounts:
        users = accounts.list_users()
    active = {u.name for u in users if not u.disabled}
    for policy in escalations.policies.values():
        if policy.to_user is not None and policy.to_user not in active:
            raise ConfigError(
                escalations.path,
                policy.line,
                f"to_user {policy.to_user!r} of the policy for {policy.type!r} is not an active "
                "user (see `control-tower users list`)",
            )
    for sub in subscriptions.values():
        if sub.user not in active:
            raise ConfigError(
                settings.subscriptions_path,
                sub.line,
                f"user {sub.user!r} is not an active user (see `control-tower users list`)",
            )
    return Configuration(escalations, subscriptions, users)


def run_escalation(settings: Settings, *, now: datetime | None = None) -> EscalationReport:
    """The post-load step: escalate the installation's items past their SLA, and tell the
    followers of each KPI alert rule what it fired in the app."""
    config = load_configuration(settings)
    now = now or utc_now()
    with ExceptionStore.open(settings.app_db_url) as store:
        report = escalate(
            store,
            config.escalations,
            config.users,
            now=now,
            subscriptions=config.subscriptions,
            sender=Sender(settings),
        )
        report.alert_notices = tell_alert_subscribers(
            store, config.subscriptions, config.users, now=now
        )
    return report


def run_digests(
    settings: Settings,
    *,
    now: datetime | None = None,
    user: str | None = None,
    dry_run: bool = False,
) -> DigestReport:
    """Send the digests that are due (`user`: only theirs, whatever their hour); `dry_run`
    builds them without sending or recording."""
    config = load_configuration(settings)
    if user is not None and user not in config.subscriptions:
        raise ConfigError(
            settings.subscriptions_path, None, f"user {user!r} has no subscription in this file"
        )
    with ExceptionStore.open(settings.app_db_url) as store:
        return send_digests(
            store,
            config.subscriptions,
            config.users,
            now=now or utc_now(),
            sender=None if dry_run else Sender(settings),
            only=user,
            force_hour=user is not None,
        )


def tell_assignee(store: ExceptionStore, item: ExceptionItem, actor: str) -> None:
    """An in-app notice to the person an item was just assigned to (not when they took it)."""
    if item.assignee and item.assignee != actor:
        notify_user(
            store,
            item.assignee,
            "assigned",
            f"#{item.id} {item.type} {item.key} assigned to you by {actor}",
            f"{actor} assigned exception #{item.id} ({item.type}, {item.key}, "
            f"{item.severity}) to you.",
            link=f"/exceptions/{item.id}",
            exception_id=item.id,
        )
