"""Landed tables shared between serving snapshots: a base file and a delta file per table.

A landed table is served from files under `serving/tables/`:
- a base file, the whole table as it was at the publish that wrote it, with
  the highest batch id it held (`base_max_batch`);
- and, once batches have landed since, a delta file: every row written by a
  later batch (`_batch_id > base_max_batch`, new rows and new versions of
  rows the base holds).
The snapshot's view of the table is the base without the keys the delta
holds, plus the delta. Landing stamps every row it writes with its batch,
so a base row with an older batch is exactly the row the warehouse has;
landing never deletes, and a table that lost rows anyway (the row count
says so) gets a new base. Once the delta holds more than `REBASE_SHARE` of
the table's rows, or the table's columns changed, or it has no contract key,
the table gets a new base and no delta. An unchanged table (same columns,
row count and lowest, highest and summed batch id) keeps its files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES
from control_tower.settings import PRIVATE_FILE_MODE
from control_tower.storage.serving import quote

BATCH_COLUMN = "_batch_id"
# A delta larger than this share of the table's rows is folded into a new base file.
REBASE_SHARE = 0.10


@dataclass(frozen=True)
class LandedTable:
    """A table of the warehouse: its schema, name and columns ("name type, ...")."""

    schema: str
    name: str
    columns: str
    landed: bool  # carries _batch_id

    @property
    def ref(self) -> str:
        """The table's qualified, quoted name."""
        return f"{quote(self.schema)}.{quote(self.name)}"

    @property
    def key(self) -> tuple[str, ...]:
        """The contract key of a landed table of the main schema (empty: none known)."""
        contract = TABLES.get(self.name) if self.schema == "main" else None
        return tuple(contract.key) if contract is not None else ()


@dataclass(frozen=True)
class SharedEntry:
    """How one snapshot serves one landed table: which files, and the table's fingerprint."""

    schema: str
    name: str
    columns: str
    fingerprint: str
    base_file: str
    base_max_batch: int | None
    delta_file: str | None = None

    def files(self) -> tuple[str, ...]:
        """The table files this entry names."""
        return (self.base_file,) if self.delta_file is None else (self.base_file, self.delta_file)


def literal(path: Path) -> str:
    """A file path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def sync_private(path: Path) -> None:
    """Give a new file the owner-only mode and flush it to disk."""
    with open(path, "rb+") as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)  # a new file has the umask's mode
        os.fsync(fh.fileno())


def fingerprint(con: duckdb.DuckDBPyConnection, table: LandedTable) -> tuple[str, int, int | None]:
    """(fingerprint, row count, highest batch id) of a landed table."""
    row = con.execute(
        f"SELECT count(*), min({BATCH_COLUMN}), max({BATCH_COLUMN}), sum({BATCH_COLUMN}) "
        f"FROM {table.ref}"
    ).fetchone()
    count, low, high, total = row if row else (0, None, None, None)
    text = "|".join("" if v is None else str(v) for v in (count, low, high, total))
    return f"{table.columns}|{text}", int(count), high


def _write(con: duckdb.DuckDBPyConnection, table: LandedTable, final: Path, where: str) -> None:
    tmp = final.with_name(f".{final.name}.tmp")
    tmp.unlink(missing_ok=True)
    con.execute(f"ATTACH {literal(tmp)} AS table_out")
    try:
        con.execute(
            f"CREATE TABLE table_out.main.{quote(table.name)} AS FROM {table.ref} WHERE {where}"
        )
    finally:
        con.execute("DETACH table_out")
    sync_private(tmp)
    os.replace(tmp, final)


def _rows_since(con: duckdb.DuckDBPyConnection, table: LandedTable, batch: int | None) -> int:
    if batch is None:
        row = con.execute(f"SELECT count(*) FROM {table.ref}").fetchone()
    else:
        sql = f"SELECT count(*) FROM {table.ref} WHERE {BATCH_COLUMN} > ?"
        row = con.execute(sql, [batch]).fetchone()
    return int(row[0]) if row else 0


def _base_rows_kept(
    con: duckdb.DuckDBPyConnection, table: LandedTable, base: Path, batch: int | None
) -> int:
    """Rows of the base file whose key no later batch wrote."""
    keys = ", ".join(quote(k) for k in table.key)
    since = f"{BATCH_COLUMN} > {int(batch)}" if batch is not None else "TRUE"
    con.execute(f"ATTACH {literal(base)} AS base_in (READ_ONLY)")
    try:
        row = con.execute(
            f"SELECT count(*) FROM base_in.main.{quote(table.name)} ANTI JOIN "
            f"(SELECT {keys} FROM {table.ref} WHERE {since}) USING ({keys})"
        ).fetchone()
    finally:
        con.execute("DETACH base_in")
    return int(row[0]) if row else 0


def serve_table(
    con: duckdb.DuckDBPyConnection,
    table: LandedTable,
    previous: SharedEntry | None,
    folder: Path,
    seq: str,
    *,
    full_base: str | None = None,
) -> tuple[SharedEntry, str]:
    """The entry serving `table` in the snapshot `seq`, writing the files it needs, and what
    was done: "shared" (files kept), "delta" (a new delta file) or "base" (a new base file, or
    `full_base`: a copy of the whole warehouse just made, for a table the previous snapshot
    did not serve)."""
    print_, count, high = fingerprint(con, table)
    if previous is not None and previous.fingerprint == print_:
        return previous, "shared"
    if previous is not None and previous.columns == table.columns and table.key:
        since = _rows_since(con, table, previous.base_max_batch)
        base = folder / previous.base_file
        if since <= REBASE_SHARE * count and (
            _base_rows_kept(con, table, base, previous.base_max_batch) + since == count
        ):
            delta = None
            if since:
                delta = f"{table.schema}.{table.name}-{seq}.delta.duckdb"
                where = f"{BATCH_COLUMN} > {int(previous.base_max_batch or 0)}"
                _write(con, table, folder / delta, where)
            return replace(previous, fingerprint=print_, delta_file=delta), "delta"
    if previous is None and full_base is not None:
        entry = SharedEntry(table.schema, table.name, table.columns, print_, full_base, high)
        return entry, "base"
    base_file = f"{table.schema}.{table.name}-{seq}.duckdb"
    _write(con, table, folder / base_file, "TRUE")
    entry = SharedEntry(table.schema, table.name, table.columns, print_, base_file, high)
    return entry, "base"


def view_sql(entry: SharedEntry, base_alias: str, delta_alias: str | None, key: tuple) -> str:
    """The query a snapshot's view of the table runs: the base, overlaid by the delta."""
    name = quote(entry.name)
    base = f"{quote(base_alias)}.main.{name}"
    if delta_alias is None:
        return f"FROM {base}"
    delta = f"{quote(delta_alias)}.main.{name}"
    keys = ", ".join(quote(k) for k in key)
    return f"FROM {base} ANTI JOIN {delta} USING ({keys}) UNION ALL FROM {delta}"
