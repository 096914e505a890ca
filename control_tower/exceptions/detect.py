"""Detection: run every exception rule in DuckDB, reconcile the queue, mirror it to the warehouse.

The post-load step `exceptions` calls `refresh_exceptions` with the
pipeline's writer connection. Three phases:

1. detect: each type's rule runs as one vectorised DuckDB query into the temp
   table `exc_detected` (type, key, ...): the conditions true right now, with
   when each began in the source (`event_at`) and whether it is inside the
   type's look-back window (`in_window`). A rule that fails is reported and its
   type is left out of reconciliation, so its open items are not mistaken for
   cleared ones.
2. reconcile: the detected set is joined (in DuckDB) with the items already in
   the app database, which classifies each (type, key) as create, seen,
   reopen (it had cleared and came back), unsnooze (its snooze ended and it is
   still true), clear (no longer true: resolved with reason "cleared") or
   inactive. A look-back window bounds what opens, never what clears: outside
   it a condition only keeps an existing item open, so an item clears when its
   condition is observed resolved (see `rules.base`; `clears=False` types never
   clear). The app database is then changed in one transaction: inserts and
   sighting counts in bulk, status changes one by one with a version check,
   each with its audit row, so a person's concurrent action always wins.
3. mirror: every item is written to `exc.queue_items` for the exception_aging
   KPI and drill-downs, which read the published snapshot.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Connection, Text, bindparam, cast, func, insert, select, update

from control_tower.exceptions.registry import (
    EXCEPTION_TYPES,
    OPTIONAL_RULE_COLUMNS,
    RULE_COLUMNS,
    ExceptionType,
)
from control_tower.exceptions.store import (
    ITEM_CORE_COLUMNS,
    SYSTEM_USER,
    AuditEntry,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.exceptions.workflow import CLEARED
from control_tower.settings import utc_now

log = logging.getLogger(__name__)

ITEMS = ExceptionItem.__table__
AUDIT = AuditEntry.__table__

# The columns of exc.queue_items (declared in control_tower/storage/schema.py) the mirror fills.
MIRROR_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    *ITEM_CORE_COLUMNS,
    "created_at",
    "event_at",
    "last_action_at",
    "sla_hours",
    "resolved_at",
    "item_id",
    "last_seen_at",
    "times_seen",
    "snoozed_until",
    "resolution_code",
    "value_at_risk",
    "detail",
)


class DetectionError(RuntimeError):
    """Some exception rules failed; the others were reconciled and mirrored."""


@dataclass
class DetectionReport:
    """What one detection run found and changed."""

    as_of: date
    now: datetime
    detected: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    actions: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    mirrored: int = 0
    ms: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the run log."""
        a = self.actions
        text = (
            f"{sum(self.detected.values())} conditions true in {len(self.detected)} types: "
            f"{a['create']} new, {a['seen']} persisting, {a['reopen']} reopened, "
            f"{a['unsnooze']} back from snooze, {a['clear']} cleared; "
            f"{self.mirrored} items mirrored"
        )
        if self.failed:
            text += f"; failed rules: {', '.join(sorted(self.failed))}"
        return text


def _utcnow() -> datetime:
    return utc_now()


def detect(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    now: datetime,
    types: dict[str, ExceptionType] | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """Fill temp table `exc_detected` with every true condition; returns (counts, failures)."""
    types = dict(types or EXCEPTION_TYPES)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE exc_detected (type VARCHAR, key VARCHAR, "
        "location_id VARCHAR, entity_id VARCHAR, item_id VARCHAR, detail VARCHAR, "
        "value_at_risk DOUBLE, severity VARCHAR, event_at TIMESTAMP, in_window BOOLEAN)"
    )
    counts: dict[str, int] = {}
    failed: dict[str, str] = {}
    cols = ", ".join(RULE_COLUMNS)
    for t in types.values():
        try:
            optional = _optional_columns(con, t, as_of=as_of, now=now)
            # The name and default severity are validated identifiers of the registry.
            row = con.execute(
                f"WITH r AS (SELECT {cols} FROM ({t.rule}) AS rule) "
                "SELECT count(*), count(DISTINCT key), count(*) FILTER (WHERE key IS NULL) FROM r",
                t.bindings(as_of=as_of, now=now),
            ).fetchone()
            assert row is not None
            total, distinct, null_keys = row
            if total != distinct or null_keys:
                raise DetectionError(
                    f"rule of {t.name!r} returned {total} rows but {distinct} distinct keys "
                    f"({null_keys} empty): its key is not unique"
                )
            con.execute(
                f"INSERT INTO exc_detected SELECT '{t.name}', CAST(key AS VARCHAR), "
                "CAST(location_id AS VARCHAR), CAST(entity_id AS VARCHAR), "
                "CAST(item_id AS VARCHAR), CAST(detail AS VARCHAR), "
                f"CAST(value_at_risk AS DOUBLE), coalesce(CAST(severity AS VARCHAR), '{t.severity}'), "
                f"{optional['event_at']}, {optional['in_window']} FROM ({t.rule}) AS rule",
                t.bindings(as_of=as_of, now=now),
            )
            counts[t.name] = int(total)
        except (duckdb.Error, DetectionError) as exc:
            log.warning("exception rule %s failed: %s", t.name, exc)
            failed[t.name] = f"{type(exc).__name__}: {exc}"
    return counts, failed


def _optional_columns(
    con: duckdb.DuckDBPyConnection, t: ExceptionType, *, as_of: date, now: datetime
) -> dict[str, str]:
    """The SQL of the optional rule columns: the rule's own, else their defaults."""
    cur = con.execute(f"SELECT * FROM ({t.rule}) AS rule LIMIT 0", t.bindings(as_of=as_of, now=now))
    returned = {d[0] for d in cur.description} & set(OPTIONAL_RULE_COLUMNS)
    return {
        "event_at": "CAST(event_at AS TIMESTAMP)" if "event_at" in returned else "NULL",
        "in_window": "coalesce(CAST(in_window AS BOOLEAN), true)"
        if "in_window" in returned
        else "true",
    }


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
FROM exc_detected AS d
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
) -> dict[str, list[dict[str, Any]]]:
    rows = db.execute(
        select(*(ITEMS.c[name] for name in _EXISTING_SCHEMA))  # type: ignore[union-attr]
    ).all()
    existing = pl.DataFrame(rows, schema=_EXISTING_SCHEMA, orient="row")
    con.register("exc_existing", existing.to_arrow())
    try:
        cur = con.execute(_CLASSIFY, {"now": now, "types": types, "clearing": clearing})
        names = [d[0] for d in cur.description]
        out: dict[str, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            if rec["action"] != "none":
                out.setdefault(rec["action"], []).append(rec)
        return out
    finally:
        con.unregister("exc_existing")


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


def _transition(
    db: Connection,
    rec: dict[str, Any],
    *,
    now: datetime,
    action: str,
    values: dict[str, Any],
    changes: dict[str, Any],
) -> bool:
    """One status change with a version check and its audit row; False if someone was first."""
    result = db.execute(
        update(ITEMS)
        .where(ITEMS.c.id == rec["id"], ITEMS.c.version == rec["version"])
        .values(version=ITEMS.c.version + 1, **values)
    )
    if result.rowcount != 1:
        return False
    db.execute(
        insert(AUDIT).values(
            item_id=rec["id"],
            actor=SYSTEM_USER,
            at=now,
            action=action,
            changes=changes,
            version=rec["version"] + 1,
        )
    )
    return True


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
    report: DetectionReport,
    kinds: dict[str, ExceptionType] | None = None,
) -> None:
    """Bring the app database's items in line with `exc_detected` for the given types (declared
    in `kinds`, the registry by default)."""
    kinds = dict(kinds or EXCEPTION_TYPES)
    clearing = [t for t in types if kinds[t].clears]
    with store.engine.begin() as db:
        groups = _classify(con, db, now=now, types=types, clearing=clearing)
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
            for rec in groups.get(group, []):
                action, values, changes = _state_change(group, rec, now)
                ok = _transition(db, rec, now=now, action=action, values=values, changes=changes)
                report.actions[group if ok else "conflict"] += 1
        inactive = [r["id"] for r in groups.get("inactive", [])]
        if inactive:
            db.execute(update(ITEMS).where(ITEMS.c.id.in_(inactive)).values(active=False))
        report.conflicts = report.actions.pop("conflict", 0)


def mirror(
    con: duckdb.DuckDBPyConnection, store: ExceptionStore, *, at: datetime | None = None
) -> int:
    """Replace `exc.queue_items` in the warehouse with every item of the app database, as it is
    at `at` (naive UTC, the product clock by default): what is open now for exception_aging."""
    taken = at or _utcnow()
    names = [c for c in MIRROR_COLUMNS if c != "detail"]
    with store.engine.connect() as db:
        rows = db.execute(
            select(
                *(ITEMS.c[c] for c in names),
                cast(ITEMS.c.detail, Text).label("detail"),
            ).order_by(ITEMS.c.id)
        ).all()
    stamp = pl.Datetime("us")
    typed: dict[str, Any] = {"sla_hours": pl.Float64, "value_at_risk": pl.Float64}
    typed |= {"times_seen": pl.Int32} | {c: stamp for c in names if c.endswith(("_at", "_until"))}
    schema = {c: typed.get(c, pl.String) for c in (*names, "detail")}  # the rest is text
    frame = pl.DataFrame(
        [(str(r[0]), *r[1:]) for r in rows],
        schema=schema,
        orient="row",
    )
    cols = ", ".join((*names, "detail"))
    con.register("exc_mirror", frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM exc.queue_items")
        con.execute(
            f"INSERT INTO exc.queue_items ({cols}, mirrored_at) SELECT {cols}, ? FROM exc_mirror",
            [taken],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("exc_mirror")
    return len(rows)


def refresh_exceptions(
    con: duckdb.DuckDBPyConnection,
    app_db_url: str,
    *,
    as_of: date,
    now: datetime | None = None,
    types: dict[str, ExceptionType] | None = None,
) -> DetectionReport:
    """Detect, reconcile and mirror; raises DetectionError after doing the rest if a rule failed."""
    now = now.astimezone(UTC).replace(tzinfo=None) if now and now.tzinfo else now or _utcnow()
    report = DetectionReport(as_of=as_of, now=now)
    t0 = time.perf_counter()
    report.detected, report.failed = detect(con, as_of=as_of, now=now, types=types)
    t1 = time.perf_counter()
    with ExceptionStore.open(app_db_url) as store:
        reconcile(con, store, now=now, types=sorted(report.detected), report=report, kinds=types)
        t2 = time.perf_counter()
        report.mirrored = mirror(con, store, at=now)
    t3 = time.perf_counter()
    con.execute("DROP TABLE IF EXISTS exc_detected")
    report.ms = {
        "detect": round((t1 - t0) * 1000),
        "reconcile": round((t2 - t1) * 1000),
        "mirror": round((t3 - t2) * 1000),
    }
    if report.failed:
        raise DetectionError(
            "exception rules failed (their items were left as they were): "
            + "; ".join(f"{k}: {v}" for k, v in sorted(report.failed.items()))
        )
    return report
