"""KPI endpoints of the JSON API: the catalog, one KPI, and its values under the caller's scope.

Every role may call them (as every role may open a KPI's detail page);
figures are limited to the caller's scope, exactly as on the pages.

`GET /api/v1/kpis`
    The catalog: for each KPI its name, label, description, owner, status
    (certified, draft, deprecated: certified when its version and content
    hash are signed off), version, content_hash, signoff (who approved the
    current version: {signed_by, signed_at, note}, or null), unit, format,
    direction (higher_is_better, lower_is_better), target, thresholds
    {warn, breach}, dimensions, time_dimension and exception_types.

`GET /api/v1/kpis/<name>`
    One KPI's definition (as above) and `current`: its value over the
    default range (the 42 days to the newest computed day), with numerator,
    denominator, status (ok, warn, breach), from, to, freshness and source.
    Takes `entity` and `location` like the values endpoint.

`GET /api/v1/kpis/<name>/values?from=&to=&grain=&by=&member=&entity=&location=`
    The KPI's series: `points` of {period, member, value, numerator,
    denominator, status}, with `version`, `grain`, `by`, `from`, `to`,
    `freshness` (the oldest newest-load of the tables it reads, UTC) and
    `source` (materialised or computed). All arguments are optional:
    `from` / `to` are ISO dates (default: a grain-dependent span ending on
    the newest computed day; at most 3 years); `grain` is day, week or month
    (default day); `by` is one of the KPI's dimensions, to break it down;
    `member` (with `by`) keeps one value of it; `entity` and `location`
    narrow the view. Periods are whole: a week or month starting before
    `from` is counted from its first day.

Errors (JSON `{"error": "..."}`): 400 names a bad argument (an unreadable
date, an unknown grain or dimension, `from` after `to`); 401 without a
session or token; 403 when `entity` / `location` lies outside the caller's
scope (asking a DC-NJ supervisor for `location=DC-CHI` is refused, not
answered empty), or when the KPI cannot be limited to the caller's scope
(it lacks the dimension the scope restricts; the reason is given); 404 for
an unknown KPI; 503 before the first data is published.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import flask

from control_tower import accounts
from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.serving import GRAINS, OutOfScopeError, latest_as_of, series, status_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.kpi import describe_series, figure
from control_tower.web.api import ApiError, api_user
from control_tower.web.filters import DEFAULT_DAYS, MAX_DAYS, Filters
from control_tower.web.runtime import web_context

ROLES = accounts.ROLES  # every role
MAX_ID = 64


def definition(kpi: Kpi) -> dict[str, Any]:
    """A KPI's definition as JSON."""
    return {
        "name": kpi.name,
        "label": kpi.label,
        "description": kpi.description.strip(),
        "owner": kpi.owner,
        "status": kpi.status,
        "version": kpi.version,
        "content_hash": kpi.content_hash,
        "signoff": (
            {
                "signed_by": kpi.signoff.signed_by,
                "signed_at": kpi.signoff.signed_at.isoformat(),
                "note": kpi.signoff.note,
            }
            if kpi.signoff is not None
            else None
        ),
        "type": kpi.type,
        "unit": kpi.unit,
        "format": kpi.format,
        "direction": kpi.direction,
        "target": kpi.target,
        "thresholds": {"warn": kpi.warn, "breach": kpi.breach},
        "dimensions": list(kpi.dimensions),
        "time_dimension": kpi.time_dimension,
        "exception_types": list(kpi.exception_types),
    }


def _kpi(name: str) -> Kpi:
    catalog = web_context().catalog()
    kpi = catalog.kpis.get(name)
    if kpi is None:
        raise ApiError(404, f"no KPI named {name!r}")
    return kpi


def _date_arg(args: Any, key: str) -> date | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{key}={raw!r} is not a date (YYYY-MM-DD)") from None


def _id_arg(args: Any, key: str) -> str | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_ID:
        raise ApiError(400, f"{key} is longer than {MAX_ID} characters")
    return raw


def _scope(user_scope: Scope, entity: str | None, location: str | None) -> Scope:
    """The caller's scope narrowed to `entity` / `location`; 403 when they lie outside it."""
    scope = Filters(entity=entity, location=location).scoped(user_scope)
    if scope is None:
        asked = ", ".join(f"{k}={v}" for k, v in (("entity", entity), ("location", location)) if v)
        raise ApiError(403, f"{asked} is outside your scope ({user_scope.describe()})")
    return scope


def _range(start: date | None, end: date | None, grain: str, latest: date) -> tuple[date, date]:
    """The asked range with its defaults filled in (400 when it is backwards or too long)."""
    end = end or latest
    start = start or end - timedelta(days=DEFAULT_DAYS[grain] - 1)
    if start > end:
        raise ApiError(400, f"from={start} is after to={end}")
    if (end - start).days > MAX_DAYS:
        raise ApiError(400, f"from..to spans more than {MAX_DAYS} days")
    return start, end


def register(blueprint: flask.Blueprint) -> None:
    """Add the KPI routes to the API blueprint."""

    @blueprint.get("/kpis")
    def kpi_list() -> flask.Response:
        """Every KPI of the catalog."""
        api_user(ROLES)
        catalog = web_context().catalog()
        return flask.jsonify({"kpis": [definition(k) for k in catalog.kpis.values()]})

    @blueprint.get("/kpis/<name>")
    def kpi_one(name: str) -> flask.Response:
        """One KPI's definition and its value over the default range."""
        user = api_user(ROLES)
        kpi = _kpi(name)
        args = flask.request.args
        scope = _scope(user.scope, _id_arg(args, "entity"), _id_arg(args, "location"))
        try:
            with web_context().snapshot() as cur:
                latest = latest_as_of(cur)
                current: dict[str, Any] | None = None
                if latest is not None:
                    start, end = _range(None, None, "day", latest)
                    s = series(cur, kpi, scope=scope, start=start, end=end, grain="day")
                    f = figure(kpi, s.points)
                    current = {
                        "from": start.isoformat(),
                        "to": end.isoformat(),
                        "value": f.value,
                        "numerator": f.numerator,
                        "denominator": f.denominator,
                        "status": status_of(kpi, f.value),
                        "freshness": s.freshness.isoformat() if s.freshness else None,
                        "source": s.source,
                    }
        except OutOfScopeError as exc:
            raise ApiError(403, str(exc)) from None
        except NoSnapshotError:
            raise ApiError(503, "no data has been published yet") from None
        return flask.jsonify({**definition(kpi), "current": current})

    @blueprint.get("/kpis/<name>/values")
    def kpi_values(name: str) -> flask.Response:
        """The KPI's series for a range, grain and optional breakdown, within the caller's scope."""
        user = api_user(ROLES)
        kpi = _kpi(name)
        args = flask.request.args
        grain = args.get("grain") or "day"
        if grain not in GRAINS:
            raise ApiError(400, f"grain={grain!r} is not one of: {', '.join(GRAINS)}")
        by = args.get("by") or None
        if by is not None and by not in kpi.dimensions:
            raise ApiError(
                400, f"by={by!r} is not a dimension of {kpi.name}: {', '.join(kpi.dimensions)}"
            )
        member = _id_arg(args, "member")
        if member is not None and by is None:
            raise ApiError(400, "member needs by (the dimension it is a value of)")
        scope = _scope(user.scope, _id_arg(args, "entity"), _id_arg(args, "location"))
        asked_start, asked_end = _date_arg(args, "from"), _date_arg(args, "to")
        try:
            with web_context().snapshot() as cur:
                latest = latest_as_of(cur)
                if latest is None:
                    raise ApiError(503, "no KPI values have been computed yet")
                start, end = _range(asked_start, asked_end, grain, latest)
                s = series(
                    cur,
                    kpi,
                    scope=scope,
                    start=start,
                    end=end,
                    grain=grain,
                    dimension=by,
                    members=[member] if member is not None else None,
                )
        except OutOfScopeError as exc:
            raise ApiError(403, str(exc)) from None
        except NoSnapshotError:
            raise ApiError(503, "no data has been published yet") from None
        return flask.jsonify(
            {**describe_series(kpi, s), "from": start.isoformat(), "to": end.isoformat()}
        )
