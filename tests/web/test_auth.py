"""Sign-in and authorisation on the server, through Flask's test client (no browser).

The landed folder of conftest.py, with an admin (ada) and a planner (pat).
"""

from __future__ import annotations

import re
from dataclasses import replace

import dash
import flask
import pytest
from werkzeug.exceptions import Forbidden, Unauthorized

from control_tower.web import create_app
from control_tower.web.auth import PageWithoutRolesError, require
from tests.support.web_users import PASSWORD, USERS, cheap_accounts, client_as, client_sign_in

KPIS_CALLBACK = {
    "output": "data-health-kpis.children",
    "outputs": {"id": "data-health-kpis", "property": "children"},
    "inputs": [{"id": "data-health-interval", "property": "n_intervals", "value": 1}],
    "state": [{"id": "data-health-snapshot", "property": "data", "value": None}],
    "changedPropIds": ["data-health-interval.n_intervals"],
}
BLOCK_CALLBACK = {
    "output": "..data-health-quarantine.getRowsResponse...data-health-quarantine-caption.children..",
    "outputs": [
        {"id": "data-health-quarantine", "property": "getRowsResponse"},
        {"id": "data-health-quarantine-caption", "property": "children"},
    ],
    "inputs": [
        {
            "id": "data-health-quarantine",
            "property": "getRowsRequest",
            "value": {"startRow": 0, "endRow": 100},
        }
    ],
    "changedPropIds": ["data-health-quarantine.getRowsRequest"],
}


@pytest.fixture(scope="module")
def app(landed_settings):
    return create_app(landed_settings, accounts=cheap_accounts(landed_settings))


def _set_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("ct_session="))


class TestSignedOut:
    @pytest.mark.parametrize("path", ["/", "/data-health", "/data-health?batch=5", "/nowhere"])
    def test_pages_redirect_to_the_login_and_nothing_else(self, app, path):
        response = client_as(app).get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/")
        assert b"_dash-config" not in response.data
        assert b"Data health" not in response.data

    @pytest.mark.parametrize(
        "path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/api/v1/kpis"]
    )
    def test_data_endpoints_answer_401_json(self, app, path):
        response = client_as(app).get(path)
        assert response.status_code == 401
        assert response.get_json() == {"error": "sign in first"}

    @pytest.mark.parametrize("body", [KPIS_CALLBACK, BLOCK_CALLBACK])
    def test_callbacks_answer_401_json_and_no_data(self, app, body):
        response = client_as(app).post("/_dash-update-component", json=body)
        assert response.status_code == 401
        assert response.get_json() == {"error": "sign in first"}

    def test_assets_and_the_login_page_are_open(self, app):
        client = client_as(app)
        assert client.get("/assets/control-tower.css").status_code == 200
        login = client.get("/login")
        assert login.status_code == 200
        assert b'name="csrf_token"' in login.data


class TestLogin:
    def test_cookie_is_httponly_and_samesite_lax(self, app):
        response = client_sign_in(client_as(app), USERS["admin"])
        assert response.status_code == 302
        cookie = _set_cookie(response)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain http, automatic setting

    def test_cookie_is_secure_over_https(self, app):
        response = client_sign_in(client_as(app), USERS["admin"], base_url="https://localhost")
        assert "Secure" in _set_cookie(response)

    def test_secure_cookies_can_be_forced(self, landed_settings):
        settings = replace(landed_settings, cookie_secure=True)
        app = create_app(settings, accounts=cheap_accounts(settings))
        assert "Secure" in _set_cookie(client_sign_in(client_as(app), USERS["admin"]))

    def test_a_form_without_its_csrf_token_is_refused(self, app):
        client = client_as(app)
        client.get("/login")
        response = client.post("/login", data={"name": USERS["admin"], "password": PASSWORD})
        assert response.status_code == 400
        assert b"The form expired" in response.data
        assert client.get("/data-health").status_code == 302

    def test_wrong_password_says_nothing_about_which_part_was_wrong(self, app):
        wrong = client_sign_in(client_as(app), USERS["admin"], "not the password")
        unknown = client_sign_in(client_as(app), "nobody", "not the password")
        assert wrong.status_code == unknown.status_code == 401
        message = b"Wrong user name or password, or the account is locked or disabled."
        assert message in wrong.data
        assert message in unknown.data

    def test_next_leads_back_but_never_off_site(self, app):
        client = client_as(app)
        page = client.get("/login?next=/data-health").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"csrf_token": csrf, "name": USERS["admin"], "password": PASSWORD}
        back = client.post("/login", data={**form, "next": "/data-health"})
        assert back.headers["Location"] == "/data-health"
        for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            client = client_as(app)
            page = client.get("/login").get_data(as_text=True)
            form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            assert client.post("/login", data={**form, "next": evil}).headers["Location"] == "/"

    def test_logout_ends_the_session_for_every_copy_of_the_cookie(self, app):
        client = client_as(app, "admin")
        cookie = client.get_cookie("ct_session").value
        layout = client.get("/_dash-layout").get_data(as_text=True)
        csrf = re.search(r'"value":"([^"]+)","type":"hidden","name":"csrf_token"', layout).group(1)
        response = client.post("/logout", data={"csrf_token": csrf})
        assert response.status_code == 302
        assert response.headers["Location"] == "/login"
        assert client.get("/data-health").status_code == 302
        replay = client_as(app)
        replay.set_cookie("ct_session", cookie)
        assert replay.get("/data-health").status_code == 302
        assert replay.post("/_dash-update-component", json=KPIS_CALLBACK).status_code == 401


class TestRoles:
    def test_admin_opens_data_health_and_its_callbacks(self, app):
        client = client_as(app, "admin")
        assert client.get("/data-health").status_code == 200
        block = client.post("/_dash-update-component", json=BLOCK_CALLBACK)
        assert block.status_code == 200
        assert (
            block.get_json()["response"]["data-health-quarantine"]["getRowsResponse"]["rowCount"]
            == 241
        )

    def test_planner_is_refused_data_health_page_and_callbacks(self, app):
        client = client_as(app, "planner")
        page = client.get("/data-health")
        assert page.status_code == 403
        assert b"_dash-config" not in page.data
        for body in (KPIS_CALLBACK, BLOCK_CALLBACK):
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code == 403
            assert response.get_json() == {"error": "your role may not see this"}

    def test_planner_sees_no_data_health_link(self, app):
        client = client_as(app, "planner")
        layout = client.get("/_dash-layout").get_json()
        nav = layout["props"]["children"][1]["props"]["children"][1]
        hrefs = [a["props"]["href"] for a in nav["props"]["children"]]
        assert "/planner" in hrefs
        assert "/data-health" not in hrefs
        assert "Data health" not in str(layout)
        assert client.get("/").headers["Location"] == "/planner"

    def test_require_checks_the_server_side_user(self, app):
        with app.server.test_request_context("/"), pytest.raises(Unauthorized):
            require(roles=("admin",))
        client = client_as(app, "planner")
        with client:
            client.get("/login")  # a request with the planner's session
            with pytest.raises(Forbidden):
                require(roles=("admin",))
            user = require(roles=("planner",))
            assert user.name == USERS["planner"]
            assert user.scope.is_all
            assert flask.request.path == "/login"

    def test_a_page_without_roles_stops_the_app(self, app, landed_settings, monkeypatch):
        page = next(iter(dash.page_registry.values()))  # `app` registered the pages
        monkeypatch.setitem(dash.page_registry, "pages.loose", {**page, "roles": None})
        with pytest.raises(PageWithoutRolesError, match="does not declare roles"):
            create_app(landed_settings, accounts=cheap_accounts(landed_settings))
