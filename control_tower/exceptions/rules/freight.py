"""Freight rules: carrier shipments late or reported delayed, and freight costs over plan."""

from __future__ import annotations

from control_tower.exceptions.rules.base import (
    REPORTING_RATE_READS,
    ExceptionType,
    came_due,
    in_reporting_currency,
)

# The freight shipments carrying the goods of some shipments (their value and location).
_BY_GOODS = "SELECT tms_shipment_id AS key FROM freight_shipments WHERE shipment_id IN ({goods})"

CARRIER_DELAY = ExceptionType(
    name="carrier_delay",
    label="Carrier delay",
    description=(
        "Freight shipment not delivered and past its promised delivery, or reported delayed "
        "or in exception by the carrier."
    ),
    # The events and the goods are read for the shipments still on their way only.
    rule="""
    WITH open_freight AS (
        SELECT * FROM freight_shipments
        WHERE status NOT IN ('cancelled', 'delivered') AND actual_delivery_ts IS NULL
          AND exc_in_scope(tms_shipment_id)
    ),
    events AS (
        SELECT tms_shipment_id, max(event_ts) AS last_event_ts, min(event_ts) AS first_event_ts,
               arg_max(reason, event_ts) AS last_reason
        FROM tracking_events
        WHERE event_type IN ('delay', 'exception')
          AND tms_shipment_id IN (SELECT tms_shipment_id FROM open_freight)
        GROUP BY tms_shipment_id
    ),
    goods AS (
        SELECT s.shipment_id, any_value(s.location_id) AS location_id,
               sum(CAST(s.shipped_qty AS DOUBLE) * coalesce(CAST(i.unit_price AS DOUBLE), 0)) AS value
        FROM shipments AS s LEFT JOIN items AS i ON i.item_id = s.item_id
        WHERE s.shipment_id IN (SELECT shipment_id FROM open_freight)
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
             THEN 'high' END AS severity,
        -- late from its due time; reported delayed from the carrier's first report of it
        CASE WHEN f.promised_delivery_ts < CAST($now AS TIMESTAMP)
             THEN f.promised_delivery_ts ELSE e.first_event_ts END AS event_at
    FROM open_freight AS f
    LEFT JOIN events AS e ON e.tms_shipment_id = f.tms_shipment_id
    LEFT JOIN goods AS g ON g.shipment_id = f.shipment_id
    LEFT JOIN locations AS l ON l.location_id = g.location_id
    WHERE f.promised_delivery_ts < CAST($now AS TIMESTAMP) OR f.status = 'exception'
          OR e.tms_shipment_id IS NOT NULL
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=24,
    suggested_action="Chase the carrier for a new delivery time and warn the customer.",
    reads=("freight_shipments", "tracking_events", "shipments", "items", "locations"),
    keys_from={
        "freight_shipments": "SELECT tms_shipment_id AS key FROM touched",
        "tracking_events": "SELECT tms_shipment_id AS key FROM touched",
        "shipments": _BY_GOODS.format(goods="SELECT shipment_id FROM touched"),
        "items": _BY_GOODS.format(
            goods="SELECT shipment_id FROM shipments SEMI JOIN touched USING (item_id)"
        ),
        "locations": _BY_GOODS.format(
            goods="SELECT shipment_id FROM shipments SEMI JOIN touched USING (location_id)"
        ),
    },
    # a shipment is late once its promised delivery passes, high a day later
    clock=True,
    due=f"""SELECT tms_shipment_id AS key FROM freight_shipments
        WHERE status NOT IN ('cancelled', 'delivered') AND actual_delivery_ts IS NULL AND ({
        came_due("promised_delivery_ts", "promised_delivery_ts + INTERVAL 24 HOUR")
    })""",
)

FREIGHT_COST_OVERRUN = ExceptionType(
    name="freight_cost_overrun",
    label="Freight cost overrun",
    description=(
        "Freight shipment (not cancelled, not expedited) picked up before the as-of day whose "
        "actual cost exceeds its planned cost by more than max_overrun (a share of the planned "
        "cost), as freight cost variance counts them; a pickup within the look-back window "
        "is judged, valued at the cost above plan. An expedited move costs more by decision "
        "(the KPI's expedited share follows it). An invoice over plan is a one-off event: a "
        "person resolves the item (disputed, or the cost explained)."
    ),
    # freight costs are in the currency of the entity of the shipment's location
    rule=in_reporting_currency("""
    WITH costed AS (
        SELECT *, CAST(actual_freight_cost AS DOUBLE) - CAST(planned_freight_cost AS DOUBLE)
                  AS overrun
        FROM freight_shipments
        WHERE status <> 'cancelled' AND NOT coalesce(expedited, false)
          AND actual_freight_cost IS NOT NULL
          AND actual_pickup_ts IS NOT NULL AND planned_freight_cost IS NOT NULL
          AND actual_pickup_ts_local_date < CAST($as_of AS DATE)
          AND actual_pickup_ts_local_date >= CAST($as_of AS DATE) - CAST($lookback_days AS INTEGER)
          AND exc_in_scope(tms_shipment_id)
    ),
    origin AS (
        SELECT shipment_id, min(location_id) AS location_id FROM shipments
        WHERE shipment_id IN (SELECT shipment_id FROM costed)
        GROUP BY shipment_id
    )
    SELECT
        f.tms_shipment_id AS key, o.location_id, l.entity_id, NULL AS item_id,
        to_json({
            tms_shipment_id: f.tms_shipment_id, shipment_id: f.shipment_id,
            carrier_id: f.carrier_id, mode: f.mode, service_level: f.service_level,
            expedited: f.expedited, actual_pickup_ts: f.actual_pickup_ts,
            planned_cost: f.planned_freight_cost, actual_cost: f.actual_freight_cost,
            overrun_share: round(f.overrun / nullif(CAST(f.planned_freight_cost AS DOUBLE), 0), 4)
        }) AS detail,
        f.overrun AS value_at_risk,
        CASE WHEN f.overrun > $high_overrun * CAST(f.planned_freight_cost AS DOUBLE)
             THEN 'high' END AS severity,
        f.actual_pickup_ts AS event_at
    FROM costed AS f
    LEFT JOIN origin AS o ON o.shipment_id = f.shipment_id
    LEFT JOIN locations AS l ON l.location_id = o.location_id
    WHERE f.overrun > $max_overrun * CAST(f.planned_freight_cost AS DOUBLE)
    """),
    severity="medium",
    owner_role="finance",
    sla_hours=72,
    suggested_action=(
        "Check the carrier's invoice against the rate (re-weighs, accessorials, an unplanned "
        "expedite); dispute it or record why the cost was right."
    ),
    params={"max_overrun": 0.1, "high_overrun": 0.5, "lookback_days": 30},
    # One-off: judged for the window's pickups only, never cleared by detection.
    clears=False,
    reads=("freight_shipments", "shipments", "locations", *REPORTING_RATE_READS),
    keys_from={
        "freight_shipments": "SELECT tms_shipment_id AS key FROM touched",
        "shipments": _BY_GOODS.format(goods="SELECT shipment_id FROM touched"),
        "locations": _BY_GOODS.format(
            goods="SELECT shipment_id FROM shipments SEMI JOIN touched USING (location_id)"
        ),
    },
)
