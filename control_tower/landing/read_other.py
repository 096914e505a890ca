"""Parquet, JSON Lines and Excel files, read into `raw` as text exactly as delivered."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from control_tower.landing.raw import (
    LINE_COLUMN,
    ReadResult,
    UnreadableFileError,
    check_header,
    count_rows,
    detect_encoding,
    duckdb_error,
    empty_rejects,
    json_key,
    last_line,
    normalise_name,
    preview,
    quote_ident,
    rowid_base,
    sniff_bytes,
)


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> ReadResult:
    """Read a Parquet file into `raw`, every value cast to text."""
    sniff_bytes(path, "parquet")
    con.execute("DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS raw_rejects")
    try:
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise UnreadableFileError(f"not a readable Parquet file: {duckdb_error(exc)}") from None
    original = [d[0] for d in desc]
    names = check_header(original)
    cols = ", ".join(
        f'CAST("{quote_ident(o)}" AS VARCHAR) AS "{quote_ident(n)}"'
        for o, n in zip(original, names, strict=True)
    )
    try:
        con.execute(f"CREATE TEMP TABLE raw AS SELECT {cols} FROM read_parquet(?)", [str(path)])
    except duckdb.Error as exc:
        raise UnreadableFileError(f"not a readable Parquet file: {duckdb_error(exc)}") from None
    empty_rejects(con)
    return ReadResult(
        "parquet",
        names,
        original,
        count_rows(con, "raw"),
        line_expr=f"r.rowid - {rowid_base(con)} + 1",
    )


def read_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> ReadResult:
    """Read JSON Lines into `raw`; lines that are not JSON objects go to `raw_rejects`."""
    head, size = sniff_bytes(path, "jsonl")
    encoding = detect_encoding(head, size > len(head))
    con.execute("DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS raw_rejects")
    con.execute("DROP TABLE IF EXISTS _lines")
    try:
        # One text column per line: a delimiter that valid JSON never contains unescaped.
        con.execute(
            "CREATE TEMP TABLE _lines AS SELECT line FROM read_csv(?, columns := {'line': 'VARCHAR'},"
            " header := false, delim := chr(31), quote := '', escape := '', auto_detect := false,"
            " encoding := ?, strict_mode := false, null_padding := true, store_rejects := true,"
            " rejects_table := '_jl_errors', rejects_scan := '_jl_scans')",
            [str(path), encoding],
        )
    except duckdb.Error as exc:
        raise UnreadableFileError(f"cannot be read as JSON Lines: {duckdb_error(exc)}") from None
    # Lines DuckDB could not decode (invalid UTF-8) are rejects; every other line is kept, in
    # file order, so a line's number is its position plus the rejected lines before it.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _jl_bad AS SELECT DISTINCT ON (line) line AS source_line, "
        "CAST(error_type AS VARCHAR) AS error_type, trim(csv_line, chr(10) || chr(13)) AS record "
        "FROM _jl_errors ORDER BY line"
    )
    con.execute("DROP TABLE IF EXISTS _jl_errors; DROP TABLE IF EXISTS _jl_scans")
    position = "l.rowid - (SELECT min(rowid) FROM _lines)"
    if count_rows(con, "_jl_bad"):
        position = (
            f"{position} + (SELECT count(*) FROM (SELECT source_line - 1 - (row_number() OVER "
            "(ORDER BY source_line) - 1) AS accepted_before FROM _jl_bad) b "
            f"WHERE b.accepted_before <= {position})"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _lines AS SELECT {position} AS _rid, trim(l.line) AS line, "
        "CASE WHEN json_valid(trim(l.line)) THEN json_type(trim(l.line)) END AS kind FROM _lines l"
    )
    last = con.execute(
        "SELECT _rid + 1, line, kind FROM _lines ORDER BY _rid DESC LIMIT 1"
    ).fetchone()
    if last is not None and last[1] and last[2] is None and not last_line(path, encoding)[1]:
        raise UnreadableFileError(
            f"the file is truncated: its last line (line {last[0]}) is cut off mid-record, "
            "with no line break after it, so the export did not finish; "
            "deliver the complete file again",
            detail=f"the last line: {preview(last[1])}",
        )
    total = count_rows(con, "_lines")
    good = con.execute("SELECT count(*) FROM _lines WHERE kind = 'OBJECT'").fetchone()[0]  # type: ignore[index]
    blank = con.execute("SELECT count(*) FROM _lines WHERE line IS NULL OR line = ''").fetchone()[0]  # type: ignore[index]
    if total - blank > 0 and good == 0:
        raise UnreadableFileError(
            "no line of the file is a JSON object: it is not a JSON Lines extract"
        )
    keys = [
        r[0]
        for r in con.execute(
            "SELECT k FROM (SELECT unnest(json_keys(line)) AS k FROM _lines WHERE kind = 'OBJECT') "
            "GROUP BY k ORDER BY min(k)"
        ).fetchall()
    ]
    by_name: dict[str, list[str]] = {}
    for key in keys:
        by_name.setdefault(normalise_name(key), []).append(key)
    selects = []
    for name, originals in by_name.items():
        parts = ", ".join(f"json_extract_string(line, '$.\"{json_key(k)}\"')" for k in originals)
        expr = parts if len(originals) == 1 else f"coalesce({parts})"
        selects.append(f"CASE WHEN kind = 'OBJECT' THEN {expr} END AS \"{quote_ident(name)}\"")
    select_list = ", ".join([f"_rid + 1 AS {LINE_COLUMN}", *selects])
    con.execute(
        f"CREATE TEMP TABLE raw AS SELECT {select_list} FROM _lines "
        "WHERE kind = 'OBJECT' ORDER BY _rid"
    )
    con.execute(
        "CREATE TEMP TABLE raw_rejects AS SELECT _rid + 1 AS source_line, NULL::VARCHAR AS column_name, "
        "CASE WHEN kind IS NULL THEN 'NOT JSON' ELSE 'NOT OBJECT' END AS error_type, line AS record, "
        "NULL::VARCHAR AS error_message FROM _lines "
        "WHERE line IS NOT NULL AND line <> '' AND kind IS DISTINCT FROM 'OBJECT' "
        "UNION ALL SELECT source_line, NULL, error_type, record, NULL FROM _jl_bad"
    )
    con.execute("DROP TABLE _lines; DROP TABLE _jl_bad")
    return ReadResult(
        "jsonl",
        list(by_name),
        keys,
        count_rows(con, "raw"),
        encoding=encoding,
        line_expr=f"r.{LINE_COLUMN}",
        structural_rejects=count_rows(con, "raw_rejects"),
    )


def excel_text(value: object) -> str | None:
    """A workbook cell as the text a user sees in Excel's General format; None when empty.

    Whole numbers lose the `.0` Excel never shows (an id typed as 725 reads
    `725`); other numbers keep 15 significant digits, as Excel displays
    them; dates and times are ISO 8601; booleans are `true` / `false`.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None
) -> ReadResult:
    """Read one sheet of an Excel workbook into `raw`: its first non-empty row is the header.

    Every cell lands as the text a user sees (see `excel_text`); a row's line
    is its row number in the sheet. Fully empty rows are skipped.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    if path.stat().st_size == 0:
        raise UnreadableFileError("the file is empty (0 bytes)")
    try:
        book = CalamineWorkbook.from_path(str(path))
        if sheet is None:
            if not book.sheet_names:
                raise UnreadableFileError("the workbook has no sheet")
            sheet = book.sheet_names[0]
        elif sheet not in book.sheet_names:
            raise UnreadableFileError(
                f"the workbook has no sheet {sheet!r} (it has {len(book.sheet_names)} sheets)",
                detail=f"its sheets: {', '.join(book.sheet_names)}",
            )
        cells = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise UnreadableFileError(
            f"not a readable Excel workbook (.xlsx): {type(exc).__name__}: {exc}"
        ) from None
    rows = [[excel_text(v) for v in row] for row in cells]
    start = next((i for i, row in enumerate(rows) if any(v is not None for v in row)), None)
    if start is None:
        raise UnreadableFileError(
            f"sheet {sheet!r} is empty: a workbook extract needs a header row"
        )
    header = [v or "" for v in rows[start]]
    while header and not header[-1]:
        header.pop()
    names = check_header(header)
    data = {LINE_COLUMN: [], **{n: [] for n in names}}
    for i in range(start + 1, len(rows)):
        row = rows[i]
        if all(v is None for v in row):
            continue
        data[LINE_COLUMN].append(i + 1)
        for j, name in enumerate(names):
            data[name].append(row[j] if j < len(row) else None)
    arrow = pa.table(
        {
            k: pa.array(v, type=pa.int64() if k == LINE_COLUMN else pa.string())
            for k, v in data.items()
        }
    )
    con.execute("DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS raw_rejects")
    con.complete()  # DuckDB registers no frame beside an unread result
    con.register("_xlsx_rows", arrow)
    try:
        con.execute(f"CREATE TEMP TABLE raw AS SELECT * FROM _xlsx_rows ORDER BY {LINE_COLUMN}")
    finally:
        con.unregister("_xlsx_rows")
    empty_rejects(con)
    return ReadResult(
        "xlsx",
        names,
        header,
        count_rows(con, "raw"),
        line_expr=f"r.{LINE_COLUMN}",
    )
