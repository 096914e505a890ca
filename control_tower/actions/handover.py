"""What follows a request's step at once: an approved request leaves through the outbox, one
awaiting approval is announced to the people who may approve it, a decision to its requester.

The API, the command line and the pages call `hand_over` after `service.raise_request` and
`service.decide`, so a request never waits for the next pipeline run to be sent or seen. The
delivery here makes one try per channel (a page must not wait for back-off); a failed one is
retried by every pipeline run (`actions.outbox`).
"""

from __future__ import annotations

from datetime import datetime

from control_tower.accounts.store import AccountStore
from control_tower.actions.outbox import dispatch
from control_tower.actions.service import to_dispatch
from control_tower.actions.store import ActionRequest
from control_tower.actions.types import FORMS
from control_tower.exceptions.notify import RetryPolicy
from control_tower.exceptions.store import ExceptionStore
from control_tower.notifications import notify_user
from control_tower.settings import Settings, utc_now

ONE_TRY = RetryPolicy(attempts=1)


def request_link(request: ActionRequest) -> str:
    """The request's page in the app."""
    return f"/requests/{request.id}"


def _title(request: ActionRequest) -> str:
    form = FORMS.get(request.type)
    return f"{form.label if form else request.type} request #{request.id}"


def approvers(accounts: AccountStore, request: ActionRequest) -> list[str]:
    """The active users who may approve `request`: its approver role (with the rule's
    permission) whose scope allows its site, never its requester."""
    return sorted(
        a.name
        for a in accounts.list_users()
        if not a.disabled
        and a.role == request.approver_role
        and (request.approver_permission is None or request.approver_permission in a.permissions)
        and a.scope.allows(request.entity_id, request.location_id)
        and a.name != request.requested_by
    )


def hand_over(
    settings: Settings,
    store: ExceptionStore,
    request: ActionRequest,
    *,
    now: datetime | None = None,
) -> ActionRequest:
    """Send an approved request now, tell approvers or the requester; the request after it."""
    now = now or utc_now()
    title = _title(request)
    link = request_link(request)
    if request.status == "pending_approval":
        with AccountStore.open(settings.app_db_url) as accounts:
            names = approvers(accounts, request)
        if names:
            value = f", value {request.value:,.2f}" if request.value is not None else ""
            notify_user(
                store,
                names,
                "request",
                f"{title} waits for your approval",
                f"{request.requested_by} raised {title}{value} (rule {request.approval_rule}).",
                link=link,
                exception_id=request.exception_id,
                now=now,
            )
        return request
    decided = request.decided_by and request.decided_by not in (request.requested_by, "system")
    if decided and request.status in ("approved", "rejected"):
        note = f": {request.decision_note}" if request.decision_note else ""
        notify_user(
            store,
            request.requested_by,
            "request",
            f"{title} {request.status} by {request.decided_by}",
            f"{request.decided_by} {request.status} {title}{note}.",
            link=link,
            exception_id=request.exception_id,
            now=now,
        )
    ids = to_dispatch(request)
    if ids:
        dispatch(store, settings, now=now, request_ids=ids, retry=ONE_TRY)
        with store.session() as s:
            return s.get_one(ActionRequest, request.id)
    return request
