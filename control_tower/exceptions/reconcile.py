"""Reconciliation: bring the queue in the app database in line with what detection found.

The detected conditions (a temp table of type, key and facts) are joined in
DuckDB with the items already in the app database, which classifies each
(type, key) as create, seen, reopen (it had cleared and came back), unsnooze
(its snooze ended and it is still true), clear (no longer true: resolved with
reason "cleared") or inactive. A look-back window bounds what opens, never
what clears: outside it a condition only keeps an existing item open, so an
item clears when its condition is observed resolved (see `rules.base`;
`clears=False` types never clear). The app database is then changed in one
transaction: inserts, sighting counts and status changes in bulk, each status
change with a version check and its audit row, so a person's concurrent action
always wins.

A full refresh looks at every item. A delta (`ReconcileScope`) looks only at
the items of the types detected in full, the (type, key) pairs whose result
changed (temp table `exc_reconcile`, `control_tower.exceptions.scope`) and the
snoozed items whose snooze has ended; every other item is left as it is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import duckdb
import polars as pl
from sqlalchemy import Connection, bindparam, func, insert, select, tuple_, update

from control_tower.exceptions.registry import EXCEPTION_TYPES, ExceptionType
from control_tower.exceptions.scope import judged_sql
from control_tower.exceptions.store import (
    SYSTEM_USER,
    AuditEntry,
    ExceptionItem,
    ExceptionStore,
    in_chunks,
)
from control_tower.exceptions.workflow import CLEARED

ITEMS = ExceptionItem.__table__
AUDIT = AuditEntry.__table__


@dataclass(frozen=True)
class ReconcileScope:
    """The items a delta reconciles: every item of `full_types`, and for `delta_types` those
    of the pairs in `exc_reconcile` and those whose snooze has ended."""

    full_types: tuple[str, ...] = ()
    delta_types: tuple[str, ...] = ()


class Tally(Protocol):
    """Where a reconcile counts what it did (a detection report)."""

    actions: Counter[str]
    conflicts: int


_EXISTING_SCHEMA = {
    "id": pl.Int64,
    "type": pl.String,
    "key": pl.String,
    "status": pl.String,
    "active": pl.Boolean,
    "snoozed_until": pl.Datetime("us"),
    "resolution_code": pl.String,
    "version": pl.Int64,
}

_CLASSIFY = """
SELECT
    coalesce(d.type, e.type) AS type,
    coalesce(d.key, e.key) AS key,
    e.id, e.version, e.status, e.resolution_code, e.snoozed_until,
    d.location_id, d.entity_id, d.item_id, d.detail, d.value_at_risk, d.severity, d.event_at,
    CASE
        -- outside the look-back window a condition keeps an item open, never opens one
        WHEN e.id IS NULL AND d.in_window THEN 'create'
        WHEN e.id IS NULL THEN 'none'
        WHEN d.key IS NULL AND e.status <> 'resolved' AND list_contains($clearing, e.type)
            THEN 'clear'
        WHEN d.key IS NULL AND e.status <> 'resolved' THEN 'none'
        WHEN d.key IS NULL AND e.active THEN 'inactive'
        WHEN d.key IS NULL THEN 'none'
        WHEN e.status = 'resolved' AND NOT e.active AND d.in_window THEN 'reopen'
        WHEN e.status = 'resolved' AND NOT e.active THEN 'none'
        WHEN e.status = 'snoozed' AND e.snoozed_until <= CAST($now AS TIMESTAMP) THEN 'unsnooze'
        ELSE 'seen'
    END AS action
FROM {detected} AS d
FULL OUTER JOIN exc_existing AS e ON e.type = d.type AND e.key = d.key
WHERE d.key IS NOT NULL OR list_contains($types, e.type)
"""


def _classify(
    con: duckdb.DuckDBPyConnection,
    db: Connection,
    *,
    now: datetime,
    types: list[str],
    clearing: list[str],
    scope: ReconcileScope | None,
) -> dict[str, list[dict[str, Any]]]:
    existing = pl.DataFrame(_existing(con, db, now, scope), schema=_EXISTING_SCHEMA, orient="row")
    if scope is not None:
        existing = existing.unique("id", keep="first", maintain_order=True)
        con.execute(f"CREATE OR REPLACE TEMP TABLE exc_judged AS {judged_sql(scope.full_types)}")
    con.complete()  # DuckDB registers no frame beside an unread result
    con.register("exc_existing", existing.to_arrow())
    try:
        cur = con.execute(
            _CLASSIFY.format(detected="exc_detected" if scope is None else "exc_judged"),
            {"now": now, "types": types, "clearing": clearing},
        )
        names = [d[0] for d in cur.description]
        out: dict[str, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            if rec["action"] != "none":
                out.setdefault(rec["action"], []).append(rec)
        return out
    finally:
        con.unregister("exc_existing")
        con.execute("DROP TABLE IF EXISTS exc_judged")


def _existing(
    con: duckdb.DuckDBPyConnection, db: Connection, now: datetime, scope: ReconcileScope | None
) -> list[Any]:
    """The items a reconcile looks at: all, or on a delta those of its scope; the pairs of
    ended snoozes join `exc_reconcile`."""
    query = select(*(ITEMS.c[name] for name in _EXISTING_SCHEMA))  # type: ignore[union-attr]
    if scope is None:
        return list(db.execute(query).all())
    rows: list[Any] = []
    if scope.full_types:
        rows += db.execute(query.where(ITEMS.c.type.in_(scope.full_types))).all()
    pairs = con.execute("SELECT type, list(key ORDER BY key) FROM exc_reconcile GROUP BY type")
    for type_, keys in pairs.fetchall():
        for chunk in in_chunks(keys):
            rows += db.execute(query.where(ITEMS.c.type == type_, ITEMS.c.key.in_(chunk))).all()
    if scope.delta_types:
        ended = db.execute(
            query.where(
                ITEMS.c.status == "snoozed",
                ITEMS.c.snoozed_until <= now,
                ITEMS.c.type.in_(scope.delta_types),
            )
        ).all()
        if ended:
            con.executemany(
                "INSERT INTO exc_reconcile VALUES (?, ?)", [(r.type, r.key) for r in ended]
            )
        rows += ended
    return rows


def _sighting(rec: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "b_id": rec["id"],
        "last_seen_at": now,
        "severity": rec["severity"],
        "location_id": rec["location_id"],
        "entity_id": rec["entity_id"],
        "item_id": rec["item_id"],
        "value_at_risk": rec["value_at_risk"],
        "detail": json.loads(rec["detail"]) if rec["detail"] else {},
        "b_event_at": rec["event_at"],
    }


def _transitions(db: Connection, group: str, recs: list[dict[str, Any]], now: datetime) -> int:
    """The group's status changes (every one of a group sets the same values), each with a
    version check and its audit row; the number made. One UPDATE per few hundred items, on
    the items whose version is still the one classified (a person who changed an item since
    wins: it is left as they made it), and audit rows for exactly the items it changed."""
    made = 0
    for chunk in in_chunks(recs):
        action, values, _ = _state_change(group, chunk[0], now)
        changed = {
            item_id
            for (item_id,) in db.execute(
                update(ITEMS)
                .where(
                    tuple_(ITEMS.c.id, ITEMS.c.version).in_(
                        [(r["id"], r["version"]) for r in chunk]
                    )
                )
                .values(version=ITEMS.c.version + 1, **values)
                .returning(ITEMS.c.id)
            )
        }
        audit = [
            {
                "item_id": rec["id"],
                "actor": SYSTEM_USER,
                "at": now,
                "action": action,
                "changes": _state_change(group, rec, now)[2],
                "version": rec["version"] + 1,
            }
            for rec in chunk
            if rec["id"] in changed
        ]
        if audit:
            db.execute(insert(AUDIT), audit)
        made += len(audit)
    return made


def _state_change(
    group: str, rec: dict[str, Any], now: datetime
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The audit action, new column values and audited changes of a reopen, unsnooze or clear."""
    if group == "reopen":
        return (
            "reopened",
            {"status": "open", "resolved_at": None, "resolution_code": None},
            {"status": ["resolved", "open"], "resolution_code": [rec["resolution_code"], None]},
        )
    if group == "unsnooze":
        return (
            "snooze_ended",
            {"status": "open", "snoozed_until": None},
            {"status": ["snoozed", "open"], "snoozed_until": [str(rec["snoozed_until"]), None]},
        )
    if group == "clear":
        values = {
            "status": "resolved",
            "resolved_at": now,
            "resolution_code": CLEARED,
            "snoozed_until": None,
            "active": False,
        }
        changes = {
            "status": [rec["status"], "resolved"],
            "resolution_code": [None, CLEARED],
            "resolved_at": [None, now.isoformat(sep=" ")],
        }
        return "cleared", values, changes
    raise ValueError(f"no state change for the reconcile group {group!r}")


def reconcile(
    con: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    *,
    now: datetime,
    types: list[str],
    report: Tally,
    kinds: Mapping[str, ExceptionType] | None = None,
    scope: ReconcileScope | None = None,
) -> set[int]:
    """Bring the app database's items in line with `exc_detected` for the given types (declared
    in `kinds`, the registry by default): all of their items, or on a delta those of `scope`.
    Returns the ids of the items it changed."""
    kinds = dict(kinds or EXCEPTION_TYPES)
    clearing = [t for t in types if kinds[t].clears]
    with store.engine.begin() as db:
        groups = _classify(con, db, now=now, types=types, clearing=clearing, scope=scope)
        written = {r["id"] for rs in groups.values() for r in rs if r["id"] is not None}
        new = groups.get("create", [])
        if new:
            created = db.execute(
                insert(ITEMS).returning(ITEMS.c.id, ITEMS.c.type, sort_by_parameter_order=True),
                [
                    {
                        "type": r["type"],
                        "key": r["key"],
                        "status": "open",
                        "severity": r["severity"],
                        "owner_role": kinds[r["type"]].owner_role,
                        "location_id": r["location_id"],
                        "entity_id": r["entity_id"],
                        "item_id": r["item_id"],
                        "sla_hours": kinds[r["type"]].sla_hours,
                        "created_at": now,
                        "event_at": r["event_at"] or now,
                        "last_seen_at": now,
                        "times_seen": 1,
                        "active": True,
                        "value_at_risk": r["value_at_risk"],
                        "detail": json.loads(r["detail"]) if r["detail"] else {},
                        "version": 1,
                    }
                    for r in new
                ],
            ).all()
            db.execute(
                insert(AUDIT),
                [
                    {
                        "item_id": item_id,
                        "actor": SYSTEM_USER,
                        "at": now,
                        "action": "created",
                        "changes": {"status": [None, "open"]},
                        "version": 1,
                    }
                    for item_id, _type in created
                ],
            )
            report.actions["create"] = len(created)
            written.update(item_id for item_id, _type in created)
        sightings = [
            _sighting(r, now)
            for action in ("seen", "reopen", "unsnooze")
            for r in groups.get(action, [])
        ]
        if sightings:
            # Bookkeeping only: no version bump, so a person's open form does not go stale.
            db.execute(
                update(ITEMS)
                .where(ITEMS.c.id == bindparam("b_id"))
                .values(
                    last_seen_at=bindparam("last_seen_at"),
                    times_seen=ITEMS.c.times_seen + 1,
                    active=True,
                    severity=bindparam("severity"),
                    location_id=bindparam("location_id"),
                    entity_id=bindparam("entity_id"),
                    item_id=bindparam("item_id"),
                    value_at_risk=bindparam("value_at_risk"),
                    detail=bindparam("detail"),
                    # fills the event time of items stored before it was recorded
                    event_at=func.coalesce(bindparam("b_event_at"), ITEMS.c.event_at),
                ),
                sightings,
            )
            report.actions["seen"] = len(groups.get("seen", []))
        for group in ("reopen", "unsnooze", "clear"):
            recs = groups.get(group, [])
            if recs:
                made = _transitions(db, group, recs, now)
                report.actions.update(+Counter({group: made, "conflict": len(recs) - made}))
        inactive = [r["id"] for r in groups.get("inactive", [])]
        if inactive:
            db.execute(update(ITEMS).where(ITEMS.c.id.in_(inactive)).values(active=False))
        report.conflicts = report.actions.pop("conflict", 0)
    return written
