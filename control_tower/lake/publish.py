"""Publishing the lake: the landed tables and derived inputs as a new version, atomically.

For every table (`lake.tables`), each partition's fingerprint is computed in DuckDB
(`lake.partitions`); a partition whose file (named by that fingerprint) exists already keeps
it, any other gets a new file. A landed table the run's batches did not reach, whose newest
ledger batch is the one recorded in the current manifest, keeps its entry without being read
at all; otherwise, rows and batch-id statistics equal to the recorded ones also show it did not
change (one column read). Then the manifest is written, then CURRENT is replaced: each under a
temporary name in its folder, synced, and renamed, so a reader following CURRENT sees the
previous version or the new one whole, never a half-written one. A publish that changes
nothing writes no file and keeps the current version. Last, the files of versions older than
the newest three are deleted (`lake.retention`).

Everything is read in one transaction, so the version is one consistent state of the warehouse.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

import duckdb

from control_tower.lake.layout import (
    CURRENT,
    MANIFESTS_DIR,
    LakeError,
    Manifest,
    TableEntry,
    version_id,
    version_number,
)
from control_tower.lake.partitions import (
    empty_partition,
    partitions,
    table_columns,
    write_partition,
)
from control_tower.lake.read import current_manifest
from control_tower.lake.retention import KEEP_VERSIONS, Retention, clean, versions
from control_tower.lake.tables import LakeTable, lake_tables
from control_tower.settings import utc_now
from control_tower.storage.changes import Changes

log = logging.getLogger(__name__)

LEDGER_MARK = "ledger_batch"  # the newest ops.batches id of the table when published


@dataclass
class LakeReport:
    """What one publish did."""

    lake_dir: Path
    version: str
    previous: str | None
    new_version: bool = False
    tables: int = 0
    rows: int = 0
    files: int = 0
    files_written: int = 0
    bytes_written: int = 0
    bytes_total: int = 0
    tables_unread: list[str] = field(default_factory=list)
    tables_rewritten: list[str] = field(default_factory=list)
    retention: Retention = field(default_factory=Retention)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the run record."""
        removed = (
            f"; removed {self.retention.files} old files and {self.retention.manifests} manifests"
            if self.retention.files or self.retention.manifests
            else ""
        )
        if not self.new_version:
            return (
                f"lake unchanged at {self.version} ({self.tables} tables, {self.files} files, "
                f"no file written){removed}"
            )
        return (
            f"lake {self.version}: {self.tables} tables, {self.rows:,} rows in {self.files} files "
            f"({self.files_written} written, {self.bytes_written / 1e6:.1f} MB; "
            f"{len(self.tables_unread)} tables unchanged without reading){removed}"
        )


def _previous(lake_dir: Path) -> Manifest | None:
    if not (lake_dir / CURRENT).exists():
        return None
    try:
        return current_manifest(lake_dir)
    except LakeError as exc:
        # Publishing goes on (the next version is whole without it); the problem is logged.
        log.warning("lake publish: the current version cannot be read, nothing reused: %s", exc)
        return None


def _ledger_batches(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'ops' AND table_name = 'batches'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        "SELECT table_name, max(batch_id) FROM ops.batches WHERE table_name IS NOT NULL "
        "GROUP BY table_name"
    ).fetchall()
    return {str(t): int(b) for t, b in rows}


def _batch_marks(con: duckdb.DuckDBPyConnection, table: LakeTable) -> dict[str, int]:
    n, lo, hi, total = con.execute(
        f"SELECT count(*), min(_batch_id), max(_batch_id), sum(_batch_id) FROM {table.source}"
    ).fetchall()[0]
    return {"rows": int(n), "batch_min": int(lo or 0), "batch_max": int(hi or 0),
            "batch_sum": int(total or 0)}  # fmt: skip


def _without_ledger(marks: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in marks.items() if k != LEDGER_MARK}


class _Publisher:
    """One publish: the tables' entries, built against the previous version."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake_dir: Path,
        previous: Manifest | None,
        changes: Changes | None,
        report: LakeReport,
    ) -> None:
        self.con, self.lake_dir, self.previous = con, lake_dir, previous
        self.changes, self.report = changes, report
        self.ledger = _ledger_batches(con)

    def _present(self, entry: TableEntry) -> bool:
        return all((self.lake_dir / f.path).is_file() for f in entry.files)

    def entry(self, table: LakeTable) -> TableEntry:
        columns = table_columns(self.con, table)
        before = self.previous.tables.get(table.name) if self.previous else None
        if before is not None and (before.columns != columns or before.source != table.source):
            before = None  # another shape: every file is new
        if before is not None and not self._present(before):
            before = None  # a file of it is gone: write the table afresh
        marks: dict[str, int] = {}
        if table.kind == "landed":
            ledger = self.ledger.get(table.name, 0)
            untouched = (
                self.changes is not None
                and not self.changes.full
                and table.name not in self.changes.tables()
            )
            if untouched and before is not None and before.change_marks.get(LEDGER_MARK) == ledger:
                self.report.tables_unread.append(table.name)
                return before
            marks = {**_batch_marks(self.con, table), LEDGER_MARK: ledger}
            if before is not None and _without_ledger(before.change_marks) == _without_ledger(
                marks
            ):
                return replace(before, change_marks=MappingProxyType(marks))
        found = partitions(self.con, table, columns) or [empty_partition(table, columns)]
        files = []
        for partition in found:
            entry, written = write_partition(self.con, self.lake_dir, table, columns, partition)
            files.append(entry)
            if written:
                self.report.files_written += 1
                self.report.bytes_written += entry.bytes
                if table.name not in self.report.tables_rewritten:
                    self.report.tables_rewritten.append(table.name)
        return TableEntry(
            name=table.name,
            kind=table.kind,
            source=table.source,
            partition_by=table.partition.keys,
            columns=columns,
            rows=sum(f.rows for f in files),
            files=tuple(files),
            change_marks=MappingProxyType(marks),
        )


def _write_atomically(path: Path, text: str) -> None:
    """`text` into `path`: a temporary file in the same folder, synced, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _same_content(a: Manifest, b: Manifest) -> bool:
    def files(m: Manifest) -> dict[str, object]:
        return {n: (t.kind, t.source, t.columns, t.files) for n, t in m.tables.items()}

    return files(a) == files(b)


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Open a transaction (one consistent read of every table); False when one is open."""
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        return False
    return True


def publish_lake(
    con: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    *,
    as_of: date,
    changes: Changes | None = None,
    tables: Sequence[LakeTable] | None = None,
    keep: int = KEEP_VERSIONS,
) -> LakeReport:
    """Publish the warehouse `con`'s lake tables (`tables`; None: `lake_tables(con)`) into
    `lake_dir` as a new version; `changes` (a run's, None: unknown) lets landed tables the run
    did not load keep their files unread. Returns what was done."""
    started = time.perf_counter()
    lake_dir = Path(lake_dir)
    (lake_dir / MANIFESTS_DIR).mkdir(parents=True, exist_ok=True)
    previous = _previous(lake_dir)
    known = versions(lake_dir)
    number = max([version_number(v, where=str(lake_dir)) for v in known] or [0]) + 1
    report = LakeReport(
        lake_dir=lake_dir,
        version=version_id(number),
        previous=previous.version if previous else None,
    )
    own = _begin(con)
    try:
        tables = list(tables) if tables is not None else lake_tables(con)
        publisher = _Publisher(con, lake_dir, previous, changes, report)
        entries = {t.name: publisher.entry(t) for t in tables}
    finally:
        if own:
            con.execute("ROLLBACK")  # read only
    manifest = Manifest(
        version=report.version,
        published_at=utc_now().isoformat(timespec="seconds") + "Z",
        as_of=as_of.isoformat(),
        tables=MappingProxyType(entries),
        lake_dir=lake_dir,
    )
    if previous is not None and _same_content(previous, manifest):
        report.version = previous.version
    else:
        _write_atomically(lake_dir / MANIFESTS_DIR / f"{manifest.version}.json", manifest.to_json())
        _write_atomically(lake_dir / CURRENT, manifest.version + "\n")
        report.new_version = True
    report.tables = len(entries)
    report.rows = sum(t.rows for t in entries.values())
    report.files = sum(len(t.files) for t in entries.values())
    report.bytes_total = sum(f.bytes for t in entries.values() for f in t.files)
    report.retention = clean(lake_dir, keep=keep)
    report.seconds = time.perf_counter() - started
    return report
