"""The KPI catalog in a real browser: search narrows the cards; a card's SQL is fetched when
it unfolds."""

from __future__ import annotations


def test_search_and_sql(tab_as, served_demo, artifacts):
    page = tab_as(served_demo, "finance", timeout_ms=20_000, watch=())
    page.goto(served_demo.url + "/catalog")
    # The first render loads the catalog: on a busy machine running the suite in parallel it
    # can take longer than a page's usual wait.
    page.wait_for_selector("#catalog-card-line_fill_rate", timeout=60_000)
    assert "-- kpi:" not in page.inner_text(".catalog-list")  # no SQL until asked for
    total = page.locator(".catalog-card").count()
    assert total >= 21
    page.screenshot(path=str(artifacts / "catalog.png"), full_page=False)
    page.fill("#catalog-search", "fill rate")
    page.wait_for_function("n => document.querySelectorAll('.catalog-card').length < n", arg=total)
    assert page.locator("#catalog-card-line_fill_rate").count() == 1
    assert page.locator("#catalog-card-stockout_rate").count() == 0
    page.click("#catalog-card-line_fill_rate .catalog-sql-details summary")
    page.wait_for_function(
        "() => document.querySelector('#catalog-card-line_fill_rate pre')"
        ".innerText.includes('-- kpi: line_fill_rate v1')"
    )
    page.click("#catalog-card-line_fill_rate .catalog-sql-details summary")  # folded
    page.click(
        "#catalog-card-line_fill_rate .catalog-sql-details summary"
    )  # and unfolded: the SQL is still there
    assert "-- kpi: line_fill_rate v1" in page.inner_text("#catalog-card-line_fill_rate pre")
