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

import codecs
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

SAMPLE_BYTES = 1 << 20
CSV_SAMPLE_SIZE = 20480  # rows DuckDB's CSV sniffer reads
LINE_COLUMN = "__source_line"


class UnreadableFileError(Exception):
    """The file cannot be read as its format at all; nothing of it may load."""


@dataclass
class ReadResult:
    """What a reader found: columns as delivered, row count and how it read the file."""

    file_format: str
    columns: list[str]  # normalised names (trimmed, lower-case), in file order
    original_columns: list[str]
    rows: int
    encoding: str | None = None
    delimiter: str | None = None
    # SQL giving a row's line in the source file, over the raw table aliased `r`
    line_expr: str = "r.rowid + 1"
    structural_rejects: int = 0
    warnings: list[str] = field(default_factory=list)


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


def _sniff_bytes(path: Path, fmt: str) -> tuple[bytes, int]:
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFileError("the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if fmt != "parquet" and head.startswith(b"PAR1"):
        raise UnreadableFileError(
            f"the file is Parquet but its name says {fmt}: rename it to .parquet"
        )
    if head.startswith(b"PK\x03\x04"):
        raise UnreadableFileError(
            "the file is a ZIP archive or an Excel workbook, not "
            + ("Parquet" if fmt == "parquet" else "text")
            + " (a workbook must be named .xlsx)"
        )
    if head.startswith(b"\x1f\x8b") and not path.name.lower().endswith(".gz"):
        raise UnreadableFileError("the file is gzip-compressed: name it .csv.gz")
    return head, size


# Bytes no text extract contains (tab, LF, VT, FF and CR excluded).
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])


def _detect_encoding(head: bytes, truncated: bool) -> str:
    """utf-8 (with or without BOM), utf-16 (with BOM) or latin-1; rejects binary data.

    A sample that is UTF-8 except for a few bad byte sequences is an UTF-8 file
    with a few bad lines (those lines are quarantined); only a sample with no
    valid multi-byte UTF-8 character at all is taken for latin-1.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise UnreadableFileError(
            "the file contains binary data (NUL bytes): it is not a text extract"
        )
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > max(8, len(head) // 20):
        raise UnreadableFileError(
            f"the file contains binary data ({controls:,} control bytes in its first "
            f"{len(head):,} bytes): it is not a text extract"
        )
    # A multi-byte character cut at the end of the sample is not an error (final=False).
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=not truncated)
    invalid = text.count("\ufffd")
    if invalid == 0:
        return "utf-8"
    valid_multibyte = len(text) - len(text.encode("ascii", errors="ignore")) - invalid
    return "utf-8" if valid_multibyte > invalid else "latin-1"


def _decode_first_line(head: bytes, encoding: str) -> str:
    text = head.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: the candidate that splits it most."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normalise_name(name: str) -> str:
    """Header names match the contract case-insensitively after trimming."""
    return name.strip().strip("\ufeff").strip().lower()


def _check_header(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        key = normalise_name(name)
        if key and key in seen:
            raise UnreadableFileError(
                f"column {name!r} appears more than once in the header (as {seen[key]!r} and "
                f"{name!r}); each column must be named once"
            )
        seen[key] = name
    return [normalise_name(n) for n in names]


def _duckdb_error(exc: duckdb.Error) -> str:
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


@dataclass
class _CsvPlan:
    """How DuckDB is to read one CSV file: what read_csv and csv_stream share."""

    source: Path  # the file DuckDB scans: the file itself, or a UTF-8 copy (Windows-1252)
    encoding: str  # as reported (utf-8, latin-1, windows-1252, utf-16)
    delimiter: str
    header: list[str]  # the header as delivered
    names: list[str]  # normalised
    compressed: bool

    @property
    def scan_encoding(self) -> str:
        return "utf-8" if self.encoding == "windows-1252" else self.encoding

    def discard_copy(self, path: Path) -> None:
        if self.source != path:
            self.source.unlink(missing_ok=True)


def _plan_csv(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, size: int) -> _CsvPlan:
    """Encoding, delimiter and header of a CSV file (a Windows-1252 file gets a UTF-8 copy)."""
    compressed = path.name.lower().endswith(".gz")
    encoding = "utf-8" if compressed else _detect_encoding(head, size > len(head))
    params: dict[str, object] = {"enc": encoding, "path": str(path)}
    if compressed:
        try:
            sniff = con.execute(
                "SELECT Delimiter, Columns FROM sniff_csv($path, encoding := $enc, header := true)",
                params,
            ).fetchone()
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot be read as CSV: {_duckdb_error(exc)}") from None
        assert sniff is not None
        delimiter = sniff[0]
        header = [c["name"] for c in sniff[1]]
    else:
        first_line = _decode_first_line(head, encoding)
        if not first_line.strip():
            raise UnreadableFileError(
                "the first line is empty: a CSV extract starts with its header"
            )
        delimiter = detect_delimiter(first_line)
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter))
    names = _check_header(header)
    source = path
    if encoding == "latin-1" and _has_c1_bytes(path):
        # DuckDB's latin-1 refuses bytes 0x80-0x9F, which Windows-1252 exports use for
        # characters such as the euro sign and curly quotes: read a UTF-8 copy instead.
        encoding = "windows-1252"
        source = _transcode_windows_1252(path)
    return _CsvPlan(source, encoding, delimiter, header, names, compressed)


def read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None = None
) -> ReadResult:
    """Read a CSV (delimiter, quoting, line endings and encoding detected) into `raw`.

    `encoding` (any Python codec name) overrides detection: a file in an
    encoding DuckDB does not read natively is read through a UTF-8 copy.
    """
    head, size = _sniff_bytes(path, "csv")
    compressed = path.name.lower().endswith(".gz")
    if encoding is not None and not compressed:
        return _read_csv_as(con, path, encoding, head)
    con.execute("DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS raw_rejects")
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    plan = _plan_csv(con, path, head, size)
    encoding, delimiter, header, names = plan.encoding, plan.delimiter, plan.header, plan.names
    try:
        _create_raw_csv(con, plan.source, plan.scan_encoding, delimiter)
    except duckdb.Error as exc:
        raise UnreadableFileError(f"cannot be read as CSV: {_duckdb_error(exc)}") from None
    finally:
        plan.discard_copy(path)
    original = [d[0] for d in con.execute("SELECT * FROM raw LIMIT 0").description]
    if len(original) != len(names):
        names = _check_header(original)
        header = original
    # Rename DuckDB's column names (it de-duplicates and may alter them) to the normalised header.
    for old, new in zip(original, names, strict=True):
        if old != new and new:
            con.execute(f'ALTER TABLE raw RENAME COLUMN "{_q(old)}" TO "{_q(new)}"')
    con.execute(
        "CREATE TEMP TABLE raw_rejects AS SELECT DISTINCT ON (line) line AS source_line, "
        "NULL::VARCHAR AS column_name, CAST(error_type AS VARCHAR) AS error_type, "
        "trim(csv_line, chr(10) || chr(13)) AS record, error_message FROM reject_errors "
        "ORDER BY line, column_idx"
    )
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    rows = _count(con, "raw")
    rejects = _count(con, "raw_rejects")
    if rejects and not compressed:
        _reject_if_truncated(con, path, encoding)
    base = _rowid_base(con)
    line_expr = f"r.rowid - {base} + 2"
    if rejects:
        # DuckDB numbers rejected records (header = line 1); shift accepted rows past them.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _reject_positions AS SELECT source_line - 2 "
            "- (row_number() OVER (ORDER BY source_line) - 1) AS accepted_before FROM raw_rejects"
        )
        line_expr = (
            f"r.rowid - {base} + 2 + (SELECT count(*) FROM _reject_positions p "
            f"WHERE p.accepted_before <= r.rowid - {base})"
        )
    return ReadResult(
        file_format="csv",
        columns=names,
        original_columns=list(header),
        rows=rows,
        encoding=encoding,
        delimiter=delimiter,
        line_expr=line_expr,
        structural_rejects=rejects,
    )


STREAM_VIEW = "raw_stream"


@contextmanager
def csv_stream(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[ReadResult]:
    """A temp view `raw_stream` reading a CSV file as `read_csv` would, without a `raw` table.

    Same detection, options, Windows-1252 copy and column names as
    `read_csv`; the view has no rowid, so no line numbers. Its `rows` and
    `structural_rejects` are 0 until the view is scanned: DuckDB records the
    records it cannot split in `reject_errors` during each scan. The view,
    the reject tables and any copy of the file are dropped on exit.
    """
    head, size = _sniff_bytes(path, "csv")
    con.execute(f"DROP VIEW IF EXISTS {STREAM_VIEW}")
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    plan = _plan_csv(con, path, head, size)
    try:
        scan = (
            f"read_csv({_lit(str(plan.source))}, all_varchar := true, header := true, "
            f"delim := {_lit(plan.delimiter)}, encoding := {_lit(plan.scan_encoding)}, "
            "store_rejects := true, rejects_table := 'reject_errors', "
            f"rejects_scan := 'reject_scans', sample_size := {CSV_SAMPLE_SIZE})"
        )
        original = [d[0] for d in con.execute(f"SELECT * FROM {scan} LIMIT 0").description]
        names, header = plan.names, plan.header
        if len(original) != len(names):
            names = _check_header(original)
            header = original
        select = ", ".join(
            f'"{_q(old)}" AS "{_q(new or old)}"' for old, new in zip(original, names, strict=True)
        )
        con.execute(f"CREATE TEMP VIEW {STREAM_VIEW} AS SELECT {select} FROM {scan}")
        yield ReadResult(
            file_format="csv",
            columns=names,
            original_columns=list(header),
            rows=0,
            encoding=plan.encoding,
            delimiter=plan.delimiter,
            line_expr="NULL",
        )
    finally:
        con.execute(f"DROP VIEW IF EXISTS {STREAM_VIEW}")
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        plan.discard_copy(path)


def _read_csv_as(
    con: duckdb.DuckDBPyConnection, path: Path, encoding: str, head: bytes
) -> ReadResult:
    """Read a CSV in a declared encoding: through a UTF-8 copy unless it is UTF-8 already."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise UnreadableFileError(f"unknown encoding {encoding!r}") from None
    if codec == "utf-8":
        return read_csv(con, path)
    try:
        head.decode(codec)
    except UnicodeDecodeError as exc:
        if exc.end < len(head) - 8:  # not a character cut at the end of the sample
            raise UnreadableFileError(
                f"the file is not valid {encoding} (byte {exc.start}: {exc.reason})"
            ) from None
    fd, tmp = tempfile.mkstemp(prefix="control-tower-", suffix=".csv")
    try:
        with (
            open(path, encoding=codec, errors="strict", newline="") as src,
            os.fdopen(fd, "w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1 << 22):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UnreadableFileError(
            f"the file is not valid {encoding}: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        result = read_csv(con, Path(tmp))
    finally:
        Path(tmp).unlink(missing_ok=True)
    result.encoding = encoding
    return result


def _create_raw_csv(
    con: duckdb.DuckDBPyConnection, path: Path, encoding: str, delimiter: str
) -> None:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    con.execute(
        "CREATE TEMP TABLE raw AS SELECT * FROM read_csv($path, all_varchar := true, "
        "header := true, delim := $delim, encoding := $enc, store_rejects := true, "
        "rejects_table := 'reject_errors', rejects_scan := 'reject_scans', "
        f"sample_size := {CSV_SAMPLE_SIZE})",
        {"path": str(path), "delim": delimiter, "enc": encoding},
    )


def _latin1_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    """The 5 bytes Windows-1252 leaves undefined read as latin-1 (C1 controls)."""
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("control_tower_latin1", _latin1_fallback)


_C1_BYTES = bytes(range(0x80, 0xA0))


def _has_c1_bytes(path: Path) -> bool:
    """Whether a single-byte text file uses 0x80-0x9F (Windows-1252 rather than latin-1)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            if len(chunk.translate(None, _C1_BYTES)) != len(chunk):
                return True
    return False


def _transcode_windows_1252(path: Path) -> Path:
    """A temporary UTF-8 copy of a Windows-1252 text file (the caller deletes it)."""
    fd, tmp = tempfile.mkstemp(prefix="control-tower-", suffix=".csv")
    with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        while chunk := src.read(8 << 20):  # a single-byte encoding: any chunk boundary is safe
            dst.write(chunk.decode("cp1252", errors="control_tower_latin1").encode("utf-8"))
    return Path(tmp)


def _last_line(path: Path, encoding: str) -> tuple[str, bool]:
    """The file's last line and whether the file ends with a line break."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if tail.endswith((b"\n", b"\r", b"\n\x00", b"\r\x00")):
        return "", True
    codec = (
        "utf-16" if encoding == "utf-16" else "cp1252" if encoding == "windows-1252" else encoding
    )
    text = tail.decode(codec, errors="replace") if codec != "utf-16" else ""
    return re.split(r"\r\n|\r|\n", text)[-1], False


def _reject_if_truncated(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> None:
    """A last row cut short with no line break after it: the export did not finish."""
    last = con.execute(
        "SELECT source_line, error_type, record FROM raw_rejects ORDER BY source_line DESC LIMIT 1"
    ).fetchone()
    if last is None or last[1] not in ("MISSING COLUMNS", "UNQUOTED VALUE", "INVALID STATE"):
        return
    line, terminated = _last_line(path, encoding)
    record = (last[2] or "").strip()
    if terminated or not line.strip() or not record.endswith(line.strip()):
        return
    raise UnreadableFileError(
        f"the file is truncated: its last row (line {last[0]}, {_preview(record)}) stops "
        "mid-row, with fewer fields than the header and no line break after it, so the "
        "export did not finish; deliver the complete file again"
    )


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> ReadResult:
    """Read a Parquet file into `raw`, every value cast to text."""
    _sniff_bytes(path, "parquet")
    con.execute("DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS raw_rejects")
    try:
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise UnreadableFileError(f"not a readable Parquet file: {_duckdb_error(exc)}") from None
    original = [d[0] for d in desc]
    names = _check_header(original)
    cols = ", ".join(
        f'CAST("{_q(o)}" AS VARCHAR) AS "{_q(n)}"' for o, n in zip(original, names, strict=True)
    )
    try:
        con.execute(f"CREATE TEMP TABLE raw AS SELECT {cols} FROM read_parquet(?)", [str(path)])
    except duckdb.Error as exc:
        raise UnreadableFileError(f"not a readable Parquet file: {_duckdb_error(exc)}") from None
    _empty_rejects(con)
    return ReadResult(
        "parquet",
        names,
        original,
        _count(con, "raw"),
        line_expr=f"r.rowid - {_rowid_base(con)} + 1",
    )


def read_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> ReadResult:
    """Read JSON Lines into `raw`; lines that are not JSON objects go to `raw_rejects`."""
    head, size = _sniff_bytes(path, "jsonl")
    encoding = _detect_encoding(head, size > len(head))
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
        raise UnreadableFileError(f"cannot be read as JSON Lines: {_duckdb_error(exc)}") from None
    # Lines DuckDB could not decode (invalid UTF-8) are rejects; every other line is kept, in
    # file order, so a line's number is its position plus the rejected lines before it.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _jl_bad AS SELECT DISTINCT ON (line) line AS source_line, "
        "CAST(error_type AS VARCHAR) AS error_type, trim(csv_line, chr(10) || chr(13)) AS record "
        "FROM _jl_errors ORDER BY line"
    )
    con.execute("DROP TABLE IF EXISTS _jl_errors; DROP TABLE IF EXISTS _jl_scans")
    position = "l.rowid - (SELECT min(rowid) FROM _lines)"
    if _count(con, "_jl_bad"):
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
    if last is not None and last[1] and last[2] is None and not _last_line(path, encoding)[1]:
        raise UnreadableFileError(
            f"the file is truncated: its last line (line {last[0]}, {_preview(last[1])}) is "
            "cut off mid-record, with no line break after it, so the export did not finish; "
            "deliver the complete file again"
        )
    total = _count(con, "_lines")
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
        parts = ", ".join(f"json_extract_string(line, '$.\"{_jq(k)}\"')" for k in originals)
        expr = parts if len(originals) == 1 else f"coalesce({parts})"
        selects.append(f"CASE WHEN kind = 'OBJECT' THEN {expr} END AS \"{_q(name)}\"")
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
        _count(con, "raw"),
        encoding=encoding,
        line_expr=f"r.{LINE_COLUMN}",
        structural_rejects=_count(con, "raw_rejects"),
    )


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
                f"the workbook has no sheet {sheet!r} (sheets: {', '.join(book.sheet_names)})"
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
    names = _check_header(header)
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
    con.register("_xlsx_rows", arrow)
    try:
        con.execute(f"CREATE TEMP TABLE raw AS SELECT * FROM _xlsx_rows ORDER BY {LINE_COLUMN}")
    finally:
        con.unregister("_xlsx_rows")
    _empty_rejects(con)
    return ReadResult(
        "xlsx",
        names,
        header,
        _count(con, "raw"),
        line_expr=f"r.{LINE_COLUMN}",
    )


def _empty_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TEMP TABLE raw_rejects (source_line BIGINT, column_name VARCHAR, "
        "error_type VARCHAR, record VARCHAR, error_message VARCHAR)"
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def _rowid_base(con: duckdb.DuckDBPyConnection) -> int:
    """Temp tables number rows from an offset; rows are contiguous in file order from it."""
    base = con.execute("SELECT min(rowid) FROM raw").fetchone()[0]  # type: ignore[index]
    return int(base or 0)


def _q(identifier: str) -> str:
    return identifier.replace('"', '""')


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _jq(key: str) -> str:
    return key.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''")
