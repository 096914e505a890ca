"""The KPI catalog's callbacks: every KPI, search, freshness, history, and a card's compiled
SQL sent only when it is unfolded."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta

import pytest

from control_tower.views.kpi import cached_catalog
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.dash_callbacks import by_id, post_callback, signed_in, text, walk
from tests.support.demo_data import DEMO_NOW
from tests.support.web_users import USERS

OUTPUTS = [("catalog-list", "children"), ("catalog-count", "children")]


def _show(app, words="", status="all", user="warehouse_supervisor"):
    inputs = [("catalog-search", "value", words), ("catalog-status", "value", status)]
    response = post_callback(signed_in(app, USERS[user]), OUTPUTS, inputs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def _cards(out):
    return [
        c["props"]["id"].removeprefix("catalog-card-")
        for c in walk(out["catalog-list"]["children"])
        if str(c["props"].get("id", "")).startswith("catalog-card-")
    ]


def test_every_role_sees_every_kpi_certified_first(app, demo_settings):
    out = _show(app)
    catalog = cached_catalog(demo_settings.kpi_definitions)
    names = _cards(out)
    assert sorted(names) == sorted(catalog.kpis)
    statuses = [catalog.kpi(n).status for n in names]
    assert statuses == sorted(statuses, key=lambda s: s != "certified")
    assert out["catalog-count"]["children"] == f"{len(names)} KPIs of {len(names)}"


def test_a_card_shows_tables_freshness_and_history(app):
    card = by_id(_show(app, "line_fill")["catalog-list"]["children"], "catalog-card-line_fill_rate")
    words = text(card)
    assert "customer-service" in words
    assert "Certified" in words
    assert "sales_order_lines" in words
    assert "Fresh" in words
    assert "v1" in words
    assert "current" in words


def _sql_body(name, shown=None):
    """The body the browser posts when a card's "Compiled SQL" is clicked."""
    wild = json.dumps({"kpi": ["MATCH"], "type": "catalog-sql"}, separators=(",", ":"))
    code = {"kpi": name, "type": "catalog-sql"}
    toggle = {"kpi": name, "type": "catalog-sql-toggle"}
    return {
        "output": f"..{wild}.children...{wild}.className..",
        "outputs": [{"id": code, "property": "children"}, {"id": code, "property": "className"}],
        "inputs": [{"id": toggle, "property": "n_clicks", "value": 1}],
        "state": [{"id": code, "property": "className", "value": shown}],
        "changedPropIds": [json.dumps(toggle, separators=(",", ":")) + ".n_clicks"],
    }


def _unfold(app, name, shown=None):
    client = signed_in(app, USERS["finance"])
    return client.post("/_dash-update-component", json=_sql_body(name, shown))


def test_the_list_carries_no_sql_until_a_card_is_unfolded(app):
    out = _show(app)
    assert "-- kpi:" not in json.dumps(out)
    card = by_id(out["catalog-list"]["children"], "catalog-card-line_fill_rate")
    assert "Compiling the SQL" in text(card)


def test_unfolding_a_card_sends_its_sql_once(app):
    answer = _unfold(app, "line_fill_rate")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (shown,) = answer.get_json()["response"].values()
    assert shown["children"].startswith("-- kpi: line_fill_rate v1")
    assert "FROM" in shown["children"]
    # Folded and unfolded again: what the card holds is kept, nothing is sent.
    assert _unfold(app, "line_fill_rate", shown["className"]).status_code == 204


def test_unfolding_an_unknown_kpi_says_so(app):
    answer = _unfold(app, "no_such_kpi")
    assert answer.status_code == 200
    (shown,) = answer.get_json()["response"].values()
    assert shown["children"] == "-- no KPI is named 'no_such_kpi' in the catalog"


@pytest.mark.parametrize(
    ("words", "status", "expected"),
    [
        ("customer-service", "all", {"line_fill_rate", "unit_fill_rate", "order_fill_rate"}),
        ("", "certified", None),
        ("no such words", "all", set()),
    ],
)
def test_search_and_status_filter(app, demo_settings, words, status, expected):
    names = set(_cards(_show(app, words, status)))
    if expected is None:
        catalog = cached_catalog(demo_settings.kpi_definitions)
        expected = {k.name for k in catalog.kpis.values() if k.status == "certified"}
    assert expected <= names if words == "customer-service" else names == expected


def test_a_card_lists_the_exception_types_behind_the_kpi_or_no_queue_yet(app):
    cards = _show(app)["catalog-list"]["children"]
    accuracy = text(by_id(cards, "catalog-card-inventory_record_accuracy"))
    assert (
        "Exception types Cycle count outside tolerance (cycle_count_variance), "
        "Unusual stock adjustment (adjustment_anomaly)"
    ) in accuracy
    assert "no queue yet" not in accuracy
    assert "Exception types no queue yet" in text(by_id(cards, "catalog-card-inventory_turns"))
    otif = text(by_id(cards, "catalog-card-otif_requested"))
    assert "Missed promise (missed_promise), Order line at risk (order_at_risk)" in otif
    aging = text(by_id(cards, "catalog-card-exception_aging"))
    assert "Exception types every item past its SLA, of any type" in aging


def test_cards_are_built_once_per_snapshot_and_minute_whatever_the_search(app, monkeypatch):
    page = importlib.import_module("control_tower.web.pages.catalog")  # once the app has it
    app.server.extensions[EXTENSION_KEY].cache("catalog.cards", 1).clear()
    built = []
    card = page._card
    monkeypatch.setattr(
        page, "_card", lambda kpi, *rest: built.append(kpi.name) or card(kpi, *rest)
    )
    # The page's clock stands still inside each block (the product's clock runs on from
    # CONTROL_TOWER_NOW, and a slow first build must not cross into the next minute).
    monkeypatch.setattr(page, "utc_now", lambda: DEMO_NOW)
    first = _show(app, "fill")
    _show(app, "rate")
    _show(app)
    assert sorted(built) == sorted(_cards(_show(app)))  # every card once, for every search
    monkeypatch.setattr(page, "utc_now", lambda: DEMO_NOW + timedelta(hours=30))
    later = _show(app, "fill")  # a later minute: built again, older
    assert len(built) == 2 * len(set(built))
    tile = "catalog-card-line_fill_rate"
    assert "Stale" not in text(by_id(first["catalog-list"]["children"], tile))
    assert "Stale" in text(by_id(later["catalog-list"]["children"], tile))
