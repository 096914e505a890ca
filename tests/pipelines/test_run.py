"""One pipeline run: land, post-load steps, run record, publish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from control_tower.settings import load_settings
from control_tower.storage import ServingStore, WriterBusyError, WriterLock
from pipelines.run import run_pipeline
from tests.support.tiny_inbox import write_master, write_orders


def test_a_run_lands_the_inbox_records_itself_and_publishes(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    write_orders(settings.inbox, 1, lines=10)
    report = run_pipeline(settings, trigger="cli")
    assert report.ingest.count("loaded") == 4
    assert report.ingest.rows_loaded == 2 + 2 + 1 + 10
    assert [s.name for s in report.steps] == [
        "freshness",
        "money",
        "risk",
        "actions",
        "exceptions",
        "lake",
        "kpis",
        "alerts",
        "escalation",
    ]
    assert all(s.status == "ok" for s in report.steps), report.steps
    assert report.snapshot is not None
    assert report.snapshot.exists()
    # Landed files moved to the archive; the inbox is empty again.
    assert not any(p.is_file() for p in settings.inbox.rglob("*"))
    store = ServingStore(settings.serving_dir)
    with store.cursor() as cur:
        run = cur.execute(
            "SELECT run_id, status, batches_loaded, steps, snapshot FROM ops.runs"
        ).fetchall()
        fresh = cur.execute(
            "SELECT row_count, batches_loaded FROM ops.table_freshness WHERE table_name = 'sales_order_lines'"
        ).fetchone()
    store.close()
    assert run[0][0] == report.run_id
    assert run[0][1:3] == ("ok", 4)
    assert json.loads(run[0][3])[0]["status"] == "ok"
    assert run[0][4] == report.snapshot.name
    assert fresh == (10, 1)


def test_a_run_with_nothing_new_does_not_publish_again(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    first = run_pipeline(settings, trigger="cli")
    second = run_pipeline(settings, trigger="cli")
    assert first.published
    assert second.ingest.batches == []
    assert not second.published
    assert sorted(p.name for p in settings.serving_dir.glob("snapshot-*")) == [first.snapshot.name]


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    with (
        WriterLock(settings.writer_lock_path, purpose="control-tower scheduler"),
        pytest.raises(WriterBusyError, match=r"control-tower scheduler \(pid \d+"),
    ):
        run_pipeline(settings, trigger="cli")


def test_a_failing_post_load_step_is_recorded_and_the_run_still_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import steps

    def broken(_ctx: steps.StepContext) -> str:
        raise ValueError("KPI definition fill_rate cannot compile")

    monkeypatch.setattr(
        steps, "POST_LOAD_STEPS", [steps.Step("broken", broken, "fails"), *steps.POST_LOAD_STEPS]
    )
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", steps.POST_LOAD_STEPS)
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    report = run_pipeline(settings, trigger="cli")
    assert report.status == "partial"
    assert report.steps[0].status == "failed"
    assert "cannot compile" in (report.steps[0].error or "")
    assert report.steps[1].status == "ok"
    assert report.published
