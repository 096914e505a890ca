"""Supplier on time in full and lead times of purchase order lines, hand-checkable."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.compiler import model_query
from tests.support.extracts import warehouse
from tests.support.kpi_rows import PO_HEADER, RECEIPT_HEADER, STAMP, kpi_rows, land_rows, value


class TestSupplierOtif:
    """PO lines ordered 2026-03-01 (10 EA each; I1 costs 2.50, I3 0.05), as of 2026-03-20.

    line   site  expected  receipts (good = received - damaged, local day)   due  OTIF  arrival
    P1|1   L1    03-05     10 on 03-04                                      yes  yes   03-04
    P1|2   L1    03-05     10 on 03-07                  (late)              yes  no    03-07
    P1|3   L1    03-05     8 on 03-04, line closed      (short)             yes  no    03-04
    P1|4   L1    03-05     10 with 2 damaged on 03-05   (damaged)           yes  no    03-05
    P1|5   L1    03-05     6 on 03-03, 4 on 03-05       (partial, complete) yes  yes   03-05
    P1|6   L1    03-05     6 on 03-03, 4 on 03-06       (rest late)         yes  no    03-06
    P1|7   L1    03-25     none, open                   (not yet due)       no   -     -
    P1|8   L1    03-25     10 on 03-10                  (early, complete)   yes  yes   03-10
    P1|9   L1    03-10     none, open                   (overdue)           yes  no    -
    P1|10  L1    03-05     none, cancelled                                  left out
    P1|11  L1    03-05     10 at 03-06 03:00 UTC = 03-05 21:00 Chicago      yes  yes   03-05
    P2|1   L2    03-05     500 at 03-05 23:30 UTC = 03-06 00:30 Berlin      yes  no    03-06

    A KPI as of a day reads the expected dates up to that day, so as of 03-20 P1|7 and P1|8
    (03-25) are outside it: OTIF 3 / 9. As of 03-26 both count: 4 / 11. Actual lead days as of
    03-20 (arrival - order): 3, 6, 3, 4, 4, 5, 4, 5 (sum 34, 8 lines); planned (expected -
    order) 4; later than planned: -1, 2, -1, 0, 0, 1, 0, 1 (sum 2). P1|8's planned lead time
    is 24 days. Open: P1|7 and P1|9 (10 x 2.50 each), P1|9 overdue.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("supplier-otif") / "home"
        lines = [
            ("P1", 1, "S1", "I1", "L1", "03-05", "received"),
            ("P1", 2, "S1", "I1", "L1", "03-05", "received"),
            ("P1", 3, "S1", "I1", "L1", "03-05", "closed"),
            ("P1", 4, "S1", "I1", "L1", "03-05", "received"),
            ("P1", 5, "S1", "I1", "L1", "03-05", "received"),
            ("P1", 6, "S1", "I1", "L1", "03-05", "received"),
            ("P1", 7, "S1", "I1", "L1", "03-25", "open"),
            ("P1", 8, "S1", "I1", "L1", "03-25", "received"),
            ("P1", 9, "S1", "I1", "L1", "03-10", "open"),
            ("P1", 10, "S1", "I1", "L1", "03-05", "cancelled"),
            ("P1", 11, "S1", "I1", "L1", "03-05", "received"),
            ("P2", 1, "S2", "I3", "L2", "03-05", "received"),
        ]
        qty = {"I1": "10,EA", "I3": "5,CS"}  # I3 comes in cases of 100: 500 each
        po = PO_HEADER + "".join(
            f"{p},{n},{s},{i},{loc},{qty[i]},2.00,2026-03-01,2026-03-{day[-2:]},{status},{STAMP}\n"
            for p, n, s, i, loc, day, status in lines
        )
        receipts = [
            ("R1", "P1", 1, 10, 0, "2026-03-04T15:00:00Z"),
            ("R2", "P1", 2, 10, 0, "2026-03-07T15:00:00Z"),
            ("R3", "P1", 3, 8, 0, "2026-03-04T15:00:00Z"),
            ("R4", "P1", 4, 10, 2, "2026-03-05T15:00:00Z"),
            ("R5", "P1", 5, 6, 0, "2026-03-03T15:00:00Z"),
            ("R6", "P1", 5, 4, 0, "2026-03-05T15:00:00Z"),
            ("R7", "P1", 6, 6, 0, "2026-03-03T15:00:00Z"),
            ("R8", "P1", 6, 4, 0, "2026-03-06T15:00:00Z"),
            ("R9", "P1", 8, 10, 0, "2026-03-10T15:00:00Z"),
            ("R10", "P1", 11, 10, 0, "2026-03-06T03:00:00Z"),
            ("R11", "P2", 1, 500, 0, "2026-03-05T23:30:00Z"),
        ]
        text = RECEIPT_HEADER + "".join(
            f"{r},1,{p},{n},{'I3' if p == 'P2' else 'I1'},{'L2' if p == 'P2' else 'L1'},"
            f"{q},{d},{at},\n"
            for r, p, n, q, d, at in receipts
        )
        land_rows(home, {"purchase_order_lines": po, "receipts": text})
        return home

    def test_share_of_due_lines_on_time_in_full(self, home: Path) -> None:
        rows = kpi_rows(home, "supplier_otif", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (3, 9)
        assert rows[0]["value"] == pytest.approx(1 / 3)
        later = kpi_rows(home, "supplier_otif", "2026-03-26")
        assert (later[0]["numerator"], later[0]["denominator"]) == (4, 11)

    def test_by_supplier_and_site(self, home: Path) -> None:
        rows = kpi_rows(home, "supplier_otif", "2026-03-20", by=["supplier_id"])
        assert {r["supplier_id"]: (r["numerator"], r["denominator"]) for r in rows} == {
            "S1": (3, 8),
            "S2": (0, 1),  # arrived after midnight in Berlin: a day late
        }
        rows = kpi_rows(home, "supplier_otif", "2026-03-20", by=["location_id"])
        assert {r["location_id"]: r["denominator"] for r in rows} == {"L1": 8, "L2": 1}

    def test_by_expected_day(self, home: Path) -> None:
        rows = kpi_rows(home, "supplier_otif", "2026-03-26", grain="day")
        got = {r["period"]: (r["numerator"], r["denominator"]) for r in rows}
        assert got["2026-03-05"] == (3, 8)  # P1|1, P1|5, P1|11 of P1|1-6, P1|11, P2|1
        assert got["2026-03-10"] == (0, 1)  # P1|9, still open
        assert got["2026-03-25"] == (1, 2)  # P1|8 received early; P1|7 never came

    def test_an_earlier_as_of_sees_only_the_receipts_before_it(self, home: Path) -> None:
        # as of 03-06: receipts of 03-05 (local) and before; due: the eight lines of 03-05
        rows = kpi_rows(home, "supplier_otif", "2026-03-06")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (3, 8)

    def test_lead_time_companions(self, home: Path) -> None:
        rows = kpi_rows(home, "supplier_otif", "2026-03-20", companions=True)
        assert rows[0]["actual_lead_days"] == pytest.approx(34 / 8)
        assert rows[0]["lead_time_delay_days"] == pytest.approx(2 / 8)
        assert rows[0]["overdue_lines"] == 1

    def test_model_rows_per_line(self, home: Path) -> None:
        kpi = load_catalog().kpi("supplier_otif")
        sql, params = model_query(kpi, as_of=date(2026, 3, 20))
        with warehouse(home) as con:
            cur = con.execute(f"SELECT * FROM ({sql}) AS m ORDER BY po_id, line_no", params)
            names = [d[0] for d in cur.description]
            rows = {(r[0], r[1]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}
        assert ("P1", 10) not in rows  # cancelled
        damaged = rows[("P1", 4)]
        assert (damaged["received_qty"], damaged["damaged_qty"], damaged["good_qty"]) == (10, 2, 8)
        assert damaged["is_open"] == 0  # the ERP reports it received
        assert rows[("P1", 3)]["arrival_date"].isoformat() == "2026-03-04"  # closed short
        overdue = rows[("P1", 9)]
        assert (overdue["is_open"], overdue["is_overdue"], overdue["open_qty"]) == (1, 1, 10)
        assert overdue["open_value"] == pytest.approx(25.0)
        assert overdue["actual_lead_days"] is None
        assert rows[("P1", 7)]["is_overdue"] == 0
        assert rows[("P1", 8)]["planned_lead_days"] == 24
        assert rows[("P1", 8)]["item_lead_days"] == 7
        assert rows[("P2", 1)]["ordered_qty"] == 500
        assert rows[("P2", 1)]["arrival_date"].isoformat() == "2026-03-06"
        assert value(home, "supplier_otif", "2026-03-20", where={"supplier_id": "S2"}) == 0.0
