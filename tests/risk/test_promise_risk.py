"""The late-order risk of hypothetical lines: the nightly model, through the same features."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from control_tower.kpi.serving import SnapshotCache, keeping
from control_tower.promising.answer import PromiseLine
from control_tower.risk import promise_risk
from control_tower.risk.promise_risk import late_risk
from tests.support.extracts import warehouse

AS_OF = date(2026, 3, 18)


def test_a_line_like_an_open_line_of_today_scores_as_it_does(landed: Path):
    with warehouse(landed) as con:
        rows = con.execute(
            "SELECT l.item_id, l.location_id, CAST(l.ordered_qty AS DOUBLE), "
            "l.first_promised_date, l.requested_date, l.customer_id, l.channel, s.probability "
            "FROM risk.late_order_scores AS s JOIN sales_order_lines AS l USING (order_id, line_no) "
            "WHERE l.order_ts_local_date = ? AND s.as_of = ? "
            "AND NOT EXISTS (SELECT 1 FROM shipments AS x "
            "                WHERE x.order_id = l.order_id AND x.line_no = l.line_no) "
            "ORDER BY l.order_id, l.line_no LIMIT 8",
            [AS_OF, AS_OF],
        ).fetchall()
        assert len(rows) >= 3
        lines = [PromiseLine(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]
        scores = late_risk(con, landed / "models", lines, AS_OF)
    assert scores.values == pytest.approx([r[7] for r in rows])
    assert scores.note.startswith("late-order model late_order-")


def test_no_trained_model_gives_no_risk_and_says_why(landed: Path, tmp_path: Path):
    line = PromiseLine("X", "Y", 1.0, date(2026, 3, 25), date(2026, 3, 25))
    with warehouse(landed) as con:
        scores = late_risk(con, tmp_path / "models", [line], AS_OF)
    assert scores.values == (None,)
    assert "no trained late_order model" in scores.note


def test_the_group_features_are_computed_once_per_snapshot(landed: Path, monkeypatch):
    calls = []
    real = promise_risk.late_groups
    monkeypatch.setattr(promise_risk, "late_groups", lambda *a: calls.append(a) or real(*a))
    line = PromiseLine("X", "Y", 1.0, date(2026, 3, 25), date(2026, 3, 25))
    with warehouse(landed) as con, keeping("snapshot-1", SnapshotCache(8)):
        first = late_risk(con, landed / "models", [line], AS_OF)
        again = late_risk(con, landed / "models", [line], AS_OF)
    assert first == again
    assert len(calls) == 1
