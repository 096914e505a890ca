"""The data-health page's view of the configuration files: absent, usable, or the mistake with
its file, line and reason, each file judged on its own."""

from __future__ import annotations

from pathlib import Path

from control_tower.settings import Settings, load_settings
from control_tower.views.config_status import config_status
from control_tower.web.health_views import config_files
from tests.support.web_users import add_test_users


def _settings(tmp_path: Path) -> Settings:
    settings = load_settings(tmp_path).with_home(tmp_path)
    add_test_users(settings)
    return settings


def _by_name(settings: Settings) -> dict[str, object]:
    return {f.name: f for f in config_status(settings)}


def test_absent_files_configure_nothing(tmp_path: Path) -> None:
    files = _by_name(_settings(tmp_path))
    assert set(files) == {
        "approval_rules.yml",
        "escalation.yml",
        "subscriptions.yml",
        "alert_rules.yml",
    }
    assert all(not f.present and f.problem is None for f in files.values())


def test_a_bad_file_names_its_line_and_the_good_ones_stay_usable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.escalation_path.write_text(
        "policies:\n  stockout_risk:\n    to_role: planner\n    repeat_hours: -4\n"
    )
    settings.approval_rules_path.write_text(
        "rules:\n  - name: big\n    request_types: [stock_transfer]\n    min_value: 10\n"
        "    approver_role: planner\n"
    )
    files = _by_name(settings)
    escalation = files["escalation.yml"]
    assert escalation.problem is not None
    assert escalation.problem.startswith(f"{settings.escalation_path}, line 4: ")
    assert "repeat_hours" in escalation.problem
    assert (files["approval_rules.yml"].problem, files["approval_rules.yml"].entries) == (None, 1)
    shown = str(config_files(list(files.values())))
    assert "1 configuration file cannot be used" in shown
    assert "line 4" in shown


def test_a_subscription_of_an_unknown_user_is_shown_on_that_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.escalation_path.write_text("policies:\n  stockout_risk:\n    to_role: planner\n")
    settings.subscriptions_path.write_text(
        "users:\n  nobody:\n    queues: [stockout_risk]\n"
        "    digest: {channel: email, to: nobody@example.com, hour: 7}\n"
    )
    files = _by_name(settings)
    assert files["escalation.yml"].problem is None
    assert files["escalation.yml"].entries == 1
    problem = files["subscriptions.yml"].problem
    assert problem is not None
    assert "line 2" in problem
    assert "'nobody' is not an active user" in problem
