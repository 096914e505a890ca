"""The contract path every delivery lands through: validate, quarantine, harmonise, upsert.

Works on the temp table `raw` (text columns as delivered, see the readers),
inside the caller's transaction: rows the contract refuses go to
`ops.quarantine` with their line, column, value and reason; the good rows,
harmonised and typed, are upserted; the batch is marked `loaded`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

from control_tower.contracts import Table
from control_tower.landing.read_csv import REJECTED_LINES
from control_tower.landing.readers import (
    LINE_COLUMN,
    PROBLEMS_COLUMN,
    ReadResult,
    UnreadableFileError,
)
from control_tower.landing.records import finish_batch, ms_since, utc_now
from control_tower.landing.upsert import UpsertCounts, upsert
from control_tower.landing.validate import build_checked_sql, build_errors_sql

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


def _positions(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:20]))
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")


def header_problems(table: Table, read: ReadResult) -> tuple[str | None, list[str]]:
    """(why the header cannot land, warnings), naming contract columns and header positions only.

    A header that is not one (a data row, another file's first line) is delivered content:
    it is never echoed into the batch's error or warnings, which every role may see.
    """
    present = set(read.columns)
    missing = [c for c in table.required_columns if c not in present]
    known = [c for c in read.columns if c in table.column_names]
    unknown = [
        i
        for i, norm in enumerate(read.columns, start=1)
        if norm not in table.column_names and norm not in (LINE_COLUMN, PROBLEMS_COLUMN)
    ]
    warnings = []
    if unknown:
        warnings.append(
            f"ignored {len(unknown)} column(s) that are not in the {table.name} contract "
            f"(header position(s) {_positions(unknown)})"
        )
    if missing:
        return (
            f"missing required column(s) {', '.join(missing)} for table {table.name} "
            f"(the header has {len(read.columns)} column(s): "
            f"{'contract columns ' + ', '.join(known) if known else 'no contract column'}"
            f"{'; other columns at position(s) ' + _positions(unknown) if unknown else ''})",
            warnings,
        )
    return None, warnings


def header_detail(read: ReadResult) -> str:
    """The header as delivered, for the `.reason.txt` of a file set aside (admins only)."""
    return f"the header as delivered: {', '.join(map(repr, read.original_columns)) or 'none'}"


def quarantine_bad_rows(
    con: duckdb.DuckDBPyConnection, table: Table, batch_id: int, file_name: str, read: ReadResult
) -> int:
    """Move every bad row of the batch into ops.quarantine; returns the number of bad rows."""
    keys = ", ".join(f'"{k}"' for k in table.key)
    key_not_null = " AND ".join(f'"{k}" IS NOT NULL' for k in table.key)
    # Rows the source already refused (a mapped value that does not parse) are not duplicates.
    refused = (
        f"SELECT rowid FROM raw WHERE len({PROBLEMS_COLUMN}) > 0" if read.source_problems else ""
    )
    not_refused = f" AND _rid NOT IN ({refused})" if refused else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dups AS SELECT {keys}, count(*) AS n FROM checked "
        f"WHERE {key_not_null}{not_refused} GROUP BY ALL HAVING count(*) > 1"
    )
    dup_on = " AND ".join(f'd."{k}" = c."{k}"' for k in table.key)
    key_text = " || ', ' || ".join(f"'{k}=' || CAST(c.\"{k}\" AS VARCHAR)" for k in table.key)
    now = utc_now()
    raw_cols = [c for c in read.columns if c and c not in (LINE_COLUMN, PROBLEMS_COLUMN)]
    record = read.record_sql or (
        "to_json({" + ", ".join(f"'{c}': r.\"{c}\"" for c in raw_cols) + "})"
        if raw_cols
        else "NULL"
    )
    has_dups = bool(con.execute("SELECT count(*) FROM dups").fetchone()[0])  # type: ignore[index]
    dup_rids = f" UNION SELECT c._rid FROM checked c JOIN dups d ON {dup_on}" if has_dups else ""
    dup_rids += f" UNION {refused}" if refused else ""
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
        errors = "coalesce(e._errors, [])"
        if read.source_problems:
            # The source's own reasons first; a contract column they fed is not blamed again.
            fed = f"flatten(list_transform(s.{PROBLEMS_COLUMN}, lambda p: p.affects))"
            errors = (
                f"list_concat(list_transform(coalesce(s.{PROBLEMS_COLUMN}, []), lambda p: "
                "{'column': p.column, 'value': p.value, 'reason': p.reason}), "
                f"list_filter({errors}, lambda x: NOT list_contains({fed}, x.column)))"
            )
            dup_join += " JOIN raw s ON s.rowid = b._rid"
        # The fast pass flags a superset: a flagged row with no reason at all is good after all.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT * FROM (
                SELECT b._rid, list_concat({errors}, {dup_reason}) AS errors
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
    problem, warnings = header_problems(table, read)
    if problem:
        raise UnreadableFileError(problem, detail=header_detail(read))
    if read.rows == 0 and read.structural_rejects == 0:
        warnings.append("the file has a header but no data rows")
    stage("validating")
    t0 = time.perf_counter()
    con.execute(build_checked_sql(table, set(read.columns)))
    quarantined = quarantine_bad_rows(con, table, batch_id, name, read)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW good AS SELECT c.* EXCLUDE (_rid, _bad) FROM checked c "
        "WHERE c._rid NOT IN (SELECT _rid FROM bad)"
    )
    validate_ms = ms_since(t0)
    counts = upsert_and_finish(
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


# The temp tables landing one batch may leave: readers, both validation passes, quarantine.
TEMP_TABLES = (
    "raw",
    "raw_rejects",
    "checked",
    "checked_stream",
    "dups",
    "bad_rids",
    "row_errors",
    "bad",
    "_reject_positions",
    REJECTED_LINES,
)


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temp table a batch's landing may have left (none of them may outlive it)."""
    for tmp in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {tmp}")


def upsert_and_finish(
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
    upsert_ms = ms_since(t0)
    con.execute("DROP VIEW good")
    drop_temp_tables(con)
    finish_loaded(
        con,
        batch_id,
        read,
        counts,
        quarantined,
        warnings,
        started=started,
        timings=(read_ms, validate_ms, upsert_ms),
    )
    return counts


def finish_loaded(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    read: ReadResult,
    counts: UpsertCounts,
    quarantined: int,
    warnings: list[str],
    *,
    started: float,
    timings: tuple[int, int, int],
) -> None:
    """Mark the batch `loaded` with its counts and its (read, validate, upsert) milliseconds."""
    read_ms, validate_ms, upsert_ms = timings
    finish_batch(
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
