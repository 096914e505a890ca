"""The finance page's queries (`control_tower.views.finance`) on the small demo snapshot:
each answer equals an independent SQL question, and scope limits what comes back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.views import finance as fv
from control_tower.views.figures import Breakdown
from tests.support.dash_callbacks import ratio_from_values
from tests.support.finance_money import REPORTING_FACTOR, REPORTING_JOINS
from tests.support.web_users import SUPERVISOR_SITE


def test_checklist_scope(snapshot):
    as_of = latest_as_of(snapshot)
    query = "SELECT DISTINCT entity_id FROM close_tasks ORDER BY 1"
    entities = [r[0] for r in snapshot.execute(query).fetchall()]
    assert [c.entity_id for c in fv.close_checklist(snapshot, Scope(), as_of)] == entities
    one = Scope.of(entities=[entities[0]])
    assert [c.entity_id for c in fv.close_checklist(snapshot, one, as_of)] == [entities[0]]
    # close tasks have no location: a location scope sees none (fail closed)
    assert fv.close_checklist(snapshot, Scope.of(locations=[SUPERVISOR_SITE]), as_of) == []


def test_overdue_days_count_from_the_due_date(snapshot):
    as_of = latest_as_of(snapshot)
    for close in fv.close_checklist(snapshot, Scope(), as_of):
        for task in close.tasks:
            if task.overdue:
                assert task.status == "open"
                assert task.days_overdue == (as_of - task.due_date).days


def test_expedited_share_by_carrier_for_one_site(snapshot):
    as_of = latest_as_of(snapshot)
    start = as_of - timedelta(days=60)
    expected = {
        carrier: (moves, float(share))
        for carrier, moves, share in snapshot.execute(
            """
            SELECT f.carrier_id, count(*),
                   sum(f.actual_freight_cost) FILTER (WHERE f.expedited) / sum(f.actual_freight_cost)
            FROM freight_shipments f
            WHERE f.status <> 'cancelled' AND f.actual_freight_cost IS NOT NULL
              AND f.actual_pickup_ts IS NOT NULL
              AND f.actual_pickup_ts_local_date >= ? AND f.actual_pickup_ts_local_date < ?
              AND (SELECT min(s.location_id) FROM shipments s WHERE s.shipment_id = f.shipment_id) = ?
            GROUP BY 1
            """,
            [start, as_of, SUPERVISOR_SITE],
        ).fetchall()
    }
    rows = fv.expedited_share(
        snapshot, Scope.of(locations=[SUPERVISOR_SITE]), start=start, end=as_of, as_of=as_of
    )
    got = {r.carrier_id: (r.moves, r.cost_share or 0.0) for r in rows if r.carrier_id}
    assert got.keys() == expected.keys()
    for carrier, (moves, share) in expected.items():
        assert got[carrier][0] == moves
        assert got[carrier][1] == pytest.approx(share or 0.0)
    overall = rows[-1]
    assert overall.carrier_id is None
    assert overall.moves == sum(m for m, _ in expected.values())


def test_expedited_share_of_an_entity_and_of_everything(snapshot):
    """The daily sums kept per snapshot give the same totals as the freight rows, for any
    range, with or without an entity."""
    as_of = latest_as_of(snapshot)
    entity = snapshot.execute("SELECT min(entity_id) FROM locations").fetchone()[0]
    for start, entity_id in (
        (as_of - timedelta(days=13), entity),
        (as_of - timedelta(days=90), None),
    ):
        # costs in the reporting currency at the month average (money.fx_monthly, whose
        # figures tests/money checks by hand)
        moves, fast, cost, fast_cost = snapshot.execute(
            f"""
            WITH f AS (SELECT f.*, f.actual_freight_cost * {REPORTING_FACTOR} AS rc_cost
                       FROM freight_shipments f
                       LEFT JOIN locations l ON l.location_id = (SELECT min(s.location_id)
                           FROM shipments s WHERE s.shipment_id = f.shipment_id)
                       {REPORTING_JOINS})
            SELECT count(*), count(*) FILTER (WHERE f.expedited),
                   sum(f.rc_cost), sum(f.rc_cost) FILTER (WHERE f.expedited)
            FROM f
            LEFT JOIN locations l ON l.location_id =
                (SELECT min(s.location_id) FROM shipments s WHERE s.shipment_id = f.shipment_id)
            WHERE f.status <> 'cancelled' AND f.actual_freight_cost IS NOT NULL
              AND f.actual_pickup_ts IS NOT NULL
              AND f.actual_pickup_ts_local_date BETWEEN ? AND ?
              AND f.actual_pickup_ts_local_date < ?
              AND (CAST(? AS VARCHAR) IS NULL OR l.entity_id = ?)
            """,
            [start, as_of, as_of, entity_id, entity_id],
        ).fetchone()
        rows = fv.expedited_share(
            snapshot, Scope(), start=start, end=as_of, as_of=as_of, entity_id=entity_id
        )
        overall = rows[-1]
        assert overall.carrier_id is None
        assert (overall.moves, overall.expedited_moves) == (moves, fast)
        assert overall.actual_cost == pytest.approx(float(cost))
        assert overall.expedited_cost == pytest.approx(float(fast_cost or 0))
        assert sum(r.moves for r in rows[:-1]) == moves


def _finance(snapshot, catalog, scope, days=27, **choice):
    as_of = latest_as_of(snapshot)
    return fv.finance_view(
        snapshot,
        catalog,
        scope,
        as_of=as_of,
        start=as_of - timedelta(days=days),
        end=as_of,
        grain="day",
        **choice,
    )


def test_the_page_figures_equal_kpi_values_and_the_queries(snapshot, catalog):
    page = _finance(snapshot, catalog, Scope())
    match = page.match
    assert isinstance(match, fv.InvoiceMatch)
    expected = ratio_from_values(snapshot, page.match_kpi, page.start, page.end)
    assert match.headline.total.value == pytest.approx(expected)
    assert match.headline.measured
    assert len(match.suppliers) <= fv.WORST_SUPPLIERS
    values = [b.value for b in match.suppliers if b.value is not None]
    assert values == sorted(values)  # worst (lowest match rate) first
    freight = page.freight
    assert isinstance(freight, Breakdown)
    expected = ratio_from_values(snapshot, page.freight_kpi, page.start, page.end)
    assert freight.total.value == pytest.approx(expected)
    closes = fv.close_checklist(snapshot, Scope(), page.as_of)
    assert page.checklist == tuple(closes)
    assert page.checklist_tasks == sum(len(c.tasks) for c in closes)
    assert page.checklist_done == sum(1 for c in closes for t in c.tasks if t.status == "done")
    assert page.checklist_overdue == sum(1 for c in closes for t in c.tasks if t.overdue)
    assert page.expedited_overall == page.expedited[-1]


def test_days_to_close_covers_at_least_six_months_by_entity(snapshot, catalog):
    page = _finance(snapshot, catalog, Scope(), days=6)
    close = page.close
    assert close is not None
    assert close.start == fv.months_before(page.end, fv.CLOSE_MONTHS - 1)
    assert close.start.day == 1
    entities = {r[0] for r in snapshot.execute("SELECT entity_id FROM locations").fetchall()}
    assert {p.member for p in close.points} <= entities
    assert close.latest_period == max(p.period for p in close.points)
    mine = [p for p in close.points if p.period == close.latest_period]
    num = sum(p.numerator for p in mine)
    den = sum(p.denominator for p in mine)
    assert close.latest.value == pytest.approx(num / den)


def test_a_location_scope_gets_no_entity_figures(snapshot, catalog):
    page = _finance(snapshot, catalog, Scope.of(locations=[SUPERVISOR_SITE]))
    assert page.close is None
    assert page.checklist is None
    assert page.checklist_tasks == 0
    match = page.match
    assert isinstance(match, fv.InvoiceMatch)  # invoices have a location: narrowed, not refused
    expected = ratio_from_values(
        snapshot, page.match_kpi, page.start, page.end, location_id=SUPERVISOR_SITE
    )
    assert match.headline.total.value == pytest.approx(expected)


def test_months_before_crosses_years():
    assert fv.months_before(date(2026, 2, 17), 5) == date(2025, 9, 1)
    assert fv.months_before(date(2026, 12, 31), 0) == date(2026, 12, 1)
