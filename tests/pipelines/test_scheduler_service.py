"""The scheduler service owns its lock and stop flag, and shuts down while a run is in progress."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_tower.landing import IngestReport
from control_tower.settings import load_settings
from control_tower.storage import WriterBusyError, WriterLock
from pipelines.run import RunReport
from pipelines.schedule import SchedulerService


def test_the_service_holds_the_lock_until_closed(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    service = SchedulerService(settings, "control-tower test")
    with pytest.raises(RuntimeError, match="must hold the warehouse writer lock"):
        service.scheduled_run()
    with service:
        assert not service.stopping
        with pytest.raises(WriterBusyError, match="control-tower test"):
            WriterLock(settings.writer_lock_path, purpose="other").acquire()
    assert service.stopping
    with WriterLock(settings.writer_lock_path, purpose="other"):
        pass


def test_closing_during_a_scheduled_run_waits_for_it_and_returns(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    started, release = threading.Event(), threading.Event()
    service = SchedulerService(settings, "control-tower test")

    def slow_run(*, trigger: str, progress: object = None) -> RunReport:
        started.set()
        release.wait(10)
        assert service.stopping  # the run sees the stop request (it stops between files)
        return RunReport("run-1", trigger, datetime.now(UTC), IngestReport())

    service.run_pipeline = slow_run  # type: ignore[method-assign]
    service.hold_writer_lock()
    service.build_scheduler(background=True, every_minutes=60).start()
    assert started.wait(30), "the first scheduled run did not start"
    closer = threading.Thread(target=service.close)
    closer.start()
    while not service.stopping:
        time.sleep(0.01)
    time.sleep(0.5)  # shutdown now waits for the run, holding the scheduler's job store lock
    release.set()
    closer.join(30)
    # The run ends by reading its next run time while shutdown waits for it: no deadlock.
    assert not closer.is_alive(), "shutdown did not return while a run was finishing"
    beat = json.loads((settings.serving_dir / "SCHEDULER.json").read_text())
    assert beat["last_run_id"] == "run-1"
    assert "next_run_at" in beat
    with WriterLock(settings.writer_lock_path, purpose="other"):
        pass


def test_a_broken_source_mapping_is_one_logged_line_not_a_failed_job(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "acme.yml").write_text("source: {files: {folder: acme}}\n")
    (tmp_path / "sources.yml").write_text("enabled: [acme]\n")
    with SchedulerService(settings, "control-tower test") as service:
        service.scheduled_run()
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage().startswith("run not started: source mapping ")
    assert "key (top level): missing required key(s) targets" in record.getMessage()
    assert record.exc_info is None
