"""The warehouse page's callback through Flask's test client, on the small demo.

Who may post it (supervisor, executive, admin; finance is refused by the gate), and
what comes back: the supervisor's figures are DC-NJ's only, every wave of the day is
listed, and the numbers equal the same questions asked of the snapshot directly.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.views.kpi import cached_catalog
from tests.support.dash_callbacks import find, page_callback_body, post_as
from tests.support.web_users import SUPERVISOR_SITE, client_as

BODY = "warehouse-body"
SUBTITLE = "warehouse-subtitle"


def callback_body(**values: Any) -> dict[str, Any]:
    """The POST body of the page's main callback for these filter values."""
    return page_callback_body("warehouse", "location", **values)


_post = post_as


def _answer(app, role: str, body: dict[str, Any]) -> tuple[str, str]:
    response = _post(app, role, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()["response"]
    return json.dumps(data[BODY]["children"]), json.dumps(data[SUBTITLE]["children"])


class TestWhoMayPost:
    def test_finance_is_refused_by_the_gate(self, app):
        response = _post(app, "finance", callback_body())
        assert response.status_code == 403
        assert response.get_json() == {"error": "your role may not see this"}

    def test_planner_is_refused_the_page(self, app):
        assert client_as(app, "planner").get("/warehouse").status_code == 403

    @pytest.mark.parametrize("role", ["warehouse_supervisor", "executive", "admin"])
    def test_roles_of_the_page_get_an_answer(self, app, role):
        body, subtitle = _answer(app, role, callback_body())
        assert "warehouse-kpis" in body
        assert "data as of" in subtitle


class TestSupervisorScope:
    def test_sees_only_dc_nj_even_when_asking_for_another_site(self, app, snapshot):
        sites = [r[0] for r in snapshot.execute("SELECT location_id FROM locations").fetchall()]
        body, subtitle = _answer(app, "warehouse_supervisor", callback_body())
        assert subtitle.startswith(f'"{SUPERVISOR_SITE}')
        others = [s for s in sites if s != SUPERVISOR_SITE]
        assert others
        assert not any(s in body for s in others)
        refused, _ = _answer(app, "warehouse_supervisor", callback_body(location=others[0]))
        assert f"{others[0]} is not one of your sites" in refused

    def test_lists_every_wave_of_the_latest_wave_day(self, app, snapshot):
        as_of = latest_as_of(snapshot)
        day, waves = snapshot.execute(
            "SELECT planned_release_ts_local_date, list(wave_id) FROM waves "
            "WHERE location_id = ? AND planned_release_ts_local_date <= ? "
            "GROUP BY 1 ORDER BY 1 DESC LIMIT 1",
            [SUPERVISOR_SITE, as_of],
        ).fetchone()
        body, _ = _answer(app, "warehouse_supervisor", callback_body())
        assert f"{day:%a %d %b %Y}" in body
        for wave in waves:
            assert wave in body

    def test_shows_the_sites_late_order_risks_with_the_models_accuracy(self, app, snapshot):
        (top,) = snapshot.execute(
            "SELECT order_id FROM risk.late_order_scores WHERE location_id = ? "
            "ORDER BY probability * coalesce(value, 0) DESC, probability DESC, order_id, line_no "
            "LIMIT 1",
            [SUPERVISOR_SITE],
        ).fetchone()
        body, _ = _answer(app, "warehouse_supervisor", callback_body())
        note = find(json.loads(body), "warehouse-late-risk-model")["props"]["children"]
        assert "ranks late lines with ROC AUC" in note
        assert top in body

    def test_queue_counts_link_to_the_exceptions_page(self, app, snapshot):
        (late_waves,) = snapshot.execute(
            "SELECT count(*) FROM exc.queue_items WHERE type = 'late_wave' "
            "AND status <> 'resolved' AND location_id = ?",
            [SUPERVISOR_SITE],
        ).fetchone()
        body, _ = _answer(app, "warehouse_supervisor", callback_body())
        anchor = json.loads(body)
        link = find(anchor, "warehouse-queue-late_wave")
        assert link["props"]["children"] == str(late_waves)
        assert link["props"]["href"] == (
            f"/exceptions?location={SUPERVISOR_SITE}&type=late_wave&status=unresolved"
        )


class TestFigures:
    def test_release_adherence_tile_equals_the_kpi_values(self, app, snapshot, demo_settings):
        kpi = cached_catalog(demo_settings.kpi_definitions).kpi("wave_release_adherence")
        end = latest_as_of(snapshot)
        start = end - timedelta(days=41)
        num, den = snapshot.execute(
            "SELECT sum(numerator), sum(denominator) FROM kpi.values WHERE kpi = ? "
            "AND version = ? AND grain = 'day' AND dimension = 'location_id' "
            "AND dimension_value = ? AND period BETWEEN ? AND ?",
            [kpi.name, kpi.version, SUPERVISOR_SITE, start, end],
        ).fetchone()
        body, _ = _answer(
            app, "warehouse_supervisor", callback_body(start=str(start), end=str(end))
        )
        tile = find(json.loads(body), "warehouse-kpi-wave_release_adherence")
        assert f"{num / den * 100:.1f}%" in json.dumps(tile)
        assert f"{round(den):,} units due" in json.dumps(tile)

    def test_a_site_without_waves_shows_its_cutoffs(self, app, snapshot):
        rows = snapshot.execute("SELECT location_id FROM locations WHERE NOT wave_based").fetchall()
        if not rows:
            pytest.skip("the demo has no site without waves")
        site = rows[0][0]
        body, _ = _answer(app, "admin", callback_body(location=site))
        assert f"{site} does not run pick waves" in body
        assert "warehouse-cutoff-table" in body


def test_scope_helpers_keep_out_of_scope_sites_out(snapshot):
    from control_tower.views.sites import sites

    assert [s.location_id for s in sites(snapshot, Scope.of(locations=[SUPERVISOR_SITE]))] == [
        SUPERVISOR_SITE
    ]
