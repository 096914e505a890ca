"""Read-only serving snapshots: how readers see the warehouse without ever blocking the writer.

DuckDB locks per process: while a reader holds the live file, the writer
cannot open it, and the reverse. So the writer, after each run, publishes a
snapshot (`storage.publish`: derived tables written into a new
`serving/snapshot-<seq>.duckdb`, landed tables shared between snapshots as
read-only table files, a new name every time: DuckDB caches databases by
path) and atomically replaces the `CURRENT` pointer file. Readers open the
newest snapshot read-only with its table files attached (`open_snapshot`); a
reader in the middle of a query keeps the snapshot it started with, so
nobody ever sees half a batch.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from control_tower.machine import DuckDBResources, Machine, default_duckdb_resources
from control_tower.storage.engine import connect

POINTER = "CURRENT"
TABLES_DIR = "tables"
# The table in each snapshot naming its shared table files: (schema, table).
MANIFEST = ("_snapshot", "tables")
# The table in each snapshot naming every file it attaches, and the alias its views use.
FILES = "files"
_SNAPSHOT_RE = re.compile(r"^snapshot-(\d{8})\.duckdb$")


def quote(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def published_as_of(cur: duckdb.DuckDBPyConnection) -> date | None:
    """The day the published KPI values were computed for (`kpi.values`), the data's as-of
    day; None before the first refresh."""
    try:
        row = cur.execute("SELECT max(as_of) FROM kpi.values").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


class NoSnapshotError(RuntimeError):
    """Nothing has been published yet."""


def current_snapshot(serving_dir: Path) -> Path | None:
    """The snapshot the pointer names, or None before the first publish."""
    try:
        name = (serving_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    return serving_dir / name if name else None


def snapshots(serving_dir: Path) -> list[tuple[int, Path]]:
    """The published snapshots, oldest first, with their sequence numbers."""
    found = []
    for path in serving_dir.glob("snapshot-*.duckdb"):
        match = _SNAPSHOT_RE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def next_snapshot_path(serving_dir: Path) -> Path:
    """The name the next published snapshot will get (sorts after every earlier one)."""
    existing = snapshots(serving_dir)
    seq = existing[-1][0] + 1 if existing else 1
    return serving_dir / f"snapshot-{seq:08d}.duckdb"


def has_manifest(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """Whether the snapshot open as `database` (None: the connection's own) lists shared
    table files; a whole-copy snapshot of an earlier release does not."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = coalesce(?, current_database()) "
        "AND schema_name = ? AND table_name = ?",
        [database, *MANIFEST],
    ).fetchone()
    return bool(row and row[0])


def attach_shared_tables(con: duckdb.DuckDBPyConnection, snapshot: Path) -> int:
    """Attach, read-only, the table files the open snapshot `snapshot` names; how many.

    A snapshot written before table files existed names none and holds every table itself."""
    schema = quote(MANIFEST[0])
    if not has_manifest(con):
        return 0
    rows = con.execute(f"SELECT alias, file FROM {schema}.{quote(FILES)}").fetchall()
    folder = snapshot.parent / TABLES_DIR
    # DuckDB shares one database instance per file and process: a second connection to the
    # same snapshot finds its files attached already.
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    for alias, file in rows:
        if alias not in attached:
            path = str(folder / file).replace("'", "''")
            con.execute(f"ATTACH '{path}' AS {quote(alias)} (READ_ONLY)")
    return len(rows)


def open_snapshot(
    snapshot: Path, resources: DuckDBResources | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection on a published snapshot, its shared table files attached."""
    con = connect(snapshot, resources, read_only=True)
    try:
        attach_shared_tables(con, snapshot)
    except BaseException:
        con.close()
        raise
    return con


@dataclass
class _Handle:
    path: Path
    con: duckdb.DuckDBPyConnection
    refs: int = 0
    retired: bool = False


class ServingStore:
    """Thread-safe access to the newest serving snapshot, one cursor per request.

    Switching to a new snapshot is guarded by a lock; the old connection is
    closed only when its last cursor is returned (reference-counted, deferred).
    """

    def __init__(self, serving_dir: Path, resources: DuckDBResources | None = None) -> None:
        self.serving_dir = serving_dir
        home = serving_dir.parent  # None: the machine defaults for the data folder
        self.resources = resources or default_duckdb_resources(Machine.of(home), home)
        self._lock = threading.Lock()
        self._handle: _Handle | None = None

    def snapshot_path(self) -> Path:
        """Path of the snapshot readers are currently directed to."""
        path = current_snapshot(self.serving_dir)
        if path is None:
            raise NoSnapshotError(
                f"no data has been published in {self.serving_dir} yet: run "
                "`control-tower ingest` (or start the scheduler) to land the inbox"
            )
        return path

    def _acquire(self) -> _Handle:
        path = self.snapshot_path()
        with self._lock:
            handle = self._handle
            if handle is None or handle.path != path:
                con = open_snapshot(path, self.resources)
                new = _Handle(path, con)
                if handle is not None:
                    handle.retired = True
                    if handle.refs == 0:
                        handle.con.close()
                self._handle = handle = new
            handle.refs += 1
            return handle

    def _release(self, handle: _Handle) -> None:
        with self._lock:
            handle.refs -= 1
            if handle.retired and handle.refs == 0:
                handle.con.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the newest snapshot, valid for the duration of the block."""
        handle = self._acquire()
        try:
            cur = handle.con.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            self._release(handle)

    def close(self) -> None:
        """Close the current connection once no cursor uses it."""
        with self._lock:
            if self._handle is not None:
                self._handle.retired = True
                if self._handle.refs == 0:
                    self._handle.con.close()
                self._handle = None
