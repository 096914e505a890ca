"""A table's partitions in DuckDB: their content fingerprints, and their Parquet files.

Both run inside DuckDB, vectorised and streaming: the fingerprint of every partition is one
GROUP BY over the table (row count, and the sum and XOR of a 64-bit hash of each row's columns),
and a partition's file is a `COPY (SELECT ...) TO` that DuckDB streams to disk. No table is
pulled into Python, so a publish's memory does not grow with the table.

A fingerprint also covers the layout version and the columns with their types, so a new
column rewrites every file. DuckDB's `hash` may change between DuckDB releases: the first
publish after such an upgrade then writes every file once more, never reuses a wrong one.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

import duckdb

from control_tower.lake.layout import (
    ENTITY_COLUMN,
    ENTITY_KEY,
    LAYOUT_VERSION,
    MONTH_KEY,
    NONE_PARTITION,
    STORAGE_TYPES,
    ColumnSpec,
    FileEntry,
    partition_dir,
    table_dir,
)
from control_tower.lake.tables import LakeTable

FINGERPRINT_CHARS = 16
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Partition:
    """One partition of a table as it is in the warehouse now."""

    values: MappingProxyType[str, str]  # {"entity": "US01", "month": "2026-05"}; {} unpartitioned
    rows: int
    fingerprint: str
    where: str  # the SQL condition selecting its rows


def table_columns(con: duckdb.DuckDBPyConnection, table: LakeTable) -> tuple[ColumnSpec, ...]:
    """The columns of `table` in the warehouse, in order, with their DuckDB types."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [table.schema, table.table],
    ).fetchall()
    if not rows:
        raise ValueError(f"lake table {table.name}: {table.source} is not in the warehouse")
    return tuple(ColumnSpec(str(n), str(t)) for n, t in rows)


def _fingerprint(columns: tuple[ColumnSpec, ...], values: dict[str, str], *aggs: object) -> str:
    payload = json.dumps(
        [LAYOUT_VERSION, [[c.name, c.type] for c in columns], values, [str(a) for a in aggs]]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:FINGERPRINT_CHARS]


def _month_bounds(month: date) -> tuple[date, date]:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return month, following


def _where(table: LakeTable, entity: object, month: object) -> str:
    parts = []
    if table.partition.entity:
        column = quote_ident(ENTITY_COLUMN)
        parts.append(
            f"{column} IS NULL" if entity is None else f"{column} = {literal(str(entity))}"
        )
    if table.partition.month_column is not None:
        column = quote_ident(table.partition.month_column)
        if month is None:
            parts.append(f"{column} IS NULL")
        else:
            assert isinstance(month, date)
            start, end = _month_bounds(month)
            parts.append(f"{column} >= DATE '{start}' AND {column} < DATE '{end}'")
    return " AND ".join(parts) or "TRUE"


def partitions(
    con: duckdb.DuckDBPyConnection, table: LakeTable, columns: tuple[ColumnSpec, ...]
) -> list[Partition]:
    """Every partition of `table` with its rows and fingerprint (an empty table: none)."""
    spec = table.partition
    keys = []
    if spec.entity:
        keys.append(f"CAST({quote_ident(ENTITY_COLUMN)} AS VARCHAR)")
    if spec.month_column is not None:
        keys.append(f"date_trunc('month', {quote_ident(spec.month_column)})")
    select_keys = [f"{k} AS _k{i}" for i, k in enumerate(keys)]
    row_hash = f"hash({', '.join(quote_ident(c.name) for c in columns)})"
    group = [f"_k{i}" for i in range(len(keys))]
    sql = (
        f"SELECT {', '.join([*group, ''])}count(*) AS n, sum(CAST(_h AS HUGEINT)) AS s, "
        f"bit_xor(_h) AS x FROM (SELECT {', '.join([*select_keys, ''])}{row_hash} AS _h "
        f"FROM {table.schema}.{quote_ident(table.table)}) AS t"
        + (f" GROUP BY {', '.join(group)}" if group else "")
    )
    out = []
    for row in con.execute(sql).fetchall():
        *key_values, n, s, x = row
        if n == 0:
            continue  # an unpartitioned empty table still gives one row
        entity = key_values.pop(0) if spec.entity else None
        month = key_values.pop(0) if spec.month_column is not None else None
        values: dict[str, str] = {}
        if spec.entity:
            values[ENTITY_KEY] = NONE_PARTITION if entity is None else str(entity)
        if spec.month_column is not None:
            values[MONTH_KEY] = NONE_PARTITION if month is None else f"{month:%Y-%m}"
        out.append(
            Partition(
                values=MappingProxyType(values),
                rows=int(n),
                fingerprint=_fingerprint(columns, values, n, s, x),
                where=_where(table, entity, month),
            )
        )
    return sorted(out, key=lambda p: tuple(p.values.values()))


def empty_partition(table: LakeTable, columns: tuple[ColumnSpec, ...]) -> Partition:
    """The one zero-row file of an empty table (so that its schema is known)."""
    values = dict.fromkeys(table.partition.keys, NONE_PARTITION)
    return Partition(
        values=MappingProxyType(values),
        rows=0,
        fingerprint=_fingerprint(columns, values, 0),
        where="FALSE",
    )


def file_path(table: LakeTable, partition: Partition) -> str:
    """The file of `partition`, relative to the lake."""
    folder = table_dir(table.name)
    if partition.values:
        folder = f"{folder}/{partition_dir(partition.values)}"
    return f"{folder}/part-{partition.fingerprint}.parquet"


def _storage_select(table: LakeTable, columns: tuple[ColumnSpec, ...], where: str) -> str:
    cols = []
    for c in columns:
        stored = STORAGE_TYPES.get(c.type)
        name = quote_ident(c.name)
        cols.append(f"CAST({name} AS {stored}) AS {name}" if stored else name)
    return f"SELECT {', '.join(cols)} FROM {table.schema}.{quote_ident(table.table)} WHERE {where}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_partition(
    con: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    table: LakeTable,
    columns: tuple[ColumnSpec, ...],
    partition: Partition,
) -> tuple[FileEntry, bool]:
    """The file of `partition`, written unless it exists (files are immutable and named by
    their content): (its entry, whether it was written). DuckDB writes a temporary name in the
    same folder, which is synced and renamed, so the final name only ever holds a whole file."""
    relative = file_path(table, partition)
    final = lake_dir / relative
    written = False
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            con.execute(
                f"COPY ({_storage_select(table, columns, partition.where)}) "
                f"TO {literal(str(tmp))} ({PARQUET_OPTIONS})"
            )
            _fsync(tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        written = True
    entry = FileEntry(
        path=relative,
        partition=partition.values,
        rows=partition.rows,
        fingerprint=partition.fingerprint,
        bytes=final.stat().st_size,
    )
    return entry, written
