"""What the web app's server does for every request, whatever the page: proxies, limits, headers.

- Trusted proxies: with `Settings.trusted_proxies` = N > 0, the last N hops of
  `X-Forwarded-For`, `-Proto`, `-Host` and `-Port` are believed
  (werkzeug's ProxyFix), so behind a TLS proxy the request is https (the
  session cookie gets `Secure`), its host is the public one (the API's origin
  check passes) and the client address is the real one (sign-in throttle).
  With 0 (the default) those headers are ignored: anyone could send them.
  `X-Forwarded-Prefix` never is: the app's own path prefix is configured in Dash.
- Body size: a request body over `Settings.max_request_bytes` is refused with
  413 before anything reads it.
- Rate limits: a `RateLimited` raised anywhere (e.g. a user's budget of
  uncached KPI computations, counted around every Dash callback and API call)
  is answered 429 with `Retry-After` and the reason as JSON.
- Headers on every answer: a Content-Security-Policy that lets in only this
  site's scripts (plus the hashes of the inline scripts Dash writes into its
  page), no framing (`frame-ancestors 'none'`), no plugins, forms posting only
  here; `X-Content-Type-Options: nosniff`; `Referrer-Policy: same-origin`;
  `X-Frame-Options: DENY` for browsers without CSP level 2.
"""

from __future__ import annotations

import threading

import dash
import flask
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from control_tower.kpi.serving import before_compute
from control_tower.settings import Settings
from control_tower.web.auth import current_web_user
from control_tower.web.auth_pages import json_error
from control_tower.web.runtime import web_context
from control_tower.web.throttle import RateLimited

__all__ = ["content_security_policy", "install_security"]

STYLE_SOURCES = "'self' 'unsafe-inline'"  # plotly and the grid set inline styles on elements


def content_security_policy(script_hashes: list[str]) -> str:
    """The CSP header: this site's scripts and these inline-script hashes (`'sha256-...'`),
    nothing framed."""
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {STYLE_SOURCES}",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _trust_proxies(server: flask.Flask, hops: int) -> None:
    if hops > 0:
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0
        )


def _headers(app: dash.Dash) -> None:
    policy: list[str] = []  # made on the first answer, once every callback is registered
    lock = threading.Lock()

    @app.server.after_request
    def _secure(response: flask.Response) -> flask.Response:
        if not policy:
            with lock:
                if not policy:
                    policy.append(content_security_policy(list(app.csp_hashes())))
        response.headers["Content-Security-Policy"] = policy[0]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response


def _limits(server: flask.Flask, max_bytes: int) -> None:
    server.config["MAX_CONTENT_LENGTH"] = max_bytes

    def _too_large(_exc: RequestEntityTooLarge) -> flask.Response:
        return json_error(
            413, f"the request is larger than the {max_bytes:,} bytes this server accepts"
        )

    def _limited(exc: RateLimited) -> flask.Response:
        response = json_error(429, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    server.register_error_handler(RequestEntityTooLarge, _too_large)
    server.register_error_handler(RateLimited, _limited)


def _computation_budget(server: flask.Flask) -> None:
    """Count every KPI computation a signed-in user's request starts against their budget."""

    def check() -> None:
        user = current_web_user()
        if user is not None:
            web_context().computations.take(user.name)

    @server.before_request
    def _open() -> None:
        scope = before_compute(check)
        scope.__enter__()
        flask.g.ct_compute_scope = scope

    @server.teardown_request
    def _close(_exc: BaseException | None) -> None:
        scope = flask.g.pop("ct_compute_scope", None)
        if scope is not None:
            scope.__exit__(None, None, None)


def install_security(app: dash.Dash, settings: Settings) -> None:
    """Trusted proxies, body limit, rate-limit answers and security headers (module doc)."""
    _trust_proxies(app.server, settings.trusted_proxies)
    _limits(app.server, settings.max_request_bytes)
    _computation_budget(app.server)
    _headers(app)
