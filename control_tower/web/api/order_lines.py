"""Re-promising an order line: `POST /api/v1/order-lines/<order_id>/<line_no>/promise`.

Body (JSON): `{"date": "YYYY-MM-DD", "reason": "..."}`. Planners, customer service and
admins may call it, for lines within their scope (`views.repromise.repromise_line`: the
checks, what is recorded, and when the line's order_at_risk item closes). Answers 200 with
the outcome (covered, the ATP date, whether the item closed, the message draft to the
customer); 400 a bad date, reason or a line not open (named); 403 another role; 404 a line
unknown or outside the caller's scope; 503 before the first data is published.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from control_tower.storage.serving import NoSnapshotError
from control_tower.views.repromise import (
    REPROMISE_ROLES,
    RepromiseError,
    RepromiseNotAllowedError,
    RepromiseOutcome,
    UnknownLineError,
    repromise_line,
)
from control_tower.web.api import ApiError, api_user, json_body
from control_tower.web.auth import WebUser
from control_tower.web.runtime import web_context


def _date(body: dict) -> date:
    value = body.get("date")
    if not isinstance(value, str):
        raise ApiError(400, "date is required: the new promised date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"date={value!r}: not a date (YYYY-MM-DD)") from None


def repromise_as(
    user: WebUser, order_id: str, line_no: int, promised: date, reason: Any
) -> RepromiseOutcome:
    """Re-promise a line as the signed-in `user`, on the current serving snapshot and the app
    database (`views.repromise.repromise_line`: its errors pass through)."""
    context = web_context()
    with context.snapshot() as cur:
        return repromise_line(
            cur,
            context.exceptions,
            order_id=order_id,
            line_no=line_no,
            promised_date=promised,
            reason=reason,
            user=user.name,
            role=user.role,
            scope=user.scope,
        )


def promise_line(order_id: str, line_no: str) -> flask.Response:
    """Re-promise one open order line (module docstring)."""
    user = api_user(REPROMISE_ROLES)
    body = json_body()
    if not line_no.isdigit():
        raise ApiError(404, f"no order line {order_id} line {line_no} in your scope")
    promised = _date(body)
    try:
        outcome = repromise_as(user, order_id, int(line_no), promised, body.get("reason"))
    except RepromiseNotAllowedError as exc:
        raise ApiError(403, str(exc)) from None
    except UnknownLineError as exc:
        raise ApiError(404, str(exc)) from None
    except (RepromiseError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    except NoSnapshotError:
        raise ApiError(503, "no data has been published yet") from None
    return flask.jsonify(outcome.to_json())


def register(blueprint: flask.Blueprint) -> None:
    """Add the order-line routes to the API blueprint."""
    blueprint.add_url_rule(
        "/order-lines/<order_id>/<line_no>/promise", view_func=promise_line, methods=["POST"]
    )
