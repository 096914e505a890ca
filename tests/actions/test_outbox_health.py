"""The data-health page lists action deliveries that wait for a retry or were given up,
beside the notification outbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from control_tower.actions.outbox import dispatch
from control_tower.exceptions.notify import RetryPolicy
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings, utc_now
from control_tower.web import create_app
from tests.support.action_outbox import TRANSFER, approved_request
from tests.support.dash_callbacks import callback_body
from tests.support.web_users import add_test_users, cheap_accounts, client_as


def test_a_given_up_action_delivery_shows_on_the_data_health_page(tmp_path) -> None:
    settings = load_settings(tmp_path).with_home(tmp_path)
    add_test_users(settings)
    dead = replace(
        settings,
        action_webhook_url="http://127.0.0.1:9/actions",
        action_webhook_secret="a-secret-of-16-chars",
        outbox_give_up_hours=1,
    )
    now = utc_now()
    one_try = RetryPolicy(1, 0, lambda _s: None)
    with ExceptionStore.open(settings.app_db_url) as store:
        request = approved_request(store, "stock_transfer", TRANSFER, at=now)
        dispatch(store, dead, now=now - timedelta(hours=2), retry=one_try)
        dispatch(store, dead, now=now, retry=one_try)
    app = create_app(settings, accounts=cheap_accounts(settings))
    body = callback_body(
        [("data-health-deliveries", "children")], [("data-health-interval", "n_intervals", 0)]
    )
    body["output"] = "data-health-deliveries.children"
    body["outputs"] = body["outputs"][0]
    response = client_as(app, "admin").post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    shown = json.dumps(response.get_json()["response"])
    assert f"stock_transfer \\u00b7 {request.request_uid}" in shown
    assert "given up after 2 rounds over 2.0 h" in shown
    assert "Action requests: 0 deliveries waiting, 1 given up" in shown
    assert "Every notification was delivered" in shown
