"""The exception queue and detail pages in a real browser, as the planner uses them.

Served by waitress over a private copy of the small demo (the test acknowledges
items), driven by Playwright on Debian's chromium.
"""

from __future__ import annotations

import pytest

from tests.support.data_copies import app_db, private_copy
from tests.support.served import serve

GRID = "#exceptions-grid"
ROWS = f"{GRID} .ag-center-cols-container .ag-row"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def served_copy(demo_settings, tmp_path_factory):
    yield from serve(private_copy(demo_settings, tmp_path_factory.mktemp("exc-browser")))


@pytest.fixture
def page(tab_as, served_copy):
    return tab_as(served_copy, "planner", timeout_ms=TIMEOUT_MS)


def _status(page, item_id: str) -> str:
    return page.inner_text(f"{ROWS}[row-id='{item_id}'] [col-id='status']")


def test_the_planner_acknowledges_two_rows_and_the_status_persists(page, served_copy, artifacts):
    page.goto(served_copy.url + "/exceptions?status=open")
    page.wait_for_selector(f"{ROWS} [col-id='status']")
    with app_db(served_copy.settings) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM exc_items WHERE owner_role = 'planner' AND status = 'open'"
        ).fetchone()
    page.wait_for_function(
        "t => document.querySelector('#exceptions-caption')?.innerText.startsWith(t)",
        arg=f"{count:,} exception",
    )
    page.screenshot(path=artifacts / "exceptions.png", full_page=True)
    picked = page.locator(ROWS).evaluate_all(
        "rows => rows.slice(0, 2).map(r => r.getAttribute('row-id'))"
    )
    for item_id in picked:
        page.locator(f"{ROWS}[row-id='{item_id}'] .ag-selection-checkbox input").check()
    page.wait_for_function(
        "() => document.querySelector('#exceptions-selected')?.innerText === '2 rows selected'"
    )
    page.click("#exceptions-apply")
    page.wait_for_selector("#exceptions-result >> text=2 done")
    page.goto(served_copy.url + "/exceptions?status=all")
    for item_id in picked:
        page.wait_for_selector(f"{ROWS}[row-id='{item_id}'] [col-id='status']")
        assert "Acknowledged" in _status(page, item_id)
    with app_db(served_copy.settings) as db:
        marks = ", ".join("?" * len(picked))
        stored = db.execute(
            f"SELECT status FROM exc_items WHERE id IN ({marks})", picked
        ).fetchall()
    assert stored == [("acknowledged",), ("acknowledged",)]


def test_a_row_opens_its_detail_with_the_source_timeline(page, served_copy, artifacts):
    page.goto(served_copy.url + "/exceptions?type=backordered_line")
    first = f"{ROWS}[row-index='0'][row-id]"  # a loaded row (a loading block has no id yet)
    page.wait_for_selector(f"{first} [col-id='type_label']")
    page.wait_for_load_state("networkidle")  # the first block and the caption have settled
    item_id = page.get_attribute(first, "row-id")
    assert item_id
    assert item_id.isdigit(), item_id
    page.click(f"{first} [col-id='type_label']")
    page.wait_for_url(f"**/exceptions/{item_id}")
    page.wait_for_selector("#exceptions-detail-timeline")
    assert "Past-due order line" in page.inner_text("h1")
    kinds = page.locator(".timeline-kind").all_inner_texts()
    assert "ORDER LINE" in [k.upper() for k in kinds]
    page.locator(".timeline-record summary").first.click()
    assert "order_id" in page.locator(".timeline-record[open]").first.inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "exception-detail.png", full_page=True)


def test_an_id_outside_the_users_reach_gets_the_same_answer_as_an_unknown_one(page, served_copy):
    for item_id in ("999999", "abc"):
        page.goto(served_copy.url + f"/exceptions/{item_id}")
        page.wait_for_selector("#exceptions-detail-missing")
        assert f"No exception {item_id} in your scope" in page.inner_text(
            "#exceptions-detail-missing"
        )
