"""The escalation policies and the subscriptions of an installation: two YAML files in its
data folder, read with `config_files.load_yaml` so that every mistake names file and line.

`escalation.yml`:

    policies:
      stockout_risk:            # an exception type, or "*" for every type without its own
        after_breach_hours: 0   # 0 = at the SLA breach
        to_role: planner        # and/or to_user: a user name (checked when escalating)
        raise_severity: true    # one step up per level, capped at the top severity
        repeat_hours: 4         # tell again (one level up) while still breached
        max_level: 3            # optional: the highest level

`subscriptions.yml`:

    users:
      pat:
        queues: [stockout_risk, order_at_risk]   # or "*"
        kpi_alerts: "*"                           # alert rule names, or "*"
        digest: {channel: email, to: pat@example.com, hour: 7}   # hour in UTC

An absent file means nothing is configured; a present, bad one is refused whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from control_tower.config_files import ConfigError, Located, load_yaml
from control_tower.exceptions.alerts import AlertRuleError, load_alert_rules
from control_tower.exceptions.registry import type_names
from control_tower.roles import ROLES

ANY = "*"
DIGEST_CHANNELS: tuple[str, ...] = ("email", "webhook")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_POLICY_KEYS = (
    "after_breach_hours",
    "to_role",
    "to_user",
    "raise_severity",
    "repeat_hours",
    "max_level",
)
_USER_KEYS = ("queues", "kpi_alerts", "digest")
_DIGEST_KEYS = ("channel", "to", "hour")


@dataclass(frozen=True)
class Policy:
    """How items of one exception type (or of every other type, "*") escalate."""

    type: str
    after_breach_hours: float = 0.0
    to_role: str | None = None
    to_user: str | None = None
    raise_severity: bool = False
    repeat_hours: float | None = None
    max_level: int | None = None
    line: int = 0  # where it is declared, for messages

    @property
    def name(self) -> str:
        """How the audit log and messages name the policy."""
        return f"escalation policy {self.type!r}"


@dataclass(frozen=True)
class Escalations:
    """The policies of escalation.yml, by exception type ("*" the default)."""

    path: Path
    policies: dict[str, Policy]

    def for_type(self, type_name: str) -> Policy | None:
        """The policy items of this type follow, or None."""
        return self.policies.get(type_name) or self.policies.get(ANY)


@dataclass(frozen=True)
class Digest:
    """Where and when a user's daily digest goes (the hour in UTC)."""

    channel: str
    to: str
    hour: int


@dataclass(frozen=True)
class Subscription:
    """What one user follows: queues (types, or "*"), KPI alert rules (or "*"), their digest."""

    user: str
    queues: tuple[str, ...] = ()
    kpi_alerts: tuple[str, ...] = ()
    digest: Digest | None = None
    line: int = 0

    def follows_type(self, type_name: str) -> bool:
        """Whether items of this type are in the user's digest."""
        return ANY in self.queues or type_name in self.queues

    def follows_rule(self, rule: str) -> bool:
        """Whether this KPI alert rule's notices are in the user's digest."""
        return ANY in self.kpi_alerts or rule in self.kpi_alerts


def _hours(node: Located, key: str, default: float | None) -> float | None:
    found = node.get(key)
    if found is None or found.value is None:
        return default
    value = found.typed(float, key)
    if value < 0:
        raise found.error(f"{key!r} must not be negative, not {value:g}")
    return value


def _known_type(path: Path, line: int, name: str, what: str) -> str:
    if name != ANY and name not in type_names():
        raise ConfigError(
            path,
            line,
            f"{what} {name!r} is not an exception type; known types: {', '.join(type_names())}",
        )
    return name


def _entries(top: Located, key: str, what: str) -> list[tuple[str, Located, int]]:
    """The (name, value, line) entries of the mapping under `key`; a name given twice refused."""
    found = top.get(key)
    if found is None or found.value is None:
        return []
    if not isinstance(found.node, yaml.MappingNode):
        raise found.error(f"{key!r} must be a mapping of {what} names, not a list or a value")
    seen: dict[str, int] = {}
    entries = []
    for key_node, value_node in found.node.value:
        name, line = str(Located(key_node, top.path).value), key_node.start_mark.line + 1
        if name in seen:
            raise ConfigError(
                top.path, line, f"{what} {name!r} is listed twice (first on line {seen[name]})"
            )
        seen[name] = line
        entries.append((name, Located(value_node, top.path), line))
    return entries


def _policy(path: Path, type_name: str, node: Located, line: int) -> Policy:
    _known_type(path, line, type_name, "the policy for")
    node.no_other_keys(_POLICY_KEYS)
    to_role = node.optional("to_role", str, "") or None
    if to_role is not None and to_role not in ROLES:
        raise ConfigError(
            path,
            node.key_line("to_role"),
            f"to_role {to_role!r} is not a role; roles: {', '.join(ROLES)}",
        )
    to_user = node.optional("to_user", str, "") or None
    if to_role is None and to_user is None:
        raise ConfigError(path, line, f"the policy for {type_name!r} needs to_role and/or to_user")
    max_level = node.optional("max_level", int, 0)
    if node.get("max_level") is not None and max_level < 1:
        raise ConfigError(path, node.key_line("max_level"), "'max_level' must be 1 or more")
    repeat = _hours(node, "repeat_hours", None)
    if repeat == 0:
        raise ConfigError(path, node.key_line("repeat_hours"), "'repeat_hours' must be more than 0")
    return Policy(
        type=type_name,
        after_breach_hours=_hours(node, "after_breach_hours", 0.0) or 0.0,
        to_role=to_role,
        to_user=to_user,
        raise_severity=node.optional("raise_severity", bool, False),
        repeat_hours=repeat,
        max_level=max_level or None,
        line=line,
    )


def load_escalations(path: Path) -> Escalations:
    """The policies of `path` (none when the file is absent); raises ConfigError."""
    top = load_yaml(path) if path.exists() else None
    if top is None:
        return Escalations(path, {})
    top.no_other_keys({"policies"})
    return Escalations(
        path,
        {
            name: _policy(path, name, node, line)
            for name, node, line in _entries(top, "policies", "exception type")
        },
    )


def _names(node: Located, key: str) -> tuple[tuple[str, int], ...]:
    """A list of names (or the one name "*") under `key`, each with its line."""
    found = node.get(key)
    if found is None or found.value is None:
        return ()
    if isinstance(found.node, yaml.ScalarNode):
        return ((found.typed(str, key), found.line),)
    if not isinstance(found.node, yaml.SequenceNode):
        raise found.error(f'{key!r} must be a list of names or "*"')
    return tuple(
        (Located(n, node.path).typed(str, key), n.start_mark.line + 1) for n in found.node.value
    )


def _digest(path: Path, node: Located) -> Digest | None:
    found = node.get("digest")
    if found is None or found.value is None:
        return None
    found.no_other_keys(_DIGEST_KEYS)
    channel = found.one_of("channel", DIGEST_CHANNELS)
    to = found.required("to", str).strip()
    to_line = found.key_line("to")
    if channel == "email" and not _EMAIL.match(to):
        raise ConfigError(path, to_line, f"'to' {to!r} is not an e-mail address")
    if channel == "webhook":
        url = urlsplit(to)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(path, to_line, f"'to' {to!r} is not an http(s) URL")
    hour = found.required("hour", int)
    if not 0 <= hour <= 23:
        raise ConfigError(path, found.key_line("hour"), f"'hour' must be 0 to 23 (UTC), not {hour}")
    return Digest(channel, to, hour)


def _alert_rule_names(path: Path) -> set[str] | None:
    """The rule names of alert_rules.yml beside `path` (None when there is no such file)."""
    rules_path = path.parent / "alert_rules.yml"
    if not rules_path.exists():
        return None
    try:
        return {r.name for r in load_alert_rules(rules_path)}
    except AlertRuleError as exc:
        raise ConfigError(path, None, f"cannot check the KPI alert rules: {exc}") from None


def load_subscriptions(path: Path) -> dict[str, Subscription]:
    """The subscriptions of `path` by user name (none when absent); raises ConfigError.

    KPI alert rule names are checked against alert_rules.yml in the same folder, when it
    exists; user names against the accounts by `service.load_configuration`."""
    top = load_yaml(path) if path.exists() else None
    if top is None:
        return {}
    top.no_other_keys({"users"})
    rules = _alert_rule_names(path)
    out: dict[str, Subscription] = {}
    for user, node, line in _entries(top, "users", "user"):
        node.no_other_keys(_USER_KEYS)
        queues = _names(node, "queues")
        for name, at in queues:
            _known_type(path, at, name, "queue")
        alerts = _names(node, "kpi_alerts")
        for name, at in alerts:
            if rules is not None and name != ANY and name not in rules:
                known = ", ".join(sorted(rules)) or "none"
                raise ConfigError(
                    path, at, f"kpi_alerts: {name!r} is not a rule of alert_rules.yml ({known})"
                )
        out[user] = Subscription(
            user=user,
            queues=tuple(n for n, _ in queues),
            kpi_alerts=tuple(n for n, _ in alerts),
            digest=_digest(path, node),
            line=line,
        )
    return out
