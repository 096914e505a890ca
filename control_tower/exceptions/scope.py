"""Incremental detection: which rules a run recomputes, for which keys, and which items it reconciles.

A full refresh runs every rule over all data and reconciles every item. A
delta (`control_tower.storage.changes.Changes` naming the run's batches) runs:

- a keyed rule (`ExceptionType.keyed`) only for the keys reached from the rows
  its tables got (`keys_from`) and, if it moves with the clock, the keys that
  came due since its last detection (`due`); not at all when there are none;
- any other rule whole, only when one of its landed tables got a batch, a
  derived table it reads (ops.*, risk.*) changed since its last detection, or
  it moves with the clock (`clock`) and the instant moved since then.

Only the (type, key) pairs where the new result differs from the last
detection are reconciled (new conditions open, cleared ones resolve, changed
facts are refreshed), plus the snoozed items whose snooze has ended (they come
back when their condition still holds). Every other item is left exactly as
it is: no sighting is counted, no state changes.

The warehouse keeps what the last detection found (`exc.detected`, one row per
true condition) and, per type, the instant of its last detection, the as-of day
of its last full one and a fingerprint of the derived tables it read
(`exc.detection_state`). A type with no full detection on the run's as-of day
is detected in full whatever the run's changes: conditions that age with the
day (days past promise, due dates) move for every key once a day, and so do
the elapsed times in keyed rules' details (hours late), which a delta leaves
as they were at the item's last change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.exceptions.registry import (
    OPTIONAL_RULE_COLUMNS,
    RULE_COLUMNS,
    ExceptionType,
)
from control_tower.storage.changes import Changes

FULL, KEYS, WHOLE, SKIP = "full", "keys", "whole", "skip"

# The columns of a detected condition, in the order of the temp table `exc_detected` and of
# `exc.detected` (control_tower/storage/schema.py).
DETECTED_COLUMNS: tuple[str, ...] = ("type", *RULE_COLUMNS, *OPTIONAL_RULE_COLUMNS)


@dataclass(frozen=True)
class RulePlan:
    """How one type is detected in this run, and why."""

    mode: str  # full, keys (keyed, for the run's keys), whole (run whole, reconcile the difference), skip
    reason: str
    fingerprint: str | None = None  # of the derived tables the rule reads, as of this run
    since: datetime | None = None  # the instant of the type's last detection

    @property
    def runs(self) -> bool:
        """Whether the type's rule is run at all."""
        return self.mode != SKIP


def plan_rules(
    con: duckdb.DuckDBPyConnection,
    changes: Changes,
    types: Mapping[str, ExceptionType],
    *,
    as_of: date,
    now: datetime,
) -> dict[str, RulePlan]:
    """How each of `types` is detected: in full, for the run's keys, whole, or not at all."""
    state = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT type, full_as_of, last_now, fingerprint FROM exc.detection_state"
        ).fetchall()
    }
    plans = {}
    for name, t in types.items():
        fp = _fingerprint(con, t)
        full_as_of, last_now, last_fp = state.get(name, (None, None, None))
        landed = [table for table in t.reads if "." not in table]
        if changes.full:
            plan = RulePlan(FULL, changes.describe(), fp)
        elif full_as_of != as_of:
            plan = RulePlan(FULL, f"no full detection on {as_of.isoformat()} yet", fp)
        elif not t.reads:
            plan = RulePlan(WHOLE, "what it reads is not declared", fp)
        elif t.keyed and fp != last_fp:  # its keys cannot say which rows a rate moves
            plan = RulePlan(WHOLE, "a derived table it reads changed", fp)
        elif t.keyed and changes.touches(landed):
            plan = RulePlan(KEYS, "keys of the new rows", fp, last_now)
        elif t.keyed and t.clock and last_now is not None and now > last_now:
            plan = RulePlan(KEYS, "keys that came due", fp, last_now)
        elif t.keyed:
            plan = RulePlan(SKIP, "", fp)
        elif changes.touches(landed):
            plan = RulePlan(WHOLE, "its tables got rows", fp)
        elif fp != last_fp:
            plan = RulePlan(WHOLE, "a derived table it reads changed", fp)
        elif t.clock and now != last_now:
            plan = RulePlan(WHOLE, "it moves with the clock", fp)
        else:
            plan = RulePlan(SKIP, "", fp)
        plans[name] = plan
    return plans


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row of an aggregate query, read to its end (the connection is free after)."""
    (row,) = con.execute(sql).fetchall()
    return tuple(row)


def _fingerprint(con: duckdb.DuckDBPyConnection, t: ExceptionType) -> str | None:
    """A summary of every row of the derived tables `t` reads (None: it reads none)."""
    derived = sorted(table for table in t.reads if "." in table)
    if not derived:
        return None
    parts = []
    for table in derived:  # validated names (ExceptionType)
        row = one_row(con, f"SELECT count(*), sum(hash(t)) FROM {table} AS t")
        parts.append(f"{table}:{row[0]}:{row[1]}")
    return " ".join(parts)


def set_scope(
    con: duckdb.DuckDBPyConnection,
    t: ExceptionType | None,
    changes: Changes,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Point the rules' `exc_in_scope(key)` at every key (`t` None), or at the keys the run's
    rows of `t`'s tables reach and, for a clock rule, those that came due between `since` and
    `now` (temp table `exc_scope`); returns how many keys."""
    if t is None:
        con.execute("CREATE OR REPLACE TEMP MACRO exc_in_scope(k) AS true")
        return 0
    parts = [
        f"(WITH touched AS (SELECT * FROM {table} WHERE {changes.rows_sql(table)}) "
        f"SELECT CAST(key AS VARCHAR) AS key FROM ({sql}) AS reached)"
        for table, sql in t.keys_from.items()
        if changes.batch_ids(table)
    ]
    params: dict[str, object] = {}
    if t.due and since is not None and now is not None and now > since:
        parts.append(f"(SELECT CAST(key AS VARCHAR) AS key FROM ({t.due}) AS due)")
        params = t.parameters(t.due, since=since, now=now)
    union = " UNION ALL ".join(parts) or "SELECT CAST(NULL AS VARCHAR) AS key"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE exc_scope AS SELECT DISTINCT key FROM ({union}) AS k "
        "WHERE key IS NOT NULL",
        params,
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO exc_in_scope(k) AS CAST(k AS VARCHAR) IN "
        "(SELECT key FROM exc_scope)"
    )
    return int(one_row(con, "SELECT count(*) FROM exc_scope")[0])


def begin_reconcile_scope(con: duckdb.DuckDBPyConnection) -> None:
    """An empty temp table `exc_reconcile` of the (type, key) pairs a delta reconciles."""
    con.execute("CREATE OR REPLACE TEMP TABLE exc_reconcile (type VARCHAR, key VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE exc_recomputed (type VARCHAR, key VARCHAR)")


def note_keys(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remember that type `name` was recomputed for the keys in `exc_scope` (after it succeeded)."""
    con.execute("INSERT INTO exc_recomputed SELECT ?, key FROM exc_scope", [name])


def _names(names: list[str]) -> str:
    """A SQL list of type names (validated identifiers of the registry)."""
    return f"CAST([{', '.join(repr(n) for n in names)}] AS VARCHAR[])"


def store_detection(
    con: duckdb.DuckDBPyConnection,
    plans: Mapping[str, RulePlan],
    succeeded: list[str],
    *,
    as_of: date,
    now: datetime,
) -> int:
    """Record in `exc.detected` what the rules of `succeeded` found (temp `exc_detected`), and
    add to `exc_reconcile` the pairs of the types detected on a delta whose result changed;
    returns how many. Runs inside the caller's warehouse transaction."""
    modes = {n: plans[n].mode for n in succeeded}
    delta = [n for n, m in modes.items() if m != FULL]
    replaced = _names([n for n, m in modes.items() if m != KEYS])  # all their rows
    # Money summed in floating point may differ in its last digits between two runs.
    compared = ", ".join(
        "round(value_at_risk, 6)" if c == "value_at_risk" else c for c in DETECTED_COLUMNS
    )
    if delta:
        fresh = f"SELECT {compared} FROM exc_detected WHERE list_contains({_names(delta)}, type)"
        stored = (
            f"SELECT {compared} FROM exc.detected WHERE list_contains({_names(delta)}, type) "
            f"AND list_contains({replaced}, type) UNION ALL SELECT {compared} FROM exc.detected "
            "SEMI JOIN exc_recomputed AS r USING (type, key)"
        )
        fresh, stored = f"SELECT * FROM ({fresh}) AS f", f"SELECT * FROM ({stored}) AS s"
        con.execute(
            "INSERT INTO exc_reconcile SELECT DISTINCT type, key FROM "
            f"(({fresh} EXCEPT {stored}) UNION ALL ({stored} EXCEPT {fresh})) AS diff"
        )
    con.execute(f"DELETE FROM exc.detected WHERE list_contains({replaced}, type)")
    con.execute(
        "DELETE FROM exc.detected AS d USING exc_recomputed AS r "
        "WHERE d.type = r.type AND d.key = r.key"
    )
    cols = ", ".join(DETECTED_COLUMNS)
    con.execute(
        f"INSERT INTO exc.detected ({cols}) SELECT {cols} FROM exc_detected "
        f"WHERE list_contains({_names(succeeded)}, type)"
    )
    if succeeded:
        con.executemany(
            "INSERT INTO exc.detection_state AS s VALUES (?, ?, ?, ?, ?) ON CONFLICT (type) DO "
            "UPDATE SET last_now = excluded.last_now, fingerprint = excluded.fingerprint, "
            "  full_as_of = coalesce(excluded.full_as_of, s.full_as_of), "
            "  full_at = coalesce(excluded.full_at, s.full_at)",
            [
                [n, *((as_of, now) if m == FULL else (None, None)), now, plans[n].fingerprint]
                for n, m in modes.items()
            ],
        )
    return int(one_row(con, "SELECT count(*) FROM exc_reconcile")[0])


def judged_sql(full_types: list[str]) -> str:
    """The conditions a delta reconciles against: the new result of the types detected in
    full, and the stored one (just updated) of every pair in `exc_reconcile`."""
    cols = ", ".join(DETECTED_COLUMNS)
    full = _names(full_types)
    return (
        f"SELECT {cols} FROM exc_detected WHERE list_contains({full}, type) UNION ALL "
        f"SELECT {', '.join('d.' + c for c in DETECTED_COLUMNS)} FROM exc.detected AS d "
        f"SEMI JOIN exc_reconcile AS r ON r.type = d.type AND r.key = d.key "
        f"WHERE NOT list_contains({full}, d.type)"
    )
