"""What the request pages show: the list's rows and one request with its exception, outbox
deliveries and what the signed-in user may do with it.

Everything is read within the user's scope through `actions.service`: a request outside it is
`None` here, exactly like an unknown id, so a page never reveals that it exists elsewhere. The
exception item is read within the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from control_tower.actions import service
from control_tower.actions.approvals import approver_words, may_approve
from control_tower.actions.store import ActionDelivery, ActionRequest
from control_tower.actions.types import FORMS
from control_tower.exceptions import query as q
from control_tower.exceptions.store import ExceptionItem, ExceptionStore


@dataclass(frozen=True)
class RequestPage:
    """One request as its page shows it (detached from the database)."""

    view: service.RequestView
    item: ExceptionItem | None  # the exception it was raised from, None when out of reach
    deliveries: list[ActionDelivery]
    approver: str  # who may approve, in words ("" when no rule applied)
    may_decide: bool  # the user may approve or reject it now
    may_cancel: bool  # the user may cancel it now


def deliveries(store: ExceptionStore, request_id: int) -> list[ActionDelivery]:
    """A request's outbox deliveries, one per channel."""
    with store.session() as s:
        rows = s.scalars(
            select(ActionDelivery)
            .where(ActionDelivery.request_id == request_id)
            .order_by(ActionDelivery.channel)
        ).all()
        s.expunge_all()
        return list(rows)


def may_decide(request: ActionRequest, actor: service.Actor) -> bool:
    """Whether `actor` may approve or reject `request` now (the service checks again)."""
    return (
        request.status == "pending_approval"
        and request.requested_by != actor.name
        and may_approve(
            request.approver_role, request.approver_permission, actor.role, actor.permissions
        )
    )


def may_cancel(request: ActionRequest, actor: service.Actor) -> bool:
    """Whether `actor` may cancel `request` now: its requester or an admin, before it is sent."""
    return request.status in service.CANCELLABLE and (
        actor.name == request.requested_by or actor.role == "admin"
    )


def request_page(
    store: ExceptionStore, request_id: Any, actor: service.Actor
) -> RequestPage | None:
    """The request `request_id` in `actor`'s scope, or None (unknown, malformed, out of scope)."""
    try:
        view = service.get_request(store, request_id, actor=actor)
    except service.UnknownRequestError:
        return None
    request = view.request
    item = (
        q.get_scoped(store, actor.scope, request.exception_id)
        if request.exception_id is not None
        else None
    )
    return RequestPage(
        view=view,
        item=item,
        deliveries=deliveries(store, request.id),
        approver=approver_words(request.approver_role, request.approver_permission)
        if request.approver_role
        else "",
        may_decide=may_decide(request, actor),
        may_cancel=may_cancel(request, actor),
    )


def grid_row(request: ActionRequest, href: str, exception_href: str) -> dict[str, Any]:
    """A request as a row of the list's grid; `href` is its page, `exception_href` its item's
    ("" for none)."""
    return {
        "row_id": str(request.id),
        "id_link": f"[#{request.id}]({href})",
        "type": FORMS[request.type].label if request.type in FORMS else request.type,
        "status": request.status,
        "value": request.value,
        "location_id": request.location_id,
        "item_id": request.item_id,
        "exception_link": f"[#{request.exception_id}]({exception_href})" if exception_href else "",
        "requested_by": request.requested_by,
        "requested_at": f"{request.requested_at:%Y-%m-%d %H:%M}",
        "approver": approver_words(request.approver_role, request.approver_permission)
        if request.approver_role
        else "",
    }


def default_view(store: ExceptionStore, actor: service.Actor) -> str:
    """`awaiting` when the user has requests to approve, else `all`."""
    total, _rows = service.list_requests(store, actor=actor, view="awaiting", limit=1)
    return "awaiting" if total else "all"
