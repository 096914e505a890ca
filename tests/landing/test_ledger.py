"""The landing ledger: rows from anywhere land through the contract as recorded batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from control_tower.landing import BatchResult, Delivery, Ledger, install_zones
from control_tower.storage import connect_writer

ITEM = {
    "item_id": "I1",
    "description": "Widget",
    "category": "Tools",
    "abc_class": "A",
    "case_qty": "12",
    "unit_cost": "1.50",
    "unit_price": "3.00",
    "supplier_id": "S1",
    "lead_time_days": "7",
    "updated_at": "2026-01-01T00:00:00Z",
}


def _items(*rows: dict[str, str]) -> pa.Table:
    return pa.Table.from_pylist([{**ITEM, **row} for row in rows])


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    con = connect_writer(tmp_path / "warehouse.duckdb")
    install_zones(con)
    try:
        yield Ledger(con, "run-1")
    finally:
        con.close()


def _land(ledger: Ledger, rows: object, content_hash: str | None = None) -> BatchResult:
    batch = ledger.start(Delivery.of_rows("items feed", "items", content_hash=content_hash))
    if batch.skipped is not None:
        return batch.skipped
    [result] = ledger.land_together([batch], lambda: [ledger.land_rows(batch, rows)])
    return result


def test_a_bad_row_is_quarantined_with_its_reason_and_the_batch_recorded(ledger: Ledger) -> None:
    rows = _items({"item_id": "I1"}, {"item_id": "I2", "case_qty": "a dozen"}, {"item_id": "I3"})
    result = _land(ledger, rows)
    assert (result.status, result.rows_read, result.rows_quarantined) == ("loaded", 3, 1)
    assert result.counts.inserted == 2
    con = ledger.con
    assert [r[0] for r in con.execute("SELECT item_id FROM items ORDER BY 1").fetchall()] == [
        "I1",
        "I3",
    ]
    [(batch_id, file_name, line, column, value, reason)] = con.execute(
        "SELECT batch_id, file_name, source_line, column_name, value, reason FROM ops.quarantine"
    ).fetchall()
    assert (batch_id, file_name, line, column, value) == (
        result.batch_id,
        "items feed",
        2,
        "case_qty",
        "a dozen",
    )
    assert "number" in reason or "integer" in reason, reason
    assert con.execute(
        "SELECT status, run_id, table_name, rows_read, rows_inserted, rows_quarantined "
        "FROM ops.batches WHERE batch_id = ?",
        [result.batch_id],
    ).fetchone() == ("loaded", "run-1", "items", 3, 2, 1)


def test_a_rejected_batch_leaves_no_rows(ledger: Ledger) -> None:
    # A DuckDB relation lands like any other rows; this one has no item_id column.
    relation = ledger.con.sql("SELECT 'Widget' AS description, '12' AS case_qty")
    result = _land(ledger, relation)
    assert result.status == "rejected"
    assert (result.error or "").startswith("missing required column(s) item_id, category,")
    assert (result.error or "").endswith(
        "for table items (the header has 2 column(s): contract columns description, case_qty)"
    )
    con = ledger.con
    assert con.execute("SELECT count(*) FROM items").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (0,)
    assert con.execute(
        "SELECT status, error FROM ops.batches WHERE batch_id = ?", [result.batch_id]
    ).fetchone() == ("rejected", result.error)


def test_a_failure_rolls_back_every_batch_landed_together(ledger: Ledger) -> None:
    first = ledger.start(Delivery.of_rows("feed a", "items"))
    second = ledger.start(Delivery.of_rows("feed b", "items"))

    def land() -> list[BatchResult]:
        landed = [ledger.land_rows(first, _items({"item_id": "I1"}))]
        raise RuntimeError(f"the source went away after {len(landed)} batch\nstack...")

    results = ledger.land_together([first, second], land)
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].error == "RuntimeError: the source went away after 1 batch"
    assert ledger.con.execute("SELECT count(*) FROM items").fetchone() == (0,)
    assert ledger.con.execute("SELECT DISTINCT status FROM ops.batches").fetchall() == [("failed",)]


def test_a_second_delivery_of_the_same_content_is_skipped(ledger: Ledger) -> None:
    rows = _items({"item_id": "I1"})
    first = _land(ledger, rows, content_hash="sha-1")
    second = _land(ledger, rows, content_hash="sha-1")
    other = _land(ledger, _items({"item_id": "I2"}), content_hash="sha-2")
    assert first.status == "loaded"
    assert (second.status, second.duplicate_of) == ("skipped_duplicate", first.batch_id)
    assert second.warnings == [f"same content as batch {first.batch_id}, already loaded: skipped"]
    assert other.status == "loaded"
    assert ledger.con.execute(
        "SELECT status, duplicate_of FROM ops.batches WHERE batch_id = ?", [second.batch_id]
    ).fetchone() == ("skipped_duplicate", first.batch_id)
    assert ledger.con.execute("SELECT count(*) FROM items").fetchone() == (2,)
