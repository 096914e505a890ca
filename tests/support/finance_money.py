"""Independent queries of the finance money figures, written plainly for the tests to compare
the pages against."""

from __future__ import annotations

# Independent GRNI: per PO line, good received less invoiced (never below 0) x PO unit cost, in
# the reporting currency: an entity's amounts at the newest published rate to it (the demo
# publishes rates up to the weekday before its data day, so that is the rate of as_of - 1).
GRNI_SQL = """
WITH r AS (SELECT po_id, po_line_no, sum(received_qty - coalesce(damaged_qty, 0)) AS good
           FROM receipts WHERE po_id IS NOT NULL GROUP BY ALL),
     i AS (SELECT po_id, po_line_no, sum(invoiced_qty) AS qty
           FROM ap_invoice_lines WHERE po_id IS NOT NULL GROUP BY ALL),
     rc AS (SELECT reporting_currency AS currency FROM money.settings),
     newest AS (SELECT from_currency, arg_max(rate, rate_date) AS rate FROM fx_rates
                WHERE to_currency = (SELECT currency FROM rc) GROUP BY ALL)
SELECT count(*), sum((r.good - coalesce(i.qty, 0)) * p.unit_cost
                     * CASE WHEN e.currency = (SELECT currency FROM rc) THEN 1 ELSE fx.rate END)
FROM r JOIN purchase_order_lines AS p ON p.po_id = r.po_id AND p.line_no = r.po_line_no
LEFT JOIN i ON i.po_id = r.po_id AND i.po_line_no = r.po_line_no
JOIN locations AS l ON l.location_id = p.location_id
JOIN entities AS e ON e.entity_id = l.entity_id
LEFT JOIN newest AS fx ON fx.from_currency = e.currency
WHERE r.good > coalesce(i.qty, 0) {where}
"""


# A freight move's cost to the reporting currency: 1 in it, else its month's average rate.
REPORTING_JOINS = """
    LEFT JOIN entities AS e ON e.entity_id = l.entity_id
    LEFT JOIN money.fx_monthly AS m ON m.from_currency = e.currency
        AND m.to_currency = (SELECT reporting_currency FROM money.settings)
        AND m.month = date_trunc('month', f.actual_pickup_ts_local_date)
"""
REPORTING_FACTOR = (
    "CASE WHEN e.currency = (SELECT reporting_currency FROM money.settings) THEN 1 ELSE m.rate END"
)
