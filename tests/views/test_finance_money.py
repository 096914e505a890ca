"""Worked examples of finance in money: GRNI, returns awaiting credit, unmatched invoice value
and write-offs, on a small hand-made warehouse whose figures are worked out in the comments.

Entities: E1 in USD (site L1), E2 in EUR (site L2); reporting currency USD; as of 2026-03-18,
so point-in-time figures convert at the rate of 2026-03-17. EUR->USD is published on
2026-03-02 (1.00, usable 2..9 March) and 2026-03-16 (1.10, usable 16..23): the rate of
2026-03-17 is 1.10, and March's average is (8 x 1.00 + 3 x 1.10) / 11 over the 11 days with a
rate up to the 18th.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.money import refresh_money
from control_tower.storage.schema import ensure_schema
from control_tower.views.finance_money import FinanceMoney, finance_money, money_lines

AS_OF = date(2026, 3, 18)
START, END = date(2026, 3, 1), date(2026, 3, 18)
MARCH_EUR_USD = (8 * 1.00 + 3 * 1.10) / 11
MARCH_USD_EUR = (8 / 1.00 + 3 / 1.10) / 11

ROWS: dict[str, tuple[str, list[tuple[object, ...]]]] = {
    "entities": ("entity_id, currency", [("E1", "USD"), ("E2", "EUR")]),
    "locations": ("location_id, entity_id", [("L1", "E1"), ("L2", "E2")]),
    "items": ("item_id, unit_cost", [("I1", 2.50), ("I3", 0.50)]),
    "fx_rates": (
        "rate_date, from_currency, to_currency, rate",
        [("2026-03-02", "EUR", "USD", 1.00), ("2026-03-16", "EUR", "USD", 1.10)],
    ),
    # po_id, line_no, supplier, site, unit cost (entity currency), order date
    "purchase_order_lines": (
        "po_id, line_no, supplier_id, item_id, location_id, unit_cost, order_date",
        [
            ("P1", 1, "S1", "I1", "L1", 2.00, "2026-03-01"),
            ("P2", 1, "S1", "I1", "L1", 10.00, "2026-01-20"),
            ("P3", 1, "S2", "I3", "L2", 4.00, "2025-12-10"),
            ("P4", 1, "S2", "I3", "L2", 1.50, "2025-12-20"),
            ("P5", 1, "S2", "I1", "L1", 3.00, "2025-10-20"),
            ("P6", 1, "S1", "I1", "L1", 1.00, "2025-11-10"),
            ("P7", 1, "S1", "I1", "L1", 9.00, "2026-03-01"),
            # invoiced, nothing received yet: not GRNI
            ("P8", 1, "S1", "I1", "L1", 2.40, "2026-03-01"),
            ("P9", 1, "S2", "I3", "L2", 4.90, "2026-03-01"),
        ],
    ),
    "receipts": (
        "receipt_id, line_no, po_id, po_line_no, location_id, received_qty, damaged_qty, "
        "arrived_ts, arrived_ts_local_date",
        [
            ("R1", 1, "P1", 1, "L1", 60, 0, "2026-03-10 08:00", "2026-03-10"),
            ("R2", 1, "P1", 1, "L1", 40, 5, "2026-03-15 08:00", "2026-03-15"),
            ("R3", 1, "P2", 1, "L1", 10, 0, "2026-01-27 08:00", "2026-01-27"),
            ("R4", 1, "P3", 1, "L2", 20, 0, "2025-12-18 08:00", "2025-12-18"),
            ("R5", 1, "P3", 1, "L2", 30, 0, "2026-02-01 08:00", "2026-02-01"),
            ("R6", 1, "P4", 1, "L2", 100, 0, "2026-01-01 08:00", "2026-01-01"),
            ("R7", 1, "P5", 1, "L1", 10, 0, "2025-11-01 08:00", "2025-11-01"),
            ("R8", 1, "P6", 1, "L1", 7, 0, "2025-11-18 08:00", "2025-11-18"),
            ("R9", 1, "P7", 1, "L1", 10, 0, "2026-03-02 08:00", "2026-03-02"),
        ],
    ),
    "ap_invoice_lines": (
        "invoice_id, line_no, entity_id, supplier_id, po_id, po_line_no, invoiced_qty, "
        "invoiced_unit_cost, invoice_date, match_status",
        [
            ("V1", 1, "E1", "S1", "P1", 1, 50, 2.00, "2026-03-12", "matched"),
            ("V2", 1, "E2", "S2", "P3", 1, 25, 4.00, "2026-02-05", "matched"),
            ("V3", 1, "E1", "S2", "P5", 1, 15, 3.00, "2025-11-05", "qty_variance"),
            ("V4", 1, "E1", "S1", "P7", 1, 10, 9.00, "2026-03-03", "matched"),
            # unmatched in March: 10 x 2.50 = 25 USD; 4 x 5.00 = 20 EUR; a pending non-PO line
            ("V5", 1, "E1", "S1", "P8", 1, 10, 2.50, "2026-03-05", "price_variance"),
            ("V6", 1, "E2", "S2", "P9", 1, 4, 5.00, "2026-03-06", "qty_variance"),
            ("V7", 1, "E1", "S3", None, None, 1, 25.00, "2026-03-09", "pending"),
        ],
    ),
    "sales_order_lines": (
        "order_id, line_no, entity_id, location_id, item_id, unit_price",
        [("O1", 1, "E2", "L2", "I3", 5.00), ("O2", 1, "E1", "L1", "I1", 2.00)],
    ),
    "returns": (
        "rma_id, line_no, order_id, order_line_no, item_id, returned_qty, reason_code, "
        "created_at, created_at_local_date, credited_at",
        [
            ("RMA1", 1, "O1", 1, "I3", 3, "damaged", "2026-03-08 09:00", "2026-03-08", None),
            (
                "RMA2",
                1,
                "O1",
                1,
                "I3",
                9,
                "damaged",
                "2026-03-01 09:00",
                "2026-03-01",
                "2026-03-05",
            ),
            ("RMA3", 1, "O2", 1, "I1", 4, "wrong_item", "2026-01-10 09:00", "2026-01-10", None),
        ],
    ),
    "inventory_adjustments": (
        "adjustment_id, location_id, item_id, adjusted_at, adjusted_at_local_date, qty_delta, "
        "reason_code",
        [
            ("A1", "L2", "I3", "2026-03-05 10:00", "2026-03-05", -10, "damaged"),
            ("A2", "L1", "I1", "2026-03-06 10:00", "2026-03-06", -2, "count_variance"),
            ("A3", "L1", "I1", "2026-03-07 10:00", "2026-03-07", 5, "count_variance"),
            ("A4", "L1", "I1", "2026-02-07 10:00", "2026-02-07", -8, "damaged"),
        ],
    ),
}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    ensure_schema(c)
    for table, (columns, rows) in ROWS.items():
        marks = ", ".join("?" * len(rows[0]))
        c.executemany(f"INSERT INTO main.{table} ({columns}) VALUES ({marks})", rows)
    refresh_money(c, "USD", AS_OF)
    yield c
    c.close()


def _money(con: duckdb.DuckDBPyConnection, scope: Scope | None = None) -> FinanceMoney:
    return finance_money(con, scope or Scope(), as_of=AS_OF, start=START, end=END)


class TestGrni:
    def test_each_po_line_received_good_less_invoiced_at_po_cost(self, con):
        lines = {
            r["po_id"]: r
            for r in money_lines(con, "grni", Scope(), as_of=AS_OF, start=START, end=END)
        }
        # P1: good 60 + (40 - 5) = 95, invoiced 50 -> 45 x 2.00 = 90 USD; first receipt R1 (60)
        #     is not covered by the 50 invoiced: aged from 03-10, 8 days.
        # P2: 10 received, none invoiced -> 10 x 10.00 = 100 USD, from 01-27: 50 days.
        # P3: 20 + 30 received, 25 invoiced -> 25 x 4.00 = 100 EUR = 110 USD; the invoices
        #     cover R4 (20) whole, R5 (02-01) partly: 45 days.
        # P4: 100 x 1.50 = 150 EUR = 165 USD, from 01-01: 76 days.
        # P5: 10 received, 15 invoiced: over-invoiced, not negative, not a GRNI line.
        # P6: 7 x 1.00 = 7 USD, from 2025-11-18: 120 days. P7: fully invoiced.
        assert sorted(lines) == ["P1", "P2", "P3", "P4", "P6"]
        got = {
            p: (r["uninvoiced_qty"], r["amount"], r["currency"], r["age_days"], r["age_bucket"])
            for p, r in lines.items()
        }
        assert got == {
            "P1": (45, 90.0, "USD", 8, "0-30 days"),
            "P2": (10, 100.0, "USD", 50, "31-60 days"),
            "P3": (25, 100.0, "EUR", 45, "31-60 days"),
            "P4": (100, 150.0, "EUR", 76, "61-90 days"),
            "P6": (7, 7.0, "USD", 120, "over 90 days"),
        }
        assert lines["P3"]["amount_reporting"] == pytest.approx(110.0)
        assert lines["P4"]["amount_reporting"] == pytest.approx(165.0)

    def test_totals_by_age_bucket_supplier_and_currency(self, con):
        grni = _money(con).figures["grni"]
        assert grni.total.lines == 5
        assert grni.total.reporting == pytest.approx(90 + 100 + 110 + 165 + 7)
        assert grni.total.by_currency == (("EUR", 250.0), ("USD", 197.0))
        buckets = {g.member: g.amounts.reporting for g in grni.groups["age_bucket"]}
        assert list(buckets) == ["0-30 days", "31-60 days", "61-90 days", "over 90 days"]
        assert buckets == pytest.approx(
            {"0-30 days": 90, "31-60 days": 210, "61-90 days": 165, "over 90 days": 7}
        )
        suppliers = [(g.member, g.amounts.reporting) for g in grni.groups["supplier_id"]]
        assert suppliers == [("S2", pytest.approx(275)), ("S1", pytest.approx(197))]

    def test_a_finance_user_of_one_entity_sees_only_its_lines(self, con):
        grni = _money(con, Scope.of(entities=["E2"])).figures["grni"]
        assert grni.total.by_currency == (("EUR", 250.0),)
        assert grni.total.reporting == pytest.approx(275.0)
        site = _money(con, Scope.of(locations=["L1"])).figures["grni"]
        assert site.total.reporting == pytest.approx(197.0)

    def test_a_missing_rate_leaves_the_line_out_of_the_reporting_sum_never_zero(self):
        c = duckdb.connect()
        ensure_schema(c)
        for table, (columns, rows) in ROWS.items():
            if table != "fx_rates":
                marks = ", ".join("?" * len(rows[0]))
                c.executemany(f"INSERT INTO main.{table} ({columns}) VALUES ({marks})", rows)
        refresh_money(c, "USD", AS_OF)
        grni = _money(c).figures["grni"]
        assert (grni.total.reporting, grni.total.unconverted) == (pytest.approx(197.0), 2)
        assert grni.total.by_currency == (("EUR", 250.0), ("USD", 197.0))
        p3 = money_lines(c, "grni", Scope(), as_of=AS_OF, start=START, end=END, group="supplier_id",
                         member="S2")  # fmt: skip
        assert [r["amount_reporting"] for r in p3] == [None, None]


class TestTheOtherFigures:
    def test_returns_awaiting_credit(self, con):
        returns = _money(con).figures["returns"]
        # RMA1: 3 x 5.00 EUR = 15 EUR = 16.50 USD, 10 days; RMA3: 4 x 2.00 = 8 USD, 67 days;
        # RMA2 was credited.
        assert returns.total.lines == 2
        assert returns.total.reporting == pytest.approx(16.5 + 8)
        assert returns.total.by_currency == (("EUR", 15.0), ("USD", 8.0))
        buckets = {g.member: g.amounts.reporting for g in returns.groups["age_bucket"]}
        assert buckets == pytest.approx({"0-30 days": 16.5, "61-90 days": 8})

    def test_unmatched_invoice_value_by_status_and_supplier(self, con):
        unmatched = _money(con).figures["unmatched"]
        # March lines not matched: V5 25 USD, V6 20 EUR at March's average, V7 25 USD (pending);
        # V3 (qty_variance) is of November: outside the range.
        eur = 20 * MARCH_EUR_USD
        assert unmatched.total.lines == 3
        assert unmatched.total.reporting == pytest.approx(25 + eur + 25)
        status = {g.member: g.amounts.reporting for g in unmatched.groups["match_status"]}
        assert status == pytest.approx({"price_variance": 25, "qty_variance": eur, "pending": 25})
        supplier = {g.member: g.amounts.lines for g in unmatched.groups["supplier_id"]}
        assert supplier == {"S1": 1, "S2": 1, "S3": 1}
        # A site's user sees the PO lines of its site only (a non-PO line has no site).
        site = _money(con, Scope.of(locations=["L1"])).figures["unmatched"]
        assert (site.total.lines, site.total.reporting) == (1, pytest.approx(25))

    def test_write_offs_in_the_range_by_reason_and_site(self, con):
        writeoffs = _money(con).figures["writeoffs"]
        # A1: 10 x 0.50 = 5 USD at L2 (EUR: 5 x March's USD->EUR average); A2: 2 x 2.50 = 5 USD
        # at L1. A3 is a gain, A4 is of February.
        assert writeoffs.total.lines == 2
        assert writeoffs.total.reporting == pytest.approx(10.0)
        assert dict(writeoffs.total.by_currency) == pytest.approx(
            {"EUR": 5 * MARCH_USD_EUR, "USD": 5.0}
        )
        reasons = {g.member: g.amounts.reporting for g in writeoffs.groups["reason_code"]}
        assert reasons == pytest.approx({"damaged": 5.0, "count_variance": 5.0})
        sites = {g.member: g.amounts.lines for g in writeoffs.groups["location_id"]}
        assert sites == {"L1": 1, "L2": 1}

    def test_an_unknown_figure_or_breakdown_is_refused(self, con):
        with pytest.raises(ValueError, match="unknown money figure 'gl'"):
            money_lines(con, "gl", Scope(), as_of=AS_OF, start=START, end=END)
        with pytest.raises(ValueError, match="has no breakdown by 'item_id'"):
            money_lines(con, "grni", Scope(), as_of=AS_OF, start=START, end=END, group="item_id")
