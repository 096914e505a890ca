"""Approval rules: which requests need whose approval, by type and value.

Declared in `<home>/approval_rules.yml` (`Settings.approval_rules_path`); an absent file means
no request needs approval. Every mistake is refused with the file, the line and why
(`config_files.ConfigError`): an unknown key, an unknown request type, role or permission, a
negative value, a duplicate name, a value of the wrong type.

    rules:
      - name: large transfers
        request_types: [stock_transfer]
        min_value: 10000           # money, the request's value (>= 0; default 0)
        approver_role: planner     # one of the roles
        approver_permission: planner_lead   # optional, one of the permissions
        note: Transfers of 10,000 or more need a planner lead.

The rule that applies to a request is, among the rules naming its type whose `min_value` the
request's value reaches, the one with the highest `min_value` (the first in the file on a
tie). None applies: the request needs no approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from control_tower.actions.store import REQUEST_TYPES
from control_tower.config_files import ConfigError, Located, load_yaml
from control_tower.roles import PERMISSIONS, ROLES

RULE_KEYS = (
    "name",
    "request_types",
    "min_value",
    "approver_role",
    "approver_permission",
    "note",
)

EXAMPLE_RULES = """\
# Which action requests need whose approval (control-tower requests check-rules).
# The rule with the highest min_value that a request's value reaches applies;
# a request no rule applies to is approved at once.
rules:
  - name: large transfers
    request_types: [stock_transfer]
    min_value: 10000
    approver_role: planner
    approver_permission: planner_lead
    note: Transfers worth 10,000 or more need a planner lead.
  - name: large requisitions
    request_types: [purchase_requisition]
    min_value: 50000
    approver_role: finance
    note: Purchase requisitions worth 50,000 or more need finance.
"""


@dataclass(frozen=True)
class ApprovalRule:
    """One rule: requests of these types worth at least min_value need this approver."""

    name: str
    request_types: tuple[str, ...]
    min_value: float
    approver_role: str
    approver_permission: str | None = None
    note: str | None = None
    line: int | None = None

    def approver(self) -> str:
        """Who may approve, in words: `a planner with planner_lead`."""
        return approver_words(self.approver_role, self.approver_permission)

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON-ready values."""
        return {
            "name": self.name,
            "request_types": list(self.request_types),
            "min_value": self.min_value,
            "approver_role": self.approver_role,
            "approver_permission": self.approver_permission,
            "note": self.note,
        }


def _types(rule: Located) -> tuple[str, ...]:
    if rule.get("request_types") is None:
        raise rule.error("missing 'request_types' (a list of request types)")
    names: list[str] = []
    for node in rule.list_at("request_types"):
        value = node.typed(str, "request_types")
        if value not in REQUEST_TYPES:
            raise node.error(
                f"unknown request type {value!r}; known types: {', '.join(REQUEST_TYPES)}"
            )
        names.append(value)
    if not names:
        raise ConfigError(
            rule.path, rule.key_line("request_types"), "'request_types' is empty: name one or more"
        )
    return tuple(names)


def _rule(node: Located) -> ApprovalRule:
    node.no_other_keys(RULE_KEYS)
    name = node.required("name", str).strip()
    if not name:
        raise node.error("'name' is empty")
    types = _types(node)
    min_value = node.optional("min_value", float, 0.0)
    if min_value < 0:
        raise ConfigError(node.path, node.key_line("min_value"), f"min_value {min_value:g} < 0")
    role = node.one_of("approver_role", ROLES)
    permission = None
    if node.get("approver_permission") is not None:
        permission = node.one_of("approver_permission", PERMISSIONS)
    note = node.optional("note", str, "") or None
    return ApprovalRule(name, types, min_value, role, permission, note, node.line)


def approver_words(role: str | None, permission: str | None) -> str:
    """An approver in words: `a planner with planner_lead`."""
    with_permission = f" with {permission}" if permission else ""
    return f"a {(role or 'nobody').replace('_', ' ')}{with_permission}"


def load_rules(path: Path) -> list[ApprovalRule]:
    """The rules of an approval rules file, in file order; [] when the file is absent or
    empty. Raises ConfigError (file, line, reason) for any mistake."""
    if not path.exists():
        return []
    top = load_yaml(path)
    if top is None:
        return []
    top.no_other_keys({"rules"})
    rules: list[ApprovalRule] = []
    seen: dict[str, int | None] = {}
    for node in top.list_at("rules"):
        rule = _rule(node)
        if rule.name in seen:
            raise node.error(f"duplicate rule name {rule.name!r} (first on line {seen[rule.name]})")
        seen[rule.name] = rule.line
        rules.append(rule)
    return rules


def applicable_rule(
    rules: list[ApprovalRule], type_name: str, value: float | None
) -> ApprovalRule | None:
    """The rule a request of this type and value falls under (module docstring), or None."""
    worth = value or 0.0
    best: ApprovalRule | None = None
    for rule in rules:
        applies = type_name in rule.request_types and worth >= rule.min_value
        if applies and (best is None or rule.min_value > best.min_value):
            best = rule
    return best


def may_approve(
    approver_role: str | None,
    approver_permission: str | None,
    role: str,
    permissions: frozenset[str] | set[str],
) -> bool:
    """Whether a user of `role` holding `permissions` is the approver a rule names (an admin
    may approve every rule)."""
    if role == "admin":
        return True
    if role != approver_role:
        return False
    return approver_permission is None or approver_permission in permissions


def write_example(path: Path) -> bool:
    """Write EXAMPLE_RULES to `path` unless a file is there; whether it was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXAMPLE_RULES, encoding="utf-8")
    return True
