"""Land a file source mapping: each matching file, one batch per (file, target table).

The file is read by the ordinary readers into `raw`, kept as `src` with each
row's source line, then, for each target in load order, the mapping's
compiled SELECT builds a new `raw` of canonical text columns and the same
`load_raw` path as canonical files validates, quarantines and upserts it. All
target batches of one file run in one transaction: the file lands whole or
not at all.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES
from control_tower.landing import (
    LINE_COLUMN,
    Batch,
    BatchResult,
    Delivery,
    LandingRun,
    Ledger,
    UnreadableFileError,
    archive_file,
    content_hash,
    entry_problem,
    file_format,
    header_detail,
    ms_since,
    read_file,
    set_aside,
)
from control_tower.mappings.spec import SOURCE_ALIAS, FileSource, SourceMapping, Target
from control_tower.mappings.target_sql import build_target_raw, record_sql


def missing_source_columns(mapping: SourceMapping, present: set[str]) -> list[str]:
    """Source columns the mapping reads that the file does not have."""
    wanted = set()
    for target in mapping.targets:
        exprs = [*target.columns.values(), *([target.where] if target.where else [])]
        for compiled in exprs:
            for qualifier, name in compiled.columns:
                if not qualifier:
                    wanted.add(mapping.rename.get(name, name))
    return sorted(wanted - present)


def delivery_label(mapping: SourceMapping, path: Path) -> str:
    """A mapped file's name in ops.batches and quarantine: its inbox folder and its mapping."""
    source = mapping.source
    assert isinstance(source, FileSource)
    return f"{source.folder}/{path.name} (mapping {mapping.name})"


def _batch_digest(file_digest: str, mapping: SourceMapping, table: str) -> str:
    return hashlib.sha256(f"{file_digest}:{mapping.digest}:{table}".encode()).hexdigest()


def land_mapped_file(
    ledger: Ledger,
    mapping: SourceMapping,
    path: Path,
    *,
    archive: Path,
    rejected: Path,
    keep: bool = False,
    problem: str | None = None,
) -> list[BatchResult]:
    """Land one file through a file mapping: one batch per target table, one transaction.

    With a `problem` (see `entry_problem`) nothing is read: each target's
    batch is rejected with it and the entry is set aside.
    """
    source = mapping.source
    assert isinstance(source, FileSource)
    started = time.perf_counter()
    size = path.lstat().st_size
    file_digest = content_hash(path) if problem is None else ""
    batches: list[tuple[Target, Batch]] = []
    results: list[BatchResult] = []
    for target in mapping.targets:
        table = TABLES[target.table]
        delivery = Delivery(
            path,
            table.system,
            table.name,
            file_format=file_format(path),
            content_hash=_batch_digest(file_digest, mapping, table.name) if file_digest else None,
            file_bytes=size,
            label=delivery_label(mapping, path),
        )
        batch = ledger.start(delivery, started=started, same="same content and mapping")
        if problem is not None:
            results.append(ledger.reject(batch, problem))
        elif batch.skipped is not None:
            results.append(batch.skipped)
        else:
            batches.append((target, batch))
    if batches:
        results += ledger.land_together(
            [b for _t, b in batches], lambda: _land_targets(ledger, mapping, path, batches)
        )
    if keep:
        return results
    rejected_now = [r for r in results if r.status == "rejected"]
    if rejected_now:
        first = rejected_now[0]
        set_aside(
            path, rejected / source.folder, first.batch_id, first.error or "rejected", first.detail
        )
    elif not any(r.status == "failed" for r in results):
        ledger.archived(results, archive_file(path, archive / source.folder, results[0].batch_id))
    return results


def _land_targets(
    ledger: Ledger,
    mapping: SourceMapping,
    path: Path,
    batches: list[tuple[Target, Batch]],
) -> list[BatchResult]:
    """Read the file once into `src`, then land each target's rows (inside the transaction)."""
    con = ledger.con
    source = mapping.source
    assert isinstance(source, FileSource)
    t0 = time.perf_counter()
    read = read_file(con, path, encoding=source.encoding, sheet=source.sheet)
    absent = missing_source_columns(mapping, set(read.columns))
    if absent:
        raise UnreadableFileError(
            f"the file has no column(s) {', '.join(repr(a) for a in absent)} that mapping "
            f"{mapping.name} reads (its header has {len(read.columns)} column(s))",
            detail=header_detail(read),
        )
    con.execute("DROP TABLE IF EXISTS src")
    con.execute(
        f"CREATE TEMP TABLE src AS SELECT r.* EXCLUDE ({LINE_COLUMN}), "
        f"{read.line_expr} AS {LINE_COLUMN} FROM raw r"
        if LINE_COLUMN in _columns(con, "raw")
        else f"CREATE TEMP TABLE src AS SELECT r.*, {read.line_expr} AS {LINE_COLUMN} FROM raw r"
    )
    con.execute("DROP TABLE IF EXISTS src_rejects")
    con.execute("CREATE TEMP TABLE src_rejects AS SELECT * FROM raw_rejects")
    read_ms = ms_since(t0)
    record = record_sql(con, "src", dict(zip(read.columns, read.original_columns, strict=False)))
    results: list[BatchResult] = []
    for n, (target, batch) in enumerate(batches):
        target_read = build_target_raw(con, target, f"src AS {SOURCE_ALIAS}", record=record)
        target_read.encoding, target_read.delimiter = read.encoding, read.delimiter
        con.execute("DROP TABLE IF EXISTS raw_rejects")
        # Rows the reader could not split belong to the file: reported once, on its first batch.
        con.execute(
            "CREATE TEMP TABLE raw_rejects AS SELECT * FROM src_rejects"
            + ("" if n == 0 else " LIMIT 0")
        )
        target_read.structural_rejects = read.structural_rejects if n == 0 else 0
        result = ledger.land(batch, target_read, read_ms=read_ms)
        result.warnings = [f"mapping {mapping.name}", *result.warnings]
        results.append(result)
    con.execute("DROP TABLE IF EXISTS src; DROP TABLE IF EXISTS src_rejects")
    return results


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]


@dataclass(frozen=True)
class FileMappingSource:
    """A file mapping's source: the files of `inbox/<folder>/` matching its glob, in name order."""

    mapping: SourceMapping
    inbox: Path

    def files(self) -> list[Path]:
        """The files waiting for this mapping."""
        source = self.mapping.source
        assert isinstance(source, FileSource)
        folder = self.inbox / source.folder
        # A linked folder is the inbox's to report (see InboxSource): nothing is read through it.
        if not folder.is_dir() or entry_problem(folder, self.inbox) is not None:
            return []
        return sorted(
            p
            for p in folder.glob(source.glob)
            if (p.is_symlink() or p.is_file()) and not p.name.startswith((".", "~"))
        )

    def land(self, run: LandingRun) -> Iterator[BatchResult]:
        """Land each file (one batch per target table); stops between files when asked to.

        A symbolic link, or anything leading outside the inbox, is rejected unread.
        """
        for path in self.files():
            if run.stop_requested():
                return
            yield from land_mapped_file(
                run.ledger,
                self.mapping,
                path,
                archive=run.archive,
                rejected=run.rejected,
                keep=run.keep,
                problem=entry_problem(path, self.inbox),
            )
