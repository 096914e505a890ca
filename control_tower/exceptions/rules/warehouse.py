"""Warehouse rules: late waves and receipts waiting to be put away."""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType, came_due

_RECEIPT = "receipt_id || '|' || line_no"

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
        WHERE w.status NOT IN ('completed', 'cancelled') AND exc_in_scope(w.wave_id)
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
                  < CAST($now AS TIMESTAMP) - INTERVAL 2 HOUR THEN 'high' END AS severity,
        CASE WHEN not_released THEN planned_release_ts ELSE planned_complete_ts END AS event_at
    FROM judged
    WHERE not_released OR not_completed
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=4,
    suggested_action=(
        "Release the wave or re-plan it; move labour to picking if completion is at risk."
    ),
    params={"release_tolerance_minutes": 15},
    reads=("waves", "locations"),
    keys_from={
        "waves": "SELECT wave_id AS key FROM touched",
        "locations": "SELECT wave_id AS key FROM waves SEMI JOIN touched USING (location_id)",
    },
    # a wave turns late at its planned release (plus tolerance) or completion, high 2 h later
    clock=True,
    due=f"""SELECT wave_id AS key FROM waves
        WHERE status NOT IN ('completed', 'cancelled') AND ({
        came_due(
            "planned_release_ts + to_minutes(CAST($release_tolerance_minutes AS INTEGER))",
            "planned_release_ts + INTERVAL 2 HOUR",
            "planned_complete_ts",
            "planned_complete_ts + INTERVAL 2 HOUR",
        )
    })""",
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
             THEN 'high' END AS severity,
        r.arrived_ts AS event_at
    FROM receipts AS r
    LEFT JOIN locations AS l ON l.location_id = r.location_id
    LEFT JOIN items AS i ON i.item_id = r.item_id
    WHERE r.putaway_ts IS NULL
      AND r.arrived_ts + to_hours(CAST($hours AS BIGINT)) < CAST($now AS TIMESTAMP)
      AND exc_in_scope(r.receipt_id || '|' || r.line_no)
    """,
    severity="medium",
    owner_role="warehouse_supervisor",
    sla_hours=24,
    suggested_action="Put the goods away (or record why they are held) so they become available.",
    params={"hours": 48},
    reads=("receipts", "locations", "items"),
    keys_from={
        "receipts": f"SELECT {_RECEIPT} AS key FROM touched",
        "locations": f"SELECT {_RECEIPT} AS key FROM receipts SEMI JOIN touched USING (location_id)",
        "items": f"SELECT {_RECEIPT} AS key FROM receipts SEMI JOIN touched USING (item_id)",
    },
    # a receipt is late once it has waited the allowed hours, high at twice that
    clock=True,
    due=f"""SELECT {_RECEIPT} AS key FROM receipts WHERE putaway_ts IS NULL AND ({
        came_due(
            "arrived_ts + to_hours(CAST($hours AS BIGINT))",
            "arrived_ts + to_hours(2 * CAST($hours AS BIGINT))",
        )
    })""",
)
