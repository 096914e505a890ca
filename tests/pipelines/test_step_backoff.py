"""A failing post-load step backs off instead of running on every run, a success resets it, and
it shows as a data problem (data-health page, admins' queue) with its last error and next try."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.ops import health
from control_tower.settings import Settings, load_settings
from control_tower.storage import ServingStore
from control_tower.web import health_views
from pipelines import steps
from pipelines.backoff import StepPolicy, error_text
from pipelines.run import RunReport, run_pipeline
from tests.support.clock import clock_at
from tests.support.tiny_inbox import write_master

T0 = datetime(2026, 3, 16, 8, 0)
SECRET = "ORDER-4711;ACME Corp;12.50"


class Flaky:
    """A step that raises until told otherwise, counting its tries."""

    def __init__(self) -> None:
        self.failing = True
        self.tries = 0

    def __call__(self, _ctx: steps.StepContext) -> str:
        self.tries += 1
        if self.failing:
            raise ValueError(f"could not convert '{SECRET}' to DOUBLE\nat line 3 of the file")
        return "fine"


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Flaky:
    step = Flaky()
    chosen = [steps.Step("flaky", step, "fails until fixed"), *steps.POST_LOAD_STEPS[:1]]
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", chosen)
    return step


def _run(settings: Settings, at: datetime, **kwargs: bool) -> RunReport:
    with clock_at(at):
        return run_pipeline(settings, trigger="cli", **kwargs)


def _outcome(report: RunReport, name: str = "flaky") -> str:
    return next(s.status for s in report.steps if s.name == name)


def _query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _state(settings: Settings) -> tuple:
    sql = "SELECT consecutive_failures, first_failed_at, last_error, next_try_at, "
    sql += "last_ok_at IS NOT NULL FROM ops.step_state WHERE step = 'flaky'"
    return _query(settings, sql)[0]


def test_the_delay_doubles_from_the_first_and_is_capped() -> None:
    policy = StepPolicy(timedelta(minutes=15), timedelta(hours=24))
    delays = [policy.next_try(n, T0) - T0 for n in (1, 2, 3, 7, 8, 200)]
    assert delays == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=16),
        timedelta(hours=24),
        timedelta(hours=24),
    ]


def test_the_kept_error_has_no_quoted_values_and_one_line() -> None:
    error = error_text(ValueError(f"could not convert '{SECRET}' to DOUBLE\nline 3: {SECRET}"))
    assert error == "ValueError: could not convert '…' to DOUBLE"
    assert len(error_text(RuntimeError("x" * 5000))) == 300


def test_a_failing_step_waits_longer_after_each_failure_and_a_success_resets_it(
    tmp_path: Path, flaky: Flaky
) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    first = _run(settings, T0)
    assert _outcome(first) == "failed"
    assert _outcome(first, "freshness") == "ok"  # the steps after it still run
    assert first.status == "partial"
    failures, since, error, next_try, _ = _state(settings)
    assert (failures, error) == (1, "ValueError: could not convert '…' to DOUBLE")
    assert timedelta(minutes=14) < next_try - since <= timedelta(minutes=15)

    waiting = _run(settings, T0 + timedelta(minutes=10), force_steps=True)
    assert _outcome(waiting) == "waiting"
    assert _outcome(waiting, "freshness") == "ok"
    assert waiting.status == "partial"
    assert flaky.tries == 1

    _run(settings, T0 + timedelta(minutes=16), force_steps=True)
    assert flaky.tries == 2
    failures, since2, _, next_try, _ = _state(settings)
    assert failures == 2
    assert since2 == since  # failing since its first failure in a row
    assert next_try > T0 + timedelta(minutes=16 + 29)
    assert _outcome(_run(settings, T0 + timedelta(minutes=16 + 25), force_steps=True)) == "waiting"

    flaky.failing = False
    fixed = _run(settings, T0 + timedelta(minutes=16 + 31), force_steps=True)
    assert _outcome(fixed) == "ok"
    assert fixed.status == "ok"
    assert _state(settings) == (0, None, None, None, True)

    flaky.failing = True  # a new series starts from the first delay again
    _run(settings, T0 + timedelta(minutes=60), force_steps=True)
    failures, since, _, next_try, _ = _state(settings)
    assert failures == 1
    assert next_try - since <= timedelta(minutes=15)


def test_a_due_retry_runs_without_new_data_and_can_be_forced_earlier(
    tmp_path: Path, flaky: Flaky
) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    _run(settings, T0)
    quiet = _run(settings, T0 + timedelta(minutes=5))  # nothing new, still backing off
    assert quiet.steps == []
    assert not quiet.published
    forced = _run(settings, T0 + timedelta(minutes=6), retry_failed_steps=True)
    assert _outcome(forced) == "failed"
    assert flaky.tries == 2
    due = _run(settings, T0 + timedelta(minutes=6 + 31))  # nothing new, but its retry is due
    assert _outcome(due) == "failed"
    assert flaky.tries == 3
    assert due.published


def test_a_failing_step_shows_on_the_data_health_page_with_its_error_and_next_try(
    tmp_path: Path, flaky: Flaky
) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    _run(settings, T0)
    store = ServingStore(settings.serving_dir, settings.duckdb)
    with store.cursor() as cur:
        waiting = health.failing_steps(cur, T0 + timedelta(minutes=5))
        due = health.failing_steps(cur, T0 + timedelta(days=1))
        runs = health.recent_runs(cur, 1)
    store.close()
    assert [(s["step"], s["failures"], s["waiting"]) for s in waiting] == [("flaky", 1, True)]
    assert waiting[0]["last_error"] == "ValueError: could not convert '…' to DOUBLE"
    assert not due[0]["waiting"]
    assert runs[0]["failed_steps"] == ["flaky"]
    page = str(health_views.runs(runs, waiting))
    assert "could not convert '…' to DOUBLE" in page
    assert f"{waiting[0]['next_try_at']:%Y-%m-%d %H:%M}" in page
    assert "--retry-failed-steps" in page
    assert SECRET not in page
    assert "next run" in str(health_views.runs(runs, due))


def test_a_failing_step_is_raised_in_the_admins_queue_and_clears_when_it_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flaky: Flaky
) -> None:
    wanted = [s for s in steps.POST_LOAD_STEPS if s.name in ("freshness", "exceptions")]
    chosen = [steps.Step("flaky", flaky, "fails until fixed"), *wanted]
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", chosen)
    settings = load_settings(tmp_path)
    write_master(settings.inbox)

    def queue() -> list[tuple]:
        sql = "SELECT key, status, owner_role, detail FROM exc.queue_items "
        return _query(settings, sql + "WHERE type = 'failing_step'")

    _run(settings, T0)
    [(key, status, owner, detail)] = queue()
    assert (key, status, owner) == ("flaky", "open", "admin")
    assert json.loads(detail)["last_error"] == "ValueError: could not convert '…' to DOUBLE"
    assert SECRET not in detail
    flaky.failing = False
    _run(settings, T0 + timedelta(hours=1), force_steps=True)
    assert [row[1] for row in queue()] == ["resolved"]


def test_ingest_retry_failed_steps_runs_a_waiting_step_now(tmp_path: Path, flaky: Flaky) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    _run(settings, T0)
    args = ["--home", str(tmp_path), "ingest"]
    with clock_at(T0 + timedelta(minutes=5)):
        plain = CliRunner().invoke(main, args)
        forced = CliRunner().invoke(main, [*args, "--retry-failed-steps"])
    assert plain.exit_code == forced.exit_code == 0, plain.output + forced.output
    assert "post-load step flaky" not in plain.output
    assert "post-load step flaky: failed: ValueError" in " ".join(forced.output.split())
    assert flaky.tries == 2
