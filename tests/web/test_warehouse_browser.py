"""The warehouse and finance pages in a real browser, on the small demo served by waitress.

The supervisor (sam, scoped to DC-NJ) sees DC-NJ's waves and no other site anywhere on
the page or in the location options; finance (fin) sees the close checklist with the
snapshot's real tasks. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import pytest

from control_tower.kpi.serving import latest_as_of
from tests.support.web_users import SUPERVISOR_SITE

TIMEOUT_MS = 20_000


def _page(tab_as, served, role: str):
    return tab_as(served, role, viewport=(1366, 768), timeout_ms=TIMEOUT_MS)


@pytest.fixture
def sam(tab_as, served_demo):
    return _page(tab_as, served_demo, "warehouse_supervisor")


@pytest.fixture
def fin(tab_as, served_demo):
    return _page(tab_as, served_demo, "finance")


def test_supervisor_sees_dc_nj_waves_only(sam, served_demo, snapshot, artifacts):
    as_of = latest_as_of(snapshot)
    waves = snapshot.execute(
        "SELECT list(wave_id) FROM waves WHERE location_id = ? AND planned_release_ts_local_date = "
        "(SELECT max(planned_release_ts_local_date) FROM waves WHERE location_id = ? "
        "AND planned_release_ts_local_date <= ?)",
        [SUPERVISOR_SITE, SUPERVISOR_SITE, as_of],
    ).fetchone()[0]
    others = [
        r[0]
        for r in snapshot.execute(
            "SELECT location_id FROM locations WHERE location_id <> ?", [SUPERVISOR_SITE]
        ).fetchall()
    ]
    sam.goto(served_demo.url + "/warehouse")
    sam.wait_for_selector("#warehouse-waves-table")
    table = sam.inner_text("#warehouse-waves-table")
    for wave in waves:
        assert wave in table
    sam.wait_for_selector("#warehouse-timeline .main-svg")
    assert SUPERVISOR_SITE in sam.inner_text("#warehouse-subtitle")
    # The location options hold DC-NJ only (the field is hidden with a single choice).
    sam.locator("#warehouse-filter-location").evaluate(
        "e => { e.closest('.filter-field').hidden = false; }"
    )
    sam.click("#warehouse-filter-location")
    sam.wait_for_selector("[role='option']")  # Dash 4 renders the options in a popover
    options = sam.locator(
        "[role='option']:not(#warehouse-filter-grain [role='option'])"
    ).all_inner_texts()
    assert options
    assert all(SUPERVISOR_SITE in o for o in options), options
    sam.keyboard.press("Escape")
    text = sam.inner_text("main")
    assert not any(other in text for other in others)
    sam.screenshot(path=str(artifacts / "warehouse.png"), full_page=True)


def test_finance_sees_the_close_checklist(fin, served_demo, snapshot, artifacts):
    as_of = latest_as_of(snapshot)
    rows = snapshot.execute(
        "SELECT entity_id, period, task_name FROM close_tasks WHERE period = ("
        "SELECT max(period) FROM close_tasks WHERE last_day(CAST(period || '-01' AS DATE)) < ?)",
        [as_of],
    ).fetchall()
    assert rows
    fin.goto(served_demo.url + "/finance")
    fin.wait_for_selector("#finance-checklist .finance-close")
    checklist = fin.inner_text("#finance-checklist")
    for entity, period, task in rows:
        assert f"{entity} · period {period}" in checklist
        assert task in checklist
    assert " done" in fin.inner_text("#finance-kpi-close-progress")
    fin.wait_for_selector("#finance-close-chart .main-svg")
    fin.screenshot(path=str(artifacts / "finance.png"), full_page=True)
