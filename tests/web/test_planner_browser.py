"""The planner's pages in a real browser: rank, read, triage in place, drill.

Served by waitress over private copies of the demo folder: one with the risk
model's scores (tests/planning/scored.py), one before any model has scored.
Playwright drives Debian's chromium.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import duckdb
import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.warehouse.serving import current_snapshot
from control_tower.web import create_app, make_server
from control_tower.web.runtime import EXTENSION_KEY
from tests.planning.scored import scored_copy, unscored_copy
from tests.web.kit import USERS, cheap_accounts, http_sign_in

TIMEOUT_MS = 15_000
GRID = "#planner-queue"
ROWS = f"{GRID} .ag-center-cols-container .ag-row"


class Site:
    """An app served on a loopback port for one data folder."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.app = create_app(settings, accounts=cheap_accounts(settings))
        self.server = make_server(self.app, host="127.0.0.1", port=0, threads=4)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}"

    def cookie(self, name: str) -> dict[str, str]:
        return {"name": "ct_session", "value": http_sign_in(self.url, name), "url": self.url}

    def close(self) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown()
        self.thread.join(timeout=5)
        self.app.server.extensions[EXTENSION_KEY].store.close()
        self.app.server.extensions[EXTENSION_KEY].accounts.close()


def _site(settings) -> Iterator[Site]:
    site = Site(settings)
    yield site
    site.close()


@pytest.fixture(scope="module")
def scored_site(demo_settings, tmp_path_factory) -> Iterator[Site]:
    yield from _site(scored_copy(demo_settings, tmp_path_factory.mktemp("planner-b-scored")))


@pytest.fixture(scope="module")
def rule_site(demo_settings, tmp_path_factory) -> Iterator[Site]:
    yield from _site(unscored_copy(demo_settings, tmp_path_factory.mktemp("planner-b-rule")))


def _page(browser, site: Site):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_cookies([site.cookie(USERS["planner"])])
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    tab.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return context, tab, errors


def test_pat_triages_the_top_row_and_drills_into_it(browser, scored_site, artifacts):
    context, page, errors = _page(browser, scored_site)
    page.goto(scored_site.url + "/planner")
    page.wait_for_selector("#planner-model-accuracy")
    assert "ROC AUC 0.86 vs 0.82" in page.inner_text("#planner-model-accuracy")
    page.wait_for_selector(f"{ROWS}[row-index='0']")
    with duckdb.connect(
        str(current_snapshot(scored_site.settings.serving_dir)), read_only=True
    ) as con:
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
    context.close()
    assert errors == [], errors


def test_before_any_model_the_rule_ranks_the_queue_with_a_banner(browser, rule_site):
    context, page, errors = _page(browser, rule_site)
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
    context.close()
    assert errors == [], errors
