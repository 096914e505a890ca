"""The available-to-promise endpoint of the JSON API.

`GET /api/v1/atp?item=&location=&qty=&date=&uom=&horizon=&customer=`
    When `qty` of `item` can be promised at `location`: the answer of
    `control_tower.promising.answer.answer` as JSON (`PromiseAnswer.to_json`):
    `date` (null when not promisable within the horizon), `status`
    (promisable, partial, later, not_within_horizon), `partial_qty` on the
    wanted day, `alternatives` (other sites of the same entity within the
    caller's scope that can promise earlier, with their dates), `risk` of
    each suggested date (the late-order model; null with `risk_note` when
    none is trained) and the `projection` (every day, its supply and demand).
    `item`, `location` and `qty` are required; `date` (YYYY-MM-DD, default:
    as soon as possible), `uom` (EA or CS, default EA), `horizon` (days,
    default 60) and `customer` are optional.

Roles: planner, executive, admin, and customer_service where that role
exists. Errors (JSON `{"error": "..."}`): 400 names the bad argument (a
missing or unknown item or location, a quantity that is not a positive
number, a bad date, unit or horizon); 403 for another role or a location
outside the caller's scope; 503 before the first data is published.
"""

from __future__ import annotations

from datetime import date

import flask

from control_tower.accounts import ROLES as ALL_ROLES
from control_tower.promising.answer import (
    OutOfScopeError,
    PromiseInputError,
    PromiseRequest,
    answer,
)
from control_tower.promising.atp import DEFAULT_HORIZON_DAYS
from control_tower.risk.promise_risk import promise_risk
from control_tower.storage.serving import NoSnapshotError
from control_tower.web.api import ApiError, api_user
from control_tower.web.runtime import web_context

# Who may ask what can be promised (customer_service only where the role is defined).
ROLES = tuple(r for r in ("planner", "executive", "admin", "customer_service") if r in ALL_ROLES)
MAX_ARG = 64


def _text(key: str, *, required: bool = False) -> str | None:
    raw = (flask.request.args.get(key) or "").strip()
    if not raw:
        if required:
            raise ApiError(400, f"{key} is required")
        return None
    if len(raw) > MAX_ARG:
        raise ApiError(400, f"{key} is longer than {MAX_ARG} characters")
    return raw


def _number(key: str, raw: str, kind: type) -> float | int:
    try:
        return kind(raw)
    except ValueError:
        raise ApiError(400, f"{key}={raw!r} is not a number") from None


def _request() -> tuple[PromiseRequest, int]:
    """The request of the query string, and the horizon (400 naming a bad argument)."""
    item = _text("item", required=True)
    location = _text("location", required=True)
    qty = _number("qty", _text("qty", required=True) or "", float)
    raw_date = _text("date")
    try:
        wanted = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise ApiError(400, f"date={raw_date!r} is not a date (YYYY-MM-DD)") from None
    raw_horizon = _text("horizon")
    horizon = _number("horizon", raw_horizon, int) if raw_horizon else DEFAULT_HORIZON_DAYS
    uom = (_text("uom") or "EA").upper()
    return PromiseRequest(item or "", location or "", qty, wanted, uom, _text("customer")), int(
        horizon
    )


def register(blueprint: flask.Blueprint) -> None:
    """Add the ATP route to the API blueprint."""

    @blueprint.get("/atp")
    def atp() -> flask.Response:
        """What can be promised of one item at one site (module docstring)."""
        user = api_user(ROLES)
        request, horizon = _request()
        context = web_context()
        try:
            with context.snapshot() as cur:
                risk = promise_risk(cur, context.settings.models_dir)
                (found,) = answer(cur, [request], scope=user.scope, horizon_days=horizon, risk=risk)
        except PromiseInputError as exc:
            raise ApiError(400, str(exc)) from None
        except OutOfScopeError as exc:
            raise ApiError(403, str(exc)) from None
        except NoSnapshotError:
            raise ApiError(503, "no data has been published yet") from None
        return flask.jsonify(found.to_json())
