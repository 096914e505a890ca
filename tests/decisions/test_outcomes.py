"""Each decision's outcome on the hand-built case (tests/support/decision_cases.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from control_tower.accounts import Scope
from control_tower.decisions.outcomes import Outcomes, Period, PeriodError
from tests.support import decision_cases as dc


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    return dc.case_outcomes(tmp_path_factory.mktemp("decisions"))


def _by(frame: Any, key: str, column: str) -> dict[Any, Any]:
    return dict(zip(frame[key].to_list(), frame[column].to_list(), strict=True))


def test_only_items_resolved_in_the_period_are_reviewed(found: Outcomes) -> None:
    assert sorted(found.items["exception_id"].to_list()) == [1, 2, 3, 4, 5, 6]
    assert found.as_of == dc.LAST_SNAPSHOT


def test_who_resolved_each_item(found: Outcomes) -> None:
    assert _by(found.items, "exception_id", "resolved_by") == {
        1: "alice", 2: "bob", 3: "alice", 4: "carol", 5: "carol", 6: "carol",
    }  # fmt: skip


def test_a_false_positive_that_stocked_out_anyway_one_that_did_not_and_one_too_early(
    found: Outcomes,
) -> None:
    stockout = _by(found.items, "exception_id", "stockout")
    # #1: DC-A SKU1 has nothing available on 03-08, within 7 days of the 03-05 resolution
    assert stockout[1] == "stocked_out"
    assert stockout[2] == "no_stockout"
    # #3: resolved 03-16; the snapshots end 03-20, before 03-23
    assert stockout[3] == "too_early"


def test_a_re_promise_met_one_missed_and_one_too_early(found: Outcomes) -> None:
    promise = _by(found.items, "exception_id", "promise")
    assert promise[4] == "met"  # delivered 03-09, re-promised to 03-10
    assert promise[5] == "missed"  # delivered 03-12, re-promised to 03-10
    assert promise[6] == "too_early"  # re-promised to 04-05, after the as-of day
    assert promise[1] is None  # not a re-promise
    assert _by(found.requests, "request_id", "promise")[6] == "met"  # requested 03-12


def test_requests_confirmed_on_time_late_never_rejected_and_not_yet_due(
    found: Outcomes,
) -> None:
    assert _by(found.requests, "request_id", "outcome") == {
        1: "on_time",  # confirmed late on the day it was expected
        2: "late",
        3: "not_confirmed",
        4: "rejected",
        5: "too_early",  # expected 03-25, the clock reads 03-21
        6: "on_time",
    }


def test_a_site_scoped_user_sees_only_the_decisions_of_their_site(tmp_path: Path) -> None:
    found = dc.case_outcomes(tmp_path, Scope.of(locations={"DC-B"}))
    assert sorted(found.items["exception_id"].to_list()) == [3, 5]
    assert found.requests["request_id"].to_list() == [6]


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(PeriodError, match="2026-03-05 to 2026-03-01: the start is after"):
        Period(date(2026, 3, 5), date(2026, 3, 1))
