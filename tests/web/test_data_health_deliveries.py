"""The data-health page lists notification deliveries that failed: pending or given up."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from control_tower.exceptions.notify import Notification, OutboxPolicy, RetryPolicy, deliver
from control_tower.exceptions.outbox import retry_due
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings
from control_tower.web import create_app
from tests.support.dash_callbacks import callback_body
from tests.support.web_users import add_test_users, cheap_accounts, client_as

AT = datetime(2026, 3, 18, 9, 0)


class _Refusing:
    name = "webhook"

    def send(self, _note: Notification) -> None:
        raise OSError("hooks.example answered HTTP 503")


def _note(rule: str) -> Notification:
    return Notification(rule, "ALL", "firing", f"{rule} is firing", "details", AT)


@pytest.fixture
def app(tmp_path):
    settings = load_settings(tmp_path).with_home(tmp_path)
    add_test_users(settings)
    no_wait = RetryPolicy(1, 0, lambda _s: None)
    with ExceptionStore.open(settings.app_db_url) as store:
        deliver(store, _note("fill_rate_low"), [_Refusing()], no_wait)
        retry_due(store, [], now=AT + timedelta(hours=1), outbox=OutboxPolicy())  # channel gone
        deliver(store, _note("otif_low"), [_Refusing()], no_wait)
    return create_app(settings, accounts=cheap_accounts(settings))


def _post(client):
    """The deliveries panel's callback (a single output), as the browser fires it."""
    body = callback_body(
        [("data-health-deliveries", "children")], [("data-health-interval", "n_intervals", 0)]
    )
    body["output"] = "data-health-deliveries.children"
    body["outputs"] = body["outputs"][0]
    return client.post("/_dash-update-component", json=body)


def _deliveries(client) -> str:
    response = _post(client)
    assert response.status_code == 200, response.data
    return json.dumps(response.get_json()["response"])


def test_pending_and_given_up_deliveries_are_listed_with_their_last_error(app) -> None:
    shown = _deliveries(client_as(app, "admin"))
    assert "otif_low \\u00b7 ALL (firing)" in shown
    assert "Pending" in shown
    assert "2026-03-18 09:05 UTC" in shown  # due again 5 minutes after the failure
    assert "OSError: hooks.example answered HTTP 503" in shown
    assert "Given up" in shown
    assert "given up: the webhook channel is no longer configured" in shown
    assert "1 delivery pending, 1 given up" in shown


def test_only_admins_see_the_deliveries(app) -> None:
    response = _post(client_as(app, "planner"))
    assert response.status_code in (401, 403)
