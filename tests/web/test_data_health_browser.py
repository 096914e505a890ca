"""The data-health page in a real browser: what a data steward sees and can do on it.

Served by waitress over the landed folder of conftest.py (241 quarantine
problems in batch 5), driven by Playwright on Debian's chromium.
"""

from __future__ import annotations

import pytest

PROBLEMS = 241  # 240 negative quantities + 1 unknown customer (conftest.py)
QUARANTINE = "#data-health-quarantine"
ROWS = f"{QUARANTINE} .ag-center-cols-container .ag-row"
TIMEOUT_MS = 15_000


@pytest.fixture
def page(tab_as, request):
    """A fresh page signed in as the admin of the app the test uses (`served` or
    `served_empty`); fails the test on any browser error or console error."""
    app = next(
        request.getfixturevalue(name)
        for name in ("served", "served_empty")
        if name in request.fixturenames
    )
    return tab_as(app, "admin", timeout_ms=TIMEOUT_MS)


def _caption(page) -> str:
    return page.inner_text("#data-health-quarantine-caption")


def _wait_caption(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('#data-health-quarantine-caption')?.innerText.includes(t)",
        arg=text,
    )


def _wait_grid(page) -> None:
    """The quarantine grid's first block is shown: its header can be clicked, its body scrolled.

    The grid fills in by its own callback, the page body is shown by the 30-second refresh:
    on a loaded machine the grid's rows and caption arrive while the body is still hidden.
    Now and then (about one CI run in three) the first block's rows stay laid out with no size
    for good once the body shows (a known fault, not yet understood: docs/operations.md, "Known
    limitations"); the page is then opened again, once, and must show them."""
    _wait_caption(page, "in quarantine")
    page.wait_for_selector("#data-health-body", state="visible", timeout=4 * TIMEOUT_MS)
    first = f"{ROWS}[row-index='0']"
    try:
        page.wait_for_selector(first, state="visible", timeout=2 * TIMEOUT_MS)
    except Exception:  # Playwright's TimeoutError
        page.reload()
        _wait_caption(page, "in quarantine")
        page.wait_for_selector("#data-health-body", state="visible", timeout=4 * TIMEOUT_MS)
        page.wait_for_selector(first, state="visible", timeout=4 * TIMEOUT_MS)
    page.wait_for_selector(
        f"{QUARANTINE} .ag-header-cell[col-id='source_line'] .ag-header-cell-label", state="visible"
    )


def _lines(page) -> list[str]:
    return page.locator(f"{ROWS} [col-id='source_line']").all_inner_texts()


class TestLandedWarehouse:
    def test_page_shows_freshness_and_quarantine(self, page, served, artifacts):
        page.goto(served.url + "/data-health")
        page.wait_for_selector("#data-health-freshness-table")
        freshness = page.inner_text("#data-health-freshness-table")
        assert "sales_order_lines" in freshness
        assert "Fresh" in freshness
        assert "Never loaded" in freshness
        _wait_caption(page, f"{PROBLEMS} problems in quarantine")
        _wait_grid(page)
        page.wait_for_selector(f"{ROWS} >> text=ordered_qty must be greater than 0, got -1")
        assert page.inner_text("#data-health-kpi-quarantine .kpi-value") == "241"
        assert page.inner_text("#data-health-kpi-rejected .kpi-value") == "1"  # bogus.csv
        page.screenshot(path=str(artifacts / "data-health.png"), full_page=True)

    def test_header_sort_is_done_on_the_server(self, page, served):
        page.goto(served.url + "/data-health")
        _wait_grid(page)
        page.click(f"{QUARANTINE} .ag-header-cell[col-id='source_line'] .ag-header-cell-label")
        page.wait_for_function(
            f"() => document.querySelector(\"{ROWS}[row-index='0'] [col-id='source_line']\")?.innerText === '2'"
        )
        assert page.inner_text(f"{ROWS}[row-index='0'] [col-id='source_line']") == "2"
        page.click(f"{QUARANTINE} .ag-header-cell[col-id='source_line'] .ag-header-cell-label")
        # Descending over all 241 rows, not just the loaded block: line 252 is the unknown customer.
        page.wait_for_function(
            f"() => document.querySelector(\"{ROWS}[row-index='0'] [col-id='source_line']\")?.innerText === '252'"
        )
        assert page.inner_text(f"{ROWS}[row-index='0'] [col-id='source_line']") == "252"

    def test_scrolling_loads_later_blocks(self, page, served):
        page.goto(served.url + "/data-health")
        _wait_grid(page)
        page.locator(f"{QUARANTINE} .ag-body-viewport").evaluate(
            "el => el.scrollTop = el.scrollHeight"
        )
        page.wait_for_selector(f"{ROWS}[row-index='{PROBLEMS - 1}']")
        assert page.locator(f"{ROWS}[row-index='{PROBLEMS - 1}']").count() == 1

    def test_selecting_a_batch_filters_the_browser_to_it(self, page, served):
        page.goto(served.url + "/data-health")
        _wait_caption(page, "in quarantine")
        page.click("#data-health-batches .ag-center-cols-container .ag-row[row-id='4']")
        _wait_caption(page, "No quarantined rows match this filter")
        assert "Batch #4" in page.inner_text("#data-health-quarantine-focus")
        page.click("#data-health-batches .ag-center-cols-container .ag-row[row-id='5']")
        _wait_caption(page, f"{PROBLEMS} problems match")
        page.click("#data-health-quarantine-clear")
        _wait_caption(page, f"{PROBLEMS} problems in quarantine")

    def test_selecting_a_reason_filters_to_that_reason(self, page, served):
        page.goto(served.url + "/data-health")
        page.click(".reason >> text=unknown customer_id")
        _wait_caption(page, "1 problem match")
        assert _lines(page) == ["252"]
        page.click(f"{ROWS}[row-index='0']")
        page.wait_for_selector("#data-health-record pre")
        record = page.inner_text("#data-health-record")
        assert "unknown customer_id 'C9': not in customers" in record
        assert '"order_id": "SO999"' in record

    def test_batches_grid_shows_the_rejected_file_and_its_reason(self, page, served):
        page.goto(served.url + "/data-health")
        row = page.locator("#data-health-batches .ag-center-cols-container .ag-row[row-id='1']")
        row.wait_for()
        text = row.inner_text()
        assert "Rejected" in text
        assert "bogus.csv" in text
        assert "does not start with an ERP table name" in text


class TestNothingLandedYet:
    def test_says_what_to_do(self, page, served_empty, artifacts):
        page.goto(served_empty.url + "/data-health")
        page.wait_for_selector("#data-health-empty >> text=No data landed yet")
        assert "control-tower ingest" in page.inner_text("#data-health-empty")
        assert "Not running" in page.inner_text("#data-health-empty")  # scheduler
        assert page.locator("#data-health-body").is_hidden()
        page.screenshot(path=str(artifacts / "data-health-empty.png"), full_page=True)
