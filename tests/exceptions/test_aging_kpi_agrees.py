"""The exception_aging KPI for the current day counts what the queue holds open now.

Detection at NOW (2026-03-12 10:00 UTC) opens every item of the kit's delivery at
10:00; evaluated at 00:00 of 03-12 the KPI would count none of them.
"""

from __future__ import annotations

from pathlib import Path
from statistics import median

from control_tower.exceptions.aging import item_aging
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from tests.support.exception_cases import NOW, detect_at, store, writer


def test_todays_value_agrees_with_the_queue(home: Path) -> None:
    detect_at(home, NOW)
    with store(home) as s:
        unresolved = s.items(status="unresolved")
    ages = [item_aging(i, NOW) for i in unresolved]
    assert len(unresolved) > 10
    with writer(home) as con:
        kpi = load_catalog().kpi("exception_aging")
        rows = compute(con, kpi, as_of=NOW.date(), companions=True)["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row["denominator"] == len(unresolved)
    assert row["numerator"] == sum(a.sla_breached for a in ages)
    assert row["median_age_days"] == median(a.age_days for a in ages)
    assert row["aged_0_3"] == sum(a.bucket == "0-3" for a in ages)
    assert row["aged_4_7"] == sum(a.bucket == "4-7" for a in ages)


def test_an_earlier_day_counts_what_was_open_at_its_start(home: Path) -> None:
    detect_at(home, NOW)
    with writer(home) as con:
        kpi = load_catalog().kpi("exception_aging")
        rows = compute(con, kpi, as_of=NOW.date().replace(day=11))["rows"]
    assert sum(r["denominator"] or 0 for r in rows) == 0  # nothing was detected before NOW
