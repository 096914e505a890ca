"""Users of the web tests and how they sign in (without a browser)."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from typing import Any

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from control_tower.accounts import AccountStore
from control_tower.settings import Settings

PASSWORD = "test password 1234"  # test users only; the demo generates its passwords
# role -> user name; the supervisor sees only SUPERVISOR_SITE (the demo's DC-NJ).
USERS = {
    "admin": "ada",
    "planner": "pat",
    "customer_service": "cas",
    "executive": "eve",
    "finance": "fin",
    "warehouse_supervisor": "sam",
}
SUPERVISOR_SITE = "DC-NJ"


def cheap_accounts(settings: Settings) -> AccountStore:
    """The app database's account store with a cheap hasher (argon2id costs ~1 s here)."""
    return AccountStore.open(settings.app_db_url, hasher=PasswordHasher.from_parameters(CHEAPEST))


def add_test_users(settings: Settings) -> None:
    """USERS, each with PASSWORD."""
    with cheap_accounts(settings) as accounts:
        for role, name in USERS.items():
            locations = [SUPERVISOR_SITE] if role == "warehouse_supervisor" else []
            accounts.create_user(name, role, PASSWORD, locations=locations)


def http_sign_in(url: str, name: str, password: str = PASSWORD) -> str:
    """Sign in through the login form over HTTP; the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url + "/login") as response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    form = {"csrf_token": csrf, "name": name, "password": password}
    # A refused sign-in answers 401, which urllib raises as HTTPError.
    opener.open(url + "/login", data=urllib.parse.urlencode(form).encode()).close()
    return next(c.value for c in jar if c.name == "ct_session")


def client_sign_in(
    client: FlaskClient, name: str, password: str = PASSWORD, **request: Any
) -> TestResponse:
    """Sign a Flask test client in through the login form; the form's answer.

    `request` goes to both requests (e.g. base_url="https://localhost")."""
    page = client.get("/login", **request).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "name": name, "password": password}
    return client.post("/login", data=form, **request)


def signed_in(app: Any, name: str) -> FlaskClient:
    """A test client of the Dash `app` signed in as `name` (PASSWORD)."""
    client = app.server.test_client()
    assert client_sign_in(client, name).status_code == 302
    return client


def client_as(app: Any, role: str | None = None) -> FlaskClient:
    """A test client of the Dash `app` signed in as the user of `role` (None: signed out)."""
    return app.server.test_client() if role is None else signed_in(app, USERS[role])
