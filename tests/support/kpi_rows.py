"""Helpers of the KPI tests: land a few hand-written rows through the real pipeline, compute a KPI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from control_tower.contracts import TABLES
from control_tower.kpi.catalog import CatalogError, HistoryRecord, SignOff, load_catalog
from control_tower.kpi.query import compute
from tests.support.baseline import BASELINE_CSV
from tests.support.clock import clock_at
from tests.support.extracts import land, warehouse

MASTER = ("locations", "items", "customers")
# The pipeline lands the hand-written rows after every date they hold (the latest is in early
# April 2026), so each line is read as past its promise.
LANDED_AT = datetime(2026, 4, 30, 12, 0)


def land_rows(home: Path, tables: Mapping[str, str], *, master: bool = True) -> None:
    """Land the baseline master data (unless `master` is False) plus `tables` ({table: CSV text})."""
    files = {f"{TABLES[t].system}/{t}.csv": BASELINE_CSV[t].encode() for t in MASTER if master}
    files.update({f"{TABLES[t].system}/{t}.csv": text.encode() for t, text in tables.items()})
    with clock_at(LANDED_AT):
        report = land(home, files)
    bad = [(b.table, b.status) for b in report.ingest.batches if b.status != "loaded"]
    assert not bad, bad
    assert report.ingest.rows_quarantined == 0
    assert all(s.status == "ok" for s in report.steps), report.steps


def kpi_rows(home: Path, name: str, as_of: str, **kw: Any) -> list[dict[str, Any]]:
    """Rows of one KPI computed on the landed warehouse."""
    return kpi_result(home, name, as_of, **kw)["rows"]


def kpi_result(home: Path, name: str, as_of: str, **kw: Any) -> dict[str, Any]:
    """The whole compute() result of one KPI on the landed warehouse."""
    kpi = load_catalog().kpi(name)
    with warehouse(home) as con:
        return compute(con, kpi, as_of=date.fromisoformat(as_of), **kw)


def value(home: Path, name: str, as_of: str, **kw: Any) -> float | None:
    """The single overall value of one KPI."""
    rows = kpi_rows(home, name, as_of, **kw)
    assert len(rows) == 1, rows
    return rows[0]["value"]


ORDER_HEADER = (
    "order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,"
    "uom,unit_price,requested_date,promised_date,first_promised_date,status,updated_at\n"
)
SHIP_HEADER = (
    "shipment_id,order_id,line_no,item_id,location_id,wave_id,shipped_qty,uom,shipped_ts\n"
)
FREIGHT_HEADER = (
    "tms_shipment_id,shipment_id,carrier_id,mode,service_level,planned_pickup_ts,actual_pickup_ts,"
    "promised_delivery_ts,actual_delivery_ts,planned_freight_cost,actual_freight_cost,expedited,"
    "status,updated_at\n"
)
WAVE_HEADER = (
    "wave_id,location_id,planned_release_ts,released_ts,planned_complete_ts,completed_ts,"
    "lines_planned,lines_picked,status,updated_at\n"
)
PO_HEADER = (
    "po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,"
    "expected_date,status,updated_at\n"
)
RECEIPT_HEADER = (
    "receipt_id,line_no,po_id,po_line_no,item_id,location_id,received_qty,damaged_qty,"
    "arrived_ts,putaway_ts\n"
)
SNAPSHOT_HEADER = (
    "snapshot_date,location_id,item_id,on_hand_qty,allocated_qty,quarantined_qty,in_transit_qty\n"
)
CLOSE_HEADER = (
    "entity_id,period,task_id,task_name,category,owner,due_date,completed_at,status,updated_at\n"
)
INVOICE_HEADER = (
    "invoice_id,line_no,entity_id,supplier_id,po_id,po_line_no,invoiced_qty,invoiced_unit_cost,"
    "invoice_date,first_pass_matched,match_status,updated_at\n"
)
RETURN_HEADER = "rma_id,line_no,order_id,order_line_no,item_id,returned_qty,reason_code,created_at,credited_at\n"
ENTITY = {"L1": "E1", "L2": "E2"}
STAMP = "2026-03-01T00:00:00Z"


def order_row(
    order_id: str,
    line_no: int = 1,
    *,
    location: str = "L1",
    item: str = "I1",
    customer: str = "C1",
    channel: str = "EDI",
    qty: int = 10,
    order_ts: str = "2026-03-02 09:00:00",
    requested: str = "2026-03-06",
    promised: str = "2026-03-06",
    status: str = "open",
    updated_at: str = STAMP,
) -> str:
    """One sales_order_lines CSV row (entity from the location, EA, first promise = promise)."""
    return (
        f"{order_id},{line_no},{ENTITY[location]},{customer},{item},{location},{channel},"
        f"{order_ts},{qty},EA,4.00,{requested},{promised},,{status},{updated_at}\n"
    )


def ship_row(
    shipment_id: str, order_id: str, line_no: int, qty: int, shipped_ts: str, **kw: str
) -> str:
    """One shipments CSV row (item I1 at L1 unless `item` / `location` are given)."""
    item, location = kw.get("item", "I1"), kw.get("location", "L1")
    return f"{shipment_id},{order_id},{line_no},{item},{location},,{qty},EA,{shipped_ts}\n"


def freight_row(
    tms_id: str,
    shipment_id: str,
    *,
    planned_pickup: str = "2026-03-05 10:00:00",
    actual_pickup: str = "",
    promised: str = "2026-03-06 17:00:00",
    delivered: str = "",
    planned_cost: str = "100.00",
    actual_cost: str = "",
    expedited: str = "false",
    status: str = "in_transit",
    carrier: str = "CAR1",
) -> str:
    """One freight_shipments CSV row (LTL, standard service)."""
    return (
        f"{tms_id},{shipment_id},{carrier},LTL,std,{planned_pickup},{actual_pickup},{promised},"
        f"{delivered},{planned_cost},{actual_cost},{expedited},{status},{STAMP}\n"
    )


def edit(root: Path, name: str, old: str, new: str) -> None:
    """Replace the first `old` (which must be there) by `new` in definition `name` under `root`."""
    path = root / f"{name}.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def refusal(
    root: Path, history: list[HistoryRecord] | None = None, signoffs: Iterable[SignOff] = ()
) -> str:
    """The message with which the catalog under `root` is refused (it must be)."""
    with pytest.raises(CatalogError) as info:
        load_catalog(root, history=history or [], signoffs=signoffs)
    return str(info.value)
