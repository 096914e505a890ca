"""The exceptions API: scoped lists, one item with its records, actions with conflicts, errors.

On a private copy of the small demo (actions change items). Callers use
personal API tokens, as scripts do; expected rows come from SQL on the app
database.
"""

from __future__ import annotations

import csv
import io

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.exceptions.workflow import act
from control_tower.web import create_app
from tests.support.data_copies import app_db, private_copy, unresolved_ids
from tests.support.web_users import SUPERVISOR_SITE, USERS, cheap_accounts, client_sign_in


@pytest.fixture(scope="module")
def setup(demo_settings, tmp_path_factory):
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("exc-api"))
    accounts = cheap_accounts(settings)
    app = create_app(settings, accounts=accounts)
    tokens = {role: accounts.issue_token(name)[0] for role, name in USERS.items()}
    return settings, app, tokens


@pytest.fixture
def settings(setup):
    return setup[0]


@pytest.fixture
def call(setup):
    _settings, app, tokens = setup
    client = app.server.test_client()

    def call(role: str | None, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def one(settings, where: str, params=()) -> tuple[int, int]:
    with app_db(settings) as db:
        return db.execute(
            f"SELECT id, version FROM exc_items WHERE {where} ORDER BY id LIMIT 1", params
        ).fetchone()


class TestList:
    def test_the_supervisor_gets_the_dc_nj_queue_with_its_total(self, call, settings):
        answer = call("warehouse_supervisor", "GET", "/api/v1/exceptions?limit=1000").get_json()
        expected = set(unresolved_ids(settings, SUPERVISOR_SITE))
        assert answer["total"] == len(expected) > 0
        assert {i["id"] for i in answer["items"]} == expected

    def test_a_location_outside_scope_gives_nothing(self, call):
        answer = call("warehouse_supervisor", "GET", "/api/v1/exceptions?location=DC-CHI")
        assert answer.get_json() == {"total": 0, "limit": 100, "offset": 0, "items": []}

    def test_filters_sort_and_paging(self, call, settings):
        path = "/api/v1/exceptions?type=unmatched_invoice_line&status=all&sort=-value_at_risk,id"
        first = call("finance", "GET", path + "&limit=5").get_json()
        second = call("finance", "GET", path + "&limit=5&offset=5").get_json()
        with app_db(settings) as db:
            expected = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM exc_items WHERE type = 'unmatched_invoice_line' "
                    "ORDER BY value_at_risk DESC, id LIMIT 10"
                )
            ]
        assert [i["id"] for i in first["items"] + second["items"]] == expected
        assert first["total"] == second["total"] >= 10

    @pytest.mark.parametrize(
        "query",
        [
            "type=nope",
            "status=closed",
            "severity=huge",
            "sort=detail",
            "sort=id;drop",
            "limit=0",
            "limit=x",
            "offset=-1",
        ],
    )
    def test_bad_arguments_answer_400_naming_them(self, call, query):
        response = call("planner", "GET", f"/api/v1/exceptions?{query}")
        assert response.status_code == 400
        assert query.split("=")[0] in response.get_json()["error"]

    def test_without_a_token_401(self, call):
        assert call(None, "GET", "/api/v1/exceptions").status_code == 401

    def test_csv_export_holds_the_scoped_rows(self, call, settings):
        response = call("warehouse_supervisor", "GET", "/api/v1/exceptions.csv?sort=id")
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        expected = unresolved_ids(settings, SUPERVISOR_SITE)
        assert [int(r["id"]) for r in rows] == expected


class TestOneItem:
    def test_an_order_line_item_with_its_source_records(self, call, settings):
        item_id, _ = one(settings, "type = 'backordered_line'")
        answer = call("planner", "GET", f"/api/v1/exceptions/{item_id}").get_json()
        assert answer["item"]["id"] == item_id
        tables = {r["table"] for r in answer["source_records"]}
        assert "sales_order_lines" in tables
        line = next(r for r in answer["source_records"] if r["table"] == "sales_order_lines")
        assert line["fields"]["order_id"] == answer["detail"]["order_id"]
        assert line["file_name"].endswith(".csv")
        assert answer["history"][0]["action"] == "created"

    @pytest.mark.parametrize("item", ["999999", "abc", "0", "-3", "1.5"])
    def test_unknown_or_malformed_ids_answer_404(self, call, item):
        response = call("admin", "GET", f"/api/v1/exceptions/{item}")
        assert response.status_code == 404
        assert "in your scope" in response.get_json()["error"]

    def test_an_item_outside_scope_answers_like_an_unknown_one(self, call, settings):
        item_id, version = one(settings, "location_id = 'DC-CHI'")
        response = call("warehouse_supervisor", "GET", f"/api/v1/exceptions/{item_id}")
        assert response.status_code == 404
        assert response.get_json() == {"error": f"no exception {item_id} in your scope"}
        post = call(
            "warehouse_supervisor",
            "POST",
            f"/api/v1/exceptions/{item_id}/actions",
            json={"action": "acknowledge", "expected_version": version},
        )
        assert post.status_code == 404


class TestActions:
    def test_acknowledge_then_a_stale_version_conflicts_with_the_changes(self, call, settings):
        item_id, version = one(settings, "type = 'stockout_risk' AND status = 'open'")
        path = f"/api/v1/exceptions/{item_id}/actions"
        body = {"action": "acknowledge", "expected_version": version, "user": "ada"}
        done = call("planner", "POST", path, json=body)
        assert done.status_code == 200
        assert done.get_json()["item"]["status"] == "acknowledged"
        assert done.get_json()["item"]["version"] == version + 1
        with ExceptionStore.open(settings.app_db_url) as store:
            assert store.audit(item_id)[-1].actor == USERS["planner"]  # never the body's "user"
        again = call(
            "planner",
            "POST",
            path,
            json={"action": "comment", "expected_version": version, "note": "late"},
        )
        assert again.status_code == 409
        answer = again.get_json()
        assert answer["current_version"] == version + 1
        assert answer["changes"][0]["actor"] == USERS["planner"]
        assert answer["changes"][0]["changes"]["status"] == ["open", "acknowledged"]

    def test_a_change_by_someone_else_meanwhile_is_a_409(self, call, settings):
        item_id, version = one(settings, "type = 'backordered_line' AND status = 'open'")
        with ExceptionStore.open(settings.app_db_url) as store:
            act(store, item_id, "assign", user="ada", assignee="ada")
        response = call(
            "planner",
            "POST",
            f"/api/v1/exceptions/{item_id}/actions",
            json={"action": "acknowledge", "expected_version": version},
        )
        assert response.status_code == 409
        assert response.get_json()["changes"][0]["changes"]["assignee"] == [None, "ada"]

    def test_only_the_owner_role_or_an_admin_may_resolve(self, call, settings):
        item_id, version = one(
            settings, "owner_role = 'planner' AND status = 'open' AND location_id = 'DC-NJ'"
        )
        path = f"/api/v1/exceptions/{item_id}/actions"
        body = {"action": "resolve", "expected_version": version, "reason": "fixed"}
        refused = call("warehouse_supervisor", "POST", path, json=body)
        assert refused.status_code == 403
        assert "belongs to the planner role" in refused.get_json()["error"]
        assert one(settings, "id = ?", [item_id]) == (item_id, version)
        done = call("planner", "POST", path, json=body)
        assert done.status_code == 200
        assert done.get_json()["item"]["status"] == "resolved"

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"action": "explode", "expected_version": 1}, "unknown action"),
            ({"action": "acknowledge"}, "expected_version"),
            ({"action": "acknowledge", "expected_version": "1"}, "expected_version"),
            ({"action": "resolve", "expected_version": 1, "reason": "bored"}, "reason code"),
            ({"action": "assign", "expected_version": 1, "assignee": "mallory"}, "active user"),
            ({"action": "snooze", "expected_version": 1, "until": "tomorrow"}, "YYYY-MM-DD"),
            ({"action": "comment", "expected_version": 1, "note": 5}, "note"),
        ],
    )
    def test_bad_input_answers_400(self, call, settings, body, says):
        item_id, _ = one(settings, "owner_role = 'warehouse_supervisor' AND status = 'open'")
        response = call(
            "warehouse_supervisor", "POST", f"/api/v1/exceptions/{item_id}/actions", json=body
        )
        if response.status_code == 404:  # the first such item is not DC-NJ's: use the admin
            response = call("admin", "POST", f"/api/v1/exceptions/{item_id}/actions", json=body)
        assert response.status_code == 400
        assert says in response.get_json()["error"]

    def test_a_non_json_body_answers_400(self, call, settings):
        item_id, _ = one(settings, "status = 'open'")
        response = call("admin", "POST", f"/api/v1/exceptions/{item_id}/actions", data="x=1")
        assert response.status_code == 400

    def test_a_session_post_from_another_origin_answers_403(self, setup, settings):
        _settings, app, _tokens = setup
        client = app.server.test_client()
        assert client_sign_in(client, USERS["admin"]).status_code == 302
        item_id, version = one(settings, "status = 'open'")
        response = client.post(
            f"/api/v1/exceptions/{item_id}/actions",
            json={"action": "acknowledge", "expected_version": version},
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403
        with app_db(settings) as db:
            assert db.execute(
                "SELECT version FROM exc_items WHERE id = ?", [item_id]
            ).fetchone() == (version,)
