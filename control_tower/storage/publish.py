"""Publishing a serving snapshot without copying the warehouse.

The serving folder (`<home>/serving/`) holds:

- `snapshot-<seq>.duckdb`, one per publish: every derived table (KPI values,
  the exception mirror, risk scores, run records: what the post-load steps
  rewrite; not the writer's own `UNPUBLISHED_SCHEMAS`) written whole, and for
  every landed table a view on a shared table file; `_snapshot.tables` lists
  those views and their files;
- `tables/<schema>.<table>-<seq>.duckdb`: one landed table as it was at the
  publish `<seq>` that wrote it, shared by every later snapshot for as long
  as the table does not change;
- `CURRENT`: the name of the newest snapshot (replaced atomically).

Landed tables change only through landing, which stamps every row it writes
with its batch (`_batch_id`); a landed table whose columns, row count and
lowest, highest and summed batch id are those recorded for its file has not
changed, so the new snapshot points at the same file. A 1% delta of order
lines therefore rewrites the order-line table and the derived tables, not
the inventory history, the tracking events and the rest: a publish costs
what changed, not the size of the warehouse, and snapshots share their
unchanged tables on disk.

Every file is written under a temporary name, synced and renamed, the
pointer last, so a reader sees the previous snapshot or the new one whole.
Readers (`serving.open_snapshot`) open the snapshot read-only and attach its
table files read-only. Old snapshots are pruned as before, and a table file
once no kept snapshot names it (with the same grace period for a reader that
read the pointer a moment ago).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.machine import DuckDBResources
from control_tower.settings import private_dir
from control_tower.storage.engine import connect
from control_tower.storage.schema import UNPUBLISHED_SCHEMAS
from control_tower.storage.serving import (
    FILES,
    MANIFEST,
    POINTER,
    TABLES_DIR,
    current_snapshot,
    has_manifest,
    next_snapshot_path,
    quote,
    snapshots,
)
from control_tower.storage.shared_tables import (
    BATCH_COLUMN,
    LandedTable,
    SharedEntry,
    literal,
    serve_table,
    sync_private,
    view_sql,
)

# Snapshots younger than this are never deleted: a reader may have just read the pointer.
MIN_AGE_S = 60.0
_ENTRY_COLUMNS = (
    "schema_name, table_name, columns, fingerprint, base_file, base_max_batch, delta_file"
)


@dataclass
class PublishReport:
    """What one publish wrote."""

    snapshot: Path
    shared: int = 0  # landed tables served from the previous snapshot's files
    deltas: int = 0  # landed tables given a new delta file on their base
    bases: int = 0  # landed tables written whole to a new base file
    derived: int = 0  # derived tables written into the snapshot
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: what the publish wrote and how long it took."""
        landed = self.shared + self.deltas + self.bases
        return (
            f"Landed tables: {self.shared} of {landed} unchanged, {self.deltas} served as a "
            f"delta on their base, {self.bases} written whole; {self.derived} derived tables "
            f"written; {self.seconds:.1f}s."
        )


def _tables(con: duckdb.DuckDBPyConnection) -> list[LandedTable]:
    rows = con.execute(
        "SELECT t.schema_name, t.table_name, "
        "  string_agg(c.column_name || ' ' || c.data_type, ', ' ORDER BY c.column_index), "
        "  bool_or(c.column_name = ?) "
        "FROM duckdb_tables() AS t JOIN duckdb_columns() AS c "
        "  ON c.database_name = t.database_name AND c.schema_name = t.schema_name "
        "  AND c.table_name = t.table_name "
        "WHERE t.database_name = current_database() AND NOT t.temporary AND NOT t.internal "
        "  AND NOT list_contains(?, t.schema_name) "
        "GROUP BY ALL ORDER BY 1, 2",
        [BATCH_COLUMN, list(UNPUBLISHED_SCHEMAS)],
    ).fetchall()
    return [LandedTable(*row) for row in rows]


def _manifest_rows(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    """The manifest rows of an attached snapshot (none: a whole-copy snapshot)."""
    if not has_manifest(con, database):
        return []
    table = f"{quote(database)}.{quote(MANIFEST[0])}.{quote(MANIFEST[1])}"
    return con.execute(f"SELECT {_ENTRY_COLUMNS} FROM {table}").fetchall()


def _previous(
    con: duckdb.DuckDBPyConnection, serving_dir: Path
) -> dict[tuple[str, str], SharedEntry]:
    """How the current snapshot serves each landed table (whose files still exist)."""
    path = current_snapshot(serving_dir)
    if path is None or not path.exists():
        return {}
    con.execute(f"ATTACH {literal(path)} AS prev_snapshot (READ_ONLY)")
    try:
        entries = [SharedEntry(*row) for row in _manifest_rows(con, "prev_snapshot")]
    finally:
        con.execute("DETACH prev_snapshot")
    folder = serving_dir / TABLES_DIR
    return {(e.schema, e.name): e for e in entries if all((folder / f).exists() for f in e.files())}


def _create_schemas(con: duckdb.DuckDBPyConnection, tables: list[LandedTable]) -> None:
    for schema in sorted({t.schema for t in tables} - {"main"}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS snapshot_out.{quote(schema)}")


def publish_snapshot(
    warehouse: Path,
    serving_dir: Path,
    *,
    keep: int = 3,
    final: Path | None = None,
    resources: DuckDBResources | None = None,
) -> Path:
    """Publish the warehouse as a new serving snapshot and point readers at it.

    The caller holds the writer lock and has closed its own write connection
    (or checkpointed it with no open transaction)."""
    return publish(warehouse, serving_dir, keep=keep, final=final, resources=resources).snapshot


def publish(
    warehouse: Path,
    serving_dir: Path,
    *,
    keep: int = 3,
    final: Path | None = None,
    resources: DuckDBResources | None = None,
) -> PublishReport:
    """`publish_snapshot`, with what it wrote and shared."""
    t0 = time.perf_counter()
    private_dir(serving_dir)
    private_dir(serving_dir / TABLES_DIR)
    final = final or next_snapshot_path(serving_dir)
    report = PublishReport(final)
    seq = final.stem.split("-")[-1]
    tmp = serving_dir / f".{final.name}.tmp"
    tmp.unlink(missing_ok=True)
    con = connect(warehouse, resources)
    try:
        previous = _previous(con, serving_dir)
        full_base = None
        if not previous:
            # Nothing to share from: one sequential copy of the (checkpointed) warehouse is the
            # base of every landed table, far faster than writing them table by table.
            con.close()
            full_base = _copy_warehouse(warehouse, serving_dir / TABLES_DIR, seq)
            con = connect(warehouse, resources)
        tables = _tables(con)
        con.execute(f"ATTACH {literal(tmp)} AS snapshot_out")
        try:
            _create_schemas(con, tables)
            entries = []
            for table in tables:
                if not table.landed:
                    con.execute(f"CREATE TABLE snapshot_out.{table.ref} AS FROM {table.ref}")
                    report.derived += 1
                    continue
                known = previous.get((table.schema, table.name))
                entry, done = serve_table(
                    con, table, known, serving_dir / TABLES_DIR, seq, full_base=full_base
                )
                report.shared += done == "shared"
                report.deltas += done == "delta"
                report.bases += done == "base"
                entries.append((table, entry))
            _write_views(con, serving_dir, entries)
        finally:
            con.execute("DETACH snapshot_out")
        sync_private(tmp)
        os.replace(tmp, final)
        pointer_tmp = serving_dir / f".{POINTER}.tmp"
        pointer_tmp.write_text(final.name)
        os.replace(pointer_tmp, serving_dir / POINTER)
        prune(con, serving_dir, keep=keep, current=final)
    finally:
        con.close()
    report.seconds = time.perf_counter() - t0
    return report


def _copy_warehouse(warehouse: Path, folder: Path, seq: str) -> str:
    """Copy the closed, checkpointed warehouse file into `folder`; the copy's file name."""
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        # Only reachable if the writer did not checkpoint; never publish a file without its log.
        raise RuntimeError(f"{wal} is not empty: checkpoint the warehouse before publishing")
    name = f"warehouse-{seq}.duckdb"
    tmp = folder / f".{name}.tmp"
    shutil.copyfile(warehouse, tmp)
    sync_private(tmp)
    os.replace(tmp, folder / name)
    return name


def _write_views(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    entries: list[tuple[LandedTable, SharedEntry]],
) -> None:
    """The views of the landed tables on their files, and the manifest readers attach from:
    `_snapshot.tables` (how each table is served) and `_snapshot.files` (each file once)."""
    schema = f"snapshot_out.{quote(MANIFEST[0])}"
    manifest = f"{schema}.{quote(MANIFEST[1])}"
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        f"CREATE TABLE {manifest} (schema_name VARCHAR, table_name VARCHAR, columns VARCHAR, "
        "fingerprint VARCHAR, base_file VARCHAR, base_max_batch BIGINT, delta_file VARCHAR)"
    )
    con.execute(f"CREATE TABLE {schema}.{quote(FILES)} (file VARCHAR, alias VARCHAR)")
    aliases: dict[str, str] = {}
    for _, entry in entries:
        for file in entry.files():
            aliases.setdefault(file, f"shared_{len(aliases)}")
    folder = serving_dir / TABLES_DIR
    for file, alias in aliases.items():
        con.execute(f"ATTACH {literal(folder / file)} AS {quote(alias)} (READ_ONLY)")
        con.execute(f"INSERT INTO {schema}.{quote(FILES)} VALUES (?, ?)", [file, alias])
    try:
        for table, entry in entries:
            delta = aliases[entry.delta_file] if entry.delta_file else None
            sql = view_sql(entry, aliases[entry.base_file], delta, table.key)
            con.execute(f"CREATE VIEW snapshot_out.{table.ref} AS {sql}")
            con.execute(
                f"INSERT INTO {manifest} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.schema,
                    entry.name,
                    entry.columns,
                    entry.fingerprint,
                    entry.base_file,
                    entry.base_max_batch,
                    entry.delta_file,
                ],
            )
    finally:
        for alias in aliases.values():
            con.execute(f"DETACH {quote(alias)}")


def _files_named(con: duckdb.DuckDBPyConnection, snapshot: Path) -> set[str]:
    """The table files a snapshot attaches (none for a whole-copy snapshot)."""
    try:
        con.execute(f"ATTACH {literal(snapshot)} AS named_by (READ_ONLY)")
    except duckdb.Error:  # deleted meanwhile, or not a database: it names nothing
        return set()
    try:
        if not _manifest_rows(con, "named_by"):
            return set()
        files = f"named_by.{quote(MANIFEST[0])}.{quote(FILES)}"
        return {r[0] for r in con.execute(f"SELECT file FROM {files}").fetchall()}
    finally:
        con.execute("DETACH named_by")


def _old(paths: Iterable[Path], now: float, min_age_s: float) -> list[Path]:
    found = []
    for path in paths:
        try:
            if now - path.stat().st_mtime >= min_age_s:
                found.append(path)
        except FileNotFoundError:
            pass
    return found


def prune(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    *,
    keep: int,
    current: Path,
    min_age_s: float = MIN_AGE_S,
) -> None:
    """Delete old snapshots, keeping the newest `keep` and any younger than `min_age_s`, then
    the table files no remaining snapshot names (also only once `min_age_s` old), and the
    temporary files of a publish that was killed (only the lock holder publishes).

    Deleting a file a reader still has open is safe on POSIX (the reader keeps its inode); the
    age rule covers a reader that read the pointer a moment ago and is about to open it."""
    now = time.time()
    older = [p for _, p in snapshots(serving_dir) if p != current][: -(keep - 1) or None]
    for path in _old(older, now, min_age_s):
        path.unlink(missing_ok=True)
    named: set[str] = set()
    for _, path in snapshots(serving_dir):
        named |= _files_named(con, path)
    tables = serving_dir / TABLES_DIR
    unnamed = [p for p in tables.glob("*.duckdb") if p.name not in named]
    for path in _old(unnamed, now, min_age_s):
        path.unlink(missing_ok=True)
    for path in [*serving_dir.glob(".snapshot-*.tmp"), *tables.glob(".*.tmp")]:
        path.unlink(missing_ok=True)
