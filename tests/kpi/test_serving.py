"""KPI series under a scope: the materialised and the computed paths give the same numbers.

Order lines landed through the real pipeline (which materialises kpi.values
as of today), first shipment quantity in brackets, "-" not shipped:

    order  day (2026-03)  location  entity  item (class)  ordered  shipped  first-time filled
    O8     Fri 27 Feb     L2        E2      I3 (C)        10       10       yes
    O1/1   Mon 2          L1        E1      I1 (A)        10       10       yes
    O1/2   Mon 2          L1        E1      I2 (B)        10       4        no
    O5     Tue 3          L2        E2      I3 (C)        100      100      yes
    O2     Wed 4          L1        E1      I1 (A)        5        5        yes
    O3     Tue 10         L1        E1      I2 (B)        8        8        yes
    O6     Wed 11         L2        E2      I3 (C)        50       20       no
    O4     Mon 16         L1        E1      I1 (A)        6        -        no (past its promise)
    O7     Wed 18         L2        E2      I3 (C)        10       10       yes

The range asked is Tue 3 to Tue 17 March: by day it holds O5, O2, O3, O6,
O4; by week it starts on Mon 2 (whole weeks), by month on 1 March.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.serving import (
    COMPUTED,
    OutOfScopeError,
    SnapshotCache,
    _computed,
    _materialised,
    scope_where,
    series,
    snapshot_key,
    total,
)
from tests.support.extracts import warehouse
from tests.support.kpi_rows import ORDER_HEADER, SHIP_HEADER, land_rows

TS = "2026-03-01T00:00:00Z"
START, END = date(2026, 3, 3), date(2026, 3, 17)
LINES = [
    # order, line, entity, item, location, day, ordered, shipped (None: not shipped)
    ("O8", 1, "E2", "I3", "L2", 27, 10, 10),
    ("O1", 1, "E1", "I1", "L1", 2, 10, 10),
    ("O1", 2, "E1", "I2", "L1", 2, 10, 4),
    ("O5", 1, "E2", "I3", "L2", 3, 100, 100),
    ("O2", 1, "E1", "I1", "L1", 4, 5, 5),
    ("O3", 1, "E1", "I2", "L1", 10, 8, 8),
    ("O6", 1, "E2", "I3", "L2", 11, 50, 20),
    ("O4", 1, "E1", "I1", "L1", 16, 6, None),
    ("O7", 1, "E2", "I3", "L2", 18, 10, 10),
]
SCOPES = {
    "all": Scope(),
    "location": Scope.of(locations=["L1"]),
    "entity": Scope.of(entities=["E2"]),
}
KPIS = ("line_fill_rate", "unit_fill_rate", "order_fill_rate")


def _day(day: int) -> date:
    return date(2026, 2, day) if day > 20 else date(2026, 3, day)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("serving") / "home"
    orders, ships = ORDER_HEADER, SHIP_HEADER
    for order, line, entity, item, location, day, qty, shipped in LINES:
        ordered = _day(day)
        promised = date.fromordinal(ordered.toordinal() + 2)
        orders += (
            f"{order},{line},{entity},C1,{item},{location},EDI,{ordered} 09:00:00,{qty},EA,4.00,"
            f"{promised},{promised},,open,{TS}\n"
        )
        if shipped is not None:
            ships += f"S{order}{line},{order},{line},{item},{location},,{shipped},EA,{ordered} 15:00:00\n"
    land_rows(home, {"sales_order_lines": orders, "shipments": ships})
    return home


@pytest.fixture(scope="module")
def cur(home: Path):
    with warehouse(home) as con:
        yield con


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _same(a, b) -> None:
    key = [(p.period, p.member) for p in a.points]
    assert key == [(p.period, p.member) for p in b.points]
    for p, q in zip(a.points, b.points, strict=True):
        assert (p.numerator, p.denominator) == (q.numerator, q.denominator), (p, q)
        assert p.value == pytest.approx(q.value)
    assert a.freshness == b.freshness


class TestBothPathsAgree:
    @pytest.mark.parametrize("name", KPIS)
    @pytest.mark.parametrize("grain", ["day", "week", "month"])
    @pytest.mark.parametrize(
        ("scope", "dimension"),
        # a breakdown across another restriction is always computed: not listed
        [(s, None) for s in SCOPES]
        + [("all", "location_id"), ("all", "entity_id")]
        + [("location", "location_id"), ("entity", "entity_id")],
    )
    def test_materialised_equals_computed(
        self, cur, catalog, name, grain, scope, dimension
    ) -> None:
        kpi = catalog.kpi(name)
        where = scope_where(kpi, SCOPES[scope])
        fast = _materialised(cur, kpi, where, START, END, grain, dimension)
        slow = _computed(cur, kpi, where, START, END, grain, dimension)
        assert fast is not None
        assert fast.source == "materialised"
        assert fast.points, "the range holds lines"
        _same(fast, slow)

    def test_a_scope_on_entity_and_location_is_computed_and_agrees(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        both = series(cur, kpi, scope=Scope.of(["E1"], ["L1"]), start=START, end=END, grain="week")
        one = series(cur, kpi, scope=Scope.of(locations=["L1"]), start=START, end=END, grain="week")
        assert (both.source, one.source) == ("computed", "materialised")
        _same(both, one)  # L1 is all of E1's lines


class TestFiguresByHand:
    def test_location_scope_over_the_range(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        s = series(cur, kpi, scope=Scope.of(locations=["L1"]), start=START, end=END)
        assert [(p.period, p.numerator, p.denominator) for p in s.points] == [
            (date(2026, 3, 4), 1, 1),  # O2
            (date(2026, 3, 10), 1, 1),  # O3
            (date(2026, 3, 16), 0, 1),  # O4, past its promise, never shipped
        ]
        assert total(s) == pytest.approx(2 / 3)

    def test_weeks_are_whole(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        s = series(cur, kpi, scope=SCOPES["location"], start=START, end=END, grain="week")
        # week of Mon 2: O1/1, O1/2 (short), O2; week of Mon 9: O3; week of Mon 16: O4
        assert [(p.period, p.numerator, p.denominator) for p in s.points] == [
            (date(2026, 3, 2), 2, 3),
            (date(2026, 3, 9), 1, 1),
            (date(2026, 3, 16), 0, 1),
        ]

    def test_entity_scope_breakdown_keeps_only_its_members(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        s = series(cur, kpi, scope=SCOPES["entity"], start=START, end=END, dimension="entity_id")
        assert {p.member for p in s.points} == {"E2"}
        assert total(s) == pytest.approx(1 / 2)  # O5 filled, O6 short

    def test_members_limits_a_breakdown(self, cur, catalog) -> None:
        kpi = catalog.kpi("unit_fill_rate")
        s = series(
            cur,
            kpi,
            scope=Scope(),
            start=START,
            end=END,
            dimension="location_id",
            members=["L2"],
        )
        assert {p.member for p in s.points} == {"L2"}
        assert total(s) == pytest.approx((100 + 20) / (100 + 50))  # O5, O6


class TestOutOfScope:
    def test_a_scope_on_a_dimension_the_kpi_lacks_raises(self, cur, catalog) -> None:
        kpi = catalog.kpi("days_to_close")  # by entity only
        assert "location_id" not in kpi.dimensions
        with pytest.raises(OutOfScopeError, match="location_id"):
            series(cur, kpi, scope=SCOPES["location"], start=START, end=END)

    def test_an_entity_scope_applies_to_that_kpi(self, cur, catalog) -> None:
        kpi = catalog.kpi("days_to_close")
        s = series(cur, kpi, scope=SCOPES["entity"], start=START, end=END)
        assert all(p.member is None for p in s.points)


class TestComputedPathKeptPerSnapshot:
    """A breakdown under another restriction is computed once per read-only snapshot, scope
    and breakdown, then summed for any range and grain with the same numbers."""

    def test_other_ranges_and_grains_reuse_the_computed_days(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        scope = Scope.of(locations=["L1"])  # and a breakdown by item: the computed path
        COMPUTED.clear()
        first = series(cur, kpi, scope=scope, start=START, end=END, dimension="item_id")
        assert first.source == "computed"
        assert (COMPUTED.misses, COMPUTED.hits) == (1, 0)
        weekly = series(
            cur, kpi, scope=scope, start=START, end=END, grain="week", dimension="item_id"
        )
        later = series(cur, kpi, scope=scope, start=date(2026, 3, 10), end=END, dimension="item_id")
        assert (COMPUTED.misses, COMPUTED.hits) == (1, 2)
        where = scope_where(kpi, scope)
        for got, (start, grain) in ((weekly, (START, "week")), (later, (date(2026, 3, 10), "day"))):
            COMPUTED.clear()
            _same(got, _computed(cur, kpi, where, start, END, grain, "item_id"))
        # O3 (I2) and O4 (I1) from the 10th; O2 (I1) before it
        assert {(p.member, p.numerator, p.denominator) for p in later.points} == {
            ("I2", 1, 1),
            ("I1", 0, 1),
        }

    def test_another_scope_is_computed_again(self, cur, catalog) -> None:
        kpi = catalog.kpi("line_fill_rate")
        COMPUTED.clear()
        series(
            cur, kpi, scope=Scope.of(locations=["L1"]), start=START, end=END, dimension="item_id"
        )
        other = series(
            cur, kpi, scope=Scope.of(locations=["L2"]), start=START, end=END, dimension="item_id"
        )
        assert COMPUTED.misses == 2
        assert {p.member for p in other.points} == {"I3"}

    def test_a_writable_database_is_never_cached(self, home, catalog, tmp_path) -> None:
        kpi = catalog.kpi("line_fill_rate")
        copy = tmp_path / "writable.duckdb"
        shutil.copyfile(home / "warehouse.duckdb", copy)
        con = duckdb.connect(str(copy))
        try:
            assert snapshot_key(con) is None
            COMPUTED.clear()
            scope = Scope.of(locations=["L1"])
            for _ in range(2):
                series(con, kpi, scope=scope, start=START, end=END, dimension="item_id")
            assert (COMPUTED.misses, COMPUTED.hits) == (0, 0)
        finally:
            con.close()


def test_concurrent_first_requests_make_the_answer_once(cur) -> None:
    cache = SnapshotCache(4)
    made: list[int] = []
    started = threading.Event()

    def make() -> int:
        made.append(1)
        started.set()
        time.sleep(0.2)
        return 42

    def ask() -> int:
        child = cur.cursor()
        try:
            return cache.get(child, "key", make)
        finally:
            child.close()

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(ask)
        started.wait()
        others = [pool.submit(ask) for _ in range(3)]
        answers = [first.result(), *(f.result() for f in others)]
    assert answers == [42] * 4
    assert made == [1]
    assert (cache.misses, cache.hits) == (1, 3)
