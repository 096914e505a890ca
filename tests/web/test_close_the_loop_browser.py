"""The loop closed end to end in a real browser.

A planner raises a stock transfer from a stockout item, filled in from the item's suggestion;
the transfer is worth more than the approval rule's threshold, so it waits for a planner lead,
who finds it under "awaiting my approval", opens it and approves it with a note; the request
is sent and its JSON file is in the ERP outbox with the documented content. A later WMS
extract carrying the transfer is landed by the pipeline: the request is confirmed and its
item shows resolved as fixed by action. Another stockout item past its SLA escalates to the
planners and shows in the planner's notification list, and the planner's daily digest is
delivered to a local SMTP server.

Served by waitress over a private copy of the demo folder whose approval rules send transfers
of 1,000 or more to a planner with planner_lead (the small demo's transfers are smaller than
the example rules' 10,000); Playwright drives Debian's chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from control_tower.accounts import Scope
from control_tower.actions.checks import check_in_warehouse
from control_tower.actions.prefill import prefill
from control_tower.actions.store import ActionRequest
from control_tower.actions.types import RequestInputError, parse_params
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.registry import SEVERITIES
from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications.service import run_digests, run_escalation
from control_tower.settings import utc_now
from pipelines.run import run_pipeline
from tests.support.data_copies import private_copy
from tests.support.served import Served, serve, signed_in_tab
from tests.support.smtp_server import local_smtp
from tests.support.web_users import PASSWORD, USERS, cheap_accounts

TIMEOUT_MS = 20_000
THRESHOLD = 1_000
RULES = (
    "rules:\n  - name: large transfers\n    request_types: [stock_transfer]\n"
    f"    min_value: {THRESHOLD}\n    approver_role: planner\n    approver_permission: planner_lead\n"
)
ESCALATION = "policies:\n  stockout_risk:\n    to_role: planner\n    raise_severity: true\n"
SUBSCRIPTIONS = (
    f"users:\n  {USERS['planner']}:\n    queues: [stockout_risk]\n"
    "    digest: {channel: email, to: planner@example.com, hour: 0}\n"
)
FIELDS = ("from_location_id", "to_location_id", "item_id", "quantity", "ship_date")


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    settings = private_copy(
        demo_settings, tmp_path_factory.mktemp("close-the-loop"), warehouse=True
    )
    settings.approval_rules_path.write_text(RULES)
    settings.escalation_path.write_text(ESCALATION)
    with cheap_accounts(settings) as accounts:
        accounts.create_user("lee", "planner", PASSWORD)
        accounts.grant("lee", "planner_lead")
    yield from serve(settings)


def _transfer_item(site: Served, cur: Any) -> tuple[Any, dict[str, Any]]:
    """The first open stockout item whose suggested transfer is complete, valid and worth at
    least THRESHOLD, and that suggestion's parameters."""
    today = utc_now().date()
    with ExceptionStore.open(site.settings.app_db_url) as store:
        items = sorted(store.items(type="stockout_risk", status="unresolved"), key=lambda i: i.id)
    for item in items:
        params = next(s["params"] for s in prefill(cur, item, today=today))
        try:
            parsed = parse_params("stock_transfer", params, today=today)
        except RequestInputError:
            continue
        if check_in_warehouse(cur, "stock_transfer", parsed, Scope()).value >= THRESHOLD:
            return item, params
    raise AssertionError(f"no open stockout item suggests a valid transfer worth {THRESHOLD}")


def test_a_transfer_raised_approved_sent_confirmed_and_an_item_escalated_and_digested(
    browser, tab_as, site, snapshot, artifacts
):
    item, suggested = _transfer_item(site, snapshot)
    page = tab_as(site, "planner", timeout_ms=TIMEOUT_MS)
    page.goto(site.url + f"/exceptions/{item.id}")
    page.wait_for_selector("#exceptions-request")
    for name in FIELDS:  # every field filled in from the item's suggestion
        box = page.locator(f"#exceptions-request-field-{name} input")
        assert box.input_value() == str(suggested[name]), name
    assert suggested["to_location_id"] == item.location_id
    assert suggested["item_id"] == item.item_id
    page.fill("#exceptions-request-note", "cover the shortfall from the sister site")
    page.click("#exceptions-request-raise")
    result = page.wait_for_selector("#exceptions-request-result >> text=pending approval")
    href = page.get_attribute("#exceptions-request-result a", "href")
    request_id = int(re.search(r"/requests/(\d+)$", href).group(1))
    assert "Stock transfer request" in result.inner_text()
    page.wait_for_selector("#exceptions-request-table >> text=Pending approval")
    page.screenshot(path=str(artifacts / "request-raised.png"), full_page=True)

    with signed_in_tab(browser, site.session_cookie("lee"), timeout_ms=TIMEOUT_MS) as lead:
        lead.goto(site.url + "/requests")
        row = f"#requests-grid .ag-center-cols-container .ag-row[row-id='{request_id}']"
        lead.wait_for_selector(row)
        assert lead.is_checked("#requests-view input[value='awaiting']")
        lead.click(f"{row} [col-id='id'] a")
        lead.wait_for_url(f"**/requests/{request_id}")
        lead.wait_for_selector("#requests-detail-request >> text=Pending approval")
        evidence = lead.inner_text("#requests-detail-item")
        assert item.key in evidence
        assert f"#{item.id}" in evidence
        assert "a planner with planner_lead" in lead.inner_text("#requests-detail-request")
        lead.fill("#requests-detail-note", "sister site has cover; go")
        lead.click("#requests-detail-approve")
        lead.wait_for_selector("#requests-detail-result >> text=the request is sent")
        lead.wait_for_selector("#requests-detail-request >> text=Sent")
        lead.wait_for_selector("#requests-detail-deliveries-table >> text=file")
        timeline = lead.inner_text("#requests-detail-events")
        assert "sister site has cover; go" in timeline
        assert "approved\nby lee" in timeline.lower()
        assert lead.is_hidden("#requests-detail-decide")
        lead.screenshot(path=str(artifacts / "request-approved.png"), full_page=True)

    with ExceptionStore.open(site.settings.app_db_url) as store, store.session() as s:
        uid = s.get(ActionRequest, request_id).request_uid
    files = list((site.settings.home / "outbox" / "erp").glob(f"*{uid}*.json"))
    assert len(files) == 1, files
    doc = json.loads(files[0].read_text())
    assert (doc["request_uid"], doc["type"]) == (uid, "stock_transfer")
    assert doc["params"] == {**suggested, "quantity": float(suggested["quantity"])}

    # The ERP carries out the transfer; the WMS extract of the next run shows it, with the uid.
    wms = site.settings.inbox / "wms"
    wms.mkdir(parents=True, exist_ok=True)
    day = utc_now().date().isoformat()
    (wms / "stock_transfers.csv").write_text(
        "transfer_id,line_no,from_location_id,to_location_id,item_id,qty,uom,reference,"
        "created_at,shipped_ts,received_ts,status,updated_at\n"
        f"TR-E2E,1,{suggested['from_location_id']},{suggested['to_location_id']},"
        f"{suggested['item_id']},{suggested['quantity']},EA,{uid},{day}T12:00:00,,,open,"
        f"{day}T12:00:00\n"
    )
    report = run_pipeline(site.settings, trigger="cli")
    assert {s.name: s.status for s in report.steps if s.status != "ok"} == {}
    with ExceptionStore.open(site.settings.app_db_url) as store:
        with store.session() as s:
            done = s.get(ActionRequest, request_id)
            assert (done.status, done.confirmed_by) == ("confirmed", "stock_transfers TR-E2E|1")
        closed = store.get(item.id)
        assert (closed.status, closed.resolution_code) == ("resolved", "fixed_by_action")
        waiting = sorted(store.items(type="stockout_risk", status="unresolved"), key=lambda i: i.id)
    page.goto(site.url + f"/exceptions/{item.id}")
    page.wait_for_selector("text=(fixed by action)")

    # Another stockout item left past its SLA escalates to the planners (an hour after its
    # SLA ran out, so the digest of that day lists it as newly breached).
    now = utc_now()
    due_at = {i.id: item_aging(i, now).sla_due_at for i in waiting}
    other = min((i for i in waiting if due_at[i.id] > now), key=lambda i: (due_at[i.id], i.id))
    later = due_at[other.id] + timedelta(hours=1)
    assert run_escalation(site.settings, now=later).escalated >= 1
    with ExceptionStore.open(site.settings.app_db_url) as store:
        raised = store.get(other.id)
        assert SEVERITIES.index(raised.severity) == min(
            SEVERITIES.index(other.severity) + 1, len(SEVERITIES) - 1
        )
    page.goto(site.url + "/notifications")
    notice = page.locator(".notifications-item", has_text=other.key).first
    notice.wait_for()
    assert "[ESCALATED L1]" in notice.inner_text()
    assert notice.get_attribute("data-unread") == "true"
    assert page.inner_text("#shell-bell-count").strip() not in ("", "0")
    page.screenshot(path=str(artifacts / "loop-escalated.png"), full_page=True)

    # The planner's daily digest reaches the mail server with the breach in it.
    site.settings.subscriptions_path.write_text(SUBSCRIPTIONS)
    with local_smtp() as (port, mailbox):
        sent = run_digests(replace(site.settings, smtp_host="127.0.0.1", smtp_port=port), now=later)
        assert sent.sent == [USERS["planner"]]
    [mail] = mailbox.messages
    assert mail["To"] == "planner@example.com"
    body = mail.get_payload()
    assert "Breached (" in body
    assert other.key in body
