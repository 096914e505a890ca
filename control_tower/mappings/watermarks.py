"""Watermarks and pulls of a SQL source: how far each table was landed, and what is new since.

A pull reads the rows at or above the watermark minus the overlap window
into a DuckDB temp table, then drops those whose (key, cursor) md5 is in the
watermark's boundary set: they were landed before. See
`control_tower.mappings.sql` for why the overlap is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from control_tower.landing import utc_now
from control_tower.mappings.spec import SourceMapping, SqlSource, SqlTable
from control_tower.mappings.sql_client import SourceClient, SqlSourceError


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def save_watermark(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    table: SqlTable,
    mark: Watermark,
    rows: int,
    run_id: str,
) -> None:
    """Store how far a source table has been landed (in the caller's transaction)."""
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
            utc_now(),
        ],
    )


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


def pull_table(
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
    con.complete()  # DuckDB registers no frame beside an unread result
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
