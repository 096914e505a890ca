"""The customer-service page in a real browser: a line at risk re-promised to a covered date
closes its order_at_risk item. Served by waitress over a private copy of the demo folder;
Playwright drives Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_tower.exceptions.store import ExceptionStore
from tests.support.data_copies import private_copy
from tests.support.served import Served, serve

TIMEOUT_MS = 20_000
PAGE_SIZE = 20


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    yield from serve(private_copy(demo_settings, tmp_path_factory.mktemp("customers-browser")))


def _rows(grid: str) -> str:
    return f"#{grid} .ag-center-cols-container .ag-row"


def _pick(site: Served, customers: list[str]):
    """An open at-risk line with an ATP date, of a customer on the first page, itself on the
    first page of that customer's lines (ordered by value at risk as the page does)."""
    with ExceptionStore.open(site.settings.app_db_url) as store:
        found = store.items(type="order_at_risk", status="unresolved")
    for customer in customers:
        lines = sorted(
            (i for i in found if i.detail.get("customer_id") == customer),
            key=lambda i: (-(i.value_at_risk or 0), i.id),
        )[:PAGE_SIZE]
        for item in lines:
            if item.detail.get("atp_date"):
                return customer, item
    raise AssertionError("no open at-risk line with an ATP date on the first page")


def test_cora_re_promises_a_line_and_its_at_risk_item_closes(tab_as, site, artifacts):
    page = tab_as(site, "customer_service", viewport=(1366, 900), timeout_ms=TIMEOUT_MS)
    page.goto(site.url + "/")
    page.wait_for_url("**/customers")
    page.wait_for_selector(f"{_rows('customers-grid')}[row-index='0']")
    page.wait_for_load_state("networkidle")
    customers = [
        page.get_attribute(f"{_rows('customers-grid')}[row-index='{n}']", "row-id")
        for n in range(min(PAGE_SIZE, page.locator(_rows("customers-grid")).count()))
    ]
    customer, item = _pick(site, customers)
    d = item.detail
    page.click(f"{_rows('customers-grid')}[row-id='{customer}'] [col-id='customer_id']")
    line = f"{_rows('customers-lines')}[row-id='{item.key}']"
    page.wait_for_selector(line)
    page.click(f"{line} [col-id='order_id']")
    page.wait_for_selector(f"#customers-chosen >> text=Order {d['order_id']} line {d['line_no']}")
    page.wait_for_function(
        f"() => document.querySelector('#customers-date').value === '{d['atp_date']}'"
    )
    page.fill("#customers-reason", "stock arrives later than planned")
    page.click("#customers-submit")
    page.wait_for_selector("#customers-result >> text=its at-risk item is closed")
    message = page.input_value("#customers-message")
    assert f"order {d['order_id']}, line {d['line_no']}" in message
    page.screenshot(path=str(artifacts / "customers.png"), full_page=True)
    page.wait_for_selector(line, state="detached")  # the line left the list

    page.goto(site.url + f"/exceptions/{item.id}")
    page.wait_for_selector("#exceptions-detail-history")
    text = page.inner_text("#exceptions-detail-header") + page.inner_text(
        "#exceptions-detail-history"
    )
    assert "Resolved (re promised)" in text
    assert "stock arrives later than planned (the projection covers it)" in text
    with ExceptionStore.open(site.settings.app_db_url) as store:
        after = store.get(item.id)
    assert (after.status, after.resolution_code) == ("resolved", "re_promised")
