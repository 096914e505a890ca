"""The supplier pages in a real browser, on the small demo served by waitress.

Finance (fin) opens `/suppliers`, reads the most overdue supplier's row, opens its page
and finds the same figures there; both are checked against an independent SQL query
of the snapshot. The supervisor (sam, scoped to DC-NJ) sees only DC-NJ's lines.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from datetime import timedelta

from control_tower.storage.serving import published_as_of
from tests.support.suppliers import independent
from tests.support.web_users import SUPERVISOR_SITE

TIMEOUT_MS = 30_000
ROWS = "#suppliers-grid .ag-center-cols-container .ag-row"


def _cell(page, row: str, col: str) -> str:
    return page.inner_text(f"{row} [col-id='{col}']").strip()


def test_finance_reads_the_scorecards_and_opens_a_supplier(
    tab_as, served_demo, snapshot, artifacts
):
    as_of = published_as_of(snapshot)
    want = independent(snapshot, as_of - timedelta(days=90), as_of)
    page = tab_as(served_demo, "finance", viewport=(1440, 900), timeout_ms=TIMEOUT_MS)
    page.goto(served_demo.url + "/suppliers")
    page.wait_for_selector(f"{ROWS}[row-index='0']")
    assert "Suppliers" in page.inner_text("#shell-nav")
    # sorted by overdue value, largest first
    top = max(want, key=lambda s: (want[s][4], s))
    due, otif, open_lines, overdue, value = want[top]
    row = f"{ROWS}[row-id='{top}']"
    assert page.get_attribute(f"{ROWS}[row-index='0']", "row-id") == top
    assert _cell(page, row, "lines_due") == f"{due:,}"
    assert _cell(page, row, "open_lines") == f"{open_lines:,}"
    assert _cell(page, row, "overdue_lines") == f"{overdue:,}"
    assert _cell(page, row, "overdue_value") == f"{value:,.0f}"
    assert _cell(page, row, "otif") == (f"{otif / due:.1%}" if due else "—")
    page.screenshot(path=str(artifacts / "suppliers.png"), full_page=True)

    # the supplier column is pinned to the left, outside the centre columns
    page.click(f"#suppliers-grid .ag-pinned-left-cols-container [row-id='{top}'] a")
    page.wait_for_url(f"**/suppliers/{top}*")
    page.wait_for_selector("#suppliers-detail-overdue")
    assert page.inner_text("#suppliers-detail-title").startswith(top)
    assert page.inner_text("#suppliers-detail-overdue .kpi-value") == f"{overdue:,}"
    assert f"{value:,.0f} at standard cost" in page.inner_text("#suppliers-detail-overdue")
    tile = page.inner_text("#suppliers-detail-otif")
    assert f"{otif:,} of {due:,} line" in tile
    page.wait_for_selector("#suppliers-detail-open .ag-row")
    page.wait_for_selector("#suppliers-detail-trend .main-svg")
    page.screenshot(path=str(artifacts / "supplier.png"), full_page=True)


def test_a_supervisor_sees_only_the_lines_of_their_site(tab_as, served_demo, snapshot):
    as_of = published_as_of(snapshot)
    want = independent(snapshot, as_of - timedelta(days=90), as_of, SUPERVISOR_SITE)
    sam = tab_as(served_demo, "warehouse_supervisor", viewport=(1440, 900), timeout_ms=TIMEOUT_MS)
    sam.goto(served_demo.url + "/suppliers")
    sam.wait_for_selector(f"{ROWS}[row-index='0']")
    # the grid draws the rows in view: those drawn are the site's, the caption counts them all
    shown = {
        sam.get_attribute(f"{ROWS}[row-index='{n}']", "row-id")
        for n in range(sam.locator(ROWS).count())
    }
    assert shown
    assert shown <= set(want)
    assert sam.inner_text("#suppliers-caption").startswith(f"{len(want)} supplier")
    top = sam.get_attribute(f"{ROWS}[row-index='0']", "row-id")
    assert _cell(sam, f"{ROWS}[row-id='{top}']", "overdue_lines") == f"{want[top][3]:,}"
    supplier = max(want, key=lambda s: (want[s][2], s))  # the most open lines
    sam.goto(served_demo.url + f"/suppliers/{supplier}")
    sam.wait_for_selector("#suppliers-detail-open-lines")
    assert sam.inner_text("#suppliers-detail-open-lines .kpi-value") == f"{want[supplier][2]:,}"
    sam.wait_for_selector("#suppliers-detail-open .ag-row")
    sites = set(
        sam.locator("#suppliers-detail-open .ag-row [col-id='location_id']").all_inner_texts()
    )
    assert sites == {SUPERVISOR_SITE}
