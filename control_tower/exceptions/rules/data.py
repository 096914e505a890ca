"""Data rules: source deliveries quarantined or rejected, stale sources, failing post-load steps.

They read the pipeline's own state (ops.*), which is not landed: a delta runs each whole
when the table it reads changed (stale sources also as time passes) and reconciles only
the tables and steps whose condition changed.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType

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
        CASE WHEN status = 'rejected' OR rows_quarantined >= rows_read THEN 'high' END AS severity,
        coalesce(finished_at, started_at) AS event_at
    FROM latest
    WHERE status = 'rejected' OR rows_quarantined > 0
    """,
    severity="medium",
    owner_role="admin",
    sla_hours=24,
    suggested_action=(
        "Open the quarantine for this batch, fix the export or its source mapping, and re-deliver."
    ),
    reads=("ops.batches",),
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
             < CAST($now AS TIMESTAMP) THEN 'high' END AS severity,
        -- stale from the moment its freshness SLA lapsed
        last_loaded_at + to_microseconds(CAST(sla_hours * 3600e6 AS BIGINT)) AS event_at
    FROM ops.table_freshness
    WHERE last_loaded_at IS NOT NULL
      AND last_loaded_at + to_microseconds(CAST(sla_hours * 3600e6 AS BIGINT))
          < CAST($now AS TIMESTAMP)
    """,
    severity="medium",
    owner_role="admin",
    sla_hours=8,
    suggested_action="Check the export job of the source system and its delivery to the inbox.",
    reads=("ops.table_freshness",),
    clock=True,
)

FAILING_STEP = ExceptionType(
    name="failing_step",
    label="Failing pipeline step",
    description=(
        "Post-load step (risk, exceptions, KPIs, ...) whose last try failed: the tables it "
        "refreshes keep their previous values and later runs skip it until its next try. It "
        "clears when the step succeeds again."
    ),
    rule="""
    SELECT
        step AS key, NULL AS location_id, NULL AS entity_id, NULL AS item_id,
        to_json({
            step: step, consecutive_failures: consecutive_failures, last_error: last_error,
            first_failed_at: first_failed_at, last_failed_at: last_failed_at,
            next_try_at: next_try_at
        }) AS detail,
        NULL AS value_at_risk,
        CASE WHEN consecutive_failures >= 3 THEN 'high' END AS severity,
        first_failed_at AS event_at
    FROM ops.step_state
    WHERE consecutive_failures > 0
    """,
    severity="medium",
    owner_role="admin",
    sla_hours=24,
    suggested_action=(
        "Read the step's error in the scheduler log, fix its cause (disk space, memory, a KPI "
        "definition, the model), then run control-tower ingest --retry-failed-steps."
    ),
    reads=("ops.step_state",),
)
