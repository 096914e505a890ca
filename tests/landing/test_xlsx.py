"""Excel workbooks (.xlsx) land like any other extract: first sheet, header row, cells as shown."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import openpyxl

from control_tower.landing.readers import excel_text
from tests.support.extracts import batch_rows, fetch, land, quarantined


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    """An .xlsx file with the given sheets (name, rows), built with openpyxl."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


HEADER = ["customer_id", "name", "segment", "priority_tier", "region", "updated_at"]
STAMP = datetime(2026, 1, 5, 8, 30)


class TestCellText:
    """Cells read as the text a user sees in Excel's General format."""

    def test_whole_numbers_have_no_decimal_point(self) -> None:
        assert excel_text(725.0) == "725"  # an id typed as a number stays 725, never 725.0

    def test_fractions_keep_fifteen_digits(self) -> None:
        assert excel_text(0.1 + 0.2) == "0.3"  # Excel shows 0.3, not 0.30000000000000004

    def test_dates_and_times_are_iso(self) -> None:
        assert excel_text(date(2026, 3, 2)) == "2026-03-02"
        assert excel_text(datetime(2026, 3, 2, 9, 5)) == "2026-03-02 09:05:00"

    def test_booleans_and_empty_cells(self) -> None:
        assert (excel_text(True), excel_text(False)) == ("true", "false")
        assert excel_text("") is None
        assert excel_text(None) is None


class TestWorkbookLands:
    """erp/customers.xlsx, first sheet `Customers` (a second sheet `Notes` is ignored).

    row  customer_id  priority_tier
    2    1001 (num)   1
    3    C-2          4      -> quarantined: tier at most 3, reported at sheet row 3
    4    (empty row: skipped)
    5    C-3          2
    """

    def test_good_rows_land_and_the_bad_row_keeps_its_sheet_row(self, empty_home: Path) -> None:
        data = workbook(
            (
                "Customers",
                [
                    HEADER,
                    [1001, "Acme", "retail", 1, "US", STAMP],
                    ["C-2", "Bolt", "retail", 4, "US", STAMP],
                    [None, None, None, None, None, None],
                    ["C-3", "Cog", "wholesale", 2, "EU", STAMP],
                ],
            ),
            ("Notes", [["anything"], ["else"]]),
        )
        report = land(empty_home, {"erp/customers_2026-01-05.xlsx": data})
        (batch,) = report.ingest.batches
        assert batch.status == "loaded", batch.error
        rows = fetch(
            empty_home,
            "SELECT customer_id, priority_tier, CAST(updated_at AS VARCHAR) FROM customers "
            "ORDER BY customer_id",
        )
        assert rows == [("1001", 1, "2026-01-05 08:30:00"), ("C-3", 2, "2026-01-05 08:30:00")]
        assert batch_rows(empty_home)[0]["file_format"] == "xlsx"
        (bad,) = quarantined(empty_home, batch.batch_id)
        assert bad[:3] == (3, "priority_tier", "4")

    def test_a_corrupt_workbook_is_rejected_whole_with_a_reason(self, empty_home: Path) -> None:
        good = workbook(("Customers", [HEADER, ["C-1", "Acme", "retail", 1, "US", STAMP]]))
        report = land(empty_home, {"erp/customers.xlsx": good[: len(good) // 2]})
        (batch,) = report.ingest.batches
        assert batch.status == "rejected"
        assert "not a readable Excel workbook (.xlsx)" in (batch.error or "")
        assert fetch(empty_home, "SELECT count(*) FROM customers") == [(0,)]
        reasons = list((empty_home / "quarantine" / "erp").rglob("*.reason.txt"))
        assert len(reasons) == 1

    def test_an_empty_sheet_is_rejected(self, empty_home: Path) -> None:
        report = land(empty_home, {"erp/customers.xlsx": workbook(("Customers", []))})
        (batch,) = report.ingest.batches
        assert batch.status == "rejected"
        assert "is empty" in (batch.error or "")
