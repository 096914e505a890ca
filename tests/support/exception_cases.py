"""Helpers of the exception tests: one small delivery with a case for every rule, and its clock.

The delivery is landed through the real pipeline; detection is then run
again at a fixed instant, NOW (2026-03-12 10:00 UTC, as_of 2026-03-12), so
the cases below are read against a known clock. Every timestamp carries `Z`
(UTC). Each table has rows that must raise an exception and near misses that
must not; the tests name them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from control_tower.contracts import TABLES
from control_tower.exceptions.detect import DetectionReport, refresh_exceptions
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.settings import Settings, load_settings
from pipelines.run import RunReport, run_pipeline
from tests.support.baseline import BASELINE_CSV

NOW = datetime(2026, 3, 12, 10, 0)
AS_OF = date(2026, 3, 12)
TS = "2026-03-01T00:00:00Z"

DELIVERY: dict[str, str] = {
    **{t: BASELINE_CSV[t] for t in ("locations", "items", "customers")},  # the landing baseline's
    "sales_order_lines": f"""\
order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,uom,unit_price,requested_date,promised_date,status,updated_at
O1,1,E1,C1,I1,L1,EDI,2026-03-02T15:00:00Z,10,EA,4.00,2026-03-10,2026-03-10,open,{TS}
O1,2,E1,C1,I2,L1,EDI,2026-03-02T15:00:00Z,2,CS,15.00,2026-03-11,2026-03-11,backordered,{TS}
O2,1,E2,C2,I3,L2,web,2026-03-03T09:00:00Z,500,EA,0.10,2026-03-12,2026-03-12,released,{TS}
O2,2,E2,C2,I3,L2,web,2026-03-03T09:00:00Z,100,EA,0.10,2026-03-05,2026-03-05,open,{TS}
O3,1,E1,C1,I1,L1,EDI,2026-03-02T15:00:00Z,5,EA,4.00,2026-03-04,2026-03-04,cancelled,{TS}
O4,1,E1,C2,I1,L1,EDI,2026-03-05T15:00:00Z,20,EA,4.00,2026-03-09,2026-03-09,shipped,{TS}
O4,2,E1,C2,I1,L1,EDI,2026-03-05T15:00:00Z,10,EA,4.00,2026-03-09,2026-03-09,shipped,{TS}
O5,1,E1,C2,I1,L1,EDI,2026-01-20T15:00:00Z,10,EA,4.00,2026-02-01,2026-02-01,closed,{TS}
O9,1,E1,C2,I3,L1,EDI,2026-03-01T15:00:00Z,280,EA,0.10,2026-03-03,2026-03-03,shipped,{TS}
O8,1,E1,C1,I2,L1,EDI,2026-01-10T15:00:00Z,30,EA,15.00,2026-03-13,2026-03-13,open,{TS}
""",
    "shipments": """\
shipment_id,order_id,line_no,item_id,location_id,wave_id,shipped_qty,uom,shipped_ts
S1,O1,1,I1,L1,,4,EA,2026-03-09T15:00:00Z
S2,O2,2,I3,L2,,100,EA,2026-03-05T12:00:00Z
S4,O4,1,I1,L1,,15,EA,2026-03-09T15:00:00Z
S4,O4,2,I1,L1,,10,EA,2026-03-09T15:00:00Z
S5,O5,1,I1,L1,,5,EA,2026-02-01T15:00:00Z
S9,O9,1,I3,L1,,280,EA,2026-03-02T15:00:00Z
""",
    "inventory_snapshots": """\
snapshot_date,location_id,item_id,on_hand_qty,allocated_qty,quarantined_qty,in_transit_qty
2026-03-10,L1,I1,100,0,0,0
2026-03-10,L1,I2,0,0,0,0
2026-03-11,L1,I1,5,5,0,24
2026-03-11,L1,I2,1000,0,0,0
2026-03-11,L1,I3,20,0,0,0
2026-03-11,L2,I3,5000,0,0,0
""",
    "cycle_counts": """\
count_id,location_id,bin_id,item_id,counted_at,system_qty,counted_qty,counter_id
CC1,L1,A1,I1,2026-03-10T08:00:00Z,100,98,U1
CC2,L1,A2,I1,2026-03-10T08:00:00Z,100,99,U1
CC3,L1,B1,I2,2026-03-10T08:00:00Z,0,1,U1
CC4,L1,A3,I1,2026-03-05T08:00:00Z,100,90,U1
CC5,L1,A3,I1,2026-03-09T08:00:00Z,100,100,U2
CC6,L1,A4,I1,2026-01-05T08:00:00Z,100,50,U2
""",
    "waves": f"""\
wave_id,location_id,planned_release_ts,released_ts,planned_complete_ts,completed_ts,lines_planned,lines_picked,status,updated_at
W1,L1,2026-03-12T09:30:00Z,,2026-03-12T13:00:00Z,,10,0,planned,{TS}
W2,L1,2026-03-12T09:50:00Z,,2026-03-12T14:00:00Z,,10,0,planned,{TS}
W3,L1,2026-03-12T05:00:00Z,2026-03-12T05:05:00Z,2026-03-12T07:00:00Z,,10,6,released,{TS}
W4,L1,2026-03-11T05:00:00Z,2026-03-11T07:00:00Z,2026-03-11T09:00:00Z,2026-03-11T12:00:00Z,10,10,completed,{TS}
""",
    "purchase_order_lines": f"""\
po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,expected_date,status,updated_at
P1,1,S1,I1,L1,1,CS,30.00,2026-03-01,2026-03-08,open,{TS}
P1,2,S1,I2,L1,2,CS,60.00,2026-03-01,2026-03-08,open,{TS}
""",
    "receipts": """\
receipt_id,line_no,po_id,po_line_no,item_id,location_id,received_qty,damaged_qty,arrived_ts,putaway_ts
RC1,1,P1,1,I1,L1,12,0,2026-03-10T08:00:00Z,
RC2,1,P1,2,I2,L1,12,0,2026-03-10T12:00:00Z,
RC3,1,P1,1,I1,L1,12,0,2026-03-01T08:00:00Z,2026-03-05T08:00:00Z
""",
    "freight_shipments": f"""\
tms_shipment_id,shipment_id,carrier_id,mode,service_level,planned_pickup_ts,actual_pickup_ts,promised_delivery_ts,actual_delivery_ts,planned_freight_cost,actual_freight_cost,expedited,status,updated_at
F1,S4,CAR1,LTL,standard,2026-03-09T16:00:00Z,2026-03-09T16:00:00Z,2026-03-11T17:00:00Z,,100.00,,false,in_transit,{TS}
F2,S1,CAR1,LTL,standard,2026-03-09T16:00:00Z,2026-03-09T16:00:00Z,2026-03-14T17:00:00Z,,100.00,,false,in_transit,{TS}
F3,S2,CAR2,LTL,standard,2026-03-05T13:00:00Z,2026-03-05T13:00:00Z,2026-03-06T17:00:00Z,2026-03-07T10:00:00Z,100.00,100.00,false,delivered,{TS}
F4,S5,CAR2,LTL,standard,2026-03-11T13:00:00Z,2026-03-11T13:00:00Z,2026-03-13T17:00:00Z,,100.00,,false,in_transit,{TS}
F5,S9,CAR2,LTL,standard,2026-03-02T16:00:00Z,,2026-03-04T17:00:00Z,,100.00,,false,cancelled,{TS}
""",
    "tracking_events": """\
tms_shipment_id,event_ts,event_type,reason,location
F2,2026-03-11T08:00:00Z,delay,weather,Denver
F4,2026-03-11T14:00:00Z,picked_up,,Berlin
""",
    "ap_invoice_lines": f"""\
invoice_id,line_no,entity_id,supplier_id,po_id,po_line_no,invoiced_qty,invoiced_unit_cost,invoice_date,first_pass_matched,match_status,updated_at
INV1,1,E1,S1,P1,1,12,2.75,2026-03-09,false,price_variance,{TS}
INV1,2,E1,S1,P1,2,12,10.00,2026-03-09,false,matched,{TS}
INV1,3,E1,S1,,,1,25.00,2026-03-09,false,no_receipt,{TS}
""",
    "close_tasks": f"""\
entity_id,period,task_id,task_name,category,owner,due_date,completed_at,status,updated_at
E1,2026-02,T1,Bank reconciliation,cash,ann,2026-03-03,2026-03-03T17:00:00Z,done,{TS}
E1,2026-02,T2,Accruals,gl,bob,2026-03-04,,open,{TS}
E1,2026-02,T3,Inventory valuation,inventory,cy,2026-03-12,,open,{TS}
E2,2026-02,T4,Intercompany,gl,dee,2026-03-10,,open,{TS}
""",
    # Line 3 has a quantity that is not a number: one row quarantined.
    "inventory_adjustments": """\
adjustment_id,location_id,item_id,adjusted_at,qty_delta,reason_code,user_id
ADJ1,L1,I1,2026-03-02T07:45:00Z,-2,count_variance,U7
ADJ2,L1,I1,2026-03-02T07:46:00Z,lots,count_variance,U7
""",
}


def write_delivery(inbox: Path, tables: dict[str, str] | None = None) -> None:
    """Write `tables` (default: the whole DELIVERY) as CSV files into the inbox."""
    for table, text in (tables or DELIVERY).items():
        folder = inbox / TABLES[table].system
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{table}.csv").write_text(text)


def land(home: Path, tables: dict[str, str] | None = None) -> RunReport:
    """Write a delivery into home/inbox and run the pipeline (which runs detection at real time)."""
    settings = load_settings(home)
    settings.ensure_dirs()
    write_delivery(settings.inbox, tables)
    return run_pipeline(settings, trigger="cli", inbox=settings.inbox, keep=True)


@contextmanager
def writer(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The live warehouse, read-write (no pipeline may be running)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


def detect_at(home: Path, now: datetime = NOW) -> DetectionReport:
    """Run detection, reconciliation and the mirror at `now` against home's warehouse."""
    with writer(home) as con:
        return refresh_exceptions(con, settings(home).app_db_url, as_of=now.date(), now=now)


def settings(home: Path) -> Settings:
    """The settings of a test data folder."""
    return load_settings(home)


def store(home: Path) -> ExceptionStore:
    """The exception store of a test data folder."""
    return ExceptionStore.open(settings(home).app_db_url)


def items(home: Path, type_: str | None = None) -> dict[Any, ExceptionItem]:
    """Every item of one type by key, or of every type by (type, key): a line's key is the
    same in each of its queues."""
    with store(home) as s:
        return {i.key if type_ else (i.type, i.key): i for i in s.items(type=type_, status="all")}


def fresh_home(template: Path, dest: Path) -> Path:
    """A copy of a landed data folder without its app database: no exception items yet."""
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("serving", "app.sqlite*"))
    return dest


def later(hours: float) -> datetime:
    """NOW plus some hours."""
    return NOW + timedelta(hours=hours)
