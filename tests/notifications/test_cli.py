"""`control-tower notify`: check prints both files or refuses them with file and line."""

from __future__ import annotations

from click.testing import CliRunner

from control_tower.cli import main
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import Settings
from tests.support.notification_cases import write


def _run(settings: Settings, *args: str):
    return CliRunner().invoke(main, ["--home", str(settings.home), "notify", *args])


def test_check_prints_the_files_and_refuses_a_bad_one(
    settings: Settings, store: ExceptionStore
) -> None:
    write(
        settings.escalation_path, "policies:\n  '*':\n    to_role: planner\n    repeat_hours: 6\n"
    )
    write(
        settings.subscriptions_path,
        "users:\n  pat:\n    queues: '*'\n    digest: {channel: email, to: p@example.com, hour: 7}\n",
    )
    result = _run(settings, "check")
    assert result.exit_code == 0, result.output
    assert "*: 0 h after the SLA breach to role planner, again every 6 h" in result.output
    assert "pat: queues *; KPI alerts -; digest by email to p@example.com at 07:00 UTC" in (
        result.output
    )
    write(settings.subscriptions_path, "users:\n  ghost:\n    queues: '*'\n")
    result = _run(settings, "check")
    assert result.exit_code == 1
    assert f"{settings.subscriptions_path}, line 2: user 'ghost' is not an active user" in (
        result.output
    )


def test_digest_dry_run_prints_the_digest(settings: Settings, store: ExceptionStore) -> None:
    write(
        settings.subscriptions_path,
        "users:\n  pia:\n    queues: '*'\n    digest: {channel: email, to: p@example.com, hour: 7}\n",
    )
    result = _run(settings, "digest", "--user", "pia", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "To pia: Control Tower digest for pia" in result.output
    assert "digests: 0 sent" in result.output
    result = _run(settings, "digest", "--user", "nobody")
    assert result.exit_code == 1
    assert "user 'nobody' has no subscription" in result.output
