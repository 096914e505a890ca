"""The customer-service page `/customers` on the small demo: at risk by customer, the lines
behind OTIF, re-promise in place (callbacks through Flask's test client)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from control_tower.web import create_app
from tests.support.dash_callbacks import post_callback
from tests.support.data_copies import app_db, private_copy
from tests.support.web_users import cheap_accounts, client_as

SUBMIT_OUT = [("customers-result", "children"), ("customers-message", "value"),
              ("customers-refresh", "data")]  # fmt: skip


def _customers(client) -> Any:
    return post_callback(
        client,
        [("customers-grid", "rowData"), ("customers-caption", "children")],
        [("customers-refresh", "data", 0)],
    )


def _open_at_risk(settings) -> list[tuple[int, str, dict]]:
    with app_db(settings) as db:
        rows = db.execute(
            "SELECT id, key, detail FROM exc_items WHERE type = 'order_at_risk' "
            "AND status IN ('open', 'acknowledged', 'snoozed')"
        ).fetchall()
    return [(r[0], r[1], json.loads(r[2]) if isinstance(r[2], str) else r[2]) for r in rows]


def test_customer_service_lands_on_the_page_and_finds_it_in_the_navigation(app) -> None:
    client = client_as(app, "customer_service")
    assert client.get("/").headers["Location"] == "/customers"
    assert "/customers" in json.dumps(client.get("/_dash-layout").get_json())
    assert client_as(app, "planner").get("/").headers["Location"] == "/planner"


@pytest.mark.parametrize(("role", "code"), [("executive", 200), ("finance", 403)])
def test_who_may_read_it(app, role: str, code: int) -> None:
    assert _customers(client_as(app, role)).status_code == code


def test_customers_group_the_open_at_risk_lines(app, demo_settings) -> None:
    body = _customers(client_as(app, "customer_service")).get_json()["response"]
    rows = body["customers-grid"]["rowData"]
    items = _open_at_risk(demo_settings)
    assert items, "the demo has lines at risk"
    assert sum(r["lines"] for r in rows) == len(items)
    by_customer: dict[str, int] = {}
    for _, _, d in items:
        by_customer[d["customer_id"]] = by_customer.get(d["customer_id"], 0) + 1
    assert {r["customer_id"]: r["lines"] for r in rows} == by_customer
    values = [r["value_at_risk"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert "at risk for" in body["customers-caption"]["children"]


def test_a_customer_narrows_the_lines_and_shows_those_behind_otif(app, snapshot) -> None:
    client = client_as(app, "customer_service")
    top = _customers(client).get_json()["response"]["customers-grid"]["rowData"][0]
    as_of = snapshot.execute("SELECT max(as_of) FROM kpi.values").fetchone()[0]
    start = as_of - timedelta(days=60)
    response = post_callback(
        client,
        [("customers-lines", "rowData"), ("customers-otif", "rowData")],
        [
            ("customers-grid", "selectedRows", [top]),
            ("customers-start", "value", start.isoformat()),
            ("customers-end", "value", as_of.isoformat()),
            ("customers-refresh", "data", 0),
        ],
    )
    body = response.get_json()["response"]
    lines, otif = body["customers-lines"]["rowData"], body["customers-otif"]["rowData"]
    assert len(lines) == top["lines"]
    assert {r["customer_id"] for r in lines} == {top["customer_id"]}
    (due,) = snapshot.execute(
        "SELECT count(*) FROM sales_order_lines WHERE customer_id = ? AND status <> 'cancelled' "
        "AND first_promised_date BETWEEN ? AND ?",
        [top["customer_id"], start, as_of],
    ).fetchone()
    assert len(otif) == due > 0
    assert {r["missed"].split(" ")[0] for r in otif} <= {"yes", "no"}


def test_an_executive_reads_but_may_not_re_promise(app) -> None:
    client = client_as(app, "executive")
    row = {"order_id": "X", "line_no": 1, "item_id": "I", "location_id": "L",
           "promised_date": None, "first_promised_date": None, "atp_date": None}  # fmt: skip
    chosen = post_callback(
        client,
        [
            ("customers-chosen", "children"),
            ("customers-date", "value"),
            ("customers-submit", "disabled"),
        ],
        [("customers-lines", "selectedRows", [row])],
    )
    assert chosen.get_json()["response"]["customers-submit"]["disabled"] is True
    refused = post_callback(
        client,
        SUBMIT_OUT,
        [("customers-submit", "n_clicks", 1)],
        [
            ("customers-lines", "selectedRows", [row]),
            ("customers-date", "value", "2030-01-01"),
            ("customers-reason", "value", "x"),
            ("customers-refresh", "data", 0),
        ],
    )
    assert refused.status_code == 403


@pytest.fixture
def own_app(demo_settings, tmp_path: Path) -> tuple[Any, Any]:
    settings = private_copy(demo_settings, tmp_path / "home")
    return create_app(settings, accounts=cheap_accounts(settings)), settings


def test_a_covered_re_promise_closes_the_item_and_drafts_the_message(own_app) -> None:
    app, settings = own_app
    client = client_as(app, "customer_service")
    item_id, _key, detail = next(i for i in _open_at_risk(settings) if i[2].get("atp_date"))
    row = {"order_id": detail["order_id"], "line_no": detail["line_no"]}
    submit = post_callback(
        client,
        SUBMIT_OUT,
        [("customers-submit", "n_clicks", 1)],
        [("customers-lines", "selectedRows", [row]),
         ("customers-date", "value", detail["atp_date"]),
         ("customers-reason", "value", "supplier delay"), ("customers-refresh", "data", 3)],
    )  # fmt: skip
    body = submit.get_json()["response"]
    assert "its at-risk item is closed" in body["customers-result"]["children"]
    assert (
        f"order {detail['order_id']}, line {detail['line_no']}"
        in body["customers-message"]["value"]
    )
    assert body["customers-refresh"]["data"] == 4
    with app_db(settings) as db:
        status, code = db.execute(
            "SELECT status, resolution_code FROM exc_items WHERE id = ?", [item_id]
        ).fetchone()
    assert (status, code) == ("resolved", "re_promised")
    wrong = post_callback(
        client,
        SUBMIT_OUT,
        [("customers-submit", "n_clicks", 2)],
        [("customers-lines", "selectedRows", [row]), ("customers-date", "value", "2001-01-01"),
         ("customers-reason", "value", "x"), ("customers-refresh", "data", 4)],
    )  # fmt: skip
    assert (
        "Not re-promised: date='2001-01-01'"
        in wrong.get_json()["response"]["customers-result"]["children"]
    )
    assert date.fromisoformat(detail["atp_date"])
