"""The exception queue in the app database: items, comments and the audit log (SQLAlchemy 2 ORM).

Also the state of KPI alert rules and the notifications they sent.

The app database (SQLite by default, PostgreSQL by URL) is the system of
record for the workflow; the warehouse only holds a mirror for KPIs and
drill-downs. Opening a store brings the database to this release's schema (Alembic
migrations, `control_tower.storage.migrate`: a change to these models needs a revision there).

Times are naive UTC `datetime`s throughout, like the warehouse.

One row per (type, key), ever: a condition that returns after resolution
reopens its old item, so its comments and audit history stay together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from control_tower.storage.appdb import AppDatabase, Base, open_app_engine

STATUSES: tuple[str, ...] = ("open", "acknowledged", "snoozed", "resolved")
UNRESOLVED: tuple[str, ...] = ("open", "acknowledged", "snoozed")
SYSTEM_USER = "system"
# An item's key, state and ownership: the core of every listing, export and mirror of items.
ITEM_CORE_COLUMNS: tuple[str, ...] = (
    "key",
    "status",
    "severity",
    "owner_role",
    "assignee",
    "location_id",
    "entity_id",
)


_T = TypeVar("_T")


def in_chunks(values: Sequence[_T], size: int = 500) -> Iterator[Sequence[_T]]:
    """`values` in slices of at most `size`: the values of one `IN (...)` query each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class ExceptionItem(Base):
    """One exception: a condition of one type and key, and where people are with it."""

    __tablename__ = "exc_items"
    __table_args__ = (
        UniqueConstraint("type", "key", name="uq_exc_items_type_key"),
        Index("ix_exc_items_status_type", "status", "type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16))
    owner_role: Mapped[str] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(128), default=None)
    location_id: Mapped[str | None] = mapped_column(String(64), default=None)
    entity_id: Mapped[str | None] = mapped_column(String(64), default=None)
    item_id: Mapped[str | None] = mapped_column(String(64), default=None)
    sla_hours: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # first detected
    # When the condition began in the source (a backorder's promised date, a late shipment's
    # due time): age and SLA count from it. NULL (items stored before it was recorded, until
    # their next sighting) counts from created_at.
    event_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    # Is the condition true at the latest detection? A resolved item reopens only when a
    # condition that had cleared comes back, never because a person resolved it while true.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_action_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    resolution_code: Mapped[str | None] = mapped_column(String(32), default=None)
    value_at_risk: Mapped[float | None] = mapped_column(Float, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is

    @property
    def started_at(self) -> datetime:
        """When the condition began: the source event's time, else the first detection."""
        return self.event_at or self.created_at


class Comment(Base):
    """A note a person left on an item."""

    __tablename__ = "exc_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("exc_items.id"), index=True)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Who did what to an item, when, and which fields changed ({field: [old, new]})."""

    __tablename__ = "exc_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("exc_items.id"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The item's version after this change: a stale actor sees every change since its own.
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class LinePromise(Base):
    """A re-promise of an open order line recorded in the tower: the new promised date, the
    one it replaced, why and who. The line's first promise is never changed (the KPIs measure
    against it); the latest re-promise is the line's promise until a newer extract of the line
    arrives (`exceptions.line_promises`)."""

    __tablename__ = "exc_line_promises"
    __table_args__ = (Index("ix_exc_line_promises_line", "order_id", "line_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer)
    promised_date: Mapped[date] = mapped_column(Date)
    previous_promised_date: Mapped[date | None] = mapped_column(Date, default=None)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


class AlertState(Base):
    """Where one KPI alert rule stands for one scope value: ok, pending, firing or resolved."""

    __tablename__ = "exc_alert_states"
    __table_args__ = (UniqueConstraint("rule", "scope_value", name="uq_exc_alert_rule_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(128))
    scope_value: Mapped[str] = mapped_column(String(255))  # ALL, or the dimension's value
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(DateTime)  # when it entered this state
    evaluated_at: Mapped[datetime] = mapped_column(DateTime)
    period: Mapped[date | None] = mapped_column(Date, default=None)  # latest period judged
    value: Mapped[float | None] = mapped_column(Float, default=None)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exc_items.id"), default=None)
    last_notified_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    notifications: Mapped[int] = mapped_column(Integer, default=0)


class AlertNotification(Base):
    """One notification of an alert on one channel: what was sent, how many tries, the outcome.

    A delivery that failed every try of its run waits in the outbox (`pending`, retried from
    `next_attempt_at` by later runs, `exceptions.outbox`) until it is sent or given up (`failed`).
    """

    __tablename__ = "exc_alert_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(128), index=True)
    scope_value: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # firing, reraised, resolved
    channel: Mapped[str] = mapped_column(String(16))  # app, email, webhook
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # sent, pending (in the outbox), failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exc_items.id"), default=None)
    # What a webhook carries besides the message, kept to send it again unchanged.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Delivery rounds (one per run, each of up to RetryPolicy.attempts tries), the last one's
    # time, and when a pending delivery is next due.
    rounds: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # The one address or URL a delivery meant for one person goes to (a digest, an escalation
    # notice); None: the installation's alert channel of that name.
    target: Mapped[str | None] = mapped_column(Text, default=None)


class ExceptionStore(AppDatabase):
    """The exception tables of one app database: sessions and read helpers."""

    @classmethod
    def open(cls, url: str) -> ExceptionStore:
        """Connect to the app database at `url`, upgraded to this release's schema."""
        return cls(open_app_engine(url))

    def get(self, item_id: int) -> ExceptionItem | None:
        """The item with this id, or None."""
        with self._sessions() as s:
            return s.get(ExceptionItem, item_id)

    def items(
        self,
        *,
        type: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[ExceptionItem]:
        """Items, newest first; `status` may also be "unresolved" or "all"."""
        query = select(ExceptionItem).order_by(ExceptionItem.id.desc())
        if type is not None:
            query = query.where(ExceptionItem.type == type)
        if status == "unresolved":
            query = query.where(ExceptionItem.status.in_(UNRESOLVED))
        elif status not in (None, "all"):
            query = query.where(ExceptionItem.status == status)
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as s:
            return list(s.scalars(query))

    def audit(self, item_id: int) -> list[AuditEntry]:
        """The audit log of one item, oldest first."""
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(AuditEntry).where(AuditEntry.item_id == item_id).order_by(AuditEntry.id)
                )
            )

    def comments(self, item_id: int) -> list[Comment]:
        """The comments on one item, oldest first."""
        with self._sessions() as s:
            return list(
                s.scalars(select(Comment).where(Comment.item_id == item_id).order_by(Comment.id))
            )

    def record_promise(self, promise: LinePromise) -> LinePromise:
        """Store one re-promise of an order line (the caller has checked it)."""
        with self.session() as s:
            s.add(promise)
        return promise

    def line_promises(self, order_id: str, line_no: int) -> list[LinePromise]:
        """The re-promises of one order line, oldest first."""
        query = (
            select(LinePromise)
            .where(LinePromise.order_id == order_id, LinePromise.line_no == line_no)
            .order_by(LinePromise.recorded_at, LinePromise.id)
        )
        with self._sessions() as s:
            return list(s.scalars(query))
