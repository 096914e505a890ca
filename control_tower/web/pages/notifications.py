"""Notifications: what the tower told the signed-in user, newest first.

Route `/notifications`, for every role (not in the navigation: the bell in the header links
here and shows the unread count). Each notice says what happened (an item escalated to you, an
item assigned to you, your digest went out, a request for you) and links to its item; unread
ones are marked and can be marked read one at a time or all at once. The list and every change
are the signed-in user's own: the user comes from the server-side session, never the page.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, callback, ctx, dcc, html, no_update

from control_tower import accounts
from control_tower.notifications import list_notifications, mark_read
from control_tower.notifications.store import UserNotification
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.format import fmt_ts
from control_tower.web.runtime import web_context
from control_tower.web.shell import BELL_COUNT, bell_text

ROLES = accounts.ROLES  # every signed-in user has notifications

dash.register_page(
    __name__,
    path="/notifications",
    name="Notifications",
    title="Notifications · Control Tower",
    description="What the tower told you: escalations, assignments, digests, requests.",
    nav=False,
    order=90,
    roles=ROLES,
)

LIST = "notifications-list"
READ_ALL = "notifications-read-all"
READ_ONE = "notifications-read"
KIND_LABELS = {
    "escalation": "Escalated to you",
    "assigned": "Assigned to you",
    "digest": "Your digest",
    "kpi_alert": "KPI alert",
    "request": "Request",
}


def _notice(n: UserNotification) -> html.Li:
    unread = n.read_at is None
    head = [
        html.Span(KIND_LABELS.get(n.kind, n.kind), className="notifications-kind"),
        html.Span(fmt_ts(n.created_at), className="notifications-at"),
    ]
    if unread:
        head.insert(0, html.Span("● unread", className="notifications-unread"))
    subject = (
        dcc.Link(n.subject, href=dash.get_relative_path(n.link)) if n.link else html.Span(n.subject)
    )
    button = (
        html.Button("Mark read", id={"type": READ_ONE, "index": n.id}, className="button-small")
        if unread
        else None
    )
    return html.Li(
        [
            html.Div(head, className="notifications-head"),
            html.Div(subject, className="notifications-subject"),
            html.Pre(n.body, className="notifications-body") if n.body else None,
            button,
        ],
        id=f"notifications-item-{n.id}",
        className="notifications-item" + (" notifications-item--unread" if unread else ""),
        **{"data-unread": "true" if unread else "false"},
    )


def _list(user: str) -> Any:
    notices = list_notifications(web_context().exceptions, user)
    if not notices:
        return ui.empty_state(
            "Nothing for you yet",
            "Escalations, items assigned to you and your digests show here.",
        )
    return html.Ul([_notice(n) for n in notices], className="notifications-items")


def layout(**_kwargs: Any) -> html.Div:
    """The signed-in user's notices, newest first."""
    user = current_web_user()
    return html.Div(
        [
            html.H1("Notifications"),
            ui.panel(
                "Your notifications",
                html.Div(_list(user.name) if user else None, id=LIST),
                subtitle="Newest first; the 200 most recent.",
                actions=html.Button("Mark all read", id=READ_ALL),
            ),
        ],
        className="page notifications-page",
    )


@callback(
    Output(LIST, "children"),
    Output(BELL_COUNT, "children", allow_duplicate=True),
    Input(READ_ALL, "n_clicks"),
    Input({"type": READ_ONE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def read(_all: int | None, _one: list[int | None]) -> tuple[Any, Any]:
    """Mark the clicked notice (or all of the user's) read; the list and the bell again."""
    user = require(roles=ROLES)
    trigger = ctx.triggered_id
    if trigger is None or not any(t.get("value") for t in ctx.triggered):
        return no_update, no_update
    store = web_context().exceptions
    if trigger == READ_ALL:
        mark_read(store, user.name)
    elif isinstance(trigger, dict) and isinstance(trigger.get("index"), int):
        mark_read(store, user.name, [trigger["index"]])
    return _list(user.name), bell_text(store, user.name)
