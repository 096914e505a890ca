"""The available-to-promise rule on hand-drawn projections (no warehouse).

The item-site of every case below, T = 2026-03-18, horizon 30 days:

    day     supply              demand             A(d)   min A(t), t >= d
    03-18                                          85     15
    03-19   P2 20 (past due)    O4 40 (past due)   65     15
    03-22                       O1 50              15     15
    03-25   P1 96                                  111    51
    03-28                       O2 60              51     51
    04-10   P4 100                                 151    151
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from control_tower.promising.atp import DemandEvent, SupplyEvent, event_day, project

T = date(2026, 3, 18)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


SUPPLY = [
    SupplyEvent("P1", 1, 96.0, d(3, 25)),
    SupplyEvent("P2", 1, 20.0, d(3, 10)),
    SupplyEvent("P4", 1, 100.0, d(4, 10)),
]
DEMAND = [
    DemandEvent("O1", 1, 50.0, d(3, 22), "C1"),
    DemandEvent("O2", 1, 60.0, d(3, 28), "C2"),
    DemandEvent("O4", 1, 40.0, d(3, 15), "C1"),
]


@pytest.fixture
def p():
    return project(T, 85.0, SUPPLY, DEMAND, horizon_days=30)


def test_the_projection_adds_supply_and_takes_demand_on_their_days(p):
    assert [(x.day, x.available) for x in p.event_days()] == [
        (T, 85.0),
        (d(3, 19), 65.0),
        (d(3, 22), 15.0),
        (d(3, 25), 111.0),
        (d(3, 28), 51.0),
        (d(4, 10), 151.0),
    ]
    assert len(p.days) == 31
    assert p.end == d(4, 17)
    assert p.available(d(3, 24)) == 15.0


def test_past_due_supply_and_demand_count_on_the_day_after_t(p):
    day = p.days[1]
    assert day.day == T + timedelta(days=1)
    assert [(e.po_id, e.day) for e in day.supply] == [("P2", d(3, 19))]
    assert [(e.order_id, e.day) for e in day.demand] == [("O4", d(3, 19))]
    assert (day.supply_qty, day.demand_qty) == (20.0, 40.0)


def test_a_quantity_covered_on_the_wanted_day_is_promised_on_it(p):
    assert p.promisable_date(10, d(3, 20)) == d(3, 20)
    assert p.partial_qty(10, d(3, 20)) == 10


def test_partial_on_the_wanted_day_and_the_whole_later(p):
    assert p.partial_qty(30, d(3, 20)) == 15  # only 15 stay free through 03-22
    assert p.promisable_date(30, d(3, 20)) == d(3, 25)


def test_cumulative_look_ahead_keeps_stock_promised_to_a_later_order(p):
    # A(03-26) = 111, but O2 takes 60 on 03-28: promising 60 on 03-26 would break O2.
    assert p.available(d(3, 26)) >= 60
    assert p.promisable_date(60, d(3, 26)) == d(4, 10)
    assert p.partial_qty(60, d(3, 26)) == 51


def test_nothing_within_the_horizon(p):
    assert p.promisable_date(200, d(3, 20)) is None
    assert p.partial_qty(200, d(3, 20)) == 15


def test_a_wanted_day_before_t_plus_one_is_answered_from_t_plus_one(p):
    assert p.earliest_day(None) == d(3, 19)
    assert p.earliest_day(d(3, 1)) == d(3, 19)
    assert p.promisable_date(15, None) == d(3, 19)
    assert p.promisable_date(16, T) == d(3, 25)


def test_a_wanted_day_after_the_horizon_cannot_be_judged(p):
    assert p.promisable_date(1, d(5, 1)) is None
    assert p.partial_qty(1, d(5, 1)) == 0


def test_events_after_the_horizon_are_left_out():
    p = project(T, 0.0, [SupplyEvent("P9", 1, 50.0, T + timedelta(days=11))], [], 10)
    assert p.days[-1].available == 0
    assert p.promisable_date(1) is None


def test_no_snapshot_starts_from_zero_with_a_note():
    p = project(T, None, [SupplyEvent("P1", 1, 60.0, d(3, 21))], [], 10)
    assert p.start_available == 0
    assert p.promisable_date(10) == d(3, 21)
    assert p.notes == (
        "not in the site's latest inventory snapshot on or before 2026-03-18: starts from 0 available",
    )


@pytest.mark.parametrize("qty", [0, -5])
def test_a_quantity_not_positive_is_an_error(p, qty):
    with pytest.raises(ValueError, match=f"qty={qty}: the quantity to promise must be positive"):
        p.promisable_date(qty)
    with pytest.raises(ValueError, match="must be positive"):
        p.partial_qty(qty)


def test_a_bad_horizon_is_an_error():
    with pytest.raises(ValueError, match="horizon_days=0: the horizon must be 1 to 730 days"):
        project(T, 1.0, [], [], 0)


def test_undated_supply_counts_on_t_plus_one():
    assert event_day(T, None) == d(3, 19)
    assert event_day(T, T) == d(3, 19)
    assert event_day(T, d(3, 30)) == d(3, 30)


def test_the_json_carries_every_day_with_its_events(p):
    j = p.to_json()
    assert j["as_of"] == "2026-03-18"
    assert len(j["days"]) == 31
    assert j["days"][7]["supply"] == [
        {
            "po_id": "P1",
            "line_no": 1,
            "qty": 96.0,
            "expected_date": "2026-03-25",
            "day": "2026-03-25",
        }
    ]
