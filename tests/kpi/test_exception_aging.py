"""Exception aging over exc.queue_items (filled by the exception rules; fixture rows here)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from control_tower.storage.schema import connect_writer


class TestAgesAndSla:
    """Queue items as of 2026-03-20 (evaluated at 00:00 UTC), all at L1.

    id  status        created (UTC)      last action   sla_h  resolved     age  idle  past SLA?
    q1  open          03-19 12:00        -             24     -            0    0     no (due 03-20 12:00)
    q2  acknowledged  03-15 00:00        03-18 00:00   48     -            5    2     yes
    q3  snoozed       03-01 00:00        03-19 00:00   72     -            19   1     yes
    q4  resolved      03-10 00:00        -             24     03-12        -    -     not open
    q5  resolved      03-10 00:00        -             24     03-21        10   10    yes (resolved later)
    q6  open          03-20 08:00        -             24     -            -    -     not created yet
    open: q1, q2, q3, q5 -> 3 of 4 past SLA; ages 0, 5, 10, 19 -> median 7.5; idle 0, 2, 1, 10 -> 1.5
    """

    @pytest.fixture(scope="class")
    @classmethod
    def con(cls, tmp_path_factory: pytest.TempPathFactory):
        con = connect_writer(Path(tmp_path_factory.mktemp("exc")) / "warehouse.duckdb")
        rows = [
            ("q1", "open", datetime(2026, 3, 19, 12), None, 24, None),
            ("q2", "acknowledged", datetime(2026, 3, 15), datetime(2026, 3, 18), 48, None),
            ("q3", "snoozed", datetime(2026, 3, 1), datetime(2026, 3, 19), 72, None),
            ("q4", "resolved", datetime(2026, 3, 10), None, 24, datetime(2026, 3, 12)),
            ("q5", "resolved", datetime(2026, 3, 10), None, 24, datetime(2026, 3, 21)),
            ("q6", "open", datetime(2026, 3, 20, 8), None, 24, None),
        ]
        for id_, status, created, action, sla, resolved in rows:
            con.execute(
                "INSERT INTO exc.queue_items (id, type, key, status, severity, owner_role, "
                "assignee, location_id, entity_id, created_at, last_action_at, sla_hours, "
                "resolved_at) VALUES (?, 'backordered_line', ?, ?, 'high', 'planner', "
                "NULL, 'L1', 'E1', ?, ?, ?, ?)",
                [id_, id_, status, created, action, sla, resolved],
            )
        yield con
        con.close()

    def test_share_past_sla_median_ages_and_buckets(self, con) -> None:
        kpi = load_catalog().kpi("exception_aging")
        rows = compute(con, kpi, as_of=date(2026, 3, 20), companions=True)["rows"]
        assert len(rows) == 1
        row = rows[0]
        assert (row["numerator"], row["denominator"]) == (3, 4)
        assert row["median_age_days"] == 7.5  # (5 + 10) / 2
        assert row["median_days_since_last_action"] == 1.5  # (1 + 2) / 2
        buckets = [
            row[k] for k in ("aged_0_3", "aged_4_7", "aged_8_14", "aged_15_30", "aged_31_plus")
        ]
        assert buckets == [1, 1, 1, 1, 0]  # 0 | 5 | 10 | 19
