"""Money rules: days an entity currency has no exchange rate, entities of unknown currency.

They read the `money` step's table `money.missing_rates` (derived, not landed): a delta runs the
rule whole when that table changed, and an item clears when the rates (or the entity's row in
`entities`) land.
"""

from __future__ import annotations

from control_tower.exceptions.rules.base import ExceptionType

MISSING_FX_RATE = ExceptionType(
    name="missing_fx_rate",
    label="Missing exchange rate",
    description=(
        "A currency pair with days of a month that have no usable exchange rate (none published "
        "that day nor in the 7 days before, in either direction), or an entity whose functional "
        "currency is unknown (entities has rows, none for it). Money figures of those days or "
        "that entity show no value until the rates or the entity land; it clears then."
    ),
    rule="""
    SELECT
        CASE WHEN reason = 'unknown_entity_currency' THEN 'entity|' || entity_id
             ELSE from_currency || '>' || to_currency || '|' || strftime(month, '%Y-%m')
        END AS key,
        NULL AS location_id, entity_id, NULL AS item_id,
        to_json({
            reason: reason, entity_id: entity_id, from_currency: from_currency,
            to_currency: to_currency, month: strftime(month, '%Y-%m'), first_day: first_day,
            last_day: last_day, days: days, missing_days: missing_days
        }) AS detail,
        NULL AS value_at_risk,
        -- today's figures cannot be converted: every page in money shows no value
        CASE WHEN last_day >= CAST($as_of AS DATE) - 1 THEN 'high' END AS severity,
        CAST(first_day AS TIMESTAMP) AS event_at
    FROM money.missing_rates
    """,
    severity="medium",
    owner_role="finance",
    sla_hours=24,
    suggested_action=(
        "Deliver the missing exchange rates in the fx_rates extract (or the entity with its "
        "currency in entities); the money figures of those days fill in at the next run."
    ),
    reads=("money.missing_rates",),
)
