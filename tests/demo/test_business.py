"""The generated business has the mix the product must handle, and it is internally consistent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pytest

from control_tower.contracts import TABLES
from control_tower.demo.clock import HOUR, Clock, day_number, ts_column


@pytest.fixture(scope="module")
def sol(db: duckdb.DuckDBPyConnection, small_root: Path) -> duckdb.DuckDBPyConnection:
    """First versions `f`, newer versions `u`, base-unit quantities."""
    erp = small_root / "erp"
    db.execute(
        f"""CREATE OR REPLACE TABLE f AS SELECT * FROM read_csv('{erp}/sales_order_lines_2*.csv', all_varchar=true);
        CREATE OR REPLACE TABLE u AS SELECT * FROM read_csv('{erp}/sales_order_lines_updates_*.csv', all_varchar=true);
        CREATE OR REPLACE TABLE ship_base AS
          SELECT s.*, s.shipped_qty::INT * CASE WHEN s.uom = 'CS' THEN i.case_qty::INT ELSE 1 END AS qty
          FROM shipments s JOIN items i USING (item_id);"""
    )
    return db


def one(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_first_versions_and_updates(sol: duckdb.DuckDBPyConnection) -> None:
    assert one(sol, "SELECT count(*) FROM f WHERE status <> 'open'") == 0
    # an update is newer than the first version, and only exists for changed lines
    assert (
        one(
            sol,
            "SELECT count(*) FROM u LEFT JOIN f USING (order_id, line_no) WHERE f.order_id IS NULL",
        )
        == 0
    )
    assert (
        one(
            sol,
            """SELECT count(*) FROM u JOIN f USING (order_id, line_no)
        WHERE u.updated_at::TIMESTAMPTZ <= f.updated_at::TIMESTAMPTZ""",
        )
        == 0
    )
    assert (
        one(
            sol,
            """SELECT count(*) FROM u JOIN f USING (order_id, line_no)
        WHERE u.status = 'open' AND u.promised_date = f.promised_date""",
        )
        == 0
    )
    statuses = {r[0] for r in sol.execute("SELECT DISTINCT status FROM u").fetchall()}
    assert {"closed", "shipped", "cancelled", "backordered", "released"} <= statuses


def test_repromised_lines_move_later(sol: duckdb.DuckDBPyConnection) -> None:
    moved = sol.execute("""SELECT count(*) FILTER (WHERE u.promised_date::DATE > f.promised_date::DATE),
        count(*) FILTER (WHERE u.promised_date::DATE < f.promised_date::DATE)
        FROM u JOIN f USING (order_id, line_no)""").fetchone()
    assert moved is not None
    assert moved[0] > 100
    assert moved[1] == 0


def test_order_line_mix(sol: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    assert one(sol, "SELECT count(*) FROM f WHERE uom = 'CS'") > 1000
    assert one(sol, "SELECT count(*) FROM f WHERE uom = 'EA'") > 1000
    assert one(sol, "SELECT count(DISTINCT channel) FROM f") == 4
    assert one(sol, "SELECT count(*) FROM u WHERE status = 'cancelled'") > 20
    # open lines not yet due, and today's early orders
    assert one(sol, f"SELECT count(*) FROM f WHERE promised_date::DATE > DATE '{as_of}'") > 100
    today = one(
        sol,
        f"SELECT count(*) FROM f WHERE order_ts::TIMESTAMPTZ >= TIMESTAMPTZ '{as_of} 00:00:00+00'",
    )
    assert 0 < int(today) < 1000  # type: ignore[call-overload]
    # Monday is busier than Sunday
    by_dow = dict(
        sol.execute("SELECT isodow(order_ts::TIMESTAMPTZ), count(*) FROM f GROUP BY 1").fetchall()
    )
    assert by_dow[1] > 3 * by_dow[7]


def test_shipments_split_and_cases(sol: duckdb.DuckDBPyConnection) -> None:
    split = sol.execute("""SELECT n, count(*) FROM (SELECT order_id, line_no, count(*) n
        FROM shipments GROUP BY ALL) GROUP BY n""").fetchall()
    counts = dict(split)
    assert counts.get(2, 0) > 50
    assert max(counts) in (2, 3)
    # ordered in cases, shipped in eaches
    assert (
        one(
            sol,
            """SELECT count(*) FROM shipments s JOIN f USING (order_id, line_no)
        WHERE f.uom = 'CS' AND s.uom = 'EA'""",
        )
        > 100
    )
    # never more shipped than ordered
    assert (
        one(
            sol,
            """SELECT count(*) FROM (SELECT order_id, line_no, sum(qty) q FROM ship_base GROUP BY ALL) s
        JOIN f USING (order_id, line_no) JOIN items i ON i.item_id = f.item_id
        WHERE s.q > f.ordered_qty::INT * CASE WHEN f.uom = 'CS' THEN i.case_qty::INT ELSE 1 END""",
        )
        == 0
    )


def test_waves_only_at_wave_sites(sol: duckdb.DuckDBPyConnection) -> None:
    rows = sol.execute("""SELECT l.location_id, l.wave_based, count(s.wave_id), count(*)
        FROM shipments s JOIN locations l USING (location_id) GROUP BY ALL ORDER BY 1""").fetchall()
    for loc, wave_based, with_wave, total in rows:
        assert (with_wave == total) if wave_based == "true" else (with_wave == 0), loc
    assert one(sol, "SELECT count(*) FROM waves WHERE location_id = 'DC-RNO'") == 0
    assert (
        one(
            sol,
            "SELECT count(*) FROM shipments s LEFT JOIN waves w USING (wave_id) WHERE s.wave_id IS NOT NULL AND w.wave_id IS NULL",
        )
        == 0
    )
    statuses = {r[0] for r in sol.execute("SELECT DISTINCT status FROM waves").fetchall()}
    assert {"completed", "cancelled", "planned"} <= statuses
    late = one(
        sol,
        """SELECT avg((released_ts::TIMESTAMP > planned_release_ts::TIMESTAMP + INTERVAL 15 MINUTE)::INT)
        FROM waves WHERE location_id = 'DC-NJ' AND status = 'completed'""",
    )
    assert 0.05 < float(late) < 0.6  # type: ignore[arg-type]


def test_freight(sol: duckdb.DuckDBPyConnection) -> None:
    # exactly one live freight shipment per WMS shipment
    assert (
        one(
            sol,
            """SELECT count(*) FROM (SELECT DISTINCT shipment_id FROM shipments) s
        LEFT JOIN (SELECT shipment_id, count(*) n FROM freight_shipments WHERE status <> 'cancelled' GROUP BY 1) f
        USING (shipment_id) WHERE f.n IS DISTINCT FROM 1""",
        )
        == 0
    )
    statuses = {
        r[0] for r in sol.execute("SELECT DISTINCT status FROM freight_shipments").fetchall()
    }
    assert {"delivered", "in_transit", "cancelled"} <= statuses
    assert one(sol, "SELECT count(*) FROM freight_shipments WHERE expedited = 'true'") > 100
    assert (
        one(
            sol,
            """SELECT count(*) FROM freight_shipments WHERE expedited = 'true'
        AND actual_freight_cost::DOUBLE <= planned_freight_cost::DOUBLE""",
        )
        == 0
    )
    on_time = dict(
        sol.execute("""SELECT carrier_id, avg((actual_delivery_ts::TIMESTAMPTZ <= promised_delivery_ts::TIMESTAMPTZ)::INT)
            FROM freight_shipments WHERE actual_delivery_ts IS NOT NULL GROUP BY 1""").fetchall()
    )
    assert on_time["CR-MWML"] < on_time["CR-KSTN"] - 0.1
    events = {
        r[0] for r in sol.execute("SELECT DISTINCT event_type FROM tracking_events").fetchall()
    }
    assert {"tendered", "picked_up", "in_transit", "delay", "delivered"} <= events
    assert (
        one(
            sol,
            "SELECT count(*) FROM tracking_events WHERE event_type = 'delay' AND reason IS NULL",
        )
        == 0
    )


def test_inventory_snapshots_have_stockouts(sol: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    rate = float(
        one(
            sol,
            "SELECT avg((on_hand_qty - allocated_qty - quarantined_qty <= 0)::INT) FROM inventory_snapshots",
        )
    )  # type: ignore[arg-type]
    assert 0.01 < rate < 0.15
    assert (
        one(
            sol,
            "SELECT min(on_hand_qty - allocated_qty - quarantined_qty) FROM inventory_snapshots",
        )
        == 0
    )
    assert one(sol, "SELECT max(snapshot_date) FROM inventory_snapshots") == as_of - dt.timedelta(
        days=1
    )
    assert one(sol, "SELECT count(*) FROM inventory_snapshots WHERE in_transit_qty > 0") > 0
    assert one(sol, "SELECT count(*) FROM inventory_snapshots WHERE quarantined_qty > 0") > 0
    # not every item is stocked everywhere
    assert one(
        sol, "SELECT count(DISTINCT (location_id, item_id)) FROM inventory_snapshots"
    ) < 4 * one(sol, "SELECT count(*) FROM items")  # type: ignore[operator]


def test_on_hand_reconciles_with_movements(sol: duckdb.DuckDBPyConnection) -> None:
    """on_hand(d) - on_hand(d-1) = put away - shipped + adjusted on local day d."""
    sol.execute("""CREATE OR REPLACE TABLE moves AS
        SELECT location_id, item_id, putaway_ts::TIMESTAMP::DATE d, received_qty::INT q FROM receipts WHERE putaway_ts IS NOT NULL
        UNION ALL SELECT location_id, item_id, shipped_ts::TIMESTAMP::DATE, -qty FROM ship_base
        UNION ALL SELECT location_id, item_id, adjusted_at::TIMESTAMP::DATE, qty_delta::INT FROM inventory_adjustments""")
    bad = one(
        sol,
        """WITH s AS (SELECT location_id, item_id, snapshot_date d, on_hand_qty
            - lag(on_hand_qty) OVER (PARTITION BY location_id, item_id ORDER BY snapshot_date) delta
            FROM inventory_snapshots),
        m AS (SELECT location_id, item_id, d, sum(q) q FROM moves GROUP BY ALL)
        SELECT count(*) FROM s LEFT JOIN m USING (location_id, item_id, d)
        WHERE s.delta IS NOT NULL AND s.delta <> coalesce(m.q, 0)""",
    )
    assert bad == 0


def test_inbound(sol: duckdb.DuckDBPyConnection) -> None:
    assert one(sol, "SELECT count(*) FROM receipts WHERE damaged_qty::INT > 0") > 20
    assert one(sol, "SELECT count(*) FROM receipts WHERE putaway_ts IS NULL") > 0
    assert (
        one(
            sol,
            """SELECT count(*) FROM receipts
        WHERE putaway_ts::TIMESTAMP > arrived_ts::TIMESTAMP + INTERVAL 48 HOUR""",
        )
        > 10
    )
    # partial receipts: more than one receipt for a PO line
    assert (
        one(
            sol,
            """SELECT count(*) FROM (SELECT po_id, po_line_no FROM receipts GROUP BY ALL HAVING count(*) > 1)""",
        )
        > 20
    )
    assert (
        one(
            sol,
            """SELECT count(*) FROM receipts r JOIN purchase_order_lines p
        ON p.po_id = r.po_id AND p.line_no = r.po_line_no
        WHERE r.arrived_ts::TIMESTAMP::DATE > p.expected_date::DATE + 3""",
        )
        > 50
    )
    statuses = {
        r[0] for r in sol.execute("SELECT DISTINCT status FROM purchase_order_lines").fetchall()
    }
    assert statuses == {"open", "received", "closed", "cancelled"}


def test_cycle_counts_and_adjustments(sol: duckdb.DuckDBPyConnection) -> None:
    outside, total = (
        sol.execute("""SELECT count(*) FILTER (WHERE abs(counted_qty::INT - system_qty::INT) >
            CASE abc_class WHEN 'A' THEN 0.01 WHEN 'B' THEN 0.03 ELSE 0.05 END * system_qty::INT), count(*)
        FROM cycle_counts JOIN items USING (item_id)""").fetchone()
    )  # type: ignore[misc]
    assert 0.02 < outside / total < 0.25
    reasons = {
        r[0]
        for r in sol.execute("SELECT DISTINCT reason_code FROM inventory_adjustments").fetchall()
    }
    assert {"cycle_count", "damage", "found", "shrink"} <= reasons
    assert one(sol, "SELECT count(*) FROM inventory_adjustments WHERE user_id NOT LIKE '%-%'") > 0
    assert (
        one(
            sol, "SELECT count(*) FROM inventory_adjustments WHERE hour(adjusted_at::TIMESTAMP) < 5"
        )
        > 0
    )


def test_returns_and_invoices(sol: duckdb.DuckDBPyConnection) -> None:
    reasons = {r[0] for r in sol.execute("SELECT DISTINCT reason_code FROM returns").fetchall()}
    assert reasons == {"damaged", "wrong_item", "late", "customer_change", "other"}
    assert (
        one(
            sol,
            """SELECT count(*) FROM returns r JOIN (SELECT order_id, line_no, sum(qty) q FROM ship_base GROUP BY ALL) s
        ON s.order_id = r.order_id AND s.line_no = r.order_line_no WHERE r.returned_qty::INT > s.q""",
        )
        == 0
    )
    rows = sol.execute("""SELECT match_status, first_pass_matched, po_id IS NULL, count(*)
        FROM ap_invoice_lines GROUP BY ALL""").fetchall()
    po_lines = sum(n for *_, svc, n in rows if not svc)
    matched = sum(n for _, fp, svc, n in rows if not svc and fp == "true")
    assert 0.75 < matched / po_lines < 0.95
    assert {r[0] for r in rows} >= {"matched", "price_variance", "qty_variance"}
    assert any(svc for _, _, svc, _ in rows)


def test_close_tasks(sol: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    periods = sol.execute(
        f"""SELECT entity_id, period, count(*), count(*) FILTER (WHERE status = 'open'),
        count(*) FILTER (WHERE status = 'open' AND due_date::DATE < DATE '{as_of}')
        FROM close_tasks GROUP BY ALL ORDER BY 2, 1"""
    ).fetchall()
    assert {(e, p) for e, p, *_ in periods} == {
        (e, p)
        for e in ("US01", "NL01")
        for p in ("2025-11", "2025-12", "2026-01", "2026-02", "2026-03")
    }
    assert all(10 <= n <= 16 for _, _, n, _, _ in periods)
    current = [r for r in periods if r[1] == as_of.strftime("%Y-%m")]
    assert all(open_ > 0 for *_, open_, _ in current)
    assert sum(overdue for *_, overdue in periods) >= 2
    assert (
        one(sol, "SELECT count(*) FROM close_tasks WHERE status = 'done' AND completed_at IS NULL")
        == 0
    )


def test_erp_offsets_follow_dst(sol: duckdb.DuckDBPyConnection) -> None:
    offsets = {
        r[0]
        for r in sol.execute(
            "SELECT DISTINCT right(order_ts, 6) FROM f WHERE location_id = 'DC-CHI'"
        ).fetchall()
    }
    assert offsets == {"-06:00", "-05:00"}  # CST before 2026-03-08, CDT after
    assert {
        r[0]
        for r in sol.execute(
            "SELECT DISTINCT right(order_ts, 6) FROM f WHERE location_id = 'DC-RTM'"
        ).fetchall()
    } == {"+01:00"}


def test_clock_handles_dst() -> None:
    d = day_number(dt.date(2025, 11, 2))  # US fall-back: 01:00-02:00 local happens twice
    clock = Clock(["America/Chicago"], d - 2, d + 2)
    loc = np.zeros(3, dtype=np.int64)
    first = 6 * HOUR + 30 * 60  # 06:30Z = 01:30 CDT
    t = d * 86_400 + np.array([first, first + HOUR, first + 2 * HOUR])
    assert ts_column(clock, t, loc, "erp").to_list() == [
        "2025-11-02T01:30:00-05:00",
        "2025-11-02T01:30:00-06:00",
        "2025-11-02T02:30:00-06:00",
    ]
    # naive local time never names the repeated hour's second occurrence: it moves an hour on
    assert ts_column(clock, t, loc, "wms").to_list() == [
        "2025-11-02T01:30:00",
        "2025-11-02T02:30:00",
        "2025-11-02T02:30:00",
    ]
    assert ts_column(clock, t, None, "tms").to_list()[0] == "2025-11-02T06:30:00Z"
    # the local day is 25 hours long
    assert int(clock.midnight(0, d + 1) - clock.midnight(0, d)) == 25 * HOUR


HAPPENED = {
    "order_ts", "updated_at", "shipped_ts", "released_ts", "completed_ts", "arrived_ts",
    "putaway_ts", "counted_at", "adjusted_at", "actual_pickup_ts", "actual_delivery_ts",
    "event_ts", "created_at", "credited_at", "completed_at",
}  # fmt: skip


def test_nothing_happens_after_the_extract_cutoff(
    db: duckdb.DuckDBPyConnection, as_of: dt.date
) -> None:
    """The extract is taken at 10:00 UTC on as_of: no event is later (local time: by noon)."""
    for name, t in TABLES.items():
        for col in set(t.timestamp_columns) & HAPPENED:
            if t.system == "wms":
                cond = f"\"{col}\"::TIMESTAMP >= TIMESTAMP '{as_of} 12:00:00'"
            else:
                cond = f"\"{col}\"::TIMESTAMPTZ >= TIMESTAMPTZ '{as_of} 10:00:00+00'"
            assert one(db, f"SELECT count(*) FROM {name} WHERE {cond}") == 0, (name, col)
