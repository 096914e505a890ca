"""The demo in two currencies: entities, suppliers and weekday EUR->USD rates that land clean,
NL01 amounts in euros at the day's rate, and the inbound problems finance and buyers chase
(overdue purchase order lines, short, over and damaged receipts, returns awaiting credit)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from control_tower.landing import land_inbox
from control_tower.storage.schema import connect_writer

MONEY_TABLES = ("entities", "suppliers", "fx_rates")
# rate of the day: the latest rate published on or before the day (a weekend takes Friday's)
RATE_OF_DAY = "ASOF JOIN fx ON fx.d <= {day}"
# the row's amount times this is in dollars (the item master's currency)
TO_USD = "(CASE WHEN location_id = 'DC-RTM' THEN fx.r ELSE 1 END)"


def one(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def fx(db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The published rates as (d DATE, r DOUBLE)."""
    db.execute(
        "CREATE OR REPLACE TABLE fx AS SELECT rate_date::DATE AS d, rate::DOUBLE AS r "
        "FROM fx_rates WHERE from_currency = 'EUR' AND to_currency = 'USD'"
    )
    return db


def test_money_tables_land_without_a_quarantined_row(small_root: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "erp").mkdir(parents=True)
    lines = {}
    for table in MONEY_TABLES:
        source = small_root / "erp" / f"{table}.csv"
        shutil.copy(source, inbox / "erp" / source.name)
        lines[table] = source.read_text(encoding="utf-8").count("\n") - 1
    con = connect_writer(tmp_path / "warehouse.duckdb")
    try:
        report = land_inbox(
            con, inbox, run_id="money", archive=tmp_path / "archive", rejected=tmp_path / "rej"
        )
        got = {b.table: (b.status, b.rows_quarantined, b.counts.inserted) for b in report.batches}
        assert got == {t: ("loaded", 0, lines[t]) for t in MONEY_TABLES}
        assert con.execute("SELECT count(*) FROM fx_rates WHERE rate <= 0").fetchone() == (0,)
    finally:
        con.close()


def test_two_entities_in_two_currencies(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("SELECT entity_id, currency FROM entities ORDER BY 1").fetchall()
    assert rows == [("NL01", "EUR"), ("US01", "USD")]
    # every entity the other tables name has its currency
    assert (
        one(
            db,
            """SELECT count(*) FROM (
                SELECT entity_id FROM locations UNION SELECT entity_id FROM sales_order_lines
                UNION SELECT entity_id FROM ap_invoice_lines UNION SELECT entity_id FROM close_tasks
            ) LEFT JOIN entities USING (entity_id) WHERE entities.currency IS NULL""",
        )
        == 0
    )


def test_every_supplier_named_anywhere_is_in_the_master(db: duckdb.DuckDBPyConnection) -> None:
    missing = db.execute(
        """SELECT DISTINCT supplier_id FROM (
            SELECT supplier_id FROM items UNION ALL SELECT supplier_id FROM purchase_order_lines
            UNION ALL SELECT supplier_id FROM ap_invoice_lines
        ) WHERE supplier_id NOT IN (SELECT supplier_id FROM suppliers)"""
    ).fetchall()
    assert missing == []
    # European suppliers bill in euros, the others in dollars; both kinds supply items
    eu = "('NL', 'DE', 'BE', 'FR', 'SE')"
    assert (
        one(
            db,
            f"""SELECT count(*) FROM suppliers
            WHERE currency <> CASE WHEN country IN {eu} THEN 'EUR' ELSE 'USD' END""",
        )
        == 0
    )
    by_currency = dict(
        db.execute(
            """SELECT s.currency, count(DISTINCT i.supplier_id) FROM items i
            JOIN suppliers s USING (supplier_id) GROUP BY 1"""
        ).fetchall()
    )
    assert by_currency.keys() == {"USD", "EUR"}
    terms = {
        r[0] for r in db.execute("SELECT DISTINCT payment_terms_days FROM suppliers").fetchall()
    }
    assert terms == {"30", "45", "60"}
    assert one(db, "SELECT count(DISTINCT name) = count(*) FROM suppliers") is True


def test_rates_on_every_weekday_and_never_on_a_weekend(
    fx: duckdb.DuckDBPyConnection, as_of: dt.date
) -> None:
    first = one(fx, "SELECT min(d) FROM fx")
    assert isinstance(first, dt.date)
    # from before the first dated row of the history to the last weekday before the extract
    assert first < one(fx, "SELECT min(order_date::DATE) FROM purchase_order_lines")  # type: ignore[operator]
    assert first < one(fx, "SELECT min(order_ts::TIMESTAMP::DATE) FROM sales_order_lines")  # type: ignore[operator]
    last_weekday = as_of - dt.timedelta(days=1)
    while last_weekday.weekday() >= 5:
        last_weekday -= dt.timedelta(days=1)
    assert one(fx, "SELECT max(d) FROM fx") == last_weekday
    missing = fx.execute(
        f"""SELECT day::DATE FROM range(DATE '{first}', DATE '{last_weekday}' + 1, INTERVAL 1 DAY)
        AS t(day) WHERE isodow(day) <= 5 AND day::DATE NOT IN (SELECT d FROM fx)"""
    ).fetchall()
    assert missing == []
    assert one(fx, "SELECT count(*) FROM fx WHERE isodow(d) > 5") == 0
    assert one(fx, "SELECT count(*) - count(DISTINCT d) FROM fx") == 0
    # a walk around 1.08 that moves from day to day, four decimals as published
    low, high, days_changed = fx.execute(
        "SELECT min(r), max(r), count(DISTINCT r) FROM fx"
    ).fetchone()  # type: ignore[misc]
    assert 0.95 < low < high < 1.25
    assert days_changed > one(fx, "SELECT count(*) FROM fx") // 2  # type: ignore[operator]
    assert (
        one(fx, r"SELECT count(*) FROM fx_rates WHERE NOT regexp_matches(rate, '^1\.\d{4}$')") == 0
    )


def test_purchase_costs_are_the_standard_cost_at_the_days_rate(
    fx: duckdb.DuckDBPyConnection,
) -> None:
    """A PO line's cost is the item's standard (dollar) cost within 1% noise: directly at
    the US sites, through the order day's rate at the Rotterdam site (euros)."""
    rows = fx.execute(
        f"""SELECT location_id = 'DC-RTM' AS nl, count(*),
            avg(p.unit_cost::DOUBLE * {TO_USD} / i.unit_cost::DOUBLE),
            max(abs(p.unit_cost::DOUBLE * {TO_USD} / i.unit_cost::DOUBLE - 1)),
            stddev(p.unit_cost::DOUBLE * {TO_USD} / i.unit_cost::DOUBLE),
            avg(p.unit_cost::DOUBLE / i.unit_cost::DOUBLE)
        FROM purchase_order_lines p JOIN items i USING (item_id)
        {RATE_OF_DAY.format(day="p.order_date::DATE")}
        WHERE i.unit_cost::DOUBLE >= 1  -- cents would round away the noise
        GROUP BY 1"""
    ).fetchall()
    by_site = {r[0]: r[1:] for r in rows}
    us, nl = by_site[False], by_site[True]
    for n, mean, worst, _, _ in (us, nl):
        assert n > 100
        assert abs(mean - 1) < 0.005
        assert worst < 0.06
    # the day's rate, not some average rate: no more spread than the dollar lines
    assert nl[3] < 1.2 * us[3]
    # and the Rotterdam costs are not dollars
    assert nl[4] < 0.97


def test_sales_prices_relate_to_list_prices_through_the_days_rate(
    fx: duckdb.DuckDBPyConnection,
) -> None:
    rows = fx.execute(
        f"""WITH s AS (
            SELECT DISTINCT order_id, line_no, location_id, item_id, unit_price, order_ts
            FROM sales_order_lines)
        SELECT location_id = 'DC-RTM' AS nl,
            median(s.unit_price::DOUBLE * {TO_USD} / i.unit_price::DOUBLE),
            min(s.unit_price::DOUBLE * {TO_USD} / i.unit_price::DOUBLE),
            max(s.unit_price::DOUBLE * {TO_USD} / i.unit_price::DOUBLE),
            median(s.unit_price::DOUBLE / i.unit_price::DOUBLE)
        FROM s JOIN items i USING (item_id)
        {RATE_OF_DAY.format(day="s.order_ts::TIMESTAMP::DATE")}
        WHERE i.unit_price::DOUBLE >= 1
        GROUP BY 1"""
    ).fetchall()
    by_site = {r[0]: r[1:] for r in rows}
    us, nl = by_site[False], by_site[True]
    # list price less the customer's discount (up to 14%), within noise, in both currencies
    assert abs(nl[0] - us[0]) < 0.015
    for _, low, high, _ in (us, nl):
        assert low > 0.8
        assert high < 1.05
    assert nl[3] < us[0] - 0.03  # unconverted, the euro prices look too cheap


def test_matched_invoices_bill_the_po_cost_in_the_same_currency(
    db: duckdb.DuckDBPyConnection,
) -> None:
    mismatched = db.execute(
        """SELECT a.entity_id, count(*) FILTER (WHERE a.invoiced_unit_cost::DOUBLE
                <> p.unit_cost::DOUBLE), count(*)
        FROM ap_invoice_lines a JOIN purchase_order_lines p
          ON p.po_id = a.po_id AND p.line_no = a.po_line_no
        WHERE a.match_status = 'matched' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert [(e, bad) for e, bad, _ in mismatched] == [("NL01", 0), ("US01", 0)]
    assert all(n > 100 for _, _, n in mismatched)


def test_overdue_po_lines_and_receipt_problems_in_realistic_shares(
    db: duckdb.DuckDBPyConnection, as_of: dt.date
) -> None:
    po_lines = one(db, "SELECT count(*) FROM purchase_order_lines")
    assert isinstance(po_lines, int)
    overdue = one(
        db,
        f"""SELECT count(*) FROM purchase_order_lines p
        WHERE status = 'open' AND expected_date::DATE < DATE '{as_of}'
          AND NOT EXISTS (SELECT 1 FROM receipts r
                          WHERE r.po_id = p.po_id AND r.po_line_no::INT = p.line_no::INT)""",
    )
    assert isinstance(overdue, int)
    assert 0.002 * po_lines < overdue < 0.05 * po_lines
    short, over, lines = db.execute(
        """WITH got AS (SELECT po_id, po_line_no::INT AS line_no, sum(received_qty::INT) AS qty
                        FROM receipts GROUP BY ALL),
            ordered AS (SELECT p.po_id, p.line_no::INT AS line_no, p.ordered_qty::INT
                          * CASE WHEN p.uom = 'CS' THEN i.case_qty::INT ELSE 1 END AS qty
                        FROM purchase_order_lines p JOIN items i USING (item_id)
                        WHERE p.status IN ('received', 'closed'))
        SELECT count(*) FILTER (WHERE got.qty < ordered.qty),
               count(*) FILTER (WHERE got.qty > ordered.qty), count(*)
        FROM ordered JOIN got USING (po_id, line_no)"""
    ).fetchone()  # type: ignore[misc]
    assert 0.01 * lines < short < 0.08 * lines
    assert 0.003 * lines < over < 0.04 * lines
    damaged, receipt_lines = db.execute(
        "SELECT count(*) FILTER (WHERE damaged_qty::INT > 0), count(*) FROM receipts"
    ).fetchone()  # type: ignore[misc]
    assert 0.01 * receipt_lines < damaged < 0.08 * receipt_lines
    awaiting, returns = db.execute(
        "SELECT count(*) FILTER (WHERE credited_at IS NULL), count(*) FROM returns"
    ).fetchone()  # type: ignore[misc]
    assert 0 < awaiting < 0.3 * returns
