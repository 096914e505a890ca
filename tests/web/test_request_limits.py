"""Limits on what one user can make the server store or compute, on a private copy of the small
demo: request size, field lengths, assignee lists by scope, KPI computations per minute, and
data values drawn on charts as text.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import dash
import plotly
import pytest
from flask_login import login_user

from control_tower.kpi.serving import Point, latest_as_of
from control_tower.views.kpi import Bar, cached_catalog
from control_tower.web import create_app, kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.auth import WebUser
from control_tower.web.pages._finance_close import close_figure
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.clock import ManualClock
from tests.support.dash_callbacks import filter_values, post_callback, walk
from tests.support.data_copies import app_db, private_copy
from tests.support.web_users import PASSWORD, SUPERVISOR_SITE, USERS, cheap_accounts, signed_in

MARKUP = "<img src=x onerror=alert(1)>"
OTHER_SITE = "DC-CHI"


@pytest.fixture(scope="module")
def setup(demo_settings, tmp_path_factory):
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("limits"))
    settings = replace(settings, kpi_computations_per_minute=2)
    accounts = cheap_accounts(settings)
    accounts.create_user("chris", "planner", PASSWORD, locations=[OTHER_SITE])
    accounts.create_user("nina", "planner", PASSWORD, locations=[SUPERVISOR_SITE])
    app = create_app(settings, accounts=accounts)
    tokens = {name: accounts.issue_token(name)[0] for name in (USERS["admin"], "nina", "chris")}
    return settings, app, tokens


@pytest.fixture
def app(setup):
    return setup[1]


def api(setup, name: str, method: str, path: str, **kwargs):
    _settings, app, tokens = setup
    headers = {"Authorization": f"Bearer {tokens[name]}"}
    return app.server.test_client().open(path, method=method, headers=headers, **kwargs)


def open_item(settings, location: str) -> tuple[int, int]:
    with app_db(settings) as db:
        return db.execute(
            "SELECT id, version FROM exc_items WHERE location_id = ? AND status = 'open' "
            "ORDER BY id LIMIT 1",
            [location],
        ).fetchone()


def act_on(setup, item_id: int, body: dict, user: str = USERS["admin"]):
    return api(setup, user, "POST", f"/api/v1/exceptions/{item_id}/actions", json=body)


def comment(setup, note: str):
    """Comment on the first open DC-NJ item as the admin: (the item's id, the answer)."""
    item_id, version = open_item(setup[0], SUPERVISOR_SITE)
    body = {"action": "comment", "expected_version": version, "note": note}
    return item_id, act_on(setup, item_id, body)


class TestRequestSize:
    def test_a_body_over_the_limit_is_refused_with_413(self, setup):
        _item_id, response = comment(setup, "x" * 2_500_000)
        assert response.status_code == 413
        assert "2,000,000 bytes" in response.get_json()["error"]

    def test_a_callback_over_the_limit_is_refused_with_413(self, app):
        client = signed_in(app, USERS["admin"])
        response = client.post(
            "/_dash-update-component", data="x" * 2_500_000, content_type="application/json"
        )
        assert response.status_code == 413

    def test_a_comment_over_the_field_limit_is_refused_and_nothing_stored(self, setup):
        item_id, response = comment(setup, "x" * 4001)
        assert response.status_code == 400
        assert response.get_json() == {
            "error": "the note or comment is 4,001 characters long; at most 4,000 are allowed"
        }
        with app_db(setup[0]) as db:
            stored = db.execute("SELECT count(*) FROM exc_comments WHERE item_id = ?", [item_id])
            assert stored.fetchone()[0] == 0
        assert comment(setup, "x" * 4000)[1].status_code == 200


class TestAssigneesByScope:
    def test_an_assignee_outside_the_users_scope_is_refused(self, setup):
        settings, _app, _tokens = setup
        item_id, version = open_item(settings, SUPERVISOR_SITE)
        body = {"action": "assign", "expected_version": version, "assignee": "chris"}
        refused = act_on(setup, item_id, body, "nina")
        assert refused.status_code == 400
        assert "cannot assign to 'chris'" in refused.get_json()["error"]
        body["assignee"] = USERS["admin"]  # unscoped users work everywhere
        assert act_on(setup, item_id, body, "nina").status_code == 200

    def test_the_planner_picker_lists_only_overlapping_users(self, app):
        ctx = app.server.extensions[EXTENSION_KEY]
        page = next(p for p in dash.page_registry.values() if p["module"].endswith("pages.planner"))
        with app.server.test_request_context("/planner"):
            login_user(WebUser(ctx.accounts.get("nina"), None))
            tree = json.loads(json.dumps(page["layout"](), cls=plotly.utils.PlotlyJSONEncoder))
        picker = next(n for n in walk(tree) if n.get("props", {}).get("id") == "planner-assignee")
        names = {o["value"] for o in picker["props"]["options"]}
        assert "nina" in names
        assert {USERS["admin"], USERS["planner"]} <= names
        assert "chris" not in names


class TestComputationBudget:
    def test_a_user_may_start_only_n_uncached_computations_a_minute(self, setup):
        _settings, app, _tokens = setup
        clock = ManualClock()
        app.server.extensions[EXTENSION_KEY].clock = clock
        with app.server.extensions[EXTENSION_KEY].store.cursor() as cur:
            latest = latest_as_of(cur)
        client = signed_in(app, USERS["executive"])

        def ask(days_back: int):
            end = latest - timedelta(days=days_back)
            return client.get(f"/api/v1/kpis/dock_to_stock_hours/values?to={end}&grain=day")

        assert ask(1).status_code == 200
        assert ask(2).status_code == 200
        refused = ask(3)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        assert "2 KPI computations in the last minute" in refused.get_json()["error"]
        assert ask(1).status_code == 200  # a cached answer costs nothing
        assert (
            signed_in(app, USERS["planner"])
            .get(f"/api/v1/kpis/dock_to_stock_hours/values?to={latest - timedelta(days=3)}")
            .status_code
            == 200
        )  # another user's budget
        clock.now += 60
        assert ask(4).status_code == 200

    def test_the_kpi_page_answers_429_with_the_reason(self, setup):
        _settings, app, _tokens = setup
        app.server.extensions[EXTENSION_KEY].clock = ManualClock()
        with app.server.extensions[EXTENSION_KEY].store.cursor() as cur:
            latest = latest_as_of(cur)
        # Every output of the page's main callback, as Dash registered them.
        key = next(k for k in app.callback_map if "kpi-value.children" in k)
        outputs = [tuple(part.rsplit(".", 1)) for part in key.strip(".").split("...")]
        inputs = [
            *filter_values("kpi", latest - timedelta(days=40), latest - timedelta(days=5)),
            ("kpi-by", "value", "location_id"),
            ("kpi-member", "data", None),
        ]
        state = [("kpi-name", "data", "dock_to_stock_hours")]
        # A trend and a breakdown by site of a median: more than the budget of 2.
        answer = post_callback(signed_in(app, USERS["finance"]), outputs, inputs, state)
        assert answer.status_code == 429
        assert "2 KPI computations in the last minute" in answer.get_json()["error"]
        assert answer.headers["Retry-After"] == "60"


class TestChartLabels:
    @pytest.fixture
    def kpi(self, demo_settings):
        return cached_catalog(demo_settings.kpi_definitions).kpis["line_fill_rate"]

    def _strings(self, figure) -> str:
        return json.dumps(figure, cls=plotly.utils.PlotlyJSONEncoder)

    def test_breakdown_bars_show_a_site_name_as_text(self, kpi):
        bars = [Bar(MARKUP, 0.9, 9, 10, "ok"), Bar("A&B", 0.8, 8, 10, "warn")]
        figure = kpi_ui.breakdown_figure(kpi, bars, selected=None)
        shown = figure.to_plotly_json()
        shown["data"][0].pop("customdata")
        assert "<img" not in self._strings(shown)
        assert list(figure.data[0].y) == ["&lt;img src=x onerror=alert(1)&gt;", "A&amp;B"]
        assert list(figure.data[0].customdata) == [MARKUP, "A&B"]  # clicks get the real value

    def test_plain_bars_and_legends_show_names_as_text(self, kpi):
        bars = [Bar(MARKUP, 0.9, 9, 10, "ok")]
        assert "<img" not in self._strings(charts.kpi_bars(kpi, bars, "Class"))
        points = [Point(date(2025, 1, 31), 3.0, member=MARKUP)]
        closing = close_figure(kpi, points)
        assert closing["data"][0]["name"] == "&lt;img src=x onerror=alert(1)&gt;"
        assert "<img" not in self._strings(closing)
