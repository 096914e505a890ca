"""Sign-in, sign-out and the gate that runs before every request of the web app.

The gate:

- assets (`/assets/`, Dash's component bundles, the favicon) and `/login` are open;
- without a signed-in user, a page gets a redirect to `/login` and every Dash
  endpoint (`/_dash-*`) or `/api/` call a 401 JSON answer, nothing else;
- a browser session idle for longer than the idle timeout is ended first
  (`sessions`), then treated as signed out;
- a page the user's role may not open gets a 403 page, and a callback whose
  outputs belong to such a page a 403 JSON answer, before the callback runs.

Sign-in: the form carries a CSRF token bound to the session; failed attempts
are throttled per client address and per account (`throttle`, 429 with
`Retry-After` while an address must wait); after it the browser goes back to
the `next` path only when it is a path of this site (`redirects`). API
clients send a personal token as `Authorization: Bearer ct_...` (only under
`/api/`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dash
import flask
from flask_login import LoginManager, login_user, logout_user
from werkzeug.exceptions import Forbidden, HTTPException, Unauthorized

from control_tower.accounts import AccountStore
from control_tower.settings import Settings
from control_tower.web.auth import (
    CALLBACK_PATH,
    DATA_PREFIXES,
    PUBLIC_PREFIXES,
    WebUser,
    callback_allowed,
    check_pages,
    current_web_user,
    page_for_path,
    page_roles,
)
from control_tower.web.auth_pages import LOGIN_PAGE, json_error, notice, render
from control_tower.web.redirects import LOGIN_PATH, login_url, safe_next
from control_tower.web.runtime import web_context
from control_tower.web.sessions import (
    COOKIE_NAME,
    SEEN_KEY,
    SessionInterface,
    csrf_ok,
    csrf_token,
    idle_for,
    mark_activity,
)
from control_tower.web.throttle import RateLimited

log = logging.getLogger(__name__)

LOGOUT_PATH = "/logout"
REFUSED = "Wrong user name or password, or the account is locked or disabled."

__all__ = ["LOGIN_PATH", "LOGOUT_PATH", "install_auth"]


def install_auth(app: dash.Dash, accounts: AccountStore, settings: Settings) -> None:
    """Put sign-in, sign-out and the authorisation gate on a Dash app's server."""
    server = app.server
    prefix = app.config.requests_pathname_prefix
    root = prefix.rstrip("/")
    server.config.update(
        CT_PATH_PREFIX=prefix,
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    server.session_interface = SessionInterface(settings.cookie_secure)
    check_pages()

    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server)

    @manager.user_loader
    def _load(session_id: str) -> WebUser | None:
        account = accounts.session_account(session_id)
        return WebUser(account, session_id) if account else None

    @manager.request_loader
    def _load_token(request: flask.Request) -> WebUser | None:
        header = request.headers.get("Authorization", "")
        if not request.path.startswith(root + "/api/"):
            return None
        if not header.lower().startswith("bearer "):
            return None
        account = accounts.verify_token(header[7:].strip())
        return WebUser(account, None) if account else None

    server.before_request(_gate(prefix, accounts, settings.idle_minutes * 60))

    @server.route(root + LOGIN_PATH, methods=["GET", "POST"])
    def login() -> flask.Response:
        if flask.request.method == "GET":
            nxt = safe_next(flask.request.args.get("next"))
            if current_web_user() is not None:
                return flask.redirect(nxt or prefix)
            message = None
            if flask.request.args.get("expired"):
                message = "You were signed out after a while without activity. Sign in again."
            return render(LOGIN_PAGE, csrf=csrf_token(), next=nxt, message=message)
        return _login_post(accounts, prefix)

    @server.route(root + LOGOUT_PATH, methods=["GET", "POST"])
    def logout() -> flask.Response:
        user = current_web_user()
        if flask.request.method == "GET":
            if user is None:
                return flask.redirect(root + LOGIN_PATH)
            return notice("Sign out", f"Signed in as {user.name}.", 200)
        if not csrf_ok():
            return notice("Sign out", "The form expired. Try again.", 400)
        if user is not None and user.session_id:
            accounts.end_session(user.session_id)
        logout_user()
        flask.session.clear()
        return flask.redirect(root + LOGIN_PATH)

    def _http_error(exc: HTTPException) -> flask.Response:
        path = flask.request.path[len(prefix) - 1 :]
        message = "sign in first" if exc.code == 401 else "your role may not see this"
        if path.startswith(DATA_PREFIXES) or flask.request.method != "GET":
            return json_error(exc.code or 403, message)
        return notice("Not allowed", "Your role may not open this page.", exc.code or 403)

    server.register_error_handler(Unauthorized, _http_error)
    server.register_error_handler(Forbidden, _http_error)


def _login_post(accounts: AccountStore, prefix: str) -> flask.Response:
    form = flask.request.form
    name = form.get("name", "")[:128]
    nxt = safe_next(form.get("next"))
    client = flask.request.remote_addr or "unknown"
    if not csrf_ok():
        log.warning("sign-in form without a valid CSRF token from %s", client)
        return render(
            LOGIN_PAGE, 400, message="The form expired. Try again.", csrf=csrf_token(), next=nxt
        )
    throttle = web_context().sign_ins
    try:
        throttle.check(client, name)
    except RateLimited as limited:
        log.warning("sign-in as %r from %s throttled for %ss", name, client, limited.retry_after)
        response = render(
            LOGIN_PAGE, 429, message=limited.message, csrf=csrf_token(), next=nxt, name=name
        )
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    # An address that has not failed signs in even to a locked account: a lockout caused by
    # someone else's guesses must not keep the account's owner out (throttle module doc).
    result = accounts.authenticate(
        name, form.get("password", ""), honour_lockout=throttle.has_failed(client)
    )
    if not result.ok or result.account is None:
        throttle.failed(client, name)
        log.warning("sign-in refused for %r from %s: %s", name, client, result.reason)
        return render(LOGIN_PAGE, 401, message=REFUSED, csrf=csrf_token(), next=nxt, name=name)
    throttle.succeeded(client, name)
    flask.session.clear()  # a fresh session: nothing set before sign-in survives it
    session_id = accounts.start_session(result.account)
    login_user(WebUser(result.account, session_id))
    csrf_token()
    flask.session[SEEN_KEY] = web_context().clock()
    log.info("%s signed in (%s)", result.account.name, result.account.role)
    return flask.redirect(nxt or prefix)


def _timed_out(accounts: AccountStore, user: WebUser, idle_seconds: float) -> bool:
    """End a browser session idle for longer than `idle_seconds`; True when it was ended."""
    if user.session_id is None:  # an API token: no idle timeout
        return False
    now = web_context().clock()
    if idle_for(now) <= idle_seconds:
        return False
    log.info("%s signed out after %.0f s without activity", user.name, idle_for(now))
    accounts.end_session(user.session_id)
    logout_user()
    flask.session.clear()
    return True


def _gate(
    prefix: str, accounts: AccountStore, idle_seconds: float
) -> Callable[[], flask.Response | None]:
    """The before-request check of the module docstring."""
    root = prefix.rstrip("/")

    def gate() -> flask.Response | None:
        path = flask.request.path
        if not path.startswith(prefix) and path != root:
            return None
        local = "/" + path[len(prefix) :]
        if local.startswith(PUBLIC_PREFIXES) or local == LOGIN_PATH:
            return None
        user = current_web_user()
        expired = user is not None and _timed_out(accounts, user, idle_seconds)
        is_data = local.startswith(DATA_PREFIXES)
        if user is None or expired:
            if local == LOGOUT_PATH:
                return flask.redirect(root + LOGIN_PATH)
            if is_data or flask.request.method != "GET":
                why = "your session timed out: sign in again" if expired else "sign in first"
                return json_error(401, why)
            target = flask.request.full_path if flask.request.query_string else path
            extra = {"expired": "1"} if expired else {}
            return flask.redirect(login_url(root, target, **extra))
        if user.session_id is not None:
            mark_activity(web_context().clock(), root + CALLBACK_PATH)
        if local == CALLBACK_PATH and not callback_allowed(user.role):
            log.warning("%s (%s) refused a callback of another role", user.name, user.role)
            return json_error(403, "your role may not see this")
        if not is_data and flask.request.method == "GET":
            page = page_for_path(local)
            if page is not None and user.role not in page_roles(page):
                return notice("Not allowed", "Your role may not open this page.", 403)
        return None

    return gate
