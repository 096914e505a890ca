"""Stockout rate, inventory turns, days to close and invoice first-pass match, hand-checkable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import (
    CLOSE_HEADER,
    INVOICE_HEADER,
    ORDER_HEADER,
    PO_HEADER,
    SHIP_HEADER,
    SNAPSHOT_HEADER,
    STAMP,
    kpi_rows,
    land_rows,
    order_row,
    ship_row,
)


class TestStock:
    """Daily snapshots and shipments, as of 2026-03-10 (unit cost I1 2.50, I2 10.00, I3 0.05).

    day    loc  item  on hand  allocated  quarantined  in transit  available  stockout?
    03-01  L1   I1    100      10         0            24          90         no
    03-01  L1   I2    10       6          4            50          0          yes (exactly 0;
                                                                               in transit not available)
    03-01  L2   I3    5        3          3            0           -1         yes
    03-02  L1   I1    50       50         0            100         0          yes
    03-02  L1   I2    20       0          0            0           20         no
    03-10  L1   I1    0        0          0            0           0          not counted (as_of)
    Shipments of I1 at L1: 20 EA on 03-02, 10 EA on 03-03 (a day without snapshot: no stock
    position, so it is not an item-location-day of the stockout rate).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("stock") / "home"
        snaps = SNAPSHOT_HEADER + (
            "2026-03-01,L1,I1,100,10,0,24\n"
            "2026-03-01,L1,I2,10,6,4,50\n"
            "2026-03-01,L2,I3,5,3,3,0\n"
            "2026-03-02,L1,I1,50,50,0,100\n"
            "2026-03-02,L1,I2,20,0,0,0\n"
            "2026-03-10,L1,I1,0,0,0,0\n"
        )
        orders = ORDER_HEADER + order_row("O1", qty=20) + order_row("O2", qty=10)
        ships = SHIP_HEADER + (
            ship_row("S1", "O1", 1, 20, "2026-03-02 10:00:00")
            + ship_row("S2", "O2", 1, 10, "2026-03-03 10:00:00")
        )
        land_rows(
            home, {"inventory_snapshots": snaps, "sales_order_lines": orders, "shipments": ships}
        )
        return home

    def test_stockout_rate(self, home: Path) -> None:
        rows = kpi_rows(home, "stockout_rate", "2026-03-10")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (3, 5)  # L1 I2, L2 I3, L1 I1 03-02

    def test_stockout_rate_by_day_and_location(self, home: Path) -> None:
        rows = kpi_rows(home, "stockout_rate", "2026-03-10", grain="day", by=["location_id"])
        got = {(r["location_id"], r["period"]): (r["numerator"], r["denominator"]) for r in rows}
        # 03-03 at L1 has a shipment but no snapshot: a row with nothing to count
        assert got == {
            ("L1", "2026-03-01"): (1, 2),
            ("L1", "2026-03-02"): (1, 2),
            ("L1", "2026-03-03"): (0, 0),
            ("L2", "2026-03-01"): (1, 1),
        }

    def test_inventory_turns(self, home: Path) -> None:
        rows = kpi_rows(home, "inventory_turns", "2026-03-10", by=["location_id"])
        got = {r["location_id"]: r["value"] for r in rows}
        # L1: cogs 20 x 2.50 + 10 x 2.50 = 75; daily inventory value summed over the days:
        #     03-01 100 x 2.50 + 10 x 10 = 350, 03-02 50 x 2.50 + 20 x 10 = 325 -> 675
        #     turns = 365 x 75 / 675 = 40.56 (the day without snapshot counts no inventory)
        # L2: no cogs over 5 x 0.05 = 0.25 of inventory -> 0
        assert got["L1"] == pytest.approx(365 * 75 / 675)
        assert got["L2"] == 0.0

    def test_available_units_take_the_last_snapshot(self, home: Path) -> None:
        rows = kpi_rows(home, "available_units", "2026-03-10", by=["location_id"])
        got = {r["location_id"]: r["value"] for r in rows}
        assert got == {"L1": 20.0, "L2": -1.0}  # L1 on 03-02: 0 + 20; L2 on 03-01: -1


class TestDaysToClose:
    """Close tasks (completion instants in UTC), as of Friday 2026-03-20.

    entity  period   task  due    completed (UTC date)              business days after period end
    E1      2026-01  T1    02-03  2026-02-03T17:00Z (02-03)
    E1      2026-01  T2    02-05  2026-02-05T20:00-06:00 (02-06)   Jan 31 is a Saturday: Mon 02-02 to
                                                                    Fri 02-06 = 5 (Central 02-05
                                                                    would give 4)
    E1      2026-02  T3    03-03  2026-03-03T17:00Z
    E1      2026-02  T4    03-04  open                              open: 03-02 to 03-20 = 15
    E1      2026-03  T5    04-03  open                              period not ended: not measured
    E2      2026-02  T6    03-02  2026-03-02T08:00Z                 Mon 03-02 = 1
    Days to close = (5 + 15 + 1) / 3 = 7.
    Close tasks on time: T1, T3, T6 of due T1, T2 (late), T3, T4 (overdue), T6 = 3 / 5.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("close") / "home"
        tasks = CLOSE_HEADER + "".join(
            f"{e},{p},{t},Task {t},gl,ann,{due},{done},{'done' if done else 'open'},{STAMP}\n"
            for e, p, t, due, done in (
                ("E1", "2026-01", "T1", "2026-02-03", "2026-02-03T17:00:00Z"),
                ("E1", "2026-01", "T2", "2026-02-05", "2026-02-05T20:00:00-06:00"),
                ("E1", "2026-02", "T3", "2026-03-03", "2026-03-03T17:00:00Z"),
                ("E1", "2026-02", "T4", "2026-03-04", ""),
                ("E1", "2026-03", "T5", "2026-04-03", ""),
                ("E2", "2026-02", "T6", "2026-03-02", "2026-03-02T08:00:00Z"),
            )
        )
        land_rows(home, {"close_tasks": tasks})
        return home

    def test_days_to_close(self, home: Path) -> None:
        rows = kpi_rows(home, "days_to_close", "2026-03-20", companions=True)
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (21, 3)  # 5 + 15 + 1
        assert rows[0]["value"] == pytest.approx(7.0)
        assert rows[0]["close_task_on_time_rate"] == pytest.approx(3 / 5)

    def test_by_entity(self, home: Path) -> None:
        rows = kpi_rows(home, "days_to_close", "2026-03-20", by=["entity_id"], grain="month")
        got = {(r["entity_id"], r["period"]): r["value"] for r in rows}
        assert got == {
            ("E1", "2026-01-01"): 5.0,
            ("E1", "2026-02-01"): 15.0,
            ("E2", "2026-02-01"): 1.0,
        }

    def test_an_open_period_counts_up_to_and_including_as_of(self, home: Path) -> None:
        rows = kpi_rows(home, "days_to_close", "2026-03-04", by=["entity_id"], grain="month")
        got = {(r["entity_id"], r["period"]): r["value"] for r in rows}
        # as of Wed 03-04 T3 (done 03-03) is closed but T4 is open: Mon 03-02 to Wed 03-04 = 3
        assert got[("E1", "2026-02-01")] == 3.0


class TestInvoiceMatch:
    """AP invoice lines as of 2026-03-20; PO lines P1/1, P1/2 at L1 and P2/1 at L2.

    invoice  line  po     status          first pass  counts?
    INV1     1     P1/1   matched         true        yes, matched
    INV1     2     P1/2   price_variance  false       yes, not matched
    INV1     3     -      no_receipt      false       no: service line without a PO
    INV2     1     P2/1   pending         false       no: pending
    INV2     2     P2/1   qty_variance    false       yes, not matched
    INV3     1     P1/1   matched         true        no: dated on as_of
    Rate = 1 / 3; L1 1 / 2, L2 0 / 1.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("invoice") / "home"
        po = PO_HEADER + "".join(
            f"{p},{n},S1,{i},{loc},10,EA,2.50,2026-03-01,2026-03-08,open,{STAMP}\n"
            for p, n, i, loc in (
                ("P1", 1, "I1", "L1"),
                ("P1", 2, "I2", "L1"),
                ("P2", 1, "I3", "L2"),
            )
        )
        invoices = INVOICE_HEADER + "".join(
            f"{inv},{n},E1,S1,{p},{pl},10,2.50,{d},{fp},{st},{STAMP}\n"
            for inv, n, p, pl, d, fp, st in (
                ("INV1", 1, "P1", 1, "2026-03-09", "true", "matched"),
                ("INV1", 2, "P1", 2, "2026-03-09", "false", "price_variance"),
                ("INV1", 3, "", "", "2026-03-09", "false", "no_receipt"),
                ("INV2", 1, "P2", 1, "2026-03-10", "false", "pending"),
                ("INV2", 2, "P2", 1, "2026-03-10", "false", "qty_variance"),
                ("INV3", 1, "P1", 1, "2026-03-20", "true", "matched"),
            )
        )
        land_rows(home, {"purchase_order_lines": po, "ap_invoice_lines": invoices})
        return home

    def test_po_lines_only_pending_left_out(self, home: Path) -> None:
        rows = kpi_rows(home, "invoice_first_pass_match_rate", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (1, 3)  # INV1/1 of 1/1, 1/2, 2/2

    def test_located_at_the_po_line(self, home: Path) -> None:
        rows = kpi_rows(home, "invoice_first_pass_match_rate", "2026-03-20", by=["location_id"])
        got = {r["location_id"]: (r["numerator"], r["denominator"]) for r in rows}
        assert got[("L1")] == (1, 2)
        assert got["L2"] == (0, 1)
