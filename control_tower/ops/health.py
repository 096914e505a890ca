"""Data-health queries: pipeline runs, batches, source freshness, quarantine and the scheduler.

Every function takes a DuckDB cursor on a serving snapshot (or, for the
scheduler, the serving folder) and returns plain Python values: lists of
typed dicts ready for a page, a CLI or an HTTP answer. Timestamps are naive
UTC `datetime`s, as stored in the warehouse.

The quarantine browser takes its sort and filter models from the browser
(AG Grid's infinite row model). Column names in them are checked against a
whitelist and every value is bound as a parameter: nothing the browser sends
becomes SQL text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypedDict, TypeVar

import duckdb

from control_tower.contracts import TABLES
from control_tower.ops.freshness import data_time_column, freshness_status
from control_tower.settings import utc_now as settings_utc_now

# Written by the scheduler process (pipelines/schedule.py, `HEARTBEAT`) into the serving folder.
HEARTBEAT_FILE = "SCHEDULER.json"

BATCH_STATUSES = ("running", "loaded", "skipped_duplicate", "rejected", "interrupted", "failed")
PROBLEM_STATUSES = ("rejected", "failed", "interrupted")
MAX_PAGE_ROWS = 1000


class HealthQueryError(ValueError):
    """A request to a health query that cannot be answered as asked (bad column, filter, page)."""


class UnknownColumnError(HealthQueryError):
    """A sort or filter names a column that is not on the whitelist."""


class InvalidFilterError(HealthQueryError):
    """A filter has a type, operator or value the query does not support."""


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


class SchedulerStatus(TypedDict):
    """What the scheduler's heartbeat file says, judged against the current time."""

    state: Literal["running", "late", "absent", "unreadable"]
    message: str
    written_at: datetime | None
    age_minutes: float | None
    every_minutes: float | None
    pid: int | None
    last_run_id: str | None
    last_run_status: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None


RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):  # PEP 695 generics need Python 3.12
    """One page of rows and the number of rows matching the query in total."""

    rows: list[RowT]
    total: int


# --- helpers ------------------------------------------------------------------------------


def utc_now() -> datetime:
    """The current time as naive UTC, the warehouse's convention (the product's clock)."""
    return settings_utc_now()


def _dicts(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    row = cur.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        _scalar(
            cur,
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        )
    )


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
    counts = cur.execute(
        "SELECT count(*), coalesce(sum(rows_quarantined) FILTER (WHERE status = 'loaded'), 0), "
        "  count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = 'failed'), "
        "  count(*) FILTER (WHERE status = 'interrupted') FROM ops.batches"
    ).fetchone()
    assert counts is not None
    problems = int(_scalar(cur, "SELECT count(*) FROM ops.quarantine"))
    return HealthOverview(
        last_run=runs[0] if runs else None,
        tables_total=len(fresh),
        tables_fresh=sum(1 for f in fresh if f["status"] == "fresh"),
        tables_stale=sum(1 for f in fresh if f["status"] == "stale"),
        tables_never=sum(1 for f in fresh if f["status"] == "never"),
        batches_total=int(counts[0]),
        rows_quarantined=int(counts[1]),
        problems=problems,
        files_rejected=int(counts[2]),
        files_failed=int(counts[3]),
        files_interrupted=int(counts[4]),
    )


# --- quarantine ---------------------------------------------------------------------------

# Reasons carry the offending value; these rewrites mask it so that problems of
# one kind group together. They follow the messages of control_tower.landing.
_REASON_MASKS: tuple[tuple[str, str], ...] = (
    (r"^'.*' (is|looks) ", r"'…' \1 "),
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


ColumnKind = Literal["text", "number", "date"]

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

_TEXT_OPS = {
    "contains": ("{c} ILIKE ? ESCAPE '\\'", "%{v}%"),
    "notContains": ("({c} IS NULL OR {c} NOT ILIKE ? ESCAPE '\\')", "%{v}%"),
    "startsWith": ("{c} ILIKE ? ESCAPE '\\'", "{v}%"),
    "endsWith": ("{c} ILIKE ? ESCAPE '\\'", "%{v}"),
    "equals": ("lower({c}) = lower(?)", None),
    "notEqual": ("({c} IS NULL OR lower({c}) <> lower(?))", None),
}
_COMPARE = {
    "equals": "=",
    "notEqual": "<>",
    "lessThan": "<",
    "lessThanOrEqual": "<=",
    "greaterThan": ">",
    "greaterThanOrEqual": ">=",
}
_MAX_CONDITIONS = 4
_MAX_TEXT = 500


def _column(name: object, allowed: Mapping[str, ColumnKind] | frozenset[str], what: str) -> str:
    if not isinstance(name, str) or name not in allowed:
        known = ", ".join(sorted(allowed))
        raise UnknownColumnError(f"cannot {what} by column {name!r}: allowed columns are {known}")
    return name


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number(value: object, column: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a number")
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a finite number")
    return number


def _date(value: object, column: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a date")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a date") from None


def _condition(column: str, kind: ColumnKind, cond: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL for one AG Grid filter condition on a whitelisted column; values as parameters."""
    op = cond.get("type", "equals" if kind != "text" else "contains")
    c = f'"{column}"'
    if op == "blank":
        return (f"({c} IS NULL OR CAST({c} AS VARCHAR) = '')", [])
    if op == "notBlank":
        return (f"({c} IS NOT NULL AND CAST({c} AS VARCHAR) <> '')", [])
    if kind == "text":
        if op not in _TEXT_OPS:
            raise InvalidFilterError(f"filter on {column}: unsupported text filter {op!r}")
        value = cond.get("filter")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidFilterError(f"filter on {column}: {value!r} is not text")
        text = str(value)
        if len(text) > _MAX_TEXT:
            raise InvalidFilterError(f"filter on {column}: longer than {_MAX_TEXT} characters")
        template, pattern = _TEXT_OPS[op]
        bound = pattern.format(v=_like_escape(text)) if pattern else text
        return (template.format(c=c), [bound])
    if kind == "number":
        value = _number(cond.get("filter"), column)
        if op == "inRange":
            upper = _number(cond.get("filterTo"), column)
            return (f"{c} BETWEEN ? AND ?", [value, upper])
        if op not in _COMPARE:
            raise InvalidFilterError(f"filter on {column}: unsupported number filter {op!r}")
        sql = f"{c} {_COMPARE[op]} ?"
        return (f"({c} IS NULL OR {sql})" if op == "notEqual" else sql, [value])
    # date: compare calendar days, as AG Grid's date filter does
    day = _date(cond.get("dateFrom"), column).date()
    if op == "inRange":
        upper = _date(cond.get("dateTo"), column).date()
        return (f"CAST({c} AS DATE) BETWEEN ? AND ?", [day, upper])
    if op not in _COMPARE:
        raise InvalidFilterError(f"filter on {column}: unsupported date filter {op!r}")
    return (f"CAST({c} AS DATE) {_COMPARE[op]} ?", [day])


def compile_filter_model(
    filter_model: Mapping[str, Any] | None, columns: Mapping[str, ColumnKind]
) -> tuple[str, list[Any]]:
    """AG Grid's filter model as a SQL condition over whitelisted columns and its parameters.

    Supports text, number and date filters, single or combined with AND/OR.
    Raises UnknownColumnError for a column outside `columns` and
    InvalidFilterError for anything else it cannot honour exactly.
    """
    if not filter_model:
        return "TRUE", []
    if not isinstance(filter_model, Mapping):
        raise InvalidFilterError("the filter model must be an object of column -> filter")
    parts: list[str] = []
    params: list[Any] = []
    for name, spec in filter_model.items():
        column = _column(name, columns, "filter")
        if not isinstance(spec, Mapping):
            raise InvalidFilterError(f"filter on {column}: expected an object, got {spec!r}")
        kind = columns[column]
        declared = spec.get("filterType", kind)
        if declared != kind:
            raise InvalidFilterError(
                f"filter on {column}: a {declared!r} filter on a {kind} column is not supported"
            )
        if "conditions" in spec:
            operator = str(spec.get("operator", "AND")).upper()
            if operator not in ("AND", "OR"):
                raise InvalidFilterError(f"filter on {column}: unknown operator {operator!r}")
            conditions = spec["conditions"]
            if not isinstance(conditions, list) or not 0 < len(conditions) <= _MAX_CONDITIONS:
                raise InvalidFilterError(
                    f"filter on {column}: between 1 and {_MAX_CONDITIONS} conditions allowed"
                )
            sqls = []
            for cond in conditions:
                if not isinstance(cond, Mapping):
                    raise InvalidFilterError(f"filter on {column}: bad condition {cond!r}")
                sql, values = _condition(column, kind, cond)
                sqls.append(sql)
                params.extend(values)
            parts.append("(" + f" {operator} ".join(sqls) + ")")
        else:
            sql, values = _condition(column, kind, spec)
            parts.append(sql)
            params.extend(values)
    return " AND ".join(parts), params


def compile_sort_model(
    sort_model: Sequence[Mapping[str, Any]] | None, sortable: frozenset[str]
) -> str:
    """AG Grid's sort model as an ORDER BY list over whitelisted columns (empty if unsorted)."""
    parts = []
    for item in sort_model or []:
        if not isinstance(item, Mapping):
            raise InvalidFilterError(f"bad sort entry {item!r}")
        column = _column(item.get("colId"), sortable, "sort")
        direction = str(item.get("sort", "asc")).lower()
        if direction not in ("asc", "desc"):
            raise InvalidFilterError(f"sort on {column}: direction must be asc or desc")
        parts.append(f'"{column}" {direction.upper()} NULLS LAST')
    return ", ".join(parts)


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
    where, params = compile_filter_model(filter_model, QUARANTINE_COLUMNS)
    order = compile_sort_model(sort_model, QUARANTINE_SORTABLE)
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


# --- scheduler ----------------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def scheduler_heartbeat(
    serving_dir: Path, now: datetime | None = None, *, grace_minutes: float = 5.0
) -> SchedulerStatus:
    """The scheduler's heartbeat: `running` if written within two intervals (plus grace).

    The scheduler rewrites the file after every run, so a heartbeat older than
    two intervals means it stopped, hangs, or runs one very long job: `late`.
    """
    now = now or utc_now()
    empty = SchedulerStatus(
        state="absent",
        message="",
        written_at=None,
        age_minutes=None,
        every_minutes=None,
        pid=None,
        last_run_id=None,
        last_run_status=None,
        last_run_at=None,
        next_run_at=None,
    )
    path = serving_dir / HEARTBEAT_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        empty["message"] = (
            "No scheduler has run here yet: start one with control-tower scheduler to land "
            "the inbox on a schedule."
        )
        return empty
    except (OSError, ValueError) as exc:
        empty.update(state="unreadable", message=f"cannot read {path.name}: {exc}")
        return empty
    written = _parse_time(data.get("written_at"))
    every = data.get("every_minutes")
    every_f = float(every) if isinstance(every, int | float) and every > 0 else None
    age = None if written is None else max((now - written).total_seconds() / 60, 0.0)
    pid = data.get("pid")
    status = SchedulerStatus(
        state="running",
        message="",
        written_at=written,
        age_minutes=age,
        every_minutes=every_f,
        pid=pid if isinstance(pid, int) else None,
        last_run_id=data.get("last_run_id"),
        last_run_status=data.get("last_run_status"),
        last_run_at=_parse_time(data.get("last_run_at")),
        next_run_at=_parse_time(data.get("next_run_at")),
    )
    if age is None or every_f is None:
        status.update(state="unreadable", message=f"{path.name} has no written_at/every_minutes")
        return status
    limit = 2 * every_f + grace_minutes
    if age <= limit:
        status["message"] = f"Running: lands the inbox every {every_f:g} min."
    else:
        status.update(
            state="late",
            message=(
                f"No heartbeat for {age:,.0f} min (expected every {every_f:g} min): the "
                "scheduler has stopped or is stuck."
            ),
        )
    return status
