"""Signing in and out in a real browser, and what each role gets (Playwright on Debian's chromium).

The landed folder of conftest.py with an admin (ada) and a planner (pat);
every test starts signed out. Screenshots of the login page go to tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.served import signed_in_tab
from tests.support.web_users import PASSWORD, USERS

TIMEOUT_MS = 15_000
FORGED_CALLBACK = """
async () => {
  const r = await fetch('/_dash-update-component', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({
      output: 'data-health-quarantine.getRowsResponse',
      outputs: {id: 'data-health-quarantine', property: 'getRowsResponse'},
      inputs: [{id: 'data-health-quarantine', property: 'getRowsRequest',
                value: {startRow: 0, endRow: 100}}],
      changedPropIds: ['data-health-quarantine.getRowsRequest'],
    }),
  });
  return {status: r.status, body: await r.text()};
}
"""


@pytest.fixture
def tab(browser) -> Iterator:
    """A signed-out page in a fresh browser context."""
    with signed_in_tab(
        browser, None, viewport=(1280, 800), timeout_ms=TIMEOUT_MS, watch=()
    ) as page:
        yield page


def sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")


class TestSignIn:
    def test_login_page(self, tab, served, artifacts):
        tab.goto(served.url + "/data-health")
        assert tab.url == served.url + "/login?next=/data-health"
        assert tab.inner_text("h1") == "Sign in"
        tab.screenshot(path=str(artifacts / "login.png"), full_page=True)
        sign_in(tab, served.url, USERS["admin"], "not the password")
        assert "Wrong user name or password" in tab.inner_text("#login-error")
        assert tab.input_value("#login-name") == USERS["admin"]
        tab.screenshot(path=str(artifacts / "login-refused.png"), full_page=True)

    def test_admin_signs_in_sees_data_health_and_signs_out(self, tab, served, artifacts):
        tab.goto(served.url + "/data-health")
        tab.fill("#login-name", USERS["admin"])
        tab.fill("#login-password", PASSWORD)
        tab.click("#login-submit")
        tab.wait_for_url(served.url + "/data-health")
        tab.wait_for_selector("#data-health-freshness-table")
        assert tab.inner_text("#data-health-kpi-quarantine .kpi-value") == "241"
        assert tab.inner_text("#shell-user-name") == USERS["admin"]
        assert tab.locator("#shell-nav a").all_inner_texts()[-1] == "Data health"
        cookie = next(c for c in tab.context.cookies() if c["name"] == "ct_session")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        assert tab.evaluate("document.cookie") == ""  # invisible to scripts
        tab.screenshot(path=str(artifacts / "signed-in-admin.png"))

        tab.click("#shell-signout")
        tab.wait_for_url(served.url + "/login")
        tab.goto(served.url + "/data-health")
        assert tab.url.startswith(served.url + "/login")
        # The old cookie is worth nothing now, even replayed.
        replay = tab.context.browser.new_context()
        replay.add_cookies([{"name": "ct_session", "value": cookie["value"], "url": served.url}])
        assert replay.request.get(served.url + "/_dash-layout").status == 401
        replay.close()


class TestRoles:
    def test_planner_is_refused_data_health_page_and_callback(self, tab, served):
        sign_in(tab, served.url, USERS["planner"])
        tab.wait_for_url(served.url + "/planner")
        response = tab.goto(served.url + "/data-health")
        assert response.status == 403
        assert "Your role may not open this page" in tab.inner_text("#auth-notice")
        assert tab.locator("#data-health-freshness-table").count() == 0
        forged = tab.evaluate(FORGED_CALLBACK)
        assert forged["status"] == 403
        assert "rowData" not in forged["body"]
        assert "ordered_qty" not in forged["body"]

    def test_signed_out_requests_get_nothing(self, tab, served):
        tab.goto(served.url + "/login")
        forged = tab.evaluate(FORGED_CALLBACK)
        assert forged == {"status": 401, "body": '{"error":"sign in first"}\n'}
        layout = tab.evaluate("async () => (await fetch('/_dash-layout')).status")
        assert layout == 401
