"""Exception items' value at risk is in the reporting currency (docs/exceptions.md).

Worked example, evaluated on 12 Mar 2026 (the data's day, whose rate converts, is 11 Mar):
entity E1 is in USD (the reporting currency), E2 in EUR (1 EUR = 1.085 USD on 11 Mar, 1.20 on
12 Mar, which must not be used), E3 in GBP (no rate published).

    rule                    row                                   amount      value at risk
    backordered_line        O1 (E1) 10 x USD 4, promised 5 Mar    USD 40      40
                            O2 (E2) 10 x EUR 4                    EUR 40      43.40
                            O3 (E3) 10 x GBP 4                    GBP 40      empty (no rate)
    missed_promise          O1, O2, O3 (not delivered)            as above    as above
    order_at_risk           O4 (E2) 5 x EUR 10, promised 20 Mar,  EUR 50      54.25 (and a
                            no stock                                          risk value of 54.25)
    unmatched_invoice_line  INV1 (E2) 10 x EUR 2.50               EUR 25      27.125
    freight_cost_overrun    F1 from L2 (E2), EUR 150 against 100  EUR 50      54.25
    cycle_count_variance    L2 (E2), 2 units off x unit cost 3    USD 6       6 (item master:
                                                                              not converted)

And on the landed exception cases: when the rates change after a detection (a late rate), a
delta runs the converting rules whole, so their items' values follow in that run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from control_tower.exceptions.detect import detect, refresh_exceptions
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.storage.changes import Changes
from control_tower.storage.schema import ensure_schema
from tests.support.exception_cases import NOW as CASES_NOW
from tests.support.exception_cases import detect_at, items, settings, writer

AS_OF = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 10, 0)
RATE = 1.085
TYPES = (
    "backordered_line",
    "missed_promise",
    "order_at_risk",
    "unmatched_invoice_line",
    "freight_cost_overrun",
    "cycle_count_variance",
)


@pytest.fixture(scope="module")
def values() -> dict[tuple[str, str], tuple[float | None, str]]:
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("""
        CREATE SCHEMA IF NOT EXISTS money;
        CREATE OR REPLACE TABLE money.settings (reporting_currency VARCHAR);
        INSERT INTO money.settings VALUES ('USD');
        CREATE OR REPLACE TABLE money.entity_currencies (
            entity_id VARCHAR, currency VARCHAR, source VARCHAR);
        INSERT INTO money.entity_currencies VALUES
            ('E1', 'USD', 'entities'), ('E2', 'EUR', 'entities'), ('E3', 'GBP', 'entities');
        CREATE OR REPLACE TABLE money.fx_daily (rate_date DATE, from_currency VARCHAR,
            to_currency VARCHAR, rate DOUBLE, published_date DATE);
        INSERT INTO money.fx_daily VALUES
            ('2026-03-11', 'EUR', 'USD', 1.085, '2026-03-11'),
            ('2026-03-11', 'USD', 'EUR', 1 / 1.085, '2026-03-11'),
            ('2026-03-12', 'EUR', 'USD', 1.20, '2026-03-12'),
            ('2026-03-12', 'USD', 'EUR', 1 / 1.20, '2026-03-12');
        INSERT INTO locations (location_id, name, entity_id, timezone) VALUES
            ('L1', 'One', 'E1', 'UTC'), ('L2', 'Two', 'E2', 'UTC'), ('L3', 'Three', 'E3', 'UTC');
        INSERT INTO items (item_id, unit_cost, unit_price, abc_class) VALUES ('I1', 3, 9, 'A');
        INSERT INTO customers (customer_id, priority_tier) VALUES ('C1', 2);
        INSERT INTO sales_order_lines (order_id, line_no, entity_id, customer_id, item_id,
            location_id, order_ts, order_ts_local_date, ordered_qty, unit_price, requested_date,
            promised_date, first_promised_date, status, uom_factor) VALUES
            ('O1', 1, 'E1', 'C1', 'I1', 'L1', '2026-03-01', '2026-03-01', 10, 4, '2026-03-05',
             '2026-03-05', '2026-03-05', 'open', 1),
            ('O2', 1, 'E2', 'C1', 'I1', 'L2', '2026-03-01', '2026-03-01', 10, 4, '2026-03-05',
             '2026-03-05', '2026-03-05', 'open', 1),
            ('O3', 1, 'E3', 'C1', 'I1', 'L3', '2026-03-01', '2026-03-01', 10, 4, '2026-03-05',
             '2026-03-05', '2026-03-05', 'open', 1),
            ('O4', 1, 'E2', 'C1', 'I1', 'L2', '2026-03-10', '2026-03-10', 5, 10, '2026-03-20',
             '2026-03-20', '2026-03-20', 'open', 1);
        INSERT INTO purchase_order_lines (po_id, line_no, item_id, location_id, ordered_qty,
            unit_cost, status) VALUES ('P1', 1, 'I1', 'L2', 10, 2, 'closed');
        INSERT INTO ap_invoice_lines (invoice_id, line_no, entity_id, po_id, po_line_no,
            invoiced_qty, invoiced_unit_cost, invoice_date, match_status) VALUES
            ('INV1', 1, 'E2', 'P1', 1, 10, 2.50, '2026-03-10', 'price_variance');
        INSERT INTO shipments (shipment_id, order_id, line_no, item_id, location_id,
            shipped_qty) VALUES ('S9', 'O9', 1, 'I1', 'L2', 1);
        INSERT INTO freight_shipments (tms_shipment_id, shipment_id, actual_pickup_ts,
            actual_pickup_ts_local_date, planned_freight_cost, actual_freight_cost, expedited,
            status) VALUES ('F1', 'S9', '2026-03-10 08:00', '2026-03-10', 100, 150, false,
            'in_transit');
        INSERT INTO cycle_counts (count_id, location_id, bin_id, item_id, counted_at,
            system_qty, counted_qty) VALUES ('CC1', 'L2', 'B1', 'I1', '2026-03-11 08:00', 50, 52);
    """)
    _counts, failed = detect(
        con, as_of=AS_OF, now=NOW, types={n: EXCEPTION_TYPES[n] for n in TYPES}
    )
    assert failed == {}
    rows = con.execute("SELECT type, key, value_at_risk, detail FROM exc_detected").fetchall()
    con.close()
    return {(t, k): (v, d) for t, k, v, d in rows}


@pytest.mark.parametrize("kind", ["backordered_line", "missed_promise"])
def test_an_order_lines_value_is_converted_from_its_entitys_currency(values, kind):
    assert values[(kind, "O1|1")][0] == pytest.approx(40)
    assert values[(kind, "O2|1")][0] == pytest.approx(40 * RATE)  # EUR 40 at the 11 Mar rate
    assert values[(kind, "O3|1")][0] is None  # no GBP rate: empty, never GBP 40 nor 0


def test_an_order_at_risk_is_valued_and_ranked_in_the_reporting_currency(values):
    value, detail = values[("order_at_risk", "O4|1")]
    assert value == pytest.approx(50 * RATE)
    assert '"risk_value":54.25' in detail


def test_invoice_and_freight_amounts_are_converted(values):
    assert values[("unmatched_invoice_line", "INV1|1")][0] == pytest.approx(25 * RATE)
    assert values[("freight_cost_overrun", "F1")][0] == pytest.approx(50 * RATE)


def test_a_value_from_the_item_master_is_already_in_the_reporting_currency(values):
    assert values[("cycle_count_variance", "L2|B1|I1")][0] == pytest.approx(6)


def test_a_rate_that_changes_revalues_the_items_of_keyed_rules_on_a_delta(home):
    detect_at(home, CASES_NOW)
    assert items(home, "backordered_line")["O1|1"].value_at_risk == pytest.approx(24)  # 6 x 4
    with writer(home) as con:
        # E1 turns out to be in EUR, and a rate of the data's day lands
        con.execute("UPDATE money.entity_currencies SET currency = 'EUR' WHERE entity_id = 'E1'")
        con.execute(
            "INSERT INTO money.fx_daily VALUES (?, 'EUR', 'USD', 2.0, ?)",
            [CASES_NOW.date() - timedelta(days=1)] * 2,
        )
        report = refresh_exceptions(
            con,
            settings(home).app_db_url,
            as_of=CASES_NOW.date(),
            now=CASES_NOW,
            changes=Changes.of_batches([("returns", 10_000)]),  # no row of the rules' tables
        )
    assert report.modes["backordered_line"] == "whole"
    assert report.modes["late_wave"] == "skip"
    assert items(home, "backordered_line")["O1|1"].value_at_risk == pytest.approx(48)
