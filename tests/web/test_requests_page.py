"""The request pages without a browser, on a private copy of the small demo with a rule that
sends every transfer to a planner lead: who sees a request (a site-scoped user does not see
another site's: it looks like an unknown id), who is offered which step, the list's views, and
a refused field named next to it on the item page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from control_tower.actions import service
from control_tower.actions.approvals import load_rules
from control_tower.exceptions.store import ExceptionStore
from control_tower.web import create_app
from tests.support.action_requests import TRANSFER, Person, first_item
from tests.support.dash_callbacks import callback_body, post_callback
from tests.support.data_copies import private_copy
from tests.support.web_users import PASSWORD, cheap_accounts, client_as, signed_in

DETAIL = [
    ("requests-detail-body", "children"),
    ("requests-detail-version", "data"),
    ("requests-detail-decide", "hidden"),
    ("requests-detail-cancel-box", "hidden"),
    ("requests-detail-result", "children"),
    ("requests-detail-note", "value"),
]


@pytest.fixture(scope="module")
def setup(demo_settings, tmp_path_factory, snapshot) -> tuple[Any, ...]:
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("requests-page"))
    settings.approval_rules_path.write_text(
        "rules:\n  - name: any transfer\n    request_types: [stock_transfer]\n"
        "    min_value: 1\n    approver_role: planner\n    approver_permission: planner_lead\n"
    )
    with cheap_accounts(settings) as accounts:
        accounts.create_user("lee", "planner", PASSWORD)
        accounts.grant("lee", "planner_lead")
    with ExceptionStore.open(settings.app_db_url) as store:
        item = first_item(store, "stockout_risk", location_id="DC-CHI")
        request, other = (
            service.raise_request(
                store,
                snapshot,
                load_rules(settings.approval_rules_path),
                actor=Person("pat", "planner"),
                exception_id=item.id,
                type_name="stock_transfer",
                params={**TRANSFER, "quantity": quantity},
            )
            for quantity in (TRANSFER["quantity"], 1)
        )
    app = create_app(settings, accounts=cheap_accounts(settings))
    return app, item, request, other


def _text(tree: Any) -> str:
    if isinstance(tree, list):
        return " ".join(_text(t) for t in tree)
    if isinstance(tree, dict):
        return _text(tree.get("props", {}).get("children"))
    return "" if tree is None else str(tree)


def _press(client, request_id: Any, button: str, version: Any, note: Any) -> dict[str, Any]:
    """The request page's answer when `button` is pressed ("id": the page loads)."""
    body = callback_body(
        DETAIL,
        [
            ("requests-detail-id", "data", str(request_id)),
            ("requests-detail-approve", "n_clicks", 0),
            ("requests-detail-reject", "n_clicks", 0),
            ("requests-detail-cancel", "n_clicks", 0),
        ],
        [("requests-detail-version", "data", version), ("requests-detail-note", "value", note)],
        changed="requests-detail-id.data"
        if button == "id"
        else f"requests-detail-{button}.n_clicks",
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    return response.get_json()["response"]


def _detail(client, request_id: Any) -> dict[str, Any]:
    return _press(client, request_id, "id", None, None)


def test_a_site_scoped_user_cannot_open_another_sites_request(setup):
    app, _item, request, _other = setup
    outside = _detail(client_as(app, "warehouse_supervisor"), request.id)  # sam sees DC-NJ only
    unknown = _detail(client_as(app, "warehouse_supervisor"), 999999)
    assert f"No request {request.id} in your scope" in _text(
        outside["requests-detail-body"]["children"]
    )
    assert "No request 999999 in your scope" in _text(unknown["requests-detail-body"]["children"])
    assert outside["requests-detail-decide"]["hidden"] is True
    assert "Stock transfer" not in _text(outside["requests-detail-body"]["children"])


def test_the_lead_may_decide_and_the_requester_may_cancel(setup):
    app, item, request, _other = setup
    lead = _detail(signed_in(app, "lee"), request.id)
    body = _text(lead["requests-detail-body"]["children"])
    assert f"#{request.id} · Stock transfer request" in body
    assert "a planner with planner_lead" in body
    assert "SKU100013" in body
    assert f"#{item.id}" in body
    assert "raised" in body
    assert (
        lead["requests-detail-decide"]["hidden"],
        lead["requests-detail-cancel-box"]["hidden"],
    ) == (
        False,
        True,
    )
    mine = _detail(client_as(app, "planner"), request.id)
    assert (
        mine["requests-detail-decide"]["hidden"],
        mine["requests-detail-cancel-box"]["hidden"],
    ) == (
        True,
        False,
    )


def test_a_step_on_a_changed_request_is_refused_and_a_rejection_needs_a_note(setup):
    app, _item, request, _other = setup
    lead = signed_in(app, "lee")
    stale = _press(lead, request.id, "approve", request.version - 1, "go")
    assert "changed since you opened it" in _text(stale["requests-detail-result"]["children"])
    bare = _press(lead, request.id, "reject", request.version, "")
    assert "a rejection needs a note" in _text(bare["requests-detail-result"]["children"])
    assert "Pending approval" in _text(bare["requests-detail-body"]["children"])


def _list(client, view: str) -> list[dict[str, Any]]:
    response = post_callback(
        client,
        [("requests-caption", "children"), ("requests-grid", "rowData")],
        [("requests-view", "value", view), ("requests-status", "value", None)],
    )
    assert response.status_code == 200, response.data
    return response.get_json()["response"]["requests-grid"]["rowData"]


def test_the_list_views_follow_the_user_and_scope(setup):
    app, _item, request, _other = setup
    lead = signed_in(app, "lee")
    assert [r["row_id"] for r in _list(lead, "awaiting")] == [str(request.id)]
    assert _list(lead, "mine") == []
    assert str(request.id) in [r["row_id"] for r in _list(client_as(app, "planner"), "mine")]
    assert _list(client_as(app, "planner"), "awaiting") == []  # not the requester's to decide
    assert _list(client_as(app, "warehouse_supervisor"), "all") == []


def _key(component_id: dict[str, Any]) -> str:
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def test_a_refused_field_is_named_next_to_it(setup):
    app, item, _request, _other = setup
    names = ["from_location_id", "to_location_id", "item_id", "quantity", "ship_date"]
    wild = {"name": ["ALL"], "type": "exceptions-request-error"}
    errors = _key(wild)
    body = {
        "output": f"..exceptions-request-result.children...{errors}.children...exceptions-request-list"
        ".children..",
        "outputs": [
            {"id": "exceptions-request-result", "property": "children"},
            [
                {"id": {"type": "exceptions-request-error", "name": n}, "property": "children"}
                for n in names
            ],
            {"id": "exceptions-request-list", "property": "children"},
        ],
        "inputs": [{"id": "exceptions-request-raise", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "exceptions-request-item", "property": "data", "value": item.id},
            {"id": "exceptions-request-type", "property": "value", "value": "stock_transfer"},
            [
                {
                    "id": {"type": "exceptions-request-field", "name": n},
                    "property": "value",
                    "value": {**TRANSFER, "quantity": -3}[n],
                }
                for n in names
            ],
            {"id": "exceptions-request-note", "property": "value", "value": None},
        ],
        "changedPropIds": ["exceptions-request-raise.n_clicks"],
    }
    response = client_as(app, "planner").post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    answer = response.get_json()["response"]
    assert "Not raised: check quantity" in _text(answer["exceptions-request-result"]["children"])
    shown = {
        n: _text(
            answer.get(_key({"name": n, "type": "exceptions-request-error"}), {}).get("children")
        )
        for n in names
    }
    assert "must be more than 0" in shown.pop("quantity")
    assert set(shown.values()) == {""}


def test_the_requester_cancels_a_request_not_yet_sent(setup):
    app, _item, _request, other = setup
    mine = client_as(app, "planner")
    assert "only pat" in _text(
        _press(signed_in(app, "lee"), other.id, "cancel", other.version, None)[
            "requests-detail-result"
        ]["children"]
    )
    done = _press(mine, other.id, "cancel", other.version, "not needed after all")
    assert "the request is cancelled" in _text(done["requests-detail-result"]["children"])
    assert "Cancelled" in _text(done["requests-detail-body"]["children"])
    assert done["requests-detail-cancel-box"]["hidden"] is True
