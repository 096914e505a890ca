"""Stockout triage: the planner's queue of item-locations at risk, with reasons and actions.

Route `/planner`, for planners and admins (page and callbacks). The queue is
ranked by the risk model's `risk_value` (probability x value at risk); before
a model has scored, by the days-of-cover rule's exception items, with a
banner saying so. Each row shows the stock position, inbound supply, the top
reasons (model drivers), a suggested action (`control_tower.planning.triage`
documents the rule) and the row's `stockout_risk` exception item: status and
assignee. Selected rows can be acknowledged, assigned, snoozed, resolved or
commented in place (the exception workflow, optimistic locking, scope
re-checked for every item). The item links to its drill
`/planner/<location_id>/<item_id>`. Queries live in
`control_tower.planning.triage`; callbacks here only shape their answers.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import dash
import dash_ag_grid as dag
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from control_tower.exceptions import actions
from control_tower.exceptions.workflow import RESOLUTION_CODES
from control_tower.planning import triage
from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web import filters
from control_tower.web import triage_views as tv
from control_tower.web.auth import WebUser, require
from control_tower.web.format import fmt_int, plural
from control_tower.web.grid import (
    columnar,
    int_col,
    number_format,
    paged_grid,
    row_in,
    status_col,
    text_col,
)
from control_tower.web.pages._planner import ROLES, STATUS, exception_store
from control_tower.web.runtime import web_context
from control_tower.web.warm import warmer

dash.register_page(
    __name__,
    path="/planner",
    name="Stockout triage",
    title="Stockout triage · Control Tower",
    description="Item-locations at risk of stocking out, ranked by risk and value at risk.",
    order=30,
    roles=ROLES,
)

PREFIX = "planner"
MAX_ACTION_ROWS = 500

# Component ids, all prefixed with the page name.
ASOF = "planner-asof"
MODEL = "planner-model"
MIN_PROB = "planner-min-prob"
SEARCH = "planner-search"
QUEUE = "planner-queue"
QUEUE_ROWS = "planner-rows"  # the queue's rows in compact form (`grid.columnar`)
CAPTION = "planner-caption"
REFRESH = "planner-refresh"
SELECTION = "planner-selection"
ACK = "planner-ack"
ASSIGN_ME = "planner-assign-me"
ASSIGN = "planner-assign"
ASSIGNEE = "planner-assignee"
SNOOZE = "planner-snooze"
SNOOZE_UNTIL = "planner-snooze-until"
RESOLVE = "planner-resolve"
REASON = "planner-reason"
COMMENT = "planner-comment"
NOTE = "planner-note"
RESULT = "planner-result"


# --- layout ---------------------------------------------------------------------------------

_PCT = number_format(".0%", "—")
_NUM1 = number_format(",.1f", "—")
_MONEY = number_format(",.0f", "—")
_QTY = number_format(",.0f", "—")
_BAR = {"function": "ctRiskBar(params)"}


def _num(field: str, header: str, formatter: dict[str, str], **extra: Any) -> dict[str, Any]:
    return int_col(field, header, valueFormatter=formatter, **extra)


QUEUE_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "item_link",
        "headerName": "Item",
        "cellRenderer": "markdown",
        "pinned": "left",
        "width": 130,
        "tooltipField": "item_id",
        "filter": False,
        "sortable": False,
    },
    text_col("description", "Description", width=180, tooltipField="description"),
    text_col("location_id", "Location", width=100),
    _num(
        "probability",
        "Risk",
        _PCT,
        width=80,
        cellStyle=_BAR,
        headerTooltip="Calibrated probability of a stockout within the horizon",
    ),
    _num("value_at_risk", "Value at risk", _MONEY, width=115, sort=None),
    _num("days_of_cover", "Cover (d)", _NUM1, width=95),
    _num("on_hand_qty", "On hand", _QTY, width=90),
    _num("available_qty", "Available", _QTY, width=95),
    _num("daily_demand", "Demand/d", _NUM1, width=95),
    _num(
        "inbound_qty",
        "Inbound",
        _QTY,
        width=90,
        headerTooltip="Open purchase order quantity in eaches",
    ),
    text_col("next_receipt", "Next receipt", width=110),
    _num("lead_time_days", "Lead (d)", _QTY, width=85),
    text_col("stockout_date", "Runs out", width=105, headerTooltip="Projected stockout"),
    text_col("reasons", "Reasons", minWidth=220, flex=2, tooltipField="reasons"),
    text_col("action", "Suggested action", minWidth=200, flex=1, tooltipField="action"),
    status_col("status", "Queue status", ui.grid_labels(STATUS), width=140),
    text_col("assignee", "Assignee", width=100),
]


def _grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=QUEUE,
        columnDefs=QUEUE_COLUMNS,
        **paged_grid(
            page_size=25,
            selection={"mode": "multiRow", "checkboxes": True, "headerCheckbox": True},
            class_name="grid grid--planner",
            style={"height": "620px"},
            rowClassRules={"row-no-item": row_in("status", ["none"])},
            suppressColumnVirtualisation=True,
        ),
    )


def _assignees(user: WebUser) -> list[dict[str, str]]:
    """Planners and admins whose scope overlaps the user's, as dropdown options."""
    return [
        {"label": f"{u.name} ({u.role})", "value": u.name}
        for u in web_context().assignable(user.scope, ROLES)
    ]


def _choose_and_act(
    choice_id: str, options: list[dict[str, str]], placeholder: str, label: str, button_id: str
) -> html.Div:
    """An action group: a dropdown to choose from and the button that applies the choice."""
    return html.Div(
        [
            dcc.Dropdown(
                id=choice_id,
                options=options,
                placeholder=placeholder,
                clearable=True,
                className="planner-dropdown",
            ),
            html.Button(label, id=button_id, className="button", n_clicks=0),
        ],
        className="planner-action-group",
    )


def _actions(user: WebUser) -> html.Div:
    return html.Div(
        [
            html.Span(id=SELECTION, className="planner-selection", role="status"),
            html.Button("✓ Acknowledge", id=ACK, className="button", n_clicks=0),
            html.Button("Assign to me", id=ASSIGN_ME, className="button", n_clicks=0),
            _choose_and_act(ASSIGNEE, _assignees(user), "Assign to…", "Assign", ASSIGN),
            html.Div(
                [
                    html.Label("Until", htmlFor=SNOOZE_UNTIL, className="muted"),
                    dcc.Input(id=SNOOZE_UNTIL, type="date", min=utc_now().date().isoformat()),
                    html.Button("◷ Snooze", id=SNOOZE, className="button", n_clicks=0),
                ],
                className="planner-action-group",
            ),
            _choose_and_act(REASON, act_ui.reason_options(), "Reason…", "✔ Resolve", RESOLVE),
            html.Div(
                [
                    act_ui.note_input(NOTE, "Comment…", "planner-note"),
                    html.Button("Comment", id=COMMENT, className="button", n_clicks=0),
                ],
                className="planner-action-group",
            ),
        ],
        className="toolbar planner-actions",
        role="group",
        **{"aria-label": "Triage the selected rows"},
    )


def layout(**query: str) -> html.Div:
    """The page's frame: filters from the URL, the queue and the triage actions."""
    user = require(roles=ROLES)
    view = filters.Filters.from_query(**query)
    try:
        with web_context().snapshot() as cur:
            choices = filters.load_choices(cur, user.scope)
    except NoSnapshotError:
        choices = filters.Choices((), (), None)
    min_prob = query.get("min_prob")
    return html.Div(
        className="page page--planner",
        children=[
            dcc.Store(id=REFRESH, data=0),
            html.Div(
                [html.H1("Stockout triage"), html.P(id=ASOF, className="page-subtitle")],
                className="page-head",
            ),
            filters.filter_bar(PREFIX, view, choices, show=("entity", "location")),
            html.Div(id=MODEL, className="planner-model", role="note"),
            ui.panel(
                "Triage queue",
                [
                    html.Div(
                        [
                            html.Label("Min. risk %", htmlFor=MIN_PROB),
                            dcc.Input(
                                id=MIN_PROB,
                                type="number",
                                min=0,
                                max=100,
                                step=5,
                                value=_percent(min_prob),
                                debounce=True,
                                className="planner-min-prob",
                            ),
                            html.Label("Item", htmlFor=SEARCH),
                            dcc.Input(
                                id=SEARCH,
                                type="search",
                                placeholder="Item id or description",
                                debounce=True,
                                maxLength=100,
                                value=query.get("q") or "",
                                className="planner-search",
                            ),
                            html.Span(id=CAPTION, className="caption", role="status"),
                        ],
                        className="toolbar planner-filters",
                    ),
                    dcc.Loading([dcc.Store(id=QUEUE_ROWS), _grid()], type="dot", delay_show=300),
                    _actions(user),
                    html.Div(id=RESULT, className="planner-result", role="status"),
                ],
                subtitle="Ranked by risk × value at risk. Select rows to triage them; "
                "open an item for its projection.",
                class_name="panel--planner",
            ),
        ],
    )


def _percent(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(number, 0.0), 100.0)


# --- callbacks ------------------------------------------------------------------------------

filters.register_filter_callbacks(PREFIX, extra={"min_prob": MIN_PROB, "q": SEARCH})


@warmer("planner", ROLES)
def _warm(cur: Any, _context: Any, scopes: Any) -> None:
    """The queue the page opens with (no filter, no search), for each scope."""
    view = filters.opening_view(cur)
    for user_scope in scopes if view is not None else []:
        if (scope := view.scoped(user_scope)) is not None:
            tv.ranked_rows(cur, scope, None, None, view)


@callback(
    Output(QUEUE_ROWS, "data"),
    Output(CAPTION, "children"),
    Output(MODEL, "children"),
    Output(ASOF, "children"),
    Output(MIN_PROB, "disabled"),
    *filters.filter_inputs(PREFIX),
    Input(MIN_PROB, "value"),
    Input(SEARCH, "value"),
    Input(REFRESH, "data"),
)
def load_queue(
    start: Any,
    end: Any,
    grain: Any,
    entity: Any,
    location: Any,
    min_prob: Any,
    search: Any,
    _refresh: Any,
) -> tuple[Any, ...]:
    """The ranked queue in the user's scope, narrowed by the filters, with queue status
    (rows in compact form: 500 rows of a score each would repeat every field name 500 times)."""
    user = require(roles=ROLES)
    view = filters.Filters.from_inputs(start, end, grain, entity, location)
    scope = view.scoped(user.scope)
    if scope is None:
        return columnar([]), "Nothing of this entity or location is in your scope.", None, "", True
    percent = _percent(min_prob)
    try:
        with web_context().snapshot() as cur:
            queue, card, static = tv.ranked_rows(
                cur,
                scope,
                percent / 100 if percent is not None else None,
                search if isinstance(search, str) else None,
                view,
            )
    except NoSnapshotError:
        return columnar([]), "No data landed yet: run control-tower ingest.", None, "", True
    items = triage.queue_items(exception_store(), (r["row_id"] for r in static))
    rows = [tv.with_status(r, items.get(r["row_id"])) for r in static]
    asof = f"Stock as of {queue.as_of:%Y-%m-%d}" if queue.as_of else ""
    if not user.scope.is_all:
        asof += f" · your scope: {user.scope.describe()}"
    return (
        columnar(rows),
        tv.caption(queue),
        tv.model_note(queue, card),
        asof,
        queue.source == "rule",
    )


clientside_callback(
    ClientsideFunction("controlTower", "rowsFromColumns"),
    Output(QUEUE, "rowData"),
    Input(QUEUE_ROWS, "data"),
)


@callback(Output(SELECTION, "children"), Input(QUEUE, "selectedRows"))
def show_selection(selected: list[dict[str, Any]] | None) -> str:
    """How many rows are selected, and how many of them have a queue item to act on."""
    require(roles=ROLES)
    rows = selected or []
    if not rows:
        return "Select rows to triage them."
    with_item = sum(1 for r in rows if isinstance(r, dict) and r.get("exc_id") is not None)
    text = plural(len(rows), "row") + " selected"
    if with_item < len(rows):
        text += f" ({fmt_int(len(rows) - with_item)} without a queue item: drill only)"
    return text + "."


def _targets(selected: list[dict[str, Any]] | None) -> list[tuple[int, int | None]]:
    """(exception id, version seen) of the selected rows; only the two numbers are trusted."""
    targets: list[tuple[int, int | None]] = []
    for row in (selected or [])[:MAX_ACTION_ROWS]:
        if not isinstance(row, dict):
            continue
        item_id, version = row.get("exc_id"), row.get("exc_version")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            targets.append((item_id, version if isinstance(version, int) else None))
    return targets


def _until(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.combine(date.fromisoformat(value[:10]), time())
    except ValueError:
        return None


@callback(
    Output(RESULT, "children"),
    Output(REFRESH, "data"),
    Input(ACK, "n_clicks"),
    Input(ASSIGN_ME, "n_clicks"),
    Input(ASSIGN, "n_clicks"),
    Input(SNOOZE, "n_clicks"),
    Input(RESOLVE, "n_clicks"),
    Input(COMMENT, "n_clicks"),
    State(QUEUE, "selectedRows"),
    State(ASSIGNEE, "value"),
    State(SNOOZE_UNTIL, "value"),
    State(REASON, "value"),
    State(NOTE, "value"),
    State(REFRESH, "data"),
    prevent_initial_call=True,
)
def act_on_selection(
    _ack: int,
    _me: int,
    _assign: int,
    _snooze: int,
    _resolve: int,
    _comment: int,
    selected: list[dict[str, Any]] | None,
    assignee: Any,
    until: Any,
    reason: Any,
    note: Any,
    refresh: Any,
) -> tuple[Any, Any]:
    """Triage the selected rows' exception items; the queue reloads to show the result."""
    user = require(roles=ROLES)
    trigger = ctx.triggered_id
    kwargs: dict[str, Any] = {}
    if trigger == ACK:
        action = "acknowledge"
    elif trigger == ASSIGN_ME:
        action, kwargs["assignee"] = "assign", user.name
    elif trigger == ASSIGN:
        action = "assign"
        allowed = {o["value"] for o in _assignees(user)}
        if assignee not in allowed:
            return act_ui.refused("Choose a planner or admin to assign to."), no_update
        kwargs["assignee"] = assignee
    elif trigger == SNOOZE:
        action = "snooze"
        kwargs["until"] = _until(until)
        if kwargs["until"] is None:
            return act_ui.refused("Choose a date to snooze until."), no_update
    elif trigger == RESOLVE:
        action = "resolve"
        if reason not in RESOLUTION_CODES:
            return act_ui.refused("Choose a reason to resolve with."), no_update
        kwargs["reason"] = reason
    elif trigger == COMMENT:
        action = "comment"
        if not isinstance(note, str) or not note.strip():
            return act_ui.refused("Write a comment first."), no_update
        kwargs["note"] = note.strip()
    else:
        return no_update, no_update
    targets = _targets(selected)
    if not targets:
        message = (
            "The selected rows have no queue item (score below the exception threshold)."
            if selected
            else "Select one or more rows first."
        )
        return act_ui.refused(message), no_update
    outcomes = actions.act_many(
        exception_store(),
        user.scope,
        targets,
        action,
        user=user.name,
        role=user.role,
        types=(triage.EXCEPTION_TYPE,),
        **kwargs,
    ).results
    return act_ui.outcome_view(action, outcomes), (refresh or 0) + 1
