"""Independent queries of the finance money figures, written plainly for the tests to compare
the pages against."""

from __future__ import annotations

# Independent GRNI: per PO line, good received less invoiced (never below 0) x PO unit cost.
GRNI_SQL = """
WITH r AS (SELECT po_id, po_line_no, sum(received_qty - coalesce(damaged_qty, 0)) AS good
           FROM receipts WHERE po_id IS NOT NULL GROUP BY ALL),
     i AS (SELECT po_id, po_line_no, sum(invoiced_qty) AS qty
           FROM ap_invoice_lines WHERE po_id IS NOT NULL GROUP BY ALL)
SELECT count(*), sum((r.good - coalesce(i.qty, 0)) * p.unit_cost)
FROM r JOIN purchase_order_lines AS p ON p.po_id = r.po_id AND p.line_no = r.po_line_no
LEFT JOIN i ON i.po_id = r.po_id AND i.po_line_no = r.po_line_no
WHERE r.good > coalesce(i.qty, 0) {where}
"""
