"""KPI detail in a real browser: a member chip in the URL, an unknown KPI, a scope it lacks."""

from __future__ import annotations

import re

import pytest

TIMEOUT_MS = 20_000


def _page(tab_as, served_demo, role):
    return tab_as(served_demo, role, viewport=(1366, 768), timeout_ms=TIMEOUT_MS, watch=())


@pytest.fixture
def planner(tab_as, served_demo):
    return _page(tab_as, served_demo, "planner")


@pytest.fixture
def supervisor(tab_as, served_demo):
    return _page(tab_as, served_demo, "warehouse_supervisor")


def test_a_member_in_the_url_shows_as_a_removable_chip(planner, served_demo):
    planner.goto(served_demo.url + "/kpi/unit_fill_rate?by=abc_class&member=A")
    planner.wait_for_selector("#kpi-member-chip:not([hidden])")
    assert planner.inner_text("#kpi-member-chip-text") == "ABC class = A"
    with_member = planner.inner_text("#kpi-value-number")
    planner.click("#kpi-member-clear")
    planner.wait_for_selector("#kpi-member-chip[hidden]", state="attached")
    planner.wait_for_url(re.compile(r"by=abc_class(?!.*member=)"))
    assert "member=" not in planner.url
    assert planner.inner_text("#kpi-value-number")  # the whole figure is shown again
    assert with_member


def test_an_unknown_kpi_says_so_and_links_to_the_catalog(planner, served_demo):
    planner.goto(served_demo.url + "/kpi/no_such_kpi")
    planner.wait_for_selector("#kpi-unknown")
    assert "No KPI named 'no_such_kpi'" in planner.inner_text("#kpi-unknown")
    planner.click("#kpi-to-catalog")
    planner.wait_for_url(re.compile("/catalog$"))


def test_a_kpi_the_scope_cannot_limit_shows_why_and_no_number(supervisor, served_demo):
    supervisor.goto(served_demo.url + "/kpi/days_to_close")
    supervisor.wait_for_selector("#kpi-out-of-scope")
    assert "cannot be limited to your scope" in supervisor.inner_text("#kpi-out-of-scope")
    assert supervisor.locator("#kpi-value-number").count() == 0
