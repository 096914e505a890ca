"""Promising an order in a real browser: paste lines, check them, read each line's answer and
the projection of one; and the drill from an order at risk to its line's answer.

The order is promised on the hand-drawn delivery (tests.support.promise_case: I1 at L1 has
A = 85, 65, 15 from 03-22, 111 from 03-25, 51 from 03-28; L3 of the same entity holds 40);
the drill runs on the small demo. Playwright drives Debian's chromium.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings
from tests.support.promise_case import land_promising_case
from tests.support.served import Served, serve
from tests.support.web_users import add_test_users

TIMEOUT_MS = 15_000
ROW = "#promise-grid .ag-center-cols-container .ag-row[row-index='{n}'] [col-id='{col}']"
ORDER = "I1,10,2026-03-20,L1\nI1,30,2026-03-20,L1\nI1,60,2026-03-26,L1\n"


@pytest.fixture(scope="module")
def promise_site(tmp_path_factory) -> Iterator[Served]:
    home = land_promising_case(tmp_path_factory.mktemp("promise-b") / "home")
    settings = load_settings(home).with_home(home)
    add_test_users(settings)
    yield from serve(settings)


def _cell(page, n: int, col: str) -> str:
    return page.inner_text(ROW.format(n=n, col=col)).strip()


def test_a_planner_promises_an_order_of_several_lines(tab_as, promise_site, artifacts):
    page = tab_as(promise_site, "planner", viewport=(1500, 900), timeout_ms=TIMEOUT_MS)
    page.goto(promise_site.url + "/promise")
    page.wait_for_selector(ROW.format(n=0, col="site"))
    page.click("text=Paste lines")
    page.fill("#promise-paste", ORDER)
    page.click("#promise-paste-add")
    page.wait_for_function(
        "() => document.querySelector('#promise-message').innerText.includes('3 line(s) added')"
    )
    page.click("#promise-check")
    page.wait_for_function(
        "() => document.querySelector('#promise-message').innerText.includes('3 line(s) answered')"
    )
    assert [_cell(page, n, "promise") for n in range(3)] == [
        "2026-03-20",
        "2026-03-25",
        "2026-04-10",
    ]
    assert _cell(page, 1, "status") == "Part on the wanted day, the rest later"
    assert _cell(page, 1, "partial") == "15"
    assert _cell(page, 1, "alternatives") == "L3 2026-03-20"
    page.click(ROW.format(n=1, col="status"))
    page.wait_for_selector("#promise-chart .main-svg")
    chart = page.inner_text("#promise-chart")
    assert "promisable 2026-03-25" in chart
    assert "wanted 2026-03-20" in chart
    page.screenshot(path=str(artifacts / "promise.png"), full_page=True)

    # A quantity typed into the grid is what the next check answers.
    page.dblclick(ROW.format(n=0, col="qty"))
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    page.click("#promise-check")
    page.wait_for_function(
        '() => document.querySelector("#promise-grid .ag-center-cols-container '
        ".ag-row[row-index='0'] [col-id='promise']\").innerText.trim() === '2026-03-25'"
    )
    assert _cell(page, 0, "partial") == "15"  # 15 of the 20 stay free from 03-20 on


def test_an_order_at_risk_opens_its_lines_answer(tab_as, served_demo, demo_settings):
    with ExceptionStore.open(demo_settings.app_db_url) as store:
        item = next(i for i in store.items(type="order_at_risk") if i.status != "resolved")
    page = tab_as(served_demo, "planner", viewport=(1500, 900), timeout_ms=TIMEOUT_MS)
    page.goto(served_demo.url + f"/exceptions/{item.id}")
    page.click("#exceptions-detail-promise a")
    page.wait_for_url("**/promise?item=*")
    page.wait_for_selector("#promise-chart .main-svg")  # answered at once, its line selected
    assert _cell(page, 0, "item") == item.item_id
    assert _cell(page, 0, "site") == item.location_id
    assert _cell(page, 0, "status")
