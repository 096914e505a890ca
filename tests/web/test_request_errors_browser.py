"""A request the server refuses is said on the page, not left as a silently stale page."""

from __future__ import annotations

TOO_LARGE = """async () => {
    const r = await fetch("_dash-update-component", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: "x".repeat(3 * 1024 * 1024),
    });
    return r.status;
}"""


def test_a_refused_callback_shows_its_reason_as_text(tab_as, served) -> None:
    page = tab_as(served, "planner", watch=("pageerror",))  # the 413 itself is a console error
    page.goto(served.url + "/exceptions")
    page.wait_for_selector("#shell-nav")
    assert page.locator("#ct-request-error").count() == 0
    assert page.evaluate(TOO_LARGE) == 413
    banner = page.locator("#ct-request-error")
    banner.wait_for(state="visible")
    assert "larger than the" in banner.inner_text()
    assert banner.get_attribute("role") == "alert"
    assert page.locator("#ct-request-error .ct-request-error-link").is_hidden()
    page.click("#ct-request-error .ct-request-error-close")
    banner.wait_for(state="hidden")


def test_a_timed_out_session_offers_to_sign_in_again(tab_as, served) -> None:
    # Once signed out, the page's own timed callbacks are refused too, and Dash's renderer
    # reports each refusal as a page error of its own: not watched here.
    page = tab_as(served, "planner", watch=())
    page.goto(served.url + "/exceptions")
    page.wait_for_selector("#shell-nav")
    page.context.clear_cookies()  # signed out behind the page's back
    status = page.evaluate(
        """async () => (await fetch("_dash-update-component", {method: "POST",
            headers: {"Content-Type": "application/json"}, body: "{}"})).status"""
    )
    assert status == 401
    banner = page.locator("#ct-request-error")
    banner.wait_for(state="visible")
    assert "sign in" in banner.inner_text().lower()
    link = page.locator("#ct-request-error .ct-request-error-link")
    assert link.get_attribute("href") == "/login?next=%2Fexceptions"
