"""The shipped DataCo mapping lands the public sample end to end; its KPIs match polars over the CSV."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from tests.support.extracts import fetch, land, warehouse

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "shared/realdata/dataco_sample/DataCoSupplyChainDataset_sample.csv"
)
AS_OF = date(2030, 1, 1)  # after every date of the sample: every line is due
# The sample sits in shared/ beside the repository (as in CI, where it must be found).
pytestmark = pytest.mark.skipif(
    not SAMPLE.exists() and not os.environ.get("CI"), reason=f"DataCo sample not found at {SAMPLE}"
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the DataCo mapping enabled and the sample landed once."""
    home = tmp_path_factory.mktemp("dataco") / "home"
    (home / "inbox" / "dataco").mkdir(parents=True)
    shutil.copy(SAMPLE, home / "inbox" / "dataco" / SAMPLE.name)
    (home / "sources.yml").write_text("enabled: [dataco]\n")
    report = land(home)
    bad = [(b.table, b.status, b.error) for b in report.ingest.batches if b.status != "loaded"]
    assert not bad, bad
    assert all(s.status == "ok" for s in report.steps), report.steps
    return home


def expected() -> pl.DataFrame:
    """The sample's lines, judged independently: cancelled, promised and delivered days."""
    fmt = "%m/%d/%Y %H:%M"
    return pl.read_csv(SAMPLE, infer_schema=False).select(
        cancelled=pl.col("Delivery Status") == "Shipping canceled",
        promised=pl.col("order date (DateOrders)").str.strptime(pl.Datetime, fmt).dt.date()
        + pl.duration(days=pl.col("Days for shipment (scheduled)").cast(pl.Int64)),
        delivered=pl.col("shipping date (DateOrders)").str.strptime(pl.Datetime, fmt).dt.date(),
        real=pl.col("Days for shipping (real)").cast(pl.Int64),
        scheduled=pl.col("Days for shipment (scheduled)").cast(pl.Int64),
    )


def kpi_value(home: Path, name: str) -> dict:
    with warehouse(home) as con:
        (row,) = compute(con, load_catalog().kpi(name), as_of=AS_OF)["rows"]
    return row


class TestDataCoLands:
    def test_one_wide_export_becomes_six_tables_with_deduplicated_dimensions(
        self, home: Path
    ) -> None:
        counts = {
            t: fetch(home, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("locations", "items", "customers", "sales_order_lines", "shipments")
        }
        raw = pl.read_csv(SAMPLE, infer_schema=False)
        assert counts == {
            "locations": raw["Market"].n_unique(),  # 5 markets
            "items": raw["Product Card Id"].n_unique(),
            "customers": raw["Customer Id"].n_unique(),
            "sales_order_lines": raw.height,  # 6,000 order items
            "shipments": raw.filter(pl.col("Delivery Status") != "Shipping canceled").height,
        }
        assert fetch(home, "SELECT count(*) FROM ops.quarantine") == [(0,)]

    def test_float_zip_codes_read_as_written_ids(self, home: Path) -> None:
        assert fetch(home, "SELECT region FROM customers WHERE customer_id = '6109'") == [
            ("PR 725",)  # Customer Zipcode 725.0 in the export
        ]

    def test_shipping_canceled_lines_are_cancelled(self, home: Path) -> None:
        n = fetch(home, "SELECT count(*) FROM sales_order_lines WHERE status = 'cancelled'")[0][0]
        assert n == expected().filter(pl.col("cancelled")).height


class TestDataCoKpis:
    def test_order_promise_accuracy_matches_an_independent_computation(self, home: Path) -> None:
        lines = expected().filter(~pl.col("cancelled"))
        on_time = lines.filter(pl.col("delivered") <= pl.col("promised")).height
        row = kpi_value(home, "order_promise_accuracy")
        assert (row["numerator"], row["denominator"]) == (on_time, lines.height)
        # The same figure as DataCo's own labels: on time when real days <= scheduled days.
        assert on_time == lines.filter(pl.col("real") <= pl.col("scheduled")).height

    def test_line_fill_rate_matches_an_independent_computation(self, home: Path) -> None:
        lines = expected().filter(~pl.col("cancelled"))
        row = kpi_value(home, "line_fill_rate")
        # Every non-cancelled DataCo line shipped its full quantity in one shipment.
        assert (row["numerator"], row["denominator"]) == (lines.height, lines.height)
        assert row["value"] == 1.0

    def test_relanding_the_same_file_is_skipped(self, home: Path, tmp_path: Path) -> None:
        copy = tmp_path / "again"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("serving"))
        shutil.copy(SAMPLE, copy / "inbox" / "dataco" / SAMPLE.name)
        report = land(copy)
        assert {b.status for b in report.ingest.batches} == {"skipped_duplicate"}
