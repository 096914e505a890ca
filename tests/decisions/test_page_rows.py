"""What the decision review page lays out, on the hand-built case of
tests/support/decision_cases.py: rows per site and per person, the items with their outcome
and requests, and the period picker's checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from control_tower.accounts import Scope
from control_tower.decisions.outcomes import Period, PeriodError
from control_tower.kpi.catalog import load_catalog
from control_tower.settings import DEFAULT_KPI_DEFINITIONS
from control_tower.views import decisions as dv
from tests.support import decision_cases as dc


def _page(folder: Path, scope: Scope | None = None) -> dv.DecisionPage:
    with dc.case(folder) as (con, store):
        catalog = load_catalog(DEFAULT_KPI_DEFINITIONS)
        return dv.decision_page(con, store, catalog, dc.question(scope))


def test_rows_per_site_and_items_with_their_outcome(tmp_path: Path) -> None:
    page = _page(tmp_path)
    sites = {r["key"]: r for r in page.sites}
    assert (sites["DC-A"]["fp_hits"], sites["DC-A"]["fp_counted"]) == (1, 2)
    assert sites["DC-B"]["fp_early"] == 1
    items = {r["exception_id"]: r for r in page.items}
    assert items[1]["outcome"] == "stockout: stocked out anyway"
    assert items[6]["outcome"] == "stockout: stocked out anyway; re-promise: too early to tell"
    assert items[5]["requests"] == "re_promise #6: confirmed on time (re-promise: met)"
    assert items[2]["requests"].startswith("stock_transfer #1: confirmed on time; ")
    assert page.items_total == 6


def test_a_site_scoped_planner_gets_rows_of_their_site_only(tmp_path: Path) -> None:
    page = _page(tmp_path, Scope.of(locations={"DC-B"}))
    assert [r["key"] for r in page.sites] == ["DC-B"]
    assert sorted(r["exception_id"] for r in page.items) == [3, 5]
    assert {r["key"] for r in page.people} == {"alice", "carol"}


def test_the_period_picker_defaults_to_the_last_28_days_and_refuses_bad_spans() -> None:
    now = datetime(2026, 3, 18, 11)
    assert dv.chosen_period(None, "", now) == dv.default_period(now)
    assert dv.default_period(now).start == date(2026, 2, 19)
    with pytest.raises(PeriodError, match="the start is after the end"):
        dv.chosen_period("2026-03-10", "2026-03-01", now)
    with pytest.raises(PeriodError, match=r"from='2026-13-01': not a date \(YYYY-MM-DD\)"):
        dv.chosen_period("2026-13-01", None, now)
    with pytest.raises(PeriodError, match="to=5: not a date"):
        dv.chosen_period(None, 5, now)
    with pytest.raises(PeriodError, match="choose at most 366"):
        dv.chosen_period("2024-01-01", "2026-03-01", now)


def test_a_period_without_decisions_shows_nothing_known(tmp_path: Path) -> None:
    with dc.case(tmp_path) as (con, store):
        catalog = load_catalog(DEFAULT_KPI_DEFINITIONS)
        q = dc.question()
        empty = dv.decision_page(
            con, store, catalog, replace(q, period=Period(date(2025, 1, 1), date(2025, 1, 5)))
        )
    assert [m.overall.counted + m.overall.too_early for m in empty.measures] == [0, 0, 0]
    assert (empty.sites, empty.people, empty.items) == ([], [], [])
    assert empty.ranking[0].items == 0
    assert empty.ranking[0].model_ap is None
