"""The scheduler's heartbeat: is a scheduler landing the inbox on a schedule, and is it on time?

The scheduler process (`pipelines/schedule.py`) rewrites `HEARTBEAT_FILE` in
the serving folder after every run; `scheduler_heartbeat` judges it against
the current time for the data-health page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypedDict

from control_tower.settings import utc_now

HEARTBEAT_FILE = "SCHEDULER.json"


class SchedulerStatus(TypedDict):
    """What the scheduler's heartbeat file says, judged against the current time."""

    state: Literal["running", "late", "absent", "unreadable"]
    message: str
    written_at: datetime | None
    age_minutes: float | None
    every_minutes: float | None
    pid: int | None
    last_run_id: str | None
    last_run_status: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def scheduler_heartbeat(
    serving_dir: Path, now: datetime | None = None, *, grace_minutes: float = 5.0
) -> SchedulerStatus:
    """The scheduler's heartbeat: `running` if written within two intervals (plus grace).

    The scheduler rewrites the file after every run, so a heartbeat older than
    two intervals means it stopped, hangs, or runs one very long job: `late`.
    """
    now = now or utc_now()
    empty = SchedulerStatus(
        state="absent",
        message="",
        written_at=None,
        age_minutes=None,
        every_minutes=None,
        pid=None,
        last_run_id=None,
        last_run_status=None,
        last_run_at=None,
        next_run_at=None,
    )
    path = serving_dir / HEARTBEAT_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        empty["message"] = (
            "No scheduler has run here yet: start one with control-tower scheduler to land "
            "the inbox on a schedule."
        )
        return empty
    except (OSError, ValueError) as exc:
        empty.update(state="unreadable", message=f"cannot read {path.name}: {exc}")
        return empty
    written = _parse_time(data.get("written_at"))
    every = data.get("every_minutes")
    every_f = float(every) if isinstance(every, int | float) and every > 0 else None
    age = None if written is None else max((now - written).total_seconds() / 60, 0.0)
    pid = data.get("pid")
    status = SchedulerStatus(
        state="running",
        message="",
        written_at=written,
        age_minutes=age,
        every_minutes=every_f,
        pid=pid if isinstance(pid, int) else None,
        last_run_id=data.get("last_run_id"),
        last_run_status=data.get("last_run_status"),
        last_run_at=_parse_time(data.get("last_run_at")),
        next_run_at=_parse_time(data.get("next_run_at")),
    )
    if age is None or every_f is None:
        status.update(state="unreadable", message=f"{path.name} has no written_at/every_minutes")
        return status
    limit = 2 * every_f + grace_minutes
    if age <= limit:
        status["message"] = f"Running: lands the inbox every {every_f:g} min."
    else:
        status.update(
            state="late",
            message=(
                f"No heartbeat for {age:,.0f} min (expected every {every_f:g} min): the "
                "scheduler has stopped or is stuck."
            ),
        )
    return status
