"""Harmonisation on landing: quantities in base units, timestamps in UTC with local dates.

Baseline facts used here:
- items I1 case_qty 12, I2 case_qty 6, I3 case_qty 100;
- L1 is America/Chicago (CST -06:00 until 2026-03-08 02:00, then CDT -05:00),
  L2 is Europe/Berlin (CET +01:00);
- O1/2 orders 2 CS of I2; S1 ships 1 CS of I2; P1 orders 10 CS of I1;
- F1 (shipment S1 at L1) was delivered 2026-03-06 19:30 local.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.support.extracts import baseline_row, csv_bytes, fetch, land, rows_of


def test_case_quantities_are_converted_to_base_units_with_uom_factor(baseline_home: Path) -> None:
    assert fetch(
        baseline_home,
        "SELECT order_id, line_no, uom, uom_factor, ordered_qty FROM sales_order_lines ORDER BY ALL",
    ) == [
        ("O1", 1, "EA", 1, Decimal(10)),
        ("O1", 2, "CS", 6, Decimal(12)),  # 2 CS x 6
        ("O2", 1, "EA", 1, Decimal(500)),
    ]
    assert fetch(
        baseline_home, "SELECT uom_factor, shipped_qty FROM shipments WHERE line_no = 2"
    ) == [(6, Decimal(6))]
    assert fetch(baseline_home, "SELECT uom_factor, ordered_qty FROM purchase_order_lines") == [
        (12, Decimal(120))
    ]


def test_fractional_cases_and_lowercase_uom_convert_exactly(home: Path) -> None:
    """1.5 CS of I1 (12 per case) is 18 EA; 'cs' is the unit CS."""
    row = baseline_row("sales_order_lines", 0, order_id="N1", uom="cs", ordered_qty="1.5")
    land(home, {"erp/sales_order_lines_cs.csv": csv_bytes(rows_of("sales_order_lines", row))})
    assert fetch(
        home, "SELECT uom, uom_factor, ordered_qty FROM sales_order_lines WHERE order_id = 'N1'"
    ) == [("CS", 12, Decimal(18))]


def test_quantities_of_tables_without_uom_are_kept_as_delivered(baseline_home: Path) -> None:
    assert fetch(baseline_home, "SELECT returned_qty FROM returns") == [(Decimal(2),)]
    assert fetch(baseline_home, "SELECT qty_delta FROM inventory_adjustments") == [(Decimal(-2),)]


def test_naive_timestamps_are_local_time_of_the_rows_location(baseline_home: Path) -> None:
    """O1 09:00 in Chicago (CST) is 15:00 UTC; O2 carries +01:00: 10:00+01 is 09:00 UTC."""
    assert fetch(
        baseline_home,
        "SELECT order_id, order_ts, order_ts_local_date FROM sales_order_lines WHERE line_no = 1 ORDER BY 1",
    ) == [
        ("O1", datetime(2026, 3, 2, 15, 0), date(2026, 3, 2)),
        ("O2", datetime(2026, 3, 3, 9, 0), date(2026, 3, 3)),
    ]


def test_evening_delivery_keeps_its_local_date_though_it_is_the_next_day_in_utc(
    baseline_home: Path,
) -> None:
    """F1 delivered 2026-03-06 19:30 Chicago = 2026-03-07 01:30 UTC; its day is 2026-03-06.

    The freight shipment finds its zone through its WMS shipment (S1 at L1); the
    tracking event through the freight shipment and then the shipment.
    """
    assert fetch(
        baseline_home,
        "SELECT actual_delivery_ts, actual_delivery_ts_local_date FROM freight_shipments",
    ) == [(datetime(2026, 3, 7, 1, 30), date(2026, 3, 6))]
    assert fetch(
        baseline_home,
        "SELECT event_ts, event_ts_local_date FROM tracking_events WHERE event_type = 'delivered'",
    ) == [(datetime(2026, 3, 7, 1, 30), date(2026, 3, 6))]


def test_daylight_saving_start_in_chicago(home: Path) -> None:
    """2026-03-08 02:00 CST jumps to 03:00 CDT.

    RX1 arrived 2026-03-07 22:00 (CST) and was put away 2026-03-08 10:00 (CDT):
    11 hours, not the naive 12. RX2: 01:30 CST and 03:30 CDT are one hour apart.
    """
    rows = [
        baseline_row(
            "receipts",
            0,
            receipt_id="RX1",
            arrived_ts="2026-03-07 22:00:00",
            putaway_ts="2026-03-08 10:00:00",
        ),
        baseline_row(
            "receipts",
            0,
            receipt_id="RX2",
            arrived_ts="2026-03-08 01:30:00",
            putaway_ts="2026-03-08 03:30:00",
        ),
    ]
    land(home, {"wms/receipts_dst.csv": csv_bytes(rows_of("receipts", *rows))})
    got = fetch(
        home,
        "SELECT receipt_id, arrived_ts, arrived_ts_local_date, putaway_ts, putaway_ts - arrived_ts "
        "FROM receipts WHERE receipt_id LIKE 'RX%' ORDER BY 1",
    )
    assert got == [
        (
            "RX1",
            datetime(2026, 3, 8, 4, 0),
            date(2026, 3, 7),
            datetime(2026, 3, 8, 15, 0),
            timedelta(hours=11),
        ),
        (
            "RX2",
            datetime(2026, 3, 8, 7, 30),
            date(2026, 3, 8),
            datetime(2026, 3, 8, 8, 30),
            timedelta(hours=1),
        ),
    ]


def test_offsets_are_honoured_in_every_spelling(home: Path) -> None:
    """Z, z, +00:00, -0600, -06 and a space before the offset all name the same instant."""
    spellings = [
        "2026-03-04T20:00:00Z",
        "2026-03-04T20:00:00z",
        "2026-03-04 20:00:00+00:00",
        "2026-03-04T14:00:00-0600",
        "2026-03-04T14:00:00-06",
        "2026-03-05T01:30:00 +05:30",
        "2026-03-04T20:00:00.000Z",
    ]
    rows = [
        baseline_row("cycle_counts", 0, count_id=f"CC{i + 10}", counted_at=ts)
        for i, ts in enumerate(spellings)
    ]
    report = land(home, {"wms/cycle_counts_offsets.csv": csv_bytes(rows_of("cycle_counts", *rows))})
    assert report.ingest.batches[0].rows_quarantined == 0
    got = fetch(
        home,
        "SELECT DISTINCT counted_at, counted_at_local_date FROM cycle_counts WHERE count_id <> 'CC1'",
    )
    assert got == [(datetime(2026, 3, 4, 20, 0), date(2026, 3, 4))]


def test_local_date_uses_the_zone_of_the_rows_own_location(baseline_home: Path) -> None:
    """updated_at 2026-03-01T00:00Z is still 2026-02-28 in Chicago, already 03-01 in Berlin."""
    assert fetch(
        baseline_home, "SELECT location_id, updated_at_local_date FROM locations ORDER BY 1"
    ) == [
        ("L1", date(2026, 2, 28)),
        ("L2", date(2026, 3, 1)),
    ]


def test_close_tasks_have_no_location_and_naive_times_are_utc(home: Path) -> None:
    row = baseline_row("close_tasks", 0, task_id="T9", completed_at="2026-03-03 23:30:00")
    land(home, {"erp/close_tasks_naive.csv": csv_bytes(rows_of("close_tasks", row))})
    assert fetch(
        home, "SELECT completed_at, completed_at_local_date FROM close_tasks WHERE task_id = 'T9'"
    ) == [(datetime(2026, 3, 3, 23, 30), date(2026, 3, 3))]


def test_returns_find_their_zone_through_the_order_line(baseline_home: Path) -> None:
    """R1 created 2026-03-10 08:00 at O1/1's location L1, after the DST change (CDT -05:00)."""
    assert fetch(baseline_home, "SELECT created_at, created_at_local_date FROM returns") == [
        (datetime(2026, 3, 10, 13, 0), date(2026, 3, 10))
    ]


def test_date_only_value_in_a_timestamp_column_is_local_midnight(home: Path) -> None:
    row = baseline_row("inventory_adjustments", 0, adjustment_id="ADJ9", adjusted_at="2026-03-02")
    land(
        home,
        {"wms/inventory_adjustments_date.csv": csv_bytes(rows_of("inventory_adjustments", row))},
    )
    assert fetch(
        home,
        "SELECT adjusted_at, adjusted_at_local_date FROM inventory_adjustments WHERE adjustment_id = 'ADJ9'",
    ) == [(datetime(2026, 3, 2, 6, 0), date(2026, 3, 2))]
