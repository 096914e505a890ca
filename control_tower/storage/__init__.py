"""The DuckDB store (the analytical warehouse): its schema, the single-writer lock and read-only serving snapshots."""

from __future__ import annotations

from control_tower.storage.lock import WriterBusyError, WriterLock
from control_tower.storage.publish import publish_snapshot
from control_tower.storage.schema import connect_writer, ensure_schema
from control_tower.storage.serving import NoSnapshotError, ServingStore, open_snapshot

__all__ = [
    "NoSnapshotError",
    "ServingStore",
    "WriterBusyError",
    "WriterLock",
    "connect_writer",
    "ensure_schema",
    "open_snapshot",
    "publish_snapshot",
]
