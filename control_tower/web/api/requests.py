"""API routes for action requests: raise one from an exception item, list, read, decide, cancel.

The acting user is always the authenticated one; requests outside the caller's scope answer
404 like unknown ids (`control_tower.actions.service`: every check).

`GET /api/v1/exceptions/<id>/requests`
    What the caller may raise from the item: `{"forms": [...], "suggested": [...],
    "requests": [...]}`: a form per request type of the caller's role (fields: name, label,
    kind, required, help), the requests the item suggests, filled in from its detail, and the
    requests already raised from it.
`POST /api/v1/exceptions/<id>/requests`
    JSON `{"type": "stock_transfer", "params": {...}, "note": "..."}`. 201 with the request
    (`pending_approval`, or `approved` when no approval rule applies); 400 a field (named,
    with the value and why); 403 a role that may not raise the type or a site out of scope;
    404 the item not in scope; 503 no data yet or an approval rules file with a mistake.
`GET /api/v1/requests`
    Arguments (all optional): `view` (`all` by default, `awaiting`: mine to approve, `mine`:
    raised by me), `status`, `type`, `exception`, `limit` (1-1000, default 100), `offset`.
    `{"total", "limit", "offset", "requests": [...]}`, newest first.
`GET /api/v1/requests/<id>`
    `{"request": {...}, "events": [...]}`: the request and its audit trail.
`POST /api/v1/requests/<id>/approve | reject | cancel`
    JSON `{"expected_version": n, "note": "..."}` (a rejection needs a note). 200 with the
    request after; 400 a missing version or note, or a request no longer pending; 403 not the
    approver the rule names, the requester deciding their own request, or cancelling someone
    else's; 404 not in scope; 409 changed since `expected_version` (`current_version`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from control_tower import accounts
from control_tower.actions import service
from control_tower.actions.approvals import load_rules
from control_tower.actions.handover import hand_over
from control_tower.actions.prefill import prefill
from control_tower.actions.types import (
    RequestInputError,
    RequestNotAllowedError,
    forms_for,
)
from control_tower.config_files import ConfigError
from control_tower.exceptions import query as q
from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError
from control_tower.web.api import ApiError, api_user, json_body
from control_tower.web.api.exceptions import _int_arg
from control_tower.web.runtime import web_context

ROLES = accounts.ROLES


def _answer(call: Callable[[], Any]) -> Any:
    """Run a service call, its errors as API errors."""
    try:
        return call()
    except service.UnknownRequestError as exc:
        raise ApiError(404, str(exc)) from None
    except RequestNotAllowedError as exc:
        raise ApiError(403, str(exc)) from None
    except RequestInputError as exc:
        raise ApiError(400, str(exc)) from None
    except (ConfigError, NoSnapshotError) as exc:
        raise ApiError(503, str(exc) or "no data has been published yet") from None


def request_options(item_id: str) -> flask.Response:
    """The forms the caller may fill for an item, its suggestions and its requests."""
    user = api_user(ROLES)
    context = web_context()
    item = q.get_scoped(context.exceptions, user.scope, item_id)
    if item is None:
        raise ApiError(404, f"no exception {item_id[:40]} in your scope")
    forms = forms_for(user.role)
    allowed = {f.type for f in forms}

    def suggest() -> list[dict[str, Any]]:
        with context.snapshot() as cur:
            return prefill(cur, item, today=utc_now().date())

    suggested = _answer(suggest)
    _total, raised = service.list_requests(context.exceptions, actor=user, exception_id=item.id)
    return flask.jsonify(
        {
            "forms": [f.to_json() for f in forms],
            "suggested": [s for s in suggested if s["type"] in allowed],
            "requests": [service.request_json(r) for r in raised],
        }
    )


def raise_from_exception(item_id: str) -> flask.Response:
    """Raise a request from one item (module docstring)."""
    user = api_user(ROLES)
    body = json_body()
    context = web_context()

    def run() -> Any:
        rules = load_rules(context.settings.approval_rules_path)
        with context.snapshot() as cur:
            return service.raise_request(
                context.exceptions,
                cur,
                rules,
                actor=user,
                exception_id=item_id,
                type_name=body.get("type"),
                params=body.get("params") if body.get("params") is not None else {},
                note=body.get("note"),
            )

    request = hand_over(context.settings, context.exceptions, _answer(run))
    response = flask.jsonify({"request": service.request_json(request)})
    response.status_code = 201
    return response


def list_requests() -> flask.Response:
    """The caller's requests in scope, filtered (module docstring)."""
    user = api_user(ROLES)
    args = flask.request.args
    limit = _int_arg("limit", 100, 1, 1000)
    offset = _int_arg("offset", 0, 0, 10**9)
    total, rows = _answer(
        lambda: service.list_requests(
            web_context().exceptions,
            actor=user,
            view=args.get("view") or "all",
            exception_id=args.get("exception") or None,
            status=args.get("status") or None,
            type_name=args.get("type") or None,
            limit=limit,
            offset=offset,
        )
    )
    return flask.jsonify(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "requests": [service.request_json(r) for r in rows],
        }
    )


def get_request(request_id: str) -> flask.Response:
    """One request with its events."""
    user = api_user(ROLES)
    view = _answer(lambda: service.get_request(web_context().exceptions, request_id, actor=user))
    return flask.jsonify(
        {
            "request": service.request_json(view.request),
            "events": [service.event_json(e) for e in view.events],
        }
    )


def _step(request_id: str, verb: str) -> flask.Response:
    user = api_user(ROLES)
    body = json_body()
    context = web_context()
    store = context.exceptions
    _answer(lambda: service.get_request(store, request_id, actor=user))  # 404 first
    kwargs: dict[str, Any] = {
        "actor": user,
        "expected_version": body.get("expected_version"),
        "note": body.get("note"),
    }
    try:
        if verb == "cancel":
            request = _answer(lambda: service.cancel(store, request_id, **kwargs))
        else:
            request = _answer(lambda: service.decide(store, request_id, verb, **kwargs))
    except service.RequestConflictError as exc:
        response = flask.jsonify(
            {
                "error": str(exc),
                "expected_version": exc.expected_version,
                "current_version": exc.current_version,
            }
        )
        response.status_code = 409
        return response
    request = hand_over(context.settings, store, request)
    return flask.jsonify({"request": service.request_json(request)})


def approve(request_id: str) -> flask.Response:
    """Approve a pending request as the rule's approver."""
    return _step(request_id, "approve")


def reject(request_id: str) -> flask.Response:
    """Reject a pending request, with a note."""
    return _step(request_id, "reject")


def cancel(request_id: str) -> flask.Response:
    """Cancel a request not yet sent (its requester or an admin)."""
    return _step(request_id, "cancel")


def register(blueprint: flask.Blueprint) -> None:
    """Add the request routes to the API blueprint."""
    rule = blueprint.add_url_rule
    rule("/exceptions/<item_id>/requests", view_func=request_options, methods=["GET"])
    rule("/exceptions/<item_id>/requests", view_func=raise_from_exception, methods=["POST"])
    rule("/requests", view_func=list_requests, methods=["GET"])
    rule("/requests/<request_id>", view_func=get_request, methods=["GET"])
    rule("/requests/<request_id>/approve", view_func=approve, methods=["POST"])
    rule("/requests/<request_id>/reject", view_func=reject, methods=["POST"])
    rule("/requests/<request_id>/cancel", view_func=cancel, methods=["POST"])
