"""The web app: Dash pages on Flask, reading the newest serving snapshot.

`create_app` is the one place that wires the app: the pages under
`control_tower/web/pages`, the stylesheets and scripts of `assets/` (shipped with the package), the
shell (header and navigation built from the page registry, for the signed-in
user's role), sign-in and the authorisation gate (`signin`, `auth`), proxies,
body limit, rate limits and security headers (`security`), the `/api/v1`
JSON API (`web.api`), and one `WebContext` per app (serving store, account
store, exception store, snapshot caches), reached from callbacks through
`runtime.web_context()`. `workers` serves it (waitress, or gunicorn's worker
processes). Nothing is read from the warehouse until a request
asks for it. Browser-side code is in `assets/*.js`.
"""

from __future__ import annotations

import time
from pathlib import Path

import dash
import flask

from control_tower import resources
from control_tower.accounts import AccountStore
from control_tower.settings import Settings
from control_tower.storage.serving import ServingStore
from control_tower.web.api import install_api
from control_tower.web.auth import current_web_user, home_path
from control_tower.web.auth_pages import notice
from control_tower.web.runtime import EXTENSION_KEY, WebContext
from control_tower.web.security import install_security
from control_tower.web.shell import PRODUCT_NAME, install_shell
from control_tower.web.signin import install_auth
from control_tower.web.workers import make_server, serve_app

ASSETS_DIR = resources.shipped("assets")
PAGES_DIR = Path(__file__).resolve().parent / "pages"

__all__ = ["create_app", "make_server", "serve_app"]


def create_app(settings: Settings, *, accounts: AccountStore | None = None) -> dash.Dash:
    """The Dash app for one installation (pages, shell, assets, sign-in, stores)."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR),
        title=PRODUCT_NAME,
        update_title=None,
        # Page layouts are swapped in by the router, so their ids are not in the shell.
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    if not settings.secret_key:
        raise ValueError("the web app needs settings.secret_key to sign its session cookies")
    app.server.secret_key = settings.secret_key
    accounts = accounts or AccountStore.for_settings(settings)
    app.server.extensions[EXTENSION_KEY] = WebContext(
        settings=settings,
        store=ServingStore(settings.serving_dir, settings.web_duckdb),
        accounts=accounts,
    )
    _server_timing(app.server)  # before the gate, so the time includes it
    install_auth(app, accounts, settings)  # its gate runs before any other hook of ours
    install_security(app, settings)
    install_api(app.server, app.config.requests_pathname_prefix)
    install_shell(app)
    _redirect_root(app)
    # Dash hands `dash.callback`s registered while importing the pages to the first
    # app that serves a request; bind them to this app now, so that several apps
    # in one process (tests, tools) each get their own.
    app.server.test_client().get(app.get_relative_path("/_dash-dependencies"))
    return app


def _server_timing(server: flask.Flask) -> None:
    """Add `Server-Timing: app;dur=<ms>` to every answer: the time the server spent on it,
    from the first hook to the answer (browsers show it in their network panel; the load
    benchmark reads it)."""

    @server.before_request
    def _start() -> None:
        flask.g.ct_started = time.perf_counter()

    @server.after_request
    def _stamp(response: flask.Response) -> flask.Response:
        started = flask.g.get("ct_started")
        if started is not None:
            ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
        return response


def _redirect_root(app: dash.Dash) -> None:
    """Send `/` to the user's first page (Dash serves `/` itself, so pages cannot redirect)."""
    root = app.config.requests_pathname_prefix

    @app.server.before_request
    def _root_to_home() -> flask.Response | None:
        if flask.request.path != root or flask.request.method != "GET":
            return None
        user = current_web_user()  # the auth gate has sent anyone signed out to /login
        path = home_path(user.role if user else None)
        if path is None:
            return notice("Welcome", "No page is open to your role yet.", 200)
        return flask.redirect(app.get_relative_path(path))
