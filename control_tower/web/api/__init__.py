"""The HTTP JSON API under `/api/v1/`: KPIs and exceptions for machine clients and scripts.

It lives on the web app's Flask server, behind the same gate as the pages
(`control_tower.web.auth`): a signed-in browser session or a personal API
token sent as `Authorization: Bearer ct_...`; without either every call
answers 401 JSON. Each view starts with `api_user(roles)` (role checked, 403
otherwise) and filters rows with that user's scope, exactly as the pages do.

Resources are in their own modules (`kpis`, `exceptions`, `atp`, `order_lines`, `requests`,
`notifications`, `executive`, `inventory`),
each adding its routes to the one blueprint. Errors are JSON objects `{"error": "..."}`
with a status that says what went wrong: 400 a bad argument (named), 401 not
signed in, 403 not allowed, 404 unknown, 409 a conflicting change.

State-changing calls (POST) from a browser session must send JSON
(`Content-Type: application/json`, which a cross-site form cannot) and, when
the browser sends an `Origin`, it must be this server's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import flask
from werkzeug.exceptions import BadRequest, HTTPException

from control_tower.web.auth import WebUser, require

API_PREFIX = "/api/v1"

__all__ = ["API_PREFIX", "ApiError", "api_user", "install_api", "json_body"]


class ApiError(HTTPException):
    """An API error with a status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(description=message)
        self.code = status


def api_user(roles: Iterable[str] | None = None) -> WebUser:
    """The calling user (401 / 403 JSON otherwise); use its `.scope` on every query."""
    return require(roles=roles)


def json_body() -> dict[str, Any]:
    """The request's JSON object (400 if it is not one); checks the origin of session calls."""
    user = api_user()
    if user.session_id is not None:  # a browser session, not a token
        origin = flask.request.headers.get("Origin")
        if origin and origin.rstrip("/") != flask.request.host_url.rstrip("/"):
            raise ApiError(403, f"requests from {origin} may not change data here")
    if not flask.request.is_json:
        raise ApiError(400, "send the body as JSON (Content-Type: application/json)")
    try:
        body = flask.request.get_json()
    except BadRequest:
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _error(exc: HTTPException) -> flask.Response:
    response = flask.jsonify({"error": exc.description or exc.name})
    response.status_code = exc.code or 500
    response.headers["Cache-Control"] = "no-store"
    return response


def install_api(server: flask.Flask, prefix: str = "/") -> None:
    """Register the API blueprint (every resource module's routes) on the app's server."""
    from control_tower.web.api import (  # they import this
        atp,
        exceptions,
        executive,
        inventory,
        kpis,
        notifications,
        order_lines,
        requests,
    )

    blueprint = flask.Blueprint("api_v1", __name__, url_prefix=prefix.rstrip("/") + API_PREFIX)

    @blueprint.get("/me")
    def me() -> flask.Response:
        """Who is calling: name, role and scope."""
        user = api_user()
        scope = user.scope
        return flask.jsonify(
            {
                "name": user.name,
                "role": user.role,
                "permissions": sorted(user.permissions),
                "scope": {
                    "entities": sorted(scope.entities),
                    "locations": sorted(scope.locations),
                },
            }
        )

    kpis.register(blueprint)
    atp.register(blueprint)
    inventory.register(blueprint)
    exceptions.register(blueprint)
    order_lines.register(blueprint)
    requests.register(blueprint)
    notifications.register(blueprint)
    executive.register(blueprint)
    blueprint.register_error_handler(HTTPException, _error)
    server.register_blueprint(blueprint)

    @server.after_request
    def _no_store(response: flask.Response) -> flask.Response:
        if flask.request.path.startswith(prefix.rstrip("/") + API_PREFIX):
            response.headers["Cache-Control"] = "no-store"
        return response
