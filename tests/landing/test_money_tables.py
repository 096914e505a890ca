"""The money tables of the contract: entities, suppliers and exchange rates land typed, and a
row with a malformed currency, country or rate goes to quarantine with its reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.support.extracts import baseline_row, csv_bytes, fetch, land, quarantined, rows_of


def test_rates_keep_eight_decimals(baseline_home: Path) -> None:
    assert fetch(
        baseline_home, "SELECT rate FROM fx_rates WHERE rate_date = DATE '2026-03-02'"
    ) == [(Decimal("1.08421234"),)]


def test_bad_currency_and_rate_rows_are_quarantined_with_their_reason(home: Path) -> None:
    report = land(
        home,
        {
            "erp/fx_rates_bad.csv": csv_bytes(
                rows_of(
                    "fx_rates",
                    baseline_row("fx_rates", 0, rate_date="2026-03-04"),
                    baseline_row("fx_rates", 0, rate_date="2026-03-05", from_currency="euro"),
                    baseline_row("fx_rates", 0, rate_date="2026-03-06", rate="0"),
                    baseline_row("fx_rates", 0, rate_date="2026-03-07", to_currency="EUR"),
                )
            ),
            "erp/suppliers_bad.csv": csv_bytes(
                rows_of("suppliers", baseline_row("suppliers", 0, supplier_id="S9", country="USA"))
            ),
        },
    )
    by_table = {r.table: r for r in report.ingest.batches}
    rates = by_table["fx_rates"]
    assert (rates.status, rates.counts.inserted, rates.rows_quarantined) == ("loaded", 1, 3)
    reasons = " | ".join(r[3] for r in quarantined(home, rates.batch_id))
    assert "from_currency is not a three-letter ISO 4217 currency code" in reasons
    assert "rate" in reasons
    assert "from_currency is the same currency as to_currency" in reasons
    suppliers = by_table["suppliers"]
    (row,) = quarantined(home, suppliers.batch_id)
    assert "country is not a two-letter ISO 3166 country code" in row[3]
