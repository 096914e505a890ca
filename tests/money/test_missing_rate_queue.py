"""A missing exchange rate through the real pipeline: the `money` step finds it, the finance
queue gets a `missing_fx_rate` item naming the days, and the item resolves once the rates land.

The clock is the suite's (2026-03-18 11:00 UTC): the run's as-of day is 2026-03-18.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.baseline import BASELINE_CSV
from tests.support.exception_cases import items, land
from tests.support.extracts import fetch

TS = "2026-03-01T00:00:00Z"
MASTER = {t: BASELINE_CSV[t] for t in ("entities", "locations", "items", "fx_rates")}
# A purchase order of 2026-03-01 at the EUR site: rates are needed from that day on.
PO = {
    "purchase_order_lines": f"""\
po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,expected_date,status,updated_at
P2,1,S2,I3,L2,100,EA,0.04,2026-03-01,2026-03-20,open,{TS}
"""
}


def test_a_missing_rate_is_queued_for_finance_and_resolves_when_the_rates_land(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    report = land(home, {**MASTER, **PO})
    assert report.status == "ok", report.steps
    assert [s.name for s in report.steps][:3] == ["freshness", "money", "risk"]
    # The baseline's rates of 2026-03-02 and 03 cover the 2nd to the 10th: the 1st and the 11th
    # to the 18th have none.
    (item,) = items(home, "missing_fx_rate").values()
    assert (item.key, item.status, item.owner_role, item.severity) == (
        "EUR>USD|2026-03",
        "open",
        "finance",
        "high",
    )
    detail = item.detail
    assert detail["days"] == 9
    assert detail["missing_days"] == ["2026-03-01", *(f"2026-03-{d}" for d in range(11, 19))]
    assert fetch(home, "SELECT rate FROM money.fx_daily WHERE rate_date = '2026-03-10' "
                       "AND from_currency = 'EUR'") == [(1.085,)]  # fmt: skip

    rates = "rate_date,from_currency,to_currency,rate,updated_at\n" + "".join(
        f"{day},EUR,USD,1.09,{TS}\n" for day in ("2026-02-27", "2026-03-09", "2026-03-16")
    )
    report = land(home, {"fx_rates": rates})
    assert report.status == "ok", report.steps
    (item,) = items(home, "missing_fx_rate").values()
    assert item.status == "resolved"
    assert fetch(home, "SELECT count(*) FROM money.missing_rates") == [(0,)]
