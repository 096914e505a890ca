"""The executive page's money (`control_tower.views.executive_money`) on a worked example.

Three sites: L1 of entity E1 (USD, the reporting currency), L2 of E2 (EUR, 1 EUR = 1.10 USD on
the data's day 17 Mar) and L3 of E3 (GBP, no rate published). As of 18 Mar:

    value at risk  unresolved items: backordered_line L1 100 (open) + L2 50 (acknowledged),
                   stockout_risk L1 25 (snoozed), late_wave L2 (no value); a resolved item of
                   999 is not counted                                   = 175 (L1 125, L2 50)
    backlog        L1: open line 10 ordered, 4 shipped, USD 5 = 30; backordered line of 2 packs
                   of 2 at USD 12 a pack (6 a unit) = 24; released, cancelled and shipped
                   lines are not backlog                                = USD 54
                   L2: open line 10 x EUR 100 = EUR 1,000               = USD 1,100
                   L3: open line 2 x GBP 50 = GBP 100, no GBP rate      = no figure (not 0)
    inventory      on hand x unit cost 10 at the latest snapshot before 18 Mar:
                   L1 7 units on 17 Mar (not the 16th, not the 18th) = 70; L2 3 on 17 Mar = 30,
                   EUR 27.27 at the 17 Mar rate
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of, series
from control_tower.views.executive_money import MissingRate, MoneyNotComputedError, money_view

AS_OF = date(2026, 3, 18)
EUR_USD = 1.10


@pytest.fixture
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""
        CREATE SCHEMA money;
        CREATE TABLE money.settings (reporting_currency VARCHAR);
        INSERT INTO money.settings VALUES ('USD');
        CREATE TABLE money.entity_currencies (entity_id VARCHAR, currency VARCHAR, source VARCHAR);
        INSERT INTO money.entity_currencies VALUES
            ('E1', 'USD', 'entities'), ('E2', 'EUR', 'entities'), ('E3', 'GBP', 'entities');
        CREATE TABLE money.fx_daily (rate_date DATE, from_currency VARCHAR, to_currency VARCHAR,
                                     rate DOUBLE, published_date DATE);
        INSERT INTO money.fx_daily VALUES
            ('2026-03-16', 'EUR', 'USD', 1.05, '2026-03-16'),
            ('2026-03-16', 'USD', 'EUR', 1 / 1.05, '2026-03-16'),
            ('2026-03-17', 'EUR', 'USD', 1.10, '2026-03-17'),
            ('2026-03-17', 'USD', 'EUR', 1 / 1.10, '2026-03-17');
        CREATE TABLE locations (location_id VARCHAR, entity_id VARCHAR);
        INSERT INTO locations VALUES ('L1', 'E1'), ('L2', 'E2'), ('L3', 'E3');
        CREATE TABLE items (item_id VARCHAR, unit_cost DECIMAL(18, 4), unit_price DECIMAL(18, 4));
        INSERT INTO items VALUES ('I1', 10, 20);
        CREATE TABLE sales_order_lines (
            order_id VARCHAR, line_no INTEGER, entity_id VARCHAR, location_id VARCHAR,
            item_id VARCHAR, ordered_qty DECIMAL(18, 3), unit_price DECIMAL(18, 4),
            uom_factor DECIMAL(18, 3), status VARCHAR);
        INSERT INTO sales_order_lines VALUES
            ('A', 1, 'E1', 'L1', 'I1', 10, 5, 1, 'open'),
            ('A', 2, 'E1', 'L1', 'I1', 4, 12, 2, 'backordered'),
            ('A', 3, 'E1', 'L1', 'I1', 8, 5, NULL, 'released'),
            ('A', 4, 'E1', 'L1', 'I1', 8, 5, NULL, 'cancelled'),
            ('A', 5, 'E1', 'L1', 'I1', 8, 5, NULL, 'shipped'),
            ('B', 1, 'E2', 'L2', 'I1', 10, 100, 1, 'open'),
            ('C', 1, 'E3', 'L3', 'I1', 2, 50, 1, 'open');
        CREATE TABLE shipments (order_id VARCHAR, line_no INTEGER, shipped_qty DECIMAL(18, 3));
        INSERT INTO shipments VALUES ('A', 1, 3), ('A', 1, 1), ('A', 5, 8);
        CREATE TABLE inventory_snapshots (snapshot_date DATE, location_id VARCHAR,
                                          item_id VARCHAR, on_hand_qty DECIMAL(18, 3));
        INSERT INTO inventory_snapshots VALUES
            ('2026-03-16', 'L1', 'I1', 5), ('2026-03-17', 'L1', 'I1', 7),
            ('2026-03-18', 'L1', 'I1', 900), ('2026-03-17', 'L2', 'I1', 3);
        CREATE SCHEMA exc;
        CREATE TABLE exc.queue_items (id VARCHAR, type VARCHAR, status VARCHAR,
            location_id VARCHAR, entity_id VARCHAR, value_at_risk DOUBLE);
        INSERT INTO exc.queue_items VALUES
            ('1', 'backordered_line', 'open', 'L1', 'E1', 100),
            ('2', 'backordered_line', 'acknowledged', 'L2', 'E2', 50),
            ('3', 'stockout_risk', 'snoozed', 'L1', 'E1', 25),
            ('4', 'late_wave', 'open', 'L2', 'E2', NULL),
            ('5', 'backordered_line', 'resolved', 'L1', 'E1', 999);
    """)
    yield con
    con.close()


def test_value_at_risk_by_queue_and_by_site(cur):
    money = money_view(cur, Scope(), as_of=AS_OF)
    assert money.reporting_currency == "USD"
    assert money.value_at_risk == pytest.approx(175)
    queues = [(q.type, q.items, q.valued, q.value_at_risk) for q in money.queues]
    assert queues == [
        ("backordered_line", 2, 2, 150),
        ("stockout_risk", 1, 1, 25),
        ("late_wave", 1, 0, 0),
    ]
    assert money.queues[0].label == "Past-due order line"
    sites = {s.location_id: s for s in money.sites}
    assert (sites["L1"].items, sites["L1"].value_at_risk) == (2, 125)
    assert (sites["L2"].items, sites["L2"].value_at_risk) == (2, 50)
    assert [s.location_id for s in money.sites][:2] == ["L1", "L2"]  # biggest value first


def test_backlog_in_two_currencies_and_a_missing_rate_is_missing_not_zero(cur):
    money = money_view(cur, Scope(), as_of=AS_OF)
    assert money.rate_day == date(2026, 3, 17)
    sites = {s.location_id: s for s in money.sites}
    assert (sites["L1"].backlog_lines, sites["L1"].backlog) == (2, pytest.approx(54))
    assert sites["L1"].backlog_local == pytest.approx(54)
    assert sites["L2"].currency == "EUR"
    assert sites["L2"].backlog_local == pytest.approx(1000)
    assert sites["L2"].backlog == pytest.approx(1000 * EUR_USD)
    assert sites["L3"].backlog_lines == 1
    assert sites["L3"].backlog_local == pytest.approx(100)
    assert sites["L3"].backlog is None
    assert money.missing == (MissingRate("L3", "backlog", "GBP", "USD", date(2026, 3, 17)),)
    assert money.backlog == pytest.approx(54 + 1100)  # the sites that could be converted


def test_inventory_at_the_latest_snapshot_before_the_as_of_day(cur):
    money = money_view(cur, Scope(), as_of=AS_OF)
    sites = {s.location_id: s for s in money.sites}
    assert (sites["L1"].inventory, sites["L1"].inventory_day) == (70, date(2026, 3, 17))
    assert sites["L2"].inventory == pytest.approx(30)
    assert sites["L2"].inventory_local == pytest.approx(30 / EUR_USD)
    assert sites["L3"].inventory is None  # no snapshot there
    assert money.inventory == pytest.approx(100)


def test_a_site_scope_sees_that_sites_money_only_in_both_currencies(cur):
    money = money_view(cur, Scope.of(locations=["L2"]), as_of=AS_OF)
    assert [s.location_id for s in money.sites] == ["L2"]
    assert money.value_at_risk == pytest.approx(50)
    assert [q.type for q in money.queues] == ["backordered_line", "late_wave"]
    assert money.backlog == pytest.approx(1100)
    assert money.inventory == pytest.approx(30)
    assert money.missing == ()
    assert money.entity == ("E2", "EUR")
    assert money.local("backlog") == pytest.approx(1000)
    assert money.local("value_at_risk") == pytest.approx(50 / EUR_USD)
    assert money.local("inventory") == pytest.approx(30 / EUR_USD)


def test_an_entity_scope_and_the_reporting_entity_read_in_one_currency(cur):
    money = money_view(cur, Scope.of(entities=["E1"]), as_of=AS_OF)
    assert [s.location_id for s in money.sites] == ["L1"]
    assert money.entity is None  # its currency is the reporting one
    assert money.local("backlog") is None
    both = money_view(cur, Scope(), as_of=AS_OF)
    assert both.entity is None  # three entities


def test_a_day_without_a_rate_leaves_the_foreign_backlog_unconverted(cur):
    cur.execute("DELETE FROM money.fx_daily WHERE rate_date = '2026-03-17'")
    money = money_view(cur, Scope.of(locations=["L2"]), as_of=AS_OF)
    (site,) = money.sites
    assert site.backlog is None
    assert site.backlog_local == pytest.approx(1000)
    assert money.backlog is None
    assert money.local("value_at_risk") is None
    assert money.missing == (MissingRate("L2", "backlog", "EUR", "USD", date(2026, 3, 17)),)


def test_a_snapshot_without_currency_tables_says_so(cur):
    cur.execute("DROP SCHEMA money CASCADE")
    with pytest.raises(MoneyNotComputedError, match="currency tables"):
        money_view(cur, Scope(), as_of=AS_OF)


def test_on_the_demo_inventory_by_site_is_the_governed_inventory_value(snapshot, catalog):
    """The page's inventory value of each site is the `inventory_value` KPI (the governed
    inventory positions) at that site on the same snapshot day."""
    as_of = latest_as_of(snapshot)
    money = money_view(snapshot, Scope(), as_of=as_of)
    kpi = catalog.kpi("inventory_value")
    compared = 0
    for site in money.sites:
        if site.inventory_day is None:
            continue
        day = site.inventory_day
        found = series(
            snapshot,
            kpi,
            scope=Scope.of(locations=[site.location_id]),
            start=day,
            end=day + timedelta(days=1),  # a stock KPI is computed as of `end`: days before it
            dimension="location_id",
        )
        (point,) = [p for p in found.points if p.period == day]
        assert site.inventory == pytest.approx(point.value), site.location_id
        compared += 1
    assert compared == 4
