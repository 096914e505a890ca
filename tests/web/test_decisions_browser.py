"""The decision review page in a real browser: a planner resolves stockout items as false
positives three weeks ago; the page's tile of false positives that stocked out anyway equals
an independent count over the published snapshots, and each resolved item links to its
exception page. Served by waitress over a private copy of the demo folder; Playwright drives
Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest
from sqlalchemy import select

from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.exceptions.workflow import act
from control_tower.storage.serving import open_snapshot
from tests.support.data_copies import private_copy
from tests.support.demo_data import DEMO_NOW
from tests.support.served import Served, serve
from tests.support.web_users import USERS

TIMEOUT_MS = 20_000
RESOLVED_AT = DEMO_NOW - timedelta(days=20)
HORIZON = 7
PERIOD_START = (DEMO_NOW - timedelta(days=27)).date()


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("decisions-browser"))
    with ExceptionStore.open(settings.app_db_url) as store:
        open_items = store.items(type="stockout_risk", status="unresolved", limit=12)
        assert len(open_items) >= 6, "the demo has too few open stockout items"
        for item in open_items:
            act(store, item.id, "resolve", user=USERS["planner"], reason="false_positive",
                now=RESOLVED_AT, role="planner")  # fmt: skip
    yield from serve(settings)


def _independent_count(site: Served) -> tuple[int, int]:
    """(stocked out, known) over the false-positive stockout-type items resolved in the
    page's default period, read straight from the app database and the snapshot: any
    snapshot with on hand - allocated - quarantined <= 0 in the 7 days after the day of the
    resolution, known when the site's snapshots reach the end of those days."""
    with ExceptionStore.open(site.settings.app_db_url) as store, store.session() as s:
        rows = [
            (i.location_id, i.item_id, i.resolved_at.date())
            for i in s.scalars(
                select(ExceptionItem).where(
                    ExceptionItem.resolution_code == "false_positive",
                    ExceptionItem.resolved_at >= PERIOD_START,
                )
            )
            if i.type == "stockout_risk"
            or (i.type == "order_at_risk" and (i.detail or {}).get("covered") is False)
        ]
    folder = site.settings.serving_dir
    con = open_snapshot(folder / (folder / "CURRENT").read_text().strip())
    try:
        hits = known = 0
        for loc, item, day in rows:
            last = con.execute(
                "SELECT max(snapshot_date) FROM inventory_snapshots WHERE location_id = ?", [loc]
            ).fetchone()[0]
            if day + timedelta(days=HORIZON) > last:
                continue
            known += 1
            out = con.execute(
                "SELECT count(*) FROM inventory_snapshots WHERE location_id = ? AND item_id = ? "
                "AND snapshot_date > ? AND snapshot_date <= ? "
                "AND on_hand_qty - allocated_qty - quarantined_qty <= 0",
                [loc, item, day, day + timedelta(days=HORIZON)],
            ).fetchone()[0]
            hits += out > 0
    except duckdb.Error:
        con.close()
        raise
    con.close()
    return hits, known


def test_the_false_positive_tile_equals_an_independent_count(tab_as, site, artifacts):
    hits, known = _independent_count(site)
    assert known >= 6
    page = tab_as(site, "planner", viewport=(1366, 1000), timeout_ms=TIMEOUT_MS)
    page.goto(site.url + "/decisions")
    page.wait_for_selector("#decisions-tile-fp .kpi-value")
    page.wait_for_selector("#decisions-items .ag-center-cols-container .ag-row")
    value = page.inner_text("#decisions-tile-fp .kpi-value")
    assert value == f"{hits / known:.0%} ({hits} of {known})"
    page.screenshot(path=str(artifacts / "decisions.png"), full_page=True)
    link = page.locator("#decisions-items .ag-center-cols-container a").first
    href = link.get_attribute("href")
    assert href
    assert "/exceptions/" in href
    link.click()
    page.wait_for_url("**/exceptions/*")
    page.wait_for_selector("#exceptions-detail-header")


def test_the_page_is_for_planners_executives_and_admins(tab_as, site):
    page = tab_as(site, "executive", timeout_ms=TIMEOUT_MS)
    page.goto(site.url + "/decisions")
    page.wait_for_selector("#decisions-tile-actions")
    assert page.locator("#shell-nav a[href$='/decisions']").count() == 1
    supervisor = tab_as(site, "warehouse_supervisor", timeout_ms=TIMEOUT_MS)
    supervisor.goto(site.url + "/")
    supervisor.wait_for_selector("#shell-nav")
    assert supervisor.locator("#shell-nav a[href$='/decisions']").count() == 0
