"""Back-off of failing post-load steps: a step that fails is not run again on every run.

Each step's record in `ops.step_state` counts its failures in a row. After
the n-th failure in a row the step is skipped by later runs until
`first_delay * 2**(n-1)` (at most `max_delay`) has passed; a success resets
the count. `control-tower ingest --retry-failed-steps` runs every step at
once whatever its back-off. A failing or waiting step is shown on the
data-health page and raised as a `failing_step` item in the admins' queue,
with its last error (the exception's type and first line, quoted values
masked: an error may quote a delivered file's values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from control_tower.settings import Settings

MAX_ERROR_CHARS = 300
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass(frozen=True)
class StepPolicy:
    """When a failing step is tried again: `first_delay` after its first failure in a row,
    twice as long after each further one, at most `max_delay`."""

    first_delay: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(hours=24)

    def next_try(self, failures: int, now: datetime) -> datetime:
        """When a step that has failed `failures` times in a row, the last at `now`, is due."""
        return now + min(self.first_delay * 2 ** min(failures - 1, 20), self.max_delay)


def step_policy(settings: Settings) -> StepPolicy:
    """The installation's step retry settings."""
    first, most = settings.step_retry_minutes, settings.step_retry_max_hours
    return StepPolicy(timedelta(minutes=first), timedelta(hours=most))


@dataclass(frozen=True)
class StepState:
    """A step's failures in a row, its last error and when it may run again."""

    step: str
    failures: int
    last_error: str | None
    next_try_at: datetime | None

    def waiting(self, now: datetime) -> bool:
        """Whether the step is still backing off at `now`."""
        return self.failures > 0 and self.next_try_at is not None and now < self.next_try_at


def error_text(exc: BaseException) -> str:
    """What is kept of a step's error: its type and first line, quoted values masked, cut short
    (the whole traceback goes to the log)."""
    lines = str(exc).strip().splitlines()
    first = _QUOTED.sub("'…'", lines[0] if lines else "")
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def step_states(con: duckdb.DuckDBPyConnection) -> dict[str, StepState]:
    """Every step with a record, by name."""
    rows = con.execute(
        "SELECT step, consecutive_failures, last_error, next_try_at FROM ops.step_state"
    ).fetchall()
    return {r[0]: StepState(*r) for r in rows}


def record_failure(
    con: duckdb.DuckDBPyConnection, step: str, error: str, *, now: datetime, policy: StepPolicy
) -> StepState:
    """Count a failure of `step` at `now` (naive UTC) and set when it is next tried."""
    before = step_states(con).get(step)
    failures = (before.failures if before else 0) + 1
    state = StepState(step, failures, error, policy.next_try(failures, now))
    con.execute(
        "INSERT INTO ops.step_state AS s VALUES (?, ?, ?, ?, ?, ?, NULL) "
        "ON CONFLICT (step) DO UPDATE SET consecutive_failures = excluded.consecutive_failures, "
        "  first_failed_at = CASE WHEN s.consecutive_failures = 0 THEN excluded.first_failed_at "
        "    ELSE s.first_failed_at END, "
        "  last_failed_at = excluded.last_failed_at, last_error = excluded.last_error, "
        "  next_try_at = excluded.next_try_at",
        [step, failures, now, now, error, state.next_try_at],
    )
    return state


def record_success(con: duckdb.DuckDBPyConnection, step: str, *, now: datetime) -> None:
    """A success of `step` at `now`: its failures in a row start again from none."""
    con.execute(
        "INSERT INTO ops.step_state AS s VALUES (?, 0, NULL, NULL, NULL, NULL, ?) "
        "ON CONFLICT (step) DO UPDATE SET consecutive_failures = 0, first_failed_at = NULL, "
        "  last_error = NULL, next_try_at = NULL, last_ok_at = excluded.last_ok_at",
        [step, now],
    )
