"""Data-health queries: pipeline runs, batches, source freshness, quarantine and the scheduler.

Notification deliveries needing attention come from the app database's outbox
(`delivery_attention`, from `exceptions.outbox`).

The scheduler's heartbeat is read by `ops.heartbeat` (its names are importable from here).

Every function takes a DuckDB cursor on a serving snapshot (or, for the
scheduler, the serving folder) and returns plain Python values: lists of
typed dicts ready for a page, a CLI or an HTTP answer. Timestamps are naive UTC
`datetime`s, as stored in the warehouse. Queries run once per snapshot for a
reader that keeps answers (`kpi.serving.keeping`); the time is applied after.

The quarantine browser takes its sort and filter models from the browser
(AG Grid's infinite row model). Column names in them are checked against a
whitelist and every value is bound as a parameter: nothing the browser sends
becomes SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar

import duckdb

from control_tower.actions.outbox import outbox_attention as outbox_attention
from control_tower.contracts import TABLES
from control_tower.exceptions.outbox import DeliveryRow as DeliveryRow
from control_tower.exceptions.outbox import attention
from control_tower.exceptions.store import ExceptionStore
from control_tower.gridquery import (
    ColumnKind,
    GridQueryError,
    parse_filter,
    parse_sort,
)
from control_tower.gridquery import (
    InvalidFilterError as InvalidFilterError,
)
from control_tower.gridquery import (
    UnknownColumnError as UnknownColumnError,
)
from control_tower.gridquery.to_duckdb import order_sql, where_sql
from control_tower.kpi.serving import kept
from control_tower.ops.freshness import data_time_column, freshness_status
from control_tower.ops.heartbeat import HEARTBEAT_FILE as HEARTBEAT_FILE
from control_tower.ops.heartbeat import SchedulerStatus as SchedulerStatus
from control_tower.ops.heartbeat import scheduler_heartbeat as scheduler_heartbeat
from control_tower.settings import utc_now as utc_now  # the product clock, naive UTC

BATCH_STATUSES = ("running", "loaded", "skipped_duplicate", "rejected", "interrupted", "failed")
PROBLEM_STATUSES = ("rejected", "failed", "interrupted")
MAX_PAGE_ROWS = 1000


# A request to a health query that cannot be answered as asked (bad column, filter, page).
HealthQueryError = GridQueryError


# --- typed rows ---------------------------------------------------------------------------


class RunRow(TypedDict):
    """One pipeline run (ops.runs), newest first."""

    run_id: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    files_seen: int
    batches_loaded: int
    batches_skipped: int
    batches_rejected: int
    rows_loaded: int
    rows_quarantined: int
    steps: list[dict[str, Any]]
    failed_steps: list[str]
    snapshot: str | None
    error: str | None


class StepRow(TypedDict):
    """A step whose last try failed (ops.step_state), skipped until `next_try_at` if waiting."""

    step: str
    failures: int
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    next_try_at: datetime | None
    waiting: bool


class BatchRow(TypedDict):
    """One landed (or refused) file (ops.batches)."""

    batch_id: int
    run_id: str | None
    system: str | None
    table_name: str | None
    file_name: str
    file_format: str | None
    file_bytes: int | None
    status: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_stale: int
    rows_quarantined: int
    warnings: str | None
    error: str | None
    duplicate_of: int | None
    started_at: datetime
    finished_at: datetime | None
    read_ms: int | None
    validate_ms: int | None
    upsert_ms: int | None
    total_ms: int | None


class FreshnessRow(TypedDict):
    """Freshness of one source table against its SLA."""

    system: str
    table_name: str
    status: Literal["fresh", "stale", "never"]
    sla_hours: float
    age_hours: float | None
    row_count: int | None
    last_loaded_at: datetime | None
    last_batch_id: int | None
    newest_data_at: datetime | None
    data_time_column: str | None
    batches_loaded: int
    batches_rejected: int
    rows_quarantined: int


class QuarantineSummaryRow(TypedDict):
    """Quarantine problems of one kind: a table, a column and a reason with its values masked."""

    table_name: str | None
    column_name: str | None
    reason: str  # the reason with values masked: filter the browser on `reason_kind` with it
    problems: int
    batches: int
    example: str


class QuarantineRow(TypedDict):
    """One quarantine problem: a bad value (or row) of a file, with the record as delivered."""

    quarantine_id: int  # stable within a snapshot
    batch_id: int
    table_name: str | None
    file_name: str
    source_line: int | None
    column_name: str | None
    value: str | None
    reason: str
    reason_kind: str  # the reason with its values masked, as in the summary
    record: str | None
    quarantined_at: datetime


class HealthOverview(TypedDict):
    """Headline numbers of the data-health page."""

    last_run: RunRow | None
    tables_total: int
    tables_fresh: int
    tables_stale: int
    tables_never: int
    batches_total: int
    rows_quarantined: int  # bad rows (a row with two bad values counts once)
    problems: int  # quarantine entries (one per bad value or unreadable row)
    files_rejected: int
    files_failed: int
    files_interrupted: int


RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):  # PEP 695 generics need Python 3.12
    """One page of rows and the number of rows matching the query in total."""

    rows: list[RowT]
    total: int


# --- helpers ------------------------------------------------------------------------------


def _dicts(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    def read() -> tuple[list[str], list[tuple]]:
        result = cur.execute(sql, list(params))
        return [d[0] for d in result.description], result.fetchall()

    names, rows = kept(("ops.health", sql, repr(params)), read)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    return next(iter(rows[0].values())) if (rows := _dicts(cur, sql, params)) else None


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
    return bool(_scalar(cur, sql, [schema, name]))


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or limit < 0:
        raise HealthQueryError(f"a page needs offset >= 0 and limit >= 0, got {offset}, {limit}")
    if limit > MAX_PAGE_ROWS:
        raise HealthQueryError(f"at most {MAX_PAGE_ROWS} rows per page, asked for {limit}")


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# --- runs ---------------------------------------------------------------------------------


def recent_runs(cur: duckdb.DuckDBPyConnection, limit: int = 20) -> list[RunRow]:
    """The newest pipeline runs first, with their post-load steps parsed."""
    _check_page(0, limit)
    rows = _dicts(
        cur,
        "SELECT run_id, trigger, status, started_at, finished_at, "
        "  date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds, "
        "  coalesce(files_seen, 0) AS files_seen, coalesce(batches_loaded, 0) AS batches_loaded, "
        "  coalesce(batches_skipped, 0) AS batches_skipped, "
        "  coalesce(batches_rejected, 0) AS batches_rejected, "
        "  coalesce(rows_loaded, 0) AS rows_loaded, coalesce(rows_quarantined, 0) AS rows_quarantined, "
        "  steps, snapshot, error "
        "FROM ops.runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [limit],
    )
    out: list[RunRow] = []
    for row in rows:
        try:
            steps = json.loads(row["steps"]) if row["steps"] else []
        except ValueError:
            steps = []
        row["steps"] = steps
        row["failed_steps"] = [s.get("name", "?") for s in steps if s.get("status") == "failed"]
        out.append(RunRow(**row))  # type: ignore[typeddict-item]
    return out


def failing_steps(cur: duckdb.DuckDBPyConnection, now: datetime | None = None) -> list[StepRow]:
    """Post-load steps whose last try failed, the longest failing first."""
    if not _table_exists(cur, "ops", "step_state"):
        return []
    sql = "SELECT step, consecutive_failures AS failures, first_failed_at, last_failed_at, "
    sql += "last_error, next_try_at FROM ops.step_state WHERE consecutive_failures > 0 "
    sql += "ORDER BY failures DESC, step"
    now = now or utc_now()  # waiting: skipped until its next try
    return [StepRow(**r, waiting=(r["next_try_at"] or now) > now) for r in _dicts(cur, sql)]


# --- batches ------------------------------------------------------------------------------

_BATCH_COLUMNS = (
    "batch_id, run_id, system, table_name, file_name, file_format, file_bytes, status, "
    "coalesce(rows_read, 0) AS rows_read, coalesce(rows_inserted, 0) AS rows_inserted, "
    "coalesce(rows_updated, 0) AS rows_updated, coalesce(rows_stale, 0) AS rows_stale, "
    "coalesce(rows_quarantined, 0) AS rows_quarantined, warnings, error, duplicate_of, "
    "started_at, finished_at, read_ms, validate_ms, upsert_ms, total_ms"
)


def batches(
    cur: duckdb.DuckDBPyConnection,
    *,
    status: str | Sequence[str] | None = None,
    table: str | Sequence[str] | None = None,
    system: str | Sequence[str] | None = None,
    with_quarantine: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Page[BatchRow]:
    """Batches newest first, optionally only some statuses, tables or systems; one page of them.

    `with_quarantine` keeps only batches that sent rows to quarantine.
    """
    _check_page(offset, limit)
    where: list[str] = ["rows_quarantined > 0"] if with_quarantine else []
    params: list[Any] = []
    for column, wanted in (("status", status), ("table_name", table), ("system", system)):
        values = _as_list(wanted)
        if values:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(_scalar(cur, f"SELECT count(*) FROM ops.batches{clause}", params))
    rows = _dicts(
        cur,
        f"SELECT {_BATCH_COLUMNS} FROM ops.batches{clause} ORDER BY batch_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return Page([BatchRow(**r) for r in rows], total)  # type: ignore[typeddict-item]


# --- freshness ----------------------------------------------------------------------------


def source_freshness(
    cur: duckdb.DuckDBPyConnection, now: datetime | None = None
) -> list[FreshnessRow]:
    """Every contract table: fresh, stale or never against its SLA, with its newest batch and data.

    Reads `ops.table_freshness` (written by the `freshness` post-load step); if
    that step has not run, falls back to the batches alone (no row counts).
    The age is measured against `now`, so a silent source turns stale.
    """
    now = now or utc_now()
    if _table_exists(cur, "ops", "table_freshness"):
        found = {
            r["table_name"]: r
            for r in _dicts(
                cur,
                "SELECT table_name, row_count, last_loaded_at, last_batch_id, newest_data_at, "
                "batches_loaded, batches_rejected, rows_quarantined FROM ops.table_freshness",
            )
        }
    else:  # published before the freshness step ever ran: nothing is known yet
        found = {}
    out: list[FreshnessRow] = []
    for table in TABLES.values():
        r = found.get(table.name, {})
        last = r.get("last_loaded_at")
        sla = float(table.freshness_sla_hours)
        age = None if last is None else max((now - last).total_seconds() / 3600, 0.0)
        rows = r.get("row_count")
        out.append(
            FreshnessRow(
                system=table.system,
                table_name=table.name,
                status=freshness_status(last, sla, now),  # type: ignore[typeddict-item]
                sla_hours=sla,
                age_hours=age,
                row_count=None if rows is None else int(rows),
                last_loaded_at=last,
                last_batch_id=r.get("last_batch_id"),
                newest_data_at=r.get("newest_data_at"),
                data_time_column=data_time_column(table),
                batches_loaded=int(r.get("batches_loaded") or 0),
                batches_rejected=int(r.get("batches_rejected") or 0),
                rows_quarantined=int(r.get("rows_quarantined") or 0),
            )
        )
    return out


# --- overview -----------------------------------------------------------------------------


def health_overview(cur: duckdb.DuckDBPyConnection, now: datetime | None = None) -> HealthOverview:
    """The page's headline numbers: last run, table freshness counts, quarantine and refusals."""
    fresh = source_freshness(cur, now)
    runs = recent_runs(cur, limit=1)
    counts = _dicts(
        cur,
        "SELECT count(*) AS n, coalesce(sum(rows_quarantined) FILTER (WHERE status = 'loaded'), 0) "
        "AS q, count(*) FILTER (WHERE status = 'rejected') AS r, count(*) FILTER "
        "(WHERE status = 'failed') AS f, count(*) FILTER (WHERE status = 'interrupted') AS i "
        "FROM ops.batches",
    )[0]
    problems = int(_scalar(cur, "SELECT count(*) FROM ops.quarantine"))
    return HealthOverview(
        last_run=runs[0] if runs else None,
        tables_total=len(fresh),
        tables_fresh=sum(1 for f in fresh if f["status"] == "fresh"),
        tables_stale=sum(1 for f in fresh if f["status"] == "stale"),
        tables_never=sum(1 for f in fresh if f["status"] == "never"),
        batches_total=int(counts["n"]),
        rows_quarantined=int(counts["q"]),
        problems=problems,
        files_rejected=int(counts["r"]),
        files_failed=int(counts["f"]),
        files_interrupted=int(counts["i"]),
    )


# --- quarantine ---------------------------------------------------------------------------

# Reasons carry the offending value; these rewrites mask it so that problems of
# one kind group together. They follow the messages of control_tower.landing.
_REASON_MASKS: tuple[tuple[str, str], ...] = (
    (r"^'.*' (is|looks|does not match|cannot be read) ", r"'…' \1 "),
    (r", got .*$", ", got …"),
    (r"^unknown (\w+) '.*': not in ", r"unknown \1 '…': not in "),
    (r"\(.*\) not found in ", "(…) not found in "),
    (r"^duplicate key \(.*\) appears \d+ times", "duplicate key (…) appears more than once"),
)


def _masked_reason_sql(column: str) -> tuple[str, list[str]]:
    expr = column
    params: list[str] = []
    for pattern, replacement in _REASON_MASKS:
        expr = f"regexp_replace({expr}, ?, ?)"
        params.extend([pattern, replacement])
    return expr, params


def quarantine_summary(
    cur: duckdb.DuckDBPyConnection, *, batch_id: int | None = None
) -> list[QuarantineSummaryRow]:
    """Quarantine problems counted by table, column and reason (values masked), most first."""
    reason, params = _masked_reason_sql("reason")
    where = ""
    if batch_id is not None:
        where = " WHERE batch_id = ?"
        params.append(batch_id)  # type: ignore[arg-type]
    rows = _dicts(
        cur,
        f"SELECT table_name, column_name, {reason} AS reason, count(*) AS problems, "
        f"  count(DISTINCT batch_id) AS batches, min(reason) AS example "
        f"FROM ops.quarantine{where} GROUP BY ALL "
        "ORDER BY problems DESC, table_name NULLS LAST, column_name NULLS LAST, reason",
        params,
    )
    return [QuarantineSummaryRow(**r) for r in rows]  # type: ignore[typeddict-item]


# The quarantine browser's columns: name -> filter kind. The whitelist for sort and filter.
QUARANTINE_COLUMNS: Mapping[str, ColumnKind] = {
    "quarantine_id": "number",
    "batch_id": "number",
    "table_name": "text",
    "file_name": "text",
    "source_line": "number",
    "column_name": "text",
    "value": "text",
    "reason": "text",
    "reason_kind": "text",
    "record": "text",
    "quarantined_at": "date",
}
QUARANTINE_SORTABLE = frozenset(QUARANTINE_COLUMNS) - {"record"}


def quarantine_rows(
    cur: duckdb.DuckDBPyConnection,
    *,
    offset: int = 0,
    limit: int = 100,
    sort_model: Sequence[Mapping[str, Any]] | None = None,
    filter_model: Mapping[str, Any] | None = None,
) -> Page[QuarantineRow]:
    """One page of quarantine problems, sorted and filtered on whitelisted columns.

    Default order: newest batch first, then file line. `sort_model` and
    `filter_model` are AG Grid's (`[{"colId", "sort"}]`, `{col: {filterType, type, filter}}`).
    """
    _check_page(offset, limit)
    where, params = where_sql(parse_filter(filter_model, QUARANTINE_COLUMNS))
    order = order_sql(parse_sort(sort_model, QUARANTINE_SORTABLE))
    order = ", ".join(
        p for p in (order, "batch_id DESC, source_line NULLS LAST, column_name, quarantine_id") if p
    )
    kind, kind_params = _masked_reason_sql("reason")
    source = (
        "(SELECT rowid AS quarantine_id, batch_id, table_name, file_name, source_line, "
        f"column_name, value, reason, {kind} AS reason_kind, record, quarantined_at "
        "FROM ops.quarantine) q"
    )
    params = [*kind_params, *params]
    total = int(_scalar(cur, f"SELECT count(*) FROM {source} WHERE {where}", params))
    rows = _dicts(
        cur,
        f"SELECT * FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return Page([QuarantineRow(**r) for r in rows], total)  # type: ignore[typeddict-item]


def delivery_attention(
    store: ExceptionStore, limit: int = 20
) -> tuple[dict[str, int], list[DeliveryRow]]:
    """Notification deliveries pending in the outbox or given up: counts, and the newest `limit`."""
    return attention(store, limit)
