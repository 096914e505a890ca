"""Notifications in a real browser: an item past its SLA escalates to the planners, shows in a
planner's list with the bell's unread count, and the count goes down as the planner reads.
Served by waitress over a private copy of a landed folder; Playwright drives Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import notify_user, unread_count
from control_tower.notifications.service import run_escalation
from tests.support.data_copies import private_copy
from tests.support.notification_cases import T0, add_item, write
from tests.support.served import Served, serve
from tests.support.web_users import USERS

TIMEOUT_MS = 20_000
BELL = "#shell-bell-count"


@pytest.fixture(scope="module")
def site(landed_settings, tmp_path_factory) -> Iterator[tuple[Served, int]]:
    """The served copy, and the id of the item escalated to the planners."""
    settings = private_copy(landed_settings, tmp_path_factory.mktemp("notifications-browser"))
    write(settings.escalation_path, "policies:\n  stockout_risk:\n    to_role: planner\n"
          "    raise_severity: true\n")  # fmt: skip
    with ExceptionStore.open(settings.app_db_url) as store:
        item = add_item(store, key="BROWSER-SKU|DC-NJ")
        notify_user(store, USERS["planner"], "request", "Approve transfer request 7")
    report = run_escalation(settings, now=T0 + timedelta(hours=25))
    assert report.escalated == 1
    for served in serve(settings):
        yield served, item.id


def test_an_escalated_item_shows_in_the_planners_list_and_reading_lowers_the_count(
    tab_as, site, artifacts
) -> None:
    site, item_id = site
    page = tab_as(site, "planner", viewport=(1366, 900), timeout_ms=TIMEOUT_MS)
    page.goto(site.url + "/")
    page.wait_for_selector(f"{BELL}:text-is('2')")
    page.click("#shell-bell")
    page.wait_for_url("**/notifications")
    escalated = page.locator(".notifications-item", has_text="[ESCALATED L1]")
    escalated.wait_for()
    assert escalated.get_attribute("data-unread") == "true"
    link = escalated.locator("a")
    assert link.get_attribute("href").endswith(f"/exceptions/{item_id}")
    assert "BROWSER-SKU" in escalated.inner_text()
    page.screenshot(path=str(artifacts / "notifications.png"))

    escalated.get_by_role("button", name="Mark read").click()
    page.wait_for_selector(f"{BELL}:text-is('1')")
    read = page.locator(".notifications-item", has_text="[ESCALATED L1]")
    assert read.get_attribute("data-unread") == "false"
    page.click("#notifications-read-all")
    page.wait_for_selector(f"{BELL}:empty", state="attached")
    with ExceptionStore.open(site.settings.app_db_url) as store:
        assert unread_count(store, USERS["planner"]) == 0

    link = page.locator(".notifications-item", has_text="[ESCALATED L1]").locator("a")
    link.click()
    page.wait_for_url(f"**/exceptions/{item_id}")
    page.wait_for_selector("text=BROWSER-SKU")
