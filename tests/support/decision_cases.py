"""A hand-built decision review case: a tiny warehouse and app database whose outcomes are
worked out by hand (each row's comment says what it should give).

Period 2026-03-01 .. 2026-03-20; the data ends on 2026-03-20 (the newest snapshot, the as-of
day); the clock reads 2026-03-21 09:00. Horizon 7 days. Sites DC-A and DC-B of entity E1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.actions.store import ActionRequest
from control_tower.decisions.outcomes import Outcomes, Period, Question, outcomes
from control_tower.decisions.review import Review, review
from control_tower.exceptions.store import AuditEntry, ExceptionItem, ExceptionStore, LinePromise
from control_tower.kpi.catalog import load_catalog
from control_tower.settings import DEFAULT_KPI_DEFINITIONS
from control_tower.storage.schema import ensure_schema

START = date(2026, 3, 1)
END = date(2026, 3, 20)
NOW = datetime(2026, 3, 21, 9, 0)
LAST_SNAPSHOT = date(2026, 3, 20)
SITE = {"DC-A": "E1", "DC-B": "E1"}


def _snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """Daily snapshots 2026-02-01 .. 2026-03-20 of SKU1..SKU3 at both sites (available 10),
    but SKU1 at DC-A has nothing available on 2026-03-08."""
    rows = []
    day = date(2026, 2, 1)
    while day <= LAST_SNAPSHOT:
        for loc in SITE:
            for item in ("SKU1", "SKU2", "SKU3", "SKU4"):
                out = (loc, item) == ("DC-A", "SKU1") and day == date(2026, 3, 8)
                # SKU4 at DC-B: out on 03-12 (a ranking case)
                out = out or ((loc, item) == ("DC-B", "SKU4") and day == date(2026, 3, 12))
                rows.append((day, loc, item, 2 if out else 12, 2, 0, 0))
        day += timedelta(days=1)
    con.executemany(
        "INSERT INTO inventory_snapshots (snapshot_date, location_id, item_id, on_hand_qty, "
        "allocated_qty, quarantined_qty, in_transit_qty) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _line(con: duckdb.DuckDBPyConnection, order: str, loc: str, delivered: date | None) -> None:
    """A line of 10 units first promised 2026-03-04, shipped and delivered in full on
    `delivered` (None: not shipped)."""
    con.execute(
        "INSERT INTO sales_order_lines (order_id, line_no, entity_id, customer_id, item_id, "
        "location_id, channel, order_ts, order_ts_local_date, ordered_qty, uom, unit_price, "
        "requested_date, promised_date, first_promised_date, status) VALUES "
        "(?, 1, 'E1', 'C1', 'SKU1', ?, 'edi', TIMESTAMP '2026-03-01 08:00', DATE '2026-03-01', "
        "10, 'EA', 5, DATE '2026-03-04', DATE '2026-03-04', DATE '2026-03-04', ?)",
        [order, loc, "shipped" if delivered else "open"],
    )
    if delivered is None:
        return
    at = datetime.combine(delivered, datetime.min.time()) + timedelta(hours=10)
    con.execute(
        "INSERT INTO shipments (shipment_id, order_id, line_no, item_id, location_id, "
        "shipped_qty, uom, shipped_ts, shipped_ts_local_date) VALUES (?, ?, 1, 'SKU1', ?, 10, "
        "'EA', ?, ?)",
        [f"S-{order}", order, loc, at - timedelta(days=1), delivered - timedelta(days=1)],
    )
    con.execute(
        "INSERT INTO freight_shipments (tms_shipment_id, shipment_id, status, "
        "actual_delivery_ts, actual_delivery_ts_local_date) VALUES (?, ?, 'delivered', ?, ?)",
        [f"T-{order}", f"S-{order}", at, delivered],
    )


def warehouse() -> duckdb.DuckDBPyConnection:
    """The case's warehouse, in memory."""
    con = duckdb.connect()
    ensure_schema(con)
    _snapshots(con)
    con.executemany(
        "INSERT INTO locations (location_id, name, entity_id, timezone) VALUES (?, ?, ?, 'UTC')",
        [(loc, loc, entity) for loc, entity in SITE.items()],
    )
    _line(con, "O1", "DC-A", date(2026, 3, 9))  # re-promised to 03-10: met
    _line(con, "O2", "DC-B", date(2026, 3, 12))  # re-promised to 03-10: missed; to 03-12: met
    _line(con, "O3", "DC-A", None)  # re-promised to 04-05: too early
    return con


def _item(
    s: Any, id_: int, type_: str, key: str, loc: str, item: str | None, code: str,
    resolved: datetime, who: str, detail: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> None:  # fmt: skip
    s.add(
        ExceptionItem(
            id=id_, type=type_, key=key, status="resolved", severity="medium",
            owner_role="planner", location_id=loc, entity_id=SITE[loc], item_id=item,
            sla_hours=24, created_at=created or resolved - timedelta(days=1),
            last_seen_at=created or resolved - timedelta(days=1), resolved_at=resolved,
            resolution_code=code, detail=detail or {}, active=False,
        )
    )  # fmt: skip
    s.flush()
    s.add(AuditEntry(item_id=id_, actor=who, at=resolved, action="resolve", changes={}, version=2))


def _scored(
    s: Any, id_: int, loc: str, item: str, seen: datetime, prob: float | None, cover: float
) -> None:
    """An open stockout_risk item detected in the period, last seen at `seen` with the
    model's probability (None: detected by the rule) and the days of cover."""
    detail: dict[str, Any] = {"days_of_cover": cover, "available_qty": 10}
    if prob is not None:
        detail |= {"source": "model", "probability": prob, "horizon_days": 7}
    s.add(
        ExceptionItem(
            id=id_, type="stockout_risk", key=f"{loc}|{item}|{id_}", status="open",
            severity="medium", owner_role="planner", location_id=loc, entity_id=SITE[loc],
            item_id=item, sla_hours=24, created_at=seen, last_seen_at=seen, detail=detail,
        )
    )  # fmt: skip


def _request(
    s: Any, id_: int, item: int, type_: str, status: str, who: str, loc: str,
    expected: date | None, confirmed: datetime | None, params: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    s.add(
        ActionRequest(
            id=id_, request_uid=f"00000000-0000-0000-0000-{id_:012d}", type=type_,
            system="erp", status=status, exception_id=item, entity_id=SITE[loc],
            location_id=loc, item_id="SKU1", params=params or {}, requested_by=who,
            requested_at=datetime(2026, 3, 4, 9), expected_by=expected, confirmed_at=confirmed,
        )
    )  # fmt: skip


def _line_detail(order: str) -> dict[str, Any]:
    return {"order_id": order, "line_no": 1, "covered": False}


def app_store(folder: Path) -> ExceptionStore:
    """The case's app database (SQLite in `folder`)."""
    store = ExceptionStore.open(f"sqlite:///{folder / 'app.sqlite'}")
    at = datetime(2026, 3, 5, 10)
    with store.session() as s:
        # false positives: #1 stocked out anyway (03-08), #2 did not, #3 too early (03-16 + 7
        # days passes the last snapshot of 03-20)
        _item(s, 1, "stockout_risk", "DC-A|SKU1", "DC-A", "SKU1", "false_positive", at, "alice")
        _item(s, 2, "stockout_risk", "DC-A|SKU2", "DC-A", "SKU2", "false_positive", at, "bob")
        _item(s, 3, "stockout_risk", "DC-B|SKU3", "DC-B", "SKU3", "false_positive",
              datetime(2026, 3, 16, 10), "alice")  # fmt: skip
        # re-promised lines: met, missed, too early
        for id_, order, loc in ((4, "O1", "DC-A"), (5, "O2", "DC-B"), (6, "O3", "DC-A")):
            _item(s, id_, "order_at_risk", f"{order}|1", loc, "SKU1", "re_promised",
                  datetime(2026, 3, 6, 10), "carol", _line_detail(order))  # fmt: skip
        # resolved before the period: not reviewed
        _item(s, 7, "stockout_risk", "DC-B|SKU2", "DC-B", "SKU2", "false_positive",
              datetime(2026, 2, 20, 10), "alice")  # fmt: skip
        # ranked by the model and the rule (see tests/decisions for the worked numbers)
        _scored(s, 11, "DC-B", "SKU4", datetime(2026, 3, 10, 6), 0.9, 5.0)  # stocks out 03-12
        _scored(s, 12, "DC-B", "SKU1", datetime(2026, 3, 10, 6), 0.7, 1.0)
        _scored(s, 13, "DC-B", "SKU2", datetime(2026, 3, 10, 6), 0.4, 6.0)
        _scored(s, 14, "DC-A", "SKU1", datetime(2026, 3, 5, 6), 0.2, 0.5)  # stocks out 03-08
        _scored(s, 15, "DC-A", "SKU3", datetime(2026, 3, 10, 6), None, 2.0)  # the rule's
        _scored(s, 16, "DC-B", "SKU3", datetime(2026, 3, 18, 6), 0.5, 2.0)  # too early
        # requests raised from #2: on time, late, never confirmed, rejected, not yet due
        _request(s, 1, 2, "stock_transfer", "confirmed", "bob", "DC-A", date(2026, 3, 10),
                 datetime(2026, 3, 10, 23))  # fmt: skip
        _request(s, 2, 2, "po_expedite", "confirmed", "bob", "DC-A", date(2026, 3, 10),
                 datetime(2026, 3, 12, 8))  # fmt: skip
        _request(s, 3, 2, "purchase_requisition", "overdue", "alice", "DC-A",
                 date(2026, 3, 10), None)  # fmt: skip
        _request(s, 4, 2, "stock_transfer", "rejected", "alice", "DC-A", None, None)
        _request(s, 5, 2, "stock_transfer", "sent", "bob", "DC-A", date(2026, 3, 25), None)
        # a re_promise request on #5 to 03-12: met (delivered 03-12)
        _request(s, 6, 5, "re_promise", "confirmed", "carol", "DC-B", date(2026, 3, 8),
                 datetime(2026, 3, 7, 8), {"order_id": "O2", "line_no": 1,
                                           "new_promised_date": "2026-03-12"})  # fmt: skip
    for order, day in (("O1", date(2026, 3, 10)), ("O2", date(2026, 3, 10)),
                       ("O3", date(2026, 4, 5))):  # fmt: skip
        store.record_promise(
            LinePromise(
                order_id=order, line_no=1, promised_date=day,
                previous_promised_date=date(2026, 3, 4), reason="stock late", actor="carol",
                recorded_at=datetime(2026, 3, 6, 10),
            )
        )  # fmt: skip
    return store


@contextmanager
def case(folder: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, ExceptionStore]]:
    """The case's warehouse and app database, closed after."""
    con = warehouse()
    store = app_store(folder)
    try:
        yield con, store
    finally:
        store.close()
        con.close()


def question(scope: Scope | None = None) -> Question:
    """The case's period, at its clock, for `scope` (everything by default)."""
    return Question(scope or Scope.of(), Period(START, END), NOW)


def case_outcomes(folder: Path, scope: Scope | None = None) -> Outcomes:
    """The case's decisions with their outcomes, seen with `scope`."""
    with case(folder) as (con, store):
        return outcomes(con, store, load_catalog(DEFAULT_KPI_DEFINITIONS), question(scope))


def case_review(folder: Path, scope: Scope | None = None) -> Review:
    """The case's review, seen with `scope`."""
    with case(folder) as (con, store):
        return review(con, store, load_catalog(DEFAULT_KPI_DEFINITIONS), question(scope))
