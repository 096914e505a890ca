"""Action requests written straight into an app database, as an approval leaves them.

Tests of the outbox and of confirmation start from an approved request without going
through raising and approving (`approved_request`), and may give it an exception item to
act on (`open_item`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from control_tower.actions.store import REQUEST_SYSTEMS, ActionRequest
from control_tower.exceptions.store import ExceptionItem, ExceptionStore


def open_item(store: ExceptionStore, *, at: datetime, type: str = "stockout_risk") -> int:
    """An open exception item (its id) for a request to be raised from."""
    with store.session() as s:
        item = ExceptionItem(
            type=type,
            key=f"K-{uuid.uuid4().hex[:8]}",
            status="open",
            severity="high",
            owner_role="planner",
            location_id="DC2",
            entity_id="E1",
            item_id="SKU-1",
            sla_hours=24,
            created_at=at,
            last_seen_at=at,
            detail={},
        )
        s.add(item)
        s.flush()
        return item.id


def approved_request(
    store: ExceptionStore,
    type: str,
    params: dict[str, Any],
    *,
    at: datetime,
    exception_id: int | None = None,
    status: str = "approved",
    **values: Any,
) -> ActionRequest:
    """A request of `type` approved at `at` (raised an hour before), with `params`."""
    with store.session() as s:
        request = ActionRequest(
            request_uid=str(uuid.uuid4()),
            type=type,
            system=REQUEST_SYSTEMS[type],
            status=status,
            exception_id=exception_id,
            location_id=params.get("to_location_id", params.get("location_id")),
            item_id=params.get("item_id"),
            params=params,
            value=values.pop("value", 1200.0),
            note=values.pop("note", "cover the stockout"),
            requested_by="pat",
            requested_at=at - timedelta(hours=1),
            decided_by="lee",
            decided_at=at,
            **values,
        )
        s.add(request)
    return request


TRANSFER = {
    "from_location_id": "DC1",
    "to_location_id": "DC2",
    "item_id": "SKU-1",
    "quantity": 40.0,
    "ship_date": "2026-03-20",
}
