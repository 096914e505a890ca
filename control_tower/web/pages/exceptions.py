"""Exception queue: every open problem in the user's scope, worked in bulk.

Route `/exceptions`, for every role. Filters come from the address bar and
stay there (`?type=&kpi=&status=&severity=&location=&entity=&mine=1&queues=all`),
so a KPI's drill-down link opens the exceptions behind it. By default a role
sees the queues it owns (a planner the stockout and past-due queues), with a
toggle to every queue in its scope; a drill-down to a type or KPI shows every
queue.

The grid is AG Grid's infinite row model: each block is read from the app
database with the scope, filters, sort and column filters applied in SQL
(`control_tower.exceptions.query`). Selected rows can be acknowledged,
assigned, snoozed, resolved or commented in one go; each item is re-checked
against the user's scope and changed at the version the user saw, and items
someone else changed meanwhile are reported, not overwritten. The export
writes the whole filtered, sorted queue (not only the loaded rows) as CSV.
Clicking a row opens `/exceptions/<id>`.
"""

from __future__ import annotations

import io
from typing import Any

import dash
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

from control_tower import accounts
from control_tower.accounts import Scope
from control_tower.exceptions import actions
from control_tower.exceptions import query as q
from control_tower.export import write_csv
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.promise import promise_link
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web import filters as flt
from control_tower.web import queue_layout
from control_tower.web.auth import current_web_user, require
from control_tower.web.format import fmt_int, plural
from control_tower.web.queue_layout import (
    ACTION,
    APPLY,
    ASSIGNEE,
    BLOCK_ROWS,
    BULK_ACTIONS,
    CAPTION,
    DOWNLOAD,
    EXPORT,
    EXPORT_NOTE,
    FILTER_IDS,
    GRID,
    KPI,
    MINE,
    NAV,
    NOTE,
    NOTICE,
    PREFIX,
    PURGED,
    QUEUES,
    REASON,
    REFRESH,
    REFRESHED,
    RESULT,
    SELECTED,
    SEVERITY,
    STATUS,
    TYPE,
    UNTIL,
)
from control_tower.web.queue_view import QueueView, question
from control_tower.web.runtime import snapshot_cursor, web_context

ROLES = accounts.ROLES  # every role

dash.register_page(
    __name__,
    path="/exceptions",
    name="Exceptions",
    title="Exceptions · Control Tower",
    description="Exception queues in your scope: filter, work in bulk, export.",
    order=50,
    roles=ROLES,
)

# --- layout ---------------------------------------------------------------------------------------


def layout(**query: Any) -> html.Div:
    """The queue's frame, with the controls set from the URL; rows come from the callbacks."""
    user = current_web_user()
    if user is None:  # the page guard refuses first; kept for direct calls
        return html.Div()
    view_filters = flt.Filters.from_query(**query)
    try:
        with snapshot_cursor() as cur:
            choices = flt.load_choices(cur, user.scope)
    except NoSnapshotError:
        choices = flt.Choices((), (), None)
    view = QueueView.from_query(query, user.role)
    _scope, _filt, notes = question(user, view)
    return html.Div(
        className="page page--exceptions",
        children=[
            dcc.Store(id=REFRESH),
            dcc.Store(id=PURGED),
            dcc.Store(id=REFRESHED),
            dcc.Location(id=NAV, refresh="callback-nav"),
            dcc.Download(id=DOWNLOAD),
            html.Div(
                [
                    html.H1("Exceptions"),
                    html.P(
                        "Problems found in the latest data, with their owner, age and SLA. "
                        "Select rows to act on them; click a row to see its source records.",
                        className="page-subtitle",
                    ),
                ],
                className="page-head",
            ),
            html.Div(
                [
                    flt.filter_bar(PREFIX, view_filters, choices, show=("entity", "location")),
                    queue_layout.view_controls(view, web_context().catalog().linked(), user.role),
                ],
                className="exceptions-filters",
            ),
            html.Div(
                [html.P(n, className="exceptions-notice") for n in notes],
                id=NOTICE,
                role="status",
            ),
            ui.panel(
                "Queue",
                [
                    queue_layout.action_bar(web_context().active_users(user.scope)),
                    html.Div(id=RESULT, className="exceptions-result", role="status"),
                    dcc.Loading(html.Span(id=CAPTION, className="caption"), type="dot"),
                    queue_layout.queue_grid(),
                ],
                subtitle="Sorted and filtered on the server; the export holds every matching row.",
                actions=[
                    html.Button("Export CSV", id=EXPORT, n_clicks=0, className="button"),
                    html.Span(id=EXPORT_NOTE, className="caption"),
                ],
                panel_id="exceptions-queue",
            ),
        ],
    )


# --- callbacks ------------------------------------------------------------------------------------

VIEW_STATES = [
    State(TYPE, "value"),
    State(KPI, "value"),
    State(STATUS, "value"),
    State(SEVERITY, "value"),
    State(FILTER_IDS["entity"], "value"),
    State(FILTER_IDS["location"], "value"),
    State(MINE, "value"),
    State(QUEUES, "value"),
]
VIEW_INPUTS = [Input(s.component_id, s.component_property) for s in VIEW_STATES]


def _store() -> Any:
    return web_context().exceptions


def _grid_row(item: Any, now: Any, role: str) -> dict[str, Any]:
    row = q.item_row(item, now)
    row["row_id"] = str(item.id)
    row["id_link"] = f"[#{item.id}]({dash.get_relative_path(f'/exceptions/{item.id}')})"
    promise = promise_link(item.type, item.item_id, item.location_id, item.detail or {}, role)
    row["item_link"] = (
        f"[{item.item_id}]({dash.get_relative_path(promise)})" if promise else item.item_id
    )
    row["last_seen"] = row["last_seen_at"][:16] if row["last_seen_at"] else ""
    return row


@callback(
    Output(GRID, "getRowsResponse"),
    Output(CAPTION, "children"),
    Input(GRID, "getRowsRequest"),
    *VIEW_STATES,
)
def rows_block(
    request: dict[str, Any] | None,
    *view: Any,
) -> tuple[Any, Any]:
    """One block of the queue: the user's scope, the view's filters, the grid's sort and filters."""
    user = require(roles=ROLES)
    if not isinstance(request, dict):
        return no_update, no_update
    try:
        start = max(int(request.get("startRow") or 0), 0)
        end = max(int(request.get("endRow") or start + BLOCK_ROWS), start)
    except (TypeError, ValueError):
        return {"rowData": [], "rowCount": 0}, "Cannot read this request."
    scope, filt, _notes = question(user, QueueView(*view))
    if scope is None:
        return {"rowData": [], "rowCount": 0}, "Nothing in your scope matches this location/entity."
    try:
        page = q.list_items(
            _store(),
            scope,
            filt,
            sort_model=request.get("sortModel"),
            filter_model=request.get("filterModel"),
            offset=start,
            limit=min(end - start, q.MAX_PAGE_ROWS),
        )
    except q.QueryError as exc:
        return {"rowData": [], "rowCount": 0}, f"Cannot apply this filter: {exc}"
    now = q.utcnow()
    rows = [_grid_row(item, now, user.role) for item in page.rows]
    if page.total == 0:
        caption = "No exceptions match. Widen the filters, or switch to all queues in scope."
    else:
        caption = f"{plural(page.total, 'exception')} match"
    return {"rowData": rows, "rowCount": page.total}, caption


@callback(Output(FILTER_IDS["url"], "search"), *VIEW_INPUTS, prevent_initial_call=True)
def view_to_url(*values: Any) -> str:
    """Keep the view's filters in the address bar, so the link can be shared."""
    require(roles=ROLES)
    return QueueView(*values).query_string()


@callback(
    Output(RESULT, "children"),
    Output(REFRESH, "data"),
    Input(APPLY, "n_clicks"),
    State(GRID, "selectedRows"),
    State(ACTION, "value"),
    State(ASSIGNEE, "value"),
    State(UNTIL, "date"),
    State(REASON, "value"),
    State(NOTE, "value"),
    prevent_initial_call=True,
)
def apply_bulk(
    n_clicks: int | None,
    selected: list[dict[str, Any]] | None,
    action: Any,
    assignee: Any,
    until: Any,
    reason: Any,
    note: Any,
) -> tuple[Any, Any]:
    """Apply one action to every selected row, item by item, at the version each row showed."""
    user = require(roles=ROLES)
    if not n_clicks:
        return no_update, no_update
    if action not in BULK_ACTIONS:
        return act_ui.message("Choose an action.", "warn"), no_update
    selection = [
        (q.parse_id(r.get("id")), r.get("version")) for r in (selected or []) if isinstance(r, dict)
    ]
    if not selection:
        return act_ui.message(
            "Select one or more rows first (the boxes on the left).", "warn"
        ), no_update
    result = actions.act_many(
        _store(),
        user.scope,
        selection,
        action,
        user=user.name,
        role=user.role,
        note=note if isinstance(note, str) else None,
        assignee=assignee if isinstance(assignee, str) else None,
        until=until,
        reason=reason if isinstance(reason, str) else None,
        assignees=web_context().active_users(user.scope),
    )
    tone = "ok" if not result.conflicts and not result.refused else "warn"
    return act_ui.message(result.message(), tone), {"done": result.done, "n": n_clicks}


@callback(
    Output(DOWNLOAD, "data"),
    Output(EXPORT_NOTE, "children"),
    Input(EXPORT, "n_clicks"),
    State(GRID, "getRowsRequest"),
    *VIEW_STATES,
    prevent_initial_call=True,
)
def export_csv(
    n_clicks: int | None,
    request: dict[str, Any] | None,
    *view: Any,
) -> tuple[Any, Any]:
    """The whole scoped, filtered, sorted queue as CSV (capped at `query.EXPORT_MAX_ROWS`)."""
    user = require(roles=ROLES)
    if not n_clicks:
        return no_update, no_update
    scope, filt, _notes = question(user, QueueView(*view))
    request = request if isinstance(request, dict) else {}
    try:
        text, count = export_text(scope, filt, request.get("sortModel"), request.get("filterModel"))
    except q.QueryError as exc:
        return no_update, f"Cannot export: {exc}"
    capped = " (the export stops there)" if count >= q.EXPORT_MAX_ROWS else ""
    return dcc.send_string(text, "exceptions.csv", type="text/csv"), (
        f"{fmt_int(count)} rows exported{capped}."
    )


def export_text(
    scope: Scope | None,
    filt: q.QueueFilter,
    sort_model: Any,
    filter_model: Any,
) -> tuple[str, int]:
    """CSV text of the queue for a scope and filter (header only when nothing matches)."""
    rows = q.export_rows(_store(), scope, filt, sort_model=sort_model, filter_model=filter_model)
    out = io.StringIO()
    count = write_csv(rows, q.EXPORT_COLUMNS, out)
    return out.getvalue(), count


# The view changed: drop the grid's cached blocks so it asks again from the top.
clientside_callback(
    ClientsideFunction("controlTower", "exceptionsViewChanged"),
    Output(PURGED, "data"),
    *VIEW_INPUTS,
    prevent_initial_call=True,
)
# Items changed: reload the cached blocks in place and clear the selection.
clientside_callback(
    ClientsideFunction("controlTower", "exceptionsItemsChanged"),
    Output(REFRESHED, "data"),
    Input(REFRESH, "data"),
    prevent_initial_call=True,
)
# A click on a row (outside its box and its id link) opens the item.
clientside_callback(
    ClientsideFunction("controlTower", "exceptionsOpenRow"),
    Output(NAV, "href"),
    Input(GRID, "cellClicked"),
    prevent_initial_call=True,
)
clientside_callback(
    ClientsideFunction("controlTower", "selectedCount"),
    Output(SELECTED, "children"),
    Input(GRID, "selectedRows"),
)
