"""Acting on exception items for people: the one path every screen and the API go through.

`act_many` takes who acts, their row scope, the items with the version each
was seen at, the action and its arguments, and answers one result per item:
done, a conflict (someone changed the item since; the error names who
changed what) or refused (out of scope, a bad argument, not allowed in the
item's status). The queue page (one row or many), the item page, the
planner's triage, the JSON API and the command line all call it, so the
checks are the same everywhere:

- Scope is part of the SQL that reads the item to change, in the same
  transaction as the change (`workflow.act(within=...)`); an item outside the
  scope (or of another type, when the caller limits types) looks exactly like
  an unknown one.
- The version the person saw is required and compared with the item's; an
  action without it is refused, a change made in between is reported as a
  conflict, never overwritten.
- Only the item's owner role or an admin may resolve it (`workflow.may_resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement

from control_tower.accounts import Scope
from control_tower.exceptions.query import parse_id, scope_condition
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.exceptions.workflow import (
    ACTIONS,
    ConflictError,
    NotAllowedError,
    TransitionError,
    UnknownItemError,
    WorkflowError,
    act,
)

MAX_BULK_ITEMS = 500
# Called as hook(store, item, actor) after an item is assigned: the notifications package
# (a layer above) registers the in-app notice to the assignee here.
ASSIGNED_HOOKS: list[Callable[[ExceptionStore, ExceptionItem, str], None]] = []

__all__ = [
    "ASSIGNED_HOOKS",
    "MAX_BULK_ITEMS",
    "BulkResult",
    "ItemResult",
    "NotAllowedError",
    "OutOfScopeError",
    "act_in_scope",
    "act_many",
    "parse_until",
]


class OutOfScopeError(WorkflowError):
    """No item with this id in the user's scope (it may not exist at all: the two look the same)."""


def parse_until(value: Any) -> datetime:
    """A snooze end from a date or time (`YYYY-MM-DD` is the start of that day, UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), datetime.min.time())
            return parse_until(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise TransitionError(f"snooze needs a date to snooze until (YYYY-MM-DD), not {value!r}")


@dataclass(frozen=True)
class ItemResult:
    """What happened to one selected item: done (with the item after it), or the error."""

    item_id: Any
    action: str
    item: ExceptionItem | None = None
    error: WorkflowError | None = None

    @property
    def ok(self) -> bool:
        """Whether the action was done."""
        return self.error is None

    @property
    def message(self) -> str:
        """One line for a person: `#12: acknowledge done`, `#13: conflict: ...`, ..."""
        if self.error is None:
            return f"#{self.item_id}: {self.action} done"
        if isinstance(self.error, ConflictError):
            return f"#{self.item_id}: conflict: {self.error}"
        if isinstance(self.error, OutOfScopeError):
            return f"#{self.item_id}: not found in your scope"
        return f"#{self.item_id}: {self.error}"


@dataclass
class BulkResult:
    """One result per selected item, in the order given."""

    results: list[ItemResult] = field(default_factory=list)

    @property
    def done(self) -> list[int]:
        """Ids of the items changed."""
        return [int(r.item_id) for r in self.results if r.ok]

    @property
    def conflicts(self) -> list[ConflictError]:
        """Items someone else changed first (each names who changed what)."""
        return [r.error for r in self.results if isinstance(r.error, ConflictError)]

    @property
    def refused(self) -> list[tuple[Any, str]]:
        """(id, why) of the items that could not be acted on (conflicts aside)."""
        return [
            (r.item_id, str(r.error))
            for r in self.results
            if r.error is not None and not isinstance(r.error, ConflictError)
        ]

    def message(self) -> str:
        """`3 done, 1 changed by sam meanwhile: refresh` and the reasons of refusals."""
        parts = [f"{len(self.done)} done"]
        conflicts, refused = self.conflicts, self.refused
        if conflicts:
            who = sorted({c.actor for e in conflicts for c in e.changes} or {"someone"})
            parts.append(
                f"{len(conflicts)} changed by {', '.join(who)} meanwhile "
                f"(#{', #'.join(str(e.item_id) for e in conflicts)}): refresh and try again"
            )
        if refused:
            reasons = "; ".join(f"#{i}: {why}" for i, why in refused[:5])
            more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
            parts.append(f"{len(refused)} not possible — {reasons}{more}")
        return ", ".join(parts)


def _within(scope: Scope, types: Collection[str] | None) -> list[ColumnElement[bool]]:
    where = [scope_condition(scope)]
    if types is not None:
        where.append(ExceptionItem.type.in_(sorted(types)))
    return where


def _not_found(item_id: Any, scope: Scope) -> OutOfScopeError:
    if scope.is_all:
        return OutOfScopeError(f"no exception with id {item_id}")
    return OutOfScopeError(f"no exception {item_id} in your scope")


def act_many(
    store: ExceptionStore,
    scope: Scope,
    selection: Sequence[tuple[Any, Any]],
    action: str,
    *,
    user: str,
    role: str,
    note: str | None = None,
    assignee: str | None = None,
    until: Any = None,
    reason: str | None = None,
    assignees: Collection[str] | None = None,
    types: Collection[str] | None = None,
) -> BulkResult:
    """Do `action` by `user` (of `role`) on each selected (id, version seen) in `scope`, item
    by item.

    `assignees` limits who may be assigned (active users), `types` the item types
    the caller works on. Every item needs the version its user saw.
    """
    result = BulkResult()
    if len(selection) > MAX_BULK_ITEMS:
        error = WorkflowError(f"select at most {MAX_BULK_ITEMS} items at once")
        result.results.append(ItemResult("*", action, error=error))
        return result
    within = _within(scope, types)
    note = note.strip() if isinstance(note, str) and note.strip() else None

    def act_one(raw_id: Any, version: Any) -> ExceptionItem:
        item_id = parse_id(raw_id)
        if item_id is None:
            raise _not_found(raw_id, scope)
        if action not in ACTIONS:
            raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
        if isinstance(version, bool) or not isinstance(version, int):
            raise TransitionError(
                "the version of the item you saw is needed (expected_version, a whole number); "
                "reload the item and try again"
            )
        if action == "assign" and assignees is not None and assignee not in assignees:
            raise TransitionError(f"cannot assign to {assignee!r}: not an active user")
        try:
            return act(
                store,
                item_id,
                action,
                user=user,
                expected_version=version,
                note=note,
                assignee=assignee,
                until=parse_until(until) if action == "snooze" else None,
                reason=reason,
                within=within,
                role=role,
            )
        except UnknownItemError:
            raise _not_found(raw_id, scope) from None

    for raw_id, version in selection:
        try:
            item = act_one(raw_id, version)
        except WorkflowError as exc:
            result.results.append(ItemResult(raw_id, action, error=exc))
        else:
            result.results.append(ItemResult(item.id, action, item=item))
            if action == "assign":
                for hook in ASSIGNED_HOOKS:
                    hook(store, item, user)
    return result


def act_in_scope(
    store: ExceptionStore,
    scope: Scope,
    item_id: Any,
    action: str,
    *,
    user: str,
    role: str,
    expected_version: Any,
    note: str | None = None,
    assignee: str | None = None,
    until: Any = None,
    reason: str | None = None,
    assignees: Collection[str] | None = None,
) -> ExceptionItem:
    """`act_many` for one item: the item after the change, or its error raised.

    Raises OutOfScopeError (unknown, malformed or out-of-scope id alike),
    TransitionError for a bad argument or a missing version, NotAllowedError when
    the role may not do it, ConflictError when the item changed since
    `expected_version`.
    """
    (outcome,) = act_many(
        store,
        scope,
        [(item_id, expected_version)],
        action,
        user=user,
        role=role,
        note=note,
        assignee=assignee,
        until=until,
        reason=reason,
        assignees=assignees,
    ).results
    if outcome.error is not None:
        raise outcome.error
    assert outcome.item is not None
    return outcome.item
