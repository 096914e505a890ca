"""The inventory page in a real browser, on the small demo served by waitress.

The executive sees every site's stock on the latest snapshot day, the value tile equal to a
plain SQL query of the snapshot (on hand x standard unit cost), and a row's movements; the
supervisor (sam, scoped to DC-NJ) sees DC-NJ only, its value tile DC-NJ's value. Screenshots go
to tests/artifacts/.
"""

from __future__ import annotations

import pytest

from control_tower.web.format import fmt_int, fmt_money
from tests.support.web_users import SUPERVISOR_SITE

TIMEOUT_MS = 30_000


def _page(tab_as, served, role: str):
    return tab_as(served, role, viewport=(1366, 900), timeout_ms=TIMEOUT_MS)


@pytest.fixture
def eve(tab_as, served_demo):
    return _page(tab_as, served_demo, "executive")


@pytest.fixture
def sam(tab_as, served_demo):
    return _page(tab_as, served_demo, "warehouse_supervisor")


def _latest(snapshot) -> object:
    return snapshot.execute(
        "SELECT max(snapshot_date) FROM inventory_snapshots "
        "WHERE snapshot_date < (SELECT max(as_of) FROM kpi.values)"
    ).fetchone()[0]


def _value_and_out(snapshot, location: str | None) -> tuple[float, int]:
    """On hand x unit cost and the item-sites with nothing available, on the latest day."""
    row = snapshot.execute(
        "SELECT sum(s.on_hand_qty * i.unit_cost), "
        "count(*) FILTER (WHERE s.on_hand_qty - s.allocated_qty - s.quarantined_qty <= 0) "
        "FROM inventory_snapshots AS s JOIN items AS i USING (item_id) "
        "WHERE s.snapshot_date = ? AND (CAST(? AS VARCHAR) IS NULL OR s.location_id = ?)",
        [_latest(snapshot), location, location],
    ).fetchone()
    return float(row[0]), int(row[1])


def test_executive_sees_every_site_and_a_rows_movements(eve, served_demo, snapshot, artifacts):
    value, out = _value_and_out(snapshot, None)
    eve.goto(served_demo.url + "/inventory")
    eve.wait_for_selector("#inventory-tile-value .kpi-value")
    eve.wait_for_function(
        "() => document.querySelector('#inventory-caption').innerText.includes('Stock on')"
    )
    assert _latest(snapshot).isoformat() in eve.inner_text("#inventory-caption")
    assert eve.inner_text("#inventory-tile-value .kpi-value") == fmt_money(value)
    assert eve.inner_text("#inventory-tile-out .kpi-value") == fmt_int(out)
    eve.wait_for_selector("#inventory-grid .ag-row")
    sites = {
        r[0] for r in snapshot.execute("SELECT DISTINCT location_id FROM locations").fetchall()
    }
    shown = set(eve.locator("#inventory-grid .ag-row [col-id='location_id']").all_inner_texts())
    assert shown
    assert shown <= sites
    eve.locator("#inventory-grid .ag-row [col-id='item_id']").first.click()
    eve.wait_for_function(
        "() => document.querySelector('#inventory-drill').innerText.includes('Movements of')"
    )
    drill = eve.inner_text("#inventory-drill")
    assert "Movements of the 28 days" in drill
    # the executive does not plan: no link to the planner's projection
    assert eve.locator("#inventory-projection-link").count() == 0
    eve.screenshot(path=str(artifacts / "inventory.png"), full_page=True)


def test_supervisor_sees_only_their_sites_value(sam, served_demo, snapshot, artifacts):
    value, out = _value_and_out(snapshot, SUPERVISOR_SITE)
    others = [
        r[0]
        for r in snapshot.execute(
            "SELECT location_id FROM locations WHERE location_id <> ?", [SUPERVISOR_SITE]
        ).fetchall()
    ]
    sam.goto(served_demo.url + "/inventory")
    sam.wait_for_selector("#inventory-tile-value .kpi-value")
    assert sam.inner_text("#inventory-tile-value .kpi-value") == fmt_money(value)
    assert sam.inner_text("#inventory-tile-out .kpi-value") == fmt_int(out)
    sam.wait_for_selector("#inventory-grid .ag-row")
    shown = set(sam.locator("#inventory-grid .ag-row [col-id='location_id']").all_inner_texts())
    assert shown == {SUPERVISOR_SITE}
    text = sam.inner_text("main")
    assert not any(other in text for other in others)
    sam.screenshot(path=str(artifacts / "inventory-supervisor.png"), full_page=True)


def test_planner_drills_to_the_projection(tab_as, served_demo, snapshot):
    pat = _page(tab_as, served_demo, "planner")
    pat.goto(served_demo.url + "/inventory")
    pat.wait_for_selector("#inventory-grid .ag-row")
    pat.fill("#inventory-search", "zzz-no-such-item")
    pat.keyboard.press("Enter")
    pat.wait_for_function(
        "() => document.querySelector('#inventory-caption').innerText.includes(': 0 items')"
    )
    pat.fill("#inventory-search", "")
    pat.keyboard.press("Enter")
    pat.wait_for_selector("#inventory-grid .ag-row")
    row = pat.locator("#inventory-grid .ag-row").first
    site = row.locator("[col-id='location_id']").inner_text()
    item = row.locator("[col-id='item_id']").inner_text()
    row.locator("[col-id='item_id']").click()
    pat.wait_for_selector("#inventory-projection-link")
    assert pat.get_attribute("#inventory-projection-link", "href").endswith(
        f"/planner/{site}/{item}"
    )
    pat.click("#inventory-projection-link")
    pat.wait_for_url(f"**/planner/{site}/{item}")
