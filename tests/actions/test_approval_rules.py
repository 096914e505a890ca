"""approval_rules.yml: every mistake refused with file, line and reason; the rule that applies."""

from __future__ import annotations

import pytest

from control_tower.actions.approvals import (
    EXAMPLE_RULES,
    ApprovalRule,
    applicable_rule,
    load_rules,
    may_approve,
    write_example,
)
from control_tower.config_files import ConfigError

GOOD = """\
rules:
  - name: transfers
    request_types: [stock_transfer]
    min_value: 10000
    approver_role: planner
    approver_permission: planner_lead
  - name: very large transfers
    request_types: [stock_transfer, purchase_requisition]
    min_value: 100000
    approver_role: finance
"""


def write(tmp_path, text: str):
    path = tmp_path / "approval_rules.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            GOOD.replace("    min_value: 10000", "    min_value: 10000\n    colour: red"),
            5,
            "unknown key 'colour'",
        ),
        (
            GOOD.replace("[stock_transfer]", "[stock_transfer, teleport]"),
            3,
            "unknown request type 'teleport'",
        ),
        (
            GOOD.replace("approver_role: planner", "approver_role: boss"),
            5,
            "'approver_role' is 'boss'; expected one of",
        ),
        (
            GOOD.replace("planner_lead", "chief"),
            6,
            "'approver_permission' is 'chief'; expected one of: planner_lead, kpi_owner",
        ),
        (GOOD.replace("min_value: 10000", "min_value: -5"), 4, "min_value -5 < 0"),
        (
            GOOD.replace("min_value: 10000", "min_value: lots"),
            4,
            "'min_value' must be a number, not 'lots'",
        ),
        (
            GOOD.replace("very large transfers", "transfers"),
            7,
            "duplicate rule name 'transfers' (first on line 2)",
        ),
        (GOOD.replace("[stock_transfer]", "stock_transfer"), 3, "'request_types' must be a list"),
        (GOOD.replace("[stock_transfer]", "[]"), 3, "'request_types' is empty"),
        ("rule:\n  - name: x\n", 1, "unknown key 'rule'"),
        ("rules:\n  - name: x\n    request_types: [recount\n", 4, "not valid YAML"),
        ("rules:\n  - request_types: [recount]\n    approver_role: admin\n", 2, "missing 'name'"),
    ],
)
def test_a_mistake_names_file_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert caught.value.path == path
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_the_highest_threshold_reached_applies(tmp_path):
    rules = load_rules(write(tmp_path, GOOD))
    assert [r.name for r in rules] == ["transfers", "very large transfers"]
    assert applicable_rule(rules, "stock_transfer", 9999.99) is None
    assert applicable_rule(rules, "stock_transfer", 10000).name == "transfers"
    assert applicable_rule(rules, "stock_transfer", 250000).name == "very large transfers"
    assert applicable_rule(rules, "recount", 10**9) is None
    assert rules[0].approver() == "a planner with planner_lead"


def test_absent_or_empty_file_means_no_rules(tmp_path):
    assert load_rules(tmp_path / "absent.yml") == []
    assert load_rules(write(tmp_path, "# nothing yet\n")) == []


def test_the_example_file_loads(tmp_path):
    path = tmp_path / "approval_rules.yml"
    assert write_example(path)
    assert not write_example(path)  # never overwrites a file someone edited
    assert path.read_text() == EXAMPLE_RULES
    rules = load_rules(path)
    assert [
        (r.request_types, r.min_value, r.approver_role, r.approver_permission) for r in rules
    ] == [
        (("stock_transfer",), 10000.0, "planner", "planner_lead"),
        (("purchase_requisition",), 50000.0, "finance", None),
    ]


def test_who_may_approve():
    rule = ApprovalRule("t", ("stock_transfer",), 0, "planner", "planner_lead")
    assert may_approve(rule.approver_role, rule.approver_permission, "planner", {"planner_lead"})
    assert not may_approve(rule.approver_role, rule.approver_permission, "planner", set())
    assert not may_approve(
        rule.approver_role, rule.approver_permission, "finance", {"planner_lead"}
    )
    assert may_approve(rule.approver_role, rule.approver_permission, "admin", set())
