"""Order rules: open lines past their promise and lines shipped short."""

from __future__ import annotations

from control_tower.exceptions.rules.base import (
    REPORTING_RATE_READS,
    ExceptionType,
    in_reporting_currency,
)

# The unit price of an order line is per its delivered unit of measure; quantities are in base units.
# On a delta only the lines in scope (their key) are read, and only their shipments.
LINE_STATE = """
    SELECT
        l.order_id, l.line_no, l.location_id, l.entity_id, l.customer_id, l.item_id, l.status,
        l.first_promised_date, l.promised_date, l.ordered_qty,
        coalesce(s.shipped_qty, 0) AS shipped_qty,
        s.last_shipped_ts,
        CAST(l.unit_price AS DOUBLE) / coalesce(nullif(l.uom_factor, 0), 1) AS base_price,
        c.priority_tier
    FROM sales_order_lines AS l
    LEFT JOIN (
        SELECT order_id, line_no, sum(shipped_qty) AS shipped_qty, max(shipped_ts) AS last_shipped_ts
        FROM shipments WHERE exc_in_scope(order_id || '|' || line_no)
        GROUP BY order_id, line_no
    ) AS s ON s.order_id = l.order_id AND s.line_no = l.line_no
    LEFT JOIN customers AS c ON c.customer_id = l.customer_id
    WHERE l.status <> 'cancelled' AND exc_in_scope(l.order_id || '|' || l.line_no)
"""

# A line's conditions change with the line, its shipments and its customer's priority tier.
LINE_READS = ("sales_order_lines", "shipments", "customers")
LINE_KEYS = {
    "sales_order_lines": "SELECT order_id || '|' || line_no AS key FROM touched",
    "shipments": "SELECT order_id || '|' || line_no AS key FROM touched",
    "customers": (
        "SELECT l.order_id || '|' || l.line_no AS key FROM sales_order_lines AS l "
        "SEMI JOIN touched USING (customer_id)"
    ),
}


def _line_rule(facts: str, where: str, event_at: str, in_window: str = "true") -> str:
    """A rule over order lines: one row per line meeting `where`, its detail the line's reference
    and `facts`, valued at the unshipped quantity (in the reporting currency), high severity for
    tier-1 customers; the condition began at `event_at` and may open an item when `in_window`."""
    return in_reporting_currency(f"""
    SELECT
        order_id || '|' || line_no AS key,
        location_id, entity_id, item_id,
        to_json({{
            order_id: order_id, line_no: line_no, customer_id: customer_id, status: status,
            {facts}
        }}) AS detail,
        CAST(ordered_qty - shipped_qty AS DOUBLE) * base_price AS value_at_risk,
        CASE WHEN priority_tier = 1 THEN 'high' END AS severity,
        {event_at} AS event_at,
        {in_window} AS in_window
    FROM ({LINE_STATE}) AS lines
    WHERE {where}
    """)


BACKORDERED_LINE = ExceptionType(
    name="backordered_line",
    label="Past-due order line",
    description=(
        "Open order line (open, released or backordered) past its first promised date and "
        "not fully shipped."
    ),
    rule=_line_rule(
        """first_promised_date: first_promised_date, promised_date: promised_date,
            days_past_promise: CAST($as_of AS DATE) - first_promised_date,
            ordered_qty: ordered_qty, shipped_qty: shipped_qty""",
        """status IN ('open', 'released', 'backordered')
      AND first_promised_date < CAST($as_of AS DATE)
      AND shipped_qty < ordered_qty""",
        "CAST(first_promised_date AS TIMESTAMP)",
    ),
    severity="medium",
    owner_role="planner",
    sla_hours=48,
    suggested_action=(
        "Confirm a new ship date with the customer, or source the item from another location."
    ),
    reads=(*LINE_READS, *REPORTING_RATE_READS),
    keys_from=LINE_KEYS,
)

SHORT_SHIPMENT = ExceptionType(
    name="short_shipment",
    label="Short shipment",
    description=(
        "Order line closed as shipped with less than the ordered quantity; a line last shipped "
        "within the look-back window opens an item, which stays open until the line is "
        "shipped in full."
    ),
    rule=_line_rule(
        """ordered_qty: ordered_qty, shipped_qty: shipped_qty, short_qty: ordered_qty - shipped_qty,
            last_shipped_ts: last_shipped_ts""",
        """status IN ('shipped', 'closed')
      AND shipped_qty > 0
      AND shipped_qty < ordered_qty""",
        "last_shipped_ts",
        "last_shipped_ts >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))",
    ),
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=48,
    suggested_action=(
        "Check the pick for the missing quantity and ship a follow-up, or credit the customer."
    ),
    params={"lookback_days": 14},
    # $now only bounds the look-back window, which only ever closes on an unchanged line
    reads=(*LINE_READS, *REPORTING_RATE_READS),
    keys_from=LINE_KEYS,
)
