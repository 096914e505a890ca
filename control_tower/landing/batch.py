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

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES, Table
from control_tower.landing.files import InboxFile, content_hash
from control_tower.landing.progress import ProgressFn, ProgressWatcher
from control_tower.landing.readers import (
    LINE_COLUMN,
    STREAM_VIEW,
    ReadResult,
    UnreadableFileError,
    csv_stream,
    file_format,
    read_file,
)
from control_tower.landing.upsert import UpsertCounts, upsert
from control_tower.landing.validate import build_checked_sql, build_errors_sql
from control_tower.settings import utc_now

STRUCTURAL_REASONS = {
    "MISSING COLUMNS": "the row has fewer fields than the header (truncated or malformed row)",
    "TOO MANY COLUMNS": "the row has more fields than the header (an unquoted delimiter inside a value?)",
    "UNQUOTED VALUE": "a quote character inside an unquoted value: the row cannot be split into fields",
    "INVALID ENCODING": "the row contains bytes that are not valid UTF-8 (the file mixes encodings)",
    "LINE SIZE OVER MAXIMUM": "the row is longer than the maximum line size",
    "INVALID STATE": "the row cannot be parsed as CSV (unbalanced quotes?)",
    "NOT JSON": "the line is not valid JSON",
    "NOT OBJECT": "the line is JSON but not an object ({...})",
}


@dataclass
class BatchResult:
    """The outcome of landing one file."""

    batch_id: int
    file: Path
    system: str | None
    table: str | None
    status: str  # loaded, skipped_duplicate, rejected, failed
    rows_read: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rows_quarantined: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    duplicate_of: int | None = None
    seconds: float = 0.0
    streamed: bool = False  # validated straight from the CSV file, with no `raw` table


def _now() -> datetime:
    return utc_now()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Batches left `running` by a process that died: nothing of them was committed."""
    n = con.execute(
        "UPDATE ops.batches SET status = 'interrupted', finished_at = ?, error = "
        "'the process stopped before this batch committed; nothing of it was loaded, and the "
        "file stays in the inbox to be landed again' WHERE status = 'running'",
        [_now()],
    ).fetchone()
    return int(n[0]) if n else 0


def _loaded_hash(con: duckdb.DuckDBPyConnection, digest: str) -> int | None:
    row = con.execute(
        "SELECT min(batch_id) FROM ops.batches WHERE content_hash = ? AND status = 'loaded'",
        [digest],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _start_batch(
    con: duckdb.DuckDBPyConnection, item: InboxFile, run_id: str, digest: str | None, size: int
) -> int:
    batch_id = int(con.execute("SELECT nextval('ops.batch_id_seq')").fetchone()[0])  # type: ignore[index]
    con.execute(
        "INSERT INTO ops.batches (batch_id, run_id, system, table_name, file_name, source_path, "
        "content_hash, file_bytes, file_format, status, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        [
            batch_id,
            run_id,
            item.system,
            item.table,
            item.path.name,
            str(item.path),
            digest,
            size,
            file_format(item.path),
            _now(),
        ],
    )
    return batch_id


def _finish(
    con: duckdb.DuckDBPyConnection, batch_id: int, started: float, **fields: object
) -> None:
    fields.setdefault("finished_at", _now())
    fields["total_ms"] = _ms(time.perf_counter() - started)
    sets = ", ".join(f"{k} = ?" for k in fields)
    con.execute(f"UPDATE ops.batches SET {sets} WHERE batch_id = ?", [*fields.values(), batch_id])


def _move(path: Path, folder: Path, batch_id: int) -> Path:
    stamp = utc_now().strftime("%Y%m%d")
    dest_dir = folder / stamp
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{batch_id:06d}-{path.name}"
    shutil.move(str(path), dest)
    return dest


def _reject_file(
    item: InboxFile, reason: str, folder: Path, batch_id: int, keep: bool
) -> Path | None:
    if keep:
        return None
    dest = _move(item.path, folder / (item.system or "unsorted"), batch_id)
    dest.with_name(dest.name + ".reason.txt").write_text(
        f"file: {item.path}\nbatch: {batch_id}\nrejected at: {_now().isoformat()}Z\n"
        f"reason: {reason}\nNothing of this file was loaded.\n"
    )
    return dest


def _reject(
    con: duckdb.DuckDBPyConnection,
    item: InboxFile,
    reason: str,
    batch_id: int,
    rejected: Path,
    keep: bool,
    started: float,
) -> BatchResult:
    """Record a file that cannot be landed at all and move it aside with its reason."""
    moved = _reject_file(item, reason, rejected, batch_id, keep)
    _finish(
        con,
        batch_id,
        started,
        status="rejected",
        error=reason,
        archived_path=str(moved) if moved else None,
    )
    return BatchResult(
        batch_id,
        item.path,
        item.system,
        item.table,
        "rejected",
        error=reason,
        seconds=time.perf_counter() - started,
    )


def _header_problems(table: Table, read: ReadResult) -> tuple[str | None, list[str]]:
    present = set(read.columns)
    missing = [c for c in table.required_columns if c not in present]
    unknown = [
        orig
        for orig, norm in zip(read.original_columns, read.columns, strict=False)
        if norm not in table.column_names and norm != LINE_COLUMN
    ]
    warnings = []
    if unknown:
        shown = ", ".join(repr(u) if u.strip() else "(unnamed)" for u in unknown)
        warnings.append(f"ignored columns that are not in the {table.name} contract: {shown}")
    if missing:
        return (
            f"missing required column(s) {', '.join(missing)} for table {table.name} "
            f"(found: {', '.join(read.original_columns) or 'none'})",
            warnings,
        )
    return None, warnings


def _quarantine(
    con: duckdb.DuckDBPyConnection, table: Table, batch_id: int, file_name: str, read: ReadResult
) -> int:
    """Move every bad row of the batch into ops.quarantine; returns the number of bad rows."""
    keys = ", ".join(f'"{k}"' for k in table.key)
    key_not_null = " AND ".join(f'"{k}" IS NOT NULL' for k in table.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dups AS SELECT {keys}, count(*) AS n FROM checked "
        f"WHERE {key_not_null} GROUP BY ALL HAVING count(*) > 1"
    )
    dup_on = " AND ".join(f'd."{k}" = c."{k}"' for k in table.key)
    key_text = " || ', ' || ".join(f"'{k}=' || CAST(c.\"{k}\" AS VARCHAR)" for k in table.key)
    now = _now()
    raw_cols = [c for c in read.columns if c and c != LINE_COLUMN]
    record = (
        "to_json({" + ", ".join(f"'{c}': r.\"{c}\"" for c in raw_cols) + "})"
        if raw_cols
        else "NULL"
    )
    has_dups = bool(con.execute("SELECT count(*) FROM dups").fetchone()[0])  # type: ignore[index]
    dup_rids = f" UNION SELECT c._rid FROM checked c JOIN dups d ON {dup_on}" if has_dups else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE bad_rids AS SELECT _rid FROM checked WHERE _bad{dup_rids}"
    )
    if not con.execute("SELECT count(*) FROM bad_rids").fetchone()[0]:  # type: ignore[index]
        con.execute(
            'CREATE OR REPLACE TEMP TABLE bad (_rid BIGINT, errors STRUCT("column" VARCHAR, value VARCHAR, reason VARCHAR)[])'
        )
    else:
        # Detail pass, on the bad rows only: one reason per failing column, reference or row check.
        con.execute(build_errors_sql(table, set(read.columns)))
        dup_reason = (
            f"""CASE WHEN d.n IS NOT NULL THEN [{{'column': '{table.key[0]}',
                 'value': CAST(c."{table.key[0]}" AS VARCHAR),
                 'reason': 'duplicate key (' || {key_text} || ') appears ' || d.n ||
                           ' times in this file; none of these rows was loaded'}}] ELSE [] END"""
            if has_dups
            else "[]"
        )
        dup_join = f"LEFT JOIN dups d ON {dup_on}" if has_dups else ""
        # The fast pass flags a superset: a flagged row with no reason at all is good after all.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT * FROM (
                SELECT b._rid, list_concat(coalesce(e._errors, []), {dup_reason}) AS errors
                FROM bad_rids b JOIN checked c ON c._rid = b._rid
                LEFT JOIN row_errors e ON e._rid = b._rid {dup_join}
            ) WHERE len(errors) > 0
            """
        )
    con.execute(
        f"""
        INSERT INTO ops.quarantine
        SELECT ?, ?, ?, {read.line_expr}, e.column, e.value, e.reason, {record}, ?
        FROM (SELECT _rid, unnest(errors) AS e FROM bad) b JOIN raw r ON r.rowid = b._rid
        """,
        [batch_id, table.name, file_name, now],
    )
    bad_rows = int(con.execute("SELECT count(*) FROM bad").fetchone()[0])  # type: ignore[index]
    if read.structural_rejects:
        con.execute(
            "INSERT INTO ops.quarantine SELECT ?, ?, ?, source_line, column_name, NULL, "
            + "CASE error_type "
            + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STRUCTURAL_REASONS.items())
            + " ELSE coalesce(error_message, error_type) END, record, ? FROM raw_rejects",
            [batch_id, table.name, file_name, now],
        )
    return bad_rows + read.structural_rejects


def load_raw(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    batch_id: int,
    name: str,
    read: ReadResult,
    *,
    started: float,
    read_ms: int,
    stage: Callable[[str], None] = lambda _stage: None,
) -> tuple[UpsertCounts, int, list[str]]:
    """Validate the temp table `raw`, quarantine its bad rows, upsert the good ones, finish the batch.

    Runs inside the caller's transaction. Every source (an inbox file, a
    source mapping's file or database extract) ends here, so all land
    through the same contract checks. Returns (counts, rows quarantined,
    warnings); raises UnreadableFileError when required columns are missing.
    """
    problem, warnings = _header_problems(table, read)
    if problem:
        raise UnreadableFileError(problem)
    if read.rows == 0 and read.structural_rejects == 0:
        warnings.append("the file has a header but no data rows")
    stage("validating")
    t0 = time.perf_counter()
    con.execute(build_checked_sql(table, set(read.columns)))
    quarantined = _quarantine(con, table, batch_id, name, read)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW good AS SELECT c.* EXCLUDE (_rid, _bad) FROM checked c "
        "WHERE c._rid NOT IN (SELECT _rid FROM bad)"
    )
    validate_ms = _ms(time.perf_counter() - t0)
    counts = _upsert_and_finish(
        con,
        table,
        batch_id,
        read,
        quarantined,
        warnings,
        started=started,
        read_ms=read_ms,
        validate_ms=validate_ms,
        stage=stage,
    )
    return counts, quarantined, warnings


def _upsert_and_finish(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    batch_id: int,
    read: ReadResult,
    quarantined: int,
    warnings: list[str],
    *,
    started: float,
    read_ms: int,
    validate_ms: int,
    stage: Callable[[str], None],
) -> UpsertCounts:
    """Upsert the temp view `good`, drop the batch's temp tables and mark the batch loaded."""
    stage("upserting")
    t0 = time.perf_counter()
    counts = upsert(con, table, batch_id)
    upsert_ms = _ms(time.perf_counter() - t0)
    con.execute("DROP VIEW good")
    for tmp in (
        "raw",
        "raw_rejects",
        "checked",
        "dups",
        "bad_rids",
        "row_errors",
        "bad",
        "_reject_positions",
    ):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    _finish(
        con,
        batch_id,
        started,
        status="loaded",
        rows_read=read.rows + read.structural_rejects,
        rows_inserted=counts.inserted,
        rows_updated=counts.updated,
        rows_stale=counts.stale,
        rows_quarantined=quarantined,
        encoding=read.encoding,
        delimiter=read.delimiter,
        warnings="; ".join(warnings) or None,
        read_ms=read_ms,
        validate_ms=validate_ms,
        upsert_ms=upsert_ms,
    )
    return counts


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
            problem, warnings = _header_problems(table, read)
            if problem:
                return None
            read_ms = _ms(time.perf_counter() - t0)
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
    return _Streamed(read, warnings, read_ms, _ms(time.perf_counter() - t0))


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
    return _upsert_and_finish(
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
) -> BatchResult:
    """Land one inbox file as one batch (see the module docstring for the guarantees)."""
    started = time.perf_counter()
    watcher = ProgressWatcher(con, item.path.name, progress)
    try:
        return _land(
            con,
            item,
            watcher,
            run_id=run_id,
            archive=archive,
            rejected=rejected,
            keep=keep,
            started=started,
        )
    finally:
        watcher.stop()


def _land(
    con: duckdb.DuckDBPyConnection,
    item: InboxFile,
    watcher: ProgressWatcher,
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool,
    started: float,
) -> BatchResult:
    stage = watcher.stage
    name = item.path.name
    size = item.path.stat().st_size
    if item.problem is not None:
        batch_id = _start_batch(con, item, run_id, None, size)
        return _reject(con, item, item.problem, batch_id, rejected, keep, started)

    stage("hashing")
    digest = content_hash(item.path)
    duplicate_of = _loaded_hash(con, digest)
    batch_id = _start_batch(con, item, run_id, digest, size)
    if duplicate_of is not None:
        moved = None if keep else _move(item.path, archive / (item.system or ""), batch_id)
        message = f"same content as batch {duplicate_of}, already loaded: skipped"
        _finish(
            con,
            batch_id,
            started,
            status="skipped_duplicate",
            duplicate_of=duplicate_of,
            warnings=message,
            archived_path=str(moved) if moved else None,
        )
        return BatchResult(
            batch_id,
            item.path,
            item.system,
            item.table,
            "skipped_duplicate",
            duplicate_of=duplicate_of,
            warnings=[message],
            seconds=time.perf_counter() - started,
        )

    assert item.table is not None
    table = TABLES[item.table]
    streamed = (
        _stream_csv(con, item.path, table, stage) if file_format(item.path) == "csv" else None
    )
    con.execute("BEGIN TRANSACTION")
    try:
        if streamed is not None:
            read, quarantined, warnings = streamed.read, 0, streamed.warnings
            counts = _load_streamed(con, table, batch_id, streamed, started=started, stage=stage)
        else:
            stage("reading")
            t0 = time.perf_counter()
            read = read_file(con, item.path)
            read_ms = _ms(time.perf_counter() - t0)
            counts, quarantined, warnings = load_raw(
                con, table, batch_id, name, read, started=started, read_ms=read_ms, stage=stage
            )
        con.execute("COMMIT")
    except UnreadableFileError as exc:
        con.execute("ROLLBACK")
        con.execute("DROP TABLE IF EXISTS checked")  # made before the transaction when streamed
        return _reject(con, item, str(exc), batch_id, rejected, keep, started)
    except Exception as exc:
        con.execute("ROLLBACK")
        con.execute("DROP TABLE IF EXISTS checked")  # made before the transaction when streamed
        reason = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        _finish(con, batch_id, started, status="failed", error=reason)
        return BatchResult(
            batch_id,
            item.path,
            item.system,
            item.table,
            "failed",
            error=reason,
            seconds=time.perf_counter() - started,
        )

    if not keep:
        moved = _move(item.path, archive / (item.system or ""), batch_id)
        con.execute(
            "UPDATE ops.batches SET archived_path = ? WHERE batch_id = ?", [str(moved), batch_id]
        )
    return BatchResult(
        batch_id,
        item.path,
        item.system,
        item.table,
        "loaded",
        rows_read=read.rows + read.structural_rejects,
        counts=counts,
        rows_quarantined=quarantined,
        warnings=warnings,
        seconds=time.perf_counter() - started,
        streamed=streamed is not None,
    )
