"""The finance page's callback through Flask's test client, on the small demo.

Who may post it (finance, executive, admin; the supervisor is refused by the gate), and
what comes back: the close checklist's progress and overdue tasks, days to close and the
expedited share equal the same questions asked of the snapshot directly; a view narrowed
to a location explains why close figures are missing instead of showing unscoped ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from control_tower.kpi.serving import latest_as_of
from tests.support.dash_callbacks import find, page_callback_body, post_as
from tests.support.finance_money import REPORTING_FACTOR, REPORTING_JOINS

BODY = "finance-body"
SUBTITLE = "finance-subtitle"


def callback_body(**values: Any) -> dict[str, Any]:
    """The POST body of the page's main callback for these filter values."""
    return page_callback_body("finance", "entity", **values)


_post = post_as


def _answer(app, role: str, body: dict[str, Any]) -> Any:
    response = _post(app, role, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"][BODY]["children"]


def _text(node: Any) -> str:
    return json.dumps(node, ensure_ascii=False)


class TestWhoMayPost:
    def test_the_supervisor_is_refused_by_the_gate(self, app):
        response = _post(app, "warehouse_supervisor", callback_body())
        assert response.status_code == 403
        assert response.get_json() == {"error": "your role may not see this"}

    @pytest.mark.parametrize("role", ["finance", "executive", "admin"])
    def test_roles_of_the_page_get_an_answer(self, app, role):
        assert "finance-kpis" in _text(_answer(app, role, callback_body()))


class TestCloseChecklist:
    def test_progress_and_overdue_tasks_per_entity(self, app, snapshot):
        as_of = latest_as_of(snapshot)
        expected = snapshot.execute(
            """
            WITH p AS (
                SELECT entity_id, max(period) AS period FROM close_tasks
                WHERE last_day(CAST(period || '-01' AS DATE)) < ? GROUP BY entity_id
            )
            SELECT t.entity_id, t.period, count(*),
                   count(*) FILTER (WHERE t.completed_at_local_date < ?),
                   list(t.task_id) FILTER (WHERE (t.completed_at IS NULL
                        OR t.completed_at_local_date >= ?) AND t.due_date < ?)
            FROM close_tasks t JOIN p USING (entity_id, period) GROUP BY ALL ORDER BY 1
            """,
            [as_of, as_of, as_of, as_of],
        ).fetchall()
        assert expected
        body = _answer(app, "finance", callback_body())
        for entity, period, total, done, overdue in expected:
            block = _text(find(body, f"finance-close-table-{entity}"))
            progress = find(body, f"finance-close-progress-{entity}")
            assert progress["props"]["children"] == f"{done} of {total} done"
            assert f"{entity} · period {period}" in _text(body)
            assert block.count("Overdue") == len(overdue)
            for task in overdue:
                assert task in block
            link = find(body, f"finance-close-overdue-{entity}")["props"]["href"]
            assert link == f"/exceptions?entity={entity}&type=overdue_close_task&status=unresolved"

    def test_a_location_view_explains_instead_of_showing_close_figures(self, app, snapshot):
        (site,) = snapshot.execute("SELECT min(location_id) FROM locations").fetchone()
        body = _text(_answer(app, "finance", callback_body(location=site)))
        assert "Close figures belong to legal entities" in body
        assert "finance-close-table-" not in body


class TestFigures:
    def test_days_to_close_tile_is_the_latest_period_over_entities(self, app, snapshot):
        as_of = latest_as_of(snapshot)
        num, den, period = snapshot.execute(
            "SELECT sum(numerator), sum(denominator), max(period) FROM kpi.values "
            "WHERE kpi = 'days_to_close' AND grain = 'day' AND dimension = 'entity_id' "
            "AND period = (SELECT max(period) FROM kpi.values WHERE kpi = 'days_to_close' "
            "AND dimension = 'entity_id' AND denominator > 0 AND period <= ?)",
            [as_of],
        ).fetchone()
        tile = _text(find(_answer(app, "finance", callback_body()), "finance-kpi-days_to_close"))
        assert f"{num / den:.1f}" in tile
        assert f"period {period:%Y-%m}" in tile

    def test_expedited_share_equals_the_freight_rows(self, app, snapshot):
        as_of = latest_as_of(snapshot)
        start = as_of.replace(day=1)
        share = snapshot.execute(
            "SELECT sum(CASE WHEN expedited THEN rc ELSE 0 END) / sum(rc) FROM ("
            f"SELECT f.*, f.actual_freight_cost * {REPORTING_FACTOR} AS rc "
            "FROM freight_shipments f LEFT JOIN locations l ON l.location_id = "
            "(SELECT min(s.location_id) FROM shipments s WHERE s.shipment_id = f.shipment_id) "
            f"{REPORTING_JOINS}) f WHERE status <> 'cancelled' "
            "AND actual_pickup_ts IS NOT NULL AND actual_freight_cost IS NOT NULL "
            "AND actual_pickup_ts_local_date >= ? AND actual_pickup_ts_local_date < ?",
            [start, as_of],
        ).fetchone()[0]
        body = _answer(app, "finance", callback_body(start=str(start), end=str(as_of)))
        total = find(body, "finance-expedited-total")
        assert total["props"]["children"] == f"{float(share) * 100:.1f}%"
