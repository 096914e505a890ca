"""The shape every reader produces: the temp table `raw` of text columns, and its helpers."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SAMPLE_BYTES = 1 << 20


LINE_COLUMN = "__source_line"


# A list of {column, value, reason, affects} a source found wrong in a row before the contract
# (a mapping's value that does not parse); `affects` names the contract columns it fed.
PROBLEMS_COLUMN = "__source_problems"


class UnreadableFileError(Exception):
    """The file cannot be read as its format at all; nothing of it may load.

    The message says what is wrong in terms of columns and positions, never
    with the file's content: it is stored in `ops.batches.error`, which
    reaches every role through the data-problem exceptions. `detail` may
    quote the delivered text; it goes only to the `.reason.txt` beside the
    file set aside, which only the operators of the data folder read.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


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
    # SQL giving a row as delivered (JSON text) over `r`, for quarantine; default: its columns
    record_sql: str | None = None
    source_problems: bool = False  # `raw` has a PROBLEMS_COLUMN


def sniff_bytes(path: Path, fmt: str) -> tuple[bytes, int]:
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


def detect_encoding(head: bytes, truncated: bool) -> str:
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


def normalise_name(name: str) -> str:
    """Header names match the contract case-insensitively after trimming."""
    return name.strip().strip("\ufeff").strip().lower()


def check_header(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = normalise_name(name)
        if key and key in seen:
            raise UnreadableFileError(
                f"header columns {seen[key]} and {position} have the same name (compared "
                "trimmed and in any case); each column must be named once",
                detail=f"the repeated name: {name!r}",
            )
        seen[key] = position
    return [normalise_name(n) for n in names]


def duckdb_error(exc: duckdb.Error) -> str:
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


def last_line(path: Path, encoding: str) -> tuple[str, bool]:
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


def preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def empty_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TEMP TABLE raw_rejects (source_line BIGINT, column_name VARCHAR, "
        "error_type VARCHAR, record VARCHAR, error_message VARCHAR)"
    )


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def rowid_base(con: duckdb.DuckDBPyConnection) -> int:
    """Temp tables number rows from an offset; rows are contiguous in file order from it."""
    base = con.execute("SELECT min(rowid) FROM raw").fetchone()[0]  # type: ignore[index]
    return int(base or 0)


def quote_ident(identifier: str) -> str:
    return identifier.replace('"', '""')


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_key(key: str) -> str:
    return key.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''")
