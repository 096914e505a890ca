"""Wave release adherence, wave completion on time and dock-to-stock hours, hand-checkable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kpi_rows import (
    FREIGHT_HEADER,
    ORDER_HEADER,
    PO_HEADER,
    RECEIPT_HEADER,
    SHIP_HEADER,
    STAMP,
    WAVE_HEADER,
    freight_row,
    kpi_rows,
    land_rows,
    order_row,
    ship_row,
    value,
)


class TestWaves:
    """Waves at L1 (Chicago, runs waves) and WMS shipments at L2 (Berlin, no waves), as of 03-20.

    wave  planned release  released          planned complete  completed    release / completion
    W1    03-04 08:00      08:15 (+15)       03-04 12:00       11:40        on time / on time
    W2    03-04 10:00      09:45 (-15)       03-04 14:00       14:01        on time / late
    W3    03-04 12:00      12:16 (+16)       03-04 16:00       never        miss    / miss
    W4    03-05 08:00      never             03-05 12:00       never        miss    / miss
    W5    03-05 09:00      cancelled                                        left out
    W6    03-25 08:00      -                 03-25 12:00       -            not due
    W7    03-08 01:50 CST  03-08 03:00 CDT   03-08 06:00       05:00        on time (10 min as
          (= 07:50 UTC)    (= 08:00 UTC)                                    instants, 70 naive)

    L2 shipment  shipped      freight planned pickup (cutoff)   on time?
    SH1          03-05 10:00  03-05 10:00                        yes (at the cutoff)
    SH2          03-05 12:00  03-05 11:00                        no
    SH3          03-06 09:00  03-06 09:00                        yes
    A shipment at L1 (which runs waves) with freight is not a unit.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("waves") / "home"
        waves = WAVE_HEADER + "".join(
            f"{w},L1,{pr},{r},{pc},{c},2,2,{s},{STAMP}\n"
            for w, pr, r, pc, c, s in (
                ("W1", "2026-03-04 08:00:00", "2026-03-04 08:15:00", "2026-03-04 12:00:00",
                 "2026-03-04 11:40:00", "completed"),
                ("W2", "2026-03-04 10:00:00", "2026-03-04 09:45:00", "2026-03-04 14:00:00",
                 "2026-03-04 14:01:00", "completed"),
                ("W3", "2026-03-04 12:00:00", "2026-03-04 12:16:00", "2026-03-04 16:00:00", "",
                 "released"),
                ("W4", "2026-03-05 08:00:00", "", "2026-03-05 12:00:00", "", "planned"),
                ("W5", "2026-03-05 09:00:00", "", "2026-03-05 13:00:00", "", "cancelled"),
                ("W6", "2026-03-25 08:00:00", "", "2026-03-25 12:00:00", "", "planned"),
                ("W7", "2026-03-08 01:50:00", "2026-03-08 03:00:00", "2026-03-08 06:00:00",
                 "2026-03-08 05:00:00", "completed"),
            )
        )  # fmt: skip
        orders = (
            ORDER_HEADER
            + "".join(order_row(o, location="L2", item="I3") for o in ("O1", "O2", "O3"))
            + order_row("O4")
        )
        ships = SHIP_HEADER + (
            ship_row("SH1", "O1", 1, 10, "2026-03-05 10:00:00", item="I3", location="L2")
            + ship_row("SH2", "O2", 1, 10, "2026-03-05 12:00:00", item="I3", location="L2")
            + ship_row("SH3", "O3", 1, 10, "2026-03-06 09:00:00", item="I3", location="L2")
            + ship_row("SH4", "O4", 1, 10, "2026-03-05 12:00:00")
        )
        freight = FREIGHT_HEADER + (
            freight_row("F1", "SH1", planned_pickup="2026-03-05 10:00:00")
            + freight_row("F2", "SH2", planned_pickup="2026-03-05 11:00:00")
            + freight_row("F3", "SH3", planned_pickup="2026-03-06 09:00:00")
            + freight_row("F4", "SH4", planned_pickup="2026-03-05 11:00:00")
        )
        land_rows(
            home,
            {
                "waves": waves,
                "sales_order_lines": orders,
                "shipments": ships,
                "freight_shipments": freight,
            },
        )
        return home

    def test_release_adherence_window_is_inclusive_and_counts_waves_only(self, home: Path) -> None:
        rows = kpi_rows(home, "wave_release_adherence", "2026-03-20")
        # on time: W1, W2, W7; due: W1, W2, W3, W4, W7 (SH1-SH3 are completion units only)
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (3, 5)

    def test_cutoff_units_of_a_site_without_waves_are_not_release_units(self, home: Path) -> None:
        rows = kpi_rows(home, "wave_release_adherence", "2026-03-20", by=["location_id"])
        got = {r["location_id"]: (r["numerator"], r["denominator"]) for r in rows}
        # L2 has three cutoff units (SH1-SH3, counted in completion) and no wave: no release row
        assert got.get("L2", (0, 0)) == (0, 0)
        assert got["L1"] == (3, 5)  # W1, W2, W7 of 5 waves

    def test_release_window_is_a_parameter(self, home: Path) -> None:
        rows = kpi_rows(
            home,
            "wave_release_adherence",
            "2026-03-20",
            by=["location_id"],
            parameters={"release_window_minutes": 14},
        )
        # 14 minutes: W1 (+15) and W2 (-15) now miss; W7 (10 min as instants) still on time
        assert rows[0] == {"location_id": "L1", "numerator": 1, "denominator": 5, "value": 0.2}

    def test_the_dst_night_is_measured_between_instants(self, home: Path) -> None:
        rows = kpi_rows(home, "wave_release_adherence", "2026-03-20", grain="day")
        by_day = {r["period"]: (r["numerator"], r["denominator"]) for r in rows}
        assert by_day["2026-03-08"] == (1, 1)  # W7: 01:50 CST -> 03:00 CDT is 10 minutes

    def test_an_earlier_as_of_sees_fewer_units(self, home: Path) -> None:
        rows = kpi_rows(home, "wave_release_adherence", "2026-03-05")
        assert (rows[0]["numerator"], rows[0]["denominator"]) == (2, 3)  # W1, W2 of W1-W3

    def test_completion_on_time(self, home: Path) -> None:
        rows = kpi_rows(home, "wave_completion_on_time", "2026-03-20", by=["location_id"])
        got = {r["location_id"]: (r["numerator"], r["denominator"]) for r in rows}
        # L1: W1, W7 of W1, W2, W3, W4, W7 (W3, W4 never completed: misses); L2: SH1, SH3 of 3
        assert got == {"L1": (2, 5), "L2": (2, 3)}
        assert value(home, "wave_completion_on_time", "2026-03-20") == pytest.approx(4 / 8)


class TestDockToStock:
    """Receipt lines at L1 (Chicago), as of 2026-03-20.

    line  arrived            put away           hours
    R1    03-02 08:00        03-02 10:00        2
    R2    03-02 08:00        03-02 12:00        4
    R3    03-03 08:00        03-03 14:00        6
    R4    03-07 20:00 CST    03-08 10:00 CDT    13 (the DST night; naive local difference 14)
    R5    03-04 08:00        never              not counted; waiting > 48 h
    R6    03-19 06:00        03-20 09:00        not counted (put away on as_of); waited < 48 h
    Median of 2, 4, 6, 13 = (4 + 6) / 2 = 5. P90: position 0.9 x 3 = 2.7 between 6 and 13:
    6 + 0.7 x 7 = 10.9 (with a naive 14 it would be 11.6).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def home(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        home = tmp_path_factory.mktemp("dock") / "home"
        po = PO_HEADER + f"P1,1,S1,I1,L1,100,EA,2.50,2026-03-01,2026-03-02,open,{STAMP}\n"
        receipts = RECEIPT_HEADER + "".join(
            f"R{n},1,P1,1,I1,L1,10,0,{a},{p}\n"
            for n, a, p in (
                (1, "2026-03-02 08:00:00", "2026-03-02 10:00:00"),
                (2, "2026-03-02 08:00:00", "2026-03-02 12:00:00"),
                (3, "2026-03-03 08:00:00", "2026-03-03 14:00:00"),
                (4, "2026-03-07 20:00:00", "2026-03-08 10:00:00"),
                (5, "2026-03-04 08:00:00", ""),
                (6, "2026-03-19 06:00:00", "2026-03-20 09:00:00"),
            )
        )
        land_rows(home, {"purchase_order_lines": po, "receipts": receipts})
        return home

    def test_median_p90_and_waiting_lines(self, home: Path) -> None:
        rows = kpi_rows(home, "dock_to_stock_hours", "2026-03-20", companions=True)
        assert rows[0]["value"] == pytest.approx(5.0)
        assert rows[0]["p90_hours"] == pytest.approx(10.9)
        assert rows[0]["waiting_over_48h"] == 1  # R5

    def test_by_day(self, home: Path) -> None:
        rows = kpi_rows(home, "dock_to_stock_hours", "2026-03-20", grain="day")
        by_day = {r["period"]: r["value"] for r in rows}
        # 03-02: median(2, 4) = 3; 03-04 has only R5 (not put away): no value; 03-07: R4 = 13
        assert by_day["2026-03-02"] == pytest.approx(3.0)
        assert by_day["2026-03-04"] is None
        assert by_day["2026-03-07"] == pytest.approx(13.0)
