"""The landing ledger: start a batch, land a relation through the contract, finish or reject it.

Every source (the inbox, file mappings, SQL pulls, or your own) lands its
deliveries through one `Ledger`, so every batch is recorded, deduplicated
and validated the same way:

    ledger = Ledger(con, run_id)
    batch = ledger.start(Delivery.of_rows("orders feed", "sales_order_lines", content_hash=h))
    if batch.skipped is None:  # not a second delivery of content already loaded
        [result] = ledger.land_together([batch], lambda: [ledger.land_rows(batch, rows)])

A batch is recorded `running` before its transaction starts, so a crash
leaves a trace that the next run marks `interrupted`; `land_together` runs
the landing of one or more batches in one transaction and, when anything
fails, rolls all of it back and records each batch `rejected` (the delivery
cannot be read as the contract needs) or `failed` (anything else).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from control_tower.contracts import TABLES
from control_tower.landing.contract import drop_temp_tables, load_raw
from control_tower.landing.readers import LINE_COLUMN, ReadResult, UnreadableFileError
from control_tower.landing.records import (
    BatchResult,
    failure_reason,
    finish_batch,
    insert_running,
    loaded_batch_with_hash,
    update_batches,
)

Stage = Callable[[str], None]


@dataclass(frozen=True)
class Delivery:
    """One delivery to land as one batch, described as `ops.batches` records it."""

    path: Path  # the file, or a label such as `sql:<mapping>/<table>@<watermark>`
    system: str | None
    table: str | None
    source_path: str = ""  # where it came from (default: the path)
    file_format: str | None = None
    content_hash: str | None = None  # a delivery whose content was loaded before is skipped
    file_bytes: int | None = None
    label: str = ""  # its name in ops.batches and quarantine (default: the file's name)

    @property
    def name(self) -> str:
        """The delivery's name in `ops.batches` and `ops.quarantine`."""
        return self.label or self.path.name

    @classmethod
    def of_rows(cls, label: str, table: str, *, content_hash: str | None = None) -> Delivery:
        """Rows of a contract table that come from no file (`label` names them in the ledger)."""
        return cls(
            Path(label), TABLES[table].system, table, label, "rows", content_hash, label=label
        )


@dataclass
class Batch:
    """A batch the ledger started; `skipped` is its result when it repeats loaded content."""

    batch_id: int
    delivery: Delivery
    started: float
    skipped: BatchResult | None = None

    def result(self, status: str, **fields: Any) -> BatchResult:
        """This batch's outcome, with its time so far."""
        d = self.delivery
        fields.setdefault("seconds", time.perf_counter() - self.started)
        fields.setdefault("label", d.label)
        return BatchResult(self.batch_id, d.path, d.system, d.table, status, **fields)


@dataclass
class Ledger:
    """The batches of one run on one writer connection."""

    con: duckdb.DuckDBPyConnection
    run_id: str

    def start(
        self, delivery: Delivery, *, started: float | None = None, same: str = "same content"
    ) -> Batch:
        """Record a `running` batch for the delivery.

        When its content hash matches a loaded batch, the batch is finished at
        once as `skipped_duplicate` ("<same> as batch N, already loaded:
        skipped") and `batch.skipped` holds that result.
        """
        started = time.perf_counter() if started is None else started
        duplicate_of = (
            loaded_batch_with_hash(self.con, delivery.content_hash)
            if delivery.content_hash
            else None
        )
        batch_id = insert_running(
            self.con,
            run_id=self.run_id,
            system=delivery.system,
            table=delivery.table,
            file_name=delivery.name,
            source_path=delivery.source_path or str(delivery.path),
            content_hash=delivery.content_hash,
            file_bytes=delivery.file_bytes,
            file_format=delivery.file_format,
        )
        batch = Batch(batch_id, delivery, started)
        if duplicate_of is not None:
            message = f"{same} as batch {duplicate_of}, already loaded: skipped"
            finish_batch(
                self.con,
                batch_id,
                started,
                status="skipped_duplicate",
                duplicate_of=duplicate_of,
                warnings=message,
            )
            batch.skipped = batch.result(
                "skipped_duplicate", duplicate_of=duplicate_of, warnings=[message]
            )
        return batch

    def land(
        self,
        batch: Batch,
        read: ReadResult,
        *,
        read_ms: int = 0,
        stage: Stage = lambda _stage: None,
    ) -> BatchResult:
        """Land the temp table `raw` (described by `read`) as the batch, through the contract.

        Validate, quarantine the bad rows (under the delivery's name),
        harmonise and upsert the good ones, and mark the batch `loaded`.
        Call it inside `land_together`.
        """
        table = batch.delivery.table
        if table is None:
            raise ValueError(f"batch {batch.batch_id} has no contract table to land into")
        counts, quarantined, warnings = load_raw(
            self.con,
            TABLES[table],
            batch.batch_id,
            batch.delivery.name,
            read,
            started=batch.started,
            read_ms=read_ms,
            stage=stage,
        )
        return batch.result(
            "loaded",
            rows_read=read.rows + read.structural_rejects,
            counts=counts,
            rows_quarantined=quarantined,
            warnings=warnings,
        )

    def land_rows(self, batch: Batch, rows: object) -> BatchResult:
        """Land rows DuckDB can scan (a relation, an Arrow table, a data frame) as the batch.

        Columns are named as the contract names them; every value is taken
        as text, exactly as a file would deliver it, and a row's line in
        quarantine is its position (1 for the first row).
        """
        con = self.con
        con.execute("DROP TABLE IF EXISTS raw")
        con.complete()  # DuckDB registers no frame beside an unread result
        con.register("_ct_rows", rows)
        try:
            names = [d[0] for d in con.execute("SELECT * FROM _ct_rows LIMIT 0").description]
            cols = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names)
            con.execute(
                f"CREATE TEMP TABLE raw AS SELECT {cols}, "
                f"row_number() OVER () AS {LINE_COLUMN} FROM _ct_rows"
            )
        finally:
            con.unregister("_ct_rows")
        count = int(con.execute("SELECT count(*) FROM raw").fetchone()[0])  # type: ignore[index]
        read = ReadResult("rows", names, names, count, line_expr=f"r.{LINE_COLUMN}")
        return self.land(batch, read)

    def land_together(
        self, batches: list[Batch], work: Callable[[], list[BatchResult]]
    ) -> list[BatchResult]:
        """Run `work` (landing the batches) in one transaction: all of it commits, or none.

        When `work` raises, everything is rolled back and each batch is
        recorded `rejected` (an UnreadableFileError: the delivery cannot be
        landed as it is) or `failed` (anything else), with the reason.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            results = work()
            self.con.execute("COMMIT")
            return results
        except Exception as exc:
            self.con.execute("ROLLBACK")
            drop_temp_tables(self.con)  # a streamed file's were made before it
            if isinstance(exc, UnreadableFileError):
                return [self.reject(b, str(exc), detail=exc.detail) for b in batches]
            return [self.fail(b, failure_reason(exc)) for b in batches]

    def reject(
        self,
        batch: Batch,
        reason: str,
        *,
        moved_to: Path | None = None,
        detail: str | None = None,
    ) -> BatchResult:
        """Finish the batch as `rejected`: nothing of the delivery was loaded, and why.

        `reason` is stored and shown; `detail` (delivered text) only travels with the result.
        """
        finish_batch(
            self.con,
            batch.batch_id,
            batch.started,
            status="rejected",
            error=reason,
            archived_path=str(moved_to) if moved_to else None,
        )
        return batch.result("rejected", error=reason, detail=detail)

    def fail(self, batch: Batch, reason: str) -> BatchResult:
        """Finish the batch as `failed` (an unexpected error; the delivery may land next time)."""
        finish_batch(self.con, batch.batch_id, batch.started, status="failed", error=reason)
        return batch.result("failed", error=reason)

    def archived(self, results: list[BatchResult], moved_to: Path) -> None:
        """Record where the delivery of these batches was moved (archive or rejected folder)."""
        update_batches(self.con, [r.batch_id for r in results], archived_path=str(moved_to))

    def note(self, result: BatchResult, warnings: list[str]) -> None:
        """Replace a finished batch's warnings (what its source adds about the delivery)."""
        result.warnings = warnings
        update_batches(self.con, [result.batch_id], warnings="; ".join(warnings))
