"""Sign-in and authorisation on the web app's Flask server.

One gate runs before every request:

- assets (`/assets/`, Dash's component bundles, the favicon) and `/login` are open;
- without a signed-in user, a page gets a redirect to `/login` and every Dash
  endpoint (`/_dash-*`) or `/api/` call a 401 JSON answer, nothing else;
- a page the user's role may not open gets a 403 page, and a callback whose
  outputs belong to such a page (component ids carry the page's prefix) a 403
  JSON answer, before the callback runs.

Every page declares the roles that may open it (`dash.register_page(...,
roles=(...))`); `install_auth` refuses to start with a page that does not, and
guards each page's layout too. On top of that, every data callback starts
with `require(roles=...)`, which returns the signed-in user and its `Scope`:
row scope always comes from the server-side user, never from callback inputs.

Sessions: the signed cookie (HttpOnly, SameSite=Lax, Secure over https or
when configured) carries only a random session id; the session itself lives
in the app database, so signing out, a new password or disabling the user
ends it for every copy of the cookie. The login form carries a CSRF token
bound to the session. API clients send a personal token as
`Authorization: Bearer ct_...` (only under `/api/`).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import dash
import flask
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.exceptions import Forbidden, HTTPException, Unauthorized

from control_tower.accounts import ROLES, Account, AccountStore, Scope
from control_tower.settings import Settings

log = logging.getLogger(__name__)

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
DATA_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")
CALLBACK_PATH = "/_dash-update-component"
CSRF_KEY = "_csrf"
COOKIE_NAME = "ct_session"
ROLE_LABELS = {
    "executive": "Executive",
    "warehouse_supervisor": "Warehouse supervisor",
    "planner": "Planner",
    "finance": "Finance",
    "admin": "Admin",
}


class PageWithoutRolesError(RuntimeError):
    """A registered page does not say which roles may open it."""


class WebUser(UserMixin):
    """The signed-in user of a request: account (role, scope) and the session it came with."""

    def __init__(self, account: Account, session_id: str | None) -> None:
        self.account = account
        self.session_id = session_id

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the random session id, never the user id."""
        return self.session_id or ""

    @property
    def name(self) -> str:
        """The user's name."""
        return self.account.name

    @property
    def role(self) -> str:
        """The user's role (one of ROLES)."""
        return self.account.role

    @property
    def scope(self) -> Scope:
        """The rows this user may see."""
        return self.account.scope


# --- authorisation --------------------------------------------------------------------------


def require(roles: Iterable[str] | None = None) -> WebUser:
    """The signed-in user if their role is among `roles` (None: any role); else 401 or 403.

    Call it first in every data callback, download and API view, and filter
    rows with the returned user's `scope`.
    """
    user = current_user
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized("sign in first")
    if roles is not None and user.role not in set(roles):
        raise Forbidden("your role may not see this")
    return user  # type: ignore[return-value]


def current_web_user() -> WebUser | None:
    """The signed-in user of the current request, or None."""
    user = current_user
    return user if getattr(user, "is_authenticated", False) else None  # type: ignore[return-value]


def page_roles(page: dict[str, Any]) -> tuple[str, ...]:
    """The roles a registered page lets in."""
    return tuple(page.get("roles") or ())


def allowed_pages(role: str | None) -> list[dict[str, Any]]:
    """Registered pages a role may open, in registry order."""
    if role is None:
        return []
    return [p for p in dash.page_registry.values() if role in page_roles(p)]


def home_path(role: str | None) -> str | None:
    """Where `/` leads a role: the first page listed in the navigation it may open."""
    pages = [p for p in allowed_pages(role) if p.get("nav", True)]
    return pages[0]["relative_path"] if pages else None


def _page_prefix(page: dict[str, Any]) -> str:
    """Component ids of a page start with this (STYLE.md: ids prefixed with the page name)."""
    return page.get("id_prefix") or page["path"].strip("/").split("/")[0] + "-"


def _page_for_path(path: str) -> dict[str, Any] | None:
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if template:
            parts = re.split(r"<[^>]+>", template)
            if re.fullmatch("[^/]+".join(re.escape(part) for part in parts) + "/?", path):
                return page
        elif path.rstrip("/") == page["path"].rstrip("/"):
            return page
    return None


def _output_ids(body: dict[str, Any]) -> list[str]:
    outputs = body.get("outputs")
    items = outputs if isinstance(outputs, list) else [outputs]
    ids: list[str] = []
    for item in items:
        if isinstance(item, list):  # pattern-matching ALL outputs
            items.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        cid = item.get("id")
        if isinstance(cid, dict):
            ids.extend(str(v) for v in cid.values())
        elif cid is not None:
            ids.append(str(cid))
    return ids


def _callback_allowed(role: str) -> bool:
    """Whether every output of the posted callback belongs to a page the role may open."""
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        return True  # Dash answers a malformed request with its own error
    pages = list(dash.page_registry.values())
    for cid in _output_ids(body):
        for page in pages:
            if cid.startswith(_page_prefix(page)) and role not in page_roles(page):
                return False
    return True


def _guard_layout(page: dict[str, Any]) -> None:
    """Wrap a page's layout so that a role outside the page's roles gets a refusal instead."""
    layout = page.get("layout")
    if getattr(layout, "_ct_guarded", False):
        return
    roles = page_roles(page)

    def guarded(**kwargs: Any) -> Any:
        user = current_web_user()
        if user is None or user.role not in roles:
            return _refusal_layout()
        return layout(**kwargs) if callable(layout) else layout

    guarded._ct_guarded = True  # type: ignore[attr-defined]
    page["layout"] = guarded


def _refusal_layout() -> Any:
    from control_tower.web import components as ui

    return dash.html.Div(
        ui.empty_state(
            "This page is not part of your role",
            "Ask an administrator if you need it.",
            icon="⛔",
        ),
        id="page-forbidden",
    )


# --- sessions and CSRF ----------------------------------------------------------------------


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure when the request came over https (unless configured)."""

    def __init__(self, secure: bool | None) -> None:
        self.secure = secure

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        if self.secure is not None:
            return self.secure
        return bool(flask.has_request_context() and flask.request.is_secure)


def csrf_token() -> str:
    """The CSRF token of the current session (made on first use)."""
    token = flask.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session[CSRF_KEY] = token
    return token


def _csrf_ok() -> bool:
    expected = flask.session.get(CSRF_KEY)
    sent = flask.request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(str(expected), sent)


def _safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in, or None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(c in target for c in "\r\n") or len(target) > 2000:
        return None
    return target


# --- HTML of the sign-in pages --------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Control Tower</title>
<link rel="stylesheet" href="{{ prefix }}assets/control-tower.css">
</head>
<body class="auth-body">
<main class="auth-card" id="auth-card">
<div class="auth-brand"><span class="shell-logo" aria-hidden="true">◆</span> Control Tower</div>
{% block content %}{% endblock %}
</main>
</body>
</html>"""

_LOGIN = _PAGE.replace(
    "{% block content %}{% endblock %}",
    """<h1>Sign in</h1>
{% if message %}<p class="auth-message" role="alert" id="login-error"><span aria-hidden="true">⚠</span> {{ message }}</p>{% endif %}
<form method="post" action="{{ prefix }}login" id="login-form" autocomplete="on">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next or '' }}">
<label for="login-name">User name</label>
<input id="login-name" name="name" type="text" autocomplete="username" required autofocus value="{{ name or '' }}" maxlength="128">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" id="login-submit">Sign in</button>
</form>
<p class="auth-note">Accounts are created by an administrator with <code>control-tower users add</code>.</p>""",
)

_NOTICE = _PAGE.replace(
    "{% block content %}{% endblock %}",
    """<h1>{{ title }}</h1>
<p id="auth-notice">{{ message }}</p>
<p class="auth-actions">{% if home %}<a href="{{ home }}">Go to your start page</a>{% endif %}</p>
{% if user %}<form method="post" action="{{ prefix }}logout" id="logout-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit" id="logout-submit">Sign out {{ user }}</button>
</form>{% endif %}""",
)


def _render(template: str, status: int = 200, **context: Any) -> flask.Response:
    prefix = flask.current_app.config.get("CT_PATH_PREFIX", "/")
    html = flask.render_template_string(template, prefix=prefix, **context)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def notice(title: str, message: str, status: int) -> flask.Response:
    """A small page outside Dash: a title, a sentence, a link home and a sign-out button."""
    user = current_web_user()
    return _render(
        _NOTICE,
        status,
        title=title,
        message=message,
        user=user.name if user else None,
        home=_home_url(user),
        csrf=csrf_token() if user else "",
    )


def _home_url(user: WebUser | None) -> str | None:
    path = home_path(user.role if user else None)
    prefix = flask.current_app.config.get("CT_PATH_PREFIX", "/")
    return prefix.rstrip("/") + path if path else None


def _json_error(status: int, message: str) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


# --- wiring ---------------------------------------------------------------------------------


def install_auth(app: dash.Dash, accounts: AccountStore, settings: Settings) -> None:
    """Put sign-in, sign-out and the authorisation gate on a Dash app's server."""
    server = app.server
    prefix = app.config.requests_pathname_prefix
    server.config.update(
        CT_PATH_PREFIX=prefix,
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    server.session_interface = _SessionInterface(settings.cookie_secure)
    for page in dash.page_registry.values():
        roles = page_roles(page)
        if not roles:
            raise PageWithoutRolesError(
                f"page {page['module']} does not declare roles=(...) in dash.register_page"
            )
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise PageWithoutRolesError(f"page {page['module']} names unknown roles {unknown}")
        _guard_layout(page)

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
        if not request.path.startswith(prefix.rstrip("/") + "/api/"):
            return None
        if not header.lower().startswith("bearer "):
            return None
        account = accounts.verify_token(header[7:].strip())
        return WebUser(account, None) if account else None

    server.before_request(_gate(prefix))

    @server.route(prefix.rstrip("/") + LOGIN_PATH, methods=["GET", "POST"])
    def login() -> flask.Response:
        if flask.request.method == "GET":
            nxt = _safe_next(flask.request.args.get("next"))
            if current_web_user() is not None:
                return flask.redirect(nxt or prefix)
            return _render(_LOGIN, csrf=csrf_token(), next=nxt)
        return _login_post(accounts, prefix)

    @server.route(prefix.rstrip("/") + LOGOUT_PATH, methods=["GET", "POST"])
    def logout() -> flask.Response:
        user = current_web_user()
        if flask.request.method == "GET":
            if user is None:
                return flask.redirect(prefix.rstrip("/") + LOGIN_PATH)
            return notice("Sign out", f"Signed in as {user.name}.", 200)
        if not _csrf_ok():
            return notice("Sign out", "The form expired. Try again.", 400)
        if user is not None and user.session_id:
            accounts.end_session(user.session_id)
        logout_user()
        flask.session.clear()
        return flask.redirect(prefix.rstrip("/") + LOGIN_PATH)

    def _http_error(exc: HTTPException) -> flask.Response:
        path = flask.request.path[len(prefix) - 1 :]
        message = "sign in first" if exc.code == 401 else "your role may not see this"
        if path.startswith(DATA_PREFIXES) or flask.request.method != "GET":
            return _json_error(exc.code or 403, message)
        return notice("Not allowed", "Your role may not open this page.", exc.code or 403)

    server.register_error_handler(Unauthorized, _http_error)
    server.register_error_handler(Forbidden, _http_error)


def _login_post(accounts: AccountStore, prefix: str) -> flask.Response:
    form = flask.request.form
    name = form.get("name", "")[:128]
    nxt = _safe_next(form.get("next"))
    if not _csrf_ok():
        log.warning("sign-in form without a valid CSRF token from %s", flask.request.remote_addr)
        return _render(
            _LOGIN, 400, message="The form expired. Try again.", csrf=csrf_token(), next=nxt
        )
    result = accounts.authenticate(name, form.get("password", ""))
    if not result.ok or result.account is None:
        log.warning(
            "sign-in refused for %r from %s: %s", name, flask.request.remote_addr, result.reason
        )
        return _render(
            _LOGIN,
            401,
            message="Wrong user name or password, or the account is locked or disabled.",
            csrf=csrf_token(),
            next=nxt,
            name=name,
        )
    flask.session.clear()  # a fresh session: nothing set before sign-in survives it
    session_id = accounts.start_session(result.account)
    login_user(WebUser(result.account, session_id))
    csrf_token()
    log.info("%s signed in (%s)", result.account.name, result.account.role)
    return flask.redirect(nxt or prefix)


def _gate(prefix: str) -> Callable[[], flask.Response | None]:
    """The before-request check of module docstring."""
    root = prefix.rstrip("/")

    def gate() -> flask.Response | None:
        path = flask.request.path
        if not path.startswith(prefix) and path != root:
            return None
        local = "/" + path[len(prefix) :]
        if local.startswith(PUBLIC_PREFIXES) or local == LOGIN_PATH:
            return None
        user = current_web_user()
        is_data = local.startswith(DATA_PREFIXES)
        if user is None:
            if local == LOGOUT_PATH:
                return flask.redirect(root + LOGIN_PATH)
            if is_data or flask.request.method != "GET":
                return _json_error(401, "sign in first")
            target = flask.request.full_path if flask.request.query_string else path
            return flask.redirect(_login_url(root, target))
        if local == CALLBACK_PATH and not _callback_allowed(user.role):
            log.warning("%s (%s) refused a callback of another role", user.name, user.role)
            return _json_error(403, "your role may not see this")
        if not is_data and flask.request.method == "GET":
            page = _page_for_path(local)
            if page is not None and user.role not in page_roles(page):
                return notice("Not allowed", "Your role may not open this page.", 403)
        return None

    return gate


def _login_url(root: str, target: str) -> str:
    return f"{root}{LOGIN_PATH}?next={quote(target, safe='/')}"
