"""Promise answers through real landing: the delivery of `tests.support.promise_case`."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.promising import sql as S
from control_tower.promising.answer import (
    OutOfScopeError,
    PromiseInputError,
    PromiseLine,
    PromiseRequest,
    RiskScores,
    answer,
    as_of_day,
)

T = date(2026, 3, 18)
ALL = Scope()


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def one(con, *args, scope=ALL, **kw):
    (a,) = answer(con, [PromiseRequest(*args, **kw)], scope=scope)
    return a


def test_the_as_of_day_is_the_day_the_data_was_computed_for(con):
    assert as_of_day(con) == T


def test_landed_inputs_are_in_base_units_with_past_due_on_t_plus_one(con):
    params = S.parameters(T, [("I1", "L1")])
    start = con.execute(S.start_sql(restricted=True), params).fetchall()
    assert start == [("I1", "L1", d(3, 17), 100.0, 10.0, 5.0, 85.0)]
    supply = con.execute(S.supply_sql(restricted=True), params).fetchall()
    assert [(r[2], r[5], r[6]) for r in supply] == [
        ("P2", 20.0, d(3, 19)),  # past due: T+1
        ("P1", 96.0, d(3, 25)),  # 10 CS = 120, 24 received
        ("P4", 100.0, d(4, 10)),
    ]
    demand = con.execute(S.demand_sql(restricted=True), params).fetchall()
    assert [(r[2], r[6], r[7]) for r in demand] == [
        ("O4", 40.0, d(3, 19)),  # past due: T+1
        ("O1", 50.0, d(3, 22)),
        ("O2", 60.0, d(3, 28)),  # backordered, 20 shipped; O3 released is in allocated
    ]


def test_unrestricted_queries_read_every_item_location(con):
    rows = con.execute(S.start_sql(), S.parameters(T)).fetchall()
    assert {(r[0], r[1]) for r in rows} == {("I1", "L1"), ("I1", "L2"), ("I1", "L3")}
    supply = con.execute(S.supply_sql(), S.parameters(T)).fetchall()
    assert [(r[0], r[2], r[5]) for r in supply] == [
        ("I1", "P2", 20.0),
        ("I1", "P1", 96.0),
        ("I1", "P4", 100.0),
        ("I2", "P6", 60.0),  # 10 cases of 6
    ]
    demand = con.execute(S.demand_sql(), S.parameters(T)).fetchall()
    assert [r[2] for r in demand] == ["O4", "O1", "O2"]
    for sql, columns in ((S.start_sql(), S.START_COLUMNS), (S.supply_sql(), S.SUPPLY_COLUMNS),
                         (S.demand_sql(), S.DEMAND_COLUMNS)):  # fmt: skip
        described = con.execute(sql, S.parameters(T)).description
        assert tuple(c[0] for c in described) == columns


def test_promisable_on_the_wanted_day(con):
    a = one(con, "I1", "L1", 10, d(3, 20))
    assert (a.status, a.date, a.partial_qty, a.alternatives) == ("promisable", d(3, 20), 10, ())


def test_partial_with_an_earlier_site_of_the_same_entity_only(con):
    a = one(con, "I1", "L1", 30, d(3, 20))
    assert (a.status, a.date, a.partial_qty) == ("partial", d(3, 25), 15)
    # L3 (E1) has 40 free now; L2 has 1000 but belongs to E2: never offered.
    assert [(x.location_id, x.date) for x in a.alternatives] == [("L3", d(3, 20))]


def test_a_site_outside_the_scope_is_not_offered(con):
    a = one(con, "I1", "L1", 30, d(3, 20), scope=Scope.of(locations=["L1"]))
    assert a.alternatives == ()


def test_cumulative_look_ahead_through_landing(con):
    a = one(con, "I1", "L1", 60, d(3, 26))
    assert a.projection.available(d(3, 26)) == 111
    assert (a.status, a.date, a.partial_qty) == ("partial", d(4, 10), 51)


def test_cases_are_converted_with_the_items_case_quantity(con):
    a = one(con, "I1", "L1", 2, d(3, 19), uom="CS")  # 24 eaches
    assert (a.qty, a.date, a.partial_qty) == (24, d(3, 25), 15)


def test_nothing_within_the_horizon(con):
    a = one(con, "I1", "L1", 2000, d(3, 20))
    assert (a.status, a.date, a.alternatives) == ("not_within_horizon", None, ())


def test_a_site_that_cannot_promise_offers_any_site_that_can(con):
    a = one(con, "I1", "L1", 160, d(3, 20))
    assert a.date is None
    assert a.alternatives == ()
    b = one(con, "I1", "L3", 45, None)  # L3 holds 40; L1 keeps 51 free from 03-25 on
    assert b.status == "not_within_horizon"
    assert [(x.location_id, x.date) for x in b.alternatives] == [("L1", d(3, 25))]


def test_no_snapshot_starts_from_zero_with_a_note(con):
    a = one(con, "I2", "L1", 1, uom="CS")  # 6 eaches; 10 CS arrive on 03-21
    assert (a.status, a.date, a.wanted) == ("later", d(3, 21), d(3, 19))
    assert a.notes == (
        "not in the site's latest inventory snapshot on or before 2026-03-18: starts from 0 available",
    )


def test_a_wanted_day_after_the_horizon_extends_it(con):
    (a,) = answer(con, [PromiseRequest("I1", "L1", 150, d(6, 1))], scope=ALL, horizon_days=10)
    assert a.date == d(6, 1)
    assert a.projection.end == d(6, 1)


def test_an_order_is_answered_line_by_line_in_one_pass(con):
    lines = [PromiseRequest("I1", "L1", 10, d(3, 20)), PromiseRequest("I1", "L3", 5)]
    a, b = answer(con, lines, scope=ALL)
    assert (a.date, b.date) == (d(3, 20), d(3, 19))


def test_a_location_outside_the_scope_is_refused(con):
    with pytest.raises(OutOfScopeError, match=r"location='L2' is outside your scope"):
        one(con, "I1", "L2", 1, scope=Scope.of(entities=["E1"]))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (PromiseRequest("NOPE", "L1", 1), "item='NOPE': no such item in the item master"),
        (PromiseRequest("I1", "L9", 1), "location='L9': no such location"),
        (PromiseRequest("I1", "L1", 0), "qty=0: the quantity must be a positive number"),
        (PromiseRequest("I1", "L1", -3.5), "qty=-3.5: the quantity must be a positive number"),
        (PromiseRequest("I1", "L1", 1, uom="PAL"), "uom='PAL': the unit must be one of EA, CS"),
        (PromiseRequest("I1", "L1", 1, "2026-03-20"), "date='2026-03-20': the wanted day"),  # type: ignore[arg-type]
        (PromiseRequest("I1", "L1", 1, d(12, 31) .replace(year=2028)), "date='2028-12-31': more than 730"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_value(con, request_, message):
    with pytest.raises(PromiseInputError, match=message):
        answer(con, [request_], scope=ALL)


def test_a_bad_line_of_an_order_is_named_by_its_number(con):
    with pytest.raises(PromiseInputError, match="line 2: item='X'"):
        answer(con, [PromiseRequest("I1", "L1", 1), PromiseRequest("X", "L1", 1)], scope=ALL)


def test_risk_scores_each_suggested_date_in_one_call(con):
    seen: list[list[PromiseLine]] = []

    def risk(lines, as_of):
        seen.append(list(lines))
        return RiskScores(tuple(0.1 * (i + 1) for i in range(len(lines))))

    (a,) = answer(con, [PromiseRequest("I1", "L1", 30, d(3, 20))], scope=ALL, risk=risk)
    assert [(x.location_id, x.promised_date, x.qty) for x in seen[0]] == [
        ("L1", d(3, 25), 30.0),
        ("L3", d(3, 20), 30.0),
    ]
    assert (a.risk, a.alternatives[0].risk) == (0.1, 0.2)


def test_the_json_answer(con):
    j = one(con, "I1", "L1", 2, d(3, 19), uom="CS").to_json()
    assert {k: j[k] for k in ("requested_qty", "uom", "qty", "date", "status", "partial_qty")} == {
        "requested_qty": 2.0,
        "uom": "CS",
        "qty": 24.0,
        "date": "2026-03-25",
        "status": "partial",
        "partial_qty": 15.0,
    }
    assert j["projection"]["days"][0] == {
        "day": "2026-03-18",
        "available": 85.0,
        "supply_qty": 0,
        "demand_qty": 0,
        "supply": [],
        "demand": [],
    }


def test_a_snapshot_without_re_promises_is_answered_on_the_landed_promises(
    con, promise_home, tmp_path
):
    expected = one(con, "I1", "L1", 30, d(3, 20))
    copy = tmp_path / "older.duckdb"
    shutil.copy(promise_home / "warehouse.duckdb", copy)
    with duckdb.connect(str(copy)) as older_db:
        older_db.execute("DROP TABLE exc.line_promises")
        older = one(older_db, "I1", "L1", 30, d(3, 20))
    assert (older.status, older.date, older.partial_qty) == (
        expected.status,
        expected.date,
        expected.partial_qty,
    )
