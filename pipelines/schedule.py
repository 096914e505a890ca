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
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from control_tower.landing.progress import ProgressFn
from control_tower.mappings import MappingError
from control_tower.ops.health import HEARTBEAT_FILE
from control_tower.settings import Settings, clock
from control_tower.storage import WriterLock
from pipelines.run import RunReport, run_pipeline

log = logging.getLogger(__name__)

PIPELINE_JOB_ID = "pipeline_run"
RETRAIN_JOB_ID = "risk_retrain"
NOTIFY_JOB_ID = "notifications"
NOTIFY_EVERY_MINUTES = 15


def scheduled_run() -> None:
    """The pipeline job as stored in the job table; it runs on the process's `SchedulerService`."""
    raise RuntimeError("scheduled_run must run inside the scheduler process that holds the lock")


def scheduled_retrain() -> None:
    """The retraining job as stored in the job table; it runs on the process's `SchedulerService`."""
    raise RuntimeError(
        "scheduled_retrain must run inside the scheduler process that holds the lock"
    )


def scheduled_notifications() -> None:
    """The notifications job as stored in the job table; it runs on the `SchedulerService`."""
    raise RuntimeError(
        "scheduled_notifications must run inside the scheduler process that holds the lock"
    )


class _ServiceExecutor(ThreadPoolExecutor):
    """One worker thread that runs each stored job on the service owning this process's lock.

    The job table lives in the app database, where a job is stored by import
    path; the service's own methods are what actually run, so the lock and
    the stop flag stay with the service instead of in module globals.
    """

    def __init__(self, jobs: dict[str, Callable[[], None]], stopping: Callable[[], bool]) -> None:
        super().__init__(max_workers=1)
        self._jobs = jobs
        self._stopping = stopping

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._stopping():  # shutting down: no new run starts
            return
        job.func = self._jobs[job.id]
        job.args, job.kwargs = (), {}
        super()._do_submit_job(job, run_times)


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


class SchedulerService:
    """The warehouse's writer for the life of its owner: the lock, the stop flag and the jobs.

    `control-tower scheduler` runs one in the foreground (`serve`); the demo
    holds one while it lands, serves and schedules in the background. Use it
    as a context manager, or call `hold_writer_lock` and `close` yourself.
    """

    def __init__(self, settings: Settings, purpose: str) -> None:
        self.settings = settings
        self.purpose = purpose
        self._lock: WriterLock | None = None
        self._stop = threading.Event()
        self._scheduler: BaseScheduler | None = None
        self._jobstore: SQLAlchemyJobStore | None = None

    def __enter__(self) -> SchedulerService:
        self.hold_writer_lock()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def lock(self) -> WriterLock:
        """The writer lock this service holds (raises when it holds none)."""
        if self._lock is None or not self._lock.held:
            raise RuntimeError(
                f"{self.purpose} must hold the warehouse writer lock to run the pipeline"
            )
        return self._lock

    def hold_writer_lock(self) -> WriterLock:
        """Become the warehouse's writer (raises WriterBusyError, naming the holder)."""
        lock = WriterLock.for_settings(self.settings, purpose=self.purpose)
        lock.acquire()
        self._lock = lock
        self._stop.clear()
        return lock

    def release_writer_lock(self) -> None:
        """Give up the writer role."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def request_stop(self) -> None:
        """Ask a run in progress to stop after the file it is landing."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """A stop was requested."""
        return self._stop.is_set()

    def close(self) -> None:
        """Stop: the run in progress finishes its file and publishes, then the lock is released."""
        self.request_stop()
        try:
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.shutdown(wait=True)
        finally:
            self.release_writer_lock()

    def run_pipeline(self, *, trigger: str, progress: ProgressFn | None = None) -> RunReport:
        """One pipeline run under this service's lock; it stops between files on `request_stop`."""
        return run_pipeline(
            self.settings,
            trigger=trigger,
            lock=self.lock,
            progress=progress,
            should_stop=self._stop.is_set,
        )

    def scheduled_run(self) -> None:
        """The pipeline job: one run, then the heartbeat with the next run time."""
        self.lock  # noqa: B018 - refuses to run without the lock
        write_heartbeat(self.settings, None, running_since=clock())
        try:
            report = self.run_pipeline(trigger="scheduler")
        except MappingError as exc:  # nothing landed; the next run tries again once it is fixed
            log.error(
                "run not started: source mapping %s, key %s: %s", exc.path, exc.key, exc.reason
            )
            write_heartbeat(self.settings, None, next_run=self._next_run())
            return
        write_heartbeat(self.settings, report, next_run=self._next_run())
        log.info(
            "run %s: %s, %d batches, %d rows loaded, %d quarantined, %.1fs",
            report.run_id,
            report.status,
            len(report.ingest.batches),
            report.ingest.rows_loaded,
            report.ingest.rows_quarantined,
            report.seconds,
        )

    def _next_run(self) -> datetime | None:
        # Read from the job store itself: the scheduler's own lookup takes the lock that
        # `shutdown(wait=True)` holds while it waits for this very job to end.
        job = self._jobstore.lookup_job(PIPELINE_JOB_ID) if self._jobstore is not None else None
        return job.next_run_time if job is not None else None

    def scheduled_retrain(self) -> None:
        """The weekly job: retrain the risk models on the latest history (under the lock)."""
        from control_tower.risk.model import MODELS, InsufficientHistory
        from control_tower.risk.store import sync_models
        from control_tower.risk.training import train_model
        from control_tower.storage import connect_writer

        self.lock  # noqa: B018 - refuses to run without the lock
        models = self.settings.models_dir
        con = connect_writer(self.settings.warehouse_path, self.settings.duckdb)
        try:
            for model in MODELS:
                try:
                    card = train_model(con, models, model)
                    log.info("retrained %s: %s", model, card["version"])
                except InsufficientHistory as exc:
                    log.warning("%s not retrained: %s", model, exc)
            sync_models(con, models)
        finally:
            con.close()

    def scheduled_notifications(self) -> None:
        """Every quarter hour: escalate what has waited past its SLA (also when no new data
        arrives, so no pipeline step runs), then send the digests whose hour has come."""
        from control_tower.config_files import ConfigError
        from control_tower.notifications.service import run_digests, run_escalation

        try:
            log.info(run_escalation(self.settings).summary())
            log.info(run_digests(self.settings).summary())
        except ConfigError as exc:
            log.error("notifications not sent: %s", exc)

    def build_scheduler(
        self,
        *,
        background: bool,
        every_minutes: float | None = None,
        first_run: datetime | None = None,
    ) -> BaseScheduler:
        """The scheduler with its job table: the pipeline every N minutes, risk retraining weekly,
        escalations and digests every quarter hour."""
        settings = self.settings
        self._jobstore = SQLAlchemyJobStore(url=settings.app_db_url, tablename="scheduler_jobs")
        executor = _ServiceExecutor(
            {
                PIPELINE_JOB_ID: self.scheduled_run,
                RETRAIN_JOB_ID: self.scheduled_retrain,
                NOTIFY_JOB_ID: self.scheduled_notifications,
            },
            self._stop.is_set,
        )
        defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        cls = BackgroundScheduler if background else BlockingScheduler
        scheduler = cls(
            jobstores={"default": self._jobstore},
            executors={"default": executor},
            job_defaults=defaults,
            timezone=UTC,
        )
        minutes = every_minutes or settings.ingest_every_minutes
        scheduler.add_job(
            "pipelines.schedule:scheduled_run",
            trigger="interval",
            minutes=minutes,
            id=PIPELINE_JOB_ID,
            name=f"land inbox and refresh (every {minutes:g} min)",
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
            replace_existing=True,
        )
        scheduler.add_job(
            "pipelines.schedule:scheduled_notifications",
            trigger="interval",
            minutes=NOTIFY_EVERY_MINUTES,
            id=NOTIFY_JOB_ID,
            name=f"escalations and due digests (every {NOTIFY_EVERY_MINUTES} min)",
            replace_existing=True,
        )
        self._scheduler = scheduler
        return scheduler

    def serve(self, *, every_minutes: float | None = None) -> None:
        """Run the scheduler in the foreground until SIGTERM or SIGINT."""
        self.settings.ensure_dirs()
        with self:
            scheduler = self.build_scheduler(background=False, every_minutes=every_minutes)

            def stop(signum: int, _frame: FrameType | None) -> None:
                log.info(
                    "received %s: stopping after the current file", signal.Signals(signum).name
                )
                self.request_stop()
                # shutdown(wait=True) waits for the run in progress; not inside the signal handler.
                threading.Thread(
                    target=scheduler.shutdown, kwargs={"wait": True}, daemon=True
                ).start()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            write_heartbeat(self.settings, None)
            scheduler.start()  # blocks until shutdown has finished
        log.info("scheduler stopped")
