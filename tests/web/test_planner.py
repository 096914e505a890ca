"""The planner's pages on the server, through Flask's test client (no browser).

Two private copies of the demo folder (conftest.py `demo_settings`): one with
the risk model's tables written in (tests/support/risk_scores.py), one without
(the days-of-cover rule's exception items rank the queue). Every expected
number comes from an independent query on the same snapshot.
"""

from __future__ import annotations

import sys

import dash
import duckdb
import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.storage.serving import current_snapshot, open_snapshot
from control_tower.web import create_app
from tests.support.dash_callbacks import callback_body
from tests.support.risk_scores import METRICS, scored_copy, unscored_copy
from tests.support.web_users import PASSWORD, USERS, cheap_accounts, signed_in

# The 500-row answer of the queue on the small demo (it was 404 KB with a field name per value).
MAX_QUEUE_ANSWER_BYTES = 200_000
SCOPED = "pnj"  # a planner who sees only DC-NJ
FILTER_IDS = ("from", "to", "grain", "entity", "location")


def queue_body(*, entity=None, location=None, min_prob=None, search="", refresh=0) -> dict:
    """The load_queue callback as the browser posts it."""
    values = {"from": None, "to": None, "grain": "day", "entity": entity, "location": location}
    inputs = [(f"planner-filter-{k}", "value", values[k]) for k in FILTER_IDS]
    inputs += [
        ("planner-min-prob", "value", min_prob),
        ("planner-search", "value", search),
        ("planner-refresh", "data", refresh),
    ]
    outputs = [
        ("planner-rows", "data"),
        ("planner-caption", "children"),
        ("planner-model", "children"),
        ("planner-asof", "children"),
        ("planner-min-prob", "disabled"),
    ]
    return callback_body(outputs, inputs, changed="planner-search.value")


ACTION_BUTTONS = ("ack", "assign-me", "assign", "snooze", "resolve", "comment")


def act_body(button: str, rows: list[dict], **states) -> dict:
    """The act_on_selection callback: `button` clicked with `rows` selected."""
    inputs = [(f"planner-{b}", "n_clicks", int(b == button)) for b in ACTION_BUTTONS]
    state = [
        ("planner-queue", "selectedRows", rows),
        ("planner-assignee", "value", states.get("assignee")),
        ("planner-snooze-until", "value", states.get("until")),
        ("planner-reason", "value", states.get("reason")),
        ("planner-note", "value", states.get("note")),
        ("planner-refresh", "data", 0),
    ]
    outputs = [("planner-result", "children"), ("planner-refresh", "data")]
    return callback_body(outputs, inputs, state, changed=f"planner-{button}.n_clicks")


def item_body(location: str, item: str, horizon: int = 56) -> dict:
    """The drill's load_item callback for one item-location."""
    outputs = [("planner-item-body", "children"), ("planner-item-title", "children")]
    inputs = [
        ("planner-item-key", "data", {"location": location, "item": item}),
        ("planner-item-horizon", "value", horizon),
    ]
    return callback_body(outputs, inputs)


def _post(client, body: dict) -> dict:
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


def _grid_rows(answer: dict) -> list[dict]:
    """The queue grid's rows from the callback's compact answer, as the page's clientside
    callback (assets/clientside.js `rowsFromColumns`) rebuilds them."""
    data = answer["planner-rows"]["data"]
    return [dict(zip(data["fields"], values, strict=True)) for values in data["values"]]


def _text(node) -> str:
    """All text of a Dash component tree as JSON (children strings joined)."""
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list):
        return " ".join(_text(n) for n in node)
    if isinstance(node, dict):
        props = node.get("props", {})
        return _text(props.get("children")) if "props" in node else ""
    return ""


def _snapshot(settings) -> duckdb.DuckDBPyConnection:
    return open_snapshot(current_snapshot(settings.serving_dir))


@pytest.fixture(scope="module")
def scored_settings(demo_settings, tmp_path_factory):
    settings = scored_copy(demo_settings, tmp_path_factory.mktemp("planner-scored"))
    with cheap_accounts(settings) as accounts:
        accounts.create_user(SCOPED, "planner", PASSWORD, locations=["DC-NJ"])
    return settings


@pytest.fixture(scope="module")
def rule_settings(demo_settings, tmp_path_factory):
    return unscored_copy(demo_settings, tmp_path_factory.mktemp("planner-rule"))


@pytest.fixture(scope="module")
def scored_app(scored_settings):
    return create_app(scored_settings, accounts=cheap_accounts(scored_settings))


@pytest.fixture(scope="module")
def rule_app(rule_settings):
    return create_app(rule_settings, accounts=cheap_accounts(rule_settings))


def _client(app, name: str = USERS["planner"]):
    return signed_in(app, name)


class TestScoredQueue:
    def test_rows_are_ranked_by_risk_value(self, scored_app, scored_settings):
        answer = _post(_client(scored_app), queue_body())
        rows = _grid_rows(answer)
        with _snapshot(scored_settings) as con:
            expected = con.execute(
                "SELECT location_id || '|' || item_id FROM risk.stockout_scores "
                "ORDER BY risk_value DESC NULLS LAST, probability DESC, location_id, item_id "
                "LIMIT 500"
            ).fetchall()
            total = con.execute("SELECT count(*) FROM risk.stockout_scores").fetchone()[0]
        assert [r["row_id"] for r in rows] == [e[0] for e in expected]
        assert f"{total:,}" in answer["planner-caption"]["children"]
        assert rows[0]["reasons"].startswith(("↑", "↓"))
        assert rows[0]["action"]

    def test_the_queue_answer_is_small_and_carries_every_column(self, scored_app):
        response = _client(scored_app).post("/_dash-update-component", json=queue_body())
        rows = _grid_rows(response.get_json()["response"])
        assert len(rows) == 500
        assert len(response.get_data()) < MAX_QUEUE_ANSWER_BYTES
        page = next(p for p in dash.page_registry.values() if p["path"] == "/planner")
        columns = sys.modules[page["module"]].QUEUE_COLUMNS  # the grid's columns
        fields = {c["field"] for c in columns} | {
            c["tooltipField"] for c in columns if "tooltipField" in c
        }
        fields |= {"row_id", "exc_id", "exc_version"}  # row ids; what the triage actions send
        assert all(fields <= set(r) for r in rows)
        top = rows[0]
        assert top["reasons"].startswith(("↑", "↓"))
        assert "(" not in top["reasons"]  # explanations of the drivers are on the drill
        assert top["item_link"].startswith(f"[{top['item_id']}](/planner/")

    def test_the_model_accuracy_line_comes_from_risk_models(self, scored_app):
        answer = _post(_client(scored_app), queue_body())
        text = _text(answer["planner-model"]["children"])
        model, base = METRICS["model"], METRICS["baseline"]
        assert "Model v3 trained 2026-11-20 on 2026-06..2026-10" in text
        assert f"ROC AUC {model['roc_auc']:.2f} vs {base['roc_auc']:.2f}" in text
        top = f"top {model['k']}: {model['precision_at_k']:.0%} vs {base['precision_at_k']:.0%}"
        assert top in text
        assert answer["planner-min-prob"]["disabled"] is False

    def test_min_probability_and_search_narrow_the_queue(self, scored_app, scored_settings):
        client = _client(scored_app)
        rows = _grid_rows(_post(client, queue_body(min_prob=80)))
        with _snapshot(scored_settings) as con:
            count = con.execute(
                "SELECT count(*) FROM risk.stockout_scores WHERE probability >= 0.8"
            ).fetchone()[0]
            item = con.execute(
                "SELECT item_id FROM risk.stockout_scores ORDER BY risk_value DESC LIMIT 1"
            ).fetchone()[0]
            sites = con.execute(
                "SELECT count(*) FROM risk.stockout_scores WHERE item_id = ?", [item]
            ).fetchone()[0]
        assert len(rows) == min(count, 500)
        assert all(r["probability"] >= 0.8 for r in rows)
        found = _grid_rows(_post(client, queue_body(search=item.lower())))
        assert {r["item_id"] for r in found} == {item}
        assert len(found) == sites

    def test_a_scoped_planner_sees_only_their_location(self, scored_app, scored_settings):
        client = _client(scored_app, SCOPED)
        rows = _grid_rows(_post(client, queue_body()))
        with _snapshot(scored_settings) as con:
            count = con.execute(
                "SELECT count(*) FROM risk.stockout_scores WHERE location_id = 'DC-NJ'"
            ).fetchone()[0]
        assert len(rows) == count > 0
        assert {r["location_id"] for r in rows} == {"DC-NJ"}
        # The URL may narrow the view, never widen it.
        wider = _post(client, queue_body(location="DC-CHI"))
        assert _grid_rows(wider) == []
        assert "scope" in wider["planner-caption"]["children"]


class TestRuleFallback:
    def test_without_scores_the_rule_items_rank_the_queue_with_a_banner(
        self, rule_app, rule_settings
    ):
        answer = _post(_client(rule_app), queue_body())
        rows = _grid_rows(answer)
        with _snapshot(rule_settings) as con:
            expected = con.execute(
                "SELECT key FROM exc.queue_items WHERE type = 'stockout_risk' "
                "AND status IN ('open', 'acknowledged', 'snoozed') "
                "ORDER BY value_at_risk DESC NULLS LAST, "
                "TRY_CAST(json_extract_string(detail, '$.days_of_cover') AS DOUBLE) "
                "ASC NULLS FIRST, location_id, item_id LIMIT 500"
            ).fetchall()
        assert [r["row_id"] for r in rows] == [e[0] for e in expected]
        assert all(r["exc_id"] is not None for r in rows)
        text = _text(answer["planner-model"]["children"])
        assert (
            "ranked by the days-of-cover rule: no risk model has scored yet "
            "(control-tower risk train)" in text.lower()
        )
        assert answer["planner-min-prob"]["disabled"] is True


class TestGate:
    def test_an_executive_is_refused_the_pages_and_callbacks(self, scored_app):
        client = _client(scored_app, USERS["executive"])
        assert client.get("/planner").status_code == 403
        assert client.get("/planner/DC-NJ/SKU100001").status_code == 403
        for body in (queue_body(), act_body("ack", []), item_body("DC-NJ", "SKU100001")):
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code == 403

    def test_the_planner_opens_both_pages(self, scored_app):
        client = _client(scored_app)
        assert client.get("/planner").status_code == 200
        assert client.get("/planner/DC-NJ/SKU100001").status_code == 200


class TestTriageActions:
    def _rows(self, client, **kw) -> list[dict]:
        return _grid_rows(_post(client, queue_body(**kw)))

    def test_acknowledge_is_stored_and_a_stale_version_is_a_conflict(
        self, scored_app, scored_settings
    ):
        client = _client(scored_app)
        target = next(r for r in self._rows(client) if r["status"] == "open")
        answer = _post(client, act_body("ack", [target]))
        assert "1 item done" in _text(answer["planner-result"]["children"])
        again = {r["row_id"]: r for r in self._rows(client)}[target["row_id"]]
        assert again["status"] == "acknowledged"
        with ExceptionStore.open(scored_settings.app_db_url) as store:
            item = store.get(target["exc_id"])
        assert item.status == "acknowledged"
        assert item.version == target["exc_version"] + 1
        # The same click from a page that still shows the old version changes nothing.
        stale = _post(client, act_body("assign-me", [target]))
        assert "conflict" in _text(stale["planner-result"]["children"])
        with ExceptionStore.open(scored_settings.app_db_url) as store:
            assert store.get(target["exc_id"]).assignee is None

    def test_assign_snooze_resolve_and_comment(self, scored_app, scored_settings):
        client = _client(scored_app)
        rows = [r for r in self._rows(client, location="DC-RNO") if r["status"] == "open"][:2]
        assert len(rows) == 2
        first = _post(client, act_body("assign", rows, assignee=USERS["admin"]))
        assert "2 items done" in _text(first["planner-result"]["children"])
        rows = [
            r
            for r in self._rows(client, location="DC-RNO")
            if r["row_id"] in {x["row_id"] for x in rows}
        ]
        assert {r["assignee"] for r in rows} == {USERS["admin"]}
        _post(client, act_body("comment", rows[:1], note="called the supplier"))
        rows = [
            r
            for r in self._rows(client, location="DC-RNO")
            if r["row_id"] in {x["row_id"] for x in rows}
        ]
        _post(client, act_body("snooze", rows[:1], until="2999-01-01"))
        _post(client, act_body("resolve", rows[1:], reason="fixed"))
        with ExceptionStore.open(scored_settings.app_db_url) as store:
            snoozed, resolved = store.get(rows[0]["exc_id"]), store.get(rows[1]["exc_id"])
            comments = store.comments(rows[0]["exc_id"])
        assert snoozed.status == "snoozed"
        assert resolved.status == "resolved"
        assert resolved.resolution_code == "fixed"
        assert [c.body for c in comments] == ["called the supplier"]

    def test_bad_input_is_refused_with_a_message(self, scored_app):
        client = _client(scored_app)
        row = self._rows(client)[0]
        for button, states in (
            ("resolve", {"reason": "because"}),
            ("assign", {"assignee": "nobody"}),
            ("snooze", {"until": "not a date"}),
            ("comment", {"note": "   "}),
        ):
            answer = _post(client, act_body(button, [row], **states))
            assert "Not saved" in _text(answer["planner-result"]["children"])

    def test_items_out_of_scope_are_refused_whatever_the_browser_sends(
        self, scored_app, scored_settings
    ):
        with ExceptionStore.open(scored_settings.app_db_url) as store:
            other = next(
                i
                for i in store.items(type="stockout_risk", status="open")
                if i.location_id != "DC-NJ"
            )
        forged = {"exc_id": other.id, "exc_version": other.version, "row_id": other.key}
        answer = _post(_client(scored_app, SCOPED), act_body("ack", [forged]))
        assert "not found in your scope" in _text(answer["planner-result"]["children"])
        with ExceptionStore.open(scored_settings.app_db_url) as store:
            assert store.get(other.id).status == "open"


class TestDrill:
    def test_a_known_item_location_shows_the_projection(self, scored_app, scored_settings):
        with _snapshot(scored_settings) as con:
            loc, item, desc = con.execute(
                "SELECT s.location_id, s.item_id, i.description FROM risk.stockout_scores s "
                "JOIN items i USING (item_id) ORDER BY risk_value DESC LIMIT 1"
            ).fetchone()
        answer = _post(_client(scored_app), item_body(loc, item))
        body = answer["planner-item-body"]["children"]
        assert "planner-item-projection" in str(body)
        assert "planner-item-drivers" in str(body)
        assert desc in answer["planner-item-title"]["children"]

    @pytest.mark.parametrize(
        ("location", "item"), [("DC-XX", "SKU100001"), ("DC-NJ", "NOPE"), ("DC-NJ", "x" * 200)]
    )
    def test_unknown_ids_are_not_found(self, scored_app, location, item):
        answer = _post(_client(scored_app), item_body(location, item))
        assert "Not found in your scope" in _text(answer["planner-item-body"]["children"])

    def test_a_scoped_planner_cannot_open_another_location(self, scored_app, scored_settings):
        with _snapshot(scored_settings) as con:
            item = con.execute(
                "SELECT item_id FROM risk.stockout_scores WHERE location_id = 'DC-CHI' LIMIT 1"
            ).fetchone()[0]
        answer = _post(_client(scored_app, SCOPED), item_body("DC-CHI", item))
        assert "Not found in your scope" in _text(answer["planner-item-body"]["children"])
        mine = _post(_client(scored_app, SCOPED), item_body("DC-NJ", item))
        assert "Not found" not in _text(mine["planner-item-body"]["children"])
        assert "DC-CHI" not in str(mine["planner-item-body"]["children"])
