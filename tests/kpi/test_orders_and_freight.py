"""Perfect order, OTIF to request, backorder aging, order cycle time and freight KPIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import (
    FREIGHT_HEADER,
    ORDER_HEADER,
    RETURN_HEADER,
    SHIP_HEADER,
    freight_row,
    kpi_rows,
    land_rows,
    order_row,
    ship_row,
    value,
)


class TestPerfectOrder:
    """Orders at L1 (Chicago), 10 EA a line, first promise 03-06, requested 03-05, as of 03-20.

    order  line  delivered (in full)   return                        order
    O1     1, 2  03-05, 03-06          -                             perfect
    O2     1     03-05                 damaged, created 03-25        imperfect (any date)
    O3     1     03-05                 late (not damage/wrong item)  perfect
    O4     1, 2  03-05, 03-08 (late)   -                             imperfect
    O5     1     03-05                 -                             not due: line 2's first
           2     not delivered (first promise 03-25)                 promise is after as_of
    O6     1     cancelled             -                             perfect (judged on line 2)
           2     03-05
    O7     1     03-05                 wrong_item, 1 EA, 03-07       imperfect
    Perfect order rate = O1, O3, O6 of O1, O2, O3, O4, O6, O7 = 3 / 6.
    OTIF to request (03-05): lines delivered by 03-05 in full: O1/1, O2/1, O3/1, O4/1, O5/1,
    O6/2, O7/1 = 7 of due lines O1/1, O1/2, O2/1, O3/1, O4/1, O4/2, O5/1, O6/2, O7/1 = 9
    (O5/2 is requested 03-25: not due).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("perfect") / "home"
        lines = [  # (order, line, delivered local date or "", status, promise/request override)
            ("O1", 1, "2026-03-05", "open", None),
            ("O1", 2, "2026-03-06", "open", None),
            ("O2", 1, "2026-03-05", "open", None),
            ("O3", 1, "2026-03-05", "open", None),
            ("O4", 1, "2026-03-05", "open", None),
            ("O4", 2, "2026-03-08", "open", None),
            ("O5", 1, "2026-03-05", "open", None),
            ("O5", 2, "", "open", "2026-03-25"),
            ("O6", 1, "", "cancelled", None),
            ("O6", 2, "2026-03-05", "open", None),
            ("O7", 1, "2026-03-05", "open", None),
        ]
        orders, ships, freight = ORDER_HEADER, SHIP_HEADER, FREIGHT_HEADER
        for o, n, day, status, late_date in lines:
            orders += order_row(
                o,
                n,
                status=status,
                requested=late_date or "2026-03-05",
                promised=late_date or "2026-03-06",
            )
            if day:
                sid = f"S{o}{n}"
                ships += ship_row(sid, o, n, 10, "2026-03-04 10:00:00")
                freight += freight_row(
                    f"F{o}{n}", sid, delivered=f"{day} 15:00:00", status="delivered"
                )
        returns = RETURN_HEADER + (
            "R1,1,O2,1,I1,10,damaged,2026-03-25 08:00:00,\n"
            "R2,1,O3,1,I1,10,late,2026-03-07 08:00:00,\n"
            "R3,1,O7,1,I1,1,wrong_item,2026-03-07 08:00:00,\n"
        )
        land_rows(
            home,
            {
                "sales_order_lines": orders,
                "shipments": ships,
                "freight_shipments": freight,
                "returns": returns,
            },
        )
        return home

    def test_perfect_order_rate(self, home: Path) -> None:
        rows = kpi_rows(home, "perfect_order_rate", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (3, 6)  # O1, O3, O6

    def test_otif_to_requested_date(self, home: Path) -> None:
        rows = kpi_rows(home, "otif_requested", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (7, 9)

    def test_promise_accuracy_is_not_hurt_by_returns(self, home: Path) -> None:
        rows = kpi_rows(home, "order_promise_accuracy", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (8, 9)  # all but O4/2


class TestBackorderAging:
    """Open lines at L1 as of 2026-03-20, 10 EA each, ordered 03-02.

    line  first promise  shipped before as_of       open backorder?  days past first promise
    B1    03-18          0                          yes              2
    B2    03-10          4                          yes              10
    B3    03-05          0 (re-promised to 03-25)   yes              15
    B4    03-10          10                         no: shipped in full
    B5    03-01          0, cancelled               no
    B6    03-25          0                          no: first promise not passed
    Median of 2, 10, 15 = 10; buckets 0-3: 1, 8-14: 1, 15-30: 1.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("backorder") / "home"
        first = ORDER_HEADER + "".join(
            order_row(o, promised=p, requested=p, status=s)
            for o, p, s in (
                ("B1", "2026-03-18", "open"),
                ("B2", "2026-03-10", "open"),
                ("B3", "2026-03-05", "open"),
                ("B4", "2026-03-10", "open"),
                ("B5", "2026-03-01", "cancelled"),
                ("B6", "2026-03-25", "open"),
            )
        )
        ships = SHIP_HEADER + (
            ship_row("S2", "B2", 1, 4, "2026-03-09 10:00:00")
            + ship_row("S4", "B4", 1, 10, "2026-03-09 10:00:00")
        )
        land_rows(home, {"sales_order_lines": first, "shipments": ships})
        repromise = ORDER_HEADER + order_row(
            "B3", promised="2026-03-25", requested="2026-03-05", updated_at="2026-03-06T00:00:00Z"
        )
        land_rows(home, {"sales_order_lines": repromise}, master=False)
        return home

    def test_median_days_and_buckets(self, home: Path) -> None:
        rows = kpi_rows(home, "backorder_aging", "2026-03-20", companions=True)
        row = rows[0]
        assert row["value"] == 10.0
        assert row["open_lines"] == 3
        buckets = [row[f"aged_{b}"] for b in ("0_3", "4_7", "8_14", "15_30", "31_plus")]
        assert buckets == [1, 0, 1, 1, 0]


class TestOrderCycleTime:
    """Lines at L1 (Chicago), 10 EA each, as of 2026-03-20.

    line  ordered          shipments                              hours to the last shipment
    C1    03-02 09:00      10 on 03-03 09:00                      24
    C2    03-02 09:00      5 on 03-02 15:00, 5 on 03-04 09:00     48
    C3    03-07 12:00 CST  10 on 03-08 12:00 CDT                  23 (the DST night)
    C4    03-02 09:00      5 on 03-03 09:00                       not counted: not shipped in full
    C5    03-19 09:00      10 on 03-20 09:00                      not counted: shipped on as_of
    Median of 23, 24, 48 = 24; P90 at position 1.8: 24 + 0.8 x (48 - 24) = 43.2.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("cycle") / "home"
        orders = ORDER_HEADER + "".join(
            order_row(o, order_ts=ts, promised="2026-03-25", requested="2026-03-25")
            for o, ts in (
                ("C1", "2026-03-02 09:00:00"),
                ("C2", "2026-03-02 09:00:00"),
                ("C3", "2026-03-07 12:00:00"),
                ("C4", "2026-03-02 09:00:00"),
                ("C5", "2026-03-19 09:00:00"),
            )
        )
        ships = SHIP_HEADER + (
            ship_row("S1", "C1", 1, 10, "2026-03-03 09:00:00")
            + ship_row("S2a", "C2", 1, 5, "2026-03-02 15:00:00")
            + ship_row("S2b", "C2", 1, 5, "2026-03-04 09:00:00")
            + ship_row("S3", "C3", 1, 10, "2026-03-08 12:00:00")
            + ship_row("S4", "C4", 1, 5, "2026-03-03 09:00:00")
            + ship_row("S5", "C5", 1, 10, "2026-03-20 09:00:00")
        )
        land_rows(home, {"sales_order_lines": orders, "shipments": ships})
        return home

    def test_median_and_p90(self, home: Path) -> None:
        rows = kpi_rows(home, "order_cycle_time_hours", "2026-03-20", companions=True)
        assert rows[0]["value"] == pytest.approx(24.0)
        assert rows[0]["p90_hours"] == pytest.approx(43.2)

    def test_the_dst_order_by_day(self, home: Path) -> None:
        rows = kpi_rows(home, "order_cycle_time_hours", "2026-03-20", grain="day")
        by_day = {r["period"]: r["value"] for r in rows}
        assert by_day["2026-03-07"] == pytest.approx(23.0)  # 03-07 12:00 CST -> 03-08 12:00 CDT


class TestFreight:
    """Freight shipments of WMS shipments at L1 (Chicago), as of 2026-03-20.

    move  promised delivery        delivered         on time?  planned  actual  pickup  expedited
    F1    03-06 17:00              03-06 17:00       yes (=)   100      110     03-05   no
    F2    03-06 17:00              03-06 17:01       no        200      180     03-05   yes
    F3    03-10 17:00              not yet           no (due)  50       -       03-09   no
    F4    03-25 17:00              not yet           not due   80       100     03-12   no
    F5    03-06 17:00, cancelled   03-06 12:00       left out  1000     5000    03-05   yes
    F7    2026-03-08T18:00Z        03-08 12:30 CDT   yes: 17:30Z <= 18:00Z    20  20  03-08  no
          (13:00 CDT)
    Carrier on time = F1, F7 of F1, F2, F3, F7 = 2 / 4 (F4's promise is after as_of).
    Cost variance over costed moves F1, F2, F4, F7 (F3 has no actual cost):
      (10 - 20 + 20 + 0) / (100 + 200 + 80 + 20) = 10 / 400 = 2.5%.
    Expedited share = 180 / (110 + 180 + 100 + 20) = 180 / 410.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("freight") / "home"
        moves = [  # (id, promised, delivered, planned, actual, pickup, expedited, status)
            ("F1", "2026-03-06 17:00:00", "2026-03-06 17:00:00", "100", "110", "2026-03-05",
             "false", "delivered"),
            ("F2", "2026-03-06 17:00:00", "2026-03-06 17:01:00", "200", "180", "2026-03-05",
             "true", "delivered"),
            ("F3", "2026-03-10 17:00:00", "", "50", "", "2026-03-09", "false", "in_transit"),
            ("F4", "2026-03-25 17:00:00", "", "80", "100", "2026-03-12", "false", "in_transit"),
            ("F5", "2026-03-06 17:00:00", "2026-03-06 12:00:00", "1000", "5000", "2026-03-05",
             "true", "cancelled"),
            ("F7", "2026-03-08T18:00:00Z", "2026-03-08 12:30:00", "20", "20", "2026-03-08",
             "false", "delivered"),
        ]  # fmt: skip
        orders, ships, freight = ORDER_HEADER, SHIP_HEADER, FREIGHT_HEADER
        for fid, promised, delivered, planned, actual, pickup, expedited, status in moves:
            orders += order_row(f"O{fid}")
            ships += ship_row(f"S{fid}", f"O{fid}", 1, 10, f"{pickup} 08:00:00")
            freight += freight_row(
                fid,
                f"S{fid}",
                planned_pickup=f"{pickup} 09:00:00",
                actual_pickup=f"{pickup} 09:00:00",
                promised=promised,
                delivered=delivered,
                planned_cost=planned,
                actual_cost=actual,
                expedited=expedited,
                status=status,
            )
        land_rows(
            home, {"sales_order_lines": orders, "shipments": ships, "freight_shipments": freight}
        )
        return home

    def test_carrier_on_time_rate(self, home: Path) -> None:
        rows = kpi_rows(home, "carrier_on_time_rate", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (2, 4)  # F1, F7 of F1-F3, F7

    def test_freight_cost_variance_and_expedited_share(self, home: Path) -> None:
        rows = kpi_rows(home, "freight_cost_variance", "2026-03-20", companions=True)
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (10, 400)
        assert rows[0]["value"] == pytest.approx(0.025)
        assert rows[0]["expedited_share"] == pytest.approx(180 / 410)

    def test_by_carrier_and_day(self, home: Path) -> None:
        rows = kpi_rows(home, "freight_cost_variance", "2026-03-20", grain="day", by=["carrier_id"])
        got = {r["period"]: (r["numerator"], r["denominator"]) for r in rows}
        # by pickup day: 03-05 F1 + F2 (-10 / 300); 03-08 F7 (0 / 20); 03-12 F4 (20 / 80)
        assert got == {"2026-03-05": (-10, 300), "2026-03-08": (0, 20), "2026-03-12": (20, 80)}
        assert value(home, "carrier_on_time_rate", "2026-03-07") == 0.5  # F1 of F1, F2
