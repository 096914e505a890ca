"""Exception types: the one place each queue is declared, with its detection rule.

A type names a condition that a person should act on, how to find every
instance of it in the landed warehouse tables (a DuckDB query), who owns it,
how soon it must be handled and which KPI it hurts.

Every rule is one vectorised query over the landed tables (schema `main`,
quantities in base units, timestamps UTC). It may use the bound parameters
`$as_of` (DATE: the evaluation day), `$now` (TIMESTAMP, UTC: the evaluation
instant) and the type's own `params`, and returns one row per currently-true
condition with exactly these columns:

    key            stable business key of the condition (unique within the type)
    location_id    location the condition belongs to, or NULL
    entity_id      legal entity, or NULL
    item_id        item, or NULL
    detail         JSON object with the facts a person needs (refs, quantities, dates)
    value_at_risk  money at stake (DOUBLE, in the entity's currency), or NULL
    severity       low, medium or high; NULL for the type's default

Later models (such as the stockout risk model) may refine a rule; the
queue keys stay the same so the items and their history carry over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

OWNER_ROLES: tuple[str, ...] = ("executive", "warehouse_supervisor", "planner", "finance", "admin")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
RULE_COLUMNS: tuple[str, ...] = (
    "key",
    "location_id",
    "entity_id",
    "item_id",
    "detail",
    "value_at_risk",
    "severity",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Queue items raised by KPI alert rules (control_tower.exceptions.alerts), not by a detection rule.
ALERT_TYPE = "kpi_alert"


@dataclass(frozen=True)
class ExceptionType:
    """One exception queue: what it detects, who owns it, how fast it must be handled."""

    name: str
    label: str
    description: str
    rule: str
    severity: str
    owner_role: str
    sla_hours: float
    kpi: str | None
    suggested_action: str
    # The name the governed KPI layer uses for this queue (control_tower.kpi.queues), if any.
    kpi_queue: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"exception type {self.name!r}"
        if not _NAME.match(self.name):
            raise ValueError(f"{where}: the name must be snake_case")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity {self.severity!r} is not one of {SEVERITIES}")
        if self.owner_role not in OWNER_ROLES:
            raise ValueError(f"{where}: owner role {self.owner_role!r} is not one of {OWNER_ROLES}")
        if self.sla_hours <= 0:
            raise ValueError(f"{where}: sla_hours must be positive")
        for param in self.params:
            if not _NAME.match(param) or param in ("as_of", "now"):
                raise ValueError(f"{where}: parameter {param!r} is not a usable name")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def bindings(self, *, as_of: object, now: object) -> dict[str, object]:
        """The named parameters the rule uses (DuckDB refuses unused ones)."""
        values: dict[str, object] = {"as_of": as_of, "now": now, **self.params}
        used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", self.rule))
        missing = used - values.keys()
        if missing:
            raise ValueError(f"exception type {self.name!r}: rule uses unknown {sorted(missing)}")
        return {k: v for k, v in values.items() if k in used}


# The unit price of an order line is per its delivered unit of measure; quantities are in base units.
_LINE_STATE = """
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
        FROM shipments GROUP BY order_id, line_no
    ) AS s ON s.order_id = l.order_id AND s.line_no = l.line_no
    LEFT JOIN customers AS c ON c.customer_id = l.customer_id
    WHERE l.status <> 'cancelled'
"""

STOCKOUT_RISK = ExceptionType(
    name="stockout_risk",
    label="Stockout risk",
    description=(
        "Item-location whose stockout risk model (control_tower.risk) gives a probability of at "
        "least min_probability that available stock (on hand - allocated - quarantined) reaches "
        "zero within its horizon, valued at probability x value at risk. Until a model has "
        "scored for the day, the rule: available stock at the location's latest snapshot is "
        "zero or less, or covers fewer days of recent demand than the item's lead time."
    ),
    rule="""
    WITH scored AS (
        SELECT * FROM risk.stockout_scores WHERE as_of = CAST($as_of AS DATE)
    ),
    model_rows AS (
        SELECT
            location_id || '|' || item_id AS key,
            location_id, entity_id, item_id,
            to_json({
                source: 'model', model_version: model_version,
                probability: round(probability, 4), horizon_days: horizon_days,
                available_qty: available_qty, daily_demand: round(daily_demand, 3),
                days_of_cover: round(days_of_cover, 1), lead_time_days: lead_time_days,
                inbound_qty: inbound_qty, next_receipt_date: next_receipt_date,
                value_at_risk: round(value_at_risk, 2), drivers: json(drivers)
            }) AS detail,
            risk_value AS value_at_risk,
            CASE WHEN available_qty <= 0 OR probability >= $high_probability THEN 'high'
                 ELSE 'medium' END AS severity
        FROM scored
        WHERE probability >= $min_probability
    ),
    latest AS (
        SELECT location_id, max(snapshot_date) AS snapshot_date
        FROM inventory_snapshots WHERE snapshot_date <= CAST($as_of AS DATE)
        GROUP BY location_id
    ),
    stock AS (
        SELECT s.location_id, s.item_id, s.snapshot_date, s.in_transit_qty,
               s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS available
        FROM inventory_snapshots AS s JOIN latest USING (location_id, snapshot_date)
    ),
    demand AS (
        SELECT location_id, item_id,
               CAST(sum(ordered_qty) AS DOUBLE) / $demand_window_days AS daily_demand
        FROM sales_order_lines
        WHERE status <> 'cancelled'
          AND order_ts_local_date >= CAST($as_of AS DATE) - CAST($demand_window_days AS INTEGER)
          AND order_ts_local_date < CAST($as_of AS DATE)
        GROUP BY location_id, item_id
    ),
    judged AS (
        SELECT s.*, coalesce(d.daily_demand, 0) AS daily_demand, i.lead_time_days,
               CAST(i.unit_price AS DOUBLE) AS unit_price, l.entity_id,
               CASE WHEN coalesce(d.daily_demand, 0) > 0
                    THEN CAST(s.available AS DOUBLE) / d.daily_demand END AS days_of_cover
        FROM stock AS s
        LEFT JOIN demand AS d USING (location_id, item_id)
        LEFT JOIN items AS i ON i.item_id = s.item_id
        LEFT JOIN locations AS l ON l.location_id = s.location_id
    )
    SELECT
        location_id || '|' || item_id AS key,
        location_id, entity_id, item_id,
        to_json({
            snapshot_date: snapshot_date, available_qty: available, in_transit_qty: in_transit_qty,
            daily_demand: round(daily_demand, 3), days_of_cover: round(days_of_cover, 1),
            lead_time_days: lead_time_days
        }) AS detail,
        greatest(daily_demand * coalesce(lead_time_days, 0) - greatest(available, 0), 0)
            * coalesce(unit_price, 0) AS value_at_risk,
        CASE WHEN available <= 0 THEN 'high' ELSE 'medium' END AS severity
    FROM judged
    WHERE (available <= 0 OR days_of_cover < lead_time_days)
      AND NOT EXISTS (SELECT 1 FROM scored)
    UNION ALL
    SELECT * FROM model_rows
    """,
    severity="medium",
    owner_role="planner",
    sla_hours=24,
    kpi="stockout_rate",
    kpi_queue="stockout",
    suggested_action=(
        "Expedite the open purchase order or transfer stock from another location; "
        "allocate what is left to priority customers."
    ),
    params={"demand_window_days": 28, "min_probability": 0.5, "high_probability": 0.8},
)

BACKORDERED_LINE = ExceptionType(
    name="backordered_line",
    label="Past-due order line",
    description=(
        "Open order line (open, released or backordered) past its first promised date and "
        "not fully shipped."
    ),
    rule=f"""
    SELECT
        order_id || '|' || line_no AS key,
        location_id, entity_id, item_id,
        to_json({{
            order_id: order_id, line_no: line_no, customer_id: customer_id, status: status,
            first_promised_date: first_promised_date, promised_date: promised_date,
            days_past_promise: CAST($as_of AS DATE) - first_promised_date,
            ordered_qty: ordered_qty, shipped_qty: shipped_qty
        }}) AS detail,
        CAST(ordered_qty - shipped_qty AS DOUBLE) * base_price AS value_at_risk,
        CASE WHEN priority_tier = 1 THEN 'high' END AS severity
    FROM ({_LINE_STATE}) AS lines
    WHERE status IN ('open', 'released', 'backordered')
      AND first_promised_date < CAST($as_of AS DATE)
      AND shipped_qty < ordered_qty
    """,
    severity="medium",
    owner_role="planner",
    sla_hours=48,
    kpi="backorder_aging",
    kpi_queue="backordered_line",
    suggested_action=(
        "Confirm a new ship date with the customer, or source the item from another location."
    ),
)

SHORT_SHIPMENT = ExceptionType(
    name="short_shipment",
    label="Short shipment",
    description=(
        "Order line closed as shipped with less than the ordered quantity, last shipped "
        "within the look-back window."
    ),
    rule=f"""
    SELECT
        order_id || '|' || line_no AS key,
        location_id, entity_id, item_id,
        to_json({{
            order_id: order_id, line_no: line_no, customer_id: customer_id, status: status,
            ordered_qty: ordered_qty, shipped_qty: shipped_qty, short_qty: ordered_qty - shipped_qty,
            last_shipped_ts: last_shipped_ts
        }}) AS detail,
        CAST(ordered_qty - shipped_qty AS DOUBLE) * base_price AS value_at_risk,
        CASE WHEN priority_tier = 1 THEN 'high' END AS severity
    FROM ({_LINE_STATE}) AS lines
    WHERE status IN ('shipped', 'closed')
      AND shipped_qty > 0
      AND shipped_qty < ordered_qty
      AND last_shipped_ts >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=48,
    kpi="line_fill_rate",
    kpi_queue="unfilled_line",
    suggested_action=(
        "Check the pick for the missing quantity and ship a follow-up, or credit the customer."
    ),
    params={"lookback_days": 14},
)

LATE_WAVE = ExceptionType(
    name="late_wave",
    label="Late wave",
    description=(
        "Wave not released within its window after the planned release, or not completed "
        "by its planned completion."
    ),
    rule="""
    WITH judged AS (
        SELECT w.*, l.entity_id,
               w.released_ts IS NULL
                   AND w.planned_release_ts + to_minutes(CAST($release_tolerance_minutes AS INTEGER))
                       < CAST($now AS TIMESTAMP) AS not_released,
               w.completed_ts IS NULL AND w.planned_complete_ts < CAST($now AS TIMESTAMP)
                   AS not_completed
        FROM waves AS w LEFT JOIN locations AS l ON l.location_id = w.location_id
        WHERE w.status NOT IN ('completed', 'cancelled')
    )
    SELECT
        wave_id AS key, location_id, entity_id, NULL AS item_id,
        to_json({
            wave_id: wave_id, status: status,
            reason: CASE WHEN not_released THEN 'not_released' ELSE 'not_completed' END,
            planned_release_ts: planned_release_ts, planned_complete_ts: planned_complete_ts,
            minutes_late: CAST(epoch(CAST($now AS TIMESTAMP) - CASE WHEN not_released
                THEN planned_release_ts ELSE planned_complete_ts END) / 60 AS BIGINT),
            lines_planned: lines_planned, lines_picked: lines_picked
        }) AS detail,
        NULL AS value_at_risk,
        CASE WHEN CASE WHEN not_released THEN planned_release_ts ELSE planned_complete_ts END
                  < CAST($now AS TIMESTAMP) - INTERVAL 2 HOUR THEN 'high' END AS severity
    FROM judged
    WHERE not_released OR not_completed
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=4,
    kpi="wave_release_adherence",
    kpi_queue="wave_release_miss",
    suggested_action=(
        "Release the wave or re-plan it; move labour to picking if completion is at risk."
    ),
    params={"release_tolerance_minutes": 15},
)

CYCLE_COUNT_VARIANCE = ExceptionType(
    name="cycle_count_variance",
    label="Cycle count outside tolerance",
    description=(
        "Latest cycle count of a bin and item, within the look-back window, whose variance "
        "exceeds the ABC-class tolerance (inclusive, exact; an empty bin must count zero)."
    ),
    rule="""
    WITH latest AS (
        SELECT * FROM cycle_counts
        WHERE counted_at >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))
        QUALIFY row_number() OVER (
            PARTITION BY location_id, bin_id, item_id ORDER BY counted_at DESC, count_id DESC
        ) = 1
    ),
    judged AS (
        SELECT c.*, l.entity_id, i.abc_class, CAST(i.unit_cost AS DOUBLE) AS unit_cost,
               abs(c.counted_qty - c.system_qty) AS abs_variance,
               CAST(CASE i.abc_class WHEN 'A' THEN $tolerance_a WHEN 'B' THEN $tolerance_b
                    ELSE $tolerance_c END AS DECIMAL(9, 6)) AS tolerance
        FROM latest AS c
        LEFT JOIN items AS i ON i.item_id = c.item_id
        LEFT JOIN locations AS l ON l.location_id = c.location_id
    )
    SELECT
        location_id || '|' || bin_id || '|' || item_id AS key,
        location_id, entity_id, item_id,
        to_json({
            count_id: count_id, bin_id: bin_id, counted_at: counted_at, abc_class: abc_class,
            system_qty: system_qty, counted_qty: counted_qty, tolerance: tolerance,
            counter_id: counter_id
        }) AS detail,
        CAST(abs_variance AS DOUBLE) * coalesce(unit_cost, 0) AS value_at_risk,
        NULL AS severity
    FROM judged
    WHERE CASE WHEN system_qty = 0 THEN counted_qty <> 0
               ELSE abs_variance > tolerance * system_qty END
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=72,
    kpi="inventory_record_accuracy",
    kpi_queue="inventory_variance",
    suggested_action="Recount the bin; post an adjustment with a reason code if the count holds.",
    params={"lookback_days": 30, "tolerance_a": 0.01, "tolerance_b": 0.03, "tolerance_c": 0.05},
)

RECEIPT_NOT_PUT_AWAY = ExceptionType(
    name="receipt_not_put_away",
    label="Receipt not put away",
    description="Receipt line that arrived more than the allowed hours ago and is not put away.",
    rule="""
    SELECT
        r.receipt_id || '|' || r.line_no AS key,
        r.location_id, l.entity_id, r.item_id,
        to_json({
            receipt_id: r.receipt_id, line_no: r.line_no, po_id: r.po_id, arrived_ts: r.arrived_ts,
            hours_waiting: round(epoch(CAST($now AS TIMESTAMP) - r.arrived_ts) / 3600, 1),
            received_qty: r.received_qty
        }) AS detail,
        CAST(r.received_qty AS DOUBLE) * coalesce(CAST(i.unit_cost AS DOUBLE), 0) AS value_at_risk,
        CASE WHEN r.arrived_ts + to_hours(2 * CAST($hours AS BIGINT)) < CAST($now AS TIMESTAMP)
             THEN 'high' END AS severity
    FROM receipts AS r
    LEFT JOIN locations AS l ON l.location_id = r.location_id
    LEFT JOIN items AS i ON i.item_id = r.item_id
    WHERE r.putaway_ts IS NULL
      AND r.arrived_ts + to_hours(CAST($hours AS BIGINT)) < CAST($now AS TIMESTAMP)
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=24,
    kpi="dock_to_stock_hours",
    kpi_queue="dock_to_stock_breach",
    suggested_action="Put the goods away (or record why they are held) so they become available.",
    params={"hours": 48},
)

CARRIER_DELAY = ExceptionType(
    name="carrier_delay",
    label="Carrier delay",
    description=(
        "Freight shipment not delivered and past its promised delivery, or reported delayed "
        "or in exception by the carrier."
    ),
    rule="""
    WITH events AS (
        SELECT tms_shipment_id, max(event_ts) AS last_event_ts,
               arg_max(reason, event_ts) AS last_reason
        FROM tracking_events WHERE event_type IN ('delay', 'exception')
        GROUP BY tms_shipment_id
    ),
    goods AS (
        SELECT s.shipment_id, any_value(s.location_id) AS location_id,
               sum(CAST(s.shipped_qty AS DOUBLE) * coalesce(CAST(i.unit_price AS DOUBLE), 0)) AS value
        FROM shipments AS s LEFT JOIN items AS i ON i.item_id = s.item_id
        GROUP BY s.shipment_id
    )
    SELECT
        f.tms_shipment_id AS key,
        g.location_id, l.entity_id, NULL AS item_id,
        to_json({
            tms_shipment_id: f.tms_shipment_id, shipment_id: f.shipment_id, carrier_id: f.carrier_id,
            status: f.status, promised_delivery_ts: f.promised_delivery_ts,
            hours_late: CASE WHEN f.promised_delivery_ts < CAST($now AS TIMESTAMP) THEN
                round(epoch(CAST($now AS TIMESTAMP) - f.promised_delivery_ts) / 3600, 1) END,
            carrier_reason: e.last_reason
        }) AS detail,
        g.value AS value_at_risk,
        CASE WHEN f.promised_delivery_ts < CAST($now AS TIMESTAMP) - INTERVAL 24 HOUR
             THEN 'high' END AS severity
    FROM freight_shipments AS f
    LEFT JOIN events AS e ON e.tms_shipment_id = f.tms_shipment_id
    LEFT JOIN goods AS g ON g.shipment_id = f.shipment_id
    LEFT JOIN locations AS l ON l.location_id = g.location_id
    WHERE f.status NOT IN ('cancelled', 'delivered')
      AND f.actual_delivery_ts IS NULL
      AND (f.promised_delivery_ts < CAST($now AS TIMESTAMP) OR f.status = 'exception'
           OR e.tms_shipment_id IS NOT NULL)
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=24,
    kpi="carrier_on_time_rate",
    kpi_queue="carrier_late",
    suggested_action="Chase the carrier for a new delivery time and warn the customer.",
)

UNMATCHED_INVOICE_LINE = ExceptionType(
    name="unmatched_invoice_line",
    label="Unmatched invoice line",
    description=(
        "PO invoice line, invoiced within the look-back window, whose current match status is "
        "a price, quantity or receipt mismatch."
    ),
    rule="""
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
        NULL AS severity
    FROM ap_invoice_lines AS a
    LEFT JOIN purchase_order_lines AS p ON p.po_id = a.po_id AND p.line_no = a.po_line_no
    WHERE a.po_id IS NOT NULL AND a.po_id <> ''
      AND a.match_status IN ('price_variance', 'qty_variance', 'no_receipt')
      -- older mismatches are taken as settled by AP (ERPs keep the first match status)
      AND a.invoice_date >= CAST($as_of AS DATE) - CAST($lookback_days AS INTEGER)
    """,
    severity="medium",
    owner_role="finance",
    sla_hours=120,
    kpi="invoice_first_pass_match_rate",
    kpi_queue="invoice_match_failure",
    suggested_action=(
        "Compare invoice, PO and receipt; ask the supplier for a credit note or approve the variance."
    ),
    params={"lookback_days": 45},
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
        CASE WHEN CAST($as_of AS DATE) - due_date > 3 THEN 'high' END AS severity
    FROM close_tasks
    WHERE status <> 'done' AND completed_at IS NULL AND due_date < CAST($as_of AS DATE)
    """,
    severity="medium",
    owner_role="finance",
    sla_hours=24,
    kpi="days_to_close",
    kpi_queue="close_task_overdue",
    suggested_action="Finish the task or re-assign it; the period cannot close until it is done.",
)

QUARANTINED_ROWS = ExceptionType(
    name="quarantined_rows",
    label="Quarantined rows",
    description=(
        "Source table whose latest delivery was rejected or had rows quarantined; it clears "
        "when a later delivery of the table lands clean."
    ),
    rule="""
    WITH latest AS (
        SELECT * FROM ops.batches
        WHERE table_name IS NOT NULL AND status IN ('loaded', 'rejected')
        QUALIFY row_number() OVER (PARTITION BY table_name ORDER BY batch_id DESC) = 1
    )
    SELECT
        table_name AS key, NULL AS location_id, NULL AS entity_id, NULL AS item_id,
        to_json({
            system: system, table_name: table_name, batch_id: batch_id, file_name: file_name,
            status: status, rows_read: rows_read, rows_quarantined: rows_quarantined, error: error
        }) AS detail,
        NULL AS value_at_risk,
        CASE WHEN status = 'rejected' OR rows_quarantined >= rows_read THEN 'high' END AS severity
    FROM latest
    WHERE status = 'rejected' OR rows_quarantined > 0
    """,
    severity="medium",
    owner_role="admin",
    sla_hours=24,
    kpi=None,
    suggested_action=(
        "Open the quarantine for this batch, fix the export or its source mapping, and re-deliver."
    ),
)

STALE_SOURCE = ExceptionType(
    name="stale_source",
    label="Stale source",
    description="Source table whose last good delivery is older than its freshness SLA.",
    rule="""
    SELECT
        table_name AS key, NULL AS location_id, NULL AS entity_id, NULL AS item_id,
        to_json({
            system: system, table_name: table_name, last_loaded_at: last_loaded_at,
            hours_since_load: round(epoch(CAST($now AS TIMESTAMP) - last_loaded_at) / 3600, 1),
            sla_hours: sla_hours
        }) AS detail,
        NULL AS value_at_risk,
        CASE WHEN last_loaded_at + to_microseconds(CAST(2 * sla_hours * 3600e6 AS BIGINT))
             < CAST($now AS TIMESTAMP) THEN 'high' END AS severity
    FROM ops.table_freshness
    WHERE last_loaded_at IS NOT NULL
      AND last_loaded_at + to_microseconds(CAST(sla_hours * 3600e6 AS BIGINT))
          < CAST($now AS TIMESTAMP)
    """,
    severity="medium",
    owner_role="admin",
    sla_hours=8,
    kpi=None,
    suggested_action="Check the export job of the source system and its delivery to the inbox.",
)

ADJUSTMENT_ANOMALY = ExceptionType(
    name="adjustment_anomaly",
    label="Unusual stock adjustment",
    description=(
        "Inventory adjustment, within the look-back window, whose size is far outside what is "
        "usual for its reason code: a robust z-score |qty - median| / (1.4826 x MAD) of at "
        "least z_threshold against the same reason's adjustments of the previous 180 days "
        "(median and median absolute deviation resist the outliers they look for; a reason "
        "with a MAD of zero uses 1 unit), or a reason code seen fewer than min_reason_count "
        "times in that history (once it holds min_history adjustments). Adjustments by a user who posted more than max_user_day "
        "adjustments that day are flagged too. A rule, not a model: each flag says why."
    ),
    rule="""
    WITH recent AS (
        SELECT a.*, CAST(a.qty_delta AS DOUBLE) AS qty
        FROM inventory_adjustments AS a
        WHERE a.adjusted_at >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))
          AND a.adjusted_at <= CAST($now AS TIMESTAMP)
    ),
    history AS (
        SELECT reason_code, CAST(qty_delta AS DOUBLE) AS qty
        FROM inventory_adjustments
        WHERE adjusted_at >= CAST($now AS TIMESTAMP) - to_days(CAST($history_days AS INTEGER))
          AND adjusted_at <= CAST($now AS TIMESTAMP)
    ),
    typical AS (
        SELECT reason_code, median(qty) AS med, count(*) AS n,
               (SELECT count(*) FROM history) AS history_count
        FROM history GROUP BY ALL
    ),
    spread AS (
        SELECT h.reason_code, median(abs(h.qty - t.med)) AS mad
        FROM history AS h JOIN typical AS t USING (reason_code) GROUP BY ALL
    ),
    per_user AS (
        SELECT user_id, adjusted_at_local_date, count(*) AS user_day_count
        FROM recent GROUP BY ALL
    ),
    judged AS (
        SELECT r.*, l.entity_id, t.med, coalesce(t.n, 0) AS reason_count, u.user_day_count,
               coalesce(t.history_count, 0) >= $min_history AND coalesce(t.n, 0)
                   < $min_reason_count AS rare_reason,
               CAST(i.unit_cost AS DOUBLE) AS unit_cost,
               abs(r.qty - t.med) / (1.4826 * CASE WHEN coalesce(s.mad, 0) = 0 THEN 1
                                                   ELSE s.mad END) AS z
        FROM recent AS r
        LEFT JOIN typical AS t USING (reason_code)
        LEFT JOIN spread AS s USING (reason_code)
        LEFT JOIN per_user AS u USING (user_id, adjusted_at_local_date)
        LEFT JOIN items AS i ON i.item_id = r.item_id
        LEFT JOIN locations AS l ON l.location_id = r.location_id
    )
    SELECT
        adjustment_id AS key, location_id, entity_id, item_id,
        to_json({
            adjustment_id: adjustment_id, adjusted_at: adjusted_at, qty_delta: qty,
            reason_code: reason_code, user_id: user_id, typical_qty: med,
            robust_z: round(z, 1), reason_count: reason_count, user_day_count: user_day_count,
            why: concat_ws('; ',
                CASE WHEN z >= $z_threshold THEN 'unusual size for the reason' END,
                CASE WHEN rare_reason THEN 'rare reason code' END,
                CASE WHEN user_day_count > $max_user_day THEN 'many adjustments by the user that day' END)
        }) AS detail,
        abs(qty) * coalesce(unit_cost, 0) AS value_at_risk,
        CASE WHEN z >= 2 * $z_threshold THEN 'high' END AS severity
    FROM judged
    WHERE z >= $z_threshold OR rare_reason OR user_day_count > $max_user_day
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=72,
    kpi="inventory_record_accuracy",
    suggested_action=(
        "Check the adjustment with the user who posted it; recount the bin and reverse it if "
        "it was a mistake."
    ),
    params={
        "lookback_days": 14,
        "history_days": 180,
        "z_threshold": 8.0,
        "min_reason_count": 5,
        "min_history": 50,
        "max_user_day": 20,
    },
)


def _registry(*types: ExceptionType) -> Mapping[str, ExceptionType]:
    out: dict[str, ExceptionType] = {}
    for t in types:
        if t.name in out:
            raise ValueError(f"exception type {t.name!r} is declared twice")
        out[t.name] = t
    return MappingProxyType(out)


# Every exception type, in display order.
EXCEPTION_TYPES: Mapping[str, ExceptionType] = _registry(
    STOCKOUT_RISK,
    BACKORDERED_LINE,
    SHORT_SHIPMENT,
    LATE_WAVE,
    CYCLE_COUNT_VARIANCE,
    RECEIPT_NOT_PUT_AWAY,
    CARRIER_DELAY,
    UNMATCHED_INVOICE_LINE,
    OVERDUE_CLOSE_TASK,
    QUARANTINED_ROWS,
    STALE_SOURCE,
    ADJUSTMENT_ANOMALY,
)


def exception_type(name: str) -> ExceptionType:
    """The declared type called `name`; raises KeyError naming the known types."""
    try:
        return EXCEPTION_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown exception type {name!r}; known types: {', '.join(EXCEPTION_TYPES)}"
        ) from None


def types_for_kpi(kpi: str, exception_queue: str | None = None) -> tuple[str, ...]:
    """The exception types recording a KPI's misses: those naming it as their KPI, or whose
    `kpi_queue` is the KPI's name or the `exception_queue` of its definition."""
    queues = {kpi, exception_queue} - {None}
    return tuple(
        name
        for name, t in EXCEPTION_TYPES.items()
        if t.kpi == kpi or (t.kpi_queue is not None and t.kpi_queue in queues)
    )
