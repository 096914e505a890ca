"""Aging: whole days since creation and since the last action, SLA breach, buckets.

created           last action       SLA   now               age  idle  due               breached
03-01 10:00       -                 24 h  03-04 09:00       2    2     03-02 10:00       yes
03-01 10:00       03-03 12:00       72 h  03-04 09:00       2    0     03-04 10:00       no
"""

from __future__ import annotations

from datetime import datetime

import pytest

from control_tower.exceptions.aging import age_bucket, aging

CREATED = datetime(2026, 3, 1, 10, 0)
NOW = datetime(2026, 3, 4, 9, 0)


def test_age_counts_whole_days_from_creation_and_from_the_last_action() -> None:
    a = aging(created_at=CREATED, last_action_at=None, sla_hours=24, now=NOW)
    assert (a.age_days, a.days_since_last_action) == (2, 2)  # 2 days 23 hours
    assert a.sla_due_at == datetime(2026, 3, 2, 10, 0)
    assert a.sla_breached
    b = aging(created_at=CREATED, last_action_at=datetime(2026, 3, 3, 12), sla_hours=72, now=NOW)
    assert (b.age_days, b.days_since_last_action, b.sla_breached) == (2, 0, False)


def test_exactly_at_the_sla_is_not_a_breach() -> None:
    assert not aging(created_at=CREATED, last_action_at=None, sla_hours=71, now=NOW).sla_breached


def test_a_resolved_item_stops_aging() -> None:
    a = aging(
        created_at=CREATED,
        last_action_at=None,
        sla_hours=48,
        now=datetime(2026, 6, 1),
        resolved_at=datetime(2026, 3, 2, 9),
    )
    assert (a.age_days, a.sla_breached, a.bucket) == (0, False, "0-3")


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "0-3"), (3, "0-3"), (4, "4-7"), (7, "4-7"), (8, "8-14"), (14, "8-14"),
     (15, "15-30"), (30, "15-30"), (31, "31+"), (400, "31+"), (-1, "0-3")],
)  # fmt: skip
def test_buckets_follow_kpi_semantics(days: int, bucket: str) -> None:
    assert age_bucket(days) == bucket
