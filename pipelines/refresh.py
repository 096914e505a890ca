"""Full or incremental: what each post-load step of a run recomputes.

A run that lands a delta hands each step the batches it loaded
(`control_tower.storage.changes.Changes`), and the step recomputes only what
they touched. A step recomputes everything instead when:
- it has never run (no record in `ops.step_refresh`), or its last try failed
  (the batches of the failed runs were never applied to its tables);
- the run's as-of day is not the day of its last full refresh (values that
  age with the day, such as open backlog, move for every key once a day);
- its last full refresh is older than `CONTROL_TOWER_FULL_REFRESH_HOURS` (24):
  the periodic refresh that catches any drift;
- nothing was published yet, a killed run left interrupted batches, or an
  operator asked for it (`control-tower ingest --full-refresh`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from control_tower.landing import IngestReport
from control_tower.storage.changes import Changes


def run_full_reason(ingest: IngestReport, *, never_published: bool, requested: bool) -> str | None:
    """Why a whole run recomputes everything (None: the steps may go incremental)."""
    if requested:
        return "requested"
    if never_published:
        return "first publish"
    if ingest.interrupted_before:
        return "an earlier run was interrupted"
    return None


def loaded_batches(ingest: IngestReport) -> Changes:
    """The incremental change of a run: every batch it loaded, by table."""
    return Changes.of_batches(
        (b.table, b.batch_id) for b in ingest.batches if b.status == "loaded" and b.table
    )


def step_changes(
    con: duckdb.DuckDBPyConnection,
    step: str,
    delta: Changes,
    *,
    run_reason: str | None,
    failed_before: bool,
    as_of: date,
    now: datetime,
    full_every: timedelta,
) -> Changes:
    """What `step` recomputes in this run: `delta`, or a full refresh with its reason."""
    if run_reason:
        return Changes.full_refresh(run_reason)
    if failed_before:
        return Changes.full_refresh("the step failed before")
    row = con.execute(
        "SELECT full_at, full_as_of FROM ops.step_refresh WHERE step = ?", [step]
    ).fetchone()
    if row is None or row[0] is None:
        return Changes.full_refresh("no full refresh yet")
    full_at, full_as_of = row
    if full_as_of != as_of:
        return Changes.full_refresh(f"new as-of day {as_of.isoformat()}")
    if now - full_at >= full_every:
        return Changes.full_refresh("periodic full refresh")
    return delta


def record_refresh(
    con: duckdb.DuckDBPyConnection, step: str, changes: Changes, *, as_of: date, now: datetime
) -> None:
    """Remember how `step` refreshed (after it succeeded)."""
    mode = "full" if changes.full else "delta"
    con.execute(
        "INSERT INTO ops.step_refresh AS r VALUES (?, ?, ?, ?, ?) ON CONFLICT (step) DO UPDATE "
        "SET last_mode = excluded.last_mode, last_at = excluded.last_at, "
        "  full_at = coalesce(excluded.full_at, r.full_at), "
        "  full_as_of = coalesce(excluded.full_as_of, r.full_as_of)",
        [step, mode, now, now if changes.full else None, as_of if changes.full else None],
    )
