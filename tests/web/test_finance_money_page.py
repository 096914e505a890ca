"""The finance page's money figures and their lines, through Flask's test client on the small
demo: the GRNI total and the write-offs agree with plain queries of the snapshot, the lines
page lists the rows behind a figure (narrowed by the view's site), and the supervisor is
refused by the gate.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from control_tower.kpi.serving import latest_as_of
from control_tower.web.format import fmt_money
from tests.support.dash_callbacks import callback_body, find, page_callback_body, post_as
from tests.support.finance_money import GRNI_SQL


def _finance(app: Any, **values: Any) -> Any:
    response = post_as(app, "finance", page_callback_body("finance", "entity", **values))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]["finance-body"]["children"]


def _lines(app: Any, role: str, **query: Any) -> Any:
    """POST the lines page's one-output callback for this query."""
    body = callback_body(
        [("finance-lines-body", "children")], [("finance-lines-query", "data", query)]
    )
    body |= {
        "output": "finance-lines-body.children",
        "outputs": {"id": "finance-lines-body", "property": "children"},
    }
    return post_as(app, role, body)


def _currency(snapshot: Any) -> str:
    return snapshot.execute("SELECT reporting_currency FROM money.settings").fetchone()[0]


def test_the_grni_tile_is_the_independent_total_and_links_to_its_lines(app, snapshot):
    lines, total = snapshot.execute(GRNI_SQL.format(where="")).fetchone()
    assert lines > 0, "the small demo has goods received not invoiced"
    tile = find(_finance(app), "finance-grni-total")
    assert tile["props"]["children"] == f"{fmt_money(float(total))} {_currency(snapshot)}"
    assert tile["props"]["href"].startswith("/finance/lines?")
    assert "what=grni" in tile["props"]["href"]
    answer = _lines(app, "finance", what="grni")
    assert answer.status_code == 200
    grid = find(
        answer.get_json()["response"]["finance-lines-body"]["children"], "finance-lines-grid"
    )
    rows = grid["props"]["rowData"]
    assert len(rows) == lines
    assert sum(r["amount_reporting"] for r in rows) == pytest.approx(float(total))


def test_the_lines_of_one_site_and_one_age_bucket(app, snapshot):
    site = snapshot.execute("SELECT min(location_id) FROM purchase_order_lines").fetchone()[0]
    lines, _total = snapshot.execute(
        GRNI_SQL.format(where="AND p.location_id = ?"), [site]
    ).fetchone()
    answer = _lines(app, "finance", what="grni", location=site)
    grid = find(
        answer.get_json()["response"]["finance-lines-body"]["children"], "finance-lines-grid"
    )
    rows = grid["props"]["rowData"]
    assert len(rows) == lines
    assert {r["location_id"] for r in rows} <= {site}
    bucket = _lines(app, "finance", what="grni", by="age_bucket", member="0-30 days")
    tree = bucket.get_json()["response"]["finance-lines-body"]["children"]
    assert {r["age_bucket"] for r in find(tree, "finance-lines-grid")["props"]["rowData"]} <= {
        "0-30 days"
    }


def test_write_offs_over_the_range_equal_the_adjustments_down(app, snapshot):
    as_of = latest_as_of(snapshot)
    start = date(as_of.year, as_of.month, 1)
    (total,) = snapshot.execute(
        "SELECT sum(-a.qty_delta * i.unit_cost) FROM inventory_adjustments a "
        "JOIN items i USING (item_id) WHERE a.qty_delta < 0 "
        "AND a.adjusted_at_local_date BETWEEN ? AND ?",
        [start, as_of],
    ).fetchone()
    body = _finance(app, start=start.isoformat(), end=as_of.isoformat())
    text = find(body, "finance-writeoffs-total")["props"]["children"]
    assert text == f"{fmt_money(float(total or 0))} {_currency(snapshot)}"
    assert "finance-unmatched-panel" in json.dumps(body)
    assert "finance-returns-panel" in json.dumps(body)


def test_the_supervisor_may_not_open_the_lines(app):
    response = _lines(app, "warehouse_supervisor", what="grni")
    assert response.status_code == 403


def test_an_unknown_figure_is_explained(app):
    answer = _lines(app, "finance", what="ledger")
    assert "Unknown figure" in json.dumps(answer.get_json())
