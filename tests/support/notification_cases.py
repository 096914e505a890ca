"""Queue items and configuration files for the notification tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from control_tower.exceptions.store import AuditEntry, ExceptionItem, ExceptionStore

T0 = datetime(2026, 3, 2, 8, 0)  # when the test items' conditions began


def add_item(store: ExceptionStore, **values: Any) -> ExceptionItem:
    """One queue item (defaults: a medium stockout at DC-NJ of US01, 24 h SLA, begun at T0)."""
    fields: dict[str, Any] = {
        "type": "stockout_risk",
        "key": f"SKU{values.get('id', '')}|{values.get('location_id', 'DC-NJ')}",
        "status": "open",
        "severity": "medium",
        "owner_role": "planner",
        "location_id": "DC-NJ",
        "entity_id": "US01",
        "sla_hours": 24.0,
        "created_at": T0,
        "last_seen_at": T0,
        "times_seen": 1,
        "active": True,
        "detail": {},
    }
    fields.update(values)
    item = ExceptionItem(**fields)
    with store.session() as s:
        s.add(item)
        s.flush()
        s.add(AuditEntry(item_id=item.id, actor="system", at=T0, action="created",
                         changes={}, version=item.version))  # fmt: skip
    return item


def write(path: Path, text: str) -> Path:
    """A configuration file in the data folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
