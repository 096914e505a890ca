"""Every contract table lands from a valid file: CSV for every one, Parquet and JSON Lines too.

Also: every landed row carries the id of the batch that wrote it, and
ops.batches records each batch's file, counts and timings.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from control_tower.contracts import TABLES
from control_tower.settings import utc_now
from tests.support.baseline import BASELINE
from tests.support.extracts import (
    baseline_files,
    baseline_row,
    batch_rows,
    copy_home,
    csv_bytes,
    fetch,
    land,
    rows_of,
)


@pytest.mark.parametrize("table", list(TABLES))
def test_every_contract_table_loads_from_a_valid_csv(baseline_home: Path, table: str) -> None:
    """The baseline delivers each table as one CSV: one loaded batch, every row in, none quarantined."""
    expected_rows = len(BASELINE[table]) - 1
    (batch,) = [b for b in batch_rows(baseline_home) if b["table_name"] == table]
    assert batch["status"] == "loaded"
    assert batch["file_name"] == f"{table}.csv"
    assert batch["system"] == TABLES[table].system
    assert (batch["rows_read"], batch["rows_inserted"]) == (expected_rows, expected_rows)
    assert (batch["rows_updated"], batch["rows_stale"], batch["rows_quarantined"]) == (0, 0, 0)
    by_batch = fetch(baseline_home, f"SELECT _batch_id, count(*) FROM main.{table} GROUP BY ALL")
    assert by_batch == [(batch["batch_id"], expected_rows)]


def test_every_landed_row_carries_its_batch_and_load_time(home: Path) -> None:
    """A second delivery of items: updated rows carry the new batch, untouched rows keep theirs."""
    report = land(
        home,
        {
            "erp/items_update.csv": csv_bytes(
                rows_of(
                    "items",
                    baseline_row("items", 0, unit_cost="2.75", updated_at="2026-03-05T00:00:00Z"),
                )
            )
        },
    )
    (result,) = report.ingest.batches
    rows = dict(fetch(home, "SELECT item_id, _batch_id FROM items"))
    assert rows["I1"] == result.batch_id
    assert rows["I2"] == rows["I3"] != result.batch_id
    for table in TABLES:
        missing = fetch(
            home, f"SELECT count(*) FROM main.{table} WHERE _batch_id IS NULL OR _loaded_at IS NULL"
        )
        assert missing == [(0,)], table
    known = {b["batch_id"] for b in batch_rows(home) if b["status"] == "loaded"}
    for table in TABLES:
        ids = {r[0] for r in fetch(home, f"SELECT DISTINCT _batch_id FROM main.{table}")}
        assert ids <= known, table


def test_landed_values_are_typed(baseline_home: Path) -> None:
    """Integers, exact decimals, booleans, dates and empty optional values land typed."""
    assert fetch(
        baseline_home, "SELECT case_qty, unit_cost, lead_time_days FROM items WHERE item_id = 'I1'"
    ) == [(12, Decimal("2.5000"), 7)]
    assert dict(fetch(baseline_home, "SELECT location_id, wave_based FROM locations")) == {
        "L1": True,
        "L2": False,
    }
    assert fetch(
        baseline_home,
        "SELECT po_id, po_line_no, first_pass_matched FROM ap_invoice_lines ORDER BY line_no",
    ) == [("P1", 1, True), (None, None, False)]
    assert fetch(
        baseline_home, "SELECT requested_date, status FROM sales_order_lines WHERE order_id = 'O2'"
    ) == [(date(2026, 3, 6), "released")]
    assert fetch(baseline_home, "SELECT credited_at FROM returns") == [(None,)]


def test_ops_batches_records_file_counts_and_timings(tmp_path: Path) -> None:
    """Each batch records its run, file, hash, size, format, counts and a timing per stage."""
    home = tmp_path / "home"
    files = baseline_files()
    report = land(home, files)
    batches = {b["table_name"]: b for b in batch_rows(home)}
    assert len(batches) == len(TABLES)
    for name, data in files.items():
        table = name.split("/")[1].removesuffix(".csv")
        b = batches[table]
        assert b["run_id"] == report.run_id
        assert b["content_hash"] == hashlib.sha256(data).hexdigest()
        assert b["file_bytes"] == len(data)
        assert (b["file_format"], b["encoding"], b["delimiter"]) == ("csv", "utf-8", ",")
        assert b["source_path"] == str(home / "inbox" / name)
        assert b["started_at"] <= b["finished_at"] <= utc_now()
        for stage in ("read_ms", "validate_ms", "upsert_ms", "total_ms"):
            assert b[stage] is not None, (table, stage)
            assert b[stage] >= 0, (table, stage)
        assert b["total_ms"] >= max(b["read_ms"], b["validate_ms"], b["upsert_ms"])
        assert b["error"] is None
        assert b["warnings"] is None
    run = fetch(
        home, "SELECT trigger, status, files_seen, batches_loaded, rows_loaded FROM ops.runs"
    )
    total = sum(len(rows) - 1 for rows in BASELINE.values())
    assert run == [("cli", "ok", len(TABLES), len(TABLES), total)]


NEW_ORDERS = [
    baseline_row("sales_order_lines", 0, order_id="N1"),
    baseline_row("sales_order_lines", 1, order_id="N1", updated_at="2026-03-02T16:00:00+01:00"),
    baseline_row("sales_order_lines", 2, order_id="N2", ordered_qty="2.5", unit_price="0.125"),
]


def _orders_frame() -> pl.DataFrame:
    """NEW_ORDERS as a Parquet writer would type them: ints, floats, dates, datetimes."""
    header, *rows = rows_of("sales_order_lines", *NEW_ORDERS)
    col = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    return pl.DataFrame(col).with_columns(
        pl.col("line_no").cast(pl.Int64),
        pl.col("ordered_qty").cast(pl.Float64),
        pl.col("unit_price").cast(pl.Float64),
        pl.col("requested_date").str.to_date(),
        pl.col("promised_date").str.to_date(),
        # Naive local wall-clock time for the first two rows; the third carries an offset.
        pl.Series(
            "order_ts", ["2026-03-02 09:00:00", "2026-03-02 09:00:00", "2026-03-03T10:00:00+01:00"]
        ),
        pl.col("updated_at").str.to_datetime(time_zone="UTC"),
    )


def _landed_orders(home: Path) -> list[tuple]:
    return fetch(
        home,
        "SELECT * EXCLUDE (_batch_id, _loaded_at) FROM sales_order_lines "
        "WHERE order_id IN ('N1', 'N2') ORDER BY order_id, line_no",
    )


def test_parquet_lands_the_same_rows_as_csv(baseline_home: Path, tmp_path: Path) -> None:
    """The same three order lines, once as CSV text and once as typed Parquet, land identically."""
    csv_home = copy_home(baseline_home, tmp_path / "csv")
    pq_home = copy_home(baseline_home, tmp_path / "pq")
    land(
        csv_home,
        {"erp/sales_order_lines_new.csv": csv_bytes(rows_of("sales_order_lines", *NEW_ORDERS))},
    )
    buf = io.BytesIO()
    _orders_frame().write_parquet(buf)
    report = land(pq_home, {"erp/sales_order_lines_new.parquet": buf.getvalue()})
    (result,) = report.ingest.batches
    assert (result.status, result.counts.inserted, result.rows_quarantined) == ("loaded", 3, 0)
    assert batch_rows(pq_home)[-1]["file_format"] == "parquet"
    assert len(_landed_orders(csv_home)) == 3
    assert _landed_orders(pq_home) == _landed_orders(csv_home)


def test_json_lines_land_the_same_rows_as_csv(baseline_home: Path, tmp_path: Path) -> None:
    """JSON numbers, booleans, nulls and key order do not matter; keys match case-insensitively."""
    csv_home = copy_home(baseline_home, tmp_path / "csv")
    js_home = copy_home(baseline_home, tmp_path / "js")
    new = [
        baseline_row("locations", 0, location_id="L3", name="Dallas DC", wave_based="true"),
        baseline_row("locations", 1, location_id="L4", name="Lyon DC", timezone="Europe/Paris"),
    ]
    land(csv_home, {"erp/locations_new.csv": csv_bytes(rows_of("locations", *new))})
    header = BASELINE["locations"][0]
    lines = []
    for row in new:
        obj = dict(zip(header, row, strict=True))
        obj["wave_based"] = obj["wave_based"] == "true"  # a JSON boolean
        obj = {("Location_ID" if k == "location_id" else k): v for k, v in reversed(obj.items())}
        lines.append(json.dumps(obj))
    report = land(js_home, {"erp/locations_new.jsonl": ("\n".join(lines) + "\n").encode()})
    (result,) = report.ingest.batches
    assert (result.status, result.counts.inserted, result.rows_quarantined) == ("loaded", 2, 0)
    query = "SELECT * EXCLUDE (_batch_id, _loaded_at) FROM locations ORDER BY location_id"
    assert fetch(js_home, query) == fetch(csv_home, query)
    assert fetch(js_home, "SELECT wave_based FROM locations WHERE location_id = 'L3'") == [(True,)]


def test_json_lines_null_and_missing_optional_keys_are_empty(home: Path) -> None:
    """A JSON null or an absent optional key is an empty value, not the text 'null'."""
    event = {"tms_shipment_id": "F1", "event_ts": "2026-03-05T12:00:00Z", "event_type": "delay"}
    data = (
        json.dumps({**event, "reason": None})
        + "\n"
        + json.dumps({**event, "event_type": "exception"})
        + "\n"
    )
    report = land(home, {"tms/tracking_events_new.jsonl": data.encode()})
    assert report.ingest.batches[0].counts.inserted == 2
    got = fetch(
        home,
        "SELECT reason, location FROM tracking_events WHERE event_ts = TIMESTAMP '2026-03-05 12:00'",
    )
    assert got == [(None, None), (None, None)]
