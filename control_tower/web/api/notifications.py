"""The caller's own in-app notifications.

- `GET /api/v1/notifications?unread=1&limit=N`: newest first (at most 200), with the unread
  count: `{"unread": n, "notifications": [{id, kind, subject, body, link, exception_id,
  created_at, read_at}, ...]}`.
- `POST /api/v1/notifications/read` with `{"ids": [..]}` or `{"all": true}`: marks the
  caller's notices read (another user's id is ignored); answers `{"marked": n, "unread": n}`.

Every role may call both; a user only ever sees and marks their own notices.
"""

from __future__ import annotations

from typing import Any

import flask

from control_tower import accounts
from control_tower.notifications import list_notifications, mark_read, unread_count
from control_tower.web.api import ApiError, api_user, json_body
from control_tower.web.runtime import web_context

MAX_LIMIT = 200


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit={raw!r}: a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _json(n: Any) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "subject": n.subject,
        "body": n.body,
        "link": n.link,
        "exception_id": n.exception_id,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


def list_mine() -> flask.Response:
    """The caller's notices (module docstring)."""
    user = api_user(accounts.ROLES)
    store = web_context().exceptions
    unread_only = flask.request.args.get("unread", "") in ("1", "true")
    rows = list_notifications(
        store, user.name, unread_only=unread_only, limit=_limit(flask.request.args.get("limit"))
    )
    return flask.jsonify(
        {"unread": unread_count(store, user.name), "notifications": [_json(n) for n in rows]}
    )


def read_mine() -> flask.Response:
    """Mark the caller's notices read (module docstring)."""
    user = api_user(accounts.ROLES)
    body = json_body()
    ids = body.get("ids")
    if body.get("all") is True:
        chosen = None
    elif isinstance(ids, list) and ids and all(isinstance(i, int) for i in ids):
        chosen = ids
    else:
        raise ApiError(400, 'give "ids": [whole numbers] or "all": true')
    store = web_context().exceptions
    marked = mark_read(store, user.name, chosen)
    return flask.jsonify({"marked": marked, "unread": unread_count(store, user.name)})


def register(blueprint: flask.Blueprint) -> None:
    """Add the notification routes to the API blueprint."""
    blueprint.add_url_rule("/notifications", view_func=list_mine, methods=["GET"])
    blueprint.add_url_rule("/notifications/read", view_func=read_mine, methods=["POST"])
