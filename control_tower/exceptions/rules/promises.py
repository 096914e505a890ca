"""Order promise rules: open lines the projection cannot cover, and first promises missed.

`order_at_risk` projects each item-location's available stock forward from the
as-of day T (the ATP projection):

    A0    on_hand - allocated - quarantined at the location's latest snapshot on or
          before T (0 when the item is not in it: snapshots are whole-location daily
          pictures, so an item missing from the latest one has nothing there)
    S(d)  remaining quantity (ordered - received) of open PO lines (status open)
          expected on or before d; a line past due or undated counts on T+1
    D(d)  unshipped quantity (ordered - shipped) of open and backordered order lines
          (released lines are inside allocated) promised on or before d; past-due
          demand counts on T+1. A line's promise is its effective one: the tower's
          latest re-promise (exc.line_promises) when recorded after the line's
          updated_at, else the landed promised_date

Coverage takes stock in promise order: the lines of an item-location, sorted by
promised date, then order time, order id and line number, are covered while
A0 + S(promised date) >= the cumulative unshipped quantity of the lines up to and
including it. The line's ATP date is the earliest day d in T+1 .. T+horizon from
which the projection, with the line's own demand moved to d, stays >= 0 to the end
of the horizon (it never takes stock promised to another line).

These inputs are the ATP package's own (`control_tower.promising.sql`), so a line's
ATP date here is the date `promising.answer` gives for its open quantity with the line's
own demand left out (a test holds the two to the same answer).

`missed_promise` is the line-level reading of the order_promise_accuracy KPI
(kpi_definitions/models/order_lines.yml): a due line not delivered in full by the
end of its first promised date, on the shipping location's calendar. A test holds
the two to the same answer.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import (
    REPORTING_RATE_JOINS,
    REPORTING_RATE_READS,
    ExceptionType,
    in_reporting_currency,
    reporting_amount,
)
from control_tower.promising.sql import demand_ctes, start_ctes, supply_ctes

_AS_OF = "CAST($as_of AS DATE)"
_NEXT_DAY = f"({_AS_OF} + 1)"
_BASE_PRICE = "CAST(l.unit_price AS DOUBLE) / coalesce(nullif(l.uom_factor, 0), 1)"
_LINE_KEY = "order_id || '|' || line_no"

# The ATP inputs, defined once in promising.sql: open demand (with what ranks and values it),
# the start stock of the items in demand at every site, open supply of the demand's
# item-locations.
_INPUTS = ", ".join((
    demand_ctes("demand", extra=f"l.entity_id, l.order_ts, l.first_promised_date, "
                  f"{_BASE_PRICE} AS base_price"),
    start_ctes("stock", items_in="demand"),
    supply_ctes("supply", pairs_in="demand"),
))  # fmt: skip

_ORDER_AT_RISK_RULE = f"""
    WITH {_INPUTS},
    ranked AS (
        SELECT d.*, sum(d.open_qty) OVER (
            PARTITION BY d.location_id, d.item_id
            ORDER BY d.promised_date, d.order_ts, d.order_id, d.line_no
            ROWS UNBOUNDED PRECEDING) AS cum_demand
        FROM demand AS d
    ),
    supplied AS (
        SELECT r.order_id, r.line_no, coalesce(sum(p.open_qty), 0) AS supply_by_promise
        FROM ranked AS r
        LEFT JOIN supply AS p ON p.location_id = r.location_id AND p.item_id = r.item_id
             AND p.event_date <= r.promised_date
        WHERE r.promised_date >= {_AS_OF}
        GROUP BY ALL
    ),
    scores AS (
        SELECT order_id, line_no, max(probability) AS late_risk,
               coalesce(max(ranked_by), 'model') AS late_risk_ranked_by
        FROM risk.late_order_scores WHERE as_of = {_AS_OF}
        GROUP BY ALL
    ),
    judged AS (
        SELECT r.*, c.priority_tier, sc.late_risk, sc.late_risk_ranked_by,
               r.cum_demand - coalesce(st.available_qty, 0) - s.supply_by_promise AS shortfall,
               -- in the reporting currency (the line's price is in its entity's)
               {reporting_amount("r.open_qty * r.base_price")} AS line_value
        FROM ranked AS r
        JOIN supplied AS s USING (order_id, line_no)
        LEFT JOIN stock AS st USING (location_id, item_id)
        LEFT JOIN scores AS sc USING (order_id, line_no)
        LEFT JOIN customers AS c ON c.customer_id = r.customer_id
        {REPORTING_RATE_JOINS.format(entity="r.entity_id")}
    ),
    candidates AS (
        SELECT *, shortfall <= 0 AS covered,
               CASE WHEN shortfall > 0 THEN 1.0 ELSE late_risk END AS miss_risk
        FROM judged
        WHERE shortfall > 0 OR late_risk > $min_late_risk
    ),
    horizon AS (
        SELECT {_AS_OF} + CAST(n AS INTEGER) AS day
        FROM (SELECT unnest(range(1, CAST($horizon_days AS BIGINT) + 1)) AS n)
    ),
    events AS (
        SELECT location_id, item_id, event_date AS day, open_qty AS qty FROM supply
        UNION ALL
        SELECT location_id, item_id, event_date, -open_qty FROM demand
    ),
    net AS (
        SELECT e.location_id, e.item_id, e.day, sum(e.qty) AS qty
        FROM events AS e SEMI JOIN candidates AS c USING (location_id, item_id)
        GROUP BY ALL
    ),
    grid AS (
        SELECT k.location_id, k.item_id, h.day
        FROM (SELECT DISTINCT location_id, item_id FROM candidates) AS k CROSS JOIN horizon AS h
    ),
    projection AS (
        SELECT g.location_id, g.item_id, g.day,
               coalesce(st.available_qty, 0) + sum(coalesce(n.qty, 0)) OVER (
                   PARTITION BY g.location_id, g.item_id ORDER BY g.day ROWS UNBOUNDED PRECEDING
               ) AS atp
        FROM grid AS g
        LEFT JOIN net AS n USING (location_id, item_id, day)
        LEFT JOIN stock AS st USING (location_id, item_id)
    ),
    floors AS (
        -- the lowest projection from each day on, the line's own demand taken back out
        SELECT c.order_id, c.line_no, c.open_qty, p.day,
               min(p.atp + CASE WHEN p.day >= c.event_date THEN c.open_qty ELSE 0 END) OVER (
                   PARTITION BY c.order_id, c.line_no ORDER BY p.day DESC
                   ROWS UNBOUNDED PRECEDING) AS floor_after
        FROM candidates AS c JOIN projection AS p USING (location_id, item_id)
    ),
    atp_dates AS (
        SELECT order_id, line_no, min(day) FILTER (WHERE floor_after >= open_qty) AS atp_date
        FROM floors GROUP BY ALL
    ),
    free AS (
        -- what another site holds beyond its own open demand of the item
        SELECT st.location_id, st.item_id, loc.entity_id,
               st.available_qty - coalesce(dm.qty, 0) AS free_qty
        FROM stock AS st
        JOIN locations AS loc ON loc.location_id = st.location_id
        LEFT JOIN (SELECT location_id, item_id, sum(open_qty) AS qty FROM demand GROUP BY ALL)
            AS dm ON dm.location_id = st.location_id AND dm.item_id = st.item_id
    ),
    transfers AS (
        SELECT c.order_id, c.line_no, f.location_id AS source_location, f.free_qty
        FROM candidates AS c
        JOIN free AS f ON f.item_id = c.item_id AND f.entity_id = c.entity_id
             AND f.location_id <> c.location_id AND f.free_qty >= c.shortfall
        WHERE c.shortfall > 0
        QUALIFY row_number() OVER (
            PARTITION BY c.order_id, c.line_no ORDER BY f.free_qty DESC, f.location_id) = 1
    ),
    expedites AS (
        SELECT c.order_id, c.line_no, p.po_id, p.line_no AS po_line_no, p.expected_date,
               p.open_qty AS po_open_qty
        FROM candidates AS c
        JOIN supply AS p ON p.location_id = c.location_id AND p.item_id = c.item_id
             AND p.event_date > c.promised_date AND p.open_qty >= c.shortfall
        WHERE c.shortfall > 0
        QUALIFY row_number() OVER (
            PARTITION BY c.order_id, c.line_no ORDER BY p.event_date, p.po_id, p.line_no) = 1
    ),
    advised AS (
        SELECT c.*, a.atp_date, t.source_location, e.po_id, e.po_line_no, e.expected_date,
               CASE WHEN c.covered THEN 'monitor'
                    WHEN t.source_location IS NOT NULL THEN 'transfer'
                    WHEN e.po_id IS NOT NULL THEN 'expedite'
                    WHEN a.atp_date IS NOT NULL THEN 're_promise'
                    ELSE 'no_supply' END AS action,
               CAST(ceil(c.shortfall) AS BIGINT) AS short_units
        FROM candidates AS c
        LEFT JOIN atp_dates AS a USING (order_id, line_no)
        LEFT JOIN transfers AS t USING (order_id, line_no)
        LEFT JOIN expedites AS e USING (order_id, line_no)
    )
    SELECT
        {_LINE_KEY} AS key, location_id, entity_id, item_id,
        to_json({{
            order_id: order_id, line_no: line_no, customer_id: customer_id,
            promised_date: promised_date, first_promised_date: first_promised_date,
            open_qty: open_qty, covered: covered, shortfall_qty: greatest(shortfall, 0),
            atp_date: atp_date, late_risk: round(late_risk, 4),
            late_risk_ranked_by: late_risk_ranked_by,
            risk_value: round(miss_risk * line_value, 2),
            action: action,
            action_text: CASE action
                WHEN 'monitor' THEN 'Stock covers it but the late-order '
                    || CASE WHEN late_risk_ranked_by = 'rule' THEN 'rule' ELSE 'model' END
                    || ' expects it late: check its pick, wave and carrier'
                WHEN 'transfer' THEN 'Transfer ' || short_units || ' from ' || source_location
                WHEN 'expedite' THEN 'Expedite PO ' || po_id || ' line ' || po_line_no
                    || ' (expected ' || coalesce(CAST(expected_date AS VARCHAR), 'undated')
                    || ') to arrive by ' || CAST(promised_date AS VARCHAR)
                WHEN 're_promise' THEN 'Re-promise to ' || CAST(atp_date AS VARCHAR)
                ELSE 'Nothing covers it within ' || CAST($horizon_days AS VARCHAR)
                    || ' days: raise a PO and agree a new date with the customer' END,
            transfer_from: source_location, po_id: po_id, po_line_no: po_line_no,
            po_expected_date: expected_date
        }}) AS detail,
        line_value AS value_at_risk,
        CASE WHEN (NOT covered AND priority_tier = 1)
                  OR miss_risk * line_value >= $high_risk_value THEN 'high' END AS severity
    FROM advised
    WHERE promised_date >= {_AS_OF}
"""

ORDER_AT_RISK = ExceptionType(
    name="order_at_risk",
    label="Order line at risk",
    description=(
        "Open or backordered line not yet past its promised date that the available-to-promise "
        "projection cannot cover, or whose late-order risk (risk.late_order_scores) is above "
        "min_late_risk. Lines of an item-location take stock in promise order (promised date, "
        "order time, order, line): with A0 = on hand - allocated - quarantined at the "
        "location's latest snapshot on or before the as-of day and S(d) = open PO quantity "
        "(ordered - received) expected by d (past due: the next day), a line is covered when "
        "A0 + S(promised date) reaches the unshipped quantity of the lines up to and including "
        "it (past-due lines first). Valued at the open line value (in the reporting currency), "
        "ranked by miss risk x value "
        "(1 for an uncovered line); high for an uncovered line of a tier-1 customer or a risk "
        "x value of at least high_risk_value. The detail gives the ATP date (the earliest day "
        "from which the projection, with this line's demand moved there, stays at or above "
        "zero within horizon_days) and one action: transfer from another site of the entity "
        "whose stock beyond its own open demand covers the shortfall, else expedite the first "
        "open PO line expected after the promise that covers it, else re-promise to the ATP "
        "date."
    ),
    rule=_ORDER_AT_RISK_RULE,
    severity="medium",
    owner_role="planner",
    sla_hours=24,
    suggested_action=(
        "Transfer the shortfall from the site named, expedite the PO line named, or re-promise "
        "the line to its ATP date and tell the customer."
    ),
    params={"min_late_risk": 0.5, "horizon_days": 60, "high_risk_value": 5000.0},
    # Whole: one line's stock depends on every earlier promise at its item-location, on the
    # site's snapshot, its open POs, the risk step's scores and the re-promises recorded (a
    # derived table: a change to it runs the rule again, re-judging every item-location).
    reads=(
        "sales_order_lines",
        "shipments",
        "inventory_snapshots",
        "purchase_order_lines",
        "receipts",
        "customers",
        "locations",
        "risk.late_order_scores",
        "exc.line_promises",
        *REPORTING_RATE_READS,
    ),
)

# A line's deliveries as the order_lines KPI model counts them: shipments whose non-cancelled
# freight shipment was delivered before the as-of day, on the shipping location's calendar.
_MISSED_PROMISE_RULE = f"""
    WITH lines AS (
        SELECT l.order_id, l.line_no, l.location_id, l.entity_id, l.customer_id, l.item_id,
               l.status, l.first_promised_date, l.requested_date, l.ordered_qty,
               {_BASE_PRICE} AS base_price
        FROM sales_order_lines AS l
        WHERE l.status <> 'cancelled' AND l.first_promised_date < {_AS_OF}
          AND l.first_promised_date >= {_AS_OF} - CAST($lookback_days AS INTEGER)
          AND exc_in_scope(l.order_id || '|' || l.line_no)
    ),
    shipped AS (
        SELECT s.order_id, s.line_no, s.shipment_id, s.shipped_qty
        FROM shipments AS s SEMI JOIN lines AS l USING (order_id, line_no)
    ),
    deliveries AS (
        SELECT shipment_id, min(actual_delivery_ts_local_date) AS delivered_date
        FROM freight_shipments
        WHERE status <> 'cancelled' AND actual_delivery_ts IS NOT NULL
          AND actual_delivery_ts_local_date < {_AS_OF}
          AND shipment_id IN (SELECT shipment_id FROM shipped)
        GROUP BY shipment_id
    ),
    by_day AS (
        SELECT s.order_id, s.line_no, d.delivered_date, sum(s.shipped_qty) AS qty
        FROM shipped AS s JOIN deliveries AS d USING (shipment_id)
        GROUP BY ALL
    ),
    delivered AS (
        SELECT b.order_id, b.line_no, sum(b.qty) AS delivered_qty,
               coalesce(sum(b.qty) FILTER (WHERE b.delivered_date <= l.first_promised_date), 0)
                   AS by_promise_qty,
               coalesce(sum(b.qty) FILTER (WHERE b.delivered_date <= l.requested_date), 0)
                   AS by_request_qty,
               min(b.delivered_date) FILTER (WHERE b.running >= l.ordered_qty) AS in_full_date
        FROM (SELECT *, sum(qty) OVER (PARTITION BY order_id, line_no ORDER BY delivered_date)
                  AS running FROM by_day) AS b
        JOIN lines AS l USING (order_id, line_no)
        GROUP BY ALL
    ),
    bad_returns AS (
        SELECT DISTINCT order_id FROM returns
        WHERE reason_code IN ('damaged', 'wrong_item')
          AND order_id IN (SELECT order_id FROM lines)
    ),
    judged AS (
        SELECT l.*, c.priority_tier,
               coalesce(d.delivered_qty, 0) AS delivered_qty,
               coalesce(d.by_promise_qty, 0) AS by_promise_qty,
               coalesce(d.by_request_qty, 0) AS by_request_qty, d.in_full_date,
               b.order_id IS NOT NULL AS bad_return
        FROM lines AS l
        LEFT JOIN delivered AS d USING (order_id, line_no)
        LEFT JOIN bad_returns AS b USING (order_id)
        LEFT JOIN customers AS c ON c.customer_id = l.customer_id
    )
    SELECT
        {_LINE_KEY} AS key, location_id, entity_id, item_id,
        to_json({{
            order_id: order_id, line_no: line_no, customer_id: customer_id, status: status,
            first_promised_date: first_promised_date, requested_date: requested_date,
            ordered_qty: ordered_qty, delivered_qty: delivered_qty,
            delivered_by_promise_qty: by_promise_qty, delivered_in_full_date: in_full_date,
            days_late: coalesce(in_full_date, {_AS_OF}) - first_promised_date,
            otif_missed: (requested_date < {_AS_OF} OR delivered_qty >= ordered_qty)
                AND by_request_qty < ordered_qty,
            bad_return: bad_return
        }}) AS detail,
        CAST(ordered_qty AS DOUBLE) * base_price AS value_at_risk,
        CASE WHEN priority_tier = 1 THEN 'high' END AS severity,
        CAST(first_promised_date + 1 AS TIMESTAMP) AS event_at
    FROM judged
    WHERE by_promise_qty < ordered_qty
"""

_BY_SHIPMENT = (
    "SELECT s.order_id || '|' || s.line_no AS key FROM shipments AS s "
    "SEMI JOIN touched USING (shipment_id)"
)
_BY_ORDER = (
    "SELECT l.order_id || '|' || l.line_no AS key FROM sales_order_lines AS l "
    "SEMI JOIN touched USING ({column})"
)

MISSED_PROMISE = ExceptionType(
    name="missed_promise",
    label="Missed promise",
    description=(
        "Order line not delivered in full by the end of its first promised date: delivered "
        "after it, or not delivered by it (delivered = shipped on a non-cancelled freight "
        "shipment with an actual delivery, on the shipping location's calendar; the same rule "
        "as order promise accuracy, so each miss of that KPI, of OTIF and of perfect order is "
        "here). Lines whose first promise is within the look-back window are judged. A miss "
        "is a fact nothing in the data resolves: its item stays open until a person resolves "
        "it (having told the customer), also when the line is later delivered or cancelled."
    ),
    rule=in_reporting_currency(_MISSED_PROMISE_RULE),
    severity="medium",
    owner_role="customer_service",
    sla_hours=48,
    suggested_action=(
        "Tell the customer the delivery date and why; for a line still undelivered, agree a "
        "new date with the planner."
    ),
    params={"lookback_days": 14},
    # A miss stays a miss: only a person resolves it. So the rule judges the window's first
    # promises only (every miss of the history would be 190k rows a day at 1M lines), and an
    # item older than the window keeps the facts of its last day in it.
    clears=False,
    reads=(
        "sales_order_lines",
        "shipments",
        "freight_shipments",
        "returns",
        "customers",
        *REPORTING_RATE_READS,
    ),
    keys_from={
        "sales_order_lines": f"SELECT {_LINE_KEY} AS key FROM touched",
        "shipments": f"SELECT {_LINE_KEY} AS key FROM touched",
        "freight_shipments": _BY_SHIPMENT,
        "returns": _BY_ORDER.format(column="order_id"),
        "customers": _BY_ORDER.format(column="customer_id"),
    },
)
