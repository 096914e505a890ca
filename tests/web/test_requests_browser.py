"""Action requests in a real browser: a planner raises a stock transfer from a stockout item,
filled in from the item's suggestion; the transfer is worth more than the approval rule's
threshold, so it waits for a planner lead, who finds it under "awaiting my approval", opens it
and approves it with a note; the request is sent and its JSON file is in the ERP outbox.

Served by waitress over a private copy of the demo folder whose approval rules send transfers
of 1,000 or more to a planner with planner_lead (the small demo's transfers are smaller than
the example rules' 10,000); Playwright drives Debian's chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from control_tower.accounts import Scope
from control_tower.actions.checks import check_in_warehouse
from control_tower.actions.prefill import prefill
from control_tower.actions.store import ActionRequest
from control_tower.actions.types import RequestInputError, parse_params
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import utc_now
from tests.support.data_copies import private_copy
from tests.support.served import Served, serve, signed_in_tab
from tests.support.web_users import PASSWORD, cheap_accounts

TIMEOUT_MS = 20_000
THRESHOLD = 1_000
RULES = (
    "rules:\n  - name: large transfers\n    request_types: [stock_transfer]\n"
    f"    min_value: {THRESHOLD}\n    approver_role: planner\n    approver_permission: planner_lead\n"
)
FIELDS = ("from_location_id", "to_location_id", "item_id", "quantity", "ship_date")


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("requests-browser"))
    settings.approval_rules_path.write_text(RULES)
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


def test_a_transfer_is_raised_approved_by_the_lead_and_sent(
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
