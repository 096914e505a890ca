"""Re-promising an open line in place, on the hand-drawn delivery of tests/support/promise_cases.py.

T = 2026-03-12. A5|1 (2 of I1 at L1, promised 03-15) is short: its ATP date is 03-20.
C1|1 (10 of I3 at L2, promised 03-14) is covered from 03-18 by two POs.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from control_tower.accounts import Scope
from control_tower.exceptions.detect import refresh_exceptions
from control_tower.exceptions.mirror import mirror_line_promises
from control_tower.exceptions.workflow import REPROMISED, TransitionError, act
from control_tower.promising import sql as S
from control_tower.storage.changes import Changes
from control_tower.views.repromise import (
    RepromiseError,
    RepromiseNotAllowedError,
    UnknownLineError,
    read_line,
    repromise_line,
)
from tests.support.exception_cases import items, settings, store, writer
from tests.support.exception_deltas import queue
from tests.support.promise_cases import AS_OF, detected_kit

AT = datetime(2026, 3, 12, 11, 0)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return detected_kit(tmp_path_factory.mktemp("repromise"))


@pytest.fixture
def home(kit: Path, tmp_path: Path) -> Path:
    """A private copy of the detected kit, its queue included."""
    return Path(shutil.copytree(kit, tmp_path / "home", ignore=shutil.ignore_patterns("serving")))


def run(home: Path, order: str, line: int, day: date, reason: str = "supplier delay", **kw):
    args = {"user": "cora", "role": "customer_service", "scope": Scope(), "now": AT}
    args |= {"as_of": AS_OF, **kw}
    with writer(home) as con, store(home) as s:
        return repromise_line(
            con, s, order_id=order, line_no=line, promised_date=day, reason=reason, **args
        )


def test_a_covered_re_promise_closes_the_at_risk_item(home: Path) -> None:
    out = run(home, "A5", 1, date(2026, 3, 20))
    assert (out.covered, out.atp_date, out.item_closed) == (True, date(2026, 3, 20), True)
    assert out.old_date == date(2026, 3, 15)
    item = items(home, "order_at_risk")["A5|1"]
    assert (item.status, item.resolution_code) == ("resolved", REPROMISED)
    with store(home) as s:
        trail = [(a.action, a.actor) for a in s.audit(item.id)]
        (recorded,) = s.line_promises("A5", 1)
        note = s.comments(item.id)[-1].body
    assert trail[-2:] == [("comment", "cora"), ("resolve", "cora")]
    assert note.startswith("Re-promised from 2026-03-15 to 2026-03-20: supplier delay")
    assert (recorded.previous_promised_date, recorded.promised_date) == (
        date(2026, 3, 15),
        date(2026, 3, 20),
    )
    for part in ("A5", "line 1", "I1", "Sunday 15 March 2026", "Friday 20 March 2026"):
        assert part in out.message
    assert "supplier delay" not in out.message  # the reason stays inside


def test_an_uncovered_re_promise_is_noted_and_leaves_the_item_open(home: Path) -> None:
    out = run(home, "C1", 1, date(2026, 3, 16))
    assert (out.covered, out.atp_date, out.item_closed) == (False, date(2026, 3, 18), False)
    item = items(home, "order_at_risk")["C1|1"]
    assert item.status == "open"
    with store(home) as s:
        assert "earliest covered day is 2026-03-18" in s.comments(item.id)[-1].body


def test_the_first_promise_stays_and_the_latest_re_promise_is_the_line_promise(home) -> None:
    run(home, "C1", 1, date(2026, 3, 16))
    run(home, "C1", 1, date(2026, 3, 18), now=datetime(2026, 3, 12, 12, 0))
    with writer(home) as con, store(home) as s:
        line = read_line(con, s, "C1", 1)
        history = [(p.previous_promised_date, p.promised_date) for p in s.line_promises("C1", 1)]
    assert line.promised_date == date(2026, 3, 18)
    assert line.first_promised_date == date(2026, 3, 14)
    assert history == [
        (date(2026, 3, 14), date(2026, 3, 16)),
        (date(2026, 3, 16), date(2026, 3, 18)),
    ]


def test_a_newer_extract_of_the_line_wins_over_an_older_re_promise(home: Path) -> None:
    run(home, "C1", 1, date(2026, 3, 18))
    with writer(home) as con, store(home) as s:
        con.execute(
            "UPDATE main.sales_order_lines SET promised_date = DATE '2026-03-25', "
            "updated_at = TIMESTAMP '2026-03-12 12:00:00' WHERE order_id = 'C1'"
        )
        assert read_line(con, s, "C1", 1).promised_date == date(2026, 3, 25)


@pytest.mark.parametrize(
    ("order", "line", "day", "reason", "kw", "error", "says"),
    [
        ("A5", 1, date(2026, 3, 20), "x", {"role": "executive"}, RepromiseNotAllowedError, "role"),
        ("A5", 1, date(2026, 3, 20), "x", {"role": "warehouse_supervisor"},
         RepromiseNotAllowedError, "may not"),
        ("A5", 1, AS_OF, "x", {}, RepromiseError, "from 2026-03-13 on"),
        ("A5", 1, date(2026, 3, 20), "  ", {}, RepromiseError, "say why"),
        ("A5", 1, "2026-03-20", "x", {}, RepromiseError, "must be a date"),
        ("A5", 1, date(2028, 3, 20), "x", {}, RepromiseError, "730 days"),
        ("ZZ", 1, date(2026, 3, 20), "x", {}, UnknownLineError, "no order line ZZ"),
        ("A5", 1, date(2026, 3, 20), "x", {"scope": Scope.of(entities=["E2"])},
         UnknownLineError, "in your scope"),
        ("M1", 1, date(2026, 3, 20), "x", {}, RepromiseError, "it is shipped"),
        ("A6", 1, date(2026, 3, 20), "x", {}, RepromiseError, "it is released"),
        ("A5", 1, date(2026, 3, 20), "x" * 5000, {}, ValueError, "at most 4,000"),
    ],
)  # fmt: skip
def test_refusals_name_what_is_wrong_and_record_nothing(
    home: Path, order, line, day, reason, kw, error, says
) -> None:
    with pytest.raises(error, match=says):
        run(home, order, line, day, reason, **kw)
    with store(home) as s:
        assert s.line_promises(order, line) == []
    assert items(home, "order_at_risk")["A5|1"].status == "open"


def test_a_person_cannot_pick_the_re_promised_reason(home: Path) -> None:
    item = items(home, "order_at_risk")["A5|1"]
    with (
        store(home) as s,
        pytest.raises(TransitionError, match="re_promised is recorded by the tower"),
    ):
        act(s, item.id, "resolve", user="pat", role="planner", reason=REPROMISED)


def test_the_atp_demand_reads_the_mirrored_re_promise(home: Path) -> None:
    run(home, "C1", 1, date(2026, 3, 18))
    with writer(home) as con, store(home) as s:
        assert mirror_line_promises(con, s) == 1
        rows = con.execute(S.demand_sql(), S.parameters(AS_OF)).fetchall()
    assert [(r[5], r[7]) for r in rows if r[2] == "C1"] == [(date(2026, 3, 18),) * 2]


def test_a_re_promise_runs_order_at_risk_again_as_a_full_refresh_would(
    kit: Path, tmp_path: Path
) -> None:
    homes = [
        Path(shutil.copytree(kit, tmp_path / n, ignore=shutil.ignore_patterns("serving")))
        for n in ("a", "b")
    ]
    reports = []
    for home, changes in zip(
        homes, (Changes.of_batches([]), Changes.full_refresh("the reference")), strict=True
    ):
        run(home, "A5", 1, date(2026, 3, 16))  # not covered: the item stays, its facts change
        with writer(home) as con:
            at = datetime(2026, 3, 12, 12, 0)
            reports.append(
                refresh_exceptions(
                    con, settings(home).app_db_url, as_of=at.date(), now=at, changes=changes
                )
            )
    assert reports[0].modes["order_at_risk"] == "whole"
    a, b = queue(homes[0]), queue(homes[1])
    assert a == b
    assert a[("order_at_risk", "A5|1")]["detail"]["promised_date"] == "2026-03-16"
    assert a[("order_at_risk", "A5|1")]["detail"]["first_promised_date"] == "2026-03-15"
