"""The scheduler process: APScheduler 3 with its job store in the app database.

One instance only: the scheduler holds the warehouse writer lock for its
whole life, so a second scheduler (or an `ingest` while it runs) refuses to
start and says who holds it. Jobs never overlap (`max_instances=1`), missed
runs are coalesced, and SIGTERM or SIGINT stops it cleanly: the run in
progress finishes the file it is landing, publishes, and the process exits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from control_tower.ops.health import HEARTBEAT_FILE
from control_tower.settings import Settings, clock, load_settings
from control_tower.storage import WriterLock
from pipelines.run import RunReport, run_pipeline

log = logging.getLogger(__name__)

PIPELINE_JOB_ID = "pipeline_run"
RETRAIN_JOB_ID = "risk_retrain"

# The writer lock this process holds while it is the scheduler, and the stop flag
# that SIGTERM sets. Module state because APScheduler calls jobs by import path.
_process_lock: WriterLock | None = None
_scheduler: BaseScheduler | None = None
_stop = threading.Event()


def scheduled_run(home: str) -> None:
    """The pipeline job: one run under the lock held by this scheduler process."""
    settings = load_settings(home)
    if _process_lock is None or not _process_lock.held:
        raise RuntimeError(
            "scheduled_run must run inside the scheduler process that holds the lock"
        )
    write_heartbeat(settings, None, running_since=clock())
    report = run_pipeline(
        settings, trigger="scheduler", lock=_process_lock, should_stop=_stop.is_set
    )
    job = _scheduler.get_job(PIPELINE_JOB_ID) if _scheduler is not None else None
    write_heartbeat(settings, report, next_run=job.next_run_time if job else None)
    log.info(
        "run %s: %s, %d batches, %d rows loaded, %d quarantined, %.1fs",
        report.run_id,
        report.status,
        len(report.ingest.batches),
        report.ingest.rows_loaded,
        report.ingest.rows_quarantined,
        report.seconds,
    )


def scheduled_retrain(home: str) -> None:
    """The weekly job: retrain the risk models on the latest history (under the writer lock)."""
    from control_tower.risk.model import MODELS, InsufficientHistory
    from control_tower.risk.store import sync_models
    from control_tower.risk.training import train_model
    from control_tower.storage import connect_writer

    settings = load_settings(home)
    if _process_lock is None or not _process_lock.held:
        raise RuntimeError(
            "scheduled_retrain must run inside the scheduler process that holds the lock"
        )
    con = connect_writer(settings.warehouse_path)
    try:
        for model in MODELS:
            try:
                card = train_model(con, settings.home / "models", model)
                log.info("retrained %s: %s", model, card["version"])
            except InsufficientHistory as exc:
                log.warning("%s not retrained: %s", model, exc)
        sync_models(con, settings.home / "models")
    finally:
        con.close()


_LAST_RUN_KEYS = ("last_run_id", "last_run_status", "last_run_at", "last_run_batches")


def write_heartbeat(
    settings: Settings,
    report: RunReport | None,
    next_run: datetime | None = None,
    running_since: datetime | None = None,
) -> None:
    """Tell readers the scheduler is alive: its last run, a run in progress, its next run."""
    path = settings.serving_dir / HEARTBEAT_FILE
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = {}
    data: dict[str, object] = {}
    if report is None:  # keep what the last finished run said
        data.update({k: previous[k] for k in _LAST_RUN_KEYS if k in previous})
    else:
        data.update(
            last_run_id=report.run_id,
            last_run_status=report.status,
            last_run_at=report.started_at.isoformat(timespec="seconds"),
            last_run_batches=len(report.ingest.batches),
        )
    data.update(
        pid=os.getpid(),
        written_at=clock().isoformat(timespec="seconds"),
        every_minutes=settings.ingest_every_minutes,
    )
    if running_since is not None:
        data["running_since"] = running_since.astimezone(UTC).isoformat(timespec="seconds")
    if next_run is not None:
        data["next_run_at"] = next_run.astimezone(UTC).isoformat(timespec="seconds")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def build_scheduler(
    settings: Settings,
    *,
    background: bool,
    every_minutes: float | None = None,
    first_run: datetime | None = None,
) -> BaseScheduler:
    """The scheduler with its job table: the pipeline every N minutes, risk retraining weekly."""
    jobstores = {"default": SQLAlchemyJobStore(url=settings.app_db_url, tablename="scheduler_jobs")}
    executors = {"default": ThreadPoolExecutor(max_workers=1)}
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(jobstores=jobstores, executors=executors, job_defaults=defaults, timezone=UTC)
    minutes = every_minutes or settings.ingest_every_minutes
    global _scheduler
    _scheduler = scheduler
    scheduler.add_job(
        "pipelines.schedule:scheduled_run",
        trigger="interval",
        minutes=minutes,
        id=PIPELINE_JOB_ID,
        name=f"land inbox and refresh (every {minutes:g} min)",
        kwargs={"home": str(settings.home)},
        replace_existing=True,
        next_run_time=first_run or datetime.now(UTC),
    )
    # New models are scored from the next pipeline run; a missing model is trained by that run.
    scheduler.add_job(
        "pipelines.schedule:scheduled_retrain",
        trigger="cron",
        day_of_week="sun",
        hour=3,
        id=RETRAIN_JOB_ID,
        name="retrain the risk models (weekly, Sunday 03:00 UTC)",
        kwargs={"home": str(settings.home)},
        replace_existing=True,
    )
    return scheduler


def hold_writer_lock(settings: Settings, purpose: str) -> WriterLock:
    """Become the warehouse's writer for the life of this process (raises WriterBusyError)."""
    global _process_lock
    lock = WriterLock(settings.writer_lock_path, purpose=purpose)
    lock.acquire()
    _process_lock = lock
    _stop.clear()
    return lock


def release_writer_lock() -> None:
    """Give up the writer role (at shutdown)."""
    global _process_lock
    if _process_lock is not None:
        _process_lock.release()
        _process_lock = None


def request_stop() -> None:
    """Ask a run in progress to stop after the file it is landing."""
    _stop.set()


def run_scheduler(settings: Settings, *, every_minutes: float | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT."""
    settings.ensure_dirs()
    hold_writer_lock(settings, "control-tower scheduler")
    scheduler = build_scheduler(settings, background=False, every_minutes=every_minutes)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping after the current file", signal.Signals(signum).name)
        request_stop()
        # shutdown(wait=True) waits for the run in progress; not from inside the signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_heartbeat(settings, None)
    try:
        scheduler.start()  # blocks until shutdown has finished
    finally:
        release_writer_lock()
        log.info("scheduler stopped")
