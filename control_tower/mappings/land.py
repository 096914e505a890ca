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
from pathlib import Path

import duckdb

from control_tower.contracts import TABLES
from control_tower.landing.batch import (
    BatchResult,
    _finish,
    _loaded_hash,
    _move,
    _ms,
    _reject_file,
    _start_batch,
    load_raw,
)
from control_tower.landing.files import InboxFile, content_hash
from control_tower.landing.readers import LINE_COLUMN, ReadResult, UnreadableFileError, read_file
from control_tower.mappings.spec import SOURCE_ALIAS, FileSource, SourceMapping, Target


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def target_select(target: Target, from_sql: str) -> str:
    """The SELECT building a target's canonical text columns (plus the source line) from `src`."""
    cols = [
        f"CAST({compiled.sql} AS VARCHAR) AS {_q(col)}" for col, compiled in target.columns.items()
    ]
    cols.append(f"{SOURCE_ALIAS}.{LINE_COLUMN} AS {LINE_COLUMN}")
    sql = f"SELECT {', '.join(cols)} FROM {from_sql}"
    if target.where is not None:
        sql += f" WHERE coalesce({target.where.sql}, false)"
    if target.dedupe:
        key = ", ".join(_q(k) for k in TABLES[target.table].key)
        # The first row (in source order) of each key; rows with a NULL key all stay (quarantined).
        sql = (
            f"SELECT * FROM ({sql}) QUALIFY {' OR '.join(f'{_q(k)} IS NULL' for k in TABLES[target.table].key)} "
            f"OR row_number() OVER (PARTITION BY {key} ORDER BY {LINE_COLUMN}) = 1"
        )
    return sql + f" ORDER BY {LINE_COLUMN}"


def build_target_raw(con: duckdb.DuckDBPyConnection, target: Target, from_sql: str) -> ReadResult:
    """Replace the temp table `raw` with the target's canonical rows; the read result describing it."""
    con.execute("DROP TABLE IF EXISTS raw")
    con.execute(f"CREATE TEMP TABLE raw AS {target_select(target, from_sql)}")
    rows = int(con.execute("SELECT count(*) FROM raw").fetchone()[0])  # type: ignore[index]
    names = list(target.columns)
    return ReadResult("mapping", names, names, rows, line_expr=f"r.{LINE_COLUMN}")


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


def _batch_digest(file_digest: str, mapping: SourceMapping, table: str) -> str:
    return hashlib.sha256(f"{file_digest}:{mapping.digest}:{table}".encode()).hexdigest()


def land_mapped_file(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    path: Path,
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool = False,
) -> list[BatchResult]:
    """Land one file through a file mapping: one batch per target table, one transaction."""
    assert isinstance(mapping.source, FileSource)
    started = time.perf_counter()
    size = path.stat().st_size
    file_digest = content_hash(path)
    batches: list[tuple[Target, int, InboxFile]] = []
    results: list[BatchResult] = []
    for target in mapping.targets:
        table = TABLES[target.table]
        item = InboxFile(path, table.system, table.name)
        digest = _batch_digest(file_digest, mapping, table.name)
        duplicate_of = _loaded_hash(con, digest)
        batch_id = _start_batch(con, item, run_id, digest, size)
        if duplicate_of is not None:
            message = f"same content and mapping as batch {duplicate_of}, already loaded: skipped"
            _finish(
                con,
                batch_id,
                started,
                status="skipped_duplicate",
                duplicate_of=duplicate_of,
                warnings=message,
            )
            results.append(
                BatchResult(
                    batch_id,
                    path,
                    table.system,
                    table.name,
                    "skipped_duplicate",
                    duplicate_of=duplicate_of,
                    warnings=[message],
                )
            )
        else:
            batches.append((target, batch_id, item))
    if batches:
        results += _land_targets(con, mapping, path, batches, started)
    failed = any(r.status in ("rejected", "failed") for r in results)
    if keep:
        return results
    rejected_now = [r for r in results if r.status == "rejected"]
    if rejected_now:
        _reject_file(
            InboxFile(path, mapping.source.folder, None),
            rejected_now[0].error or "rejected",
            rejected,
            rejected_now[0].batch_id,
            keep=False,
        )
    elif not failed:
        moved = _move(path, archive / mapping.source.folder, results[0].batch_id)
        ids = [r.batch_id for r in results]
        con.execute(
            "UPDATE ops.batches SET archived_path = ? WHERE list_contains(?, batch_id)",
            [str(moved), ids],
        )
    return results


def _land_targets(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    path: Path,
    batches: list[tuple[Target, int, InboxFile]],
    started: float,
) -> list[BatchResult]:
    source = mapping.source
    assert isinstance(source, FileSource)
    results: list[BatchResult] = []
    con.execute("BEGIN TRANSACTION")
    try:
        t0 = time.perf_counter()
        read = read_file(con, path, encoding=source.encoding, sheet=source.sheet)
        absent = missing_source_columns(mapping, set(read.columns))
        if absent:
            raise UnreadableFileError(
                f"the file has no column(s) {', '.join(repr(a) for a in absent)} that mapping "
                f"{mapping.name} reads (found: {', '.join(read.original_columns) or 'none'})"
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
        read_ms = _ms(time.perf_counter() - t0)
        for n, (target, batch_id, item) in enumerate(batches):
            target_read = build_target_raw(con, target, f"src AS {SOURCE_ALIAS}")
            target_read.encoding, target_read.delimiter = read.encoding, read.delimiter
            con.execute("DROP TABLE IF EXISTS raw_rejects")
            # Rows the reader could not split belong to the file: reported once, on its first batch.
            con.execute(
                "CREATE TEMP TABLE raw_rejects AS SELECT * FROM src_rejects"
                + ("" if n == 0 else " LIMIT 0")
            )
            target_read.structural_rejects = read.structural_rejects if n == 0 else 0
            counts, quarantined, warnings = load_raw(
                con,
                TABLES[target.table],
                batch_id,
                path.name,
                target_read,
                started=started,
                read_ms=read_ms,
            )
            results.append(
                BatchResult(
                    batch_id,
                    path,
                    item.system,
                    item.table,
                    "loaded",
                    rows_read=target_read.rows + target_read.structural_rejects,
                    counts=counts,
                    rows_quarantined=quarantined,
                    warnings=[f"mapping {mapping.name}", *warnings],
                    seconds=time.perf_counter() - started,
                )
            )
        con.execute("DROP TABLE IF EXISTS src; DROP TABLE IF EXISTS src_rejects")
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        unreadable = isinstance(exc, UnreadableFileError)
        reason = (
            str(exc)
            if unreadable
            else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        status = "rejected" if unreadable else "failed"
        results = []
        for _target, batch_id, item in batches:
            _finish(con, batch_id, started, status=status, error=reason)
            results.append(
                BatchResult(batch_id, path, item.system, item.table, status, error=reason)
            )
    return results


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]


def land_file_mapping(
    con: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    inbox: Path,
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool = False,
) -> list[BatchResult]:
    """Land every file of `inbox/<folder>/` matching the mapping's glob, in name order."""
    source = mapping.source
    assert isinstance(source, FileSource)
    folder = inbox / source.folder
    results: list[BatchResult] = []
    if not folder.is_dir():
        return results
    for path in sorted(p for p in folder.glob(source.glob) if p.is_file()):
        if path.name.startswith((".", "~")):
            continue
        results += land_mapped_file(
            con, mapping, path, run_id=run_id, archive=archive, rejected=rejected, keep=keep
        )
    return results
