"""Action request rules: a request sent to an executing system that the data never showed done.

The actions step copies the tower's action requests to `exc.action_requests` (a derived
table: a change to it runs the rule again) after judging each sent request against the
landed tables (`control_tower.actions.confirm`): one not confirmed by its `expected_by` day
is `overdue`. The item clears when the request is confirmed after all, or cancelled.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType

ACTION_NOT_CONFIRMED = ExceptionType(
    name="action_not_confirmed",
    label="Action not confirmed",
    description=(
        "Action request (transfer, expedite, requisition, re-promise, recount, invoice release) "
        "sent to the executing system that no extract has shown done by its expected day."
    ),
    rule="""
    SELECT
        CAST(id AS VARCHAR) AS key, location_id, entity_id, item_id,
        to_json({
            request_id: id, request_uid: request_uid, request_type: type, system: system,
            params: json(params), exception_id: exception_id, requested_by: requested_by,
            sent_at: sent_at, expected_by: expected_by,
            days_overdue: CAST($as_of AS DATE) - expected_by
        }) AS detail,
        value AS value_at_risk,
        CASE WHEN CAST($as_of AS DATE) - expected_by > CAST($high_after_days AS INTEGER)
             THEN 'high' END AS severity,
        CAST(expected_by + 1 AS TIMESTAMP) AS event_at
    FROM exc.action_requests
    WHERE status = 'overdue'
    """,
    severity="medium",
    owner_role="planner",
    sla_hours=24,
    suggested_action=(
        "Ask the executing system's team whether the request was carried out; if it was, check "
        "the extract carries it (a transfer's reference), else cancel or raise it again."
    ),
    params={"high_after_days": 7},
    reads=("exc.action_requests",),
)
