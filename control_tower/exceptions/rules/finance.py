"""Finance rules: invoice lines that failed their match and overdue close tasks."""

from __future__ import annotations

from control_tower.exceptions.rules.base import (
    REPORTING_RATE_READS,
    ExceptionType,
    in_reporting_currency,
)

UNMATCHED_INVOICE_LINE = ExceptionType(
    name="unmatched_invoice_line",
    label="Unmatched invoice line",
    description=(
        "PO invoice line whose current match status is a price, quantity or receipt "
        "mismatch; a line invoiced within the look-back window opens an item, which stays "
        "open until the line matches."
    ),
    # the invoice's amounts are in its entity's currency
    rule=in_reporting_currency("""
    SELECT
        a.invoice_id || '|' || a.line_no AS key,
        p.location_id, a.entity_id, p.item_id,
        to_json({
            invoice_id: a.invoice_id, line_no: a.line_no, supplier_id: a.supplier_id,
            po_id: a.po_id, po_line_no: a.po_line_no, match_status: a.match_status,
            invoiced_qty: a.invoiced_qty, invoiced_unit_cost: a.invoiced_unit_cost,
            po_unit_cost: p.unit_cost, invoice_date: a.invoice_date
        }) AS detail,
        CAST(a.invoiced_qty * a.invoiced_unit_cost AS DOUBLE) AS value_at_risk,
        NULL AS severity,
        CAST(a.invoice_date AS TIMESTAMP) AS event_at,
        -- older mismatches open no item (ERPs keep the first match status, AP has settled them)
        a.invoice_date >= CAST($as_of AS DATE) - CAST($lookback_days AS INTEGER) AS in_window
    FROM ap_invoice_lines AS a
    LEFT JOIN purchase_order_lines AS p ON p.po_id = a.po_id AND p.line_no = a.po_line_no
    WHERE a.po_id IS NOT NULL AND a.po_id <> ''
      AND a.match_status IN ('price_variance', 'qty_variance', 'no_receipt')
      AND exc_in_scope(a.invoice_id || '|' || a.line_no)
    """),
    severity="medium",
    owner_role="finance",
    sla_hours=120,
    suggested_action=(
        "Compare invoice, PO and receipt; ask the supplier for a credit note or approve the variance."
    ),
    params={"lookback_days": 45},
    reads=("ap_invoice_lines", "purchase_order_lines", *REPORTING_RATE_READS),
    keys_from={
        "ap_invoice_lines": "SELECT invoice_id || '|' || line_no AS key FROM touched",
        "purchase_order_lines": (
            "SELECT a.invoice_id || '|' || a.line_no AS key FROM ap_invoice_lines AS a "
            "JOIN touched AS p ON p.po_id = a.po_id AND p.line_no = a.po_line_no"
        ),
    },
)

OVERDUE_CLOSE_TASK = ExceptionType(
    name="overdue_close_task",
    label="Overdue close task",
    description="Period-close task not done and past its due date.",
    rule="""
    SELECT
        entity_id || '|' || period || '|' || task_id AS key,
        NULL AS location_id, entity_id, NULL AS item_id,
        to_json({
            period: period, task_id: task_id, task_name: task_name, category: category,
            owner: owner, due_date: due_date, days_overdue: CAST($as_of AS DATE) - due_date
        }) AS detail,
        NULL AS value_at_risk,
        CASE WHEN CAST($as_of AS DATE) - due_date > 3 THEN 'high' END AS severity,
        CAST(due_date AS TIMESTAMP) AS event_at
    FROM close_tasks
    WHERE status <> 'done' AND completed_at IS NULL AND due_date < CAST($as_of AS DATE)
      AND exc_in_scope(entity_id || '|' || period || '|' || task_id)
    """,
    severity="medium",
    owner_role="finance",
    sla_hours=24,
    suggested_action="Finish the task or re-assign it; the period cannot close until it is done.",
    reads=("close_tasks",),
    keys_from={
        "close_tasks": "SELECT entity_id || '|' || period || '|' || task_id AS key FROM touched"
    },
)
