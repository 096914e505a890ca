"""One action request: what it asks, the exception behind it, its history and its delivery.

Route `/requests/<request_id>`, for the roles of the request list. The page shows the request
(type, its parameters as labelled facts, value, status, the approval rule and who may approve),
the exception it was raised from (link, type, key, severity, site, value at risk, the facts at
detection and, for a stockout, the model's reasons), the timeline of its steps and its outbox
deliveries (channel, target, status, error).

An approver the rule names sees Approve and Reject with a note (a rejection needs one); the
requester (or an admin) sees Cancel while the request is not yet sent. Every step is taken at
the version the page showed: a change by someone else meanwhile is refused ("changed since you
opened it") and the page shows the current state. A successful step is handed over at once (an
approved request goes to the outbox).

An unknown id, a malformed one and a request outside the user's scope all get the same
"no request N in your scope" answer.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from control_tower.actions import service
from control_tower.actions.handover import hand_over
from control_tower.actions.types import RequestInputError, RequestNotAllowedError
from control_tower.exceptions.registry import type_label as exception_label
from control_tower.exceptions.store import ExceptionItem
from control_tower.views import requests as rv
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.format import DASH, fmt_ts
from control_tower.web.pages.requests import ROLES
from control_tower.web.request_ui import (
    facts,
    money,
    not_in_scope,
    params_facts,
    status_badge,
    type_label,
)
from control_tower.web.request_ui import value_text as _value
from control_tower.web.risk_ui import drivers_chart, drivers_of
from control_tower.web.runtime import web_context

dash.register_page(
    __name__,
    path_template="/requests/<request_id>",
    name="Request",
    title="Request · Control Tower",
    description="One action request: its exception, evidence, history, delivery and decision.",
    nav=False,
    order=60,
    roles=ROLES,
)

REQUEST = "requests-detail-id"
VERSION = "requests-detail-version"
BODY = "requests-detail-body"
DECIDE = "requests-detail-decide"
NOTE = "requests-detail-note"
APPROVE = "requests-detail-approve"
REJECT = "requests-detail-reject"
CANCEL_BOX = "requests-detail-cancel-box"
CANCEL = "requests-detail-cancel"
RESULT = "requests-detail-result"
DELIVERY_STATUS = {
    "pending": ("⧗", "Pending", "warn"),
    "sent": ("✓", "Sent", "ok"),
    "failed": ("✕", "Failed", "bad"),
}


def _request_facts(page: rv.RequestPage) -> list[Any]:
    r = page.view.request
    return [
        html.Div(status_badge(r.status), className="exceptions-badges"),
        facts(
            [
                ("Type", type_label(r.type)),
                ("Value", money(r.value)),
                ("Requested by", f"{r.requested_by} at {fmt_ts(r.requested_at)}"),
                ("Note", r.note),
                ("Approval rule", r.approval_rule or "none applies: approved at once"),
                ("Who may approve", page.approver),
                ("Decided", f"{r.decided_by} at {fmt_ts(r.decided_at)}" if r.decided_by else None),
                ("Decision note", r.decision_note),
                ("Sent", fmt_ts(r.sent_at) if r.sent_at else None),
                ("Expected by", r.expected_by.isoformat() if r.expected_by else None),
                ("Confirmed", fmt_ts(r.confirmed_at) if r.confirmed_at else None),
                ("System", r.system),
                ("Request id", html.Code(r.request_uid)),
            ],
            "request-facts",
        ),
        html.H3("What it asks"),
        params_facts(r),
    ]


def _exception(item: ExceptionItem | None) -> Any:
    if item is None:
        return ui.empty_state("No exception in your scope", "The item it came from is not shown.")
    value = f"{item.value_at_risk:,.0f}" if item.value_at_risk is not None else DASH
    detail = {k: v for k, v in (item.detail or {}).items() if k != "drivers"}
    drivers = drivers_of(item.detail)
    link = dcc.Link(f"#{item.id}", href=dash.get_relative_path(f"/exceptions/{item.id}"))
    return [
        facts(
            [
                ("Exception", link),
                ("Type", exception_label(item.type)),
                ("Key", html.Code(item.key)),
                ("Severity", ui.badge(item.severity, ui.SEVERITY)),
                ("Status", ui.badge(item.status, ui.EXCEPTION_STATUS)),
                ("Site", item.location_id),
                ("Value at risk", value),
            ]
        ),
        html.H3("Evidence: facts at detection"),
        facts([(k.replace("_", " "), _value(v)) for k, v in detail.items()]),
        *(
            [html.H3("Why: the model's reasons"), drivers_chart(drivers, "requests-detail-drivers")]
            if drivers
            else []
        ),
    ]


def _timeline(page: rv.RequestPage) -> Any:
    return html.Ol(
        [
            html.Li(
                [
                    html.Div(fmt_ts(e.at), className="timeline-when"),
                    html.Div(
                        [
                            html.Span(e.event.replace("_", " "), className="timeline-kind"),
                            html.Span(f"by {e.actor}", className="timeline-title"),
                            html.P(e.note) if e.note else None,
                        ],
                        className="timeline-body",
                    ),
                ],
                className="timeline-event",
            )
            for e in page.view.events
        ],
        className="timeline",
        id="requests-detail-events",
    )


def _deliveries(page: rv.RequestPage) -> Any:
    if not page.deliveries:
        return ui.empty_state("Nothing sent yet", "A request is delivered once it is approved.")
    return ui.simple_table(
        ["Channel", "Target", "Status", "Attempts", "Delivered", "Error"],
        [
            [
                d.channel,
                html.Code(d.target),
                ui.badge(d.status, DELIVERY_STATUS),
                str(d.attempts),
                fmt_ts(d.delivered_at) if d.delivered_at else DASH,
                d.error or "",
            ]
            for d in page.deliveries
        ],
        table_id="requests-detail-deliveries-table",
        class_name="table--compact",
    )


def _body(page: rv.RequestPage) -> list[Any]:
    r = page.view.request
    return [
        html.Div(
            [
                html.Div(
                    dcc.Link("← Requests", href=dash.get_relative_path("/requests")),
                    className="exceptions-back",
                ),
                html.H1(f"#{r.id} · {type_label(r.type)} request"),
            ],
            className="page-head",
        ),
        html.Div(
            [
                ui.panel("The request", _request_facts(page), panel_id="requests-detail-request"),
                ui.panel("Its exception", _exception(page.item), panel_id="requests-detail-item"),
            ],
            className="row exceptions-row",
        ),
        html.Div(
            [
                ui.panel("Timeline", _timeline(page), panel_id="requests-detail-timeline"),
                ui.panel(
                    "Outbox deliveries", _deliveries(page), panel_id="requests-detail-deliveries"
                ),
            ],
            className="row exceptions-row",
        ),
    ]


def layout(request_id: Any = None, **_query: Any) -> html.Div:
    """The frame; the request is drawn by `show` within the user's scope."""
    if current_web_user() is None:
        return html.Div()
    return html.Div(
        className="page page--exceptions page--requests-detail",
        children=[
            dcc.Store(id=REQUEST, data=request_id),
            dcc.Store(id=VERSION),
            html.Div(id=BODY),
            html.Div(  # the bar's display would override `hidden`: it sits inside
                html.Div(
                    [
                        act_ui.field(
                            "Note", act_ui.note_input(NOTE, "Why (a rejection needs it)"), NOTE
                        ),
                        html.Button("Approve", id=APPROVE, n_clicks=0, className="button"),
                        html.Button("Reject", id=REJECT, n_clicks=0, className="button"),
                    ],
                    className="filter-bar requests-detail-decide",
                ),
                id=DECIDE,
                hidden=True,
            ),
            html.Div(
                html.Button("Cancel the request", id=CANCEL, n_clicks=0, className="button"),
                id=CANCEL_BOX,
                hidden=True,
            ),
            html.Div(id=RESULT, className="exceptions-result", role="status"),
        ],
    )


def _step(user: Any, request_id: Any, verb: str, version: Any, note: Any) -> Any:
    """Approve, reject or cancel at `version`, then hand the request over; a message."""
    context = web_context()
    store = context.exceptions
    try:
        if verb == "cancel":
            request = service.cancel(
                store, request_id, actor=user, expected_version=version, note=note
            )
        else:
            request = service.decide(
                store, request_id, verb, actor=user, expected_version=version, note=note
            )
    except service.RequestConflictError as exc:
        return act_ui.message(
            html.Span([html.Strong("Not saved: changed since you opened it. "), str(exc)]), "warn"
        )
    except (service.UnknownRequestError, RequestNotAllowedError, RequestInputError) as exc:
        return act_ui.message(f"Not saved: {exc}", "bad")
    request = hand_over(context.settings, store, request)
    return act_ui.message(f"Done: the request is {request.status.replace('_', ' ')}.", "ok")


@callback(
    Output(BODY, "children"),
    Output(VERSION, "data"),
    Output(DECIDE, "hidden"),
    Output(CANCEL_BOX, "hidden"),
    Output(RESULT, "children"),
    Output(NOTE, "value"),
    Input(REQUEST, "data"),
    Input(APPROVE, "n_clicks"),
    Input(REJECT, "n_clicks"),
    Input(CANCEL, "n_clicks"),
    State(VERSION, "data"),
    State(NOTE, "value"),
)
def show(
    request_id: Any, _approve: Any, _reject: Any, _cancel: Any, version: Any, note: Any
) -> tuple[Any, ...]:
    """Draw the request for the signed-in user; on a button, take that step first."""
    user = require(roles=ROLES)
    verbs = {APPROVE: "approve", REJECT: "reject", CANCEL: "cancel"}
    message: Any = None
    keep_note = no_update
    if ctx.triggered_id in verbs:
        message = _step(user, request_id, verbs[ctx.triggered_id], version, note)
        keep_note = "" if "exceptions-message--ok" in message.className else no_update
    page = rv.request_page(web_context().exceptions, request_id, user)
    if page is None:
        return (
            not_in_scope("request", request_id, "requests", "/requests"),
            None,
            True,
            True,
            message,
            no_update,
        )
    r = page.view.request
    return _body(page), r.version, not page.may_decide, not page.may_cancel, message, keep_note
