"""The KPI endpoints of the JSON API on the small demo, through Flask's test client.

Decision tested here: asking for a location outside the caller's scope is
refused with 403 (not answered empty), so a client can tell "no data" from
"not yours".
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_tower.kpi.format import format_value
from control_tower.kpi.serving import latest_as_of
from control_tower.views.kpi import cached_catalog
from tests.support.dash_callbacks import ratio_from_values, signed_in
from tests.support.web_users import SUPERVISOR_SITE, USERS, cheap_accounts

BASE = "/api/v1/kpis"


@pytest.fixture(scope="module")
def token(demo_settings):
    with cheap_accounts(demo_settings) as accounts:
        secret, _info = accounts.issue_token(USERS["warehouse_supervisor"], label="tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def client(app):
    return signed_in(app, USERS["executive"])


class TestAuthentication:
    def test_no_session_and_no_token_is_401(self, app):
        response = app.server.test_client().get(BASE)
        assert response.status_code == 401
        assert response.get_json() == {"error": "sign in first"}

    def test_a_wrong_token_is_401(self, app):
        headers = {"Authorization": "Bearer ct_not-a-token"}
        assert app.server.test_client().get(BASE, headers=headers).status_code == 401

    def test_a_token_works(self, app, token):
        response = app.server.test_client().get(BASE, headers=token)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"


class TestCatalog:
    def test_lists_every_kpi_with_its_definition(self, client, demo_settings):
        kpis = client.get(BASE).get_json()["kpis"]
        catalog = cached_catalog(demo_settings.kpi_definitions)
        assert {k["name"] for k in kpis} == set(catalog.kpis)
        fill = next(k for k in kpis if k["name"] == "line_fill_rate")
        assert fill["status"] == "certified"
        assert fill["content_hash"] == catalog.kpi("line_fill_rate").content_hash
        assert fill["signoff"]["signed_by"] == "control-tower maintainers"  # the shipped log
        assert fill["signoff"]["signed_at"] == "2026-11-22T09:00:00"
        assert fill["thresholds"] == {"warn": 0.92, "breach": 0.88}
        assert fill["direction"] == "higher_is_better"
        assert "location_id" in fill["dimensions"]
        assert fill["exception_types"] == ["short_shipment"]
        assert "exception_queue" not in fill
        turns = next(k for k in kpis if k["name"] == "inventory_turns")
        assert turns["exception_types"] == []  # no queue, on purpose
        assert (turns["status"], turns["signoff"]) == ("draft", None)
        otif = next(k for k in kpis if k["name"] == "otif_requested")
        assert otif["exception_types"] == ["missed_promise", "order_at_risk"]

    def test_one_kpi_with_its_current_value(self, client, snapshot):
        body = client.get(f"{BASE}/line_fill_rate").get_json()
        end = latest_as_of(snapshot)
        current = body["current"]
        assert current["to"] == end.isoformat()
        start = end - timedelta(days=41)
        assert current["from"] == start.isoformat()
        expected = snapshot.execute(
            "SELECT sum(numerator) / sum(denominator) FROM kpi.values WHERE kpi = 'line_fill_rate' "
            "AND dimension = 'ALL' AND grain = 'day' AND period BETWEEN ? AND ?",
            [start, end],
        ).fetchone()[0]
        assert current["value"] == pytest.approx(expected)
        assert current["status"] in ("ok", "warn", "breach")

    def test_an_unknown_kpi_is_404(self, client):
        response = client.get(f"{BASE}/no_such_kpi/values")
        assert response.status_code == 404
        assert "no_such_kpi" in response.get_json()["error"]


class TestValues:
    def test_weekly_breakdown_by_location(self, client, snapshot, demo_settings):
        end = latest_as_of(snapshot)
        start = end - timedelta(days=20)
        body = client.get(
            f"{BASE}/line_fill_rate/values?from={start}&to={end}&grain=week&by=location_id"
        ).get_json()
        assert (body["grain"], body["by"], body["source"]) == (
            "week",
            "location_id",
            "materialised",
        )
        assert body["freshness"]
        assert body["version"] == 1
        assert {p["member"] for p in body["points"]} == {"DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM"}
        point = body["points"][0]
        assert set(point) == {"period", "member", "value", "numerator", "denominator", "status"}
        assert point["value"] == pytest.approx(point["numerator"] / point["denominator"])

    @pytest.mark.parametrize(
        ("query", "named"),
        [
            ("grain=year", "grain"),
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("by=colour", "by"),
            ("member=A", "member"),
            ("from=2026-05-01&to=2026-04-01", "from"),
        ],
    )
    def test_bad_arguments_are_400_naming_the_argument(self, client, query, named):
        response = client.get(f"{BASE}/line_fill_rate/values?{query}")
        assert response.status_code == 400
        assert named in response.get_json()["error"]


class TestScope:
    def test_the_supervisor_gets_only_their_site(self, app, token, snapshot, demo_settings):
        end = latest_as_of(snapshot)
        start = end - timedelta(days=13)
        client = app.server.test_client()
        body = client.get(
            f"{BASE}/line_fill_rate/values?from={start}&to={end}&by=location_id", headers=token
        ).get_json()
        assert {p["member"] for p in body["points"]} == {SUPERVISOR_SITE}
        overall = client.get(
            f"{BASE}/line_fill_rate/values?from={start}&to={end}", headers=token
        ).get_json()
        num = sum(p["numerator"] for p in overall["points"])
        den = sum(p["denominator"] for p in overall["points"])
        kpi = cached_catalog(demo_settings.kpi_definitions).kpi("line_fill_rate")
        expected = ratio_from_values(snapshot, kpi, start, end, location_id=SUPERVISOR_SITE)
        assert format_value(num / den, "0.000%") == format_value(expected, "0.000%")

    def test_another_location_is_403(self, app, token):
        response = app.server.test_client().get(
            f"{BASE}/line_fill_rate/values?location=DC-CHI", headers=token
        )
        assert response.status_code == 403
        assert "DC-CHI" in response.get_json()["error"]

    def test_a_kpi_without_a_location_is_403_with_the_reason(self, app, token):
        response = app.server.test_client().get(f"{BASE}/days_to_close/values", headers=token)
        assert response.status_code == 403
        assert "location_id" in response.get_json()["error"]
