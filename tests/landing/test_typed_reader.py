"""DuckDB's CSV reader casts numbers and dates; every bad value keeps the reason `raw` gives it.

A clean CSV file is read, checked and upserted in one pass. A file whose
reader rejected values it could not cast lands straight from the file too:
the rejected records are read again as text and validated as the `raw` path
would, with their lines from DuckDB's rejects table. Whatever the reader
cannot answer exactly (a record it cannot split, bytes that are not text, a
repeated key) lands through `raw`. Each case lands twice, as the product
does and with the streamed ways off, and both must be the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest

from control_tower.contracts import Column, ColumnType
from control_tower.landing import stream as stream_module
from control_tower.landing import validate as validate_module
from control_tower.landing.column_sql import EARLIEST, LATEST, READER_TYPES, column_sql
from control_tower.landing.read_csv import csv_stream
from tests.support.extracts import baseline_row, csv_bytes, land, rows_of
from tests.support.stream_paths import assert_same, both_ways, order_lines

ORDERS = "erp/sales_order_lines_typed.csv"


def _orders(*bad: list[str], good: int = 6, at: int = 2) -> bytes:
    """Good order lines with the `bad` rows inserted after the first `at` of them."""
    rows = order_lines(good)
    return csv_bytes(rows_of("sales_order_lines", *rows[:at], *bad, *rows[at:]))


def _line(order_id: str, **changes: str) -> list[str]:
    return baseline_row("sales_order_lines", 0, order_id=order_id, **changes)


# Values only the reader's cast refuses: each lands through `raw`'s own checks, streamed.
CAST_REJECTS = {
    "not a number": (
        _orders(_line("X1", ordered_qty="abc")),
        [(4, "ordered_qty", "abc", "'abc' is not a number (ordered_qty)")],
    ),
    "placeholder in a price": (
        _orders(_line("X1", unit_price="N/A")),
        [(4, "unit_price", "N/A", "'N/A' is not a number (unit_price)")],
    ),
    "not a date": (
        _orders(_line("X1", requested_date="03/15/2026")),
        [
            (
                4,
                "requested_date",
                "03/15/2026",
                "'03/15/2026' is not a date in YYYY-MM-DD format (requested_date)",
            )
        ],
    ),
    "impossible date": (
        _orders(_line("X1", promised_date="2026-02-30")),
        [
            (
                4,
                "promised_date",
                "2026-02-30",
                "'2026-02-30' is not a real calendar date (promised_date)",
            )
        ],
    ),
    "two bad columns in one row, one of them a code": (
        _orders(_line("X1", ordered_qty="ten", status="lost")),
        [
            (4, "ordered_qty", "ten", "'ten' is not a number (ordered_qty)"),
            (
                4,
                "status",
                "lost",
                "'lost' is not a known status (expected one of: open, released, shipped, "
                "closed, cancelled, backordered)",
            ),
        ],
    ),
    "a bad value on the first row": (
        _orders(_line("X1", unit_price="x"), at=0),
        [(2, "unit_price", "x", "'x' is not a number (unit_price)")],
    ),
    "a date the reader refuses but the contract takes": (
        _orders(_line("X1", requested_date="2026/03/05"), _line("X2", promised_date=" 2026-3-5 ")),
        [],
    ),
    "a bad number after a value spanning lines": (
        _orders(_line("X0", channel="web\nphone"), _line("X1", ordered_qty="1,5")),
        [(5, "ordered_qty", "1,5", "'1,5' is not a number (ordered_qty)")],
    ),
    "a bad number in a semicolon, CRLF, latin-1 file": (
        csv_bytes(
            rows_of(
                "sales_order_lines",
                *order_lines(2),
                _line("X1", channel="caf\u00e9", ordered_qty="douze"),
            ),
            delimiter=";",
            newline="\r\n",
            encoding="latin-1",
        ),
        [(4, "ordered_qty", "douze", "'douze' is not a number (ordered_qty)")],
    ),
}


@pytest.mark.parametrize("case", list(CAST_REJECTS), ids=list(CAST_REJECTS))
def test_values_the_reader_cannot_cast_land_streamed_with_raw_reasons(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    data, expected = CAST_REJECTS[case]
    product, through_raw = both_ways(home, tmp_path, monkeypatch, {ORDERS: data})
    assert product["streamed"] is True
    assert_same(product, through_raw)
    assert product["quarantine"] == expected


def test_a_value_the_reader_rejects_after_a_blank_line_keeps_its_file_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bad row is on line 5 (line 4 is blank). DuckDB's rejects table counts the blank
    # line; `raw` numbers the rows it holds, so through it the row shows as line 4.
    data = _orders(_line("X1", ordered_qty="1O")).replace(b"\nX1,", b"\n\nX1,")
    product, through_raw = both_ways(home, tmp_path, monkeypatch, {ORDERS: data})
    reason = "'1O' is not a number (ordered_qty)"
    assert product["quarantine"] == [(5, "ordered_qty", "1O", reason)]
    assert through_raw["quarantine"] == [(4, "ordered_qty", "1O", reason)]
    assert (product["batch"], product["tables"]) == (through_raw["batch"], through_raw["tables"])


# Values the reader cannot answer for exactly, or that only SQL checks: they land through `raw`.
THROUGH_RAW = {
    "too many columns": _orders(_line("X1", channel="web,phone")).replace(
        b'"web,phone"', b"web,phone"
    ),
    "too few columns": _orders(_line("X1")[:9]),
    "bad quoting": _orders(_line("X0", channel="web, phone"))
    + b'X9,1,E1,C1,I1,L1,"web"x,2026-03-02 09:00:00,1,EA,4.00,2026-03-05,2026-03-05,open,'
    b"2026-03-02T15:00:00Z\n",
    "bytes that are not UTF-8": _orders(
        _line("X1", channel="caf\u00e9"), _line("X2", channel="caf\u00e8"), _line("X3")
    ).replace(b"EDI,2026", b"EDI\xe9,2026", 1),
    "a bad number on a row whose key repeats": _orders(_line("S0", line_no="1", ordered_qty="abc")),
    "a whole number the reader would take (1e3)": _orders(_line("X1", line_no="1e3")),
    "a date the reader reads as 1970 (epoch)": _orders(_line("X1", requested_date="epoch")),
    "a truncated last row": _orders() + b"X9,1,E1,C1",
}


@pytest.mark.parametrize("case", list(THROUGH_RAW), ids=list(THROUGH_RAW))
def test_what_the_reader_cannot_answer_lands_through_raw(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    product, through_raw = both_ways(home, tmp_path, monkeypatch, {ORDERS: THROUGH_RAW[case]})
    assert product["streamed"] is False
    assert_same(product, through_raw)
    assert product["quarantine"] or product["batch"][0][0] == "rejected"


def test_a_clean_file_is_read_checked_and_upserted_in_one_pass(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = validate_module.build_checked_sql

    def spy(*args: object, **kwargs: object) -> str:
        built.append("checked")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stream_module, "build_checked_sql", spy)
    (b,) = land(home, {ORDERS: _orders()}).ingest.batches
    assert (b.status, b.streamed, b.counts.inserted) == ("loaded", True, 6)
    assert built == []  # no temp table of checked rows: the file went straight into the table


# Values the typed reader must cast as the contract's SQL does (or refuse): a DuckDB upgrade that
# loosens its CSV casts fails here rather than landing values the contract refuses.
NUMBERS = [
    "1", "1.5", " 2 ", "\t3\t", "+4", "-5", "1e3", "1E-2", "0x10", "0b101", "1_000", "1,000",
    "1.", ".5", "-0", "- 1", "1 000", "12345678901234.5678", "123456789012345.5",
    "99999999999999.99995", "1.23455", "-1.23455", "0.00005", "inf", "nan", "Infinity",
    "1e400", "5 EA", "(5)", "5-", "00012", "1.5e", "e5", "1.5.2", "+-1", ".", "+", "x", "true",
    "0E0", "9223372036854775808",
]  # fmt: skip
DATES = [
    "2026-03-05", " 2026-03-05 ", "\t2026-03-05", "2026-3-5", "2026/03/05", "2026.03.05",
    "2026-03-05 10:00", "2026-03-05T10:00:00", "2026-03-05 BC", "-2026-03-05", "+2026-03-05",
    "02026-03-05", "20260305", "05/03/2026", "2026-02-30", "2026-13-01", "epoch", "infinity",
    "-infinity", "2026-03-05Z", "2026-03-05 +01:00", "26-03-05", "2026-03", "2026-03-05x",
    "2026 03 05", "99999-01-01", "1990-01-01", "2100-12-31", "2026-W10", "now", "today",
    "2026-03-05T", "2026-03-05 00:00:00+00", "2024-02-29", "0000-01-01",
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "values"), [(ColumnType.DECIMAL, NUMBERS), (ColumnType.DATE, DATES)], ids=str
)
def test_the_reader_casts_no_value_the_contract_refuses(
    tmp_path: Path, kind: ColumnType, values: list[str]
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["k", "v"])
    writer.writerows([i, v] for i, v in enumerate(values))
    path = tmp_path / "values.csv"
    path.write_text(out.getvalue())
    col = Column("v", kind)
    [(typed_sql, _)] = column_sql(col, str, str).typed
    con = duckdb.connect()
    with csv_stream(con, path, {"v": READER_TYPES[kind]}) as stream:
        assert stream.typed == frozenset({"v"})
        read = dict(con.execute("SELECT k, v FROM raw_stream").fetchall())
        rejected = {
            line - 2 for (line,) in con.execute("SELECT line FROM reject_errors").fetchall()
        }
    contract = {
        i: con.execute(f"SELECT {typed_sql} FROM (SELECT NULLIF(?, '') AS v) n", [v]).fetchone()[0]
        for i, v in enumerate(values)
    }
    lo, hi = dt.date.fromisoformat(EARLIEST), dt.date.fromisoformat(LATEST)
    for i, value in enumerate(values):
        if i in rejected:
            continue  # read again as text and checked as `raw` would
        got, want = read[str(i)], contract[i]
        if kind is ColumnType.DATE and want is None:
            # Accepted only as a date outside the plausible range, which the fast pass flags.
            assert not (lo <= got <= hi), value
        else:
            assert got == want, value
