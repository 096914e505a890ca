"""The scheduler process: single instance, whole batches for readers, clean SIGTERM shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from control_tower.settings import load_settings
from control_tower.storage import ServingStore, WriterLock
from control_tower.storage.serving import current_snapshot
from pipelines.schedule import PIPELINE_JOB_ID
from tests.support.tiny_inbox import write_master, write_orders

pytestmark = pytest.mark.slow
LINES_PER_FILE = 50


def _cli(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "control_tower", "--home", str(home), *args]


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def scheduler(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    write_master(settings.inbox)
    proc = subprocess.Popen(
        _cli(tmp_path, "scheduler", "--every", "0.01"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait(lambda: current_snapshot(settings.serving_dir) is not None, 60, "the first publish")
        yield settings, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _sales_invariant(store: ServingStore) -> int:
    """Rows visible in a snapshot always equal the rows of its loaded batches: no half batch."""
    with store.cursor() as cur:
        rows = cur.execute("SELECT count(*) FROM sales_order_lines").fetchone()[0]
        batches = cur.execute(
            "SELECT coalesce(sum(rows_inserted), 0) FROM ops.batches "
            "WHERE table_name = 'sales_order_lines' AND status = 'loaded'"
        ).fetchone()[0]
    assert rows == batches
    assert rows % LINES_PER_FILE == 0
    return int(rows)


def test_scheduler_is_single_instance_serves_whole_batches_and_stops_on_sigterm(
    scheduler,  # type: ignore[no-untyped-def]
) -> None:
    settings, proc = scheduler

    # A second scheduler refuses to start and says why.
    second = subprocess.run(
        _cli(settings.home, "scheduler"), capture_output=True, text=True, timeout=60
    )
    assert second.returncode != 0
    assert "already being written by control-tower scheduler" in second.stderr + second.stdout

    # Readers only ever see whole batches while files arrive and snapshots are published.
    store = ServingStore(settings.serving_dir)
    files = 8
    seen: set[int] = set()
    for n in range(files):
        write_orders(settings.inbox, n, LINES_PER_FILE)
        deadline = time.monotonic() + 0.4
        while time.monotonic() < deadline:
            seen.add(_sales_invariant(store))

    def all_landed() -> bool:
        rows = _sales_invariant(store)
        seen.add(rows)
        return rows == files * LINES_PER_FILE

    _wait(all_landed, 120, "every file to land")
    assert len(seen) > 1  # the reader really watched the data change
    store.close()

    # The job table lives in the app database, configured not to overlap or pile up.
    jobstore = SQLAlchemyJobStore(url=settings.app_db_url, tablename="scheduler_jobs")
    job = jobstore.lookup_job(PIPELINE_JOB_ID)
    assert job is not None
    assert job.max_instances == 1
    assert job.coalesce is True

    # SIGTERM: clean exit, lock released.
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stdout.read() if proc.stdout else ""
    with WriterLock(settings.writer_lock_path, purpose="test"):
        pass
    assert (settings.serving_dir / "SCHEDULER.json").exists()
