"""A small hand-drawn delivery for the promising tests, landed through the real pipeline.

T = 2026-03-18 (the suite's clock). Entity E1 has sites L1 and L3, entity E2 site L2.
Item I1 (12 a case) at L1, in base units after landing:

    snapshot 03-17: on hand 100, allocated 10, quarantined 5 -> A(T) = 85 (03-10: 500, older)
    P1/1 10 CS = 120 expected 03-25, 24 received -> 96 on 03-25
    P2/1 20 EA expected 03-10 (past due)        -> 20 on 03-19
    P3/1 500 cancelled, P5/1 received            -> not supply
    P4/1 100 expected 04-10                      -> 100 on 04-10
    O1/1 50 promised 03-22 open                  -> 50 on 03-22
    O2/1 80 promised 03-28 backordered, 20 shipped -> 60 on 03-28
    O3/1 30 released (inside allocated)          -> not demand
    O4/1 40 promised 03-15 open (past due)       -> 40 on 03-19

So A = 85, 65 (03-19), 15 (03-22), 111 (03-25), 51 (03-28), 151 (04-10): the table of
tests/promising/test_atp.py. I1 at L3 (E1): 40 available, nothing moving. I1 at L2 (E2):
1000 available (another entity: never offered). I2 at L1: no snapshot, 60 arriving 03-21.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.extracts import csv_bytes, land, rows_of

TS = "2026-03-01T00:00:00Z"


def _so(order: str, item: str, loc: str, qty: str, promised: str, status: str) -> list[str]:
    entity = "E2" if loc == "L2" else "E1"
    return [order, "1", entity, "C1", item, loc, "EDI", "2026-03-02 09:00:00", qty, "EA",
            "4.00", promised, promised, status, "2026-03-02T15:00:00Z"]  # fmt: skip


def _po(po: str, item: str, loc: str, qty: str, uom: str, expected: str, status: str) -> list[str]:
    return [po, "1", "S1", item, loc, qty, uom, "2.50", "2026-03-01", expected, status, TS]


FILES = {
    "erp/locations.csv": rows_of(
        "locations",
        ["L1", "Chicago DC", "E1", "US-Central", "America/Chicago", "true", TS],
        ["L2", "Berlin DC", "E2", "EU", "Europe/Berlin", "false", TS],
        ["L3", "Dallas DC", "E1", "US-Central", "America/Chicago", "false", TS],
    ),
    "erp/items.csv": rows_of(
        "items",
        ["I1", "Widget", "Hardware", "A", "12", "2.50", "4.00", "S1", "7", TS],
        ["I2", "Gadget", "Hardware", "B", "6", "10.00", "15.00", "S1", "14", TS],
    ),
    "erp/customers.csv": rows_of("customers", ["C1", "Acme", "Retail", "1", "US-Central", TS]),
    "erp/sales_order_lines.csv": rows_of(
        "sales_order_lines",
        _so("O1", "I1", "L1", "50", "2026-03-22", "open"),
        _so("O2", "I1", "L1", "80", "2026-03-28", "backordered"),
        _so("O3", "I1", "L1", "30", "2026-03-20", "released"),
        _so("O4", "I1", "L1", "40", "2026-03-15", "open"),
    ),
    "erp/purchase_order_lines.csv": rows_of(
        "purchase_order_lines",
        _po("P1", "I1", "L1", "10", "CS", "2026-03-25", "open"),
        _po("P2", "I1", "L1", "20", "EA", "2026-03-10", "open"),
        _po("P3", "I1", "L1", "500", "EA", "2026-03-20", "cancelled"),
        _po("P4", "I1", "L1", "100", "EA", "2026-04-10", "open"),
        _po("P5", "I1", "L1", "70", "EA", "2026-03-12", "received"),
        _po("P6", "I2", "L1", "10", "CS", "2026-03-21", "open"),
    ),
    "wms/inventory_snapshots.csv": rows_of(
        "inventory_snapshots",
        ["2026-03-10", "L1", "I1", "500", "0", "0", "0"],
        ["2026-03-17", "L1", "I1", "100", "10", "5", "0"],
        ["2026-03-17", "L3", "I1", "40", "0", "0", "0"],
        ["2026-03-17", "L2", "I1", "1000", "0", "0", "0"],
    ),
    "wms/shipments.csv": rows_of(
        "shipments",
        ["S1", "O2", "1", "I1", "L1", "", "20", "EA", "2026-03-12 13:00:00"],
    ),
    "wms/receipts.csv": rows_of(
        "receipts",
        ["RC1", "1", "P1", "1", "I1", "L1", "24", "0", "2026-03-16 06:00:00", ""],
        ["RC2", "1", "P5", "1", "I1", "L1", "70", "0", "2026-03-12 06:00:00", ""],
    ),
}


def land_promising_case(home: Path) -> Path:
    """Land the module docstring's delivery into a new data folder; its home."""
    report = land(home, {name: csv_bytes(rows) for name, rows in FILES.items()})
    assert report.status == "ok", report.steps
    return home
