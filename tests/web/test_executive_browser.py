"""The executive's drill path in a real browser, on the small demo.

Executive summary (every certified tile equals the ratio summed from
kpi.values over the shown dates) → a tile → its KPI detail → a breakdown bar
(the URL and the number change) → reload (the same view) → an exception
behind the number (its detail page, built elsewhere: the URL only).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest

from control_tower.kpi.format import format_value
from control_tower.views.kpi import cached_catalog, certified
from tests.support.dash_callbacks import ratio_from_values

TIMEOUT_MS = 20_000
KPI = "inventory_record_accuracy"  # its exceptions (cycle-count variances) sit at every site


@pytest.fixture
def page(tab_as, served_demo):
    return tab_as(served_demo, "executive", timeout_ms=TIMEOUT_MS, watch=("pageerror",))


def _number(page) -> str:
    page.wait_for_selector("#kpi-value-number")
    return page.inner_text("#kpi-value-number")


def test_tiles_then_drill_to_an_exception(page, served_demo, snapshot, demo_settings, artifacts):
    catalog = cached_catalog(demo_settings.kpi_definitions)
    page.goto(served_demo.url + "/executive")
    page.wait_for_selector(f"#executive-tile-{KPI} .kpi-value")
    start = date.fromisoformat(page.input_value("#executive-filter-from"))
    end = date.fromisoformat(page.input_value("#executive-filter-to"))
    for kpi in certified(catalog):
        shown = page.inner_text(f"#executive-tile-{kpi.name} .kpi-value")
        expected = ratio_from_values(snapshot, kpi, start, end)
        if expected is not None:
            assert shown == format_value(expected, kpi.format), kpi.name
    page.screenshot(path=str(artifacts / "executive.png"), full_page=True)

    tile_value = page.inner_text(f"#executive-tile-{KPI} .kpi-value")
    page.click(f"#executive-tile-{KPI}")
    page.wait_for_url(re.compile(f"/kpi/{KPI}\\?"))
    assert _number(page) == tile_value

    # Click the bar of a site that has open items behind the number.
    page.wait_for_selector("#kpi-breakdown .bars .point path")
    members = page.evaluate(
        "document.querySelector('#kpi-breakdown .js-plotly-plot').data[0].customdata"
    )
    with_items = {
        r[0]
        for r in snapshot.execute(
            "SELECT DISTINCT location_id FROM exc.queue_items "
            "WHERE type = 'cycle_count_variance' AND status <> 'resolved'"
        ).fetchall()
    }
    index = next(i for i, m in enumerate(members) if m in with_items)
    site = members[index]
    # plotly's drag layer takes the pointer: click where the bar is drawn
    box = page.locator("#kpi-breakdown .bars .point path").nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(f"location={site}"))
    kpi = catalog.kpi(KPI)
    expected = format_value(ratio_from_values(snapshot, kpi, start, end, location_id=site), "0.0%")
    page.wait_for_function(
        "t => document.querySelector('#kpi-value-number')?.innerText === t", arg=expected
    )
    query = parse_qs(urlparse(page.url).query)
    assert query["location"] == [site]
    assert query["from"] == [start.isoformat()]
    page.wait_for_selector("#kpi-exceptions-table a")
    page.screenshot(path=str(artifacts / "kpi-detail.png"), full_page=True)

    page.reload()  # a shared link reopens the same view
    page.wait_for_function(
        "t => document.querySelector('#kpi-value-number')?.innerText === t", arg=expected
    )
    assert page.input_value("#kpi-filter-from") == start.isoformat()

    link = page.locator("#kpi-exceptions-table a").first
    item = link.inner_text().lstrip("#")
    link.click()
    page.wait_for_url(re.compile(f"/exceptions/{item}$"))
