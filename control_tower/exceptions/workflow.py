"""Workflow actions on exception items: assign, acknowledge, comment, snooze, resolve, reopen.

Each action checks that it is allowed in the item's status, changes the item,
stamps `last_action_at`, bumps the item's version and writes one audit row
(who, when, action, {field: [old, new]}) in the same transaction.

Resolving is for the people who own the item: a user whose role is the
item's owner role, or an admin (`may_resolve`); anyone in scope may do the
other actions.

Concurrency is optimistic: a caller that passes the version it last saw gets
a `ConflictError` naming who changed what since then when someone else got
there first; a write racing another between read and commit is caught by the
version column (`UPDATE ... WHERE version = ?`) and reported the same way.
Nothing is lost: the first change stands, the second is refused, whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from control_tower.exceptions.store import (
    UNRESOLVED,
    AuditEntry,
    Comment,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.settings import utc_now

ACTIONS: tuple[str, ...] = ("assign", "acknowledge", "comment", "snooze", "resolve", "reopen")
# Reason codes a person may resolve with; "cleared" is the system's (the condition went away).
RESOLUTION_CODES: tuple[str, ...] = (
    "fixed",
    "accepted",
    "false_positive",
    "duplicate",
    "data_corrected",
    "wont_fix",
)
CLEARED = "cleared"
# Recorded by a re-promise the projection covers (`views.repromise`), not chosen by a person: the
# line has a new promise the stock can keep, so the risk to the old one is gone.
REPROMISED = "re_promised"
# Recorded when a later extract shows the action request raised from the item done
# (`actions.confirm`), not chosen by a person.
FIXED_BY_ACTION = "fixed_by_action"
SYSTEM_CODES: tuple[str, ...] = (REPROMISED, FIXED_BY_ACTION)
# The longest note or comment, and the longest user name, an action may store: an item's
# history is read whole on every view of it, so one oversized comment would slow every read.
MAX_NOTE_LENGTH = 4000
MAX_NAME_LENGTH = 128
ADMIN_ROLE = "admin"


class WorkflowError(ValueError):
    """An action that cannot be done: unknown item or action, or not allowed now."""


class UnknownItemError(WorkflowError):
    """No exception item has this id."""


class TransitionError(WorkflowError):
    """The action is not allowed in the item's current status, or lacks an argument."""


class NotAllowedError(WorkflowError):
    """The acting user's role may not do this action on this item."""


def may_resolve(role: str | None, owner_role: str | None) -> bool:
    """Whether a user of `role` may resolve an item owned by `owner_role`: its owners and
    admins only."""
    return role is not None and role in (owner_role, ADMIN_ROLE)


@dataclass(frozen=True)
class Change:
    """One change made to an item by someone else (from the audit log)."""

    actor: str
    at: datetime
    action: str
    changes: dict[str, Any]
    version: int


class ConflictError(WorkflowError):
    """The item changed since the version the caller saw; `changes` says who changed what."""

    def __init__(self, item_id: int, expected: int, current: int, changes: list[Change]) -> None:
        self.item_id = item_id
        self.expected_version = expected
        self.current_version = current
        self.changes = changes
        done = "; ".join(
            f"{c.actor} did {c.action} at {c.at:%Y-%m-%d %H:%M:%S} UTC"
            + (f" ({_describe(c.changes)})" if c.changes else "")
            for c in changes
        )
        super().__init__(
            f"exception {item_id} changed since you loaded it (your version {expected}, "
            f"now {current}): {done or 'changed by another session'}. "
            "Nothing of yours was saved; reload the item and try again."
        )


class FieldTooLongError(WorkflowError):
    """A note, comment or name longer than an action may store."""


def check_lengths(*, user: str, note: str | None, assignee: str | None) -> None:
    """Refuse a note or comment over MAX_NOTE_LENGTH and names over MAX_NAME_LENGTH characters."""
    fields = (
        ("the note or comment", note, MAX_NOTE_LENGTH),
        ("the acting user's name", user, MAX_NAME_LENGTH),
        ("the assignee's name", assignee, MAX_NAME_LENGTH),
    )
    for what, value, limit in fields:
        if value is not None and len(value) > limit:
            raise FieldTooLongError(
                f"{what} is {len(value):,} characters long; at most {limit:,} are allowed"
            )


def _describe(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())


def _utcnow() -> datetime:
    return utc_now()


def _naive_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _changes_since(s: Session, item_id: int, version: int) -> list[Change]:
    rows = s.scalars(
        select(AuditEntry)
        .where(AuditEntry.item_id == item_id, AuditEntry.version > version)
        .order_by(AuditEntry.id)
    )
    return [Change(r.actor, r.at, r.action, dict(r.changes or {}), r.version) for r in rows]


def _set(item: ExceptionItem, changes: dict[str, Any], **values: Any) -> None:
    for name, new in values.items():
        old = getattr(item, name)
        if old != new:
            changes[name] = [_jsonable(old), _jsonable(new)]
            setattr(item, name, new)


def _jsonable(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def _require_unresolved(item: ExceptionItem, action: str) -> None:
    if item.status not in UNRESOLVED:
        raise TransitionError(
            f"cannot {action} exception {item.id}: it is {item.status}; reopen it first"
        )


def _apply(
    item: ExceptionItem,
    action: str,
    *,
    now: datetime,
    note: str | None,
    until: datetime | None,
    reason: str | None,
    assignee: str | None,
) -> dict[str, Any]:
    """Change `item` for `action`; returns the field changes. Raises TransitionError."""
    changes: dict[str, Any] = {}
    if action == "assign":
        _require_unresolved(item, action)
        if not assignee:
            raise TransitionError("assign needs an assignee (--assignee NAME)")
        _set(item, changes, assignee=assignee)
    elif action == "acknowledge":
        if item.status not in ("open", "snoozed"):
            raise TransitionError(
                f"cannot acknowledge exception {item.id}: it is {item.status} (only open or "
                "snoozed items can be acknowledged)"
            )
        _set(item, changes, status="acknowledged", snoozed_until=None)
    elif action == "comment":
        if not note or not note.strip():
            raise TransitionError("comment needs a note (--note TEXT)")
    elif action == "snooze":
        _require_unresolved(item, action)
        if until is None:
            raise TransitionError("snooze needs a date to snooze until (--until YYYY-MM-DD)")
        if until <= now:
            raise TransitionError(
                f"cannot snooze until {until:%Y-%m-%d %H:%M}: it is not later than now"
            )
        _set(item, changes, status="snoozed", snoozed_until=until)
    elif action == "resolve":
        _require_unresolved(item, action)
        if reason not in (*RESOLUTION_CODES, *SYSTEM_CODES):
            raise TransitionError(
                f"resolve needs a reason code, one of: {', '.join(RESOLUTION_CODES)} "
                f"(got {reason!r})"
            )
        _set(
            item,
            changes,
            status="resolved",
            resolved_at=now,
            resolution_code=reason,
            snoozed_until=None,
        )
    elif action == "reopen":
        if item.status != "resolved":
            raise TransitionError(
                f"cannot reopen exception {item.id}: it is {item.status}, not resolved"
            )
        _set(item, changes, status="open", resolved_at=None, resolution_code=None)
    else:
        raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    return changes


def act(
    store: ExceptionStore,
    item_id: int,
    action: str,
    *,
    user: str,
    expected_version: int | None = None,
    note: str | None = None,
    until: datetime | None = None,
    reason: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
    within: Sequence[ColumnElement[bool]] = (),
    role: str | None = None,
) -> ExceptionItem:
    """Do one workflow action on an item as `user`; returns the item after the change.

    `within` are conditions the item must meet (a user's row scope, a type), read
    in the same transaction as the change; an item that does not meet them is
    unknown. `role` is the acting person's role, checked against the item's owner
    role before a resolve (`may_resolve`); None acts for the system and skips that
    check (people act through `actions.act_many`, which always passes it). Raises
    UnknownItemError, TransitionError, NotAllowedError or WorkflowError when the
    action is not possible, and ConflictError when `expected_version` is stale or
    a concurrent writer changed the item first.
    """
    if action not in ACTIONS:
        raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    if not user or not user.strip():
        raise WorkflowError("every action needs the acting user's name (--user NAME)")
    check_lengths(user=user, note=note, assignee=assignee)
    now = _naive_utc(now) if now else _utcnow()
    until = _naive_utc(until) if until else None
    seen = expected_version or 0
    try:
        with store.session() as s:
            item = s.scalars(
                select(ExceptionItem).where(ExceptionItem.id == item_id, *within)
            ).first()
            if item is None:
                raise UnknownItemError(f"no exception with id {item_id}")
            seen = item.version
            if expected_version is not None and expected_version != seen:
                raise ConflictError(
                    item_id, expected_version, seen, _changes_since(s, item_id, expected_version)
                )
            if action == "resolve" and role is not None and reason in SYSTEM_CODES:
                raise TransitionError(
                    f"{reason} is recorded by the tower (a re-promise of the line, an action "
                    "request confirmed by the data), not chosen; resolve with another reason"
                )
            if action == "resolve" and role is not None and not may_resolve(role, item.owner_role):
                raise NotAllowedError(
                    f"cannot resolve exception {item_id}: it belongs to the "
                    f"{item.owner_role} role, and only its owners or an admin may resolve it "
                    f"(you are {role}); assign it or comment instead"
                )
            changes = _apply(
                item, action, now=now, note=note, until=until, reason=reason, assignee=assignee
            )
            item.last_action_at = now
            s.flush()  # UPDATE ... WHERE version = seen; bumps the version
            if action == "comment":
                s.add(Comment(item_id=item_id, author=user, created_at=now, body=note or ""))
            s.add(
                AuditEntry(
                    item_id=item_id,
                    actor=user,
                    at=now,
                    action=action,
                    changes=changes,
                    version=item.version,
                    note=note,
                )
            )
    except StaleDataError:
        with store.session() as s:
            current = s.get(ExceptionItem, item_id)
            version = current.version if current else seen
            raise ConflictError(item_id, seen, version, _changes_since(s, item_id, seen)) from None
    return item
