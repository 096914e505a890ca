"""The KPI catalog in a real browser: search narrows the cards; the SQL unfolds."""

from __future__ import annotations

from tests.web.kit import USERS


def test_search_and_sql(browser, served_demo, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([served_demo.session_cookie(USERS["finance"])])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(served_demo.url + "/catalog")
    page.wait_for_selector("#catalog-card-line_fill_rate")
    total = page.locator(".catalog-card").count()
    assert total >= 21
    page.screenshot(path=str(artifacts / "catalog.png"), full_page=False)
    page.fill("#catalog-search", "fill rate")
    page.wait_for_function("n => document.querySelectorAll('.catalog-card').length < n", arg=total)
    assert page.locator("#catalog-card-line_fill_rate").count() == 1
    assert page.locator("#catalog-card-stockout_rate").count() == 0
    page.click("#catalog-card-line_fill_rate summary")
    assert "-- kpi: line_fill_rate v1" in page.inner_text("#catalog-card-line_fill_rate pre")
    context.close()
