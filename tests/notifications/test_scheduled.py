"""The scheduler's notifications job: escalations and due digests every quarter hour, a bad
file logged with its line instead of failing the job."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import unread_count
from control_tower.settings import Settings
from pipelines.schedule import NOTIFY_JOB_ID, SchedulerService
from tests.support.notification_cases import add_item, write


def test_the_job_is_scheduled_and_escalates(
    settings: Settings, store: ExceptionStore, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ensure_dirs()
    service = SchedulerService(settings, "control-tower test")
    scheduler = service.build_scheduler(background=True)
    job = scheduler.get_job(NOTIFY_JOB_ID)
    assert job is not None
    assert job.trigger.interval == timedelta(minutes=15)
    add_item(store)  # began on 2026-03-02: long past its 24 h SLA now
    write(settings.escalation_path, "policies:\n  '*':\n    to_role: planner\n")
    service.scheduled_notifications()
    assert unread_count(store, "pat") == 1
    write(settings.escalation_path, "policies:\n  '*':\n    to_role: boss\n")
    with caplog.at_level(logging.ERROR):
        service.scheduled_notifications()
    assert f"{settings.escalation_path}, line 3: to_role 'boss' is not a role" in caplog.text
