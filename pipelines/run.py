"""One pipeline run: land the inbox, run the post-load steps, publish a serving snapshot.

This is the unit of work of the scheduler, of `control-tower ingest` and of
the demo. It holds the single-writer lock for its whole duration (or runs
under a lock its caller already holds, as the scheduler process does).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from control_tower.actions.outbox import dispatch_pending
from control_tower.exceptions.outbox import retry_pending
from control_tower.landing import BatchResult, InboxSource, IngestReport, Source, land_sources
from control_tower.landing.progress import ProgressFn
from control_tower.mappings import mapping_sources
from control_tower.settings import MIB, MIN_MEMORY, Settings, clock, utc_now
from control_tower.storage import WriterLock, connect_writer
from control_tower.storage.publish import PublishReport, publish
from control_tower.storage.serving import current_snapshot, next_snapshot_path
from pipelines.backoff import (
    StepPolicy,
    error_text,
    record_failure,
    record_success,
    step_policy,
    step_states,
)
from pipelines.refresh import loaded_batches, record_refresh, run_full_reason, step_changes
from pipelines.steps import POST_LOAD_STEPS, Step, StepContext

log = logging.getLogger(__name__)


@dataclass
class StepOutcome:
    """What one post-load step did."""

    name: str
    status: str  # ok, failed, waiting (failed before and backing off: not run)
    ms: int
    summary: str = ""
    error: str | None = None
    refresh: str = ""  # "full refresh (reason)" or "delta of N batches"


@dataclass
class RunReport:
    """The outcome of one pipeline run."""

    run_id: str
    trigger: str
    started_at: datetime
    ingest: IngestReport
    steps: list[StepOutcome] = field(default_factory=list)
    snapshot: Path | None = None
    publish: PublishReport | None = None
    status: str = "ok"
    seconds: float = 0.0

    @property
    def published(self) -> bool:
        """A new serving snapshot was published by this run."""
        return self.snapshot is not None


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id."""
    now = now or clock()
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def sources(settings: Settings, inbox: Path) -> list[Source]:
    """What a run lands, in order: the inbox's canonical files, then each enabled mapping."""
    return [InboxSource(inbox), *mapping_sources(settings, inbox)]


def run_pipeline(
    settings: Settings,
    *,
    trigger: str,
    inbox: Path | None = None,
    keep: bool = False,
    lock: WriterLock | None = None,
    progress: ProgressFn | None = None,
    on_batch: Callable[[BatchResult], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    force_steps: bool = False,
    retry_failed_steps: bool = False,
    full_refresh: bool = False,
) -> RunReport:
    """Run the pipeline once. Raises WriterBusyError if another writer holds the warehouse.

    A post-load step that failed is skipped while it backs off (`pipelines.backoff`), unless
    `retry_failed_steps`, which also runs the steps when nothing new landed. The steps
    recompute what the run's batches touched, or everything (`pipelines.refresh`;
    `full_refresh` asks for it)."""
    settings.ensure_dirs()
    own_lock = lock is None
    if lock is None:
        lock = WriterLock.for_settings(settings, purpose=f"control-tower {trigger}")
        lock.acquire()
    try:
        return _run_locked(
            settings,
            trigger=trigger,
            inbox=inbox or settings.inbox,
            keep=keep,
            progress=progress,
            on_batch=on_batch,
            should_stop=should_stop,
            force_steps=force_steps or retry_failed_steps or full_refresh,
            retry_failed_steps=retry_failed_steps,
            full_refresh=full_refresh,
        )
    finally:
        if own_lock:
            lock.release()


def _run_locked(
    settings: Settings,
    *,
    trigger: str,
    inbox: Path,
    keep: bool,
    progress: ProgressFn | None,
    on_batch: Callable[[BatchResult], None] | None,
    should_stop: Callable[[], bool],
    force_steps: bool,
    retry_failed_steps: bool,
    full_refresh: bool,
) -> RunReport:
    t0 = time.perf_counter()
    started = clock()
    run_id = new_run_id(started)
    con = connect_writer(settings.warehouse_path, settings.duckdb)
    try:
        ingest = land_sources(
            con,
            sources(settings, inbox),
            run_id=run_id,
            archive=settings.archive,
            rejected=settings.rejected,
            keep=keep,
            progress=progress,
            on_batch=on_batch,
            should_stop=should_stop,
        )
        report = RunReport(run_id, trigger, started, ingest)
        _retry_outbox(settings)
        never_published = current_snapshot(settings.serving_dir) is None
        changed = ingest.changed or ingest.interrupted_before > 0
        states = step_states(con)
        # A failed step whose back-off is over is tried again even when nothing new landed.
        retry_due = any(s.failures and not s.waiting(utc_now()) for s in states.values())
        if not (changed or force_steps or never_published or retry_due):
            report.seconds = time.perf_counter() - t0
            log.info("run %s: nothing new in the inbox", run_id)
            return report
        ctx = StepContext(settings=settings, con=con, run_id=run_id, ingest=ingest)
        policy = step_policy(settings)
        run_reason = run_full_reason(
            ingest, never_published=never_published, requested=full_refresh
        )
        delta = loaded_batches(ingest)
        for step in POST_LOAD_STEPS:
            state = states.get(step.name)
            if state is not None and state.waiting(utc_now()) and not retry_failed_steps:
                report.steps.append(
                    StepOutcome(
                        step.name,
                        "waiting",
                        0,
                        f"not run: failed {state.failures} time(s) in a row, next try after "
                        f"{state.next_try_at:%Y-%m-%d %H:%M} UTC",
                        error=state.last_error,
                    )
                )
                continue
            if progress:
                progress(step.name, "post-load step", None)
            changes = step_changes(
                con,
                step.name,
                delta,
                run_reason=run_reason,
                failed_before=state is not None and state.failures > 0,
                as_of=ctx.as_of,
                now=utc_now(),
                full_every=timedelta(hours=settings.full_refresh_hours),
            )
            report.steps.append(_run_step(step, replace(ctx, changes=changes), policy))
        failed_batches = ingest.count("failed")
        if any(s.status != "ok" for s in report.steps) or failed_batches:
            report.status = "partial"
        if ingest.stopped_early:
            report.status = "stopped"
        report.snapshot = next_snapshot_path(settings.serving_dir)
        _record_run(con, report)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    report.publish = publish(
        settings.warehouse_path,
        settings.serving_dir,
        keep=settings.keep_snapshots,
        final=report.snapshot,
        resources=settings.duckdb,
    )
    report.seconds = time.perf_counter() - t0
    return report


@contextmanager
def duckdb_memory_share(
    con: duckdb.DuckDBPyConnection, settings: Settings, share: float
) -> Iterator[None]:
    """Within the block, DuckDB's memory limit on `con` is `share` of the configured one
    (evicting cached blocks above it); restored after, whatever happens."""
    if share >= 1:
        yield
        return
    limit = settings.duckdb.memory_bytes
    con.execute(f"SET memory_limit = '{max(int(limit * share), MIN_MEMORY) // MIB}MiB'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{limit // MIB}MiB'")


def _run_step(step: Step, ctx: StepContext, policy: StepPolicy) -> StepOutcome:
    """Run one post-load step; a failure is rolled back, logged and counted for its back-off."""
    con, s0 = ctx.con, time.perf_counter()
    refresh = ctx.changes.describe()
    try:
        with duckdb_memory_share(con, ctx.settings, step.duckdb_memory_share):
            summary = step.run(ctx)
    except Exception as exc:  # a failing step is recorded; the others still run
        try:
            con.execute("ROLLBACK")
        except Exception:  # no transaction was open
            log.debug("no open transaction after step %s failed", step.name)
        log.exception("post-load step %s failed", step.name)
        error = error_text(exc)
        state = record_failure(con, step.name, error, now=utc_now(), policy=policy)
        ms = round((time.perf_counter() - s0) * 1000)
        retry = f"next try after {state.next_try_at:%Y-%m-%d %H:%M} UTC"
        return StepOutcome(step.name, "failed", ms, retry, error=error, refresh=refresh)
    record_success(con, step.name, now=utc_now())
    record_refresh(con, step.name, ctx.changes, as_of=ctx.as_of, now=utc_now())
    ms = round((time.perf_counter() - s0) * 1000)
    return StepOutcome(step.name, "ok", ms, summary, refresh=refresh)


def _retry_outbox(settings: Settings) -> None:
    """Every run, even one with nothing new, retries the notifications still due for delivery
    and delivers the approved action requests (new ones, and retries that are due)."""
    for what, deliver in (("notification", retry_pending), ("action", dispatch_pending)):
        try:
            outcome = deliver(settings)
        except Exception:  # the outbox never stops a run; it is tried again by the next one
            log.exception("delivering the %s outbox failed", what)
            continue
        log.info(outcome.summary())


def _record_run(con: duckdb.DuckDBPyConnection, report: RunReport) -> None:
    ing = report.ingest
    steps = json.dumps(
        [
            {
                "name": s.name,
                "status": s.status,
                "ms": s.ms,
                "summary": s.summary,
                "error": s.error,
                "refresh": s.refresh,
            }
            for s in report.steps
        ]
    )
    con.execute(
        "INSERT INTO ops.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.run_id,
            report.trigger,
            report.status,
            _naive(report.started_at),
            _naive(clock()),
            len(ing.batches),
            ing.count("loaded"),
            ing.count("skipped_duplicate"),
            ing.count("rejected"),
            ing.rows_loaded,
            ing.rows_quarantined,
            steps,
            report.snapshot.name if report.snapshot else None,
            None,
        ],
    )
