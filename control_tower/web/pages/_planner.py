"""What the planner's two pages share: roles, the queue-status vocabulary, links, the exception store.

Not a page itself (Dash skips modules whose name starts with "_"), so both
pages can import it without being imported twice.
"""

from __future__ import annotations

from urllib.parse import quote

from control_tower.exceptions.store import ExceptionStore
from control_tower.web.components import EXCEPTION_STATUS
from control_tower.web.runtime import web_context

ROLES = ("planner", "admin")  # both pages and every callback: require(roles=ROLES)

# Queue status of a triage row: an exception item's status, or no item at all.
STATUS = {**EXCEPTION_STATUS, "none": ("○", "No queue item", "idle")}


def exception_store() -> ExceptionStore:
    """The exception store of the app serving this request."""
    return web_context().exceptions


def drill_path(location_id: str, item_id: str) -> str:
    """The drill of one item at one location."""
    return f"/planner/{quote(location_id, safe='')}/{quote(item_id, safe='')}"
