"""Line, unit and order fill rate (first time), from order lines landed through the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import ORDER_HEADER, SHIP_HEADER, kpi_rows, land_rows, value

TS = "2026-03-01T00:00:00Z"


class TestWorkedExample:
    """The fill-rate worked example of docs/kpis.md, one order at L1 (Chicago), as of 2026-03-10.

    line  item  ordered  first shipment (S1, 03-04)   later shipment (S2, 03-06)
    1     I1    10 EA    7                             3
    2     I1    5 EA     5
    3     I1    5 EA     5
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("worked") / "home"
        orders = ORDER_HEADER + "".join(
            f"O1,{n},E1,C1,I1,L1,EDI,2026-03-02 09:00:00,{q},EA,4.00,2026-03-05,2026-03-05,,open,{TS}\n"
            for n, q in ((1, 10), (2, 5), (3, 5))
        )
        ships = SHIP_HEADER + (
            "S1,O1,1,I1,L1,,7,EA,2026-03-04 13:00:00\n"
            "S1,O1,2,I1,L1,,5,EA,2026-03-04 13:00:00\n"
            "S1,O1,3,I1,L1,,5,EA,2026-03-04 13:00:00\n"
            "S2,O1,1,I1,L1,,3,EA,2026-03-06 13:00:00\n"
        )
        land_rows(home, {"sales_order_lines": orders, "shipments": ships})
        return home

    def test_unit_fill_rate_is_85_percent(self, home: Path) -> None:
        rows = kpi_rows(home, "unit_fill_rate", "2026-03-10")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (17, 20)  # 7 + 5 + 5 of 20
        assert rows[0]["value"] == pytest.approx(0.85)

    def test_line_fill_rate_is_two_thirds(self, home: Path) -> None:
        assert value(home, "line_fill_rate", "2026-03-10") == pytest.approx(2 / 3)  # lines 2, 3

    def test_order_fill_rate_is_zero(self, home: Path) -> None:
        assert value(home, "order_fill_rate", "2026-03-10") == 0.0  # 0 of 1: line 1 was short

    def test_by_day_and_location_gives_the_same_figures(self, home: Path) -> None:
        rows = kpi_rows(home, "unit_fill_rate", "2026-03-10", grain="day", by=["location_id"])
        assert rows == [
            {
                "location_id": "L1",
                "period": "2026-03-02",
                "numerator": 17.0,
                "denominator": 20.0,
                "value": 0.85,
            }
        ]


class TestMeasurability:
    """Which lines count, as of 2026-03-10 (L1, item I1, ordered 03-02, all 10 EA).

    line  promised  status     shipped            counts?
    1     03-05     open       none               yes, not filled (past promise, no shipment)
    2     03-20     open       none               no: not due, not shipped
    3     03-20     open       10 on 03-04        yes, filled (shipped before due)
    4     03-05     cancelled  none               no: cancelled
    5     03-20     open       10 on 03-10        no: shipped on as_of itself, not before it
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("measurable") / "home"
        lines = [
            (1, "2026-03-05", "open"),
            (2, "2026-03-20", "open"),
            (3, "2026-03-20", "open"),
            (4, "2026-03-05", "cancelled"),
            (5, "2026-03-20", "open"),
        ]
        orders = ORDER_HEADER + "".join(
            f"O{n},1,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,{p},{p},,{s},{TS}\n"
            for n, p, s in lines
        )
        ships = SHIP_HEADER + (
            "S3,O3,1,I1,L1,,10,EA,2026-03-04 13:00:00\nS5,O5,1,I1,L1,,10,EA,2026-03-10 08:00:00\n"
        )
        land_rows(home, {"sales_order_lines": orders, "shipments": ships})
        return home

    def test_only_shipped_or_past_due_live_lines_count(self, home: Path) -> None:
        rows = kpi_rows(home, "line_fill_rate", "2026-03-10")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (1, 2)  # line 3 of lines 1, 3

    def test_a_later_as_of_measures_the_lines_that_became_due(self, home: Path) -> None:
        rows = kpi_rows(home, "line_fill_rate", "2026-03-21")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (2, 4)  # 3, 5 of 1, 2, 3, 5
