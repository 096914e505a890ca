"""Inventory positions (models inventory_positions and inventory_position_values), hand-checkable,
landed through the pipeline; and the KPIs on them (available_units, inventory_value).

Sites L1 (entity E1, USD) and L2 (E2, EUR); reporting currency USD; EUR->USD 1.08421234 on
03-02 and 1.0850 on 03-03 (a rate stays usable 7 days). Unit cost I1 2.50, I2 10.00, I3 0.05.

day    site item  on hand alloc quar transit  available
02-27  L1   I1    60      0     0    0        60
03-01  L1   I1    100     10    0    24       90
03-02  L1   I1    80      20    5    0        55       change since 03-01: on hand -20, available -35
03-02  L1   I2    0       0     0    0        0        out of stock (exactly 0)
02-27  L2   I3    1100    0     0    0        1100     no EUR rate that day: EUR value NULL
03-02  L2   I3    1000    0     0    0        1000     change since 02-27: -100

On order of I1 at L1:
- P1/1 ordered 03-01, 120 EA (10 CS of 12), open; 50 EA arrived 03-02   -> 120 on 03-01, 70 on 03-02
- P2/1 ordered 02-26, 30 EA, cancelled                                   -> never on order
- P3/1 ordered 02-25, 40 EA, closed; 10 EA arrived 03-02 (closed short)  -> 40 until 03-01, 0 from 03-02
So on order: 02-27: 40, 03-01: 160, 03-02: 70.

Shipments of I1 at L1: 28 EA on 02-20, 56 EA on 03-01, 10 EA on 03-02. Demand of the 28 days
before the day: 03-01 -> 28 (02-01..02-28) = 1/day, cover 90; 03-02 -> 84 (02-02..03-01) = 3/day,
cover 55 / 3; the 03-02 shipment counts only from 03-03. I2 and I3 ship nothing: no cover.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.compiler import model_query
from control_tower.kpi.materialize import refresh_kpis
from control_tower.views.inventory import Filters, positions, totals
from tests.support.baseline import BASELINE_CSV
from tests.support.demo_data import DEMO_AS_OF
from tests.support.extracts import warehouse
from tests.support.kpi_deltas import Landing
from tests.support.kpi_rows import (
    ORDER_HEADER,
    PO_HEADER,
    RECEIPT_HEADER,
    SHIP_HEADER,
    SNAPSHOT_HEADER,
    STAMP,
    kpi_rows,
    land_rows,
    order_row,
    ship_row,
)

AS_OF = date(2026, 3, 10)
VALUES = "SELECT * EXCLUDE (computed_at) FROM kpi.values ORDER BY ALL"
EUR_PER_USD_0302 = 1 / 1.08421234


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("positions") / "home"
    snaps = SNAPSHOT_HEADER + (
        "2026-02-27,L1,I1,60,0,0,0\n"
        "2026-03-01,L1,I1,100,10,0,24\n"
        "2026-03-02,L1,I1,80,20,5,0\n"
        "2026-03-02,L1,I2,0,0,0,0\n"
        "2026-02-27,L2,I3,1100,0,0,0\n"
        "2026-03-02,L2,I3,1000,0,0,0\n"
    )
    pos = PO_HEADER + (
        f"P1,1,S1,I1,L1,10,CS,2.50,2026-03-01,2026-03-08,open,{STAMP}\n"
        f"P2,1,S1,I1,L1,30,EA,2.50,2026-02-26,2026-03-05,cancelled,{STAMP}\n"
        f"P3,1,S1,I1,L1,40,EA,2.50,2026-02-25,2026-03-02,closed,{STAMP}\n"
    )
    receipts = RECEIPT_HEADER + (
        "R1,1,P1,1,I1,L1,50,0,2026-03-02 10:00:00,2026-03-02 12:00:00\n"
        "R2,1,P3,1,I1,L1,10,0,2026-03-02 11:00:00,2026-03-02 12:00:00\n"
    )
    orders = (
        ORDER_HEADER
        + order_row("O1", qty=28, order_ts="2026-02-19 09:00:00")
        + order_row("O2", qty=56, order_ts="2026-02-28 09:00:00")
        + order_row("O3", qty=10, order_ts="2026-03-01 09:00:00")
    )
    ships = SHIP_HEADER + (
        ship_row("S1", "O1", 1, 28, "2026-02-20 10:00:00")
        + ship_row("S2", "O2", 1, 56, "2026-03-01 10:00:00")
        + ship_row("S3", "O3", 1, 10, "2026-03-02 10:00:00")
    )
    land_rows(
        home,
        {
            "entities": BASELINE_CSV["entities"],
            "fx_rates": BASELINE_CSV["fx_rates"],
            "inventory_snapshots": snaps,
            "purchase_order_lines": pos,
            "receipts": receipts,
            "sales_order_lines": orders,
            "shipments": ships,
        },
    )
    return home


def _rows(home: Path, day: str, **filters: str) -> dict[tuple[str, str], dict]:
    with warehouse(home) as cur:
        rows = positions(
            cur,
            load_catalog(),
            Scope(),
            as_of=AS_OF,
            day=date.fromisoformat(day),
            filters=Filters(**filters),
        )
    return {(r["location_id"], r["item_id"]): r for r in rows}


def test_units_available_and_change_since_the_previous_snapshot(home: Path) -> None:
    got = _rows(home, "2026-03-02")
    assert sorted(got) == [("L1", "I1"), ("L1", "I2"), ("L2", "I3")]
    i1 = got["L1", "I1"]
    assert (i1["on_hand_units"], i1["allocated_units"], i1["quarantined_units"]) == (80, 20, 5)
    assert (i1["in_transit_units"], i1["available_units"]) == (0, 55)
    assert i1["previous_snapshot_date"] == date(2026, 3, 1)
    assert (i1["on_hand_change"], i1["available_change"]) == (-20, -35)
    assert got["L1", "I2"]["is_out_of_stock"] == 1
    assert i1["is_out_of_stock"] == 0
    # no snapshot of I2 before: no change, not a change from 0
    assert got["L1", "I2"]["on_hand_change"] is None
    assert got["L2", "I3"]["on_hand_change"] == -100


def test_on_order_counts_open_quantity_after_partial_receipts(home: Path) -> None:
    assert _rows(home, "2026-02-27")["L1", "I1"]["on_order_units"] == 40
    assert _rows(home, "2026-03-01")["L1", "I1"]["on_order_units"] == 160
    assert _rows(home, "2026-03-02")["L1", "I1"]["on_order_units"] == 70
    assert _rows(home, "2026-03-02")["L1", "I1"]["on_order_value"] == pytest.approx(70 * 2.5)


def test_demand_and_days_of_cover(home: Path) -> None:
    day1 = _rows(home, "2026-03-01")["L1", "I1"]
    assert (day1["shipped_units_28d"], day1["avg_daily_demand"]) == (28, 1)
    assert day1["days_of_cover"] == pytest.approx(90)
    day2 = _rows(home, "2026-03-02")
    assert day2["L1", "I1"]["avg_daily_demand"] == pytest.approx(3)
    assert day2["L1", "I1"]["days_of_cover"] == pytest.approx(55 / 3)
    assert day2["L1", "I2"]["days_of_cover"] is None  # no demand: no cover, not 0


def test_values_in_the_reporting_and_the_entity_currency(home: Path) -> None:
    got = _rows(home, "2026-03-02")
    i1, i3 = got["L1", "I1"], got["L2", "I3"]
    assert (i1["entity_currency"], i1["reporting_currency"]) == ("USD", "USD")
    assert i1["inventory_value"] == pytest.approx(80 * 2.5)
    assert i1["inventory_value_entity"] == pytest.approx(80 * 2.5)  # USD entity: no rate
    assert i3["entity_currency"] == "EUR"
    assert i3["inventory_value"] == pytest.approx(1000 * 0.05)
    assert i3["inventory_value_entity"] == pytest.approx(1000 * 0.05 * EUR_PER_USD_0302)
    assert i3["available_value_entity"] == pytest.approx(1000 * 0.05 * EUR_PER_USD_0302)


def test_a_missing_rate_gives_no_entity_value_never_zero(home: Path) -> None:
    got = _rows(home, "2026-02-27")
    assert got["L2", "I3"]["inventory_value"] == pytest.approx(1100 * 0.05)
    assert got["L2", "I3"]["entity_rate"] is None
    assert got["L2", "I3"]["inventory_value_entity"] is None
    assert got["L1", "I1"]["inventory_value_entity"] == pytest.approx(60 * 2.5)
    tiles = totals(list(got.values()))
    assert dict(tiles.value_by_currency) == {"EUR": None, "USD": pytest.approx(150)}
    assert tiles.inventory_value == pytest.approx(150 + 55)


def test_one_day_built_for_its_keys_equals_the_whole_model(home: Path) -> None:
    catalog = load_catalog()
    kpi = catalog.kpi("inventory_value")
    sql, params = model_query(kpi, as_of=AS_OF)
    with warehouse(home) as cur:
        result = cur.execute(f"SELECT * FROM ({sql}) ORDER BY ALL", params)
        columns = [d[0] for d in result.description]
        whole = result.fetchall()
    by_day: dict[date, list] = {}
    for row in whole:
        by_day.setdefault(row[0], []).append(row)
    assert sorted(by_day) == [date(2026, 2, 27), date(2026, 3, 1), date(2026, 3, 2)]
    for day, rows in by_day.items():
        built = _rows(home, day.isoformat())
        for row in rows:
            expect = dict(zip(columns, row, strict=True))
            got = built[expect["location_id"], expect["item_id"]]
            for column, value in expect.items():
                if isinstance(value, float) or hasattr(value, "as_tuple"):
                    assert got[column] == pytest.approx(float(value)), (day, column)
                else:
                    assert got[column] == value, (day, column)


def test_filters_and_scope_restrict_the_keys(home: Path) -> None:
    assert sorted(_rows(home, "2026-03-02", category="Fasteners")) == [("L2", "I3")]
    assert sorted(_rows(home, "2026-03-02", search="gadg")) == [("L1", "I2")]
    assert sorted(_rows(home, "2026-03-02", location_id="L1", item_id="I1")) == [("L1", "I1")]
    with warehouse(home) as cur:
        rows = positions(
            cur, load_catalog(), Scope.of(locations=["L2"]), as_of=AS_OF, day=date(2026, 3, 2)
        )
    assert [(r["location_id"], r["item_id"]) for r in rows] == [("L2", "I3")]


def test_kpis_read_the_same_rows(home: Path) -> None:
    rows = kpi_rows(home, "inventory_value", "2026-03-10", by=["location_id"])
    got = {r["location_id"]: r["value"] for r in rows}
    # the last snapshot of each site: L1 03-02 (80 x 2.50 + 0), L2 03-02 (1000 x 0.05)
    assert got == {"L1": pytest.approx(200), "L2": pytest.approx(50)}
    rows = kpi_rows(home, "available_units", "2026-03-10", grain="day", by=["location_id"])
    got = {(r["location_id"], r["period"]): r["value"] for r in rows}
    assert got == {
        ("L1", "2026-02-27"): 60,
        ("L1", "2026-03-01"): 90,
        ("L1", "2026-03-02"): 55,
        ("L2", "2026-02-27"): 1100,
        ("L2", "2026-03-02"): 1000,
    }


@pytest.fixture
def demo_copy(demo_home: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the landed small demo's warehouse (its KPIs refreshed in full)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_home / "warehouse.duckdb", copy)
    wal = demo_home / "warehouse.duckdb.wal"
    if wal.exists():
        shutil.copyfile(wal, tmp_path / "warehouse.duckdb.wal")
    connection = duckdb.connect(str(copy))
    connection.execute("SET TimeZone = 'UTC'")
    refresh_kpis(connection, as_of=DEMO_AS_OF)
    yield connection
    connection.close()


STOCK_DELTAS = {
    "a day's snapshots restated": (
        "inventory_snapshots",
        "on_hand_qty = on_hand_qty + 3",
        "snapshot_date = (SELECT max(snapshot_date) - 3 FROM inventory_snapshots) "
        "AND hash(item_id) % 5 = 0",
    ),
    "shipments a day later": (
        "shipments",
        "shipped_ts = shipped_ts + INTERVAL 1 DAY, shipped_ts_local_date = shipped_ts_local_date + 1",
        "hash(shipment_id) % 53 = 0",
    ),
    "PO lines cancelled": ("purchase_order_lines", "status = 'cancelled'", "hash(po_id) % 31 = 0"),
    "receipts restated": (
        "receipts",
        "received_qty = received_qty + 1",
        "hash(receipt_id) % 37 = 0",
    ),
}


@pytest.mark.parametrize("kind", sorted(STOCK_DELTAS))
def test_deltas_rebuild_the_positions_by_key_and_end_where_a_full_refresh_does(
    demo_copy: duckdb.DuckDBPyConnection, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("control_tower.kpi.keyed.SCOPE_SHARE", float("inf"))
    table, assignments, where = STOCK_DELTAS[kind]
    landing = Landing(demo_copy)
    landing.update(table, assignments, where)
    report = refresh_kpis(demo_copy, as_of=DEMO_AS_OF, changes=landing.changes())
    assert report.mode == "by changed periods", report.mode
    assert report.refreshed["inventory_positions"].startswith("by "), report.refreshed
    assert report.changed_rows["inventory_positions"] > 0, kind
    by_key = demo_copy.execute(VALUES).fetchall()
    refresh_kpis(demo_copy, as_of=DEMO_AS_OF)
    assert by_key == demo_copy.execute(VALUES).fetchall(), kind
