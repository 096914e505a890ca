"""Each post-load step recomputes what the run's batches touched, or everything, and says why:
the first run, a new as-of day, the periodic refresh, a failure before, an interrupted run, or
an operator's `--full-refresh`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from control_tower.settings import Settings, load_settings
from control_tower.storage.changes import Changes
from pipelines import steps
from pipelines.run import RunReport, run_pipeline
from tests.support.clock import clock_at
from tests.support.tiny_inbox import write_master, write_orders

T0 = datetime(2026, 3, 16, 8, 0)


class Recorder:
    """A step that keeps the changes it was given and can be told to fail."""

    def __init__(self) -> None:
        self.seen: list[Changes] = []
        self.failing = False

    def __call__(self, ctx: steps.StepContext) -> str:
        self.seen.append(ctx.changes)
        if self.failing:
            raise RuntimeError("broken")
        return "recorded"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    step = Recorder()
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", [steps.Step("rec", step, "records")])
    return step


def _run(settings: Settings, at: datetime, **kwargs: bool) -> RunReport:
    with clock_at(at):
        return run_pipeline(settings, trigger="cli", **kwargs)


def _batch_ids(settings: Settings, table: str) -> list[int]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        sql = "SELECT batch_id FROM ops.batches WHERE table_name = ? AND status = 'loaded'"
        return sorted(r[0] for r in con.execute(sql + " ORDER BY batch_id", [table]).fetchall())
    finally:
        con.close()


def test_a_delta_run_gets_its_own_batches_and_a_new_day_recomputes_everything(
    tmp_path: Path, recorder: Recorder
) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    first = _run(settings, T0)
    assert recorder.seen[-1].full_reason == "first publish"
    assert first.steps[0].refresh == "full refresh (first publish)"

    write_orders(settings.inbox, 1, 3)
    delta = _run(settings, T0 + timedelta(hours=1))
    changes = recorder.seen[-1]
    assert not changes.full
    assert changes.tables() == {"sales_order_lines"}
    assert list(changes.batch_ids("sales_order_lines")) == _batch_ids(settings, "sales_order_lines")
    assert changes.rows_sql("items") == "FALSE"
    assert changes.rows_sql("sales_order_lines", "l").startswith("l._batch_id IN (")
    assert delta.steps[0].refresh == "delta of 1 batch"

    write_orders(settings.inbox, 2, 3)
    _run(settings, T0 + timedelta(days=1))
    assert recorder.seen[-1].full_reason == "new as-of day 2026-03-17"

    write_orders(settings.inbox, 3, 3)
    _run(settings, T0 + timedelta(days=1, hours=1))
    assert not recorder.seen[-1].full


def test_the_periodic_refresh_a_failure_and_an_operator_make_it_full(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_FULL_REFRESH_HOURS", "2")
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    _run(settings, T0)
    write_orders(settings.inbox, 1, 2)
    _run(settings, T0 + timedelta(hours=1))
    assert not recorder.seen[-1].full
    write_orders(settings.inbox, 2, 2)
    _run(settings, T0 + timedelta(hours=2, minutes=5))
    assert recorder.seen[-1].full_reason == "periodic full refresh"

    recorder.failing = True
    write_orders(settings.inbox, 3, 2)
    _run(settings, T0 + timedelta(hours=3))
    assert not recorder.seen[-1].full  # this try was a delta, and it failed
    recorder.failing = False
    _run(settings, T0 + timedelta(hours=3, minutes=30), retry_failed_steps=True)
    assert recorder.seen[-1].full_reason == "the step failed before"

    _run(settings, T0 + timedelta(hours=3, minutes=40), full_refresh=True)
    assert recorder.seen[-1].full_reason == "requested"
