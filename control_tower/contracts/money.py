"""The ERP tables that put money in a currency: legal entities, suppliers and exchange rates.

Every amount on a row is in the functional currency of the row's entity (a sales order line's
`entity_id`, a purchase order line's or a shipment's site's entity, an invoice line's
`entity_id`); the item master's `unit_cost` and `unit_price` are the group's standard cost and
list price, in the reporting currency (`CONTROL_TOWER_REPORTING_CURRENCY`). `fx_rates` carries
the rates that convert one into the other (docs/currency.md).
"""

from __future__ import annotations

from control_tower.contracts.columns import UPDATED_AT, _id, _text
from control_tower.contracts.model import Column, Table, TimezoneSource
from control_tower.contracts.model import ColumnType as T

# An ISO 4217 code: three capital letters.
CURRENCY_PATTERN = "[A-Z]{3}"


def _currency_check(column: str) -> tuple[tuple[str, ...], str, str]:
    return (
        (column,),
        f"regexp_full_match({column}, '{CURRENCY_PATTERN}')",
        f"{column} is not a three-letter ISO 4217 currency code (like USD or EUR)",
    )


ENTITIES = Table(
    name="entities",
    system="erp",
    key=("entity_id",),
    cursor="updated_at",
    description="Legal entities and the functional currency their amounts are in.",
    grain="one row per legal entity",
    timezone=TimezoneSource(utc=True),
    freshness_sla_hours=24 * 30,
    columns=(
        _id("entity_id"),
        _text("name"),
        _text("currency", description="functional currency, ISO 4217 (USD, EUR, ...)"),
        UPDATED_AT,
    ),
    row_checks=(_currency_check("currency"),),
)

SUPPLIERS = Table(
    name="suppliers",
    system="erp",
    key=("supplier_id",),
    cursor="updated_at",
    description="Supplier master: name, country, the currency they invoice in, payment terms.",
    grain="one row per supplier",
    timezone=TimezoneSource(utc=True),
    freshness_sla_hours=24 * 7,
    columns=(
        _id("supplier_id"),
        _text("name"),
        _text("country", description="ISO 3166 alpha-2 country code (US, NL, ...)"),
        _text("currency", description="the currency the supplier invoices in, ISO 4217"),
        Column("payment_terms_days", T.INT, min_value=0),
        UPDATED_AT,
    ),
    row_checks=(
        _currency_check("currency"),
        (
            ("country",),
            "regexp_full_match(country, '[A-Z]{2}')",
            "country is not a two-letter ISO 3166 country code (like US or NL)",
        ),
    ),
)

FX_RATES = Table(
    name="fx_rates",
    system="erp",
    key=("rate_date", "from_currency", "to_currency"),
    cursor="updated_at",
    description="Exchange rates: one unit of from_currency is worth `rate` units of to_currency.",
    grain="one row per day and currency pair",
    timezone=TimezoneSource(utc=True),
    freshness_sla_hours=24 * 4,
    columns=(
        Column("rate_date", T.DATE),
        _text("from_currency"),
        _text("to_currency"),
        Column("rate", T.RATE, min_value=0, min_exclusive=True),
        UPDATED_AT,
    ),
    row_checks=(
        _currency_check("from_currency"),
        _currency_check("to_currency"),
        (
            ("from_currency", "to_currency"),
            "from_currency <> to_currency",
            "from_currency is the same currency as to_currency",
        ),
    ),
)
