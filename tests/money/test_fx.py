"""Worked examples of the currency rules: hand-made rates, the money tables, and conversions.

Each test builds a small warehouse in memory, writes a few landed rows, rebuilds the `money`
schema as of a day, and checks the tables (or an amount converted with the `money.sql`
snippets) against figures worked out by hand in the test.

Calendar used: 2026-03-06 is a Friday, 2026-03-07/08 the weekend after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from control_tower.exceptions.registry import exception_type
from control_tower.money import refresh_money
from control_tower.money.sql import (
    converted,
    daily_rate_join,
    entity_currency_join,
    monthly_rate_join,
)
from control_tower.storage.schema import ensure_schema

AS_OF = date(2026, 3, 18)
D = date.fromisoformat


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty warehouse with two entities (E1 in USD, E2 in EUR) and a PO line of 2026-03-01
    (the first day a money figure needs a rate)."""
    c = duckdb.connect()
    ensure_schema(c)
    c.execute("INSERT INTO main.entities (entity_id, currency) VALUES ('E1', 'USD'), ('E2', 'EUR')")
    c.execute(
        "INSERT INTO main.locations (location_id, entity_id) VALUES ('L1', 'E1'), ('L2', 'E2')"
    )
    c.execute("INSERT INTO main.purchase_order_lines (po_id, line_no, order_date) VALUES ('P1', 1, '2026-03-01')")  # fmt: skip
    yield c
    c.close()


def rates(con: duckdb.DuckDBPyConnection, *rows: tuple[str, str, str, float]) -> None:
    con.executemany(
        "INSERT INTO main.fx_rates (rate_date, from_currency, to_currency, rate) VALUES (?, ?, ?, ?)",
        [list(r) for r in rows],
    )


def daily(con: duckdb.DuckDBPyConnection, pair: tuple[str, str]) -> dict[date, tuple[float, date]]:
    rows = con.execute(
        "SELECT rate_date, rate, published_date FROM money.fx_daily "
        "WHERE from_currency = ? AND to_currency = ? ORDER BY rate_date",
        list(pair),
    ).fetchall()
    return {d: (r, p) for d, r, p in rows}


def to_reporting(con: duckdb.DuckDBPyConnection, entity: str, day: str, amount: float) -> object:
    """`amount` of `entity` on `day` in the reporting currency, with the rate of the day."""
    con.execute("CREATE OR REPLACE TEMP TABLE x AS SELECT ? AS entity_id, CAST(? AS DATE) AS day, "
                "CAST(? AS DOUBLE) AS amount", [entity, day, amount])  # fmt: skip
    sql = (
        f"SELECT {converted('x.amount')} FROM x {entity_currency_join('x.entity_id')} "
        f"{daily_rate_join('x.day')}"
    )
    return con.execute(sql).fetchone()[0]  # type: ignore[index]


def test_the_rate_of_the_day_is_the_one_published_that_day(con: duckdb.DuckDBPyConnection) -> None:
    rates(con, ("2026-03-02", "EUR", "USD", 1.08), ("2026-03-03", "EUR", "USD", 1.10))
    refresh_money(con, "USD", AS_OF)
    got = daily(con, ("EUR", "USD"))
    assert got[D("2026-03-02")] == (1.08, D("2026-03-02"))
    assert got[D("2026-03-03")] == (1.10, D("2026-03-03"))
    # 250 EUR of E2 on 2026-03-03: 250 x 1.10 = 275 USD
    assert to_reporting(con, "E2", "2026-03-03", 250.0) == pytest.approx(275.0)


def test_weekends_take_fridays_rate_for_at_most_seven_days(con: duckdb.DuckDBPyConnection) -> None:
    rates(con, ("2026-03-06", "EUR", "USD", 1.09))  # a Friday, and nothing after it
    refresh_money(con, "USD", AS_OF)
    got = daily(con, ("EUR", "USD"))
    assert got[D("2026-03-07")] == (1.09, D("2026-03-06"))  # Saturday
    assert got[D("2026-03-08")] == (1.09, D("2026-03-06"))  # Sunday
    assert got[D("2026-03-13")] == (1.09, D("2026-03-06"))  # the 7th day after it
    assert D("2026-03-14") not in got  # the 8th: too old
    assert D("2026-03-05") not in got  # before it: no rate
    assert to_reporting(con, "E2", "2026-03-14", 100.0) is None  # never 0


def test_the_opposite_pair_counts_inverted(con: duckdb.DuckDBPyConnection) -> None:
    rates(con, ("2026-03-02", "USD", "EUR", 0.8))  # only USD->EUR published
    refresh_money(con, "USD", AS_OF)
    assert daily(con, ("EUR", "USD"))[D("2026-03-02")] == (pytest.approx(1.25), D("2026-03-02"))
    assert daily(con, ("USD", "EUR"))[D("2026-03-02")] == (0.8, D("2026-03-02"))
    # 40 EUR: 40 / 0.8 = 50 USD
    assert to_reporting(con, "E2", "2026-03-02", 40.0) == pytest.approx(50.0)


def test_the_pairs_own_rate_wins_over_the_inverted_one_of_the_same_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rates(con, ("2026-03-02", "EUR", "USD", 1.10), ("2026-03-02", "USD", "EUR", 0.95))
    rates(con, ("2026-03-03", "USD", "EUR", 0.80))  # newer, of the opposite pair
    refresh_money(con, "USD", AS_OF)
    eur_usd = daily(con, ("EUR", "USD"))
    assert eur_usd[D("2026-03-02")] == (1.10, D("2026-03-02"))
    assert eur_usd[D("2026-03-03")] == (pytest.approx(1.25), D("2026-03-03"))  # the day's rate
    assert daily(con, ("USD", "EUR"))[D("2026-03-02")] == (0.95, D("2026-03-02"))


def test_the_same_currency_converts_at_one_without_any_rate(con: duckdb.DuckDBPyConnection) -> None:
    refresh_money(con, "USD", AS_OF)
    assert to_reporting(con, "E1", "2026-03-03", 123.45) == pytest.approx(123.45)
    assert con.execute("SELECT count(*) FROM money.fx_daily").fetchone() == (0,)


def test_the_month_average_is_the_mean_of_the_days_with_a_rate(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # February: Fri 27th 1.00 covers 27, 28; March: Mon 2nd 1.10 covers 2..9, Tue 10th 1.20
    # covers 10..17; the 18th (as_of) is 8 days after it: no rate. March 1st has Feb 27th's.
    con.execute("UPDATE main.purchase_order_lines SET order_date = '2026-02-27'")
    rates(
        con,
        ("2026-02-27", "EUR", "USD", 1.00),
        ("2026-03-02", "EUR", "USD", 1.10),
        ("2026-03-10", "EUR", "USD", 1.20),
    )
    refresh_money(con, "USD", AS_OF)
    monthly = {
        (m, f, t): (r, n)
        for m, f, t, r, n in con.execute("SELECT * FROM money.fx_monthly").fetchall()
    }
    assert monthly[(D("2026-02-01"), "EUR", "USD")] == (pytest.approx(1.00), 2)
    # March 1..17: 1 day at 1.00, 8 days (2..9) at 1.10, 8 days (10..17) at 1.20
    march = (1 * 1.00 + 8 * 1.10 + 8 * 1.20) / 17
    assert monthly[(D("2026-03-01"), "EUR", "USD")] == (pytest.approx(march), 17)
    assert monthly[(D("2026-03-01"), "USD", "EUR")][0] == pytest.approx(
        (1 / 1.00 + 8 / 1.10 + 8 / 1.20) / 17
    )
    con.execute("CREATE TEMP TABLE y AS SELECT 'E2' AS entity_id, DATE '2026-03-25' AS day")
    sql = (
        f"SELECT {converted('1000.0')} FROM y {entity_currency_join('y.entity_id')} "
        f"{monthly_rate_join('y.day')}"
    )
    assert con.execute(sql).fetchone()[0] == pytest.approx(1000 * march)  # type: ignore[index]


def test_a_missing_rate_gives_null_and_names_the_days(con: duckdb.DuckDBPyConnection) -> None:
    rates(con, ("2026-03-02", "EUR", "USD", 1.08))  # covers 2..9; 1st and 10..18 have none
    report = refresh_money(con, "USD", AS_OF)
    assert report.missing_months == 1
    assert to_reporting(con, "E2", "2026-03-01", 10.0) is None
    assert to_reporting(con, "E2", "2026-03-05", 10.0) == pytest.approx(10.8)
    rows = con.execute(
        "SELECT from_currency, to_currency, month, first_day, last_day, days, missing_days, "
        "reason FROM money.missing_rates"
    ).fetchall()
    days = [D("2026-03-01"), *(D(f"2026-03-{d:02d}") for d in range(10, 19))]
    assert rows == [
        ("EUR", "USD", D("2026-03-01"), D("2026-03-01"), D("2026-03-18"), 10, days, "no_rate")
    ]


def test_an_entity_missing_from_entities_has_no_currency(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO main.sales_order_lines (order_id, line_no, entity_id) VALUES ('O1', 1, 'E3')")  # fmt: skip
    rates(con, *((f"2026-03-{d:02d}", "EUR", "USD", 1.1) for d in range(1, 19)))
    refresh_money(con, "USD", AS_OF)
    currencies = con.execute("SELECT * FROM money.entity_currencies ORDER BY 1").fetchall()
    assert currencies == [
        ("E1", "USD", "entities"),
        ("E2", "EUR", "entities"),
        ("E3", None, "unknown"),
    ]
    assert to_reporting(con, "E3", "2026-03-05", 10.0) is None
    missing = con.execute("SELECT entity_id, reason FROM money.missing_rates").fetchall()
    assert missing == [("E3", "unknown_entity_currency")]


def test_without_entities_every_entity_is_in_the_reporting_currency() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("INSERT INTO main.locations (location_id, entity_id) VALUES ('L1', 'E1'), ('L2', 'E2')")  # fmt: skip
    con.execute("INSERT INTO main.ap_invoice_lines (invoice_id, line_no, entity_id, invoice_date) VALUES ('I', 1, 'E9', '2026-03-02')")  # fmt: skip
    report = refresh_money(con, "EUR", AS_OF)
    assert con.execute("SELECT * FROM money.entity_currencies ORDER BY 1").fetchall() == [
        ("E1", "EUR", "reporting_default"),
        ("E2", "EUR", "reporting_default"),
        ("E9", "EUR", "reporting_default"),
    ]
    assert con.execute("SELECT * FROM money.settings").fetchall() == [("EUR",)]
    assert (report.pairs, report.missing_months) == (0, 0)
    assert con.execute("SELECT count(*) FROM money.missing_rates").fetchone() == (0,)
    assert to_reporting(con, "E2", "2026-03-05", 7.5) == pytest.approx(7.5)


def test_an_empty_warehouse_has_every_money_table_empty_but_settings() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    for table in ("settings", "entity_currencies", "fx_daily", "fx_monthly", "missing_rates"):
        assert con.execute(f"SELECT count(*) FROM money.{table}").fetchone() == (0,)
    refresh_money(con, "USD", AS_OF)
    assert con.execute("SELECT * FROM money.settings").fetchall() == [("USD",)]
    assert con.execute("SELECT count(*) FROM money.fx_daily").fetchone() == (0,)


def test_the_rule_raises_one_item_per_pair_and_month_and_per_unknown_entity(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("INSERT INTO main.close_tasks (entity_id, period, task_id) VALUES ('E3', '2026-02', 'T1')")  # fmt: skip
    con.execute("UPDATE main.purchase_order_lines SET order_date = '2026-02-27'")
    rates(con, ("2026-03-02", "EUR", "USD", 1.08))
    refresh_money(con, "USD", AS_OF)
    rule = exception_type("missing_fx_rate")
    found = con.execute(rule.rule, rule.bindings(as_of=AS_OF, now="2026-03-18 11:00:00")).fetchall()
    names = [d[0] for d in con.description]  # type: ignore[union-attr]
    rows = sorted((dict(zip(names, r, strict=True)) for r in found), key=lambda r: r["key"])
    assert [(r["key"], r["entity_id"], r["severity"]) for r in rows] == [
        ("EUR>USD|2026-02", None, None),  # Feb 27 and 28: over, today's figures unaffected
        ("EUR>USD|2026-03", None, "high"),  # up to the 18th: today's figures have no rate
        ("entity|E3", "E3", None),
    ]
    assert '"missing_days":["2026-02-27","2026-02-28"]' in rows[0]["detail"]
    assert '"days":2' in rows[0]["detail"]
