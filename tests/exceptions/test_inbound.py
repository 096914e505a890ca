"""Overdue purchase order lines and receipt discrepancies, detected from a small delivery.

Read at NOW = 2026-03-12 10:00 UTC (as_of 2026-03-12). Standard costs: I1 2.50, I2 10.00,
I3 0.05 (cases of 100). Every line is ordered on 2026-02-20; the receipts are put away.

line  site item ordered  expected  status     receipts (received / damaged)  verdict
PA|1  L1   I1   100      03-05     open       60 / 0 on 03-04                overdue, 40 missing
PB|1  L2   I3   5 CS     03-10     open       none                           overdue, 500 missing
PC|1  L1   I2   12       03-12     open       none                           due today: not overdue
PD|1  L1   I2   12       03-01     closed     10 / 0 on 03-02                short 2
PE|1  L1   I2   12       03-01     open       12 / 2 on 03-02                overdue 2; damaged 2
PF|1  L1   I1   24       03-01     received   30 / 0 on 03-02                over 6
PG|1  L1   I1   24       03-01     cancelled  none                           nothing
PH|1  L1   I1   24       03-01     received   24 / 0 on 03-03                nothing
PJ|1  L1   I2   12       01-10     closed     6 / 0 on 01-09                 short, before the window
PK|1  L2   I2   200      03-01     received   50 / 0 on 03-02                short 150, high

L1 holds no I1 on 03-11 (available 0): stockout risk by the days-of-cover rule until a model
has scored the day.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.exceptions.store import ExceptionItem
from tests.support.baseline import BASELINE_CSV
from tests.support.exception_cases import TS, detect_at, fresh_home, items, land, writer

PO = [
    ("PA", "L1", "I1", "100,EA", "2026-03-05", "open"),
    ("PB", "L2", "I3", "5,CS", "2026-03-10", "open"),
    ("PC", "L1", "I2", "12,EA", "2026-03-12", "open"),
    ("PD", "L1", "I2", "12,EA", "2026-03-01", "closed"),
    ("PE", "L1", "I2", "12,EA", "2026-03-01", "open"),
    ("PF", "L1", "I1", "24,EA", "2026-03-01", "received"),
    ("PG", "L1", "I1", "24,EA", "2026-03-01", "cancelled"),
    ("PH", "L1", "I1", "24,EA", "2026-03-01", "received"),
    ("PJ", "L1", "I2", "12,EA", "2026-01-10", "closed"),
    ("PK", "L2", "I2", "200,EA", "2026-03-01", "received"),
]
RECEIPTS = [
    ("RA", "PA", "I1", "L1", 60, 0, "2026-03-04T15:00:00Z"),
    ("RD", "PD", "I2", "L1", 10, 0, "2026-03-02T15:00:00Z"),
    ("RE", "PE", "I2", "L1", 12, 2, "2026-03-02T15:00:00Z"),
    ("RF", "PF", "I1", "L1", 30, 0, "2026-03-02T15:00:00Z"),
    ("RH", "PH", "I1", "L1", 24, 0, "2026-03-03T15:00:00Z"),
    ("RJ", "PJ", "I2", "L1", 6, 0, "2026-01-09T15:00:00Z"),
    ("RK", "PK", "I2", "L2", 50, 0, "2026-03-02T15:00:00Z"),
]
DELIVERY = {
    **{t: BASELINE_CSV[t] for t in ("locations", "items", "suppliers")},
    "purchase_order_lines": (
        "po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,"
        "expected_date,status,updated_at\n"
        + "".join(
            f"{po},1,S1,{item},{loc},{qty},2.00,2026-01-05,{day},{status},{TS}\n"
            for po, loc, item, qty, day, status in PO
        )
    ),
    "receipts": (
        "receipt_id,line_no,po_id,po_line_no,item_id,location_id,received_qty,damaged_qty,"
        "arrived_ts,putaway_ts\n"
        + "".join(
            f"{r},1,{po},1,{item},{loc},{qty},{dmg},{at},{at}\n"
            for r, po, item, loc, qty, dmg, at in RECEIPTS
        )
    ),
    "inventory_snapshots": (
        "snapshot_date,location_id,item_id,on_hand_qty,allocated_qty,quarantined_qty,"
        "in_transit_qty\n2026-03-11,L1,I1,0,0,0,0\n2026-03-11,L2,I3,9000,0,0,0\n"
    ),
}
SCORE = """
INSERT INTO risk.stockout_scores (item_id, location_id, entity_id, as_of, horizon_days,
    probability, baseline_flag, available_qty, model_version, scored_at)
VALUES ('I3', 'L2', 'E2', DATE '2026-03-12', 14, 0.7, false, 9000, 'test', TIMESTAMP '2026-03-12')
"""


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("inbound-landed")
    report = land(home, DELIVERY)
    assert report.status == "ok", report.steps
    return home


@pytest.fixture
def home(landed: Path, tmp_path: Path) -> Path:
    return fresh_home(landed, tmp_path / "home")


def _of(home: Path, type_: str) -> dict[str, ExceptionItem]:
    return {k: i for k, i in items(home, type_).items() if i.status != "resolved"}


def test_overdue_lines_and_their_value(home: Path) -> None:
    detect_at(home)
    found = _of(home, "overdue_po_line")
    assert set(found) == {"PA|1", "PB|1", "PE|1"}
    pa = found["PA|1"]
    assert pa.value_at_risk == pytest.approx(100.0)  # 40 missing x 2.50
    assert (pa.location_id, pa.entity_id, pa.item_id) == ("L1", "E1", "I1")
    assert pa.detail["missing_qty"] == 40
    assert pa.detail["days_overdue"] == 7
    assert found["PB|1"].value_at_risk == pytest.approx(25.0)  # 500 x 0.05
    pe = found["PE|1"]  # 12 received, 2 of them damaged: 2 good units missing
    assert pe.value_at_risk == pytest.approx(20.0)
    assert pe.detail["damaged_qty"] == 2


def test_severity_is_high_when_the_days_of_cover_rule_puts_the_item_at_risk(home: Path) -> None:
    detect_at(home)  # no model has scored: the rule of stockout_risk judges
    assert "L1|I1" in _of(home, "stockout_risk")
    pa = _of(home, "overdue_po_line")["PA|1"]
    assert pa.severity == "high"
    assert pa.detail["at_stockout_risk"] is True
    assert pa.detail["stockout_risk_source"] == "days_of_cover"
    assert _of(home, "overdue_po_line")["PE|1"].severity == "medium"  # I2 is not at risk
    assert _of(home, "overdue_po_line")["PB|1"].severity == "medium"  # 9,000 I3 at L2


def test_severity_is_high_when_the_model_scores_the_item_at_risk(home: Path) -> None:
    with writer(home) as con:
        con.execute(SCORE)
    detect_at(home)
    found = _of(home, "overdue_po_line")
    pb = found["PB|1"]
    assert pb.severity == "high"
    assert pb.detail["stockout_probability"] == pytest.approx(0.7)
    assert pb.detail["stockout_risk_source"] == "model"
    # once a model has scored the day, the days-of-cover rule no longer judges
    assert found["PA|1"].severity == "medium"


def test_receipt_discrepancies(home: Path) -> None:
    detect_at(home)
    found = _of(home, "receipt_discrepancy")
    # PJ|1 is short too, but its receipt is older than the 30-day window: no item opens
    assert set(found) == {"PD|1", "PE|1", "PF|1", "PK|1"}
    assert found["PD|1"].detail["discrepancy"] == "short"
    assert found["PD|1"].detail["short_qty"] == 2
    assert found["PD|1"].value_at_risk == pytest.approx(20.0)
    assert found["PE|1"].detail["discrepancy"] == "damaged"
    assert found["PF|1"].detail["discrepancy"] == "over"
    assert found["PF|1"].detail["over_qty"] == 6
    assert found["PF|1"].value_at_risk == pytest.approx(15.0)
    assert found["PF|1"].owner_role == "warehouse_supervisor"
    assert found["PK|1"].severity == "high"  # 150 short x 10.00 = 1,500
    assert found["PD|1"].severity == "medium"


def test_a_late_receipt_making_up_a_short_line_clears_it(home: Path) -> None:
    detect_at(home)
    with writer(home) as con:
        con.execute(
            "INSERT INTO receipts SELECT * REPLACE ('RD2' AS receipt_id, 2 AS received_qty) "
            "FROM receipts WHERE receipt_id = 'RD'"
        )
    detect_at(home)
    assert "PD|1" not in _of(home, "receipt_discrepancy")
