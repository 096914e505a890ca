"""The batch records in `ops.batches`: one row per delivery landed, skipped, rejected or failed."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from control_tower.landing.upsert import UpsertCounts
from control_tower.settings import utc_now as utc_now  # the product clock, naive UTC


@dataclass
class BatchResult:
    """The outcome of landing one delivery (a file, or one target table of a source's pull)."""

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
    label: str = ""  # the delivery's name when it is not the file's (a source mapping's batch)
    detail: str | None = None  # delivered text behind a rejection: the reason file only, not stored


def ms_since(started: float) -> int:
    """Milliseconds since a `time.perf_counter()` reading."""
    return round((time.perf_counter() - started) * 1000)


def failure_reason(exc: BaseException) -> str:
    """An unexpected error as one line: its type and the first line of its message.

    A DuckDB error quotes the values it failed on ("Could not convert string
    'x' to INT32"): those are delivered content, so they are masked; the
    message is stored in ops.batches, which every role may reach.
    """
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, duckdb.Error):
        first = re.sub(r"'[^']*'", "'…'", first)
    return f"{type(exc).__name__}: {first}"


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Batches left `running` by a process that died: nothing of them was committed."""
    n = con.execute(
        "UPDATE ops.batches SET status = 'interrupted', finished_at = ?, error = "
        "'the process stopped before this batch committed; nothing of it was loaded, and the "
        "file stays in the inbox to be landed again' WHERE status = 'running'",
        [utc_now()],
    ).fetchone()
    return int(n[0]) if n else 0


def loaded_batch_with_hash(con: duckdb.DuckDBPyConnection, digest: str) -> int | None:
    """The first loaded batch whose content hash is `digest`, if any."""
    row = con.execute(
        "SELECT min(batch_id) FROM ops.batches WHERE content_hash = ? AND status = 'loaded'",
        [digest],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def insert_running(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    system: str | None,
    table: str | None,
    file_name: str,
    source_path: str,
    content_hash: str | None,
    file_bytes: int | None,
    file_format: str | None,
) -> int:
    """Record a batch as `running` (before its transaction starts); returns its id."""
    batch_id = int(con.execute("SELECT nextval('ops.batch_id_seq')").fetchone()[0])  # type: ignore[index]
    con.execute(
        "INSERT INTO ops.batches (batch_id, run_id, system, table_name, file_name, source_path, "
        "content_hash, file_bytes, file_format, status, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        [
            batch_id,
            run_id,
            system,
            table,
            file_name,
            source_path,
            content_hash,
            file_bytes,
            file_format,
            utc_now(),
        ],
    )
    return batch_id


def finish_batch(
    con: duckdb.DuckDBPyConnection, batch_id: int, started: float, **fields: object
) -> None:
    """Set a batch's final fields (status, counts, timings…) and its total time."""
    fields.setdefault("finished_at", utc_now())
    fields["total_ms"] = ms_since(started)
    sets = ", ".join(f"{k} = ?" for k in fields)
    con.execute(f"UPDATE ops.batches SET {sets} WHERE batch_id = ?", [*fields.values(), batch_id])


def update_batches(con: duckdb.DuckDBPyConnection, batch_ids: list[int], **fields: object) -> None:
    """Set fields of finished batches (the archive path once the file has moved, warnings)."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    con.execute(
        f"UPDATE ops.batches SET {sets} WHERE list_contains(?, batch_id)",
        [*fields.values(), batch_ids],
    )
