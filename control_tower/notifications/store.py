"""In-app notifications and escalation records in the app database, and the service over them.

- `exc_user_notifications`: one row per notice to one user: its kind (`KINDS`), subject,
  body, a link inside the app, the exception it is about (if any), when it was made and when
  the user read it. The header's bell counts a user's unread rows (an index on user and
  read_at keeps that one query cheap on every page view).
- `exc_escalations`: one row per escalated item: the level it reached, when its recipients
  were last told and how many notices went out.

Any part of the product tells a person something with `notify_user`; the web app and the
command line read with `unread_count`, `list_notifications` and `mark_read`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from control_tower.accounts import Account
from control_tower.exceptions.store import Base, ExceptionStore
from control_tower.settings import utc_now

# escalation: an item past its SLA sent to you; assigned: an item given to you; digest: your
# daily digest went out; kpi_alert: a KPI alert you follow; request: an action request for you.
KINDS: tuple[str, ...] = ("escalation", "assigned", "digest", "kpi_alert", "request")
MAX_SUBJECT = 255
LIST_LIMIT = 200


class UserNotification(Base):
    """One notice to one user, shown in the app until read (and kept after)."""

    __tablename__ = "exc_user_notifications"
    __table_args__ = (Index("ix_exc_user_notifications_user_read", "user_name", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255), default=None)  # a path in the app
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exc_items.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class Escalation(Base):
    """How far one item has escalated: its level, the last notice and the notices sent."""

    __tablename__ = "exc_escalations"

    item_id: Mapped[int] = mapped_column(ForeignKey("exc_items.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(64))  # the exception type named, or "*"
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_notified_at: Mapped[datetime] = mapped_column(DateTime)
    count: Mapped[int] = mapped_column(Integer)


class NotificationError(ValueError):
    """A notice that cannot be stored (unknown kind, empty user or subject, a link off the app)."""


def _check(user: str, kind: str, subject: str, link: str | None) -> None:
    if kind not in KINDS:
        raise NotificationError(f"unknown notification kind {kind!r}; kinds: {', '.join(KINDS)}")
    if not user or not user.strip():
        raise NotificationError("a notification needs the user it is for")
    if not subject or not subject.strip():
        raise NotificationError("a notification needs a subject")
    if link is not None and (not link.startswith("/") or link.startswith("//")):
        raise NotificationError(f"a notification's link must be a path in the app, not {link!r}")


def notify_user(
    store: ExceptionStore | Session,
    user: str | Collection[str],
    kind: str,
    subject: str,
    body: str = "",
    *,
    link: str | None = None,
    exception_id: int | None = None,
    now: datetime | None = None,
) -> list[UserNotification]:
    """Tell one user (or each of several) something in the app; returns the notices stored.

    `kind` is one of KINDS, `link` a path in the app (e.g. "/exceptions/12"). Given an open
    `Session` instead of the store, the notices join that session's transaction (a change and
    the notice about it commit together). Raises NotificationError for an unknown kind, an
    empty user or subject, or a link off the app.
    """
    now = now or utc_now()
    rows = []
    for name in sorted({user} if isinstance(user, str) else set(user)):
        _check(name, kind, subject, link)
        rows.append(
            UserNotification(
                user_name=name,
                kind=kind,
                subject=subject[:MAX_SUBJECT],
                body=body,
                link=link,
                exception_id=exception_id,
                created_at=now,
            )
        )
    if isinstance(store, Session):
        store.add_all(rows)
    else:
        with store.session() as s:
            s.add_all(rows)
    return rows


def users_to_tell(
    users: Sequence[Account],
    *,
    role: str | None = None,
    user: str | None = None,
    entity_id: str | None = None,
    location_id: str | None = None,
) -> list[str]:
    """The names of the active `users` of `role` and the one named `user` whose scope allows a
    row of this entity and location (a person never hears of a row outside their scope)."""
    return sorted(
        u.name
        for u in users
        if not u.disabled
        and ((role is not None and u.role == role) or (user is not None and u.name == user))
        and u.scope.allows(entity_id, location_id)
    )


def unread_count(store: ExceptionStore, user: str) -> int:
    """How many of the user's notices are unread (one indexed count)."""
    with store.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(UserNotification)
                .where(UserNotification.user_name == user, UserNotification.read_at.is_(None))
            )
            or 0
        )


def list_notifications(
    store: ExceptionStore, user: str, *, unread_only: bool = False, limit: int = LIST_LIMIT
) -> list[UserNotification]:
    """The user's notices, newest first (at most `limit`)."""
    query = select(UserNotification).where(UserNotification.user_name == user)
    if unread_only:
        query = query.where(UserNotification.read_at.is_(None))
    with store.session() as s:
        return list(
            s.scalars(
                query.order_by(
                    UserNotification.created_at.desc(), UserNotification.id.desc()
                ).limit(limit)
            )
        )


def mark_read(
    store: ExceptionStore,
    user: str,
    ids: Sequence[int] | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Mark the user's notices `ids` read (None: all of them); returns how many changed.

    Only the user's own notices change: an id of someone else's is ignored."""
    query = update(UserNotification).where(
        UserNotification.user_name == user, UserNotification.read_at.is_(None)
    )
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        query = query.where(UserNotification.id.in_(wanted))
    with store.session() as s:
        return s.execute(query.values(read_at=now or utc_now())).rowcount or 0
