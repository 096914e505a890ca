"""Where the installation's configuration files stand, for the data-health page.

The files people edit by hand in the data folder (approval rules, escalation policies,
subscriptions, KPI alert rules) are each read the way the product reads them when it uses them;
a mistake shows here with its file, line and reason before it stops the step that needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from control_tower.actions.approvals import load_rules
from control_tower.config_files import ConfigError
from control_tower.exceptions.alerts import AlertRuleError, load_alert_rules
from control_tower.notifications.config import load_escalations, load_subscriptions
from control_tower.notifications.service import load_configuration
from control_tower.settings import Settings


@dataclass(frozen=True)
class FileStatus:
    """One configuration file: what it is for, where, and whether it can be used."""

    name: str
    purpose: str
    path: Path
    present: bool
    problem: str | None = None  # the mistake (file, line, reason); None when usable
    entries: int | None = None  # how many rules, policies or subscriptions it declares


def _check(
    name: str, purpose: str, path: Path, read: Callable[[], int], errors: tuple[type, ...]
) -> FileStatus:
    if not path.exists():
        return FileStatus(name, purpose, path, present=False)
    try:
        return FileStatus(name, purpose, path, present=True, entries=read())
    except errors as exc:
        return FileStatus(name, purpose, path, present=True, problem=str(exc))


def config_status(settings: Settings) -> list[FileStatus]:
    """Each configuration file of the data folder, read as the product reads it (the users an
    escalation or subscription names must be active accounts, as when it runs)."""
    files = [
        _check(
            "approval_rules.yml",
            "which action requests need whose approval",
            settings.approval_rules_path,
            lambda: len(load_rules(settings.approval_rules_path)),
            (ConfigError,),
        ),
        _check(
            "escalation.yml",
            "who hears of items past their SLA",
            settings.escalation_path,
            lambda: len(load_escalations(settings.escalation_path).policies),
            (ConfigError,),
        ),
        _check(
            "subscriptions.yml",
            "who follows which queues and alerts, and their digest",
            settings.subscriptions_path,
            lambda: len(load_subscriptions(settings.subscriptions_path)),
            (ConfigError,),
        ),
        _check(
            "alert_rules.yml",
            "KPI alert rules",
            settings.alert_rules_path,
            lambda: len(load_alert_rules(settings.alert_rules_path)),
            (AlertRuleError,),
        ),
    ]
    if all(f.problem is None for f in files[1:3]) and any(f.present for f in files[1:3]):
        try:
            load_configuration(settings)
        except ConfigError as exc:
            files = [
                replace(f, problem=str(exc), entries=None) if f.path == exc.path else f
                for f in files
            ]
    return files
