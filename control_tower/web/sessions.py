"""The browser session's cookie, its CSRF token and its idle timeout.

The signed cookie (HttpOnly, SameSite=Lax, Secure over https or when
configured) carries only a random session id, the CSRF token of the forms and
the time of the user's last activity; the session itself lives in the app
database (`AccountStore`), so signing out ends it for every copy of the cookie.

Idle timeout: a signed-in browser session with no activity for
`Settings.idle_minutes` is ended on its next request, which is answered as
for someone signed out (a page: the sign-in page saying why; data: 401).
Activity is any request but the ones a page makes by itself on a timer
(callbacks fired only by a `dcc.Interval`), so an open tab left alone still
times out. The activity time is rewritten at most once a minute.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import flask
from flask.sessions import SecureCookieSessionInterface

CSRF_KEY = "_csrf"
SEEN_KEY = "_seen"
COOKIE_NAME = "ct_session"
TOUCH_EVERY = 60.0  # seconds between rewrites of the activity time

__all__ = [
    "COOKIE_NAME",
    "CSRF_KEY",
    "SEEN_KEY",
    "SessionInterface",
    "csrf_ok",
    "csrf_token",
    "idle_for",
    "mark_activity",
]


class SessionInterface(SecureCookieSessionInterface):
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


def csrf_ok() -> bool:
    """Whether the posted form carries the session's CSRF token."""
    expected = flask.session.get(CSRF_KEY)
    sent = flask.request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(str(expected), sent)


def idle_for(now: float) -> float:
    """Seconds since the session's last activity (0 when none is recorded)."""
    seen = flask.session.get(SEEN_KEY)
    return max(0.0, now - seen) if isinstance(seen, int | float) else 0.0


def _timer_only(callback_path: str) -> bool:
    """Whether this request is a Dash callback fired only by an interval timer."""
    if flask.request.path != callback_path or flask.request.method != "POST":
        return False
    body: Any = flask.request.get_json(silent=True)
    changed = body.get("changedPropIds") if isinstance(body, dict) else None
    return (
        isinstance(changed, list)
        and bool(changed)
        and all(isinstance(p, str) and p.endswith(".n_intervals") for p in changed)
    )


def mark_activity(now: float, callback_path: str) -> None:
    """Record the user's activity (not a timer's), at most once every TOUCH_EVERY seconds."""
    seen = flask.session.get(SEEN_KEY)
    if isinstance(seen, int | float) and (now - seen < TOUCH_EVERY or _timer_only(callback_path)):
        return
    flask.session[SEEN_KEY] = now
