"""What happens to the files: duplicates skipped, archive after commit, rejects moved with a
reason, `keep=True` leaves everything in place, in-flight uploads are left alone."""

from __future__ import annotations

import re
from pathlib import Path

from control_tower.settings import utc_now
from tests.support.baseline import TS
from tests.support.extracts import (
    baseline_row,
    batch_rows,
    checksums,
    csv_bytes,
    fetch,
    land,
    rows_of,
)

NEW_ITEMS = csv_bytes(rows_of("items", baseline_row("items", 0, item_id="J1")))
BAD_FILE = b"item_id,description\nJ9,missing most columns\n"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_same_content_under_another_name_is_skipped_and_changes_nothing(home: Path) -> None:
    first = land(home, {"erp/items_monday.csv": NEW_ITEMS}).ingest.batches[0]
    before = checksums(home)
    report = land(home, {"erp/items_monday_resent.csv": NEW_ITEMS})
    (again,) = report.ingest.batches
    assert again.status == "skipped_duplicate"
    assert again.duplicate_of == first.batch_id
    assert again.warnings == [f"same content as batch {first.batch_id}, already loaded: skipped"]
    batch = batch_rows(home)[-1]
    assert (batch["status"], batch["duplicate_of"], batch["rows_inserted"]) == (
        "skipped_duplicate",
        first.batch_id,
        0,
    )
    assert checksums(home) == before
    assert not (home / "inbox" / "erp" / "items_monday_resent.csv").exists()
    assert Path(str(batch["archived_path"])).read_bytes() == NEW_ITEMS


def test_two_copies_in_one_run_land_once(home: Path) -> None:
    report = land(home, {"erp/items_a.csv": NEW_ITEMS, "erp/items_b.csv": NEW_ITEMS})
    assert [b.status for b in report.ingest.batches] == ["loaded", "skipped_duplicate"]
    assert fetch(home, "SELECT count(*) FROM items WHERE item_id = 'J1'") == [(1,)]


def test_a_rejected_file_sent_again_is_rejected_again_not_skipped(home: Path) -> None:
    """Only loaded content counts as already loaded."""
    first = land(home, {"erp/items_bad.csv": BAD_FILE}).ingest.batches[0]
    again = land(home, {"erp/items_bad.csv": BAD_FILE}).ingest.batches[0]
    assert (first.status, again.status) == ("rejected", "rejected")
    assert again.error == first.error


def test_loaded_file_is_archived_after_commit_under_system_and_day(home: Path) -> None:
    (b,) = land(home, {"erp/items_new.csv": NEW_ITEMS}).ingest.batches
    day = utc_now().strftime("%Y%m%d")
    expected = home / "archive" / "erp" / day / f"{b.batch_id:06d}-items_new.csv"
    assert expected.read_bytes() == NEW_ITEMS
    assert batch_rows(home)[-1]["archived_path"] == str(expected)
    assert _files(home / "inbox") == []


def test_file_with_quarantined_rows_is_archived_not_rejected(home: Path) -> None:
    data = csv_bytes(rows_of("items", baseline_row("items", 0, item_id="J1", case_qty="0")))
    (b,) = land(home, {"erp/items_some_bad.csv": data}).ingest.batches
    assert (b.status, b.rows_quarantined) == ("loaded", 1)
    assert Path(str(batch_rows(home)[-1]["archived_path"])).is_relative_to(home / "archive")
    assert _files(home / "quarantine") == []


def test_rejected_file_is_moved_to_quarantine_with_a_reason_file(home: Path) -> None:
    archived_before = _files(home / "archive")
    (b,) = land(home, {"erp/items_bad.csv": BAD_FILE}).ingest.batches
    day = utc_now().strftime("%Y%m%d")
    moved = home / "quarantine" / "erp" / day / f"{b.batch_id:06d}-items_bad.csv"
    assert moved.read_bytes() == BAD_FILE
    reason = moved.with_name(moved.name + ".reason.txt").read_text()
    assert f"batch: {b.batch_id}" in reason
    assert "reason: missing required column(s) category, abc_class, case_qty" in reason
    assert "Nothing of this file was loaded." in reason
    assert re.search(r"file: .*inbox/erp/items_bad\.csv", reason)
    assert _files(home / "archive") == archived_before


def test_file_outside_a_system_folder_is_quarantined_as_unsorted(home: Path) -> None:
    (b,) = land(home, {"items.csv": NEW_ITEMS}).ingest.batches
    assert b.status == "rejected"
    assert [p.name for p in _files(home / "quarantine" / "unsorted")] == [
        f"{b.batch_id:06d}-items.csv",
        f"{b.batch_id:06d}-items.csv.reason.txt",
    ]


def test_keep_leaves_loaded_and_rejected_files_in_the_inbox(home: Path) -> None:
    files = {"erp/items_new.csv": NEW_ITEMS, "erp/items_bad.csv": BAD_FILE}
    archived_before = _files(home / "archive")
    report = land(home, files, keep=True)
    assert sorted(b.status for b in report.ingest.batches) == ["loaded", "rejected"]
    inbox = home / "inbox"
    assert [p.relative_to(inbox).as_posix() for p in _files(inbox)] == sorted(files)
    assert _files(home / "archive") == archived_before
    assert _files(home / "quarantine") == []
    assert [b["archived_path"] for b in batch_rows(home)[-2:]] == [None, None]
    # The next run sees the same files: the loaded one is a duplicate now.
    again = {b.file.name: b.status for b in land(home, keep=True).ingest.batches}
    assert again == {"items_new.csv": "skipped_duplicate", "items_bad.csv": "rejected"}


def test_in_flight_uploads_are_left_alone(home: Path) -> None:
    """Partial uploads (.part, .tmp, .crdownload) and hidden files wait until renamed."""
    files = {
        "erp/items_new.csv.part": NEW_ITEMS,
        "erp/items_new.csv.tmp": NEW_ITEMS,
        "erp/.items_new.csv": NEW_ITEMS,
        "erp/items_new.csv.crdownload": NEW_ITEMS,
    }
    report = land(home, files)
    assert report.ingest.batches == []
    assert len(_files(home / "inbox")) == 4


def test_files_land_in_reference_order_whatever_their_names(empty_home: Path) -> None:
    """Order lines (named to sort first) land after the customers, items and locations they use."""
    files = {
        "erp/a_sales_order_lines.csv": b"",  # not a table name: rejected, but it must not matter
        "erp/sales_order_lines_000.csv": csv_bytes(
            rows_of("sales_order_lines", baseline_row("sales_order_lines", 0))
        ),
        "erp/locations_zzz.csv": csv_bytes(rows_of("locations", baseline_row("locations", 0))),
        "erp/items_zzz.csv": csv_bytes(rows_of("items", baseline_row("items", 0))),
        "erp/customers_zzz.csv": csv_bytes(
            rows_of("customers", ["C1", "Acme", "Retail", "1", "US", TS])
        ),
    }
    report = land(empty_home, files)
    order = [(b.table, b.status) for b in report.ingest.batches]
    assert order == [
        (None, "rejected"),
        ("locations", "loaded"),
        ("items", "loaded"),
        ("customers", "loaded"),
        ("sales_order_lines", "loaded"),
    ]
    assert report.ingest.rows_quarantined == 0
