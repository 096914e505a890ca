"""A CSV file landed straight from the file, with no `raw` copy of it.

DuckDB's CSV reader casts the numbers and dates itself
(`column_sql.READER_TYPES`), so the SQL fast pass checks only timestamps,
whole numbers, codes, ids and references. Two ways, tried in turn:

1. `land_direct`: one statement reads the file, checks every row and
   upserts it, in the batch's own transaction. Anything the file needs
   quarantine for stops it (the first flagged row, a value the reader
   cannot cast, a record it cannot split, a repeated key) and rolls it back.
   A clean file (the usual delivery) is read once and written once.
2. `check_stream`: the same fast pass into the temp table `checked`, with
   the reader keeping what it cannot cast in its rejects table. The
   records it rejected are then read again as text and validated as the
   `raw` path would (`_recheck_rejected`), so a file whose only problems
   are a few values that are not numbers or dates lands without a `raw`
   copy of the whole file, each bad row quarantined with its exact reason.

Whatever neither way lands exactly as the `raw` path would (a flagged row,
which needs its line number and delivered text; a record DuckDB cannot
split; a repeated key) is left to that path: the caller reads the file
into `raw`, which reports every problem as if these steps had not run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.contracts import Table
from control_tower.landing.column_sql import OFFSET_TAIL_RE, READER_TYPES
from control_tower.landing.contract import (
    drop_temp_tables,
    finish_loaded,
    header_problems,
    quarantine_bad_rows,
    upsert_and_finish,
)
from control_tower.landing.ledger import Batch, Ledger
from control_tower.landing.raw import ReadResult, UnreadableFileError
from control_tower.landing.read_csv import (
    STREAM_VIEW,
    CsvStream,
    csv_stream,
    read_rejected_records,
)
from control_tower.landing.records import BatchResult, ms_since
from control_tower.landing.upsert import RepeatedKeyError, UpsertCounts, repeated_key, upsert
from control_tower.landing.validate import FLAGGED_ROW, build_checked_sql, build_good_view_sql

Stage = Callable[[str], None]


def reader_types(table: Table) -> dict[str, str]:
    """The columns DuckDB's CSV reader casts itself, with their DuckDB types."""
    return {c.name: READER_TYPES[c.type] for c in table.columns if c.type in READER_TYPES}


def _offset_first(table: Table, stream: CsvStream) -> frozenset[str]:
    """Timestamp columns whose first value carries an offset: test them for one first."""
    tail = re.compile(OFFSET_TAIL_RE)
    return frozenset(
        c for c in table.timestamp_columns if tail.search(stream.sample.get(c) or "") is not None
    )


@dataclass
class _Opened:
    """A CSV file open as the stream view, its header holding every required column."""

    stream: CsvStream
    warnings: list[str]
    read_ms: int
    offset_first: frozenset[str]


@contextmanager
def _open(
    con: duckdb.DuckDBPyConnection, path: Path, table: Table, stage: Stage, *, keep_rejects: bool
) -> Iterator[_Opened | None]:
    """The file as the stream view (see `csv_stream`); None when its header lacks a required
    column (the `raw` path rejects the file, naming them)."""
    t0 = time.perf_counter()
    stage("reading")
    with csv_stream(con, path, reader_types(table), keep_rejects=keep_rejects) as stream:
        problem, warnings = header_problems(table, stream.read)
        opened = _Opened(stream, warnings, ms_since(t0), _offset_first(table, stream))
        yield None if problem else opened


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A transaction committed when the block ends and rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class _NotClean(Exception):
    """The direct way cannot land this file (and says whether the checked way may)."""

    def __init__(self, check_stream: bool) -> None:
        super().__init__("not clean")
        self.check_stream = check_stream


def land_direct(
    ledger: Ledger, batch: Batch, table: Table, path: Path, stage: Stage
) -> tuple[BatchResult | None, bool]:
    """Read, check and upsert a clean CSV file in one pass and one transaction.

    Returns (the loaded batch, False), or (None, whether `check_stream` may
    land it): True when the file stopped on a value the reader could not
    cast or a record it could not split, False when only the `raw` path can
    (a flagged row, a repeated key, no data rows, a header missing columns).
    Everything it wrote is rolled back and its temp objects dropped.
    """
    con = ledger.con
    try:
        with _open(con, path, table, stage, keep_rejects=False) as opened:
            if opened is None:
                return None, False
            stage("validating and upserting")
            t0 = time.perf_counter()
            read = opened.stream.read
            con.execute(
                build_good_view_sql(
                    table,
                    set(read.columns),
                    STREAM_VIEW,
                    opened.stream.typed,
                    opened.offset_first,
                )
            )
            try:
                with _transaction(con):
                    counts = upsert(con, table, batch.batch_id, unique_keys=True)
                    read.rows = counts.inserted + counts.updated + counts.stale
                    if not read.rows:
                        raise _NotClean(check_stream=False)  # the raw path warns: no data rows
                    # One pass validated and upserted the file: its time counts as validation.
                    finish_loaded(
                        con,
                        batch.batch_id,
                        read,
                        counts,
                        0,
                        opened.warnings,
                        started=batch.started,
                        timings=(opened.read_ms, ms_since(t0), 0),
                    )
            finally:
                con.execute("DROP VIEW IF EXISTS good")
    except _NotClean as exc:
        return None, exc.check_stream
    except (RepeatedKeyError, UnreadableFileError):
        return None, False
    except duckdb.Error as exc:
        return None, FLAGGED_ROW not in str(exc)
    finally:
        drop_temp_tables(con)
    return (
        batch.result(
            "loaded", rows_read=read.rows, counts=counts, warnings=opened.warnings, streamed=True
        ),
        False,
    )


@dataclass
class Checked:
    """A CSV file validated by `check_stream`: its accepted rows are in temp table `checked`.

    `rechecked` describes the records the typed reader rejected for a cast,
    read as text into `raw` and validated into `checked` as `read_csv` would
    have read them; the accepted rows are then in `checked_stream`.
    """

    read: ReadResult
    warnings: list[str]
    read_ms: int
    validate_ms: int
    rechecked: ReadResult | None = None


def _recheck_rejected(
    con: duckdb.DuckDBPyConnection, table: Table, stream: CsvStream
) -> ReadResult | None:
    """Validate the records the typed scan rejected for a cast, as the `raw` path would.

    The accepted rows move to `checked_stream`; the rejected records are
    read again as text into `raw` (their lines from DuckDB's rejects table)
    and checked into `checked` by the same fast pass as any `raw`, so every
    reason in quarantine, its line, column, value and record, is the one the
    `raw` path gives. None where only that path has the exact answer: a
    record DuckDB could not split (see `read_rejected_records`), or a key
    that repeats in the file (its accepted rows would go to quarantine too).
    """
    con.execute("ALTER TABLE checked RENAME TO checked_stream")
    rechecked = read_rejected_records(con, stream)
    if rechecked is None:
        return None
    con.execute(build_checked_sql(table, set(rechecked.columns)))
    both = "(SELECT * FROM checked_stream UNION ALL SELECT * FROM checked)"
    return None if repeated_key(con, table, both) else rechecked


def check_stream(
    con: duckdb.DuckDBPyConnection, path: Path, table: Table, stage: Stage
) -> Checked | None:
    """Validate a CSV file straight from the file into `checked`; None unless it lands so.

    Runs outside any transaction and writes temp objects only (the fast pass
    stops with an error at its first flagged row, which would abort a
    transaction). The file lands this way when it can be read, has every
    required column, at least one row, no row the fast pass flags and no
    repeated key, and every record the reader rejected was only a value it
    could not cast (see `_recheck_rejected`). For anything else the temp
    tables are dropped and None returned.
    """
    result: Checked | None = None
    try:
        with _open(con, path, table, stage, keep_rejects=True) as opened:
            if opened is None:
                return None
            stage("validating")
            t0 = time.perf_counter()
            stream, read = opened.stream, opened.stream.read
            con.execute(
                build_checked_sql(
                    table,
                    set(read.columns),
                    stream=STREAM_VIEW,
                    typed=stream.typed,
                    offset_first=opened.offset_first,
                )
            )
            # The scan created the reject tables (empty when every record split and cast).
            rejects = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]  # type: ignore[index]
            read.rows = int(con.execute("SELECT count(*) FROM checked").fetchone()[0])  # type: ignore[index]
            if rejects:
                rechecked = _recheck_rejected(con, table, stream)
                clean = rechecked is not None
                read.rows += rechecked.rows if rechecked else 0
            else:
                rechecked = None
                clean = read.rows > 0 and not repeated_key(con, table, "checked")
            if clean:
                result = Checked(read, opened.warnings, opened.read_ms, ms_since(t0), rechecked)
    except (duckdb.Error, UnreadableFileError):
        result = None  # FLAGGED_ROW, or a file the raw path will reject with its reason
    if result is None:
        drop_temp_tables(con)
    return result


def load_checked(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    batch_id: int,
    name: str,
    checked: Checked,
    *,
    started: float,
    stage: Stage,
) -> tuple[UpsertCounts, int]:
    """Upsert a checked file's rows, quarantine its rejected records, finish its batch.

    Runs in the batch's transaction; returns (counts, rows quarantined).
    """
    good = "SELECT c.* EXCLUDE (_rid, _bad) FROM checked c"
    quarantined = 0
    if checked.rechecked is not None:
        t0 = time.perf_counter()
        quarantined = quarantine_bad_rows(con, table, batch_id, name, checked.rechecked)
        checked.validate_ms += ms_since(t0)
        good = (
            "SELECT c.* EXCLUDE (_rid, _bad) FROM checked_stream c UNION ALL "
            f"{good} WHERE c._rid NOT IN (SELECT _rid FROM bad)"
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW good AS {good}")
    counts = upsert_and_finish(
        con,
        table,
        batch_id,
        checked.read,
        quarantined,
        checked.warnings,
        started=started,
        read_ms=checked.read_ms,
        validate_ms=checked.validate_ms,
        stage=stage,
    )
    return counts, quarantined
