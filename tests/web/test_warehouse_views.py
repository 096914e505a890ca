"""The warehouse page's queries (`control_tower.ops.warehouse_views`) on the small demo
snapshot: each answer equals an independent SQL question, and a DC-NJ scope sees DC-NJ only."""

from __future__ import annotations

from datetime import timedelta

from control_tower.accounts import Scope
from control_tower.kpi.views import utc_now
from control_tower.ops import warehouse_views as wv
from tests.support.web_users import SUPERVISOR_SITE

NJ = Scope.of(locations=[SUPERVISOR_SITE])


def test_a_site_scope_sees_its_site_only(snapshot):
    assert [s.location_id for s in wv.sites(snapshot, NJ)] == [SUPERVISOR_SITE]
    everything = wv.sites(snapshot, Scope())
    assert len(everything) > 1
    other = next(s for s in everything if s.location_id != SUPERVISOR_SITE)
    day = wv.latest_wave_day(snapshot, other, Scope(), utc_now().date())
    if day is not None:  # another site's waves under the DC-NJ scope: nothing
        assert wv.waves_on(snapshot, other, day, scope=NJ, now=utc_now(), window_minutes=15) == []


def test_waves_are_judged_like_the_release_rule(snapshot):
    site = wv.pick_site(wv.sites(snapshot, NJ), None)
    now = utc_now()
    day = wv.latest_wave_day(snapshot, site, NJ, now.date())
    waves = wv.waves_on(snapshot, site, day, scope=NJ, now=now, window_minutes=15)
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
    other = next(s.location_id for s in wv.sites(snapshot, Scope()) if s.location_id != "DC-NJ")
    assert wv.late_order_risks(snapshot, NJ, other) == []
    assert wv.late_order_risks(snapshot, Scope(), other) != []
