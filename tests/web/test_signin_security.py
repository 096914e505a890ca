"""Sign-in against an attacker, through Flask's test client: redirects, throttling, lockout,
idle sessions, trusted proxies and the headers of every answer.

Each test signs in as its own user of a folder where nothing has been landed, from its
own client address (`REMOTE_ADDR`), and moves the app's clock instead of sleeping.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from control_tower.web import create_app
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.clock import ManualClock
from tests.support.web_users import PASSWORD, cheap_accounts, client_sign_in

_names = itertools.count()


@pytest.fixture(scope="module")
def app(empty_settings):
    return create_app(empty_settings, accounts=cheap_accounts(empty_settings))


@pytest.fixture
def clock(app) -> ManualClock:
    clock = ManualClock()
    app.server.extensions[EXTENSION_KEY].clock = clock
    return clock


@pytest.fixture
def user(app) -> str:
    """A new planner of this test only."""
    name = f"user{next(_names)}"
    app.server.extensions[EXTENSION_KEY].accounts.create_user(name, "planner", PASSWORD)
    return name


def sign_in(app, name: str, password: str = PASSWORD, *, address: str, **request):
    client = app.server.test_client()
    environ = {"REMOTE_ADDR": address}
    return client, client_sign_in(client, name, password, environ_base=environ, **request)


class TestRedirectAfterSignIn:
    @pytest.mark.parametrize(
        "query",
        ["/%09/evil.example", "/%0A/evil.example", "/%5Cevil.example", "%2F%2Fevil.example"],
    )
    def test_a_signed_in_visit_never_leaves_the_site(self, app, clock, user, query):
        client, _ = sign_in(app, user, address="10.1.0.1")
        response = client.get(f"/login?next={query}")
        assert response.status_code == 302
        assert response.headers["Location"] == "/"

    @pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/evil.example", "/\\/evil"])
    def test_the_form_never_leads_off_site(self, app, clock, user, target):
        client = app.server.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"csrf_token": csrf, "name": user, "password": PASSWORD, "next": target}
        response = client.post("/login", data=form, environ_base={"REMOTE_ADDR": "10.1.0.2"})
        assert response.headers["Location"] == "/"

    def test_a_path_of_the_site_is_kept(self, app, clock, user):
        client, _ = sign_in(app, user, address="10.1.0.3")
        response = client.get("/login?next=/data-health%3Fbatch%3D5")
        assert response.headers["Location"] == "/data-health?batch=5"


class TestThrottle:
    def test_after_three_failures_an_address_waits_and_no_password_is_checked(
        self, app, clock, user, monkeypatch
    ):
        for _ in range(3):
            _, response = sign_in(app, user, "wrong password!", address="10.2.0.1")
            assert response.status_code == 401
        accounts = app.server.extensions[EXTENSION_KEY].accounts
        checked = []
        real = accounts.authenticate
        monkeypatch.setattr(
            accounts, "authenticate", lambda *a, **k: checked.append(a) or real(*a, **k)
        )
        _, response = sign_in(app, user, address="10.2.0.1")  # even the right password
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert b"Too many failed sign-ins. Try again in 1 second." in response.data
        assert checked == []
        clock.now += 1
        _, response = sign_in(app, user, address="10.2.0.1")
        assert response.status_code == 302

    def test_the_wait_doubles_with_each_failure(self, app, clock, user):
        waits = []
        for _ in range(4):
            _, response = sign_in(app, user, "wrong password!", address="10.2.0.2")
            clock.now += int(response.headers.get("Retry-After", 0))
            _, response = sign_in(app, user, "wrong password!", address="10.2.0.2")
            waits.append(response.headers.get("Retry-After"))
            clock.now += int(response.headers.get("Retry-After", 0))
        assert waits == [None, "1", "2", "4"]

    def test_someone_elses_failures_do_not_lock_the_owner_out(self, app, clock, user):
        for _ in range(8):  # more than the lockout threshold, waiting out each delay
            _, response = sign_in(app, user, "wrong password!", address="10.2.0.3")
            assert response.status_code == 401
            clock.now += 3600
        account = app.server.extensions[EXTENSION_KEY].accounts.get(user)
        assert account.locked_until is not None  # the app database did lock it
        _, response = sign_in(app, user, address="10.2.0.4")
        assert response.status_code == 302


class TestIdleSession:
    def test_a_session_idle_too_long_is_signed_out_and_sent_to_sign_in(self, app, clock, user):
        client, _ = sign_in(app, user, address="10.3.0.1")
        clock.now += 29 * 60
        assert client.get("/planner").status_code == 200
        clock.now += 29 * 60  # active a minute ago: still signed in
        assert client.get("/planner").status_code == 200
        clock.now += 31 * 60
        response = client.get("/planner")
        assert response.status_code == 302
        assert response.headers["Location"] == "/login?next=/planner&expired=1"
        assert b"without activity" in client.get(response.headers["Location"]).data
        assert client.post("/_dash-update-component", json={}).status_code == 401

    def test_a_timed_out_cookie_is_ended_for_every_copy(self, app, clock, user):
        client, _ = sign_in(app, user, address="10.3.0.2")
        cookie = client.get_cookie("ct_session").value
        clock.now += 31 * 60
        response = client.post("/_dash-update-component", json={})
        assert response.get_json() == {"error": "your session timed out: sign in again"}
        clock.now -= 31 * 60  # a copy of the old cookie, replayed "in time", is dead too
        replay = app.server.test_client()
        replay.set_cookie("ct_session", cookie)
        assert replay.get("/planner").status_code == 302

    def test_a_timer_callback_is_not_activity(self, app, clock, user):
        client, _ = sign_in(app, user, address="10.3.0.3")
        timer = {
            "outputs": {"id": "data-health-kpis", "property": "children"},
            "changedPropIds": ["data-health-interval.n_intervals"],
        }
        for _ in range(4):
            clock.now += 10 * 60
            client.post("/_dash-update-component", json=timer)
        assert client.get("/planner").status_code == 302


class TestProxiesAndHeaders:
    def test_without_trusted_proxies_forwarded_headers_are_ignored(self, app, clock, user):
        _, response = sign_in(app, user, address="10.4.0.1", headers={"X-Forwarded-Proto": "https"})
        cookie = next(h for h in response.headers.getlist("Set-Cookie") if "ct_session" in h)
        assert "Secure" not in cookie

    def test_behind_a_trusted_tls_proxy_cookies_are_secure_and_api_writes_pass(
        self, empty_settings
    ):
        settings = replace(empty_settings, trusted_proxies=1)
        accounts = cheap_accounts(settings)
        accounts.create_user("proxied", "admin", PASSWORD)
        app = create_app(settings, accounts=accounts)
        forwarded = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "tower.example.com",
            "X-Forwarded-For": "203.0.113.9",
        }
        client, response = sign_in(app, "proxied", address="10.0.0.1", headers=forwarded)
        cookie = next(h for h in response.headers.getlist("Set-Cookie") if "ct_session" in h)
        assert "Secure" in cookie
        answer = client.post(
            "/api/v1/exceptions/999999/actions",
            json={"action": "acknowledge", "expected_version": 1},
            headers={**forwarded, "Origin": "https://tower.example.com"},
        )
        assert answer.status_code == 404  # past the origin check: the item does not exist
        # The throttle sees the client's address, not the proxy's.
        throttle = app.server.extensions[EXTENSION_KEY].sign_ins
        sign_in(app, "proxied", "wrong password!", address="10.0.0.1", headers=forwarded)
        assert throttle.has_failed("203.0.113.9")
        assert not throttle.has_failed("10.0.0.1")

    @pytest.mark.parametrize("path", ["/login", "/planner", "/api/v1/me", "/_dash-layout"])
    def test_every_answer_carries_the_security_headers(self, app, clock, user, path):
        client, _ = sign_in(app, user, address="10.4.0.2")
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self' 'sha256-" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
