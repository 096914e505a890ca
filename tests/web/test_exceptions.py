"""The exception queue's callbacks on the server, through Flask's test client (no browser).

Read-only checks use the shared small demo (`demo_settings`); tests that
change items work on a private copy of its app database and snapshots, so
other tests keep the demo as landed. Expected rows come from SQL run
straight on the app database.
"""

from __future__ import annotations

import csv
import io

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.exceptions.workflow import act
from control_tower.views.kpi import cached_catalog
from control_tower.web import create_app
from tests.support.data_copies import UNRESOLVED, app_db, private_copy, unresolved_ids
from tests.support.web_users import SUPERVISOR_SITE, cheap_accounts, client_as


def view_states(**values) -> list[dict]:
    ids = [
        ("exceptions-type", "value"),
        ("exceptions-kpi", "value"),
        ("exceptions-status", "value"),
        ("exceptions-severity", "value"),
        ("exceptions-filter-entity", "value"),
        ("exceptions-filter-location", "value"),
        ("exceptions-mine", "value"),
        ("exceptions-queues", "value"),
    ]
    defaults = {
        "exceptions-status": "unresolved",
        "exceptions-mine": [],
        "exceptions-queues": "all",
    }
    named = {"entity": "exceptions-filter-entity", "location": "exceptions-filter-location"}
    defaults.update({named.get(k, f"exceptions-{k}"): v for k, v in values.items()})
    return [{"id": i, "property": p, "value": defaults.get(i)} for i, p in ids]


def rows_body(request: dict, **values) -> dict:
    return {
        "output": "..exceptions-grid.getRowsResponse...exceptions-caption.children..",
        "outputs": [
            {"id": "exceptions-grid", "property": "getRowsResponse"},
            {"id": "exceptions-caption", "property": "children"},
        ],
        "inputs": [{"id": "exceptions-grid", "property": "getRowsRequest", "value": request}],
        "state": view_states(**values),
        "changedPropIds": ["exceptions-grid.getRowsRequest"],
    }


def export_body(request: dict, **values) -> dict:
    return {
        "output": "..exceptions-download.data...exceptions-export-note.children..",
        "outputs": [
            {"id": "exceptions-download", "property": "data"},
            {"id": "exceptions-export-note", "property": "children"},
        ],
        "inputs": [{"id": "exceptions-export", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "exceptions-grid", "property": "getRowsRequest", "value": request},
            *view_states(**values),
        ],
        "changedPropIds": ["exceptions-export.n_clicks"],
    }


def bulk_body(selected: list[dict], action: str, **fields) -> dict:
    return {
        "output": "..exceptions-result.children...exceptions-refresh.data..",
        "outputs": [
            {"id": "exceptions-result", "property": "children"},
            {"id": "exceptions-refresh", "property": "data"},
        ],
        "inputs": [{"id": "exceptions-apply", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "exceptions-grid", "property": "selectedRows", "value": selected},
            {"id": "exceptions-action", "property": "value", "value": action},
            {"id": "exceptions-assignee", "property": "value", "value": fields.get("assignee")},
            {"id": "exceptions-until", "property": "date", "value": fields.get("until")},
            {"id": "exceptions-reason", "property": "value", "value": fields.get("reason")},
            {"id": "exceptions-note", "property": "value", "value": fields.get("note")},
        ],
        "changedPropIds": ["exceptions-apply.n_clicks"],
    }


def text_of(component) -> str:
    """All the text in a serialised Dash component tree."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, dict):
        return text_of(component.get("props", {}).get("children") or "")
    return ""


def grid(c, request=None, **values) -> tuple[dict, str]:
    response = c.post(
        "/_dash-update-component",
        json=rows_body(request or {"startRow": 0, "endRow": 100}, **values),
    )
    assert response.status_code == 200, response.data
    answer = response.get_json()["response"]
    return answer["exceptions-grid"]["getRowsResponse"], answer["exceptions-caption"]["children"]


class TestQueueRows:
    def test_the_supervisor_sees_exactly_the_unresolved_dc_nj_items(self, app, demo_settings):
        block, caption = grid(
            client_as(app, "warehouse_supervisor"), {"startRow": 0, "endRow": 1000}
        )
        expected = set(unresolved_ids(demo_settings, SUPERVISOR_SITE))
        assert expected, "the demo has DC-NJ items"
        assert {r["id"] for r in block["rowData"]} == expected
        assert block["rowCount"] == len(expected)
        assert {r["location_id"] for r in block["rowData"]} == {SUPERVISOR_SITE}
        assert caption.startswith(f"{len(expected):,} exception")

    def test_a_forged_location_outside_scope_returns_no_rows(self, app):
        block, caption = grid(client_as(app, "warehouse_supervisor"), location="DC-CHI")
        assert block == {"rowData": [], "rowCount": 0}
        assert "Nothing in your scope" in caption

    def test_my_queues_are_the_ones_the_role_owns(self, app, demo_settings):
        block, _ = grid(client_as(app, "planner"), {"startRow": 0, "endRow": 1000}, queues="mine")
        with app_db(demo_settings) as db:
            (count,) = db.execute(
                f"SELECT count(*) FROM exc_items WHERE owner_role = 'planner' "
                f"AND status IN {UNRESOLVED}"
            ).fetchone()
        assert block["rowCount"] == count > 0
        assert {r["owner_role"] for r in block["rowData"]} == {"planner"}

    def test_a_kpi_drill_down_shows_its_linked_types(self, app, demo_settings):
        kpi = "inventory_record_accuracy"
        block, _ = grid(
            client_as(app, "admin"), {"startRow": 0, "endRow": 1000}, kpi=kpi, status="all"
        )
        linked = list(cached_catalog(demo_settings.kpi_definitions).kpi(kpi).exception_types)
        marks = ", ".join("?" * len(linked))
        with app_db(demo_settings) as db:
            expected = {
                r[0]
                for r in db.execute(f"SELECT id FROM exc_items WHERE type IN ({marks})", linked)
            }
        assert "cycle_count_variance" in linked
        assert {r["id"] for r in block["rowData"]} == expected
        assert expected

    def test_sorted_on_the_server_and_bad_sorts_refused(self, app):
        c = client_as(app, "admin")
        request = {
            "startRow": 0,
            "endRow": 50,
            "sortModel": [{"colId": "value_at_risk", "sort": "desc"}],
        }
        block, _ = grid(c, request)
        values = [r["value_at_risk"] for r in block["rowData"] if r["value_at_risk"] is not None]
        assert values == sorted(values, reverse=True)
        assert len(values) > 1
        bad = {"startRow": 0, "endRow": 50, "sortModel": [{"colId": "key; --", "sort": "asc"}]}
        block, caption = grid(c, bad)
        assert block["rowCount"] == 0
        assert "Cannot apply" in caption

    def test_the_callback_answers_fast(self, app):
        import time

        c = client_as(app, "planner")
        grid(c)
        started = time.perf_counter()
        for _ in range(5):
            grid(
                c,
                {
                    "startRow": 0,
                    "endRow": 100,
                    "sortModel": [{"colId": "age_days", "sort": "desc"}],
                },
            )
        assert (time.perf_counter() - started) / 5 < 0.3


class TestExport:
    def test_the_supervisor_exports_only_dc_nj_rows_in_the_grid_order(self, app, demo_settings):
        c = client_as(app, "warehouse_supervisor")
        request = {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "id", "sort": "desc"}]}
        response = c.post("/_dash-update-component", json=export_body(request))
        answer = response.get_json()["response"]
        data = answer["exceptions-download"]["data"]
        rows = list(csv.DictReader(io.StringIO(data["content"])))
        expected = unresolved_ids(demo_settings, SUPERVISOR_SITE, descending=True)
        assert [int(r["id"]) for r in rows] == expected
        assert {r["location_id"] for r in rows} == {SUPERVISOR_SITE}
        assert data["filename"] == "exceptions.csv"
        assert f"{len(expected):,} rows exported" in answer["exceptions-export-note"]["children"]

    def test_a_forged_location_exports_a_header_only(self, app):
        c = client_as(app, "warehouse_supervisor")
        response = c.post("/_dash-update-component", json=export_body({}, location="DC-CHI"))
        content = response.get_json()["response"]["exceptions-download"]["data"]["content"]
        assert content.strip().splitlines() == [content.strip().splitlines()[0]]
        assert content.startswith("id,type,")


@pytest.fixture(scope="module")
def private(demo_settings, tmp_path_factory):
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("exc-private"))
    return settings, create_app(settings, accounts=cheap_accounts(settings))


class TestBulkActions:
    def test_one_item_changed_meanwhile_is_reported_and_the_others_done(self, private):
        settings, app = private
        c = client_as(app, "planner")
        block, _ = grid(c, queues="mine", status="open")
        picked = block["rowData"][:3]
        with ExceptionStore.open(settings.app_db_url) as store:
            act(store, picked[1]["id"], "comment", user="ada", note="looking at it")
        selected = [{"id": r["id"], "version": r["version"]} for r in picked]
        response = c.post("/_dash-update-component", json=bulk_body(selected, "acknowledge"))
        answer = response.get_json()["response"]
        message = text_of(answer["exceptions-result"]["children"])
        assert "2 done, 1 changed by ada meanwhile" in message
        assert answer["exceptions-refresh"]["data"]["done"] == [picked[0]["id"], picked[2]["id"]]
        with app_db(settings) as db:
            status = dict(
                db.execute(
                    "SELECT id, status FROM exc_items WHERE id IN (?, ?, ?)",
                    [r["id"] for r in picked],
                ).fetchall()
            )
        assert status == {
            picked[0]["id"]: "acknowledged",
            picked[1]["id"]: "open",
            picked[2]["id"]: "acknowledged",
        }

    def test_ids_outside_scope_are_refused_one_by_one(self, private):
        settings, app = private
        with app_db(settings) as db:
            outside, version = db.execute(
                "SELECT id, version FROM exc_items WHERE location_id = 'DC-CHI' AND status = 'open' "
                "LIMIT 1"
            ).fetchone()
        c = client_as(app, "warehouse_supervisor")
        selected = [{"id": outside, "version": version}]
        response = c.post(
            "/_dash-update-component", json=bulk_body(selected, "comment", note="forged")
        )
        message = text_of(response.get_json()["response"]["exceptions-result"]["children"])
        assert "0 done" in message
        assert f"no exception {outside} in your scope" in message
        with app_db(settings) as db:
            assert db.execute(
                "SELECT version FROM exc_items WHERE id = ?", [outside]
            ).fetchone() == (version,)

    def test_resolving_is_for_the_items_owner_role(self, private):
        settings, app = private
        with app_db(settings) as db:
            rows = db.execute(
                "SELECT id, version, owner_role FROM exc_items WHERE id IN ("
                " SELECT min(id) FROM exc_items WHERE location_id = ? AND status = 'open'"
                " AND owner_role IN ('planner', 'warehouse_supervisor') GROUP BY owner_role"
                ") ORDER BY owner_role",
                [SUPERVISOR_SITE],
            ).fetchall()
        assert [r[2] for r in rows] == ["planner", "warehouse_supervisor"]
        selected = [{"id": r[0], "version": r[1]} for r in rows]
        body = bulk_body(selected, "resolve", reason="fixed")
        answer = (
            client_as(app, "warehouse_supervisor")
            .post("/_dash-update-component", json=body)
            .get_json()["response"]
        )
        message = text_of(answer["exceptions-result"]["children"])
        assert "1 done" in message
        assert f"#{rows[0][0]}: cannot resolve" in message
        assert "belongs to the planner role" in message
        with app_db(settings) as db:
            status = dict(
                db.execute(
                    "SELECT id, status FROM exc_items WHERE id IN (?, ?)", [rows[0][0], rows[1][0]]
                ).fetchall()
            )
        assert status == {rows[0][0]: "open", rows[1][0]: "resolved"}

    def test_resolve_needs_a_reason_code(self, private):
        _settings, app = private
        c = client_as(app, "planner")
        block, _ = grid(c, queues="mine", status="open")
        row = block["rowData"][-1]
        body = bulk_body([{"id": row["id"], "version": row["version"]}], "resolve")
        message = text_of(
            c.post("/_dash-update-component", json=body).get_json()["response"][
                "exceptions-result"
            ]["children"]
        )
        assert "0 done" in message
        assert "reason code" in message
