"""Inventory rules: stockout risk, cycle counts outside tolerance and unusual adjustments.

Cycle counts are keyed (a delta judges the bins its rows reach). Stockout risk and unusual
adjustments cannot be: a delta runs them whole when what they read changed and reconciles
only the item-locations and adjustments whose result changed.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType

_COUNT_KEY = "location_id || '|' || bin_id || '|' || item_id"

# The days-of-cover rule's CTEs (`latest`, `stock`, `demand`, `judged`): each item-location's
# available stock at its location's latest snapshot, recent daily demand, lead time and days of
# cover. `judged` rows with `available <= 0 OR days_of_cover < lead_time_days` are at risk.
# Parameters: $as_of, $demand_window_days. The inbound rules share it (overdue_po_line).
STOCK_COVER = """
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
"""
COVER_AT_RISK = "(available <= 0 OR days_of_cover < lead_time_days)"

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
                source: 'model', ranked_by: coalesce(ranked_by, 'model'),
                model_version: model_version,
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
    """
    + STOCK_COVER
    + """
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
    WHERE """
    + COVER_AT_RISK
    + """
      AND NOT EXISTS (SELECT 1 FROM scored)
    UNION ALL
    SELECT * FROM model_rows
    """,
    severity="medium",
    owner_role="planner",
    sla_hours=24,
    suggested_action=(
        "Expedite the open purchase order or transfer stock from another location; "
        "allocate what is left to priority customers."
    ),
    params={"demand_window_days": 28, "min_probability": 0.5, "high_probability": 0.8},
    # Whole: a location's newest snapshot and an item's recent demand reach many keys, and the
    # risk step rewrites the scores it reads.
    reads=(
        "risk.stockout_scores",
        "inventory_snapshots",
        "sales_order_lines",
        "items",
        "locations",
    ),
)

CYCLE_COUNT_VARIANCE = ExceptionType(
    name="cycle_count_variance",
    label="Cycle count outside tolerance",
    description=(
        "Latest cycle count of a bin and item whose variance exceeds the ABC-class tolerance "
        "(inclusive, exact; an empty bin must count zero); a count within the look-back "
        "window opens an item, which stays open until a later count is within tolerance."
    ),
    rule="""
    WITH latest AS (
        SELECT * FROM cycle_counts
        WHERE exc_in_scope(location_id || '|' || bin_id || '|' || item_id)
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
        NULL AS severity,
        counted_at AS event_at,
        counted_at >= CAST($now AS TIMESTAMP) - to_days(CAST($lookback_days AS INTEGER))
            AS in_window
    FROM judged
    WHERE CASE WHEN system_qty = 0 THEN counted_qty <> 0
               ELSE abs_variance > tolerance * system_qty END
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=72,
    suggested_action="Recount the bin; post an adjustment with a reason code if the count holds.",
    params={"lookback_days": 30, "tolerance_a": 0.01, "tolerance_b": 0.03, "tolerance_c": 0.05},
    # $now only bounds the look-back window, which only ever closes on an unchanged count
    reads=("cycle_counts", "items", "locations"),
    keys_from={
        # a count re-delivered under another bin or item also reaches the bin it left, when
        # that bin's item was in the queue (its detail names the count)
        "cycle_counts": f"""SELECT {_COUNT_KEY} AS key FROM touched
            UNION ALL SELECT key FROM exc.detected
            WHERE type = 'cycle_count_variance'
              AND detail->>'count_id' IN (SELECT count_id FROM touched)""",
        "items": f"SELECT {_COUNT_KEY} AS key FROM cycle_counts SEMI JOIN touched USING (item_id)",
        "locations": (
            f"SELECT {_COUNT_KEY} AS key FROM cycle_counts SEMI JOIN touched USING (location_id)"
        ),
    },
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
        "adjustments that day are flagged too. A rule, not a model: each flag says why. An "
        "adjustment is a one-off event: its item stays open until a person resolves it."
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
        CASE WHEN z >= 2 * $z_threshold THEN 'high' END AS severity,
        adjusted_at AS event_at
    FROM judged
    WHERE z >= $z_threshold OR rare_reason OR user_day_count > $max_user_day
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=72,
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
    clears=False,
    # Whole: one adjustment moves the median of its reason code for every other, and the
    # look-back and history windows move with the clock.
    reads=("inventory_adjustments", "items", "locations"),
    clock=True,
)
