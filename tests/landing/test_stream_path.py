"""A clean CSV file is validated straight from the file; any other lands through `raw`.

Both paths must land exactly the same rows, batch counts and quarantine: every
case lands into two copies of the baseline, once as the product does and once
with the streamed path switched off, and the warehouses are compared.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest

from tests.support.baseline import TS
from tests.support.extracts import (
    baseline_row,
    csv_bytes,
    fetch,
    land,
    quarantined,
    rows_of,
)
from tests.support.stream_paths import assert_same, both_ways, order_lines

HEADER = "customer_id,name,segment,priority_tier,region,updated_at\n"
ORDERS = "erp/sales_order_lines_stream.csv"


def customer(customer_id: str, tier: str = "1", name: str = "A") -> str:
    return f"{customer_id},{name},Retail,{tier},EU,{TS}\n"


CLEAN = {
    "order lines, new keys": {ORDERS: csv_bytes(rows_of("sales_order_lines", *order_lines(30)))},
    "order lines updating the baseline": {
        ORDERS: csv_bytes(
            rows_of(
                "sales_order_lines",
                baseline_row(
                    "sales_order_lines", 0, ordered_qty="11", updated_at="2026-03-05T00:00:00Z"
                ),
                baseline_row("sales_order_lines", 1, promised_date="2026-03-09"),
            )
        )
    },
    "semicolons, CRLF, blanks to trim, a BOM": {
        "erp/customers_semi.csv": b"\xef\xbb\xbf"
        + (HEADER + customer(" C9 ", " 2 ") + customer("C8"))
        .replace(",", ";")
        .replace("\n", "\r\n")
        .encode()
    },
    "windows-1252": {
        "erp/customers_1252.csv": (HEADER + customer("C9", name="Caf\u00e9 \u20ac")).encode(
            "cp1252"
        )
    },
    "gzip": {"erp/customers_gz.csv.gz": gzip.compress((HEADER + customer("C9")).encode())},
}


@pytest.mark.parametrize("case", list(CLEAN), ids=list(CLEAN))
def test_clean_csv_streams_and_lands_as_through_raw(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    product, through_raw = both_ways(home, tmp_path, monkeypatch, CLEAN[case])
    assert product["streamed"] is True
    assert product["quarantine"] == []
    assert_same(product, through_raw)


def test_windows_1252_copy_is_removed_after_streaming(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (b,) = land(home, CLEAN["windows-1252"]).ingest.batches
    assert (b.status, b.streamed) == ("loaded", True)
    assert fetch(home, "SELECT name FROM customers WHERE customer_id = 'C9'") == [
        ("Caf\u00e9 \u20ac",)
    ]
    assert list(scratch.iterdir()) == []


DIRTY = {
    "a bad value": HEADER + customer("C9") + customer("C8", "x") + customer("C7"),
    "a bad value on the last row": HEADER + customer("C9") + customer("C8") + customer("C7", "0"),
    "a repeated key": HEADER + customer("C9") + customer("C8") + customer("C9", "2"),
    "a row that cannot be split": HEADER
    + customer("C9")
    + f"C8,Smith, John,Retail,1,EU,{TS}\n"
    + customer("C7", "x")
    + customer("C6"),
    # Flagged by the fast pass (an id with a dot) but valid: lands, through `raw`.
    "a flagged row that is good after all": HEADER + customer("C9") + customer("C.8"),
    "an unknown reference": csv_bytes(
        rows_of(
            "sales_order_lines",
            *order_lines(4),
            baseline_row("sales_order_lines", 0, order_id="S9", item_id="NOPE"),
        )
    ).decode(),
    "truncated": HEADER + customer("C9") + "C8,Cut",
    "header only": HEADER,
}


@pytest.mark.parametrize("case", list(DIRTY), ids=list(DIRTY))
def test_csv_that_is_not_clean_lands_through_raw(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    name = ORDERS if case == "an unknown reference" else "erp/customers_dirty.csv"
    product, through_raw = both_ways(home, tmp_path, monkeypatch, {name: DIRTY[case].encode()})
    assert product["streamed"] is False
    assert_same(product, through_raw)


def test_bad_rows_keep_their_lines_after_a_stream_attempt(home: Path) -> None:
    data = HEADER + customer("C9") + f"C8,a,b,1,EU,{TS},extra\n" + customer("C7", "x")
    (b,) = land(home, {"erp/customers_lines.csv": data.encode()}).ingest.batches
    assert (b.status, b.streamed) == ("loaded", False)
    assert [(line, column) for line, column, _, _ in quarantined(home, b.batch_id)] == [
        (3, None),
        (4, "priority_tier"),
    ]


def test_other_formats_do_not_stream(home: Path) -> None:
    data = (
        '{"customer_id": "C9", "name": "A", "segment": "Retail", "priority_tier": 1, '
        f'"region": "EU", "updated_at": "{TS}"}}\n'
    )
    (b,) = land(home, {"erp/customers.jsonl": data.encode()}).ingest.batches
    assert (b.status, b.streamed) == ("loaded", False)


def test_no_temp_objects_are_left_behind(home: Path) -> None:
    from control_tower.landing.batch import land_file
    from control_tower.landing.files import discover
    from control_tower.landing.ingest import install_zones
    from control_tower.settings import load_settings
    from control_tower.storage.schema import connect_writer

    settings = load_settings(home)
    (settings.inbox / "erp").mkdir(parents=True, exist_ok=True)
    (settings.inbox / "erp" / "customers_a.csv").write_text(HEADER + customer("C9"))
    (settings.inbox / "erp" / "customers_b.csv").write_text(HEADER + customer("C8", "x"))
    con = connect_writer(settings.warehouse_path)
    try:
        install_zones(con)
        results = [
            land_file(con, item, run_id="t", archive=tmp_dir, rejected=tmp_dir, keep=True)
            for item in discover(settings.inbox)
            for tmp_dir in [home / "scratch"]
        ]
        assert [(r.status, r.streamed) for r in results] == [
            ("loaded", True),
            ("loaded", False),
        ]
        left = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name <> '_zones' "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()
        assert left == []
    finally:
        con.close()
