"""The supplier pages on the small demo (callbacks through Flask's test client): who may read
them, the scorecards against an independent query, a supervisor's scope, the drill."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from control_tower.storage.serving import published_as_of
from tests.support.dash_callbacks import post_callback
from tests.support.suppliers import independent
from tests.support.web_users import SUPERVISOR_SITE, client_as

LIST_OUT = [("suppliers-grid", "rowData"), ("suppliers-caption", "children")]
DETAIL_OUT = [("suppliers-detail-body", "children"), ("suppliers-detail-title", "children")]


def _list(client, start: date, end: date) -> Any:
    return post_callback(
        client,
        LIST_OUT,
        [
            ("suppliers-start", "value", start.isoformat()),
            ("suppliers-end", "value", end.isoformat()),
        ],
    )


def _range(snapshot) -> tuple[date, date]:
    as_of = published_as_of(snapshot)
    return as_of - timedelta(days=90), as_of


@pytest.mark.parametrize(
    ("role", "code"),
    [("planner", 200), ("executive", 200), ("finance", 200), ("warehouse_supervisor", 200),
     ("customer_service", 403)],
)  # fmt: skip
def test_who_may_read_it(app, snapshot, role: str, code: int) -> None:
    assert _list(client_as(app, role), *_range(snapshot)).status_code == code


def test_the_page_is_in_the_navigation_of_its_roles(app) -> None:
    assert "/suppliers" in json.dumps(client_as(app, "finance").get("/_dash-layout").get_json())


def test_scorecards_match_an_independent_query(app, snapshot) -> None:
    start, end = _range(snapshot)
    rows = _list(client_as(app, "planner"), start, end).get_json()["response"]
    got = rows["suppliers-grid"]["rowData"]
    want = independent(snapshot, start, end)
    assert got
    assert {r["supplier_id"] for r in got} == set(want)
    assert sum(r["overdue_lines"] for r in got) > 0, "the demo has overdue lines"
    for row in got:
        due, otif, open_lines, overdue, value = want[row["supplier_id"]]
        assert (row["lines_due"], row["lines_on_time_in_full"]) == (due, otif), row
        assert (row["open_lines"], row["overdue_lines"]) == (open_lines, overdue), row
        assert row["overdue_value"] == pytest.approx(value), row
        assert row["otif"] == (pytest.approx(otif / due, abs=1e-4) if due else None)
        assert row["supplier_link"].endswith(f"(/suppliers/{row['supplier_id']})")


def test_a_supervisor_sees_only_the_lines_of_their_sites(app, snapshot) -> None:
    start, end = _range(snapshot)
    site = SUPERVISOR_SITE
    rows = _list(client_as(app, "warehouse_supervisor"), start, end).get_json()["response"]
    got = {r["supplier_id"]: r for r in rows["suppliers-grid"]["rowData"]}
    want = independent(snapshot, start, end, site)
    assert set(got) == set(want)
    for supplier, (due, otif, open_lines, overdue, _value) in want.items():
        row = got[supplier]
        assert (row["lines_due"], row["lines_on_time_in_full"]) == (due, otif)
        assert (row["open_lines"], row["overdue_lines"]) == (open_lines, overdue)


def test_the_supplier_page_and_an_unknown_supplier(app, snapshot) -> None:
    start, end = _range(snapshot)
    want = independent(snapshot, start, end)
    supplier = max(want, key=lambda s: want[s][3])  # the most overdue lines
    client = client_as(app, "executive")
    detail = [
        ("suppliers-detail-start", "value", start.isoformat()),
        ("suppliers-detail-end", "value", end.isoformat()),
    ]
    body = post_callback(
        client, DETAIL_OUT, [("suppliers-detail-key", "data", supplier), *detail]
    ).get_json()["response"]
    text = json.dumps(body["suppliers-detail-body"]["children"])
    assert body["suppliers-detail-title"]["children"].startswith(supplier)
    assert f"{want[supplier][3]:,}" in text  # the overdue lines tile
    assert f"{want[supplier][4]:,.0f} at standard cost" in text
    missing = post_callback(
        client, DETAIL_OUT, [("suppliers-detail-key", "data", "NO-SUCH"), *detail]
    ).get_json()["response"]
    assert missing["suppliers-detail-title"]["children"] == "Not found in your scope"
