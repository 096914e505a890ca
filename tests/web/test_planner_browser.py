"""The planner's pages in a real browser: rank, read, triage in place, drill.

Served by waitress over private copies of the demo folder: one with the risk
model's scores (tests/support/risk_scores.py), one before any model has scored.
Playwright drives Debian's chromium.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.storage.serving import current_snapshot, open_snapshot
from tests.support.risk_scores import scored_copy, unscored_copy
from tests.support.served import Served, serve

TIMEOUT_MS = 15_000
GRID = "#planner-queue"
ROWS = f"{GRID} .ag-center-cols-container .ag-row"


@pytest.fixture(scope="module")
def scored_site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    yield from serve(scored_copy(demo_settings, tmp_path_factory.mktemp("planner-b-scored")))


@pytest.fixture(scope="module")
def rule_site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    yield from serve(unscored_copy(demo_settings, tmp_path_factory.mktemp("planner-b-rule")))


def _page(tab_as, site: Served):
    return tab_as(site, "planner", viewport=(1366, 768), timeout_ms=TIMEOUT_MS)


def test_pat_triages_the_top_row_and_drills_into_it(tab_as, scored_site, artifacts):
    page = _page(tab_as, scored_site)
    page.goto(scored_site.url + "/planner")
    page.wait_for_selector("#planner-model-accuracy")
    assert "ROC AUC 0.86 vs 0.82" in page.inner_text("#planner-model-accuracy")
    page.wait_for_selector(f"{ROWS}[row-index='0']")
    with open_snapshot(current_snapshot(scored_site.settings.serving_dir)) as con:
        top = con.execute(
            "SELECT location_id || '|' || item_id, location_id, item_id FROM "
            "risk.stockout_scores ORDER BY risk_value DESC NULLS LAST, probability DESC, "
            "location_id, item_id LIMIT 1"
        ).fetchone()
    first = page.locator(f"{ROWS}[row-index='0']")
    assert first.get_attribute("row-id") == top[0]
    assert first.locator("[col-id='reasons']").inner_text().startswith(("↑", "↓"))
    assert first.locator("[col-id='action']").inner_text().strip()
    page.screenshot(path=str(artifacts / "planner.png"), full_page=True)

    # The first row with an open queue item: select it and acknowledge.
    status = page.locator(f"{ROWS} [col-id='status']")
    index = next(i for i, text in enumerate(status.all_inner_texts()) if text.strip() == "● Open")
    row = page.locator(f"{ROWS}[row-index='{index}']")
    key = row.get_attribute("row-id")
    row.locator(".ag-selection-checkbox input").check()
    page.wait_for_function(
        "() => document.querySelector('#planner-selection').innerText.includes('1 row selected')"
    )
    page.click("#planner-ack")
    page.wait_for_selector("#planner-result >> text=1 item done")
    page.reload()
    page.wait_for_selector(f"{ROWS}[row-id='{key}'] [col-id='status'] >> text=Acknowledged")
    with ExceptionStore.open(scored_site.settings.app_db_url) as store:
        item = next(i for i in store.items(type="stockout_risk") if i.key == key)
    assert item.status == "acknowledged"

    # The drill of the top row: facts, drivers, projection.
    page.click(
        f"{GRID} .ag-pinned-left-cols-container .ag-row[row-index='0'] [col-id='item_link'] a"
    )
    page.wait_for_url(f"**/planner/{top[1]}/{top[2]}**")
    page.wait_for_selector("#planner-item-projection .main-svg")
    page.wait_for_selector("#planner-item-drivers .main-svg")
    assert "Projected available" in page.inner_text("#planner-item-projection")
    assert page.locator("#planner-item-stockout").inner_text().startswith("Projected stockout")
    page.screenshot(path=str(artifacts / "planner-item.png"), full_page=True)


def test_before_any_model_the_rule_ranks_the_queue_with_a_banner(tab_as, rule_site):
    page = _page(tab_as, rule_site)
    page.goto(rule_site.url + "/planner")
    page.wait_for_selector("#planner-banner")
    assert (
        "ranked by the days-of-cover rule: no risk model has scored yet "
        "(control-tower risk train)" in page.inner_text("#planner-banner").lower()
    )
    page.wait_for_selector(f"{ROWS}[row-index='0']")
    assert page.locator(f"{ROWS}[row-index='0'] [col-id='reasons']").inner_text() == (
        "Days-of-cover rule"
    )
    page.goto(rule_site.url + "/planner/DC-NOWHERE/SKU1")
    page.wait_for_selector("text=Not found in your scope")
