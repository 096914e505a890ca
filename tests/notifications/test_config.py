"""escalation.yml and subscriptions.yml: every mistake refused with its file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.config_files import ConfigError
from control_tower.notifications.config import (
    Digest,
    load_escalations,
    load_subscriptions,
)
from tests.support.notification_cases import write

GOOD_ESCALATION = """\
policies:
  stockout_risk:
    after_breach_hours: 0
    to_role: planner
    raise_severity: true
    repeat_hours: 4
    max_level: 3
  "*":
    after_breach_hours: 8
    to_user: ada
"""

GOOD_SUBSCRIPTIONS = """\
users:
  pat:
    queues: [stockout_risk, order_at_risk]
    kpi_alerts: "*"
    digest: {channel: email, to: pat@example.com, hour: 7}
  eve:
    kpi_alerts: [fill_rate_low]
    digest:
      channel: webhook
      to: https://hooks.example.com/eve
      hour: 0
"""


def test_good_files_are_read(tmp_path: Path) -> None:
    found = load_escalations(write(tmp_path / "escalation.yml", GOOD_ESCALATION))
    stockout = found.for_type("stockout_risk")
    assert stockout is not None
    assert (stockout.to_role, stockout.repeat_hours, stockout.max_level) == ("planner", 4, 3)
    fallback = found.for_type("carrier_delay")
    assert fallback is not None
    assert (fallback.type, fallback.to_user, fallback.line) == ("*", "ada", 8)
    subs = load_subscriptions(write(tmp_path / "subscriptions.yml", GOOD_SUBSCRIPTIONS))
    assert subs["pat"].digest == Digest("email", "pat@example.com", 7)
    assert subs["pat"].follows_type("order_at_risk")
    assert not subs["pat"].follows_type("carrier_delay")
    assert subs["eve"].follows_rule("fill_rate_low")
    assert subs["eve"].queues == ()
    assert load_escalations(tmp_path / "absent.yml").policies == {}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("policies:\n  stockout_risk:\n    to_role: planner\n    hurry: true\n", 4,
         "unknown key 'hurry'"),
        ("policies:\n  stockout_risks:\n    to_role: planner\n", 2,
         "'stockout_risks' is not an exception type"),
        ("policies:\n  stockout_risk:\n    to_role: boss\n", 3, "to_role 'boss' is not a role"),
        ("policies:\n  stockout_risk:\n    to_role: planner\n    repeat_hours: -1\n", 4,
         "'repeat_hours' must not be negative"),
        ("policies:\n  stockout_risk:\n    to_role: planner\n    after_breach_hours: -2\n", 4,
         "'after_breach_hours' must not be negative"),
        ("policies:\n  stockout_risk:\n    to_role: planner\n  stockout_risk:\n"
         "    to_role: finance\n", 4, "'stockout_risk' is listed twice (first on line 2)"),
        ("policies:\n  stockout_risk:\n    raise_severity: true\n", 2,
         "needs to_role and/or to_user"),
        ("policies:\n  stockout_risk:\n    to_role: planner\n    max_level: 0\n", 4,
         "'max_level' must be 1 or more"),
        ("policies:\n  stockout_risk:\n    to_role: planner\n    raise_severity: maybe\n", 4,
         "'raise_severity' must be true or false"),
        ("rules:\n  - x\n", 1, "unknown key 'rules'"),
        ("policies:\n  stockout_risk: [\n", 3, "not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_escalation_file_is_refused_at_its_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path / "escalation.yml", text)
    with pytest.raises(ConfigError) as caught:
        load_escalations(path)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}, line {line}: ")


RULES = "rules:\n  - {name: fill_rate_low, kpi: line_fill_rate, condition: threshold, op: '<', limit: 0.9}\n"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("users:\n  pat:\n    queues: [stockout_risk, nonsense]\n", 3,
         "queue 'nonsense' is not an exception type"),
        ("users:\n  pat:\n    kpi_alerts: [fill_rate_low, otif_low]\n", 3,
         "'otif_low' is not a rule of alert_rules.yml"),
        ("users:\n  pat:\n    digest: {channel: email, to: pat.example.com, hour: 7}\n", 3,
         "'pat.example.com' is not an e-mail address"),
        ("users:\n  pat:\n    digest:\n      channel: webhook\n      to: ftp://x.example\n"
         "      hour: 7\n", 5, "is not an http(s) URL"),
        ("users:\n  pat:\n    digest:\n      channel: email\n      to: p@example.com\n"
         "      hour: 24\n", 6, "'hour' must be 0 to 23 (UTC), not 24"),
        ("users:\n  pat:\n    digest:\n      channel: pigeon\n      to: p@example.com\n"
         "      hour: 1\n", 4, "'channel' is 'pigeon'"),
        ("users:\n  pat:\n    queues: '*'\n  eve:\n    queues: '*'\n  pat:\n    queues: []\n", 6,
         "user 'pat' is listed twice (first on line 2)"),
        ("users:\n  pat:\n    queue: [stockout_risk]\n", 3, "unknown key 'queue'"),
    ],
)  # fmt: skip
def test_a_bad_subscriptions_file_is_refused_at_its_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    write(tmp_path / "alert_rules.yml", RULES)
    path = write(tmp_path / "subscriptions.yml", text)
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert reason in caught.value.reason


def test_alert_rule_names_are_free_without_an_alert_rules_file(tmp_path: Path) -> None:
    path = write(tmp_path / "subscriptions.yml", "users:\n  pat:\n    kpi_alerts: [any_rule]\n")
    assert load_subscriptions(path)["pat"].kpi_alerts == ("any_rule",)
