"""Build the `money` schema: entity currencies, rates of the day, month averages, missing rates.

Rebuilt whole by every run of the `money` step (the tables are small: a few currencies times the
days of the data). The rules (docs/currency.md):

- An entity's functional currency comes from `entities`. When `entities` has no rows at all,
  every entity is in the reporting currency (a one-currency company need not send it); when it
  has rows but none for an entity, that entity's currency is unknown (NULL), a data problem.
- The rate of a day is the rate published for that day, else the latest published up to
  `FALLBACK_DAYS` days before (weekends, holidays). A rate of the opposite pair counts inverted;
  of two rates published the same day the pair's own wins. A day without one has no row.
- The month average is the mean of the rates of the day over the month's days that have one
  (up to the as-of day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

# A rate stays usable this many days after it was published.
FALLBACK_DAYS = 7
# The rates are built for at most this many days before the as-of day.
HISTORY_DAYS = 731

_ENTITY_CURRENCIES = """
INSERT INTO money.entity_currencies
WITH ids AS (
    SELECT entity_id FROM main.locations
    UNION SELECT entity_id FROM main.sales_order_lines
    UNION SELECT entity_id FROM main.ap_invoice_lines
    UNION SELECT entity_id FROM main.close_tasks
    UNION SELECT entity_id FROM main.entities
), sent AS (SELECT count(*) AS n FROM main.entities)
SELECT
    ids.entity_id,
    CASE WHEN sent.n = 0 THEN CAST($reporting AS VARCHAR) ELSE e.currency END AS currency,
    CASE WHEN sent.n = 0 THEN 'reporting_default'
         WHEN e.entity_id IS NULL THEN 'unknown' ELSE 'entities' END AS source
FROM ids CROSS JOIN sent LEFT JOIN main.entities AS e ON e.entity_id = ids.entity_id
WHERE ids.entity_id IS NOT NULL AND ids.entity_id <> ''
ORDER BY ids.entity_id
"""

# Every currency an amount may be in, besides the reporting one: the entities' and suppliers'.
_PAIRS = """
CREATE OR REPLACE TEMP TABLE money_pairs AS
WITH currencies AS (
    SELECT currency, true AS entity FROM money.entity_currencies WHERE currency IS NOT NULL
    UNION ALL
    SELECT currency, false FROM main.suppliers WHERE currency IS NOT NULL
), other AS (
    SELECT currency, bool_or(entity) AS entity FROM currencies
    WHERE currency <> CAST($reporting AS VARCHAR) GROUP BY currency
)
SELECT currency AS from_currency, CAST($reporting AS VARCHAR) AS to_currency, entity FROM other
UNION ALL
SELECT CAST($reporting AS VARCHAR), currency, entity FROM other
"""

# The earliest day a money figure needs a rate for: the first snapshot, order, PO or invoice.
_DATA_START = """
SELECT least(
    (SELECT min(snapshot_date) FROM main.inventory_snapshots),
    (SELECT min(order_ts_local_date) FROM main.sales_order_lines),
    (SELECT min(order_date) FROM main.purchase_order_lines),
    (SELECT min(invoice_date) FROM main.ap_invoice_lines)
), (SELECT min(rate_date) FROM main.fx_rates)
"""

_DAILY = f"""
INSERT INTO money.fx_daily
WITH days AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($end AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
), published AS (
    SELECT rate_date, from_currency, to_currency, CAST(rate AS DOUBLE) AS rate, 0 AS inverted
    FROM main.fx_rates WHERE rate > 0
    UNION ALL
    SELECT rate_date, to_currency, from_currency, 1.0 / CAST(rate AS DOUBLE), 1
    FROM main.fx_rates WHERE rate > 0
)
SELECT d.day, p.from_currency, p.to_currency, r.rate, r.rate_date
FROM days AS d
CROSS JOIN money_pairs AS p
JOIN published AS r
    ON r.from_currency = p.from_currency AND r.to_currency = p.to_currency
   AND r.rate_date BETWEEN d.day - {FALLBACK_DAYS} AND d.day
QUALIFY row_number() OVER (
    PARTITION BY d.day, p.from_currency, p.to_currency ORDER BY r.rate_date DESC, r.inverted
) = 1
ORDER BY p.from_currency, p.to_currency, d.day
"""

_MONTHLY = """
INSERT INTO money.fx_monthly
SELECT CAST(date_trunc('month', rate_date) AS DATE) AS month, from_currency, to_currency,
       avg(rate) AS rate, CAST(count(*) AS INTEGER) AS days
FROM money.fx_daily
GROUP BY ALL
ORDER BY from_currency, to_currency, month
"""

# Days an entity currency has no rate to the reporting currency (the opposite pair is missing
# the same days: one row per currency, from it to the reporting currency), and entities whose
# currency is unknown.
_MISSING = """
INSERT INTO money.missing_rates
WITH days AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($end AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
), gaps AS (
    SELECT p.from_currency, p.to_currency, d.day
    FROM money_pairs AS p CROSS JOIN days AS d
    WHERE p.entity AND p.to_currency = CAST($reporting AS VARCHAR)
      AND NOT EXISTS (
          SELECT 1 FROM money.fx_daily AS f
          WHERE f.from_currency = p.from_currency AND f.to_currency = p.to_currency
            AND f.rate_date = d.day
      )
)
SELECT from_currency, to_currency, CAST(date_trunc('month', day) AS DATE) AS month,
       min(day), max(day), CAST(count(*) AS INTEGER), list(day ORDER BY day),
       NULL, 'no_rate'
FROM gaps
GROUP BY from_currency, to_currency, date_trunc('month', day)
UNION ALL
SELECT NULL, CAST($reporting AS VARCHAR), NULL, NULL, NULL, NULL, NULL, entity_id,
       'unknown_entity_currency'
FROM money.entity_currencies WHERE currency IS NULL
"""

_TABLES = ("settings", "entity_currencies", "fx_daily", "fx_monthly", "missing_rates")


@dataclass(frozen=True)
class MoneyReport:
    """What one rebuild of the money schema found."""

    reporting_currency: str
    entities: int
    unknown_entities: int
    pairs: int
    days: int
    missing_months: int

    def summary(self) -> str:
        """One line for the run record."""
        return (
            f"reporting currency {self.reporting_currency}: {self.entities} entities "
            f"({self.unknown_entities} of unknown currency), {self.pairs} currency pairs over "
            f"{self.days} days, {self.missing_months} pair-months with days without a rate"
        )


def _range(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[date | None, date | None]:
    """(first day of the rates, first day a figure needs) within the history; None when no
    data needs a rate or the data starts after the as-of day."""
    row = con.execute(_DATA_START).fetchone()
    data_start, rates_start = row if row else (None, None)
    floor = as_of - timedelta(days=HISTORY_DAYS)
    if data_start is None or data_start > as_of:
        return None, None
    needed = max(data_start, floor)
    first = max(min(needed, rates_start or needed), floor)
    return first, needed


def refresh_money(
    con: duckdb.DuckDBPyConnection, reporting_currency: str, as_of: date
) -> MoneyReport:
    """Rebuild every table of the `money` schema from the landed tables, in one transaction."""
    reporting = {"reporting": reporting_currency}
    con.execute("BEGIN TRANSACTION")
    for table in _TABLES:
        con.execute(f"DELETE FROM money.{table}")
    con.execute("INSERT INTO money.settings VALUES (?)", [reporting_currency])
    con.execute(_ENTITY_CURRENCIES, reporting)
    con.execute(_PAIRS, reporting)
    first, needed = _range(con, as_of)
    if first is not None and needed is not None:
        con.execute(_DAILY, {"start": first, "end": as_of})
        con.execute(_MONTHLY)
        con.execute(_MISSING, {**reporting, "start": needed, "end": as_of})
    else:
        con.execute(_MISSING, {**reporting, "start": as_of, "end": as_of - timedelta(days=1)})
    entities, unknown = _one(
        con,
        "SELECT count(*), count(*) FILTER (WHERE currency IS NULL) FROM money.entity_currencies",
    )
    (pairs,) = _one(con, "SELECT count(*) FROM money_pairs")
    (missing,) = _one(con, "SELECT count(*) FROM money.missing_rates WHERE reason = 'no_rate'")
    con.execute("DROP TABLE money_pairs")
    con.execute("COMMIT")
    days = 0 if needed is None else (as_of - needed).days + 1
    return MoneyReport(reporting_currency, entities, unknown, pairs, days, missing)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.execute(sql).fetchone()
    return tuple(int(v or 0) for v in row) if row else (0,)
