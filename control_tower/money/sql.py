"""SQL snippets that convert amounts between an entity's currency and the reporting currency.

Written the one recognisable way (docs/currency.md):

    LEFT JOIN money.entity_currencies AS ec ON ec.entity_id = x.entity_id
    LEFT JOIN money.fx_daily AS fx
        ON fx.from_currency = ec.currency AND fx.to_currency = (SELECT reporting_currency ...)
       AND fx.rate_date = x.day
    ...
    CASE WHEN ec.currency = <reporting> THEN amount ELSE amount * fx.rate END

A missing rate (or an entity of unknown currency) gives NULL, never 0.
"""

from __future__ import annotations

# The reporting currency of the last money step, as a scalar subquery.
REPORTING = "(SELECT reporting_currency FROM money.settings)"


def entity_currency_join(entity: str, *, alias: str = "ec") -> str:
    """LEFT JOIN of the functional currency of the entity `entity` (a SQL expression)."""
    return f"LEFT JOIN money.entity_currencies AS {alias} ON {alias}.entity_id = {entity}"


def daily_rate_join(
    day: str, *, currency: str = "ec.currency", alias: str = "fx", to_reporting: bool = True
) -> str:
    """LEFT JOIN of the rate of the day `day` from `currency` to the reporting currency (or
    from the reporting currency to `currency` when `to_reporting` is false)."""
    pair = _pair(currency, alias, to_reporting)
    return f"LEFT JOIN money.fx_daily AS {alias} ON {pair} AND {alias}.rate_date = {day}"


def monthly_rate_join(
    day: str, *, currency: str = "ec.currency", alias: str = "fx", to_reporting: bool = True
) -> str:
    """LEFT JOIN of the month average of the month of `day`, like `daily_rate_join`."""
    month = f"CAST(date_trunc('month', {day}) AS DATE)"
    pair = _pair(currency, alias, to_reporting)
    return f"LEFT JOIN money.fx_monthly AS {alias} ON {pair} AND {alias}.month = {month}"


def converted(amount: str, *, currency: str = "ec.currency", rate: str = "fx.rate") -> str:
    """`amount` converted with the joined rate: itself when `currency` is the reporting
    currency, else times the rate; NULL when the currency is unknown or no rate was joined."""
    return f"CASE WHEN {currency} = {REPORTING} THEN {amount} ELSE {amount} * {rate} END"


def _pair(currency: str, alias: str, to_reporting: bool) -> str:
    source, target = (currency, REPORTING) if to_reporting else (REPORTING, currency)
    return f"{alias}.from_currency = {source} AND {alias}.to_currency = {target}"
