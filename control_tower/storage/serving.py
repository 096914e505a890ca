"""Read-only serving snapshots: how readers see the warehouse without ever blocking the writer.

DuckDB locks per process: while a reader holds the live file, the writer
cannot open it, and the reverse. So the writer, after each run, copies the
checkpointed warehouse to `serving/snapshot-<seq>.duckdb` (a new name every
time: DuckDB caches databases by path) and atomically replaces the `CURRENT`
pointer file. Readers open the newest snapshot read-only; a reader in the
middle of a query keeps the snapshot it started with, so nobody ever sees
half a batch.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.settings import (
    PRIVATE_FILE_MODE,
    DuckDBResources,
    Machine,
    default_duckdb_resources,
    private_dir,
)
from control_tower.storage.engine import connect

POINTER = "CURRENT"
_SNAPSHOT_RE = re.compile(r"^snapshot-(\d{8})\.duckdb$")


class NoSnapshotError(RuntimeError):
    """Nothing has been published yet."""


def current_snapshot(serving_dir: Path) -> Path | None:
    """The snapshot the pointer names, or None before the first publish."""
    try:
        name = (serving_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    return serving_dir / name if name else None


def _snapshots(serving_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for path in serving_dir.glob("snapshot-*.duckdb"):
        match = _SNAPSHOT_RE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def next_snapshot_path(serving_dir: Path) -> Path:
    """The name the next published snapshot will get (sorts after every earlier one)."""
    existing = _snapshots(serving_dir)
    seq = existing[-1][0] + 1 if existing else 1
    return serving_dir / f"snapshot-{seq:08d}.duckdb"


def publish_snapshot(
    warehouse: Path, serving_dir: Path, *, keep: int = 3, final: Path | None = None
) -> Path:
    """Copy the (closed, checkpointed) warehouse to a new snapshot and point readers at it.

    The caller must have closed its write connection (or checkpointed with no
    open transaction), so that the file holds every committed batch.
    """
    private_dir(serving_dir)
    final = final or next_snapshot_path(serving_dir)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        # Only reachable if the writer did not checkpoint; never publish a file without its log.
        raise RuntimeError(f"{wal} is not empty: checkpoint the warehouse before publishing")
    tmp = serving_dir / f".{final.name}.tmp"
    shutil.copyfile(warehouse, tmp)
    with open(tmp, "rb+") as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)  # the copy has the umask's mode
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    pointer_tmp = serving_dir / f".{POINTER}.tmp"
    pointer_tmp.write_text(final.name)
    os.replace(pointer_tmp, serving_dir / POINTER)
    _prune(serving_dir, keep=keep, current=final)
    return final


def _prune(serving_dir: Path, *, keep: int, current: Path, min_age_s: float = 60.0) -> None:
    """Delete old snapshots, keeping the newest `keep` and any younger than `min_age_s`.

    Deleting a file a reader still has open is safe on POSIX (the reader
    keeps its inode); the age rule covers a reader that read the pointer a
    moment ago and is about to open the previous snapshot.
    """
    now = time.time()
    old = [p for _, p in _snapshots(serving_dir) if p != current][: -(keep - 1) or None]
    for path in old:
        try:
            if now - path.stat().st_mtime >= min_age_s:
                path.unlink()
        except FileNotFoundError:
            pass


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
                con = connect(path, self.resources, read_only=True)
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
