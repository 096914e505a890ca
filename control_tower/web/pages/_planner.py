"""What the planner's two pages share: roles, the queue-status vocabulary, links, the exception store.

Not a page itself (Dash skips modules whose name starts with "_"), so both
pages can import it without being imported twice.
"""

from __future__ import annotations

import threading
from urllib.parse import quote

import flask

from control_tower.exceptions.store import ExceptionStore
from control_tower.web.runtime import web_context

ROLES = ("planner", "admin")  # both pages and every callback: require(roles=ROLES)
EXCEPTIONS_KEY = "control_tower.planner.exceptions"

STATUS = {
    "open": ("●", "Open", "warn"),
    "acknowledged": ("✓", "Acknowledged", "info"),
    "snoozed": ("◷", "Snoozed", "idle"),
    "resolved": ("✔", "Resolved", "ok"),
    "none": ("○", "No queue item", "idle"),
}

_STORE_LOCK = threading.Lock()


def exception_store() -> ExceptionStore:
    """The app database's exception store of the app serving this request (opened once)."""
    extensions = flask.current_app.extensions
    store = extensions.get(EXCEPTIONS_KEY)
    if store is None:
        with _STORE_LOCK:
            store = extensions.get(EXCEPTIONS_KEY)
            if store is None:
                store = ExceptionStore.open(web_context().settings.app_db_url)
                extensions[EXCEPTIONS_KEY] = store
    return store


def drill_path(location_id: str, item_id: str) -> str:
    """The drill of one item at one location."""
    return f"/planner/{quote(location_id, safe='')}/{quote(item_id, safe='')}"
