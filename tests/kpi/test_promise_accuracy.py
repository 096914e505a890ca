"""Order promise accuracy against the FIRST promise, deliveries dated on the shipping location's calendar."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import FREIGHT_HEADER, ORDER_HEADER, SHIP_HEADER, kpi_rows, land_rows

TS = "2026-03-01T00:00:00Z"


class TestFirstPromiseAndChicagoEvening:
    """Three lines at L1 (America/Chicago), 10 EA each, as of 2026-03-20.

    line  first promise  current promise  delivered (local, Chicago)      on time?
    1     03-06          03-06            03-06 19:30 (= 03-07 01:30 UTC)  yes: that day is 03-06 in Chicago
    2     03-06          03-12 (changed)  03-10 10:00                      no: late against the FIRST promise
    3     03-25          03-25            not delivered                    not due yet
    Line 2 arrives first with promise 03-06, then a newer version re-promises it to 03-12.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("promise") / "home"
        first = ORDER_HEADER + (
            f"O1,1,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-06,2026-03-06,,open,{TS}\n"
            f"O1,2,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-06,2026-03-06,,open,{TS}\n"
            f"O1,3,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-25,2026-03-25,,open,{TS}\n"
        )
        ships = SHIP_HEADER + (
            "S1,O1,1,I1,L1,,10,EA,2026-03-05 13:00:00\nS2,O1,2,I1,L1,,10,EA,2026-03-08 13:00:00\n"
        )
        freight = FREIGHT_HEADER + (
            "F1,S1,CAR1,LTL,std,2026-03-05 14:00:00,2026-03-05 14:00:00,2026-03-06 17:00:00,"
            f"2026-03-06 19:30:00,100.00,100.00,false,delivered,{TS}\n"
            "F2,S2,CAR1,LTL,std,2026-03-08 14:00:00,2026-03-08 14:00:00,2026-03-10 17:00:00,"
            f"2026-03-10 10:00:00,100.00,100.00,false,delivered,{TS}\n"
        )
        land_rows(
            home, {"sales_order_lines": first, "shipments": ships, "freight_shipments": freight}
        )
        repromise = ORDER_HEADER + (
            "O1,2,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-06,2026-03-12,,open,"
            "2026-03-07T00:00:00Z\n"
        )
        land_rows(home, {"sales_order_lines": repromise}, master=False)
        return home

    def test_measured_against_the_first_promise(self, home: Path) -> None:
        rows = kpi_rows(home, "order_promise_accuracy", "2026-03-20", companions=True)
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (1, 2)  # line 1 of lines 1, 2
        assert rows[0]["promise_changes"] == 1  # line 2 was re-promised once

    def test_the_evening_delivery_is_dated_by_the_chicago_calendar(self, home: Path) -> None:
        rows = kpi_rows(home, "otif_requested", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (1, 2)  # requested 03-06 too

    def test_carrier_on_time_compares_instants(self, home: Path) -> None:
        rows = kpi_rows(home, "carrier_on_time_rate", "2026-03-20")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (
            1,
            2,
        )  # F1 19:30 > 17:00 late; F2 early
