"""Land a SQL source mapping: incremental pulls from any SQLAlchemy URL through the same contracts.

For each source table the mapping names (with its key and cursor column):

1. Pull the rows whose cursor is at or above the stored watermark minus an
   overlap window (every row on the first pull), streamed in chunks of Arrow
   record batches into a DuckDB temp table. Connection errors are retried
   with exponential backoff (a small loop, no extra dependency).
2. Drop the rows re-read inside the overlap window: the watermark keeps the
   md5 of (key, cursor) of every row at or above `watermark - overlap`, and a
   row whose (key, cursor) is in that set was landed already. What is left
   is exactly the new and changed rows.
3. In one DuckDB transaction: merge those rows into the mirror
   `src_<mapping>.<table>` (a keyed copy of what was pulled, so that an
   incremental pull can still join unchanged lookup rows), build each
   target's temp `raw` from the rows whose driving or joined rows changed,
   land it with `load_raw` (contracts, quarantine, upsert, one batch per
   target table) and advance the watermarks. All of it commits, or none.

Why the overlap: a source row's cursor is written when its transaction
starts (PostgreSQL `now()`, which Odoo's `write_date` uses), but becomes
visible when it commits. A transaction that started before the newest
cursor we saw and committed after our pull would be missed by `cursor >
watermark`. Re-reading `overlap_seconds` (default 300) below the watermark
catches it; set it above the longest write transaction of the source.
Integer, date and text cursors re-read only the watermark value itself.
Rows deleted in the source are not seen (a cursor cannot see deletes).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from control_tower.contracts import TABLES
from control_tower.landing.batch import BatchResult, _finish, _ms, _now, load_raw
from control_tower.landing.readers import LINE_COLUMN, UnreadableFileError
from control_tower.mappings.expr import Compiled
from control_tower.mappings.land import build_target_raw
from control_tower.mappings.spec import SOURCE_ALIAS, SourceMapping, SqlSource, SqlTable, Target
from control_tower.settings import named_variable

log = logging.getLogger(__name__)

RUN_COLUMN = "_ct_pulled_run"  # mirror column: the run that last pulled the row
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
_sleep = time.sleep  # the backoff's wait (tests replace it)


class SqlSourceError(RuntimeError):
    """A SQL source could not be read; the message names the mapping, the source and why."""


class ConnectionFailedError(SqlSourceError):
    """The source database could not be reached, after every retry."""


# --- the source client ------------------------------------------------------------------------


class SourceClient(Protocol):
    """What a landing source needs from a database: a table's columns and its rows since a value."""

    def columns(self, table: SqlTable) -> pa.Schema:
        """The table's columns as an Arrow schema (raises when the table does not exist)."""
        ...

    def pull(
        self, table: SqlTable, schema: pa.Schema, lower: Any | None, chunk_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """Rows with `cursor >= lower` (all rows when `lower` is None), in chunks."""
        ...


def _arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType:
    """The Arrow type a reflected column is carried as (text for anything unusual)."""
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return pa.string()
    if python_type is bool:
        return pa.bool_()
    if python_type is int:
        return pa.int64()
    if python_type is float:
        return pa.float64()
    if python_type is Decimal:
        precision = getattr(column_type, "precision", None)
        scale = getattr(column_type, "scale", None)
        if precision and scale is not None and precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.float64()  # NUMERIC without a declared scale: exact to 15 digits
    if python_type is datetime:
        return pa.timestamp("us", tz="UTC" if getattr(column_type, "timezone", False) else None)
    if python_type is date:
        return pa.date32()
    if python_type is str:
        return pa.string()
    return pa.string()


def _arrow_column(values: tuple[Any, ...], arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_floating(arrow_type):
        values = tuple(None if v is None else float(v) for v in values)
    elif pa.types.is_string(arrow_type):
        values = tuple(v if v is None or isinstance(v, str) else str(v) for v in values)
    return pa.array(values, type=arrow_type)


class SqlAlchemyClient:
    """A `SourceClient` over any SQLAlchemy URL (the driver must be installed)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    @staticmethod
    def _split(table: SqlTable) -> tuple[str | None, str]:
        schema, _, name = table.name.rpartition(".")
        return (schema or None), name

    def columns(self, table: SqlTable) -> pa.Schema:
        """The table's reflected columns as an Arrow schema."""
        schema, name = self._split(table)
        try:
            reflected = sa.inspect(self.engine).get_columns(name, schema=schema)
        except sa_exc.NoSuchTableError:
            reflected = []
        if not reflected:
            raise SqlSourceError(f"the source has no table {table.name!r}")
        return pa.schema([(c["name"], _arrow_type(c["type"])) for c in reflected])

    def pull(
        self, table: SqlTable, schema: pa.Schema, lower: Any | None, chunk_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """Stream `SELECT columns FROM table [WHERE cursor >= :lower]` in Arrow chunks."""
        db_schema, name = self._split(table)
        source = sa.table(name, *(sa.column(n) for n in schema.names), schema=db_schema)
        stmt = sa.select(*source.c)
        if lower is not None:
            stmt = stmt.where(source.c[table.cursor] >= sa.bindparam("lower", lower))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(
                stmt
            )
            for rows in result.partitions(chunk_rows):
                columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
                arrays = [
                    _arrow_column(tuple(vals), f.type)
                    for vals, f in zip(columns, schema, strict=True)
                ]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _is_connection_error(exc: BaseException) -> bool:
    """Errors worth retrying: the database could not be reached or the connection dropped."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


def source_url(source: SqlSource, environ: Mapping[str, str] | None = None) -> str:
    """The source's URL: from the mapping, or from CONTROL_TOWER_SOURCE_<NAME>_URL."""
    if source.url is not None:
        return source.url
    name = source.env_name
    assert name is not None
    url = ((environ.get(name) if environ is not None else named_variable(name)) or "").strip()
    if not url:
        raise SqlSourceError(f"the environment variable {name} (the connection's URL) is not set")
    return url


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages and ops.batches."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without anything after the scheme
        return url.split("://", 1)[0] + "://..."


# --- watermarks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watermark:
    """How far one source table of one mapping has been landed."""

    value: Any
    boundary: tuple[str, ...] = ()  # md5 of (key, cursor) of rows inside the overlap window
    digest: str = ""  # the mapping's digest when it was written

    @property
    def text(self) -> str:
        """The value as text (ISO 8601 for dates and times)."""
        return _value_text(self.value)[0]


def _value_text(value: Any) -> tuple[str, str]:
    if isinstance(value, datetime):
        return value.isoformat(), "timestamptz" if value.tzinfo else "timestamp"
    if isinstance(value, date):
        return value.isoformat(), "date"
    if isinstance(value, bool):
        return str(value).lower(), "text"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, Decimal):
        return str(value), "decimal"
    if isinstance(value, float):
        return repr(value), "float"
    return str(value), "text"


def _value_from_text(text: str, kind: str) -> Any:
    parse: dict[str, Callable[[str], Any]] = {
        "timestamp": datetime.fromisoformat,
        "timestamptz": datetime.fromisoformat,
        "date": date.fromisoformat,
        "int": int,
        "decimal": Decimal,
        "float": float,
    }
    return parse.get(kind, str)(text)


def lower_bound(value: Any, overlap_seconds: int) -> Any:
    """The cursor value a pull starts from: the watermark, less the overlap for timestamps."""
    if isinstance(value, datetime):
        return value - timedelta(seconds=overlap_seconds)
    return value


def load_watermarks(con: duckdb.DuckDBPyConnection, mapping: str) -> dict[str, Watermark]:
    """The stored watermark of each source table of a mapping."""
    rows = con.execute(
        "SELECT source_table, watermark, watermark_type, boundary_keys, mapping_digest "
        "FROM ops.watermarks WHERE mapping = ?",
        [mapping],
    ).fetchall()
    return {
        t: Watermark(None if v is None else _value_from_text(v, k), tuple(b or ()), d or "")
        for t, v, k, b, d in rows
    }


def _save_watermark(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    table: SqlTable,
    mark: Watermark,
    rows: int,
    run_id: str,
) -> None:
    text, kind = _value_text(mark.value) if mark.value is not None else (None, None)
    con.execute(
        "DELETE FROM ops.watermarks WHERE mapping = ? AND source_table = ?",
        [mapping.name, table.name],
    )
    con.execute(
        "INSERT INTO ops.watermarks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            mapping.name,
            table.name,
            table.cursor,
            text,
            kind,
            list(mark.boundary),
            mapping.digest,
            rows,
            run_id,
            _now(),
        ],
    )


# --- pulling ----------------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Pull:
    """What one pull of one source table brought."""

    table: SqlTable
    temp: str  # DuckDB temp table with the new and changed rows
    columns: list[str]
    since: Watermark | None
    read: int = 0  # rows fetched from the source
    new: int = 0  # of which new or changed (not landed before)
    watermark: Watermark | None = None  # after this pull (None: nothing was read)
    warnings: list[str] = field(default_factory=list)


def _key_hash(table: SqlTable) -> str:
    parts = [f"CAST({_q(c)} AS VARCHAR)" for c in (*table.key, table.cursor)]
    return f"md5(concat_ws('|', {', '.join(parts)}))"


def _pull_table(
    con: duckdb.DuckDBPyConnection,
    client: SourceClient,
    source: SqlSource,
    table: SqlTable,
    since: Watermark | None,
    temp: str,
) -> Pull:
    """Pull one table into the temp table `temp`, dropping rows landed before."""
    schema = client.columns(table)
    absent = [c for c in (*table.key, table.cursor) if c not in schema.names]
    if absent:
        raise SqlSourceError(
            f"table {table.name} has no column(s) {', '.join(absent)} named as its key or cursor "
            f"(its columns: {', '.join(schema.names)})"
        )
    lower = None if since is None or since.value is None else since.value
    if lower is not None:
        lower = lower_bound(lower, source.overlap_seconds)
    con.execute(f"DROP TABLE IF EXISTS {temp}")
    empty = pa.Table.from_batches([], schema=schema)
    con.register("_ct_chunk", empty)
    try:
        con.execute(f"CREATE TEMP TABLE {temp} AS SELECT * FROM _ct_chunk")
    finally:
        con.unregister("_ct_chunk")
    read = 0
    for chunk in client.pull(table, schema, lower, source.chunk_rows):
        con.register("_ct_chunk", chunk)
        try:
            con.execute(f"INSERT INTO {temp} SELECT * FROM _ct_chunk")
        finally:
            con.unregister("_ct_chunk")
        read += chunk.num_rows
    pull = Pull(table, temp, list(schema.names), since, read=read)
    if read == 0:
        return pull
    newest = con.execute(f"SELECT max({_q(table.cursor)}) FROM {temp}").fetchone()[0]  # type: ignore[index]
    if newest is None:  # only rows without a cursor value (a first pull): nothing to resume from
        new_mark = since or Watermark(None)
    else:
        boundary = con.execute(
            f"SELECT list(DISTINCT {_key_hash(table)} ORDER BY {_key_hash(table)}) FROM {temp} "
            f"WHERE {_q(table.cursor)} >= ?",
            [lower_bound(newest, source.overlap_seconds)],
        ).fetchone()[0]  # type: ignore[index]
        new_mark = Watermark(newest, tuple(boundary or ()))
    if since is not None and since.boundary:
        con.execute(
            f"DELETE FROM {temp} WHERE {_key_hash(table)} IN (SELECT unnest(?::VARCHAR[]))",
            [list(since.boundary)],
        )
    pull.new = int(con.execute(f"SELECT count(*) FROM {temp}").fetchone()[0])  # type: ignore[index]
    pull.watermark = new_mark
    return pull


def _with_retries(
    action: Callable[[], Pull],
    *,
    retries: int,
    what: str,
    sleep: Callable[[float], None],
) -> Pull:
    """Run `action`, retrying connection errors with exponential backoff (0.5 s, 1 s, 2 s, ...)."""
    attempt = 0
    while True:
        try:
            return action()
        except sa_exc.SQLAlchemyError as exc:
            if not _is_connection_error(exc):
                raise SqlSourceError(f"{what}: {_first_line(exc)}") from exc
            attempt += 1
            if attempt > retries:
                raise ConnectionFailedError(
                    f"{what}: could not connect after {attempt} attempt(s) "
                    f"(1 + {retries} retries): {_first_line(exc)}"
                ) from exc
            delay = min(BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
            log.warning(
                "%s: connection error (attempt %d of %d), retrying in %.1f s: %s",
                what,
                attempt,
                retries + 1,
                delay,
                _first_line(exc),
            )
            sleep(delay)


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip()
    return f"{type(inner).__name__}: {text.splitlines()[0] if text else ''}"


# --- landing ----------------------------------------------------------------------------------


def mirror_schema(mapping: SourceMapping) -> str:
    """The DuckDB schema holding the mapping's mirror of its source tables."""
    return "src_" + re.sub(r"[^a-z0-9_]", "_", mapping.name.lower())


def _mirror(mapping: SourceMapping, table: str) -> str:
    return f"{_q(mirror_schema(mapping))}.{_q(table.replace('.', '__'))}"


def _merge_into_mirror(
    con: duckdb.DuckDBPyConnection, mapping: SourceMapping, pull: Pull, run_id: str
) -> None:
    """Replace the mirror's rows of the pulled keys by their new versions."""
    mirror = _mirror(mapping, pull.table.name)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(mirror_schema(mapping))}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {mirror} AS "
        f"SELECT *, CAST(NULL AS VARCHAR) AS {RUN_COLUMN} FROM {pull.temp} LIMIT 0"
    )
    existing = {r[0] for r in con.execute(f"DESCRIBE {mirror}").fetchall()}
    for name, kind, *_ in con.execute(f"DESCRIBE {pull.temp}").fetchall():
        if name not in existing:  # a column added in the source since the first pull
            con.execute(f"ALTER TABLE {mirror} ADD COLUMN {_q(name)} {kind}")
    on = " AND ".join(f"m.{_q(k)} = p.{_q(k)}" for k in pull.table.key)
    con.execute(f"DELETE FROM {mirror} AS m USING {pull.temp} AS p WHERE {on}")
    con.execute(
        f"INSERT INTO {mirror} BY NAME SELECT *, ? AS {RUN_COLUMN} FROM {pull.temp}", [run_id]
    )


def _line_expr(mapping: SourceMapping, table: str, schema: Mapping[str, str]) -> str:
    """A source row's line in quarantine: its key when that is one whole number, else a row number."""
    key = mapping.source.tables[table].key  # type: ignore[union-attr]
    if len(key) == 1 and schema.get(key[0], "").upper() in (
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
    ):
        return f"CAST({_q(key[0])} AS BIGINT)"
    return "row_number() OVER ()"


def _target_from(con: duckdb.DuckDBPyConnection, mapping: SourceMapping, target: Target) -> str:
    """FROM clause of a target: the driving table's mirror (with a line column) and its joins."""
    assert target.source_table is not None
    mirror = _mirror(mapping, target.source_table)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {mirror}").fetchall()}
    line = _line_expr(mapping, target.source_table, types)
    sql = f"(SELECT *, {line} AS {LINE_COLUMN} FROM {mirror}) AS {_q(SOURCE_ALIAS)}"
    for join in target.joins:
        sql += f" LEFT JOIN {_mirror(mapping, join.table)} AS {_q(join.alias)} ON {join.on.sql}"
    return sql


def _changed_only(target: Target, run_id: str) -> Target:
    """The target restricted to rows whose driving row or a joined row was pulled by this run."""
    aliases = [SOURCE_ALIAS, *(j.alias for j in target.joins)]
    run = "'" + run_id.replace("'", "''") + "'"
    changed = " OR ".join(f"{_q(a)}.{RUN_COLUMN} = {run}" for a in aliases)
    where = f"({changed})"
    if target.where is not None:
        where += f" AND coalesce({target.where.sql}, false)"
    return replace(
        target, where=Compiled(where, target.where.columns if target.where else frozenset())
    )


def _check_columns(mapping: SourceMapping, pulls: dict[str, Pull]) -> None:
    """Every column an expression reads must exist in the table it names."""
    problems = []
    for target in mapping.targets:
        tables = {"": target.source_table, **{j.alias: j.table for j in target.joins}}
        exprs = [*target.columns.values(), *(j.on for j in target.joins)]
        if target.where is not None:
            exprs.append(target.where)
        for compiled in exprs:
            for qualifier, name in compiled.columns:
                table = tables.get(qualifier)
                if table is None or table not in pulls:
                    continue
                column = mapping.rename.get(name, name) if not qualifier else name
                if column not in pulls[table].columns:
                    problems.append(f"{target.table} reads {table}.{column}")
    if problems:
        raise SqlSourceError(
            "columns the mapping reads are not in the source: " + "; ".join(sorted(set(problems)))
        )


def _start_sql_batch(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    run_id: str,
    file_name: str,
    source_path: str,
) -> int:
    batch_id = int(con.execute("SELECT nextval('ops.batch_id_seq')").fetchone()[0])  # type: ignore[index]
    table = TABLES[target.table]
    con.execute(
        "INSERT INTO ops.batches (batch_id, run_id, system, table_name, file_name, source_path, "
        "content_hash, file_bytes, file_format, status, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 'sql', 'running', ?)",
        [batch_id, run_id, table.system, table.name, file_name, source_path, _now()],
    )
    return batch_id


def batch_file_name(mapping: SourceMapping, table: str, since: Watermark | None) -> str:
    """`sql:<mapping>/<table>@<watermark the pull read from>` (`@full` on a first pull)."""
    mark = "full" if since is None or since.value is None else since.text
    return f"sql:{mapping.name}/{table}@{mark}"


def land_sql_mapping(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    *,
    run_id: str,
    client: SourceClient | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[BatchResult]:
    """Pull every source table incrementally and land each target as one batch, in one transaction."""
    source = mapping.source
    assert isinstance(source, SqlSource)
    started = time.perf_counter()
    marks = load_watermarks(con, mapping.name)
    pulls: dict[str, Pull] = {}
    where = f"SQL source of mapping {mapping.name}"
    own_client = client is None
    source_path = url_or_none(source, environ)
    where = f"SQL source of mapping {mapping.name} ({source_path})"
    try:
        if client is None:
            client = SqlAlchemyClient(source_url(source, environ))
        t0 = time.perf_counter()
        for i, table in enumerate(source.tables.values()):
            since = marks.get(table.name)
            pulls[table.name] = _with_retries(
                lambda table=table, since=since, temp=f"_ct_pull_{i}": _pull_table(
                    con, client, source, table, since, temp
                ),
                retries=source.retries,
                what=f"{where}, table {table.name}",
                sleep=sleep or _sleep,
            )
        _check_columns(mapping, pulls)
        read_ms = _ms(time.perf_counter() - t0)
    except Exception as exc:  # nothing was landed: every target gets a failed batch saying why
        message = str(exc) if isinstance(exc, SqlSourceError) else _first_line(exc)
        if not message.startswith(where):
            message = f"{where}: {message}"
        log.error("%s", message)
        _drop(con, pulls)
        return _failed(con, mapping, run_id, source_path, message, marks, started)
    finally:
        if own_client and isinstance(client, SqlAlchemyClient):
            client.close()

    relanding = any(m.digest != mapping.digest for m in marks.values())
    changed_tables = {name for name, p in pulls.items() if p.new}
    todo = [
        t
        for t in mapping.targets
        if relanding or {t.source_table, *(j.table for j in t.joins)} & changed_tables
    ]
    if not relanding and not any(p.new for p in pulls.values()):  # nothing changed: no batch
        _drop(con, pulls)
        return []
    batches = [
        (
            target,
            _start_sql_batch(
                con,
                target,
                run_id,
                batch_file_name(
                    mapping, target.source_table or "", marks.get(target.source_table or "")
                ),
                f"{source_path}#{target.source_table}",
            ),
        )
        for target in todo
    ]
    results: list[BatchResult] = []
    pulled = "; ".join(
        f"{p.table.name}: {p.new} new or changed of {p.read} read"
        + (f" since {p.since.text}" if p.since and p.since.value is not None else "")
        for p in pulls.values()
    )
    con.execute("BEGIN TRANSACTION")
    try:
        for pull in pulls.values():
            _merge_into_mirror(con, mapping, pull, run_id)
        for target, batch_id in batches:
            scoped = target if relanding else _changed_only(target, run_id)
            read = build_target_raw(con, scoped, _target_from(con, mapping, target))
            read.file_format = "sql"
            name = batch_file_name(
                mapping, target.source_table or "", marks.get(target.source_table or "")
            )
            counts, quarantined, warnings = load_raw(
                con, TABLES[target.table], batch_id, name, read, started=started, read_ms=read_ms
            )
            warnings = [f"mapping {mapping.name}", f"pulled {pulled}", *warnings]
            con.execute(
                "UPDATE ops.batches SET warnings = ? WHERE batch_id = ?",
                ["; ".join(warnings), batch_id],
            )
            results.append(
                BatchResult(
                    batch_id,
                    Path(name),
                    TABLES[target.table].system,
                    target.table,
                    "loaded",
                    rows_read=read.rows,
                    counts=counts,
                    rows_quarantined=quarantined,
                    warnings=warnings,
                    seconds=time.perf_counter() - started,
                )
            )
        for pull in pulls.values():
            mark = pull.watermark or pull.since
            if mark is not None:  # the watermark advances with the batches, in this transaction
                _save_watermark(con, mapping, pull.table, mark, pull.new, run_id)
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        reason = (
            str(exc)
            if isinstance(exc, UnreadableFileError)
            else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        status = "rejected" if isinstance(exc, UnreadableFileError) else "failed"
        results = []
        for target, batch_id in batches:
            _finish(con, batch_id, started, status=status, error=reason)
            results.append(
                BatchResult(
                    batch_id,
                    Path(
                        batch_file_name(
                            mapping, target.source_table or "", marks.get(target.source_table or "")
                        )
                    ),
                    TABLES[target.table].system,
                    target.table,
                    status,
                    error=reason,
                )
            )
    finally:
        _drop(con, pulls)
    return results


def url_or_none(source: SqlSource, environ: Mapping[str, str] | None) -> str:
    """The redacted URL of the source, or the variable that should hold it."""
    try:
        return redacted(source_url(source, environ))
    except SqlSourceError:
        return f"${source.env_name}"


def _drop(con: duckdb.DuckDBPyConnection, pulls: Mapping[str, Pull]) -> None:
    for pull in pulls.values():
        con.execute(f"DROP TABLE IF EXISTS {pull.temp}")


def _failed(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    run_id: str,
    source_path: str,
    message: str,
    marks: Mapping[str, Watermark],
    started: float,
) -> list[BatchResult]:
    """One failed batch per target: nothing was pulled, the watermarks stay where they were."""
    results = []
    for target in mapping.targets:
        table = target.source_table or ""
        name = batch_file_name(mapping, table, marks.get(table))
        batch_id = _start_sql_batch(con, target, run_id, name, f"{source_path}#{table}")
        _finish(con, batch_id, started, status="failed", error=message)
        results.append(
            BatchResult(
                batch_id,
                Path(name),
                TABLES[target.table].system,
                target.table,
                "failed",
                error=message,
                seconds=time.perf_counter() - started,
            )
        )
    return results
