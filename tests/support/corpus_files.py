"""The bad-input corpus, part 1 (the cases; tests/landing/test_corpus_*.py land them): whole-file defects and unusual but valid file shapes.

Every case lands one file on top of the clean baseline (every contract table) and
checks, through `land_case`, that:
- a rejected file has status `rejected`, a specific reason (in ops.batches and
  in a `.reason.txt` next to the file, moved to the quarantine folder), and
  that no landed table changed at all (checksum of every table);
- a loaded file lands exactly its good rows, quarantines exactly the listed
  rows, and leaves every baseline row unchanged.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import polars as pl

from tests.support.baseline import BASELINE, TS
from tests.support.corpus import Case, Loaded, Rejected, names_are
from tests.support.extracts import csv_bytes, csv_text, fetch, rows_of

CUSTOMER_HEADER = BASELINE["customers"][0]


def customers(*rows: list[str], header: list[str] | None = None, **fmt: str) -> bytes:
    """A customers extract: baseline header (or `header`) and `rows`."""
    return csv_bytes(rows_of("customers", *rows, header=header), **fmt)


def new_customer(customer_id: str, name: str = "Initech", tier: str = "2") -> list[str]:
    return [customer_id, name, "Retail", tier, "EU", TS]


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


CUSTOMERS_PARQUET = parquet_bytes(
    pl.DataFrame(
        {name: [value] for name, value in zip(CUSTOMER_HEADER, new_customer("C9"), strict=True)}
    )
)


def xlsx_bytes() -> bytes:
    """The smallest thing that looks like an Excel workbook: a ZIP with xl/workbook.xml."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def batch_column_is(column: str, value: str):
    """A check: the newest batch recorded `column` = `value` (encoding, delimiter...)."""

    def check(home: Path) -> None:
        got = fetch(home, f"SELECT {column} FROM ops.batches ORDER BY batch_id DESC LIMIT 1")
        assert got[0][0] == value

    return check


def both(*checks):
    def check(home: Path) -> None:
        for c in checks:
            c(home)

    return check


TWO_GOOD = (new_customer("C8", "Smith, John"), new_customer("C9", "Initech"))
TWO_GOOD_NAMES = names_are({"C8": "Smith, John", "C9": "Initech"})

LOADS_WHOLE = [
    Case(
        "latin-1 encoding with accents",
        "erp/customers_latin1.csv",
        customers(
            new_customer("C8", "Café Müller"), new_customer("C9", "Señor Niño"), encoding="latin-1"
        ),
        Loaded(
            2,
            check=both(
                names_are({"C8": "Café Müller", "C9": "Señor Niño"}),
                batch_column_is("encoding", "latin-1"),
            ),
        ),
    ),
    Case(
        "windows-1252 euro sign and curly quotes (bytes 0x80-0x9F)",
        "erp/customers_cp1252.csv",
        customers(new_customer("C8", "Caf\u00e9 \u201cLe \u20ac\u201d"), encoding="cp1252"),
        Loaded(
            1,
            check=both(
                names_are({"C8": "Caf\u00e9 \u201cLe \u20ac\u201d"}),
                batch_column_is("encoding", "windows-1252"),
            ),
        ),
    ),
    Case(
        "UTF-8 with BOM",
        "erp/customers_bom.csv",
        b"\xef\xbb\xbf" + customers(new_customer("C9", "Zoë")),
        Loaded(1, check=names_are({"C9": "Zoë"})),
    ),
    Case(
        "UTF-16 with BOM",
        "erp/customers_utf16.csv",
        csv_text(rows_of("customers", new_customer("C9", "Zoë"))).encode("utf-16"),
        Loaded(1, check=names_are({"C9": "Zoë"})),
    ),
    *(
        Case(
            f"{label} delimiter",
            f"erp/customers_{label}.{ext}",
            customers(*TWO_GOOD, delimiter=delimiter),
            Loaded(2, check=both(TWO_GOOD_NAMES, batch_column_is("delimiter", delimiter))),
        )
        for label, ext, delimiter in (
            ("semicolon", "csv", ";"),
            ("tab", "tsv", "\t"),
            ("pipe", "txt", "|"),
        )
    ),
    Case(
        "CRLF line endings",
        "erp/customers_crlf.csv",
        customers(*TWO_GOOD, newline="\r\n"),
        Loaded(2, check=TWO_GOOD_NAMES),
    ),
    Case(
        "CR-only line endings (classic Mac)",
        "erp/customers_cr.csv",
        customers(*TWO_GOOD, newline="\r"),
        Loaded(2, check=TWO_GOOD_NAMES),
    ),
    Case(
        "header names in other case and padded with spaces",
        "erp/customers_header_case.csv",
        customers(new_customer("C9"), header=[f" {h.upper()} " for h in CUSTOMER_HEADER]),
        Loaded(1, check=names_are({"C9": "Initech"})),
    ),
    Case(
        "unknown extra column",
        "erp/customers_extra.csv",
        customers([*new_customer("C9"), "555-0100"], header=[*CUSTOMER_HEADER, "Fax"]),
        Loaded(
            1,
            warning="ignored 1 column(s) that are not in the customers contract "
            f"(header position(s) {len(CUSTOMER_HEADER) + 1})",
        ),
    ),
    Case(
        "header only, no data rows",
        "erp/customers_header_only.csv",
        customers(),
        Loaded(0, warning="the file has a header but no data rows"),
    ),
    Case(
        "gzip-compressed CSV named .csv.gz",
        "erp/customers_gz.csv.gz",
        gzip.compress(customers(new_customer("C9"))),
        Loaded(1, check=names_are({"C9": "Initech"})),
    ),
]

REJECTED = [
    Case(
        "empty file (0 bytes)",
        "erp/customers_empty.csv",
        b"",
        Rejected("the file is empty (0 bytes)"),
    ),
    Case(
        "truncated CSV: last row cut mid-way",
        "erp/customers_truncated.csv",
        customers(new_customer("C9")) + b"C8,Initech,Ret",
        Rejected("the file is truncated: its last row (line 3) stops mid-row"),
    ),
    Case(
        "truncated CSV: cut inside a quoted value",
        "erp/customers_truncated_quote.csv",
        customers(new_customer("C9")) + b'C8,"Smith, Jo',
        Rejected("the file is truncated: its last row (line 3"),
    ),
    Case(
        "binary data with NUL bytes",
        "erp/customers_binary.csv",
        bytes(range(256)) * 8,
        Rejected("the file contains binary data (NUL bytes)"),
    ),
    Case(
        "binary data without NUL bytes",
        "erp/customers_binary2.csv",
        bytes(range(1, 256)) * 8,
        Rejected("the file contains binary data (216 control bytes in its first 2,040 bytes)"),
    ),
    Case(
        "Parquet file named .csv",
        "erp/customers_parquet.csv",
        CUSTOMERS_PARQUET,
        Rejected("the file is Parquet but its name says csv: rename it to .parquet"),
    ),
    Case(
        "Excel workbook (ZIP) named .csv",
        "erp/customers_excel.csv",
        xlsx_bytes(),
        Rejected("the file is a ZIP archive or an Excel workbook, not text"),
    ),
    Case(
        "gzip data named .csv",
        "erp/customers_gzip.csv",
        gzip.compress(customers(new_customer("C9"))),
        Rejected("the file is gzip-compressed: name it .csv.gz"),
    ),
    Case(
        "truncated Parquet file",
        "erp/customers_truncated.parquet",
        CUSTOMERS_PARQUET[: len(CUSTOMERS_PARQUET) // 2],
        Rejected("not a readable Parquet file"),
    ),
    Case(
        "missing required column",
        "erp/customers_no_tier.csv",
        csv_bytes(
            [[h for h in CUSTOMER_HEADER if h != "priority_tier"], ["C9", "I", "R", "EU", TS]]
        ),
        Rejected(
            "missing required column(s) priority_tier for table customers "
            "(the header has 5 column(s): contract columns customer_id, name, segment, region, "
            "updated_at)"
        ),
    ),
    Case(
        "Parquet file missing a required column",
        "erp/customers_no_tier.parquet",
        parquet_bytes(pl.DataFrame({"customer_id": ["C9"], "name": ["I"]})),
        Rejected("missing required column(s) segment, priority_tier, region, updated_at"),
    ),
    Case(
        "no header row (first line is data)",
        "erp/customers_no_header.csv",
        csv_bytes([new_customer("C9"), new_customer("C8")]),
        Rejected("missing required column(s) customer_id, name"),
    ),
    Case(
        "duplicate header column",
        "erp/customers_dup_header.csv",
        customers([*new_customer("C9"), "Other"], header=[*CUSTOMER_HEADER, "Name"]),
        Rejected(
            f"header columns 2 and {len(CUSTOMER_HEADER) + 1} have the same name (compared "
            "trimmed and in any case)"
        ),
    ),
    Case(
        "JSON Lines file with no JSON object at all",
        "erp/customers_not_json.jsonl",
        b"customer_id,name\nC9,Initech\n",
        Rejected("no line of the file is a JSON object"),
    ),
    Case(
        "truncated JSON Lines file",
        "erp/customers_truncated.jsonl",
        b'{"customer_id": "C9", "name": "I", "segment": "R", "priority_tier": 1, "region": "EU", '
        b'"updated_at": "2026-03-01T00:00:00Z"}\n{"customer_id": "C8", "na',
        Rejected("the file is truncated: its last line (line 2"),
    ),
    Case(
        "file in the wrong system folder",
        "wms/customers_wrong_folder.csv",
        customers(new_customer("C9")),
        Rejected("customers is an ERP table but the file is in wms/: move it to erp/"),
    ),
    Case(
        "file name matching no table",
        "erp/clients_2026-03-10.csv",
        customers(new_customer("C9")),
        Rejected("the file name does not start with an ERP table name"),
    ),
    Case(
        "workbook missing its parts",
        "erp/customers_2026-03-10.xlsx",
        xlsx_bytes(),
        Rejected("not a readable Excel workbook (.xlsx)"),
    ),
    Case(
        "unsupported extension",
        "erp/customers_2026-03-10.xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy excel",
        Rejected("unsupported file type '.xls'"),
    ),
    Case(
        "file outside any system folder",
        "customers.csv",
        customers(new_customer("C9")),
        Rejected("the file is not inside a system folder (erp/, wms/ or tms/)"),
    ),
]
