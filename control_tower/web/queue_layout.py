"""The exception queue page's parts: component ids, the grid, the view's controls, the action bar.

The page (`web/pages/exceptions.py`) lays them out and wires the callbacks.
"""

from __future__ import annotations

import json

import dash_ag_grid as dag
from dash import dcc, html

from control_tower.exceptions import query as q
from control_tower.exceptions.registry import type_names
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web import filters as flt
from control_tower.web.grid import (
    ROW_ID,
    grid_options,
    int_col,
    number_format,
    status_col,
    text_col,
)
from control_tower.web.queue_view import QueueView

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

STATUS_LABELS = {s: ui.STATUS_CHOICE_LABELS[s] for s in q.STATUS_CHOICES}
BULK_ACTIONS = {
    "acknowledge": "Acknowledge",
    "assign": "Assign to…",
    "snooze": "Snooze until…",
    "resolve": "Resolve with reason…",
    "comment": "Comment",
}
# The SLA column: a breached SLA shows its icon (other states are words: "due in 5 h", "met").
SLA_LABELS = {"breached": f"{ui.SLA_STATE['breached'][0]} breached"}
MONEY_FORMAT = number_format(",.0f")


def queue_grid() -> dag.AgGrid:
    """The queue's grid: infinite row model, rows, sort and column filters from the server."""
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
            # An order line's item links to its ATP projection (`views.promise.promise_link`).
            text_col("item_link", "Item", colId="item_id", cellRenderer="markdown", width=115),
            int_col("age_days", "Age (d)", width=85, filter=False, headerTooltip="Whole days"),
            {
                "field": "sla",
                "headerName": "SLA",
                "width": 120,
                "sortable": False,
                "filter": False,
                "valueFormatter": {
                    "function": f"ctLabel(params, {json.dumps(SLA_LABELS)})",
                },
                "cellClassRules": {
                    "cell-status cell-status--bad": {"function": "ctValueIn(params, ['breached'])"},
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
        getRowId=ROW_ID,
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


def view_controls(view: QueueView, kpis: tuple[str, ...], role: str) -> html.Div:
    """The view's controls (queues, type, KPI, status, severity, mine), set from `view`."""
    owned = q.owned_types(role)

    field = act_ui.field
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
                    value=view.queues,
                    inline=True,
                    className="segmented",
                ),
                QUEUES,
            ),
            field(
                "Type",
                dcc.Dropdown(
                    id=TYPE,
                    options=[{"label": q.type_label(t), "value": t} for t in type_names()],
                    value=view.known_type,
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
                        {"label": k, "value": k} for k in sorted({*kpis, *filter(None, [view.kpi])})
                    ],
                    value=view.kpi,
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
                    value=view.status,
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
                    value=view.severity,
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
                    value=["1"] if view.mine else [],
                    inline=True,
                ),
                MINE,
            ),
        ],
        className="filter-bar exceptions-controls",
        role="search",
        id="exceptions-controls",
    )


def action_bar(users: list[str]) -> html.Div:
    """The bulk action bar: action, its arguments and the button applying it to the selection."""
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
                options=act_ui.user_options(users),
                placeholder="Assign to user",
                className="exceptions-assignee",
            ),
            dcc.DatePickerSingle(id=UNTIL, placeholder="Snooze until", display_format="YYYY-MM-DD"),
            act_ui.reason_dropdown(REASON, className="exceptions-reason"),
            act_ui.note_input(NOTE, "Note (needed for a comment)", "exceptions-note"),
            html.Button(
                "Apply to selected", id=APPLY, n_clicks=0, className="button exceptions-apply"
            ),
        ],
        className="toolbar exceptions-actions",
    )
