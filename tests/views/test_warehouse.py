"""The warehouse page's queries (`control_tower.views.warehouse`) on the small demo
snapshot: each answer equals an independent SQL question, and a DC-NJ scope sees DC-NJ only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.views import sites as vs
from control_tower.views import warehouse as wv
from control_tower.views import waves as vw
from control_tower.views.figures import Breakdown
from control_tower.views.kpi import utc_now
from tests.support.dash_callbacks import ratio_from_values
from tests.support.web_users import SUPERVISOR_SITE

NJ = Scope.of(locations=[SUPERVISOR_SITE])


def test_a_site_scope_sees_its_site_only(snapshot):
    assert [s.location_id for s in vs.sites(snapshot, NJ)] == [SUPERVISOR_SITE]
    everything = vs.sites(snapshot, Scope())
    assert len(everything) > 1
    other = next(s for s in everything if s.location_id != SUPERVISOR_SITE)
    day = vw.latest_wave_day(snapshot, other, Scope(), utc_now().date())
    if day is not None:  # another site's waves under the DC-NJ scope: nothing
        assert vw.waves_on(snapshot, other, day, scope=NJ, now=utc_now(), window_minutes=15) == []


def test_waves_are_judged_like_the_release_rule(snapshot):
    site = vs.pick_site(vs.sites(snapshot, NJ), None)
    now = utc_now()
    day = vw.latest_wave_day(snapshot, site, NJ, now.date())
    waves = vw.waves_on(snapshot, site, day, scope=NJ, now=now, window_minutes=15)
    on_time, total = snapshot.execute(
        "SELECT count(*) FILTER (WHERE released_ts BETWEEN planned_release_ts - INTERVAL 15 MINUTE "
        "AND planned_release_ts + INTERVAL 15 MINUTE), count(*) FROM waves "
        "WHERE location_id = ? AND planned_release_ts_local_date = ? AND status <> 'cancelled'",
        [SUPERVISOR_SITE, day],
    ).fetchone()
    assert len([w for w in waves if w.status != "cancelled"]) == total
    assert sum(w.release_state == "on_time" for w in waves) == on_time
    first = waves[0]
    # local time = UTC shifted by the site's offset; the difference is whole hours
    (utc,) = snapshot.execute(
        "SELECT planned_release_ts FROM waves WHERE wave_id = ?", [first.wave_id]
    ).fetchone()
    assert (first.planned_release - utc) % timedelta(hours=1) == timedelta(0)
    assert first.planned_release != utc


def test_putaway_backlog_counts_lines_waiting(snapshot):
    now = utc_now()
    waiting, over = snapshot.execute(
        "SELECT count(*), count(*) FILTER (WHERE arrived_ts < ? - INTERVAL 48 HOUR) "
        "FROM receipts WHERE putaway_ts IS NULL AND arrived_ts <= ? AND location_id = ?",
        [now, now, SUPERVISOR_SITE],
    ).fetchone()
    backlog = wv.putaway_backlog(snapshot, NJ, now, location_id=SUPERVISOR_SITE)
    assert (backlog.waiting, backlog.over_limit) == (waiting, over)
    assert wv.putaway_backlog(snapshot, NJ, now) == backlog  # the scope alone gives the same


def test_queue_counts_equal_the_mirror(snapshot):
    now = utc_now()
    types = wv.owned_types()
    assert "late_wave" in types
    expected = dict(
        snapshot.execute(
            "SELECT type, count(*) FROM exc.queue_items WHERE status <> 'resolved' "
            "AND location_id = ? GROUP BY type",
            [SUPERVISOR_SITE],
        ).fetchall()
    )
    counts = wv.queue_counts(snapshot, NJ, now, types=types)
    assert {q.type: q.unresolved for q in counts if q.unresolved} == {
        t: n for t, n in expected.items() if t in types
    }


def test_late_order_risks_are_the_sites_top_scored_lines(snapshot):
    expected = snapshot.execute(
        "SELECT order_id, line_no FROM risk.late_order_scores WHERE location_id = ? "
        "ORDER BY probability * coalesce(value, 0) DESC, probability DESC, order_id, line_no "
        "LIMIT 12",
        [SUPERVISOR_SITE],
    ).fetchall()
    assert expected, "the demo's risk step scores open lines"
    risks = wv.late_order_risks(snapshot, NJ, SUPERVISOR_SITE)
    assert [(r.order_id, r.line_no) for r in risks] == expected
    assert all(0 <= r.probability <= 1 for r in risks)
    assert any(r.reasons for r in risks)
    other = next(s.location_id for s in vs.sites(snapshot, Scope()) if s.location_id != "DC-NJ")
    assert wv.late_order_risks(snapshot, NJ, other) == []
    assert wv.late_order_risks(snapshot, Scope(), other) != []


def _warehouse(snapshot, catalog, site, user_scope=NJ, days=13, grain="day"):
    end = latest_as_of(snapshot)
    return wv.warehouse_view(
        snapshot,
        catalog,
        user_scope,
        Scope.of(locations=[site.location_id]),
        site,
        start=end - timedelta(days=days),
        end=end,
        grain=grain,
        now=utc_now(),
    )


def test_the_page_figures_of_a_wave_site(snapshot, catalog):
    site = vs.pick_site(vs.sites(snapshot, NJ), None)
    assert site.wave_based
    page = _warehouse(snapshot, catalog, site)
    end = latest_as_of(snapshot)
    start = end - timedelta(days=13)
    for head in (page.release, page.completion):
        expected = ratio_from_values(snapshot, head.kpi, start, end, location_id=SUPERVISOR_SITE)
        assert head.total.value == pytest.approx(expected), head.kpi.name
        assert len(head.trend) == len({p.period for p in head.trend})  # one point a day
    assert page.window_minutes == 15
    accuracy = page.accuracy
    assert isinstance(accuracy, Breakdown)
    kpi = page.kpis[wv.ACCURACY_KPI]
    expected = ratio_from_values(snapshot, kpi, start, end, location_id=SUPERVISOR_SITE)
    assert accuracy.total.value == pytest.approx(expected)
    assert sum(b.denominator or 0 for b in accuracy.bars) == accuracy.total.denominator
    outbound = page.outbound
    assert isinstance(outbound, wv.WaveDay)
    assert outbound.day == vw.latest_wave_day(snapshot, site, NJ, end)
    assert outbound.late == sum(w.late for w in outbound.waves)
    waiting = snapshot.execute(
        "SELECT count(*) FROM receipts WHERE putaway_ts IS NULL AND location_id = ?",
        [SUPERVISOR_SITE],
    ).fetchone()[0]
    assert page.backlog.waiting == waiting  # every receipt has arrived by now
    by_type = {q.type: q.unresolved for q in page.queues}
    assert set(by_type) == set(wv.owned_types())
    assert [(r.order_id, r.line_no) for r in page.late_risks.rows] == [
        (r.order_id, r.line_no) for r in wv.late_order_risks(snapshot, NJ, SUPERVISOR_SITE)
    ]
    assert page.late_risks.model_note


def test_a_site_without_waves_gets_its_cutoffs(snapshot, catalog):
    site = next((s for s in vs.sites(snapshot, Scope()) if not s.wave_based), None)
    assert site is not None, "the demo has a site that does not run waves"
    page = _warehouse(snapshot, catalog, site, user_scope=Scope())
    outbound = page.outbound
    assert isinstance(outbound, vw.CutoffDay)
    end = latest_as_of(snapshot)
    assert outbound.day == vw.latest_cutoff_day(snapshot, site, Scope(), end)
    assert outbound.on_time + outbound.late <= outbound.total


def test_dock_to_stock_is_the_latest_period_of_its_trend(snapshot, catalog):
    site = vs.pick_site(vs.sites(snapshot, NJ), None)
    page = _warehouse(snapshot, catalog, site, days=27, grain="week")
    measured = [p for p in page.dock.trend if p.value is not None]
    assert measured
    assert page.dock.latest.value == max(measured, key=lambda p: p.period).value
