"""`GET /api/v1/atp` on the hand-drawn delivery (`tests.support.promise_case`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from control_tower.settings import load_settings
from control_tower.web import create_app
from control_tower.web.api.atp import ROLES
from tests.support.web_users import PASSWORD, cheap_accounts, signed_in

BASE = "/api/v1/atp"


@pytest.fixture(scope="module")
def app(promise_home: Path) -> Any:
    """The web app over the delivery: a planner of entity E1, an executive, a finance user."""
    settings = load_settings(promise_home).with_home(promise_home)
    with cheap_accounts(settings) as accounts:
        accounts.create_user("pia", "planner", PASSWORD, entities=["E1"])
        accounts.create_user("eve", "executive", PASSWORD)
        accounts.create_user("fin", "finance", PASSWORD)
    return create_app(settings, accounts=cheap_accounts(settings))


@pytest.fixture(scope="module")
def planner(app):
    return signed_in(app, "pia")


def test_the_roles_that_may_ask():
    assert {"planner", "executive", "admin"} <= set(ROLES)
    assert "finance" not in ROLES


def test_an_answer_with_its_alternatives_and_projection(planner):
    response = planner.get(f"{BASE}?item=I1&location=L1&qty=30&date=2026-03-20")
    assert response.status_code == 200, response.get_json()
    j = response.get_json()
    assert (j["date"], j["status"], j["partial_qty"]) == ("2026-03-25", "partial", 15.0)
    assert [a["location_id"] for a in j["alternatives"]] == ["L3"]
    assert j["risk"] is None
    assert j["risk_note"].startswith("no trained late_order model")
    assert j["projection"]["days"][1]["available"] == 65.0


def test_cases_and_horizon(app):
    client = signed_in(app, "eve")
    j = client.get(f"{BASE}?item=I1&location=L1&qty=2&uom=cs&date=2026-03-19&horizon=10").get_json()
    assert (j["qty"], j["date"], j["projection"]["end"]) == (24.0, "2026-03-25", "2026-03-28")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("location=L1&qty=1", "item is required"),
        ("item=I1&qty=1", "location is required"),
        ("item=I1&location=L1", "qty is required"),
        ("item=I1&location=L1&qty=ten", "qty='ten' is not a number"),
        ("item=I1&location=L1&qty=0", "qty=0.0: the quantity must be a positive number"),
        ("item=I1&location=L1&qty=inf", "qty=inf: the quantity must be a positive number"),
        ("item=I9&location=L1&qty=1", "item='I9': no such item in the item master"),
        ("item=I1&location=X&qty=1", "location='X': no such location"),
        ("item=I1&location=L1&qty=1&date=2026-13-01", "date='2026-13-01' is not a date (YYYY-MM-DD)"),
        ("item=I1&location=L1&qty=1&uom=PAL", "uom='PAL': the unit must be one of EA, CS"),
        ("item=I1&location=L1&qty=1&horizon=0", "horizon=0: the horizon must be 1 to 730 days"),
    ],
)  # fmt: skip
def test_bad_arguments_are_400_naming_them(planner, query, message):
    response = planner.get(f"{BASE}?{query}")
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_a_location_outside_the_scope_is_403(planner):
    response = planner.get(f"{BASE}?item=I1&location=L2&qty=1")
    assert response.status_code == 403
    assert response.get_json()["error"] == "location='L2' is outside your scope (entities E1)"


def test_another_role_is_403(app):
    response = signed_in(app, "fin").get(f"{BASE}?item=I1&location=L1&qty=1")
    assert response.status_code == 403


def test_signed_out_is_401(app):
    assert app.server.test_client().get(f"{BASE}?item=I1&location=L1&qty=1").status_code == 401
