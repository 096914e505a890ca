"""Aging of exception items: age since creation and since the last action, SLA breach, bucket.

The one implementation the CLI and the app use; the exception_aging KPI
computes the same figures in SQL over the warehouse mirror (whole days,
buckets 0-3, 4-7, 8-14, 15-30, 31+, as docs/kpis.md describes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from control_tower.exceptions.store import ExceptionItem

BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 3, "0-3"),
    (4, 7, "4-7"),
    (8, 14, "8-14"),
    (15, 30, "15-30"),
    (31, None, "31+"),
)


@dataclass(frozen=True)
class Aging:
    """How old an item is and whether it is past its SLA."""

    age_days: int
    days_since_last_action: int
    sla_due_at: datetime
    sla_breached: bool
    bucket: str


def age_bucket(days: int) -> str:
    """The aging bucket of an age in whole days."""
    for low, high, label in BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return BUCKETS[0][2]  # negative ages (clock skew) count as new


def _whole_days(delta: timedelta) -> int:
    return max(delta.days, 0)  # timedelta.days floors, as the KPI's floor(epoch / 86400)


def aging(
    *,
    created_at: datetime,
    last_action_at: datetime | None,
    sla_hours: float,
    now: datetime,
    resolved_at: datetime | None = None,
) -> Aging:
    """Aging of one item at `now` (naive UTC) from `created_at` (when its condition began);
    a resolved item stops aging when resolved."""
    end = resolved_at or now
    due = created_at + timedelta(hours=sla_hours)
    age = _whole_days(end - created_at)
    return Aging(
        age_days=age,
        days_since_last_action=_whole_days(end - (last_action_at or created_at)),
        sla_due_at=due,
        sla_breached=due < end,
        bucket=age_bucket(age),
    )


def item_aging(item: ExceptionItem, now: datetime) -> Aging:
    """Aging of a stored item at `now` (naive UTC), from when its condition began (the source
    event's time; the first detection when the rule gives none)."""
    return aging(
        created_at=item.started_at,
        last_action_at=item.last_action_at,
        sla_hours=item.sla_hours,
        now=now,
        resolved_at=item.resolved_at,
    )
