"""Inbound rules: purchase order lines past their expected date, and receipts that do not match
their line (short, over or damaged).

Both are keyed by the purchase order line (`po_id|line_no`) and read the line's receipts as
landed. Good quantity is received minus damaged (as in the `po_lines` model behind supplier
on time in full): damaged units do not complete a line. Money is valued at the item master's
standard cost (`items.unit_cost`, in the reporting currency), so value at risk adds up across
entities whatever currency a purchase order is priced in; the line's own price (in its site's
entity currency, per its unit of measure) is in the detail.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType
from control_tower.exceptions.rules.inventory import COVER_AT_RISK, STOCK_COVER

_LINE = "po_id || '|' || line_no"

# Per purchase order line: what its receipts brought so far (every landed receipt).
_RECEIVED = """
    SELECT po_id, po_line_no AS line_no, count(*) AS receipt_lines,
           sum(received_qty) AS received_qty, sum(damaged_qty) AS damaged_qty,
           min(arrived_ts) AS first_arrived_ts, max(arrived_ts) AS last_arrived_ts,
           string_agg(DISTINCT receipt_id, ', ' ORDER BY receipt_id) AS receipt_ids
    FROM receipts
    WHERE exc_in_scope(po_id || '|' || po_line_no)
    GROUP BY ALL
"""

OVERDUE_PO_LINE = ExceptionType(
    name="overdue_po_line",
    label="Overdue purchase order line",
    description=(
        "Open purchase order line (not received, closed or cancelled) whose expected date is "
        "past and whose good quantity received (received - damaged) is short of the ordered "
        "quantity; valued at the missing quantity x the item's standard cost. High when the "
        "item is at stockout risk at the line's site as stockout_risk judges it: the risk model "
        "scores it at least risk_probability for the day or, until a model has scored for the "
        "day, the days-of-cover rule fires."
    ),
    rule="""
    WITH lines AS (
        SELECT p.*, l.entity_id, CAST(i.unit_cost AS DOUBLE) AS item_unit_cost
        FROM purchase_order_lines AS p
        LEFT JOIN locations AS l ON l.location_id = p.location_id
        LEFT JOIN items AS i ON i.item_id = p.item_id
        WHERE p.status = 'open' AND p.expected_date < CAST($as_of AS DATE)
    ),
    got AS ("""
    + _RECEIVED
    + """),
    scored AS (
        SELECT * FROM risk.stockout_scores WHERE as_of = CAST($as_of AS DATE)
    ),"""
    + STOCK_COVER
    + """,
    at_risk AS (
        -- as stockout_risk judges it: the model's score for the day, else the days-of-cover rule
        SELECT location_id, item_id, max(probability) AS probability, 'model' AS risk_source
        FROM scored WHERE probability >= $risk_probability GROUP BY ALL
        UNION ALL
        SELECT location_id, item_id, NULL, 'days_of_cover' FROM judged
        WHERE """
    + COVER_AT_RISK
    + """ AND NOT EXISTS (SELECT 1 FROM scored)
    ),
    line_state AS (
        SELECT l.*, coalesce(g.received_qty, 0) AS received_qty,
               coalesce(g.damaged_qty, 0) AS damaged_qty,
               l.ordered_qty - coalesce(g.received_qty, 0) + coalesce(g.damaged_qty, 0)
                   AS missing_qty,
               g.last_arrived_ts,
               r.item_id IS NOT NULL AS at_stockout_risk, r.probability, r.risk_source
        FROM lines AS l
        LEFT JOIN got AS g ON g.po_id = l.po_id AND g.line_no = l.line_no
        LEFT JOIN at_risk AS r ON r.location_id = l.location_id AND r.item_id = l.item_id
    )
    SELECT
        po_id || '|' || line_no AS key,
        location_id, entity_id, item_id,
        to_json({
            po_id: po_id, line_no: line_no, supplier_id: supplier_id, status: status,
            order_date: order_date, expected_date: expected_date,
            days_overdue: CAST($as_of AS DATE) - expected_date,
            ordered_qty: ordered_qty, received_qty: received_qty, damaged_qty: damaged_qty,
            missing_qty: missing_qty, last_arrived_ts: last_arrived_ts,
            po_unit_cost: unit_cost, uom: uom, item_unit_cost: item_unit_cost,
            at_stockout_risk: at_stockout_risk,
            stockout_probability: round(probability, 4), stockout_risk_source: risk_source
        }) AS detail,
        CAST(missing_qty AS DOUBLE) * coalesce(item_unit_cost, 0) AS value_at_risk,
        CASE WHEN at_stockout_risk THEN 'high' END AS severity,
        CAST(expected_date AS TIMESTAMP) AS event_at
    FROM line_state
    WHERE missing_qty > 0
    """,
    severity="medium",
    owner_role="planner",
    sla_hours=48,
    suggested_action=(
        "Chase the supplier for a firm date; expedite, or move stock from another site, when "
        "the item is at stockout risk."
    ),
    params={"risk_probability": 0.5, "demand_window_days": 28},
    # Whole: stock and demand reach every line of an item-location, and the risk step rewrites
    # the scores it reads.
    reads=(
        "purchase_order_lines",
        "receipts",
        "items",
        "locations",
        "risk.stockout_scores",
        "inventory_snapshots",
        "sales_order_lines",
    ),
)

RECEIPT_DISCREPANCY = ExceptionType(
    name="receipt_discrepancy",
    label="Receipt discrepancy",
    description=(
        "Purchase order line whose receipts do not match it: short (the ERP reports the line "
        "received or closed with less than the ordered quantity received), over (more received "
        "than ordered) or damaged (damaged quantity above zero). Valued at the quantity short, "
        "over and damaged x the item's standard cost; high from high_value. A line whose last "
        "receipt arrived within the look-back window opens an item, which stays open until "
        "the receipts match (a later receipt makes up a short line) or a person resolves it."
    ),
    rule="""
    WITH judged AS (
        SELECT p.po_id, p.line_no, p.supplier_id, p.item_id, p.location_id, p.status,
               p.expected_date, p.ordered_qty, l.entity_id,
               CAST(i.unit_cost AS DOUBLE) AS item_unit_cost,
               g.received_qty, g.damaged_qty, g.receipt_ids, g.receipt_lines,
               g.last_arrived_ts,
               CASE WHEN p.status IN ('received', 'closed') AND g.received_qty < p.ordered_qty
                    THEN p.ordered_qty - g.received_qty ELSE 0 END AS short_qty,
               greatest(g.received_qty - p.ordered_qty, 0) AS over_qty
        FROM purchase_order_lines AS p
        JOIN ("""
    + _RECEIVED
    + """) AS g ON g.po_id = p.po_id AND g.line_no = p.line_no
        LEFT JOIN locations AS l ON l.location_id = p.location_id
        LEFT JOIN items AS i ON i.item_id = p.item_id
        WHERE p.status <> 'cancelled' AND exc_in_scope(p.po_id || '|' || p.line_no)
    ),
    valued AS (
        SELECT *, CAST(short_qty + over_qty + damaged_qty AS DOUBLE) * coalesce(item_unit_cost, 0)
                      AS discrepancy_value
        FROM judged
        WHERE short_qty > 0 OR over_qty > 0 OR damaged_qty > 0
    )
    SELECT
        po_id || '|' || line_no AS key,
        location_id, entity_id, item_id,
        to_json({
            po_id: po_id, line_no: line_no, supplier_id: supplier_id, status: status,
            discrepancy: concat_ws(', ',
                CASE WHEN short_qty > 0 THEN 'short' END,
                CASE WHEN over_qty > 0 THEN 'over' END,
                CASE WHEN damaged_qty > 0 THEN 'damaged' END),
            ordered_qty: ordered_qty, received_qty: received_qty, damaged_qty: damaged_qty,
            short_qty: short_qty, over_qty: over_qty, receipt_ids: receipt_ids,
            receipt_lines: receipt_lines, last_arrived_ts: last_arrived_ts,
            expected_date: expected_date, item_unit_cost: item_unit_cost
        }) AS detail,
        discrepancy_value AS value_at_risk,
        CASE WHEN discrepancy_value >= $high_value THEN 'high' END AS severity,
        last_arrived_ts AS event_at,
        last_arrived_ts >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))
            AS in_window
    FROM valued
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=72,
    suggested_action=(
        "Recount the receipt; record the damage and claim it, and agree a credit note or "
        "a follow-up delivery with the supplier."
    ),
    params={"lookback_days": 30, "high_value": 1000.0},
    # $now only bounds the look-back window, which only ever closes on an unchanged line
    reads=("purchase_order_lines", "receipts", "items", "locations"),
    keys_from={
        "purchase_order_lines": f"SELECT {_LINE} AS key FROM touched",
        "receipts": "SELECT po_id || '|' || po_line_no AS key FROM touched",
        "items": f"SELECT {_LINE} AS key FROM purchase_order_lines SEMI JOIN touched USING (item_id)",
        "locations": (
            f"SELECT {_LINE} AS key FROM purchase_order_lines SEMI JOIN touched USING (location_id)"
        ),
    },
)
