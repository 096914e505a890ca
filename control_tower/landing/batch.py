"""One file, one batch, one transaction.

A batch is recorded as `running` before its transaction starts. Inside one
DuckDB transaction the file is read, validated, its bad rows quarantined,
its good rows upserted and the batch marked `loaded`; a crash at any point
rolls all of it back, and the next run marks the batch `interrupted` and
lands the file again (it is still in the inbox). Files are moved to the
archive only after their batch commits.

A CSV file is first validated straight from the file (`_stream_csv`), before
the transaction and writing temp objects only: when no row is flagged, no
key repeats and DuckDB rejects no record, its checked rows are upserted and
no `raw` table is ever built. Any other file, or a CSV file that is not
clean, is read into `raw` and lands through `load_raw`, which gives bad rows
their line numbers and delivered text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES, Table
from control_tower.landing.contract import header_problems, upsert_and_finish
from control_tower.landing.files import InboxFile, archive_file, content_hash, set_aside
from control_tower.landing.ledger import Batch, Delivery, Ledger
from control_tower.landing.progress import ProgressFn, ProgressWatcher
from control_tower.landing.readers import (
    STREAM_VIEW,
    ReadResult,
    UnreadableFileError,
    csv_stream,
    file_format,
    read_file,
)
from control_tower.landing.records import BatchResult, ms_since
from control_tower.landing.upsert import UpsertCounts
from control_tower.landing.validate import build_checked_sql

__all__ = ["BatchResult", "land_file"]


@dataclass
class _Streamed:
    """A CSV file found clean by the streamed fast pass: its rows are in temp table `checked`."""

    read: ReadResult
    warnings: list[str]
    read_ms: int
    validate_ms: int


def _stream_csv(
    con: duckdb.DuckDBPyConnection, path: Path, table: Table, stage: Callable[[str], None]
) -> _Streamed | None:
    """Validate a CSV file straight from the file into `checked`; None unless it is clean.

    Runs outside any transaction and writes temp objects only (the fast pass
    stops with an error at its first flagged row, which would abort a
    transaction). Clean: the file can be read and splits into records with
    no reject, has every required column, at least one row, no row the fast
    pass flags and no repeated key. Such a file has nothing to quarantine,
    so it needs neither line numbers nor its delivered text: `raw` is not
    built. For anything else `checked` is dropped and None returned: the
    caller lands the file through `raw` as before, which reports every
    problem exactly as if this step had not run.
    """
    t0 = time.perf_counter()
    stage("reading")
    clean = False
    try:
        with csv_stream(con, path) as read:
            problem, warnings = header_problems(table, read)
            if problem:
                return None
            read_ms = ms_since(t0)
            stage("validating")
            t0 = time.perf_counter()
            con.execute(build_checked_sql(table, set(read.columns), stream=STREAM_VIEW))
            # The scan created the reject tables (empty when every record split).
            rejects = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]  # type: ignore[index]
            read.rows = int(con.execute("SELECT count(*) FROM checked").fetchone()[0])  # type: ignore[index]
            keys = ", ".join(f'"{k}"' for k in table.key)
            key_not_null = " AND ".join(f'"{k}" IS NOT NULL' for k in table.key)
            repeated = con.execute(
                f"SELECT EXISTS (SELECT 1 FROM checked WHERE {key_not_null} GROUP BY {keys} "
                "HAVING count(*) > 1)"
            ).fetchone()[0]  # type: ignore[index]
            clean = not rejects and read.rows > 0 and not repeated
    except (duckdb.Error, UnreadableFileError):
        clean = False  # FLAGGED_ROW, or a file the raw path will reject with its reason
    if not clean:
        con.execute("DROP TABLE IF EXISTS checked")
        return None
    return _Streamed(read, warnings, read_ms, ms_since(t0))


def _load_streamed(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    batch_id: int,
    streamed: _Streamed,
    *,
    started: float,
    stage: Callable[[str], None],
) -> UpsertCounts:
    """Upsert a clean streamed file's `checked` rows and finish its batch (in the transaction)."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW good AS SELECT c.* EXCLUDE (_rid, _bad) FROM checked c"
    )
    return upsert_and_finish(
        con,
        table,
        batch_id,
        streamed.read,
        0,
        streamed.warnings,
        started=started,
        read_ms=streamed.read_ms,
        validate_ms=streamed.validate_ms,
        stage=stage,
    )


def land_file(
    con: duckdb.DuckDBPyConnection,
    item: InboxFile,
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool = False,
    progress: ProgressFn | None = None,
    ledger: Ledger | None = None,
) -> BatchResult:
    """Land one inbox file as one batch (see the module docstring for the guarantees)."""
    started = time.perf_counter()
    watcher = ProgressWatcher(con, item.path.name, progress)
    try:
        return _land(
            ledger or Ledger(con, run_id),
            item,
            watcher,
            archive=archive,
            rejected=rejected,
            keep=keep,
            started=started,
        )
    finally:
        watcher.stop()


def _land(
    ledger: Ledger,
    item: InboxFile,
    watcher: ProgressWatcher,
    *,
    archive: Path,
    rejected: Path,
    keep: bool,
    started: float,
) -> BatchResult:
    con, stage, path = ledger.con, watcher.stage, item.path
    delivery = Delivery(
        path,
        item.system,
        item.table,
        file_format=file_format(path),
        file_bytes=path.lstat().st_size,  # a link is not followed, even to measure it
    )
    if item.problem is not None:
        batch = ledger.start(delivery, started=started)
        return _reject(ledger, batch, item.problem, rejected, keep)

    stage("hashing")
    batch = ledger.start(replace(delivery, content_hash=content_hash(path)), started=started)
    if batch.skipped is not None:
        if not keep:
            ledger.archived(
                [batch.skipped], archive_file(path, archive / (item.system or ""), batch.batch_id)
            )
        return batch.skipped

    assert item.table is not None
    table = TABLES[item.table]
    streamed = _stream_csv(con, path, table, stage) if delivery.file_format == "csv" else None

    def land() -> list[BatchResult]:
        if streamed is not None:
            counts = _load_streamed(
                con, table, batch.batch_id, streamed, started=started, stage=stage
            )
            read = streamed.read
            return [
                batch.result(
                    "loaded",
                    rows_read=read.rows + read.structural_rejects,
                    counts=counts,
                    warnings=streamed.warnings,
                    streamed=True,
                )
            ]
        stage("reading")
        t0 = time.perf_counter()
        read = read_file(con, path)
        return [ledger.land(batch, read, read_ms=ms_since(t0), stage=stage)]

    [result] = ledger.land_together([batch], land)
    if result.status == "rejected":
        return _reject(ledger, batch, result.error or "rejected", rejected, keep, result)
    if result.status == "loaded" and not keep:
        ledger.archived([result], archive_file(path, archive / (item.system or ""), batch.batch_id))
    return result


def _reject(
    ledger: Ledger,
    batch: Batch,
    reason: str,
    rejected: Path,
    keep: bool,
    result: BatchResult | None = None,
) -> BatchResult:
    """Record a file that cannot be landed at all and move it aside with its reason."""
    d = batch.delivery
    moved = (
        None
        if keep
        else set_aside(
            d.path,
            rejected / (d.system or "unsorted"),
            batch.batch_id,
            reason,
            result.detail if result else None,
        )
    )
    if result is None:
        return ledger.reject(batch, reason, moved_to=moved)
    if moved is not None:
        ledger.archived([result], moved)
    return result
