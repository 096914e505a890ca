"""Later deliveries on top of exception_cases.DELIVERY, landed without the post-load steps, and
the state of the queue to compare an incremental detection with a full one.

Each delta is what an ERP or WMS delivers between two runs of one day: new lines,
updated lines that stop or start being exceptions, a new inventory snapshot, a table no
rule reads. `land_delta` lands one through the real pipeline (no post-load step runs)
and returns the run's changes, which the test then hands to `refresh_exceptions`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from control_tower.exceptions.store import AuditEntry, Comment, ExceptionItem
from control_tower.storage.changes import Changes
from pipelines.refresh import loaded_batches
from pipelines.run import run_pipeline
from tests.support.clock import clock_at
from tests.support.exception_cases import (
    DELIVERY,
    later,
    settings,
    store,
    write_delivery,
    writer,
)

U = "2026-03-12T10:30:00Z"  # updated_at of the deltas' new versions (newer than DELIVERY's)


def rows(table: str, text: str) -> str:
    """A CSV of `table` with DELIVERY's header and these rows."""
    return DELIVERY[table].splitlines(keepends=True)[0] + text


# 11:00 - lines and shipments: O1|1 shipped in full (its backorder clears), O4|1 ordered down
# to what shipped (its short shipment clears), O6|1 a new past-due line, O7|1 a new short
# shipment; close task T2 done, invoice line INV1|1 matched (both clear).
ORDERS: dict[str, str] = {
    "sales_order_lines": rows(
        "sales_order_lines",
        f"""\
O4,1,E1,C2,I1,L1,EDI,2026-03-05T15:00:00Z,15,EA,4.00,2026-03-09,2026-03-09,shipped,{U}
O6,1,E1,C1,I2,L1,EDI,2026-03-04T15:00:00Z,3,EA,15.00,2026-03-06,2026-03-06,open,{U}
O7,1,E2,C2,I3,L2,web,2026-03-08T09:00:00Z,50,EA,0.10,2026-03-10,2026-03-10,shipped,{U}
""",
    ),
    "shipments": rows(
        "shipments",
        """\
S6,O1,1,I1,L1,,6,EA,2026-03-12T09:00:00Z
S7,O7,1,I3,L2,,30,EA,2026-03-11T12:00:00Z
""",
    ),
    "close_tasks": rows(
        "close_tasks",
        f"""\
E1,2026-02,T2,Accruals,gl,bob,2026-03-04,2026-03-12T09:00:00Z,done,{U}
""",
    ),
    "ap_invoice_lines": rows(
        "ap_invoice_lines",
        f"""\
INV1,1,E1,S1,P1,1,12,2.75,2026-03-09,false,matched,{U}
""",
    ),
}

# 12:00 - stock: a new snapshot day for L1 (I1 covered again, I2 at zero: O8|1 is no longer
# covered), a recount of bin A1 within tolerance (its variance clears), customer C2 raised to
# priority tier 1.
STOCK: dict[str, str] = {
    "inventory_snapshots": rows(
        "inventory_snapshots",
        """\
2026-03-12,L1,I1,200,0,0,0
2026-03-12,L1,I2,0,0,0,0
2026-03-12,L1,I3,20,0,0,0
""",
    ),
    "cycle_counts": rows(
        "cycle_counts",
        """\
CC7,L1,A1,I1,2026-03-12T08:00:00Z,100,100,U1
""",
    ),
    "customers": rows(
        "customers",
        f"""\
C2,Globex,Wholesale,1,EU,{U}
""",
    ),
}

RETURN_HEADER = (
    "rma_id,line_no,order_id,order_line_no,item_id,returned_qty,reason_code,created_at\n"
)

# A return because the customer changed their mind: it makes no order imperfect.
CHANGED_MIND_RETURN: dict[str, str] = {
    "returns": RETURN_HEADER + "R9,1,O2,1,I3,2,customer_change,2026-03-12T11:00:00Z\n",
}

# 13:00 - after the sale: a damaged return on O4 (its missed promises now say so) and the
# carrier's invoice of F3, 50% over plan (a freight cost overrun).
RETURNS: dict[str, str] = {
    "returns": RETURN_HEADER + "R1,1,O4,2,I1,2,damaged,2026-03-12T11:00:00Z\n",
    "freight_shipments": rows(
        "freight_shipments",
        f"""\
F3,S2,CAR2,LTL,standard,2026-03-05T13:00:00Z,2026-03-05T13:00:00Z,2026-03-06T17:00:00Z,2026-03-07T10:00:00Z,100.00,150.00,false,delivered,{U}
""",
    ),
}

# 14:00 - O4|1 ordered up again (short again: its cleared item reopens), O6|1 cancelled.
REORDER: dict[str, str] = {
    "sales_order_lines": rows(
        "sales_order_lines",
        """\
O4,1,E1,C2,I1,L1,EDI,2026-03-05T15:00:00Z,20,EA,4.00,2026-03-09,2026-03-09,shipped,2026-03-12T11:30:00Z
O6,1,E1,C1,I2,L1,EDI,2026-03-04T15:00:00Z,3,EA,15.00,2026-03-06,2026-03-06,cancelled,2026-03-12T11:30:00Z
""",
    ),
}

# The deltas of one day, each with the hour after NOW it lands and is detected at.
DAY: tuple[tuple[float, dict[str, str]], ...] = (
    (1, ORDERS),
    (2, STOCK),
    (3, RETURNS),
    (4, REORDER),
)


def land_delta(home: Path, tables: dict[str, str], hours: float) -> Changes:
    """Land `tables` at NOW + `hours` through the pipeline, no post-load step; the run's changes."""
    cfg = settings(home)
    write_delivery(cfg.inbox, tables)
    with clock_at(later(hours)), pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipelines.run.POST_LOAD_STEPS", [])
        report = run_pipeline(cfg, trigger="cli", inbox=cfg.inbox, keep=True)
    assert report.ingest.count("loaded") == len(tables), report.ingest
    return loaded_batches(report.ingest)


# What differs between a delta and a full refresh by design: the full one counts a sighting
# of every true condition, the delta only of those whose facts changed; and the elapsed
# times in the detail of keyed rules' items are those of their last change (the first run
# of a day, a full one, brings them up to date).
BOOKKEEPING = ("id", "last_seen_at", "times_seen")
ELAPSED = ("minutes_late", "hours_waiting", "hours_late")


def _facts(detail: dict[str, Any] | str) -> dict[str, Any]:
    """A detail without its elapsed times."""
    facts = json.loads(detail) if isinstance(detail, str) else detail
    return {k: v for k, v in facts.items() if k not in ELAPSED}


def queue(home: Path, *, all_columns: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item by (type, key), with its audit trail and comments (ids and sightings left
    out unless `all_columns`)."""
    out = {}
    with store(home) as s:
        for item in s.items(status="all"):
            row = {c.name: getattr(item, c.key) for c in ExceptionItem.__table__.columns}
            if not all_columns:
                row = {k: v for k, v in row.items() if k not in BOOKKEEPING}
                row["value_at_risk"] = _rounded(row["value_at_risk"])
                row["detail"] = _facts(row["detail"])
            row["audit"] = [_audit(a) for a in s.audit(item.id)]
            row["comments"] = [_comment(c) for c in s.comments(item.id)]
            out[(item.type, item.key)] = row
    return out


def _audit(a: AuditEntry) -> tuple[Any, ...]:
    return (a.actor, a.at, a.action, json.dumps(a.changes, sort_keys=True), a.version, a.note)


def _comment(c: Comment) -> tuple[Any, ...]:
    return (c.author, c.created_at, c.body)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def mirrored(home: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The warehouse's copy of the queue by (type, key), without ids and sightings."""
    with writer(home) as con:
        cur = con.execute("SELECT * FROM exc.queue_items")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {
        (r["type"], r["key"]): {
            **{k: v for k, v in r.items() if k not in BOOKKEEPING},
            "detail": _facts(r["detail"]),
            "value_at_risk": _rounded(r["value_at_risk"]),
        }
        for r in rows
    }


def remembered(home: Path) -> set[tuple[Any, ...]]:
    """What the warehouse remembers of the last detection (exc.detected), elapsed times left out."""
    with writer(home) as con:
        rows = con.execute(
            "SELECT type, key, location_id, entity_id, item_id, detail, round(value_at_risk, 6), "
            "severity, event_at, in_window FROM exc.detected"
        ).fetchall()
    return {(*r[:5], json.dumps(_facts(r[5]), sort_keys=True), *r[6:]) for r in rows}
