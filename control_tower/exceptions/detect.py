"""Detection: run the exception rules in DuckDB, reconcile the queue, mirror it to the warehouse.

The post-load step `exceptions` calls `refresh_exceptions` with the
pipeline's writer connection and the run's changes. Three phases:

1. detect: each type's rule runs as one vectorised DuckDB query into the temp
   table `exc_detected` (type, key, ...): the conditions true right now, with
   when each began in the source (`event_at`) and whether it is inside the
   type's look-back window (`in_window`). A rule that fails is reported and its
   type is left out of reconciliation, so its open items are not mistaken for
   cleared ones. On a delta only the rules the run's batches concern run, a
   keyed rule only for the keys they reach (`control_tower.exceptions.scope`).
2. reconcile: the detected set is joined with the items already in the app
   database and the queue brought in line in one transaction
   (`control_tower.exceptions.reconcile`): every item on a full refresh, on a
   delta only those whose condition changed since the last detection.
Before them, the latest re-promise of each order line is copied to
`exc.line_promises` (`mirror.mirror_line_promises`), so the rules read each
line's effective promise.

3. mirror: the items are copied to `exc.queue_items` for the exception_aging
   KPI and drill-downs, which read the published snapshot
   (`control_tower.exceptions.mirror`): all of them on a full refresh, on a
   delta those that changed since the last copy.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from control_tower.engines import Engine, EngineError, TranspileError
from control_tower.engines.arrow import naive_utc
from control_tower.exceptions.mirror import MIRROR_COLUMNS, mirror, mirror_line_promises
from control_tower.exceptions.reconcile import ReconcileScope, reconcile
from control_tower.exceptions.registry import (
    EXCEPTION_TYPES,
    OPTIONAL_RULE_COLUMNS,
    ExceptionType,
)
from control_tower.exceptions.scope import (
    FULL,
    KEYS,
    SKIP,
    RulePlan,
    begin_reconcile_scope,
    note_keys,
    one_row,
    plan_rules,
    set_scope,
    store_detection,
)
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import utc_now
from control_tower.storage.changes import Changes

__all__ = [
    "MIRROR_COLUMNS",
    "DetectionError",
    "DetectionReport",
    "detect",
    "mirror",
    "reconcile",
    "refresh_exceptions",
]

log = logging.getLogger(__name__)


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
    # How each type was detected (full, keys, whole, skip: scope.plan_rules); empty when every
    # type was detected in full.
    modes: dict[str, str] = field(default_factory=dict)
    scoped_keys: int = 0  # keys the keyed rules of a delta were run for
    reconciled: int = 0  # (type, key) pairs a delta reconciled (their result changed)

    @property
    def delta(self) -> bool:
        """Whether some type was not detected in full."""
        return any(mode != FULL for mode in self.modes.values())

    def summary(self) -> str:
        """One line for the run log."""
        a = self.actions
        changed = (
            f"{a['create']} new, {a['seen']} persisting, {a['reopen']} reopened, "
            f"{a['unsnooze']} back from snooze, {a['clear']} cleared"
        )
        if self.delta:
            ran = Counter(self.modes.values())
            text = (
                f"{len(self.modes) - ran['skip']} of {len(self.modes)} rules run "
                f"({ran['keys']} for {self.scoped_keys} keys, {ran['whole']} whole, "
                f"{ran['full']} full); {self.reconciled} conditions changed: {changed}; "
                f"{self.mirrored} items copied to the mirror"
            )
        else:
            text = (
                f"{sum(self.detected.values())} conditions true in {len(self.detected)} "
                f"types: {changed}; {self.mirrored} items mirrored"
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
    types: Mapping[str, ExceptionType] | None = None,
    plans: Mapping[str, RulePlan] | None = None,
    changes: Changes | None = None,
    engine: Engine | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """Fill temp table `exc_detected` with every true condition; returns (counts, failures).

    With `plans` (and the run's `changes`), a type planned `skip` is not run and a type
    planned `keys` only for the keys its touched rows reach (they join `exc_recomputed`).
    With an `engine` (Spark over the lake), every rule runs whole there and its rows are
    brought back into `exc_detected`."""
    types = dict(types or EXCEPTION_TYPES)
    # The columns of what the warehouse remembers of a detection (storage/schema.py).
    con.execute("CREATE OR REPLACE TEMP TABLE exc_detected AS FROM exc.detected LIMIT 0")
    counts: dict[str, int] = {}
    failed: dict[str, str] = {}
    for t in types.values():
        plan = plans[t.name] if plans else None
        if plan is not None and not plan.runs:
            continue
        keyed = plan is not None and plan.mode == KEYS
        try:
            found = set_scope(
                con,
                t if keyed else None,
                changes or Changes.full_refresh("requested"),
                since=plan.since if plan else None,
                now=now,
            )
            if engine is not None:
                counts[t.name] = _run_rule_on(engine, con, t, as_of=as_of, now=now)
            else:
                # a keyed rule with no key to look at has nothing to find
                counts[t.name] = (
                    _run_rule(con, t, as_of=as_of, now=now, keyed=keyed)
                    if found or not keyed
                    else 0
                )
            if keyed:
                note_keys(con, t.name)
        except (duckdb.Error, DetectionError, EngineError, TranspileError) as exc:
            log.warning("exception rule %s failed: %s", t.name, exc)
            failed[t.name] = f"{type(exc).__name__}: {exc}"
    con.execute("DROP TABLE IF EXISTS exc_rule")
    return counts, failed


def _rule_select(t: ExceptionType, returned: set[str], only: str = "") -> str:
    """The rule's rows in the columns of `exc_detected` (`returned`: the optional columns the
    rule has). The name and default severity are validated identifiers of the registry."""
    event_at = "CAST(event_at AS TIMESTAMP)" if "event_at" in returned else "NULL"
    in_window = "coalesce(CAST(in_window AS BOOLEAN), true)" if "in_window" in returned else "true"
    return (
        f"SELECT '{t.name}' AS type, "
        "CAST(key AS VARCHAR) AS key, CAST(location_id AS VARCHAR) AS location_id, "
        "CAST(entity_id AS VARCHAR) AS entity_id, CAST(item_id AS VARCHAR) AS item_id, "
        "CAST(detail AS VARCHAR) AS detail, CAST(value_at_risk AS DOUBLE) AS value_at_risk, "
        f"coalesce(CAST(severity AS VARCHAR), '{t.severity}') AS severity, "
        f"{event_at} AS event_at, {in_window} AS in_window "
        f"FROM ({t.rule}) AS rule{only}"
    )


def _run_rule(
    con: duckdb.DuckDBPyConnection, t: ExceptionType, *, as_of: date, now: datetime, keyed: bool
) -> int:
    """Run one rule into `exc_detected` (once: staged, checked, appended); its row count."""
    cur = con.execute(f"SELECT * FROM ({t.rule}) AS rule LIMIT 0", t.bindings(as_of=as_of, now=now))
    returned = {d[0] for d in cur.description} & set(OPTIONAL_RULE_COLUMNS)
    # A keyed rule restricts its own tables by key; the filter here makes it exact.
    only = " WHERE CAST(key AS VARCHAR) IN (SELECT key FROM exc_scope)" if keyed else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE exc_rule AS {_rule_select(t, returned, only)}",
        t.bindings(as_of=as_of, now=now),
    )
    return _append_rule(con, t)


def _run_rule_on(
    engine: Engine, con: duckdb.DuckDBPyConnection, t: ExceptionType, *, as_of: date, now: datetime
) -> int:
    """Run one rule whole on `engine`, its rows staged in DuckDB as `exc_rule`, then appended."""
    params = t.bindings(as_of=as_of, now=now)
    what = f"exception rule {t.name}"
    probe = engine.query_arrow(f"SELECT * FROM ({t.rule}) AS rule LIMIT 0", params, what=what)
    returned = set(probe.column_names) & set(OPTIONAL_RULE_COLUMNS)
    rows = naive_utc(engine.query_arrow(_rule_select(t, returned), params, what=what))
    con.register("exc_rule_rows", rows)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE exc_rule AS SELECT * FROM exc_detected LIMIT 0; "
            "INSERT INTO exc_rule BY NAME SELECT * FROM exc_rule_rows"
        )
    finally:
        con.unregister("exc_rule_rows")
    return _append_rule(con, t)


def _append_rule(con: duckdb.DuckDBPyConnection, t: ExceptionType) -> int:
    """Check the staged `exc_rule` (one row per key) and append it to `exc_detected`."""
    total, distinct, null_keys = one_row(
        con,
        "SELECT count(*), count(DISTINCT key), count(*) FILTER (WHERE key IS NULL) FROM exc_rule",
    )
    if total != distinct or null_keys:
        raise DetectionError(
            f"rule of {t.name!r} returned {total} rows but {distinct} distinct keys "
            f"({null_keys} empty): its key is not unique"
        )
    con.execute("INSERT INTO exc_detected SELECT * FROM exc_rule")
    return int(total)


def refresh_exceptions(
    con: duckdb.DuckDBPyConnection,
    app_db_url: str,
    *,
    as_of: date,
    now: datetime | None = None,
    types: Mapping[str, ExceptionType] | None = None,
    changes: Changes | None = None,
    engine: Engine | None = None,
    before_detect: Callable[[], None] | None = None,
) -> DetectionReport:
    """Detect, reconcile and mirror: everything (`changes` None or a full refresh), or what the
    run's batches touched. Raises DetectionError after doing the rest if a rule failed.

    With an `engine` (Spark over the published lake) the rules run there, every one whole;
    reconciliation and the mirror stay in the warehouse and the app database. `before_detect`
    runs once the inputs the rules read are in place (the engine's lake published)."""
    now = now.astimezone(UTC).replace(tzinfo=None) if now and now.tzinfo else now or _utcnow()
    changes = changes or Changes.full_refresh("requested")
    if engine is not None and not changes.full:
        changes = Changes.full_refresh(f"the {engine.name} engine runs every rule whole")
    kinds = dict(types or EXCEPTION_TYPES)
    report = DetectionReport(as_of=as_of, now=now)
    t0 = time.perf_counter()
    # Re-promises recorded since the last run reach the ATP demand before the rules are planned:
    # the rules that read them (order_at_risk) run again when they changed.
    with ExceptionStore.open(app_db_url) as store:
        mirror_line_promises(con, store)
    if before_detect is not None:
        before_detect()
    plans = plan_rules(con, changes, kinds, as_of=as_of, now=now)
    begin_reconcile_scope(con)
    report.detected, report.failed = detect(
        con, as_of=as_of, now=now, types=kinds, plans=plans, changes=changes, engine=engine
    )
    succeeded = sorted(report.detected)
    full_types = [n for n in succeeded if plans[n].mode == FULL]
    scope = None
    if not changes.full:
        keys = dict(
            con.execute("SELECT type, count(*) FROM exc_recomputed GROUP BY ALL").fetchall()
        )
        report.modes = {
            n: SKIP if p.mode == KEYS and not keys.get(n) and n not in report.failed else p.mode
            for n, p in plans.items()
        }
        report.scoped_keys = sum(keys.values())
        scope = ReconcileScope(
            full_types=tuple(full_types),
            delta_types=tuple(n for n in kinds if n not in report.failed and n not in full_types),
        )
    t1 = time.perf_counter()
    with ExceptionStore.open(app_db_url) as store:
        # What the warehouse remembers of this detection commits with the app database's queue.
        con.execute("BEGIN TRANSACTION")
        try:
            report.reconciled = store_detection(con, plans, succeeded, as_of=as_of, now=now)
            judged = succeeded if scope is None else [*full_types, *scope.delta_types]
            written = reconcile(
                con, store, now=now, types=judged, report=report, kinds=kinds, scope=scope
            )
        except Exception:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        t2 = time.perf_counter()
        report.mirrored = mirror(con, store, at=now, changed=None if scope is None else written)
    t3 = time.perf_counter()
    for table in ("exc_detected", "exc_scope", "exc_reconcile", "exc_recomputed"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP MACRO IF EXISTS temp.exc_in_scope")
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
