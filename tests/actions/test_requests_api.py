"""The requests API: raise from an item, decide with versions, and every error status.

On a private copy of the small demo with the example approval rules; callers use personal API
tokens. The planners' lead (`lee`) holds planner_lead.
"""

from __future__ import annotations

import json

import pytest

from control_tower.web import create_app
from tests.support.action_requests import TRANSFER, first_item
from tests.support.data_copies import private_copy
from tests.support.web_users import PASSWORD, USERS, cheap_accounts


@pytest.fixture(scope="module")
def setup(demo_settings, tmp_path_factory):
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("requests-api"))
    settings.approval_rules_path.write_text(
        "rules:\n  - name: any transfer\n    request_types: [stock_transfer]\n"
        "    min_value: 1\n    approver_role: planner\n    approver_permission: planner_lead\n"
    )
    accounts = cheap_accounts(settings)
    accounts.create_user("lee", "planner", PASSWORD)
    accounts.grant("lee", "planner_lead")
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


@pytest.fixture
def item(setup):
    from control_tower.exceptions.store import ExceptionStore

    with ExceptionStore.open(setup[0].app_db_url) as store:
        return first_item(store, "stockout_risk", location_id="DC-CHI")


def raise_transfer(call, item, **change):
    return call(
        "planner",
        "POST",
        f"/api/v1/exceptions/{item.id}/requests",
        json={"type": "stock_transfer", "params": {**TRANSFER, **change}, "note": "cover"},
    )


def test_the_item_offers_the_forms_of_the_role_and_its_suggestions(call, item):
    answer = call("planner", "GET", f"/api/v1/exceptions/{item.id}/requests").get_json()
    assert [f["type"] for f in answer["forms"]] == [
        "stock_transfer",
        "po_expedite",
        "purchase_requisition",
    ]
    assert answer["suggested"][0]["params"]["to_location_id"] == "DC-CHI"
    finance = call("finance", "GET", f"/api/v1/exceptions/{item.id}/requests").get_json()
    assert [f["type"] for f in finance["forms"]] == ["invoice_hold", "invoice_release"]
    assert finance["suggested"] == []


def test_the_caller_sees_their_permissions(call):
    assert call("lead", "GET", "/api/v1/me").get_json()["permissions"] == ["planner_lead"]
    assert call("planner", "GET", "/api/v1/me").get_json()["permissions"] == []


def test_raise_then_approve_by_the_lead(setup, call, item):
    raised = raise_transfer(call, item)
    assert raised.status_code == 201, raised.get_json()
    request = raised.get_json()["request"]
    assert (request["status"], request["approval_rule"]) == ("pending_approval", "any transfer")
    path = f"/api/v1/requests/{request['id']}"
    body = {"expected_version": request["version"]}
    assert (
        call("planner", "POST", path + "/approve", json=body).status_code == 403
    )  # own, no permission
    assert call("lead", "POST", path + "/approve", json={"expected_version": 99}).status_code == 409
    approved = call("lead", "POST", path + "/approve", json=body)
    assert approved.status_code == 200
    sent = approved.get_json()["request"]
    # approved, then handed to the outbox at once: its files are written, so it is sent
    assert (sent["status"], sent["decided_by"]) == ("sent", "lee")
    settings = setup[0]
    outbox = settings.home / "outbox" / "erp" / f"stock_transfer_{sent['request_uid']}.json"
    assert json.loads(outbox.read_text())["request_uid"] == sent["request_uid"]
    again = call("lead", "POST", path + "/reject", json={**body, "note": "late"})
    assert again.status_code == 409
    assert again.get_json()["current_version"] == sent["version"]
    shown = call("planner", "GET", path).get_json()
    assert [e["event"] for e in shown["events"]] == ["raised", "approved", "delivered"]
    awaiting = call("lead", "GET", "/api/v1/requests?view=awaiting").get_json()
    assert request["id"] not in [r["id"] for r in awaiting["requests"]]
    mine = call("planner", "GET", f"/api/v1/requests?view=mine&exception={item.id}").get_json()
    assert request["id"] in [r["id"] for r in mine["requests"]]


def test_reject_needs_a_note_and_cancel_is_the_requesters(call, item):
    request = raise_transfer(call, item).get_json()["request"]
    path = f"/api/v1/requests/{request['id']}"
    body = {"expected_version": request["version"]}
    rejected = call("lead", "POST", path + "/reject", json=body)
    assert rejected.status_code == 400
    assert "a rejection needs a note" in rejected.get_json()["error"]
    assert call("lead", "POST", path + "/cancel", json=body).status_code == 403
    assert (
        call("planner", "POST", path + "/cancel", json=body).get_json()["request"]["status"]
        == "cancelled"
    )


@pytest.mark.parametrize(
    ("role", "change", "status", "message"),
    [
        ("planner", {"quantity": -1}, 400, "quantity=-1: Quantity (eaches) must be more than 0"),
        ("planner", {"quantity": 10**7}, 400, "only "),
        ("executive", {}, 403, "may not raise"),
        (None, {}, 401, "sign in"),
    ],
)
def test_raise_errors(call, item, role, change, status, message):
    answer = call(
        role,
        "POST",
        f"/api/v1/exceptions/{item.id}/requests",
        json={"type": "stock_transfer", "params": {**TRANSFER, **change}},
    )
    assert answer.status_code == status
    assert message in answer.get_json()["error"]


def test_out_of_scope_and_unknown_answer_404(call, item):
    supervisor = call(
        "warehouse_supervisor",
        "POST",
        f"/api/v1/exceptions/{item.id}/requests",
        json={"type": "stock_transfer", "params": TRANSFER},
    )
    assert supervisor.status_code == 404
    assert call("planner", "GET", "/api/v1/requests/999999").status_code == 404
    assert call("planner", "GET", "/api/v1/requests?view=soon").status_code == 400


def test_a_bad_rules_file_answers_503_with_file_and_line(setup, call, item):
    settings = setup[0]
    good = settings.approval_rules_path.read_text()
    settings.approval_rules_path.write_text("rules:\n  - name: x\n    colour: red\n")
    try:
        answer = raise_transfer(call, item)
    finally:
        settings.approval_rules_path.write_text(good)
    assert answer.status_code == 503
    assert "approval_rules.yml, line 3: unknown key 'colour'" in answer.get_json()["error"]
