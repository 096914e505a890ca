"""The action request tables in the app database (beside the exception queue they act on).

- `exc_action_requests`: one row per request, its typed parameters (`params`, JSON), the item
  it was raised from, where it stands (`STATUSES`) and the approval, delivery and confirmation
  facts. `request_uid` is the request's identity outside the tower: every file and webhook
  carries it, so an executing system that sees a request twice can recognise it.
- `exc_action_events`: the audit trail, one row per step (raised, approved, rejected,
  delivered, delivery_failed, confirmed, overdue, cancelled), who and when.
- `exc_action_deliveries`: one row per request and outbox channel (file, webhook): attempts,
  the last error and when a failed delivery is tried again.

Times are naive UTC like the rest of the app database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from control_tower.exceptions.store import Base

# Request types and the system that executes each (its outbox folder).
REQUEST_SYSTEMS: dict[str, str] = {
    "stock_transfer": "erp",
    "po_expedite": "erp",
    "purchase_requisition": "erp",
    "re_promise": "erp",
    "recount": "wms",
    "invoice_hold": "erp",
    "invoice_release": "erp",
}
REQUEST_TYPES: tuple[str, ...] = tuple(REQUEST_SYSTEMS)

# pending_approval -> approved | rejected; approved -> sent (every channel delivered);
# sent -> confirmed (a later extract shows it) | overdue (not seen by expected_by; still
# confirmable); pending_approval | approved -> cancelled (by the requester or an admin).
STATUSES: tuple[str, ...] = (
    "pending_approval",
    "approved",
    "rejected",
    "sent",
    "confirmed",
    "overdue",
    "cancelled",
)
OPEN_STATUSES: tuple[str, ...] = ("pending_approval", "approved", "sent", "overdue")
EVENTS: tuple[str, ...] = (
    "raised",
    "approved",
    "rejected",
    "delivered",
    "delivery_failed",
    "delivery_given_up",
    "confirmed",
    "overdue",
    "cancelled",
)
CHANNELS: tuple[str, ...] = ("file", "webhook")
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "sent", "failed")


class ActionRequest(Base):
    """One typed request raised from an exception item, and where it stands."""

    __tablename__ = "exc_action_requests"
    __table_args__ = (
        UniqueConstraint("request_uid", name="uq_exc_action_requests_uid"),
        Index("ix_exc_action_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_uid: Mapped[str] = mapped_column(String(36))  # uuid4, the id outside the tower
    type: Mapped[str] = mapped_column(String(32))  # REQUEST_TYPES
    system: Mapped[str] = mapped_column(String(16))  # REQUEST_SYSTEMS[type]
    status: Mapped[str] = mapped_column(String(20))  # STATUSES
    exception_id: Mapped[int | None] = mapped_column(
        ForeignKey("exc_items.id"), index=True, default=None
    )
    # Scope of the request (row-level permissions read these, like an item's).
    entity_id: Mapped[str | None] = mapped_column(String(64), default=None)
    location_id: Mapped[str | None] = mapped_column(String(64), default=None)
    item_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The typed parameters (dates as YYYY-MM-DD text), as validated when raised.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    value: Mapped[float | None] = mapped_column(Float, default=None)  # money the rules judge
    note: Mapped[str | None] = mapped_column(Text, default=None)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    # The approval rule that applied (None: no approval needed) and who may approve.
    approval_rule: Mapped[str | None] = mapped_column(String(128), default=None)
    approver_role: Mapped[str | None] = mapped_column(String(32), default=None)
    approver_permission: Mapped[str | None] = mapped_column(String(32), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    expected_by: Mapped[date | None] = mapped_column(Date, default=None)  # confirm by this day
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    confirmed_by: Mapped[str | None] = mapped_column(Text, default=None)  # the source record
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


class ActionEvent(Base):
    """One step of a request's life: who did what and when, with a note or detail."""

    __tablename__ = "exc_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exc_action_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))  # EVENTS
    note: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActionDelivery(Base):
    """A request's delivery on one outbox channel: attempts, outcome, next try."""

    __tablename__ = "exc_action_deliveries"
    __table_args__ = (
        UniqueConstraint("request_id", "channel", name="uq_exc_action_deliveries_channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exc_action_requests.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # CHANNELS
    target: Mapped[str] = mapped_column(Text)  # the file written or the URL posted to
    status: Mapped[str] = mapped_column(String(16))  # DELIVERY_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
