"""Feature SQL on hand-built rows: features read only the past of t, labels only its horizon.

One item I1 at location L1, daily snapshots 2026-01-01 .. 2026-01-20, 10
available every day except the stockout drawn below; one order of 28 on
2026-01-10 (so 1 a day over 28 days):

    day        01 .. 09  10  11 .. 14  15  16 .. 20
    available  10 .. 10  10  10 .. 10   0  10 .. 10
    orders               28

At t = 2026-01-10 with a 7-day horizon the label window is 01-11 .. 01-17:
the stockout of 01-15 is inside it.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from control_tower.risk.features import late_frame, stockout_frame
from control_tower.storage.schema import ensure_schema

T = date(2026, 1, 10)
POINT = pl.DataFrame({"location_id": ["L1"], "t": [T]})


def _db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(
        "INSERT INTO locations (location_id, name, entity_id, timezone, wave_based) "
        "VALUES ('L1', 'Chicago', 'E1', 'America/Chicago', true)"
    )
    con.execute(
        "INSERT INTO items (item_id, abc_class, case_qty, unit_cost, unit_price, supplier_id, "
        "lead_time_days) VALUES ('I1', 'A', 1, 2.0, 4.0, 'S1', 5)"
    )
    for i in range(20):
        d = date(2026, 1, 1) + timedelta(days=i)
        on_hand = 0 if d == date(2026, 1, 15) else 10
        con.execute(
            "INSERT INTO inventory_snapshots VALUES (?, 'L1', 'I1', ?, 0, 0, 0, 1, now())",
            [d, on_hand],
        )
    con.execute(
        "INSERT INTO sales_order_lines (order_id, line_no, entity_id, customer_id, item_id, "
        "location_id, order_ts, order_ts_local_date, ordered_qty, uom, unit_price, requested_date, "
        "promised_date, first_promised_date, status, uom_factor) VALUES "
        "('O1', 1, 'E1', 'C1', 'I1', 'L1', '2026-01-10 15:00', '2026-01-10', 28, 'EA', 4, "
        "'2026-01-13', '2026-01-13', '2026-01-13', 'open', 1)"
    )
    return con


def _features(con: duckdb.DuckDBPyConnection) -> dict:
    return stockout_frame(con, POINT, horizon=7).to_dicts()[0]


def test_stockout_features_and_label_on_hand_data() -> None:
    row = _features(_db())
    assert row["available_qty"] == 10
    assert row["daily_demand"] == pytest.approx(1.0)  # 28 ordered / 28 days
    assert row["days_of_cover"] == pytest.approx(10.0)  # 10 available / 1 a day
    assert row["label"] == 1  # the stockout of 01-15 is within 01-11 .. 01-17


def test_stockout_features_ignore_everything_after_t() -> None:
    con = _db()
    before = _features(con)
    # a huge order and an inbound PO after t, and a different stock picture after t
    con.execute(
        "INSERT INTO sales_order_lines (order_id, line_no, item_id, location_id, order_ts_local_date, "
        "ordered_qty, first_promised_date, status, uom_factor) "
        "VALUES ('O2', 1, 'I1', 'L1', '2026-01-11', 5000, '2026-01-12', 'open', 1)"
    )
    con.execute(
        "INSERT INTO purchase_order_lines (po_id, line_no, supplier_id, item_id, location_id, "
        "ordered_qty, order_date, expected_date, status) "
        "VALUES ('P1', 1, 'S1', 'I1', 'L1', 99, '2026-01-11', '2026-01-12', 'open')"
    )
    con.execute(
        "UPDATE inventory_snapshots SET on_hand_qty = 500 WHERE snapshot_date = '2026-01-16'"
    )
    after = _features(con)
    assert {k: v for k, v in after.items() if k != "label"} == {
        k: v for k, v in before.items() if k != "label"
    }


def test_stockout_label_reads_only_the_horizon() -> None:
    con = _db()
    # moving the stockout from 01-15 to 01-18 puts it beyond 01-17: no event
    con.execute(
        "UPDATE inventory_snapshots SET on_hand_qty = 10 WHERE snapshot_date = '2026-01-15'"
    )
    con.execute("UPDATE inventory_snapshots SET on_hand_qty = 0 WHERE snapshot_date = '2026-01-18'")
    assert _features(con)["label"] == 0
    # a stockout on t itself is a feature, not the label
    con.execute("UPDATE inventory_snapshots SET on_hand_qty = 0 WHERE snapshot_date = '2026-01-10'")
    row = _features(con)
    assert (row["stocked_out"], row["label"]) == (1.0, 0)


def test_stockout_label_is_unknown_when_the_horizon_is_not_observed() -> None:
    late = pl.DataFrame({"location_id": ["L1"], "t": [date(2026, 1, 15)]})
    row = stockout_frame(_db(), late, horizon=7).to_dicts()[0]
    assert row["label"] is None  # 01-16 .. 01-22 runs past the last snapshot (01-20)


def test_open_order_line_and_its_late_label() -> None:
    con = _db()
    # O1 promised 01-13: shipped 01-12 and delivered 01-14, a day late
    con.execute(
        "INSERT INTO shipments (shipment_id, order_id, line_no, item_id, location_id, shipped_qty, "
        "shipped_ts, shipped_ts_local_date) VALUES ('S1', 'O1', 1, 'I1', 'L1', 28, "
        "'2026-01-12 15:00', '2026-01-12')"
    )
    con.execute(
        "INSERT INTO freight_shipments (tms_shipment_id, shipment_id, carrier_id, status, "
        "promised_delivery_ts, actual_delivery_ts, actual_delivery_ts_local_date) VALUES "
        "('F1', 'S1', 'CAR1', 'delivered', '2026-01-13 17:00', '2026-01-14 10:00', '2026-01-14')"
    )
    df = late_frame(con, [T, date(2026, 1, 12)])
    rows = {r["t"]: r for r in df.to_dicts()}
    assert set(rows) == {T}  # at 01-12 it has shipped in full: no longer open
    row = rows[T]
    assert (row["days_to_promise"], row["stock_short"], row["label"]) == (3.0, 1.0, 1)
    # delivered on the promised day instead: on time
    con.execute("UPDATE freight_shipments SET actual_delivery_ts_local_date = '2026-01-13'")
    assert late_frame(con, [T])["label"].to_list() == [0]
