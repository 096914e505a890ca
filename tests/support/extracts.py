"""Helpers of the landing tests: build extract files, land an inbox, inspect the warehouse.

Every extract is built as bytes here, in code: the bytes a test lands are the bytes it shows.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES
from control_tower.settings import load_settings
from pipelines.run import RunReport, run_pipeline
from tests.support.baseline import BASELINE, BASELINE_CSV


def csv_text(rows: Sequence[Sequence[str]], *, delimiter: str = ",", newline: str = "\n") -> str:
    """Rows as CSV text (values quoted only where needed), one line per row."""
    out = io.StringIO()
    for row in rows:
        out.write(delimiter.join(_csv_field(v, delimiter) for v in row) + newline)
    return out.getvalue()


def _csv_field(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_bytes(
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    """Rows as CSV bytes in the given encoding."""
    return csv_text(rows, delimiter=delimiter, newline=newline).encode(encoding)


def rows_of(
    table: str, *data: Sequence[str], header: Sequence[str] | None = None
) -> list[list[str]]:
    """The baseline header of `table` (or `header`) followed by `data` rows."""
    return [list(header or BASELINE[table][0]), *(list(r) for r in data)]


def baseline_row(table: str, index: int = 0, **changes: str) -> list[str]:
    """A copy of the baseline's `index`-th data row of `table` with some columns changed."""
    header = BASELINE[table][0]
    row = list(BASELINE[table][index + 1])
    for name, value in changes.items():
        row[header.index(name)] = value
    return row


def write_files(inbox: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write {relative path: bytes} under the inbox (e.g. `erp/items.csv`)."""
    paths = []
    for rel, data in files.items():
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def baseline_files() -> dict[str, bytes]:
    """The baseline as one CSV per table, in its system folder."""
    return {f"{TABLES[t].system}/{t}.csv": text.encode() for t, text in BASELINE_CSV.items()}


def land(home: Path, files: Mapping[str, bytes] | None = None, *, keep: bool = False) -> RunReport:
    """Write `files` into home/inbox and run the pipeline once (land, post-load steps, publish)."""
    settings = load_settings(home)
    settings.ensure_dirs()
    if files:
        write_files(settings.inbox, files)
    return run_pipeline(settings, trigger="cli", inbox=settings.inbox, keep=keep)


@contextmanager
def warehouse(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The live warehouse, read-only (no pipeline may be running)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


def fetch(home: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """Run one query against the live warehouse and return all rows."""
    with warehouse(home) as con:
        return con.execute(sql, list(params)).fetchall()


def table_checksum(
    con: duckdb.DuckDBPyConnection, table: str, *, exclude_batch: int | None = None
) -> tuple[int, str]:
    """(row count, md5 of every row but `_loaded_at`, order-independent) of one landed table."""
    where = "" if exclude_batch is None else f"WHERE _batch_id <> {int(exclude_batch)}"
    row = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(x, chr(10) ORDER BY x), '')) FROM ("
        f"SELECT CAST(s AS VARCHAR) AS x FROM (SELECT * EXCLUDE (_loaded_at) FROM main.{table} "
        f"{where}) s)"
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def checksums(home: Path, *, exclude_batch: int | None = None) -> dict[str, tuple[int, str]]:
    """Checksum of every landed contract table."""
    with warehouse(home) as con:
        return {t: table_checksum(con, t, exclude_batch=exclude_batch) for t in TABLES}


def batch_rows(home: Path) -> list[dict[str, object]]:
    """ops.batches as dicts, in batch order."""
    with warehouse(home) as con:
        cur = con.execute("SELECT * FROM ops.batches ORDER BY batch_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def quarantined(home: Path, batch_id: int) -> list[tuple[int, str | None, str | None, str]]:
    """(source_line, column, value, reason) quarantined by one batch, in line order."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in fetch(
            home,
            "SELECT source_line, column_name, value, reason FROM ops.quarantine "
            "WHERE batch_id = ? ORDER BY source_line, column_name",
            [batch_id],
        )
    ]


def copy_home(source: Path, dest: Path) -> Path:
    """A copy of a data folder (all but its serving snapshots), for a test to change freely."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("serving"))
    return dest
