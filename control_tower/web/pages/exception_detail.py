"""Exception detail: one item, what to do about it, its history and the records behind it.

Route `/exceptions/<item_id>`, for every role (not in the navigation; the
queue links here). The header says what the problem is, who owns it, how
old it is against its SLA, the money at stake and the suggested action. The
actions (acknowledge, assign, snooze, resolve with a reason, reopen, comment)
are applied at the version the page showed: if someone changed the item in
the meantime nothing is saved and the page lists who changed what, then
shows the current state. A role that raises action requests gets a "Raise a request"
panel (`_request_panel`) with the item's requests. Comments and the audit history follow, and the
source records (order line, shipments, freight and tracking, stock, counts,
waves, invoices, close tasks, batches) on a timeline, each with its raw
fields and the file it was landed from.

An unknown id, a malformed one and an item outside the user's scope all get
the same "no exception N in your scope" answer, so the page never reveals
whether an item exists elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from control_tower import accounts
from control_tower.exceptions import actions
from control_tower.exceptions import query as q
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.records import SourceEvent, has_source_records, source_records
from control_tower.exceptions.registry import EXCEPTION_TYPES, type_label
from control_tower.exceptions.store import AuditEntry, Comment, ExceptionItem
from control_tower.exceptions.workflow import ConflictError, WorkflowError
from control_tower.kpi.serving import kept
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.promise import promise_link
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.format import DASH, fmt_int, fmt_ts
from control_tower.web.pages._request_panel import register_callbacks, request_panel
from control_tower.web.request_ui import facts as _facts
from control_tower.web.request_ui import not_in_scope
from control_tower.web.request_ui import value_text as _value
from control_tower.web.runtime import snapshot_cursor, web_context

ROLES = accounts.ROLES  # every role

dash.register_page(
    __name__,
    path_template="/exceptions/<item_id>",
    name="Exception",
    title="Exception · Control Tower",
    description="One exception: actions, comments, history and its source records.",
    nav=False,
    order=51,
    roles=ROLES,
)
register_callbacks()  # the request panel's, for this app

# Component ids (the queue's prefix: both pages live under /exceptions).
ITEM_ID = "exceptions-detail-id"
VERSION = "exceptions-detail-version"
ITEM = "exceptions-detail-item"
ACTION = "exceptions-detail-action"
ASSIGNEE = "exceptions-detail-assignee"
UNTIL = "exceptions-detail-until"
REASON = "exceptions-detail-reason"
NOTE = "exceptions-detail-note"
APPLY = "exceptions-detail-apply"
COMMENT = "exceptions-detail-comment"
COMMENT_ADD = "exceptions-detail-comment-add"
RESULT = "exceptions-detail-result"
TIMELINE = "exceptions-detail-timeline"

ACTIONS = {
    "acknowledge": "Acknowledge",
    "assign": "Assign to…",
    "snooze": "Snooze until…",
    "resolve": "Resolve with reason…",
    "reopen": "Reopen",
}


def _store() -> Any:
    return web_context().exceptions


# --- views ----------------------------------------------------------------------------------------


def _promise(item: ExceptionItem) -> Any:
    role = getattr(current_web_user(), "role", "")  # an order line: its ATP projection
    href = promise_link(item.type, item.item_id, item.location_id, item.detail or {}, role)
    link = href and dcc.Link("Open its ATP projection", href=dash.get_relative_path(href))
    return html.Span([" · ", link], id="exceptions-detail-promise") if link else None


def _header(item: ExceptionItem, now: datetime) -> html.Div:
    age = item_aging(item, now)
    sla = q.sla_text(age.sla_due_at, age.sla_breached, now, item.resolved_at is not None)
    sla_badge = ui.badge(
        "breached" if age.sla_breached else "ok",
        {"breached": ("⚠", "SLA breached", "bad"), "ok": ("✓", f"SLA {sla}", "ok")},
    )
    spec = EXCEPTION_TYPES.get(item.type)
    status_extra = []
    if item.status == "snoozed" and item.snoozed_until:
        status_extra.append(f" until {fmt_ts(item.snoozed_until)}")
    if item.status == "resolved" and item.resolution_code:
        status_extra.append(f" ({item.resolution_code.replace('_', ' ')})")
    value = f"{item.value_at_risk:,.0f}" if item.value_at_risk is not None else DASH
    return html.Div(
        [
            html.Div(
                [
                    ui.badge(item.severity, ui.SEVERITY),
                    html.Span([ui.badge(item.status, ui.EXCEPTION_STATUS), *status_extra]),
                    sla_badge,
                ],
                className="exceptions-badges",
            ),
            html.Div(
                [
                    ui.kpi("Age", f"{age.age_days} d", f"bucket {age.bucket}"),
                    ui.kpi(
                        "SLA",
                        sla.capitalize(),
                        f"due {fmt_ts(age.sla_due_at)} ({item.sla_hours:g} h)",
                        tone="bad" if age.sla_breached else "",
                    ),
                    ui.kpi("Value at risk", value, "in the entity's currency"),
                    ui.kpi("Seen", fmt_int(item.times_seen), f"last {fmt_ts(item.last_seen_at)}"),
                ],
                className="kpi-row",
            ),
            _facts(
                [
                    ("Owner", item.owner_role.replace("_", " ")),
                    ("Assignee", item.assignee),
                    ("Location", item.location_id),
                    ("Entity", item.entity_id),
                    ("Item", item.item_id),
                    ("Key", html.Code(item.key)),
                    ("Began", fmt_ts(item.started_at)),
                    ("Detected", fmt_ts(item.created_at)),
                    ("Last action", fmt_ts(item.last_action_at)),
                    ("Condition", "still true" if item.active else "cleared"),
                ]
            ),
            html.Div(
                [
                    html.Strong("Suggested action: "),
                    spec.suggested_action if spec else "Review the alert and its KPI.",
                    _promise(item),
                ],
                className="exceptions-suggestion",
            ),
            html.P(spec.description, className="muted") if spec else None,
            html.Details(
                [
                    html.Summary("Facts at detection"),
                    _facts(
                        [(k.replace("_", " "), _value(v)) for k, v in (item.detail or {}).items()]
                    ),
                ],
                open=True,
                className="exceptions-detail-facts",
            ),
        ]
    )


def _comments(comments: list[Comment]) -> Any:
    if not comments:
        return ui.empty_state("No comments yet", "Add one below to tell others what you found.")
    return html.Ol(
        [
            html.Li(
                [
                    html.Div(
                        [html.Strong(c.author), html.Span(f" · {fmt_ts(c.created_at)}")],
                        className="exceptions-comment-head",
                    ),
                    html.P(c.body),
                ],
                className="exceptions-comment",
            )
            for c in comments
        ],
        className="exceptions-comments",
    )


def _describe(changes: dict[str, Any]) -> str:
    return "; ".join(
        f"{k.replace('_', ' ')}: {_value(a)} → {_value(b)}" for k, (a, b) in changes.items()
    )


def _history(entries: list[AuditEntry]) -> Any:
    if not entries:
        return ui.empty_state("No history", "Nothing has been done to this item yet.")
    return ui.simple_table(
        ["When (UTC)", "Who", "Action", "What changed", "Note"],
        [
            [fmt_ts(e.at), e.actor, e.action, _describe(e.changes or {}), e.note or ""]
            for e in reversed(entries)
        ],
        table_id="exceptions-detail-history-table",
        class_name="table--compact",
    )


def _item_panels(item: ExceptionItem) -> list[Any]:
    store = _store()
    return [
        ui.panel("What happened", _header(item, q.utcnow()), panel_id="exceptions-detail-header"),
        html.Div(
            [
                ui.panel(
                    "Comments",
                    _comments(store.comments(item.id)),
                    panel_id="exceptions-detail-comments",
                ),
                ui.panel(
                    "History",
                    _history(store.audit(item.id)),
                    subtitle="Every action, who did it and what changed.",
                    panel_id="exceptions-detail-history",
                ),
            ],
            className="row exceptions-row",
        ),
    ]


def _event(e: SourceEvent) -> html.Li:
    at = e.at.isoformat(sep=" ", timespec="minutes") if isinstance(e.at, datetime) else e.at
    source = f"{e.table}" + (f" · batch {e.batch_id}" if e.batch_id is not None else "")
    source += f" · {e.file_name}" if e.file_name else ""
    return html.Li(
        [
            html.Div(str(at) if at else "undated", className="timeline-when"),
            html.Div(
                [
                    html.Span(e.kind, className="timeline-kind"),
                    html.Span(e.title, className="timeline-title"),
                    html.Details(
                        [
                            html.Summary(["Record · ", html.Span(source, className="mono")]),
                            _facts([(k, _value(v)) for k, v in e.fields.items()]),
                        ],
                        className="timeline-record",
                    ),
                ],
                className="timeline-body",
            ),
        ],
        className="timeline-event",
    )


def _timeline(item: ExceptionItem, user: Any) -> Any:
    if not has_source_records(item.type):
        return ui.empty_state(
            "No source records for this kind of exception",
            "It does not point to single landed records; its facts at detection are shown above.",
        )
    try:
        with snapshot_cursor() as cur:
            key = ("exceptions.source_records", item.id, item.version, user.scope)
            events = kept(key, lambda: source_records(cur, item, user.scope))
    except NoSnapshotError:
        return ui.empty_state("No data landed yet", "Source records appear after the first load.")
    if not events:
        return ui.empty_state(
            "No source records found",
            "The records behind this item are no longer in the latest data, or lie outside "
            "your scope.",
        )
    return html.Ol([_event(e) for e in events], className="timeline", id=TIMELINE)


def _actions(item: ExceptionItem, users: list[str]) -> html.Div:
    return html.Div(
        [
            act_ui.field(
                "Action",
                dcc.Dropdown(
                    id=ACTION,
                    options=[{"label": v, "value": k} for k, v in ACTIONS.items()],
                    value="acknowledge" if item.status != "resolved" else "reopen",
                    clearable=False,
                ),
                ACTION,
            ),
            act_ui.field(
                "Assignee",
                dcc.Dropdown(
                    id=ASSIGNEE,
                    options=act_ui.user_options(users),
                    value=item.assignee if item.assignee in users else None,
                    placeholder="User",
                ),
                ASSIGNEE,
            ),
            act_ui.field(
                "Snooze until", dcc.DatePickerSingle(id=UNTIL, display_format="YYYY-MM-DD"), UNTIL
            ),
            act_ui.field("Reason", act_ui.reason_dropdown(REASON, "Reason code"), REASON),
            act_ui.field(
                "Note",
                act_ui.note_input(NOTE, "Optional"),
                NOTE,
                "exceptions-note-field",
            ),
            html.Button("Apply", id=APPLY, n_clicks=0, className="button exceptions-apply"),
        ],
        className="filter-bar exceptions-detail-actions",
    )


def _comment_form() -> html.Div:
    return html.Div(
        [
            html.Label("Add a comment", htmlFor=COMMENT),
            dcc.Textarea(id=COMMENT, maxLength=4000, className="exceptions-comment-box"),
            html.Button("Add comment", id=COMMENT_ADD, n_clicks=0, className="button"),
        ],
        className="exceptions-comment-form",
    )


def _missing(item_id: Any) -> html.Div:
    return html.Div(
        not_in_scope("exception", item_id, "exception queue", "/exceptions"),
        className="page page--exceptions",
        id="exceptions-detail-missing",
    )


def layout(item_id: Any = None, **_query: Any) -> html.Div:
    """One item in the user's scope (or the same refusal for anything else)."""
    user = current_web_user()
    if user is None:
        return html.Div()
    item = q.get_scoped(_store(), user.scope, item_id)
    if item is None:
        return _missing(item_id)
    return html.Div(
        className="page page--exceptions page--exception-detail",
        children=[
            dcc.Store(id=ITEM_ID, data=item.id),
            dcc.Store(id=VERSION, data=item.version),
            html.Div(
                [
                    html.Div(
                        dcc.Link("← Exception queue", href=dash.get_relative_path("/exceptions")),
                        className="exceptions-back",
                    ),
                    html.H1(f"#{item.id} · {type_label(item.type)}"),
                    html.P(q.summary(item), className="page-subtitle"),
                ],
                className="page-head",
            ),
            ui.panel(
                "Act on it",
                [
                    _actions(item, web_context().active_users(user.scope)),
                    html.Div(id=RESULT, className="exceptions-result", role="status"),
                    _comment_form(),
                ],
                subtitle="Applied to the version shown; a change by someone else meanwhile is "
                "reported, never overwritten.",
                panel_id="exceptions-detail-actions",
            ),
            request_panel(item, user),
            dcc.Loading(html.Div(_item_panels(item), id=ITEM), type="dot"),
            ui.panel(
                "Source records",
                _timeline(item, user),
                subtitle="The landed records behind this exception, oldest first, each with the "
                "file it came from.",
                panel_id="exceptions-detail-sources",
            ),
        ],
    )


# --- callbacks ------------------------------------------------------------------------------------


def _message(children: Any, tone: str) -> html.Div:
    return act_ui.message(html.Div(children), tone)


def _conflict(exc: ConflictError) -> html.Div:
    lines = [
        html.Li(
            f"{c.actor} did {c.action} at {fmt_ts(c.at)}"
            + (f": {_describe(c.changes)}" if c.changes else "")
        )
        for c in exc.changes
    ] or [html.Li("changed by another session")]
    return _message(
        [
            html.Strong("Not saved: this exception changed since the page loaded."),
            html.Ul(lines),
            html.Span("The page now shows the current state; apply again if still needed."),
        ],
        "warn",
    )


@callback(
    Output(RESULT, "children"),
    Output(ITEM, "children"),
    Output(VERSION, "data"),
    Output(COMMENT, "value"),
    Input(APPLY, "n_clicks"),
    Input(COMMENT_ADD, "n_clicks"),
    State(ITEM_ID, "data"),
    State(VERSION, "data"),
    State(ACTION, "value"),
    State(ASSIGNEE, "value"),
    State(UNTIL, "date"),
    State(REASON, "value"),
    State(NOTE, "value"),
    State(COMMENT, "value"),
    prevent_initial_call=True,
)
def act_on_item(
    _apply: int | None,
    _comment: int | None,
    item_id: Any,
    version: Any,
    action: Any,
    assignee: Any,
    until: Any,
    reason: Any,
    note: Any,
    comment: Any,
) -> tuple[Any, Any, Any, Any]:
    """Do the chosen action (or add the comment) at the version the page showed."""
    user = require(roles=ROLES)
    store = _store()
    commenting = ctx.triggered_id == COMMENT_ADD
    if not commenting and action not in ACTIONS:
        return _message("Choose an action.", "warn"), no_update, no_update, no_update
    try:
        item = actions.act_in_scope(
            store,
            user.scope,
            item_id,
            "comment" if commenting else action,
            user=user.name,
            role=user.role,
            expected_version=version,
            note=comment if commenting else note,
            assignee=assignee if isinstance(assignee, str) else None,
            until=until,
            reason=reason if isinstance(reason, str) else None,
            assignees=web_context().active_users(user.scope),
        )
    except ConflictError as exc:
        current = q.get_scoped(store, user.scope, item_id)
        if current is None:
            return _message(str(exc), "bad"), no_update, no_update, no_update
        return _conflict(exc), _item_panels(current), current.version, no_update
    except actions.OutOfScopeError as exc:
        return _message(str(exc), "bad"), no_update, no_update, no_update
    except WorkflowError as exc:
        return _message(str(exc), "warn"), no_update, no_update, no_update
    done = "Comment added." if commenting else f"Done: {ACTIONS[action].rstrip('…')}."
    return _message(done, "ok"), _item_panels(item), item.version, "" if commenting else no_update
