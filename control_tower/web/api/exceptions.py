"""API routes for the exception queue: list, read one item, act on it, export.

Every route answers for the calling user only: rows outside the user's
scope are never listed, and an item outside it answers 404 exactly like an
unknown id. The acting user is always the authenticated one, never a field
of the body.

`GET /api/v1/exceptions`
    Arguments (all optional): `type` (an exception type), `kpi` (the types
    linked to a KPI), `status` (`unresolved` by default; `open`,
    `acknowledged`, `snoozed`, `resolved`, `all`), `severity` (`low`,
    `medium`, `high`), `location`, `entity` (narrow the scope, never widen
    it), `assignee` (a user name, or `me`), `sort` (comma-separated columns,
    `-` for descending, e.g. `-value_at_risk,id`), `limit` (1-1000, default
    100), `offset`. Answers `{"total": n, "limit", "offset", "items": [...]}`
    with one object per item (`id`, `version`, `type`, `type_label`, `key`,
    `status`, `severity`, `owner_role`, `assignee`, `location_id`,
    `entity_id`, `item_id`, `created_at`, `age_days`, `sla_due_at`,
    `sla_breached`, `sla`, `value_at_risk`, `summary`, ...; times UTC).
`GET /api/v1/exceptions.csv`
    The same arguments (no paging): the whole matching queue as CSV.
`GET /api/v1/exceptions/<id>`
    `{"item": {...}, "detail": {...}, "suggested_action", "comments": [...],
    "history": [...], "source_records": [...]}`; source records are the
    landed rows behind the item with their batch and file.
`POST /api/v1/exceptions/<id>/actions`
    JSON `{"action": "acknowledge|assign|comment|snooze|resolve|reopen",
    "expected_version": n, "note": "...", "assignee": "user",
    "until": "YYYY-MM-DD", "reason": "fixed|accepted|..."}`. 200 with the
    item after the change; 409 with `changes` (who changed what since
    `expected_version`) and `current_version` when someone else got there
    first; 400 for a bad argument or no `expected_version`; 403 when the caller's role
    may not resolve the item (only its owner role or an admin may); 404 when the item is not
    in scope.
"""

from __future__ import annotations

from typing import Any

import flask

from control_tower import accounts
from control_tower.exceptions import actions
from control_tower.exceptions import query as q
from control_tower.exceptions.records import source_records
from control_tower.exceptions.registry import EXCEPTION_TYPES, type_names
from control_tower.exceptions.workflow import ConflictError, WorkflowError
from control_tower.export import csv_chunks
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.kpi import cached_catalog
from control_tower.web.api import ApiError, api_user, json_body
from control_tower.web.auth import WebUser
from control_tower.web.filters import Filters
from control_tower.web.runtime import snapshot_cursor, web_context

ROLES = accounts.ROLES  # every role
DEFAULT_LIMIT = 100


def _store() -> Any:
    return web_context().exceptions


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = flask.request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def _question(user: WebUser) -> tuple[Any, q.QueueFilter]:
    """The scope (None: nothing left) and filter the request's arguments ask for; 400 if unusable."""
    args = flask.request.args
    type_name, kpi = args.get("type") or None, args.get("kpi") or None
    types: tuple[str, ...] = ()
    given = False
    if type_name:
        if type_name not in type_names():
            raise ApiError(
                400, f"unknown type {type_name!r}; known types: {', '.join(type_names())}"
            )
        types, given = (type_name,), True
    if kpi:
        linked = cached_catalog(web_context().settings.kpi_definitions).exception_types(kpi)
        types = tuple(t for t in linked if t in types) if given else linked
        given = True
    assignee = args.get("assignee") or None
    if assignee == "me":
        assignee = user.name
    try:
        filt = q.QueueFilter(
            types=types,
            types_given=given,
            status=args.get("status") or "unresolved",
            severity=args.get("severity") or None,
            assignee=assignee,
        )
    except q.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    view = Filters.from_query(entity=args.get("entity"), location=args.get("location"))
    for name in ("entity", "location"):
        if args.get(name) and getattr(view, name) is None:
            raise ApiError(400, f"{name} is not a usable id")
    return view.scoped(user.scope), filt


def _sort_model() -> list[dict[str, str]]:
    model = q.parse_sort(flask.request.args.get("sort"))
    try:
        q.compile_sort(model)
    except q.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    return model


def _item(store: Any, user: WebUser, item_id: str) -> Any:
    item = q.get_scoped(store, user.scope, item_id)
    if item is None:
        raise ApiError(404, f"no exception {item_id[:40]} in your scope")
    return item


def list_exceptions() -> flask.Response:
    """The scoped, filtered, sorted queue, one page at a time, with the total."""
    user = api_user(ROLES)
    scope, filt = _question(user)
    sort = _sort_model()
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, q.MAX_PAGE_ROWS)
    offset = _int_arg("offset", 0, 0, 10**9)
    if scope is None:
        return flask.jsonify({"total": 0, "limit": limit, "offset": offset, "items": []})
    page = q.list_items(_store(), scope, filt, sort_model=sort, offset=offset, limit=limit)
    now = q.utcnow()
    return flask.jsonify(
        {
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "items": [q.item_row(item, now) for item in page.rows],
        }
    )


def export_exceptions() -> flask.Response:
    """The whole scoped, filtered, sorted queue as CSV, streamed (at most EXPORT_MAX_ROWS rows)."""
    user = api_user(ROLES)
    scope, filt = _question(user)
    sort = _sort_model()
    rows = q.export_rows(_store(), scope, filt, sort_model=sort)
    chunks = csv_chunks(rows, q.EXPORT_COLUMNS)
    response = flask.Response(flask.stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="exceptions.csv"'
    return response


def _comment(c: Any) -> dict[str, Any]:
    return {"author": c.author, "at": c.created_at.isoformat(sep=" "), "body": c.body}


def _audit(a: Any) -> dict[str, Any]:
    return {
        "actor": a.actor,
        "at": a.at.isoformat(sep=" "),
        "action": a.action,
        "changes": a.changes or {},
        "version": a.version,
        "note": a.note,
    }


def get_exception(item_id: str) -> flask.Response:
    """One item in scope with its detail, comments, history and source records."""
    user = api_user(ROLES)
    store = _store()
    item = _item(store, user, item_id)
    try:
        with snapshot_cursor() as cur:
            records = [e.as_json() for e in source_records(cur, item, user.scope)]
    except NoSnapshotError:
        records = []
    spec = EXCEPTION_TYPES.get(item.type)
    return flask.jsonify(
        {
            "item": q.item_row(item, q.utcnow()),
            "detail": item.detail or {},
            "suggested_action": spec.suggested_action if spec else None,
            "comments": [_comment(c) for c in store.comments(item.id)],
            "history": [_audit(a) for a in store.audit(item.id)],
            "source_records": records,
        }
    )


def _text_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be text")
    return value


def act_on_exception(item_id: str) -> flask.Response:
    """One workflow action by the calling user, at the version they saw."""
    user = api_user(ROLES)
    body = json_body()
    store = _store()
    _item(store, user, item_id)  # 404 before anything about the body is revealed
    action = body.get("action")
    if not isinstance(action, str):
        raise ApiError(400, "action is required (acknowledge, assign, comment, snooze, ...)")
    version = body.get("expected_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ApiError(
            400, "expected_version (a whole number: the item's version you saw) is required"
        )
    try:
        item = actions.act_in_scope(
            store,
            user.scope,
            item_id,
            action,
            user=user.name,
            role=user.role,
            expected_version=version,
            note=_text_field(body, "note"),
            assignee=_text_field(body, "assignee"),
            until=body.get("until"),
            reason=_text_field(body, "reason"),
            assignees=web_context().active_users(user.scope),
        )
    except ConflictError as exc:
        response = flask.jsonify(
            {
                "error": str(exc),
                "expected_version": exc.expected_version,
                "current_version": exc.current_version,
                "changes": [
                    {
                        "actor": c.actor,
                        "at": c.at.isoformat(sep=" "),
                        "action": c.action,
                        "changes": c.changes,
                        "version": c.version,
                    }
                    for c in exc.changes
                ],
            }
        )
        response.status_code = 409
        return response
    except actions.OutOfScopeError as exc:
        raise ApiError(404, str(exc)) from None
    except actions.NotAllowedError as exc:
        raise ApiError(403, str(exc)) from None
    except WorkflowError as exc:
        raise ApiError(400, str(exc)) from None
    return flask.jsonify({"item": q.item_row(item, q.utcnow())})


def register(blueprint: flask.Blueprint) -> None:
    """Add the exceptions routes to the API blueprint."""
    blueprint.add_url_rule("/exceptions", view_func=list_exceptions, methods=["GET"])
    blueprint.add_url_rule("/exceptions.csv", view_func=export_exceptions, methods=["GET"])
    blueprint.add_url_rule("/exceptions/<item_id>", view_func=get_exception, methods=["GET"])
    blueprint.add_url_rule(
        "/exceptions/<item_id>/actions", view_func=act_on_exception, methods=["POST"]
    )
