"""Readers: turn one extract file into a temporary table of text columns.

Every format lands in the same shape, a temp table `raw` whose columns are
the file's own column names (trimmed, lower-cased) holding text exactly as
delivered, in file order (`rowid` = record index). Typing and checks happen
later, in SQL, the same way for every format. Rows DuckDB's CSV reader
cannot split (wrong field count, bad bytes) are kept in `raw_rejects` with
their line and the raw text, so that nothing is lost.

`csv_stream` is the exception: a view reading a CSV file exactly as
`read_csv` does, for validating a file without copying it first (its rows
have no line numbers, so only a file with nothing to quarantine lands that way).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from control_tower.landing.raw import (
    LINE_COLUMN,
    PROBLEMS_COLUMN,
    ReadResult,
    UnreadableFileError,
    normalise_name,
)
from control_tower.landing.read_csv import STREAM_VIEW, csv_stream, detect_delimiter, read_csv
from control_tower.landing.read_other import excel_text, read_jsonl, read_parquet, read_xlsx

__all__ = [
    "FORMATS",
    "LINE_COLUMN",
    "PROBLEMS_COLUMN",
    "STREAM_VIEW",
    "ReadResult",
    "UnreadableFileError",
    "csv_stream",
    "detect_delimiter",
    "excel_text",
    "file_format",
    "normalise_name",
    "read_csv",
    "read_file",
    "read_jsonl",
    "read_parquet",
    "read_xlsx",
]


FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}


def file_format(path: Path) -> str | None:
    """The format a file name claims (csv, parquet, jsonl), or None if unsupported."""
    name = path.name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return FORMATS[ext]
    return None


def read_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
) -> ReadResult:
    """Read any supported extract file into the temp tables `raw` and `raw_rejects`.

    `encoding` (text formats) overrides detection; `sheet` names the workbook
    sheet to read (default: the first). Source mappings pass both.
    """
    fmt = file_format(path)
    if fmt == "csv":
        return read_csv(con, path, encoding=encoding)
    if fmt == "parquet":
        return read_parquet(con, path)
    if fmt == "jsonl":
        return read_jsonl(con, path)
    if fmt == "xlsx":
        return read_xlsx(con, path, sheet=sheet)
    raise UnreadableFileError(
        f"unsupported file type {path.suffix!r}: use .csv, .parquet, .jsonl or .xlsx"
    )
