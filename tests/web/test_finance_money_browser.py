"""The finance page's GRNI in a real browser, on the small demo: the tile shows the total of a
plain query of the snapshot, and clicking it opens the grid of the PO lines behind it.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from control_tower.web.format import fmt_money
from tests.support.finance_money import GRNI_SQL

TIMEOUT_MS = 90_000


def test_finance_sees_grni_and_drills_to_its_lines(tab_as, served_demo, snapshot, artifacts):
    lines, total = snapshot.execute(GRNI_SQL.format(where="")).fetchone()
    (currency,) = snapshot.execute("SELECT reporting_currency FROM money.settings").fetchone()
    top = snapshot.execute(
        "SELECT r.po_id FROM receipts r JOIN purchase_order_lines p "
        "ON p.po_id = r.po_id AND p.line_no = r.po_line_no "
        "LEFT JOIN (SELECT po_id, po_line_no, sum(invoiced_qty) AS q FROM ap_invoice_lines "
        "GROUP BY ALL) i ON i.po_id = r.po_id AND i.po_line_no = r.po_line_no "
        "GROUP BY r.po_id, r.po_line_no, p.unit_cost, i.q "
        "HAVING sum(r.received_qty - coalesce(r.damaged_qty, 0)) > coalesce(i.q, 0) "
        "ORDER BY (sum(r.received_qty - coalesce(r.damaged_qty, 0)) - coalesce(i.q, 0)) "
        "* p.unit_cost DESC LIMIT 1"
    ).fetchone()[0]
    fin = tab_as(served_demo, "finance", viewport=(1366, 900), timeout_ms=TIMEOUT_MS)
    fin.goto(served_demo.url + "/finance")
    fin.wait_for_selector("#finance-grni-total")
    assert fin.inner_text("#finance-grni-total") == f"{fmt_money(float(total))} {currency}"
    assert "0-30 days" in fin.inner_text("#finance-grni-panel")
    fin.screenshot(path=str(artifacts / "finance-money.png"), full_page=True)
    fin.click("#finance-grni-total")
    fin.wait_for_selector("#finance-lines-grid .ag-row")
    assert fin.inner_text("#finance-lines-title") == "Goods received not invoiced"
    assert fin.inner_text("#finance-lines-caption").startswith(f"{lines:,} lines")
    # the largest line first
    first = fin.locator("#finance-lines-grid .ag-row[row-index='0'] [col-id='po_id']")
    assert first.inner_text() == top
    fin.screenshot(path=str(artifacts / "finance-lines.png"), full_page=True)
