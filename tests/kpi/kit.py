"""Helpers of the KPI tests: land a few hand-written rows through the real pipeline, compute a KPI."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from control_tower.contracts import TABLES
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from tests.landing.baseline import BASELINE_CSV
from tests.landing.kit import land, warehouse

MASTER = ("locations", "items", "customers")


def land_rows(home: Path, tables: Mapping[str, str], *, master: bool = True) -> None:
    """Land the baseline master data (unless `master` is False) plus `tables` ({table: CSV text})."""
    files = {f"{TABLES[t].system}/{t}.csv": BASELINE_CSV[t].encode() for t in MASTER if master}
    files.update({f"{TABLES[t].system}/{t}.csv": text.encode() for t, text in tables.items()})
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
