"""`GET /api/v1/executive/money` on the small demo, through Flask's test client: the figures
equal independent queries of the snapshot (`support.money_figures`), and a supervisor scoped
to one site gets that site's money only and is refused another site's."""

from __future__ import annotations

import pytest

from control_tower.kpi.serving import latest_as_of
from tests.support.dash_callbacks import signed_in
from tests.support.money_figures import (
    backlog,
    reporting_currency,
    value_at_risk,
    value_at_risk_by_type,
)
from tests.support.web_users import SUPERVISOR_SITE, USERS

URL = "/api/v1/executive/money"


def test_the_money_of_every_site_equals_independent_queries(app, snapshot):
    response = signed_in(app, USERS["executive"]).get(URL)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    as_of = latest_as_of(snapshot)
    assert body["reporting_currency"] == reporting_currency(snapshot)
    assert body["as_of"] == as_of.isoformat()
    assert body["value_at_risk"] == pytest.approx(value_at_risk(snapshot))
    total, missing = backlog(snapshot, as_of)
    assert body["backlog"] == pytest.approx(total)
    assert sorted(m["location_id"] for m in body["missing"]) == missing
    by_type = {q["type"]: q["value_at_risk"] for q in body["queues"]}
    assert by_type == pytest.approx(value_at_risk_by_type(snapshot))
    sites = {s["location_id"] for s in body["sites"]}
    assert {"DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM"} <= sites


def test_a_supervisor_gets_the_money_of_their_site_only(app, snapshot):
    client = signed_in(app, USERS["warehouse_supervisor"])
    body = client.get(URL).get_json()
    assert [s["location_id"] for s in body["sites"]] == [SUPERVISOR_SITE]
    assert body["value_at_risk"] == pytest.approx(value_at_risk(snapshot, SUPERVISOR_SITE))
    total, _missing = backlog(snapshot, latest_as_of(snapshot), SUPERVISOR_SITE)
    assert body["backlog"] == pytest.approx(total)
    refused = client.get(URL + "?location=DC-CHI")
    assert refused.status_code == 403
    assert "outside your scope" in refused.get_json()["error"]


def test_a_location_narrows_it_and_signed_out_is_refused(app, snapshot):
    body = signed_in(app, USERS["admin"]).get(URL + "?location=DC-RTM").get_json()
    assert [s["location_id"] for s in body["sites"]] == ["DC-RTM"]
    assert body["value_at_risk"] == pytest.approx(value_at_risk(snapshot, "DC-RTM"))
    assert app.server.test_client().get(URL).status_code == 401
