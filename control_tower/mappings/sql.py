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
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES
from control_tower.landing import (
    LINE_COLUMN,
    BatchResult,
    Delivery,
    LandingRun,
    Ledger,
    ms_since,
)
from control_tower.mappings.spec import SOURCE_ALIAS, SourceMapping, SqlSource, Target
from control_tower.mappings.sql_client import (
    ConnectionFailedError,
    SourceClient,
    SqlAlchemyClient,
    SqlSourceError,
    first_line,
    redacted,
    source_url,
    url_or_none,
    with_retries,
)
from control_tower.mappings.target_sql import build_target_raw, record_sql
from control_tower.mappings.watermarks import (
    Pull,
    Watermark,
    load_watermarks,
    lower_bound,
    pull_table,
    save_watermark,
)

__all__ = [
    "ConnectionFailedError",
    "SourceClient",
    "SqlAlchemyClient",
    "SqlMappingSource",
    "SqlSourceError",
    "Watermark",
    "batch_file_name",
    "land_sql_mapping",
    "load_watermarks",
    "lower_bound",
    "mirror_schema",
    "redacted",
    "source_url",
]

log = logging.getLogger(__name__)

RUN_COLUMN = "_ct_pulled_run"  # mirror column: the run that last pulled the row
_sleep = time.sleep  # the backoff's wait (tests replace it)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
    """A source row's line in quarantine: its key when that is one whole number, else its
    position in the mirror."""
    key = mapping.source.tables[table].key  # type: ignore[union-attr]
    if len(key) == 1 and schema.get(key[0], "").upper() in (
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
    ):
        return f"CAST({_q(key[0])} AS BIGINT)"
    return "rowid + 1"


def _driving_rows(con: duckdb.DuckDBPyConnection, mapping: SourceMapping, target: Target) -> str:
    """The driving table's mirror with each row's line (see `_line_expr`)."""
    assert target.source_table is not None
    mirror = _mirror(mapping, target.source_table)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {mirror}").fetchall()}
    line = _line_expr(mapping, target.source_table, types)
    return f"(SELECT *, {line} AS {LINE_COLUMN} FROM {mirror})"


def _target_from(mapping: SourceMapping, target: Target, driving: str) -> str:
    """FROM clause of a target: the driving rows and the joined mirrors."""
    sql = f"{driving} AS {_q(SOURCE_ALIAS)}"
    for join in target.joins:
        sql += f" LEFT JOIN {_mirror(mapping, join.table)} AS {_q(join.alias)} ON {join.on.sql}"
    return sql


def _changed_only(target: Target, run_id: str) -> str:
    """SQL keeping the rows whose driving row or a joined row was pulled by this run."""
    aliases = [SOURCE_ALIAS, *(j.alias for j in target.joins)]
    run = "'" + run_id.replace("'", "''") + "'"
    return " OR ".join(f"{_q(a)}.{RUN_COLUMN} = {run}" for a in aliases)


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


def _delivery(mapping: SourceMapping, target: Target, source_path: str, name: str) -> Delivery:
    table = TABLES[target.table]
    return Delivery(
        Path(name),
        table.system,
        table.name,
        source_path=f"{source_path}#{target.source_table}",
        file_format="sql",
        label=name,
    )


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
    ledger: Ledger | None = None,
) -> list[BatchResult]:
    """Pull every source table incrementally and land each target as one batch, in one transaction."""
    source = mapping.source
    assert isinstance(source, SqlSource)
    ledger = ledger or Ledger(con, run_id)
    started = time.perf_counter()
    marks = load_watermarks(con, mapping.name)
    pulls: dict[str, Pull] = {}
    own_client = client is None
    source_path = url_or_none(source, environ)
    where = f"SQL source of mapping {mapping.name} ({source_path})"

    def name_of(target: Target) -> str:
        table = target.source_table or ""
        return batch_file_name(mapping, table, marks.get(table))

    try:
        if client is None:
            client = SqlAlchemyClient(source_url(source, environ))
        t0 = time.perf_counter()
        for i, table in enumerate(source.tables.values()):
            since = marks.get(table.name)
            pulls[table.name] = with_retries(
                lambda table=table, since=since, temp=f"_ct_pull_{i}": pull_table(
                    con, client, source, table, since, temp
                ),
                retries=source.retries,
                what=f"{where}, table {table.name}",
                sleep=sleep or _sleep,
            )
        _check_columns(mapping, pulls)
        read_ms = ms_since(t0)
    except Exception as exc:  # nothing was landed: every target gets a failed batch saying why
        message = str(exc) if isinstance(exc, SqlSourceError) else first_line(exc)
        if not message.startswith(where):
            message = f"{where}: {message}"
        log.error("%s", message)
        _drop(con, pulls)
        # One failed batch per target: nothing was pulled, the watermarks stay where they were.
        return [
            ledger.fail(
                ledger.start(_delivery(mapping, t, source_path, name_of(t)), started=started),
                message,
            )
            for t in mapping.targets
        ]
    finally:
        if own_client and isinstance(client, SqlAlchemyClient):
            client.close()

    relanding = any(m.digest != mapping.digest for m in marks.values())
    changed_tables = {name for name, p in pulls.items() if p.new}
    if not relanding and not changed_tables:  # nothing changed: no batch
        _drop(con, pulls)
        return []
    batches = [
        (
            target,
            ledger.start(_delivery(mapping, target, source_path, name_of(target)), started=started),
        )
        for target in mapping.targets
        if relanding or {target.source_table, *(j.table for j in target.joins)} & changed_tables
    ]
    pulled = "; ".join(
        f"{p.table.name}: {p.new} new or changed of {p.read} read"
        + (f" since {p.since.text}" if p.since and p.since.value is not None else "")
        for p in pulls.values()
    )

    def land() -> list[BatchResult]:
        for pull in pulls.values():
            _merge_into_mirror(con, mapping, pull, run_id)
        results = []
        for target, batch in batches:
            driving = _driving_rows(con, mapping, target)
            read = build_target_raw(
                con,
                target,
                _target_from(mapping, target, driving),
                scope=None if relanding else _changed_only(target, run_id),
                record=record_sql(con, driving),
            )
            read.file_format = "sql"
            result = ledger.land(batch, read, read_ms=read_ms)
            ledger.note(result, [f"mapping {mapping.name}", f"pulled {pulled}", *result.warnings])
            results.append(result)
        for pull in pulls.values():
            mark = pull.watermark or pull.since
            if mark is not None:  # the watermark advances with the batches, in this transaction
                save_watermark(con, mapping, pull.table, mark, pull.new, run_id)
        return results

    try:
        return ledger.land_together([b for _t, b in batches], land)
    finally:
        _drop(con, pulls)


def _drop(con: duckdb.DuckDBPyConnection, pulls: Mapping[str, Pull]) -> None:
    for pull in pulls.values():
        con.execute(f"DROP TABLE IF EXISTS {pull.temp}")


@dataclass(frozen=True)
class SqlMappingSource:
    """A SQL mapping's source: one incremental pull of its database tables per run."""

    mapping: SourceMapping

    def land(self, run: LandingRun) -> Iterator[BatchResult]:
        """Pull and land what changed since the watermarks (its URL may come from the environment)."""
        if run.stop_requested():
            return
        yield from land_sql_mapping(run.con, self.mapping, run_id=run.run_id, ledger=run.ledger)
