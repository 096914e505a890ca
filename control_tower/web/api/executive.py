"""The money of the executive page in the JSON API, under the caller's scope.

`GET /api/v1/executive/money?entity=&location=`
    As of the newest computed day (`as_of`), in the reporting currency
    (`reporting_currency`): `value_at_risk` (the unresolved exception items'),
    `backlog` (open and backordered lines' unshipped value, converted at the
    rate of `rate_day`; the sites without a rate are left out and listed in
    `missing`) and `inventory` (on hand at standard cost, latest snapshot
    before `as_of`); `queues` (type, label, items, valued, value_at_risk) and
    `sites` (location_id, entity_id, currency, items, value_at_risk, backlog,
    backlog_local, backlog_lines, inventory, inventory_local, inventory_day;
    `*_local` in the site's entity currency). When every site belongs to one
    entity of another currency, `entity` gives it and its totals in that
    currency. A missing conversion is `null`, never 0.

Every role may call it; a user scoped to sites or entities gets their rows only. Errors:
401 without a session or token; 403 when `entity` / `location` lies outside the caller's
scope; 503 before the first data is published, or while the published data has no
currency tables.
"""

from __future__ import annotations

from typing import Any

import flask

from control_tower import accounts
from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.executive_money import MoneyNotComputedError, MoneyView, money_view
from control_tower.web.api import ApiError, api_user
from control_tower.web.api.kpis import MAX_ID
from control_tower.web.filters import Filters
from control_tower.web.runtime import web_context

ROLES = accounts.ROLES  # every role: each sees the money of its own scope


def _scope(user_scope: Scope, args: Any) -> Scope:
    """The caller's scope narrowed to the `entity` / `location` asked (403 outside it)."""
    asked: dict[str, str | None] = {}
    for key in ("entity", "location"):
        raw = args.get(key) or None
        if raw is not None and len(raw) > MAX_ID:
            raise ApiError(400, f"{key} is longer than {MAX_ID} characters")
        asked[key] = raw
    scope = Filters(**asked).scoped(user_scope)
    if scope is None:
        words = ", ".join(f"{k}={v}" for k, v in asked.items() if v)
        raise ApiError(403, f"{words} is outside your scope ({user_scope.describe()})")
    return scope


def describe(money: MoneyView) -> dict[str, Any]:
    """The money as JSON (dates ISO, missing conversions null)."""
    entity = money.entity
    return {
        "reporting_currency": money.reporting_currency,
        "as_of": money.as_of.isoformat(),
        "rate_day": money.rate_day.isoformat(),
        "value_at_risk": money.value_at_risk,
        "backlog": money.backlog,
        "inventory": money.inventory,
        "missing": [
            {
                "location_id": m.location_id,
                "figure": m.figure,
                "from_currency": m.from_currency,
                "to_currency": m.to_currency,
                "day": m.day.isoformat(),
            }
            for m in money.missing
        ],
        "queues": [
            {
                "type": q.type,
                "label": q.label,
                "items": q.items,
                "valued": q.valued,
                "value_at_risk": q.value_at_risk,
            }
            for q in money.queues
        ],
        "sites": [
            {
                "location_id": s.location_id,
                "entity_id": s.entity_id,
                "currency": s.currency,
                "items": s.items,
                "value_at_risk": s.value_at_risk,
                "value_at_risk_local": s.value_at_risk_local,
                "backlog": s.backlog,
                "backlog_local": s.backlog_local,
                "backlog_lines": s.backlog_lines,
                "inventory": s.inventory,
                "inventory_local": s.inventory_local,
                "inventory_day": s.inventory_day.isoformat() if s.inventory_day else None,
            }
            for s in money.sites
        ],
        "entity": None
        if entity is None
        else {
            "entity_id": entity[0],
            "currency": entity[1],
            "value_at_risk": money.local("value_at_risk"),
            "backlog": money.local("backlog"),
            "inventory": money.local("inventory"),
        },
    }


def register(blueprint: flask.Blueprint) -> None:
    """Add the executive money route to the API blueprint."""

    @blueprint.get("/executive/money")
    def executive_money() -> flask.Response:
        """The money of the caller's scope (narrowed by `entity` / `location`)."""
        user = api_user(ROLES)
        scope = _scope(user.scope, flask.request.args)
        try:
            with web_context().snapshot() as cur:
                as_of = latest_as_of(cur)
                if as_of is None:
                    raise ApiError(503, "no KPI values computed yet")
                money = money_view(cur, scope, as_of=as_of)
        except NoSnapshotError:
            raise ApiError(503, "no data has been published yet") from None
        except MoneyNotComputedError as exc:
            raise ApiError(503, f"{exc}; it is built by the next load") from None
        return flask.jsonify(describe(money))
