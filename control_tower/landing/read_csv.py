"""CSV files: encoding, delimiter and header detected, read into `raw` or streamed as a view."""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from control_tower.landing.raw import (
    ReadResult,
    UnreadableFileError,
    check_header,
    count_rows,
    detect_encoding,
    duckdb_error,
    last_line,
    preview,
    quote_ident,
    rowid_base,
    sniff_bytes,
    sql_literal,
)

CSV_SAMPLE_SIZE = 20480  # rows DuckDB's CSV sniffer reads


def _decode_first_line(head: bytes, encoding: str) -> str:
    text = head.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def _first_record(head: bytes, plan: _CsvPlan) -> list[str]:
    """The first data record in a file's first bytes as Python's csv splits it: a sample only."""
    if plan.compressed:
        return []
    codec = {"utf-16": "utf-16", "windows-1252": "cp1252"}.get(plan.encoding, plan.encoding)
    rows = csv.reader(
        io.StringIO(head.decode(codec, errors="replace").lstrip("\ufeff")), delimiter=plan.delimiter
    )
    try:
        next(rows, None)
        return next(rows, [])
    except csv.Error:
        return []


DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: the candidate that splits it most."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


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
    encoding = "utf-8" if compressed else detect_encoding(head, size > len(head))
    params: dict[str, object] = {"enc": encoding, "path": str(path)}
    if compressed:
        try:
            sniff = con.execute(
                "SELECT Delimiter, Columns FROM sniff_csv($path, encoding := $enc, header := true)",
                params,
            ).fetchone()
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot be read as CSV: {duckdb_error(exc)}") from None
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
    names = check_header(header)
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
    head, size = sniff_bytes(path, "csv")
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
        raise UnreadableFileError(f"cannot be read as CSV: {duckdb_error(exc)}") from None
    finally:
        plan.discard_copy(path)
    original = [d[0] for d in con.execute("SELECT * FROM raw LIMIT 0").description]
    if len(original) != len(names):
        names = check_header(original)
        header = original
    # Rename DuckDB's column names (it de-duplicates and may alter them) to the normalised header.
    for old, new in zip(original, names, strict=True):
        if old != new and new:
            con.execute(
                f'ALTER TABLE raw RENAME COLUMN "{quote_ident(old)}" TO "{quote_ident(new)}"'
            )
    con.execute(
        "CREATE TEMP TABLE raw_rejects AS SELECT DISTINCT ON (line) line AS source_line, "
        "NULL::VARCHAR AS column_name, CAST(error_type AS VARCHAR) AS error_type, "
        "trim(csv_line, chr(10) || chr(13)) AS record, error_message FROM reject_errors "
        "ORDER BY line, column_idx"
    )
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    rows = count_rows(con, "raw")
    rejects = count_rows(con, "raw_rejects")
    if rejects and not compressed:
        _reject_if_truncated(con, path, encoding)
    base = rowid_base(con)
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


# read_csv options keeping what DuckDB cannot split or cast in its rejects tables.
_KEEP_REJECTS = (
    ", store_rejects := true, rejects_table := 'reject_errors', rejects_scan := 'reject_scans'"
)


@dataclass
class CsvStream:
    """A CSV file as the temp view `raw_stream`: what it read, typed, and how it split the file."""

    read: ReadResult  # `rows` stays 0: the caller counts what a scan of the view accepted
    typed: frozenset[str]  # columns the reader casts itself (normalised names)
    sample: dict[str, str]  # the first record as delivered, by column: a hint, not checked
    dialect: dict[str, str | int]  # read_csv options that split records as the stream does
    scan_names: list[str]  # the names DuckDB gave the file's columns, in file order


def _options(options: Mapping[str, str | int]) -> str:
    """read_csv named arguments."""
    return ", ".join(
        f"{k} := {v if isinstance(v, int) else sql_literal(v)}" for k, v in options.items()
    )


def _dialect(
    con: duckdb.DuckDBPyConnection, plan: _CsvPlan
) -> tuple[dict[str, str | int], list[str]]:
    """read_csv options fixing how the file splits into records, as `read_csv` detects them.

    The sniffer runs with the options `read_csv` reads `raw` with, so a stream
    that passes these splits (and reads as text) every record exactly as
    `raw` holds it, whatever types it casts on top; and the records it
    rejects can be read again, alone, with the same options.
    """
    sniff = con.execute(
        "SELECT Quote, Escape, Comment, NewLineDelimiter, SkipRows, Columns FROM sniff_csv("
        "$path, all_varchar := true, header := true, delim := $delim, encoding := $enc, "
        f"store_rejects := true, sample_size := {CSV_SAMPLE_SIZE})",
        {"path": str(plan.source), "delim": plan.delimiter, "enc": plan.scan_encoding},
    ).fetchone()
    assert sniff is not None
    quote, escape, comment = ("" if v == "(empty)" else str(v) for v in sniff[:3])
    dialect: dict[str, str | int] = {
        "delim": plan.delimiter,
        "quote": quote,
        "escape": escape,
        "comment": comment,
        "new_line": str(sniff[3]),  # escaped as sniff_csv reports it
        "skip": int(sniff[4]),
    }
    return dialect, [c["name"] for c in sniff[5]]


@contextmanager
def csv_stream(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    types: Mapping[str, str] | None = None,
    *,
    keep_rejects: bool = True,
) -> Iterator[CsvStream]:
    """A temp view `raw_stream` reading a CSV file as `read_csv` would, without a `raw` table.

    Same detection, dialect, Windows-1252 copy and column names as
    `read_csv`; the view has no rowid, so no line numbers. Columns named in
    `types` (normalised name -> DuckDB type) are cast by DuckDB's CSV reader
    (dates in YYYY-MM-DD), every other column is text. DuckDB records what
    it cannot split or cast in `reject_errors` during each scan, with the
    line and the record as delivered; without `keep_rejects` a scan stops
    with an error there instead. The view, the reject tables and any copy of
    the file are dropped on exit.
    """
    head, size = sniff_bytes(path, "csv")
    con.execute(f"DROP VIEW IF EXISTS {STREAM_VIEW}")
    _drop_rejects(con)
    plan = _plan_csv(con, path, head, size)
    try:
        dialect, original = _dialect(con, plan)
        names, header = plan.names, plan.header
        if len(original) != len(names):
            names = check_header(original)
            header = original
        types = types or {}
        columns = ", ".join(
            f"{sql_literal(old)}: {sql_literal(types.get(new, 'VARCHAR'))}"
            for old, new in zip(original, names, strict=True)
        )
        scan = (
            # Every option is given; the sniffer still samples the file (a small sample: it
            # runs at each bind) for DuckDB's estimate of its rows. Without it (auto_detect off)
            # DuckDB plans for a few dozen rows and builds the reference joins' hash tables on
            # the whole file.
            f"read_csv({sql_literal(str(plan.source))}, header := true, sample_size := 2048, "
            f"{_options(dialect)}, encoding := {sql_literal(plan.scan_encoding)}, "
            f"columns := {{{columns}}}, "
            f"dateformat := '%Y-%m-%d'{_KEEP_REJECTS if keep_rejects else ''})"
        )
        select = ", ".join(
            f'"{quote_ident(old)}" AS "{quote_ident(new or old)}"'
            for old, new in zip(original, names, strict=True)
        )
        con.execute(f"CREATE TEMP VIEW {STREAM_VIEW} AS SELECT {select} FROM {scan}")
        read = ReadResult(
            file_format="csv",
            columns=names,
            original_columns=list(header),
            rows=0,
            encoding=plan.encoding,
            delimiter=plan.delimiter,
            line_expr="NULL",
        )
        sample = dict(zip(names, _first_record(head, plan), strict=False))
        yield CsvStream(read, frozenset(n for n in names if n in types), sample, dialect, original)
    finally:
        con.execute(f"DROP VIEW IF EXISTS {STREAM_VIEW}")
        _drop_rejects(con)
        plan.discard_copy(path)


REJECTED_LINES = "_rejected_lines"


def read_rejected_records(con: duckdb.DuckDBPyConnection, stream: CsvStream) -> ReadResult | None:
    """Read the records a typed scan of `stream` rejected for a cast into `raw`, as text.

    `raw` then holds exactly what `read_csv` would have read for those
    records, in line order, and the result's `line_expr` gives each its
    line in the file (from `reject_errors`, header = line 1; like `raw`'s
    numbers it counts a value spanning lines once, but unlike them it
    counts blank lines, so it is the line an editor shows). None, with
    nothing created, when a rejected record cannot be read back this way
    and only a full `read_csv` of the file gives its exact answer: a record
    DuckDB could not split (wrong field count, quoting, bytes that are not
    text in the file's encoding) or one that does not split alone as it did
    in the file.
    """
    refused = con.execute(
        "SELECT count(*) FILTER (WHERE error_type <> 'CAST') FROM reject_errors"
    ).fetchone()
    if refused is None or refused[0]:
        return None
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJECTED_LINES} AS SELECT row_number() OVER "
        "(ORDER BY line) - 1 AS idx, line, rtrim(csv_line, chr(10) || chr(13)) AS record "
        "FROM (SELECT line, any_value(csv_line) AS csv_line FROM reject_errors GROUP BY line)"
    )
    records = [
        r[0] for r in con.execute(f"SELECT record FROM {REJECTED_LINES} ORDER BY idx").fetchall()
    ]
    fd, tmp = tempfile.mkstemp(prefix="control-tower-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write("\n".join(records) + "\n")
        _drop_rejects(con)
        columns = ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in stream.scan_names)
        select = ", ".join(
            f'"{quote_ident(old)}" AS "{quote_ident(new or old)}"'
            for old, new in zip(stream.scan_names, stream.read.columns, strict=True)
        )
        # One record per line as written here, none to skip.
        dialect = _options({**stream.dialect, "new_line": "\\n", "skip": 0})
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE raw AS SELECT {select} FROM read_csv({sql_literal(tmp)}, "
            f"auto_detect := false, header := false, {dialect}, encoding := 'utf-8', "
            f"columns := {{{columns}}}{_KEEP_REJECTS})"
        )
    finally:
        Path(tmp).unlink(missing_ok=True)
    split = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]  # type: ignore[index]
    if split or count_rows(con, "raw") != len(records):
        con.execute(f"DROP TABLE raw; DROP TABLE {REJECTED_LINES}")
        return None
    base = rowid_base(con)
    read = stream.read
    return ReadResult(
        file_format="csv",
        columns=read.columns,
        original_columns=read.original_columns,
        rows=len(records),
        encoding=read.encoding,
        delimiter=read.delimiter,
        line_expr=f"(SELECT l.line FROM {REJECTED_LINES} l WHERE l.idx = r.rowid - {base})",
    )


def _drop_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")


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


def _reject_if_truncated(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> None:
    """A last row cut short with no line break after it: the export did not finish."""
    last = con.execute(
        "SELECT source_line, error_type, record FROM raw_rejects ORDER BY source_line DESC LIMIT 1"
    ).fetchone()
    if last is None or last[1] not in ("MISSING COLUMNS", "UNQUOTED VALUE", "INVALID STATE"):
        return
    line, terminated = last_line(path, encoding)
    record = (last[2] or "").strip()
    if terminated or not line.strip() or not record.endswith(line.strip()):
        return
    raise UnreadableFileError(
        f"the file is truncated: its last row (line {last[0]}) stops mid-row, with fewer "
        "fields than the header and no line break after it, so the export did not finish; "
        "deliver the complete file again",
        detail=f"the last row: {preview(record)}",
    )
