"""One file, one batch, one transaction.

A batch is recorded as `running` before its transaction starts. Inside one
DuckDB transaction the file is read, validated, its bad rows quarantined,
its good rows upserted and the batch marked `loaded`; a crash at any point
rolls all of it back, and the next run marks the batch `interrupted` and
lands the file again (it is still in the inbox). Files are moved to the
archive only after their batch commits.

A CSV file is first landed straight from the file (`stream`): read,
checked and upserted in one pass when it is clean, or validated into a temp
table first when the reader only rejected values it could not cast. Any
other file, or a CSV file with rows that need their line numbers and
delivered text in quarantine, is read into `raw` and lands through
`load_raw`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES, Table
from control_tower.landing.files import InboxFile, archive_file, content_hash, set_aside
from control_tower.landing.ledger import Batch, Delivery, Ledger
from control_tower.landing.progress import ProgressFn, ProgressWatcher
from control_tower.landing.readers import file_format, read_file
from control_tower.landing.records import BatchResult, ms_since
from control_tower.landing.stream import Checked, check_stream, land_direct, load_checked

__all__ = ["BatchResult", "land_file"]


def _stream_csv(
    ledger: Ledger, batch: Batch, table: Table, stage: Callable[[str], None]
) -> BatchResult | Checked | None:
    """A CSV file straight from the file: landed (its result), checked (to land), or None (raw)."""
    path = batch.delivery.path
    result, try_checked = land_direct(ledger, batch, table, path, stage)
    if result is not None:
        return result
    return check_stream(ledger.con, path, table, stage) if try_checked else None


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
    streamed = _stream_csv(ledger, batch, table, stage) if delivery.file_format == "csv" else None
    if isinstance(streamed, BatchResult):
        result = streamed
    else:
        checked = streamed

        def land() -> list[BatchResult]:
            if checked is not None:
                counts, quarantined = load_checked(
                    con, table, batch.batch_id, delivery.name, checked, started=started, stage=stage
                )
                return [
                    batch.result(
                        "loaded",
                        rows_read=checked.read.rows,
                        counts=counts,
                        rows_quarantined=quarantined,
                        warnings=checked.warnings,
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
