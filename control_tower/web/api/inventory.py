"""The inventory positions endpoint of the JSON API.

`GET /api/v1/inventory/positions?date=&location_id=&item_id=&category=`
    The positions of one snapshot day (default: the latest in the caller's scope), one object
    per item and site with the figures of the inventory page: units (on hand, allocated,
    quarantined, in transit, available, on order), demand and days of cover, values in the
    reporting currency and in the entity's currency (null when no rate: never 0), and the
    change since the previous snapshot. The same rows as the page and the KPIs
    `available_units` and `inventory_value` (model `inventory_position_values`). The answer
    also carries `date`, `as_of`, `reporting_currency`, `days` (the snapshot days in scope,
    latest first, at most 400) and `totals`.

Roles: planner, warehouse_supervisor, executive, finance, admin. Errors (JSON
`{"error": "..."}`): 400 names the bad argument (a date that is not YYYY-MM-DD or has no
snapshot in the caller's scope, an unknown site or category, an argument too long or
unknown); 403 for another role or a site outside the caller's scope; 503 before the first
data is published.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from control_tower.storage.serving import NoSnapshotError
from control_tower.views import inventory as iv
from control_tower.web.api import ApiError, api_user
from control_tower.web.runtime import web_context

ROLES = ("planner", "warehouse_supervisor", "executive", "finance", "admin")
ARGS = ("date", "location_id", "item_id", "category")
MAX_ARG = 64
DAYS_LISTED = 400


def _args() -> dict[str, str | None]:
    """The query string's arguments (400 for an unknown or too long one)."""
    unknown = sorted(set(flask.request.args) - set(ARGS))
    if unknown:
        raise ApiError(400, f"unknown argument {unknown[0]!r}; allowed: {', '.join(ARGS)}")
    out: dict[str, str | None] = {}
    for key in ARGS:
        raw = (flask.request.args.get(key) or "").strip()
        if len(raw) > MAX_ARG:
            raise ApiError(400, f"{key} is longer than {MAX_ARG} characters")
        out[key] = raw or None
    return out


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def register(blueprint: flask.Blueprint) -> None:
    """Add the inventory positions route to the API blueprint."""

    @blueprint.get("/inventory/positions")
    def inventory_positions() -> flask.Response:
        """One snapshot day's positions in the caller's scope (module docstring)."""
        user = api_user(ROLES)
        args = _args()
        wanted = None
        if args["date"]:
            try:
                wanted = date.fromisoformat(args["date"])
            except ValueError:
                raise ApiError(400, f"date={args['date']!r} is not a date (YYYY-MM-DD)") from None
        context = web_context()
        try:
            with context.snapshot() as cur:
                location = args["location_id"]
                if location is not None:
                    row = cur.execute(
                        "SELECT entity_id FROM locations WHERE location_id = ?", [location]
                    ).fetchone()
                    if row is None:
                        raise ApiError(400, f"location_id={location!r} is not a known site")
                    if not user.scope.allows(row[0], location):
                        raise ApiError(403, f"location_id={location!r} is outside your scope")
                category = args["category"]
                if category is not None and category not in iv.categories(cur):
                    raise ApiError(400, f"category={category!r} is not an item category")
                as_of = iv.data_as_of(cur)
                days = iv.snapshot_days(cur, user.scope, as_of) if as_of else []
                day = wanted or (days[0] if days else None)
                if day is None or as_of is None:
                    raise ApiError(400, "there is no inventory snapshot in your scope")
                if day not in days:
                    raise ApiError(
                        400, f"date={day.isoformat()!r} has no inventory snapshot in your scope"
                    )
                rows = iv.positions(
                    cur,
                    context.catalog(),
                    user.scope,
                    as_of=as_of,
                    day=day,
                    filters=iv.Filters(
                        location_id=location, item_id=args["item_id"], category=category
                    ),
                )
                reporting = cur.execute("SELECT reporting_currency FROM money.settings").fetchone()
        except NoSnapshotError:
            raise ApiError(503, "no data has been published yet") from None
        totals = iv.totals(rows)
        return flask.jsonify(
            {
                "date": day.isoformat(),
                "as_of": as_of.isoformat(),
                "reporting_currency": reporting[0] if reporting else None,
                "days": [d.isoformat() for d in days[:DAYS_LISTED]],
                "totals": {
                    "positions": totals.rows,
                    "inventory_value": totals.inventory_value,
                    "available_units": totals.available_units,
                    "on_order_units": totals.on_order_units,
                    "on_order_value": totals.on_order_value,
                    "out_of_stock": totals.out_of_stock,
                    "inventory_value_by_entity_currency": dict(totals.value_by_currency),
                },
                "positions": [{k: _json(v) for k, v in r.items()} for r in rows],
            }
        )
