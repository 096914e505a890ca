"""`/api/v1/notifications`: a user lists and marks read their own notices, never another's;
a request waiting for approval reaches its approver's list."""

from __future__ import annotations

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import notify_user
from control_tower.web import create_app
from tests.support.action_requests import TRANSFER, first_item
from tests.support.data_copies import private_copy
from tests.support.web_users import PASSWORD, USERS, cheap_accounts


@pytest.fixture(scope="module")
def setup(demo_settings, tmp_path_factory):
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("notifications-api"))
    settings.approval_rules_path.write_text(
        "rules:\n  - name: any transfer\n    request_types: [stock_transfer]\n"
        "    min_value: 1\n    approver_role: planner\n    approver_permission: planner_lead\n"
    )
    accounts = cheap_accounts(settings)
    accounts.create_user("lee", "planner", PASSWORD)
    accounts.grant("lee", "planner_lead")
    with ExceptionStore.open(settings.app_db_url) as store:
        notify_user(store, USERS["planner"], "assigned", "first for pat")
        notify_user(store, USERS["planner"], "assigned", "second for pat")
        notify_user(store, USERS["finance"], "assigned", "for fin only")
    app = create_app(settings, accounts=accounts)
    names = {**USERS, "lead": "lee"}
    tokens = {role: accounts.issue_token(name)[0] for role, name in names.items()}
    return settings, app, tokens


@pytest.fixture
def call(setup):
    _settings, app, tokens = setup
    client = app.server.test_client()

    def call(role, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def test_a_user_lists_and_marks_only_their_own_notices(call) -> None:
    assert call(None, "GET", "/api/v1/notifications").status_code == 401
    mine = call("planner", "GET", "/api/v1/notifications").get_json()
    subjects = [n["subject"] for n in mine["notifications"]]
    assert subjects[:2] == ["second for pat", "first for pat"]
    assert "for fin only" not in subjects
    assert mine["unread"] == len([n for n in mine["notifications"] if n["read_at"] is None])
    theirs = call("finance", "GET", "/api/v1/notifications").get_json()["notifications"]
    fin_id = next(n["id"] for n in theirs if n["subject"] == "for fin only")
    first = next(n["id"] for n in mine["notifications"] if n["subject"] == "first for pat")

    marked = call("planner", "POST", "/api/v1/notifications/read", json={"ids": [first, fin_id]})
    assert marked.status_code == 200
    assert marked.get_json() == {"marked": 1, "unread": mine["unread"] - 1}
    unread = call("planner", "GET", "/api/v1/notifications?unread=1").get_json()
    assert first not in [n["id"] for n in unread["notifications"]]
    still = call("finance", "GET", "/api/v1/notifications?unread=1").get_json()
    assert fin_id in [n["id"] for n in still["notifications"]]

    bad = call("planner", "POST", "/api/v1/notifications/read", json={"ids": "all"})
    assert bad.status_code == 400
    assert "ids" in bad.get_json()["error"]
    assert call("planner", "GET", "/api/v1/notifications?limit=0").status_code == 400
    done = call("planner", "POST", "/api/v1/notifications/read", json={"all": True}).get_json()
    assert done["unread"] == 0


def test_a_request_waiting_for_approval_reaches_the_approver(setup, call) -> None:
    with ExceptionStore.open(setup[0].app_db_url) as store:
        item = first_item(store, "stockout_risk", location_id="DC-CHI")
    raised = call(
        "planner",
        "POST",
        f"/api/v1/exceptions/{item.id}/requests",
        json={"type": "stock_transfer", "params": TRANSFER, "note": "cover"},
    )
    assert raised.status_code == 201
    request = raised.get_json()["request"]
    assert request["status"] == "pending_approval"
    lead = call("lead", "GET", "/api/v1/notifications?unread=1").get_json()["notifications"]
    [notice] = [n for n in lead if n["link"] == f"/requests/{request['id']}"]
    assert notice["kind"] == "request"
    assert "waits for your approval" in notice["subject"]
    # the requester is not told of their own request
    pat = call("planner", "GET", "/api/v1/notifications").get_json()["notifications"]
    assert all(n["link"] != f"/requests/{request['id']}" for n in pat)
