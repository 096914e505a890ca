"""The "Promise an order" page's callbacks on the hand-drawn delivery (tests.support.promise_case).

I1 at L1 (entity E1), as of T = 2026-03-18: A = 85, 65 (03-19), 15 (03-22), 111 (03-25),
51 (03-28), 151 (04-10). L3 (E1) holds 40 of I1, nothing moving; L2 belongs to E2. The
planner "pia" sees entity E1 (L1, L3), not L2.
"""

from __future__ import annotations

from typing import Any

import pytest

from control_tower.settings import load_settings
from control_tower.web import create_app
from tests.support import promise_page as page
from tests.support.dash_callbacks import callback_body, find, open_page, text
from tests.support.promise_case import land_promising_case
from tests.support.web_users import PASSWORD, cheap_accounts, signed_in

USERS = {
    "planner": "pia",
    "customer_service": "cas",
    "executive": "eve",
    "admin": "ada",
    "warehouse_supervisor": "sam",
    "finance": "fin",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = land_promising_case(tmp_path_factory.mktemp("promise-page") / "home")
    settings = load_settings(home).with_home(home)
    with cheap_accounts(settings) as accounts:
        for role, name in USERS.items():
            entities = ["E1"] if role in ("planner", "customer_service") else []
            locations = ["L1"] if role == "warehouse_supervisor" else []
            accounts.create_user(name, role, PASSWORD, entities=entities, locations=locations)
    return create_app(settings, accounts=cheap_accounts(settings))


def test_an_order_gets_a_date_partial_and_alternative_per_line(app) -> None:
    rows = page.check(
        signed_in(app, "pia"),
        [
            page.line("I1", 10, "2026-03-20", n=1),
            page.line("I1", 30, "2026-03-20", n=2),
            page.line("I1", 60, "2026-03-26", n=3),
            page.line("I1", 200, "2026-03-20", n=4),
            page.line("", "", n=5),
        ],
    )
    got = [(r["promise"], r["status"], r["partial"]) for r in rows[:4]]
    assert got == [
        ("2026-03-20", "Promisable on the wanted day", 10.0),
        ("2026-03-25", "Part on the wanted day, the rest later", 15.0),
        ("2026-04-10", "Part on the wanted day, the rest later", 51.0),
        ("", "Not promisable within the horizon", 15.0),
    ]
    assert rows[1]["alternatives"] == "L3 2026-03-20"  # L2 (entity E2) is never offered
    assert rows[0]["alternatives"] == ""
    assert rows[1]["note"].startswith("no trained late_order model")
    assert rows[4]["promise"] == rows[4]["error"] == ""  # a blank line stays blank


def test_each_bad_line_gets_its_own_error_and_the_rest_is_answered(app) -> None:
    rows = page.check(
        signed_in(app, "pia"),
        [
            page.line("I1", 10, "2026-03-20", n=1),
            page.line("NOPE", 5, "2026-03-20", n=2),
            page.line("I1", "ten", n=3),
            page.line("I1", -4, n=4),
            page.line("I1", 5, "20/03/2026", n=5),
            page.line("I1", 2, "2026-03-19", n=6, uom="CS"),
        ],
    )
    assert rows[0]["promise"] == "2026-03-20"
    assert rows[1]["error"] == "item='NOPE': no such item in the item master"
    assert rows[2]["error"] == "qty='ten': the quantity must be a number"
    assert "quantity must be a positive number" in rows[3]["error"]
    assert rows[4]["error"] == "date='20/03/2026': the date must be YYYY-MM-DD"
    assert (rows[5]["promise"], rows[5]["partial"]) == ("2026-03-25", 15.0)  # 2 cases = 24
    assert [bool(r["promise"]) for r in rows] == [True, False, False, False, False, True]


def test_a_site_outside_the_scope_is_refused_not_answered(app) -> None:
    rows = page.check(
        signed_in(app, "pia"),
        [page.line("I1", 10, "2026-03-20", site="L2", n=1), page.line("I1", 10, "2026-03-20", n=2)],
    )
    assert rows[0]["error"] == "site 'L2' is not one of your sites"
    assert rows[0]["promise"] == rows[0]["status"] == ""
    assert rows[1]["promise"] == "2026-03-20"
    # The projection of a line outside the scope is refused as well.
    answer = page.post_projection(
        signed_in(app, "pia"), page.line("I1", 10, "2026-03-20", site="L2")
    ).get_json()
    assert "not one of your sites" in text(answer["response"][page.PROJECTION]["children"])


def test_the_selected_line_draws_its_projection(app) -> None:
    response = page.post_projection(signed_in(app, "cas"), page.line("I1", 30, "2026-03-20"))
    assert response.status_code == 200, response.get_data(as_text=True)
    figure = find(response.get_json()["response"][page.PROJECTION]["children"], page.CHART)
    figure = figure["props"]["figure"]
    traces = {t["name"]: t for t in figure["data"]}
    assert traces["Available"]["y"][:2] == [85.0, 65.0]
    assert traces["Supply (PO)"]["text"] == ["+20", "+96", "+100"]
    assert traces["Demand (orders)"]["text"] == ["-40", "-50", "-60"]
    assert traces["Free to promise from this day"]["y"][2] == 15.0
    notes = {n["text"] for n in figure["layout"]["annotations"]}
    assert {" wanted 2026-03-20", " promisable 2026-03-25", "asked 30"} <= notes


def test_a_url_line_is_answered_at_once_and_selected(app) -> None:
    client = signed_in(app, "eve")
    assert client.get("/promise?item=I1&location=L1&qty=30&date=2026-03-20").status_code == 200
    response = page.post_order(client, page.AUTO, [page.line("I1", 30, "2026-03-20")], auto=True)
    answer = response.get_json()["response"]
    assert answer[page.GRID]["rowData"][0]["promise"] == "2026-03-25"
    assert answer[page.GRID]["selectedRows"][0]["row_id"] == "1"
    # Not promisable within the horizon: still selected, so that its projection shows why.
    response = page.post_order(client, page.AUTO, [page.line("I1", 200, "2026-03-20")], auto=True)
    assert response.get_json()["response"][page.GRID]["selectedRows"][0]["promise"] == ""
    # The query fills the grid's one line and asks for its answer; without one, five empty lines.
    body = callback_body(
        [("_pages_content", "children"), ("_pages_store", "data")],
        [
            ("_pages_location", "pathname", "/promise"),
            ("_pages_location", "search", "?item=I1&location=L3&qty=5&date=2026-03-20"),
        ],
    )
    layout = client.post("/_dash-update-component", json=body).get_json()["response"]
    (filled,) = find(layout, page.GRID)["props"]["rowData"]
    assert (filled["item"], filled["site"], filled["qty"], filled["date"]) == (
        "I1",
        "L3",
        "5",
        "2026-03-20",
    )
    assert find(layout, page.AUTO)["props"]["data"] is True
    assert len(find(open_page(client, "/promise"), page.GRID)["props"]["rowData"]) == 5


def test_pasted_lines_become_grid_lines(app) -> None:
    pasted = "item,qty,date,site\nI1,10,2026-03-20,L3\nI2;5\n\nI1\t7\t2026-04-01\tL1\tcs\tC1\n"
    response = page.post_order(
        signed_in(app, "pia"), page.PASTE_ADD, [page.line("", "", site="L1")], pasted
    )
    rows = response.get_json()["response"][page.GRID]["rowData"]
    assert [(r["row_id"], r["item"], r["qty"], r["date"], r["site"]) for r in rows] == [
        ("1", "I1", "10", "2026-03-20", "L3"),
        ("2", "I2", "5", "", "L1"),
        ("3", "I1", "7", "2026-04-01", "L1"),
    ]
    assert [(r["uom"], r["customer"]) for r in rows] == [("EA", ""), ("EA", ""), ("CS", "C1")]


@pytest.mark.parametrize("role", ["warehouse_supervisor", "finance"])
def test_other_roles_get_403(app, role) -> None:
    client = signed_in(app, USERS[role])
    assert client.get("/promise").status_code == 403
    assert page.post_order(client, page.CHECK, [page.line("I1", 10)]).status_code == 403
    assert page.post_projection(client, page.line("I1", 10)).status_code == 403


@pytest.mark.parametrize("role", ["planner", "customer_service", "executive", "admin"])
def test_the_page_is_in_the_navigation_of_its_roles(app, role) -> None:
    client = signed_in(app, USERS[role])
    assert "Promise an order" in client.get("/_dash-layout").get_data(as_text=True)
    layout = open_page(client, "/promise")
    sites = find(layout, page.GRID)["props"]["columnDefs"][4]["cellEditorParams"]["values"]
    assert sites == (
        ["L1", "L3"] if role in ("planner", "customer_service") else ["L1", "L2", "L3"]
    )
