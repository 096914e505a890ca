"""Keyed upsert on re-delivery (docs/extract-contract.md, "The upsert rule").

- The newest `updated_at`, compared as an instant, wins; an older re-delivery
  never overwrites (it is counted as stale).
- On an exact tie the later-loaded file wins.
- Tables without `updated_at` keep the last loaded version.
- `first_promised_date` is frozen from the first version ever loaded (its
  column value, or that version's `promised_date`), and `promise_changes`
  counts re-promises.

The baseline holds order line O1/1: 10 EA, promised 2026-03-05,
updated_at 2026-03-02T15:00:00Z.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.support.baseline import BASELINE
from tests.support.extracts import (
    baseline_row,
    batch_rows,
    checksums,
    csv_bytes,
    fetch,
    land,
    rows_of,
)


def o1(**changes: str) -> bytes:
    """A re-delivery of order line O1/1 with some columns changed."""
    return csv_bytes(rows_of("sales_order_lines", baseline_row("sales_order_lines", 0, **changes)))


def o1_state(home: Path) -> tuple:
    """(ordered_qty, promised_date, first_promised_date, promise_changes, _batch_id) of O1/1."""
    rows = fetch(
        home,
        "SELECT ordered_qty, promised_date, first_promised_date, promise_changes, _batch_id "
        "FROM sales_order_lines WHERE order_id = 'O1' AND line_no = 1",
    )
    assert len(rows) == 1, "a key has exactly one landed version"
    return rows[0]


def test_newer_version_replaces_the_landed_row(home: Path) -> None:
    report = land(
        home,
        {"erp/sales_order_lines_v2.csv": o1(ordered_qty="12", updated_at="2026-03-03T00:00:00Z")},
    )
    (b,) = report.ingest.batches
    assert (b.counts.inserted, b.counts.updated, b.counts.stale) == (0, 1, 0)
    assert o1_state(home)[0] == Decimal(12)
    assert o1_state(home)[4] == b.batch_id
    assert batch_rows(home)[-1]["rows_updated"] == 1


def test_older_redelivery_never_overwrites_and_is_counted_stale(home: Path) -> None:
    before = checksums(home)
    report = land(
        home,
        {"erp/sales_order_lines_old.csv": o1(ordered_qty="99", updated_at="2026-03-01T00:00:00Z")},
    )
    (b,) = report.ingest.batches
    assert (b.status, b.counts.updated, b.counts.stale) == ("loaded", 0, 1)
    assert batch_rows(home)[-1]["rows_stale"] == 1
    assert checksums(home) == before


def test_versions_are_compared_as_instants_not_as_text(home: Path) -> None:
    """10:00-06:00 is 16:00Z, newer than 15:00Z; 16:30+02:00 is 14:30Z, older than 15:00Z."""
    land(
        home,
        {
            "erp/sales_order_lines_a.csv": o1(
                ordered_qty="11", updated_at="2026-03-02T10:00:00-06:00"
            )
        },
    )
    assert o1_state(home)[0] == Decimal(11)
    report = land(
        home,
        {
            "erp/sales_order_lines_b.csv": o1(
                ordered_qty="22", updated_at="2026-03-02T17:30:00+02:00"
            )
        },
    )
    assert report.ingest.batches[0].counts.stale == 1
    assert o1_state(home)[0] == Decimal(11)


def test_exact_tie_later_loaded_file_wins(home: Path) -> None:
    """Same updated_at as the landed version: the later file wins (re-sent corrections)."""
    report = land(home, {"erp/sales_order_lines_fix.csv": o1(ordered_qty="8")})
    assert report.ingest.batches[0].counts.updated == 1
    assert o1_state(home)[0] == Decimal(8)


def test_within_one_run_files_apply_in_name_order(home: Path) -> None:
    """_a (tie, qty 7) then _b (tie, qty 9): _b wins; _c is older than both: stale."""
    report = land(
        home,
        {
            "erp/sales_order_lines_c.csv": o1(ordered_qty="5", updated_at="2026-03-02T14:59:59Z"),
            "erp/sales_order_lines_b.csv": o1(ordered_qty="9"),
            "erp/sales_order_lines_a.csv": o1(ordered_qty="7"),
        },
    )
    names = [(b.file.name, b.counts.updated, b.counts.stale) for b in report.ingest.batches]
    assert names == [
        ("sales_order_lines_a.csv", 1, 0),
        ("sales_order_lines_b.csv", 1, 0),
        ("sales_order_lines_c.csv", 0, 1),
    ]
    assert o1_state(home)[0] == Decimal(9)


def test_new_and_updated_and_stale_rows_in_one_file(home: Path) -> None:
    data = csv_bytes(
        rows_of(
            "sales_order_lines",
            baseline_row(
                "sales_order_lines", 0, ordered_qty="13", updated_at="2026-03-04T00:00:00Z"
            ),
            baseline_row(
                "sales_order_lines", 1, ordered_qty="3", updated_at="2026-03-01T00:00:00Z"
            ),
            baseline_row("sales_order_lines", 0, order_id="N1"),
        )
    )
    (b,) = land(home, {"erp/sales_order_lines_mix.csv": data}).ingest.batches
    assert (b.counts.inserted, b.counts.updated, b.counts.stale) == (1, 1, 1)
    assert fetch(home, "SELECT count(*) FROM sales_order_lines") == [
        (len(BASELINE["sales_order_lines"]),)
    ]


def test_table_without_updated_at_keeps_the_last_loaded_version(home: Path) -> None:
    """Inventory snapshots and shipments have no version stamp: each delivery replaces the row."""
    snap = baseline_row("inventory_snapshots", 0, on_hand_qty="90")
    ship = baseline_row("shipments", 0, shipped_qty="9")
    report = land(
        home,
        {
            "wms/inventory_snapshots_again.csv": csv_bytes(rows_of("inventory_snapshots", snap)),
            "wms/shipments_again.csv": csv_bytes(rows_of("shipments", ship)),
        },
    )
    assert [b.counts.updated for b in report.ingest.batches] == [1, 1]
    assert fetch(
        home,
        "SELECT on_hand_qty FROM inventory_snapshots WHERE location_id = 'L1' AND item_id = 'I1'",
    ) == [(Decimal(90),)]
    assert fetch(
        home, "SELECT shipped_qty FROM shipments WHERE order_id = 'O1' AND line_no = 1"
    ) == [(Decimal(9),)]
    land(
        home,
        {
            "wms/inventory_snapshots_back.csv": csv_bytes(
                rows_of("inventory_snapshots", baseline_row("inventory_snapshots", 0))
            )
        },
    )
    assert fetch(
        home,
        "SELECT on_hand_qty FROM inventory_snapshots WHERE location_id = 'L1' AND item_id = 'I1'",
    ) == [(Decimal(100),)]


def test_first_promised_date_is_frozen_and_re_promises_are_counted(home: Path) -> None:
    """O1/1 promised 03-05, re-promised 03-07 then 03-09, re-sent unchanged, then a stale 03-20."""
    assert o1_state(home)[1:4] == (date(2026, 3, 5), date(2026, 3, 5), 0)
    steps = [  # file, promised_date, updated_at, then (promised, first promised, changes)
        ("v2", "2026-03-07", "2026-03-03", (date(2026, 3, 7), date(2026, 3, 5), 1)),
        ("v3", "2026-03-09", "2026-03-04", (date(2026, 3, 9), date(2026, 3, 5), 2)),
        ("v4", "2026-03-09", "2026-03-05", (date(2026, 3, 9), date(2026, 3, 5), 2)),
        ("old", "2026-03-20", "2026-03-02", (date(2026, 3, 9), date(2026, 3, 5), 2)),
    ]
    for name, promised, updated, expected in steps:
        extract = o1(promised_date=promised, updated_at=f"{updated}T00:00:00Z")
        land(home, {f"erp/sales_order_lines_{name}.csv": extract})
        assert o1_state(home)[1:4] == expected, name


def test_explicit_first_promised_date_column_is_honoured(home: Path) -> None:
    """A first version that says it was first promised 03-01 (now 03-05): 03-01, one change."""
    header = [*BASELINE["sales_order_lines"][0], "first_promised_date"]
    rows = [
        [*baseline_row("sales_order_lines", 0, order_id="N1"), "2026-03-01"],
        [*baseline_row("sales_order_lines", 0, order_id="N2"), ""],
    ]
    land(home, {"erp/sales_order_lines_fpd.csv": csv_bytes([header, *rows])})
    got = fetch(
        home,
        "SELECT order_id, promised_date, first_promised_date, promise_changes FROM sales_order_lines "
        "WHERE order_id IN ('N1', 'N2') ORDER BY order_id",
    )
    assert got == [
        ("N1", date(2026, 3, 5), date(2026, 3, 1), 1),
        ("N2", date(2026, 3, 5), date(2026, 3, 5), 0),  # empty: that version's promised_date
    ]


def test_later_first_promised_date_never_changes_the_frozen_one(home: Path) -> None:
    """O1/1 was first loaded without the column (frozen at 03-05); a later version claims 03-01."""
    header = [*BASELINE["sales_order_lines"][0], "first_promised_date"]
    row = [
        *baseline_row(
            "sales_order_lines", 0, promised_date="2026-03-06", updated_at="2026-03-03T00:00:00Z"
        ),
        "2026-03-01",
    ]
    land(home, {"erp/sales_order_lines_claim.csv": csv_bytes([header, row])})
    assert o1_state(home)[1:4] == (date(2026, 3, 6), date(2026, 3, 5), 1)
