"""The queue mirrored into the warehouse (exc.queue_items), and detection as a post-load step."""

from __future__ import annotations

import json
from pathlib import Path

from control_tower.exceptions.detect import refresh_exceptions
from control_tower.exceptions.workflow import act
from control_tower.storage import ServingStore
from tests.support.exception_cases import detect_at, items, later, settings, store, writer

TASK = "E1|2026-02|T2"


def mirrored(home: Path) -> dict[tuple[str, str], dict]:
    with writer(home) as con:
        cur = con.execute("SELECT * FROM exc.queue_items")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return {(r["type"], r["key"]): r for r in rows}


def test_mirror_holds_every_item_with_its_status_and_times(home: Path) -> None:
    detect_at(home)
    task_id = items(home, "overdue_close_task")[TASK].id
    with store(home) as s:
        act(s, task_id, "acknowledge", user="bob", now=later(1))
    detect_at(home, later(2))
    rows = mirrored(home)
    assert len(rows) == 23 + 1  # wave W2 turned late by +2 h
    task = rows[("overdue_close_task", TASK)]
    assert task["id"] == str(task_id)
    assert (task["status"], task["owner_role"], task["sla_hours"]) == (
        "acknowledged",
        "finance",
        24,
    )
    assert (task["last_action_at"], task["last_seen_at"], task["times_seen"]) == (
        later(1),
        later(2),
        2,
    )
    assert json.loads(task["detail"])["owner"] == "bob"


def test_pipeline_runs_detection_and_publishes_the_queue(landed: Path) -> None:
    """The session fixture landed the DELIVERY with the real clock: the step ran and published."""
    with ServingStore(settings(landed).serving_dir).cursor() as cur:
        steps = json.loads(cur.execute("SELECT steps FROM ops.runs").fetchone()[0])
        count = cur.execute("SELECT count(*) FROM exc.queue_items").fetchone()[0]
    step = next(s for s in steps if s["name"] == "exceptions")
    assert step["status"] == "ok", step
    alerts = next(s for s in steps if s["name"] == "alerts")
    assert (alerts["status"], alerts["summary"]) == (
        "ok",
        "0 alert rules (no scopes): 0 fired, 0 re-raised, 0 resolved",
    )
    assert count > 0
    assert count == len(items(landed))


def test_detection_runs_on_a_connection_left_with_an_unread_result(home: Path) -> None:
    """The pipeline's steps share one connection; one that stops reading a result after its
    first row (`fetchone()`) does not keep the next step from copying the queue."""
    with writer(home) as con:
        con.execute("SELECT * FROM range(10000)").fetchone()
        report = refresh_exceptions(
            con, settings(home).app_db_url, as_of=later(0).date(), now=later(0)
        )
    assert report.failed == {}
    assert mirrored(home)
