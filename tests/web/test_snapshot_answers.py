"""Answers read from a serving snapshot are read once per snapshot by each app: the lookups
every KPI tile makes (source freshness, the values' day) are read once, not per tile and per
request, while what depends on the time (a source turning stale) still follows the clock."""

from __future__ import annotations

from datetime import timedelta

from control_tower.accounts import Scope
from control_tower.kpi.serving import SnapshotCache, keeping, series
from control_tower.views.data_time import data_time
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.dash_callbacks import filter_values, post_callback, signed_in
from tests.support.demo_data import DEMO_AS_OF, DEMO_NOW
from tests.support.query_log import logged_queries
from tests.support.web_users import USERS

EXECUTIVE = [
    ("executive-tiles", "children"),
    ("executive-drafts", "children"),
    ("executive-subtitle", "children"),
]
FRESHNESS_READ = "FROM ops.table_freshness"
VALUES_DAY_READ = "SELECT max(as_of) FROM kpi.values"


def test_tiles_read_the_freshness_and_the_values_day_once_per_snapshot(app):
    context = app.server.extensions[EXTENSION_KEY]
    context.answers.clear()
    client = signed_in(app, USERS["executive"])
    ranges = [
        filter_values("executive", DEMO_AS_OF - timedelta(days=27), DEMO_AS_OF),
        filter_values("executive", DEMO_AS_OF - timedelta(days=6), DEMO_AS_OF, grain="week"),
    ]
    with logged_queries(context) as log:
        for inputs in ranges * 2:
            assert post_callback(client, EXECUTIVE, inputs).status_code == 200
    assert sum(FRESHNESS_READ in q for q in log) == 1, log
    assert sum(q == VALUES_DAY_READ for q in log) == 1, log


def test_kept_freshness_still_follows_the_clock(snapshot, catalog):
    tables = catalog.kpi("line_fill_rate").model.tables
    cache = SnapshotCache(16)
    with keeping("demo snapshot", cache):
        today = data_time(snapshot, tables, DEMO_NOW)
        read = cache.misses
        a_month_on = data_time(snapshot, tables, DEMO_NOW + timedelta(days=30))
    assert cache.misses == read  # nothing read again
    assert today.stale == ()
    assert a_month_on.stale
    assert "erp (" in a_month_on.stale[0]


def test_a_breakdown_by_thousands_of_items_is_not_kept_beside_its_computed_days(snapshot, catalog):
    kpi = catalog.kpi("line_fill_rate")
    cache = SnapshotCache(16)
    span = {"scope": Scope(), "start": DEMO_AS_OF - timedelta(days=27), "end": DEMO_AS_OF}
    with keeping("demo snapshot", cache):
        series(snapshot, kpi, dimension="item_id", **span)
        by_item = cache.misses  # the values' day only
        series(snapshot, kpi, dimension="location_id", **span)
    assert by_item == 1
    assert cache.misses == 2  # a breakdown by location is kept
