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

import csv
import io
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from control_tower.accounts import Scope
from control_tower.exceptions import query as q
from control_tower.exceptions.registry import type_label, type_names
from control_tower.exceptions.workflow import RESOLUTION_CODES
from control_tower.kpi.views import cached_catalog
from control_tower.storage.serving import NoSnapshotError
from control_tower.web import components as ui
from control_tower.web import filters as flt
from control_tower.web.auth import WebUser, current_web_user, require
from control_tower.web.format import fmt_int, plural
from control_tower.web.grid import grid_options, int_col, status_col, text_col
from control_tower.web.runtime import snapshot_cursor, web_context

ROLES = ("executive", "warehouse_supervisor", "planner", "finance", "admin")

dash.register_page(
    __name__,
    path="/exceptions",
    name="Exceptions",
    title="Exceptions · Control Tower",
    description="Exception queues in your scope: filter, work in bulk, export.",
    order=50,
    roles=ROLES,
)

PREFIX = "exceptions"
BLOCK_ROWS = 100
# Component ids, all prefixed with the page name (the detail page uses exceptions-detail-*).
FILTER_IDS = flt.ids(PREFIX)
TYPE = "exceptions-type"
KPI = "exceptions-kpi"
STATUS = "exceptions-status"
SEVERITY = "exceptions-severity"
MINE = "exceptions-mine"
QUEUES = "exceptions-queues"
NOTICE = "exceptions-notice"
GRID = "exceptions-grid"
CAPTION = "exceptions-caption"
ACTION = "exceptions-action"
ASSIGNEE = "exceptions-assignee"
UNTIL = "exceptions-until"
REASON = "exceptions-reason"
NOTE = "exceptions-note"
APPLY = "exceptions-apply"
RESULT = "exceptions-result"
REFRESH = "exceptions-refresh"
EXPORT = "exceptions-export"
DOWNLOAD = "exceptions-download"
EXPORT_NOTE = "exceptions-export-note"
NAV = "exceptions-nav"
PURGED = "exceptions-purged"
REFRESHED = "exceptions-refreshed"
SELECTED = "exceptions-selected"

STATUS_LABELS = {
    "unresolved": "Unresolved",
    "open": "Open",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "resolved": "Resolved",
    "all": "All",
}
BULK_ACTIONS = {
    "acknowledge": "Acknowledge",
    "assign": "Assign to…",
    "snooze": "Snooze until…",
    "resolve": "Resolve with reason…",
    "comment": "Comment",
}
REASON_LABELS = {code: code.replace("_", " ").capitalize() for code in RESOLUTION_CODES}
MONEY_FORMAT = {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"}


# --- what the URL and the controls ask for ---------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _default_queues(role: str, type_name: str | None, kpi: str | None) -> str:
    """A role starts on the queues it owns; a drill-down to a type or KPI shows them all."""
    if type_name or kpi or not q.owned_types(role):
        return "all"
    return "mine"


def question(
    user: WebUser,
    *,
    type_name: Any,
    kpi: Any,
    status: Any,
    severity: Any,
    entity: Any,
    location: Any,
    mine: Any,
    queues: Any,
) -> tuple[Scope | None, q.QueueFilter, list[str]]:
    """The scope (None: nothing left) and filter of a view, and notes on what was ignored."""
    notes: list[str] = []
    type_name, kpi = _text(type_name), _text(kpi)
    types: tuple[str, ...] = ()
    types_given = False
    if type_name:
        if type_name in type_names():
            types, types_given = (type_name,), True
        else:
            notes.append(f"There is no exception type “{type_name}”; showing every type.")
    if kpi:
        linked = cached_catalog(web_context().settings.kpi_definitions).exception_types(kpi)
        if not linked:
            notes.append(f"No exception queue is linked to the KPI “{kpi}”.")
        types = tuple(t for t in linked if t in types) if types_given else linked
        types_given = True
    status = status if status in q.STATUS_CHOICES else "unresolved"
    severity = severity if severity in q.SEVERITY_RANK else None
    owner_roles = (user.role,) if queues == "mine" else ()
    scope = flt.Filters.from_query(entity=entity, location=location).scoped(user.scope)
    filt = q.QueueFilter(
        types=types,
        types_given=types_given,
        status=status,
        severity=severity,
        assignee=user.name if mine else None,
        owner_roles=owner_roles,
    )
    return scope, filt, notes


def _query_string(
    type_name: Any,
    kpi: Any,
    status: Any,
    severity: Any,
    entity: Any,
    location: Any,
    mine: Any,
    queues: Any,
) -> str:
    view = flt.Filters.from_query(entity=entity, location=location)
    return flt.link(
        "",
        view,
        type=_text(type_name),
        kpi=_text(kpi),
        status=status if status in q.STATUS_CHOICES and status != "unresolved" else None,
        severity=severity if severity in q.SEVERITY_RANK else None,
        mine="1" if mine else None,
        queues=queues if queues in ("mine", "all") else None,
    )


# --- layout ---------------------------------------------------------------------------------------


def _grid() -> dag.AgGrid:
    no_filter = {"filter": False}
    return dag.AgGrid(
        id=GRID,
        rowModelType="infinite",
        columnDefs=[
            {
                "field": "id_link",
                "colId": "id",
                "headerName": "ID",
                "cellRenderer": "markdown",
                "width": 90,
                "filter": False,
            },
            text_col("type_label", "Type", width=155, **no_filter),
            status_col("severity", "Severity", ui.grid_labels(ui.SEVERITY), width=110, **no_filter),
            status_col(
                "status", "Status", ui.grid_labels(ui.EXCEPTION_STATUS), width=140, **no_filter
            ),
            text_col("owner_role", "Owner", width=125, **no_filter),
            text_col("assignee", "Assignee", width=105),
            text_col("location_id", "Location", width=100),
            text_col("entity_id", "Entity", width=80),
            text_col("item_id", "Item", width=115),
            int_col("age_days", "Age (d)", width=85, filter=False, headerTooltip="Whole days"),
            {
                "field": "sla",
                "headerName": "SLA",
                "width": 120,
                "sortable": False,
                "filter": False,
                "valueFormatter": {
                    "function": "params.value == 'breached' ? '⚠ breached' : params.value"
                },
                "cellClassRules": {
                    "cell-status cell-status--bad": "params.value == 'breached'",
                },
            },
            int_col(
                "value_at_risk",
                "Value at risk",
                width=130,
                valueFormatter=MONEY_FORMAT,
                headerTooltip="In the entity's currency",
            ),
            text_col("last_seen", "Last seen (UTC)", width=140, **no_filter),
            text_col(
                "summary",
                "What",
                minWidth=240,
                flex=1,
                sortable=False,
                tooltipField="summary",
                **no_filter,
            ),
        ],
        getRowId="params.data.row_id",
        defaultColDef={"sortable": True, "resizable": True},
        dashGridOptions=grid_options(
            rowSelection={
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": False,
                "enableClickSelection": False,
            },
            cacheBlockSize=BLOCK_ROWS,
            maxBlocksInCache=20,
            infiniteInitialRowCount=1,
            rowBuffer=10,
        ),
        className="grid grid--exceptions",
        style={"height": "560px"},
    )


def _controls(view: dict[str, Any], kpis: tuple[str, ...], role: str) -> html.Div:
    owned = q.owned_types(role)

    def field(label: str, control: Any, for_id: str, hidden: bool = False) -> html.Div:
        return html.Div(
            [html.Label(label, htmlFor=for_id), control], className="filter-field", hidden=hidden
        )

    return html.Div(
        [
            field(
                "Queues",
                dcc.RadioItems(
                    id=QUEUES,
                    options=[
                        {"label": "My queues", "value": "mine", "disabled": not owned},
                        {"label": "All in scope", "value": "all"},
                    ],
                    value=view["queues"],
                    inline=True,
                    className="segmented",
                ),
                QUEUES,
            ),
            field(
                "Type",
                dcc.Dropdown(
                    id=TYPE,
                    options=[{"label": type_label(t), "value": t} for t in type_names()],
                    value=view["type"],
                    placeholder="All types",
                    clearable=True,
                ),
                TYPE,
            ),
            field(
                "KPI",
                dcc.Dropdown(
                    id=KPI,
                    options=[
                        {"label": k, "value": k}
                        for k in sorted({*kpis, *filter(None, [view["kpi"]])})
                    ],
                    value=view["kpi"],
                    placeholder="Any KPI",
                    clearable=True,
                ),
                KPI,
            ),
            field(
                "Status",
                dcc.Dropdown(
                    id=STATUS,
                    options=[{"label": v, "value": k} for k, v in STATUS_LABELS.items()],
                    value=view["status"],
                    clearable=False,
                ),
                STATUS,
            ),
            field(
                "Severity",
                dcc.Dropdown(
                    id=SEVERITY,
                    options=[
                        {"label": f"{icon} {label}", "value": value}
                        for value, (icon, label, _tone) in ui.SEVERITY.items()
                    ],
                    value=view["severity"],
                    placeholder="Any severity",
                    clearable=True,
                ),
                SEVERITY,
            ),
            field(
                "Assignee",
                dcc.Checklist(
                    id=MINE,
                    options=[{"label": "Assigned to me", "value": "1"}],
                    value=["1"] if view["mine"] else [],
                    inline=True,
                ),
                MINE,
            ),
        ],
        className="filter-bar exceptions-controls",
        role="search",
        id="exceptions-controls",
    )


def _action_bar(users: list[str]) -> html.Div:
    return html.Div(
        [
            html.Span(id=SELECTED, className="exceptions-selected", role="status"),
            html.Label("Action", htmlFor=ACTION, className="visually-hidden"),
            dcc.Dropdown(
                id=ACTION,
                options=[{"label": v, "value": k} for k, v in BULK_ACTIONS.items()],
                value="acknowledge",
                clearable=False,
                className="exceptions-action",
            ),
            dcc.Dropdown(
                id=ASSIGNEE,
                options=[{"label": u, "value": u} for u in users],
                placeholder="Assign to user",
                className="exceptions-assignee",
            ),
            dcc.DatePickerSingle(id=UNTIL, placeholder="Snooze until", display_format="YYYY-MM-DD"),
            dcc.Dropdown(
                id=REASON,
                options=[{"label": v, "value": k} for k, v in REASON_LABELS.items()],
                placeholder="Reason",
                className="exceptions-reason",
            ),
            dcc.Input(
                id=NOTE,
                type="text",
                placeholder="Note (needed for a comment)",
                maxLength=2000,
                className="exceptions-note",
                debounce=False,
            ),
            html.Button(
                "Apply to selected", id=APPLY, n_clicks=0, className="button exceptions-apply"
            ),
        ],
        className="toolbar exceptions-actions",
    )


def _active_users() -> list[str]:
    return sorted(a.name for a in web_context().accounts.list_users() if not a.disabled)


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
    type_name, kpi = _text(query.get("type")), _text(query.get("kpi"))
    queues = query.get("queues")
    if queues not in ("mine", "all") or (queues == "mine" and not q.owned_types(user.role)):
        queues = _default_queues(user.role, type_name, kpi)
    view = {
        "type": type_name if type_name in type_names() else None,
        "kpi": kpi,
        "status": query.get("status") if query.get("status") in q.STATUS_CHOICES else "unresolved",
        "severity": query.get("severity") if query.get("severity") in q.SEVERITY_RANK else None,
        "mine": query.get("mine") in ("1", "true", "yes"),
        "queues": queues,
    }
    _scope, _filt, notes = question(
        user,
        type_name=type_name,
        kpi=kpi,
        status=view["status"],
        severity=view["severity"],
        entity=view_filters.entity,
        location=view_filters.location,
        mine=view["mine"],
        queues=queues,
    )
    settings = web_context().settings
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
                    _controls(view, cached_catalog(settings.kpi_definitions).linked(), user.role),
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
                    _action_bar(_active_users()),
                    html.Div(id=RESULT, className="exceptions-result", role="status"),
                    dcc.Loading(html.Span(id=CAPTION, className="caption"), type="dot"),
                    _grid(),
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
    return q.shared_store(web_context().settings.app_db_url)


def _grid_row(item: Any, now: Any) -> dict[str, Any]:
    row = q.item_row(item, now)
    row["row_id"] = str(item.id)
    row["id_link"] = f"[#{item.id}]({dash.get_relative_path(f'/exceptions/{item.id}')})"
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
    type_name: Any,
    kpi: Any,
    status: Any,
    severity: Any,
    entity: Any,
    location: Any,
    mine: Any,
    queues: Any,
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
    scope, filt, _notes = question(
        user,
        type_name=type_name,
        kpi=kpi,
        status=status,
        severity=severity,
        entity=entity,
        location=location,
        mine=mine,
        queues=queues,
    )
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
    rows = [_grid_row(item, now) for item in page.rows]
    if page.total == 0:
        caption = "No exceptions match. Widen the filters, or switch to all queues in scope."
    else:
        caption = f"{plural(page.total, 'exception')} match"
    return {"rowData": rows, "rowCount": page.total}, caption


@callback(Output(FILTER_IDS["url"], "search"), *VIEW_INPUTS, prevent_initial_call=True)
def view_to_url(*values: Any) -> str:
    """Keep the view's filters in the address bar, so the link can be shared."""
    require(roles=ROLES)
    return _query_string(*values)


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
        return _result("Choose an action.", "warn"), no_update
    selection = [
        (q.parse_id(r.get("id")), r.get("version")) for r in (selected or []) if isinstance(r, dict)
    ]
    if not selection:
        return _result("Select one or more rows first (the boxes on the left).", "warn"), no_update
    result = q.act_many(
        _store(),
        user.scope,
        selection,
        action,
        user=user.name,
        note=note if isinstance(note, str) else None,
        assignee=assignee if isinstance(assignee, str) else None,
        until=until,
        reason=reason if isinstance(reason, str) else None,
        assignees=_active_users(),
    )
    tone = "ok" if not result.conflicts and not result.refused else "warn"
    return _result(result.message(), tone), {"done": result.done, "n": n_clicks}


def _result(message: str, tone: str) -> html.Div:
    icon = {"ok": "✓", "warn": "⚠", "bad": "✕"}[tone]
    return html.Div(
        [html.Span(icon, className="badge-icon", **{"aria-hidden": "true"}), message],
        className=f"exceptions-message exceptions-message--{tone}",
    )


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
    type_name: Any,
    kpi: Any,
    status: Any,
    severity: Any,
    entity: Any,
    location: Any,
    mine: Any,
    queues: Any,
) -> tuple[Any, Any]:
    """The whole scoped, filtered, sorted queue as CSV (capped at `query.EXPORT_MAX_ROWS`)."""
    user = require(roles=ROLES)
    if not n_clicks:
        return no_update, no_update
    scope, filt, _notes = question(
        user,
        type_name=type_name,
        kpi=kpi,
        status=status,
        severity=severity,
        entity=entity,
        location=location,
        mine=mine,
        queues=queues,
    )
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
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=q.EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    if scope is not None:
        now = q.utcnow()
        for item in q.iter_items(
            _store(), scope, filt, sort_model=sort_model, filter_model=filter_model
        ):
            writer.writerow(q.item_row(item, now))
            count += 1
    return out.getvalue(), count


# The view changed: drop the grid's cached blocks so it asks again from the top.
clientside_callback(
    """
    function() {
        if (window.dash_ag_grid) {
            dash_ag_grid.getApiAsync('exceptions-grid')
                .then(api => { api.deselectAll(); api.purgeInfiniteCache(); })
                .catch(() => null);
        }
        return window.dash_clientside.no_update;
    }
    """,
    Output(PURGED, "data"),
    *VIEW_INPUTS,
    prevent_initial_call=True,
)

# Items changed: reload the cached blocks in place and clear the selection.
clientside_callback(
    """
    function(done) {
        if (done && window.dash_ag_grid) {
            dash_ag_grid.getApiAsync('exceptions-grid')
                .then(api => { api.deselectAll(); api.refreshInfiniteCache(); })
                .catch(() => null);
        }
        return window.dash_clientside.no_update;
    }
    """,
    Output(REFRESHED, "data"),
    Input(REFRESH, "data"),
    prevent_initial_call=True,
)

# A click on a row (outside its box and its id link) opens the item.
clientside_callback(
    """
    function(cell) {
        const col = cell && cell.colId;
        if (!cell || !cell.rowId || col === 'id' || col === 'ag-Grid-SelectionColumn') {
            return window.dash_clientside.no_update;
        }
        return '/exceptions/' + encodeURIComponent(cell.rowId);
    }
    """,
    Output(NAV, "href"),
    Input(GRID, "cellClicked"),
    prevent_initial_call=True,
)

clientside_callback(
    """
    function(rows) {
        const n = (rows || []).length;
        return n === 0 ? 'No rows selected' : n === 1 ? '1 row selected' : n + ' rows selected';
    }
    """,
    Output(SELECTED, "children"),
    Input(GRID, "selectedRows"),
)
