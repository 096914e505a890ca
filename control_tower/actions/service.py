"""Raising, approving, rejecting and cancelling action requests: the one path every screen, the
API and the command line go through, so the checks are the same everywhere.

- `raise_request`: the caller's role must raise the type (`types.RAISE_ROLES`), the item it is
  raised from must be unresolved and in the caller's scope, the parameters are parsed
  (`types.parse_params`) and confirmed against the warehouse (`checks`: ids exist, sites in
  scope, a transfer's stock available at the source). The approval rule its type and value
  fall under (`approvals.applicable_rule`) leaves it `pending_approval`; none, and it is
  approved at once by "system" ("no approval rule applies").
- `decide`: approve or reject a pending request. The approver must be who the rule names
  (role, and permission when it names one; an admin may approve any), see the request in
  their scope, and not be the person who raised it (four eyes). A rejection needs a note. The
  version the approver saw is compared with the request's: a change in between is a
  `RequestConflictError`, never overwritten.
- `cancel`: the requester or an admin, while the request is pending approval or approved.

Every step is an `exc_action_events` row, and a comment on the exception item, so the item's
timeline shows "Stock transfer request #12 raised by pat". Nothing here sends anything: call
`to_dispatch` on what a step returns and hand those ids to the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import duckdb
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from control_tower.accounts import Scope
from control_tower.actions.approvals import (
    ApprovalRule,
    applicable_rule,
    approver_words,
    may_approve,
)
from control_tower.actions.checks import check_in_warehouse
from control_tower.actions.store import REQUEST_SYSTEMS, STATUSES, ActionEvent, ActionRequest
from control_tower.actions.types import (
    FORMS,
    RequestInputError,
    RequestNotAllowedError,
    check_role,
    check_type,
    parse_params,
)
from control_tower.exceptions.query import parse_id, scope_condition
from control_tower.exceptions.store import (
    SYSTEM_USER,
    UNRESOLVED,
    Comment,
    ExceptionItem,
    ExceptionStore,
)
from control_tower.settings import utc_now

MAX_NOTE = 2000
VIEWS = ("awaiting", "mine", "all")
CANCELLABLE = ("pending_approval", "approved")


class Actor(Protocol):
    """Who acts: a signed-in web user or an account (name, role, scope, permissions)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def permissions(self) -> frozenset[str]: ...


class UnknownRequestError(LookupError):
    """No request (or exception item) with this id in the caller's scope: the two look alike."""


class RequestConflictError(RuntimeError):
    """The request changed since the version the caller saw; says who did what since."""

    def __init__(self, request: ActionRequest, expected: int, events: list[ActionEvent]) -> None:
        self.request_id = request.id
        self.expected_version = expected
        self.current_version = request.version
        done = "; ".join(f"{e.actor} {e.event} at {e.at:%Y-%m-%d %H:%M:%S} UTC" for e in events)
        super().__init__(
            f"request {request.id} changed since you loaded it (your version {expected}, now "
            f"{request.version}; {request.status}): {done or 'changed by another session'}. "
            "Reload it and try again."
        )


@dataclass(frozen=True)
class RequestView:
    """One request with its audit trail, oldest step first (detached from the database)."""

    request: ActionRequest
    events: list[ActionEvent]


def _label(request: ActionRequest) -> str:
    return f"{FORMS[request.type].label} request #{request.id}"


def _note(note: Any, *, required: str | None = None) -> str | None:
    if note is not None and not isinstance(note, str):
        raise RequestInputError("note", note, "the note must be text")
    text = note.strip() if note else ""
    if len(text) > MAX_NOTE:
        raise RequestInputError("note", None, f"the note is longer than {MAX_NOTE} characters")
    if not text and required:
        raise RequestInputError("note", None, required)
    return text or None


def _event(
    s: Session, request: ActionRequest, event: str, actor: str, at: datetime, note: str | None
) -> None:
    s.add(ActionEvent(request_id=request.id, at=at, actor=actor, event=event, note=note))
    if request.exception_id is not None:
        words = f"{_label(request)} {event} by {actor}" + (f": {note}" if note else "")
        s.add(Comment(item_id=request.exception_id, author=actor, created_at=at, body=words))


def request_scope(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition for the requests a scope may see (the destination site's)."""
    return scope_condition(scope, ActionRequest.entity_id, ActionRequest.location_id)


def raise_request(
    store: ExceptionStore,
    cur: duckdb.DuckDBPyConnection,
    rules: Sequence[ApprovalRule],
    *,
    actor: Actor,
    exception_id: Any,
    type_name: Any,
    params: Mapping[str, Any],
    note: Any = None,
    now: datetime | None = None,
) -> ActionRequest:
    """Raise a request of `type_name` from exception item `exception_id` (module docstring).

    Raises UnknownRequestError (item unknown or out of scope), RequestNotAllowedError (role,
    or a site outside the caller's scope), RequestInputError (a field, with its value and why).
    """
    now = now or utc_now()
    form = check_type(type_name)
    item_id = parse_id(exception_id)
    with store.session() as s:
        item = (
            s.scalars(
                select(ExceptionItem).where(
                    ExceptionItem.id == item_id, scope_condition(actor.scope)
                )
            ).first()
            if item_id is not None
            else None
        )
        if item is None:
            raise UnknownRequestError(f"no exception {exception_id} in your scope")
        check_role(actor.role, form.type)
        if item.status not in UNRESOLVED:
            raise RequestInputError("exception", item.id, f"the item is {item.status}")
        if not isinstance(params, Mapping):
            raise RequestInputError("params", params, "the parameters must be an object")
        parsed = parse_params(form.type, params, today=now.date())
        checked = check_in_warehouse(cur, form.type, parsed, actor.scope)
        text = _note(note)
        rule = applicable_rule(list(rules), form.type, checked.value)
        request = ActionRequest(
            request_uid=str(uuid.uuid4()),
            type=form.type,
            system=REQUEST_SYSTEMS[form.type],
            status="pending_approval" if rule else "approved",
            exception_id=item.id,
            entity_id=checked.entity_id,
            location_id=checked.location_id,
            item_id=checked.item_id,
            params=parsed,
            value=round(checked.value, 2),
            note=text,
            requested_by=actor.name,
            requested_at=now,
            approval_rule=rule.name if rule else None,
            approver_role=rule.approver_role if rule else None,
            approver_permission=rule.approver_permission if rule else None,
        )
        if rule is None:
            request.decided_by, request.decided_at = SYSTEM_USER, now
            request.decision_note = "no approval rule applies"
        s.add(request)
        s.flush()
        _event(s, request, "raised", actor.name, now, text)
        if rule is None:
            _event(s, request, "approved", SYSTEM_USER, now, request.decision_note)
        else:
            s.add(
                Comment(
                    item_id=item.id,
                    author=SYSTEM_USER,
                    created_at=now,
                    body=f"{_label(request)} needs approval by {rule.approver()} "
                    f"(rule {rule.name!r}, value {request.value:,.2f})",
                )
            )
        s.flush()
        s.expunge(request)
        return request


def _locked(s: Session, actor: Actor, request_id: Any, expected_version: Any) -> ActionRequest:
    number = parse_id(request_id)
    request = (
        s.scalars(
            select(ActionRequest)
            .where(ActionRequest.id == number, request_scope(actor.scope))
            .with_for_update()
        ).first()
        if number is not None
        else None
    )
    if request is None:
        raise UnknownRequestError(f"no request {request_id} in your scope")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise RequestInputError(
            "expected_version",
            expected_version,
            "the version of the request you saw is needed (a whole number); reload it",
        )
    if request.version != expected_version:
        since = s.scalars(
            select(ActionEvent).where(ActionEvent.request_id == request.id).order_by(ActionEvent.id)
        ).all()
        raise RequestConflictError(request, expected_version, list(since)[-3:])
    return request


def _change(
    store: ExceptionStore,
    request_id: Any,
    actor: Actor,
    expected_version: Any,
    step: Callable[[ActionRequest], str],
    note: str | None,
    now: datetime,
) -> ActionRequest:
    """Lock the request at the version seen, let `step` check and change it (answering the
    event), record the event; the request after, detached."""
    try:
        with store.session() as s:
            request = _locked(s, actor, request_id, expected_version)
            event = step(request)
            _event(s, request, event, actor.name, now, note)
            s.flush()
            s.expunge(request)
            return request
    except StaleDataError:  # changed between the read and the write by another session
        seen = get_request(store, request_id, actor=actor)
        raise RequestConflictError(seen.request, expected_version, seen.events[-3:]) from None


def decide(
    store: ExceptionStore,
    request_id: Any,
    decision: str,
    *,
    actor: Actor,
    expected_version: Any,
    note: Any = None,
    now: datetime | None = None,
) -> ActionRequest:
    """Approve or reject (`decision`) a pending request (module docstring); the request after.

    Raises UnknownRequestError, RequestNotAllowedError (not the approver, or the requester),
    RequestInputError (no note on a rejection, not pending, no version), RequestConflictError.
    """
    if decision not in ("approve", "reject"):
        raise RequestInputError("decision", decision, "approve or reject")
    when = now or utc_now()
    text = _note(
        note, required="a rejection needs a note saying why" if decision == "reject" else None
    )

    def step(request: ActionRequest) -> str:
        if request.status != "pending_approval":
            raise RequestInputError("status", request.status, "only a pending request is decided")
        if not may_approve(
            request.approver_role, request.approver_permission, actor.role, actor.permissions
        ):
            who = approver_words(request.approver_role, request.approver_permission)
            raise RequestNotAllowedError(f"{_label(request)} needs approval by {who}")
        if request.requested_by == actor.name:
            raise RequestNotAllowedError(
                f"{_label(request)} was raised by you: another person must decide it"
            )
        request.status = "approved" if decision == "approve" else "rejected"
        request.decided_by, request.decided_at, request.decision_note = actor.name, when, text
        return request.status

    return _change(store, request_id, actor, expected_version, step, text, when)


def cancel(
    store: ExceptionStore,
    request_id: Any,
    *,
    actor: Actor,
    expected_version: Any,
    note: Any = None,
    now: datetime | None = None,
) -> ActionRequest:
    """Cancel a request not yet sent: its requester or an admin; the request after."""

    def step(request: ActionRequest) -> str:
        if actor.name != request.requested_by and actor.role != "admin":
            raise RequestNotAllowedError(
                f"only {request.requested_by} (who raised it) or an admin may cancel it"
            )
        if request.status not in CANCELLABLE:
            raise RequestInputError(
                "status", request.status, "only a request not yet sent can be cancelled"
            )
        request.status = "cancelled"
        return "cancelled"

    return _change(store, request_id, actor, expected_version, step, _note(note), now or utc_now())


def to_dispatch(*requests: ActionRequest) -> list[int]:
    """The ids among `requests` (as a step returned them) that are approved and not yet sent:
    hand them to the outbox right away (`actions.outbox.dispatch(..., request_ids=...)`)."""
    return [r.id for r in requests if r.status == "approved" and r.sent_at is None]


def awaiting_condition(actor: Actor) -> ColumnElement[bool]:
    """Requests `actor` may approve now: pending, theirs to approve, raised by someone else."""
    parts = [ActionRequest.status == "pending_approval", ActionRequest.requested_by != actor.name]
    if actor.role != "admin":
        parts.append(ActionRequest.approver_role == actor.role)
        held = sorted(actor.permissions)
        parts.append(
            or_(
                ActionRequest.approver_permission.is_(None),
                ActionRequest.approver_permission.in_(held),
            )
        )
    return and_(*parts)


def list_requests(
    store: ExceptionStore,
    *,
    actor: Actor,
    view: str = "all",
    exception_id: Any = None,
    status: str | None = None,
    type_name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ActionRequest]]:
    """Requests in the caller's scope, newest first, and how many match in all.

    `view`: `awaiting` (mine to approve), `mine` (raised by me), `all`; `exception_id`,
    `status` and `type_name` narrow it. A bad filter raises RequestInputError.
    """
    if view not in VIEWS:
        raise RequestInputError("view", view, f"one of {', '.join(VIEWS)}")
    where = [request_scope(actor.scope)]
    if view == "awaiting":
        where.append(awaiting_condition(actor))
    elif view == "mine":
        where.append(ActionRequest.requested_by == actor.name)
    if exception_id is not None:
        number = parse_id(exception_id)
        if number is None:
            raise RequestInputError("exception", exception_id, "not an exception id")
        where.append(ActionRequest.exception_id == number)
    if status:
        if status not in STATUSES:
            raise RequestInputError("status", status, f"one of {', '.join(STATUSES)}")
        where.append(ActionRequest.status == status)
    if type_name:
        where.append(ActionRequest.type == check_type(type_name).type)
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(ActionRequest).where(*where)) or 0
        rows = s.scalars(
            select(ActionRequest)
            .where(*where)
            .order_by(ActionRequest.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        s.expunge_all()
        return total, list(rows)


def get_request(store: ExceptionStore, request_id: Any, *, actor: Actor) -> RequestView:
    """One request in the caller's scope with its events; UnknownRequestError otherwise."""
    number = parse_id(request_id)
    with store.session() as s:
        request = (
            s.scalars(
                select(ActionRequest).where(ActionRequest.id == number, request_scope(actor.scope))
            ).first()
            if number is not None
            else None
        )
        if request is None:
            raise UnknownRequestError(f"no request {request_id} in your scope")
        events = s.scalars(
            select(ActionEvent).where(ActionEvent.request_id == request.id).order_by(ActionEvent.id)
        ).all()
        s.expunge_all()
        return RequestView(request, list(events))


def request_json(request: ActionRequest) -> dict[str, Any]:
    """A request as JSON-ready values (times UTC, ISO)."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": request.id,
        "request_uid": request.request_uid,
        "version": request.version,
        "type": request.type,
        "type_label": FORMS[request.type].label,
        "system": request.system,
        "status": request.status,
        "exception_id": request.exception_id,
        "entity_id": request.entity_id,
        "location_id": request.location_id,
        "item_id": request.item_id,
        "params": dict(request.params or {}),
        "value": request.value,
        "note": request.note,
        "requested_by": request.requested_by,
        "requested_at": iso(request.requested_at),
        "approval_rule": request.approval_rule,
        "approver_role": request.approver_role,
        "approver_permission": request.approver_permission,
        "decided_by": request.decided_by,
        "decided_at": iso(request.decided_at),
        "decision_note": request.decision_note,
        "sent_at": iso(request.sent_at),
        "expected_by": iso(request.expected_by),
        "confirmed_at": iso(request.confirmed_at),
        "confirmed_by": request.confirmed_by,
    }


def event_json(event: ActionEvent) -> dict[str, Any]:
    """An audit step as JSON-ready values."""
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "event": event.event,
        "note": event.note,
        "detail": dict(event.detail or {}),
    }
