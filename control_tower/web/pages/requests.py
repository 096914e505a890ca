"""Action requests: the requests in the user's scope, in three views.

Route `/requests`, for planners, warehouse supervisors, customer service, finance and admins.
The views: awaiting my approval (pending requests the user may decide, raised by someone
else; shown first when there are any), mine (raised by me) and all in my scope; a status
filter narrows each. Each row links to its request page and to the exception it came from.
The user and scope come from the server-side session (`actions.service.list_requests`).
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from control_tower.actions import service
from control_tower.actions.store import STATUSES
from control_tower.views import requests as rv
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.format import plural
from control_tower.web.grid import int_col, number_format, paged_grid, status_col, text_col
from control_tower.web.request_ui import REQUEST_STATUS, request_href
from control_tower.web.runtime import web_context

ROLES = ("planner", "warehouse_supervisor", "customer_service", "finance", "admin")

dash.register_page(
    __name__,
    path="/requests",
    name="Requests",
    title="Requests · Control Tower",
    description="Action requests: awaiting your approval, yours, and all in your scope.",
    order=59,
    roles=ROLES,
)

VIEW = "requests-view"
STATUS = "requests-status"
CAPTION = "requests-caption"
GRID = "requests-grid"
LIMIT = 1000
VIEW_LABELS = {"awaiting": "Awaiting my approval", "mine": "Raised by me", "all": "All in my scope"}

COLUMNS = [
    {
        "field": "id_link",
        "colId": "id",
        "headerName": "Request",
        "cellRenderer": "markdown",
        "width": 100,
        "filter": False,
    },
    text_col("type", "Type", width=170),
    status_col("status", "Status", ui.grid_labels(REQUEST_STATUS), width=170),
    int_col("value", "Value", width=120, valueFormatter=number_format(",.2f", "—")),
    text_col("location_id", "Site", width=100),
    text_col("item_id", "Item", width=120),
    text_col("exception_link", "Exception", width=110, cellRenderer="markdown"),
    text_col("requested_by", "Requested by", width=130),
    text_col("requested_at", "When (UTC)", width=150),
    text_col("approver", "Approver", minWidth=200, flex=1),
]


def layout(**_query: str) -> html.Div:
    """The view picker, the status filter and the grid."""
    user = current_web_user()
    if user is None:
        return html.Div()
    view = rv.default_view(web_context().exceptions, user)
    return html.Div(
        className="page page--requests",
        children=[
            html.Div(
                [
                    html.H1("Requests"),
                    html.P(
                        "Transfers, expedites, requisitions and other actions raised from "
                        "exceptions, and where each stands.",
                        className="page-subtitle",
                    ),
                ],
                className="page-head",
            ),
            html.Div(
                [
                    act_ui.field(
                        "View",
                        dcc.RadioItems(
                            id=VIEW,
                            options=[{"label": v, "value": k} for k, v in VIEW_LABELS.items()],
                            value=view,
                            inline=True,
                        ),
                        VIEW,
                    ),
                    act_ui.field(
                        "Status",
                        dcc.Dropdown(
                            id=STATUS,
                            options=[{"label": REQUEST_STATUS[s][1], "value": s} for s in STATUSES],
                            placeholder="Any status",
                        ),
                        STATUS,
                    ),
                ],
                className="filter-bar",
            ),
            html.P(id=CAPTION, className="muted", role="status"),
            dag.AgGrid(
                id=GRID,
                columnDefs=COLUMNS,
                **paged_grid(
                    page_size=25,
                    selection={"mode": "singleRow", "checkboxes": False},
                    class_name=f"grid {GRID}",
                    style={"height": "620px"},
                ),
            ),
        ],
    )


def rows(user: Any, view: Any, status: Any) -> tuple[str, list[dict[str, Any]]]:
    """The caption and grid rows of a view and status filter, in the user's scope."""
    total, found = service.list_requests(
        web_context().exceptions,
        actor=user,
        view=view if view in VIEW_LABELS else "all",
        status=status if status in STATUSES else None,
        limit=LIMIT,
    )
    out: list[dict[str, Any]] = []
    for r in found:
        exc = dash.get_relative_path(f"/exceptions/{r.exception_id}") if r.exception_id else ""
        out.append(rv.grid_row(r, request_href(r.id), exc))
    shown = f" (the newest {LIMIT} shown)" if total > LIMIT else ""
    return f"{plural(total, 'request')}{shown}.", out


@callback(
    Output(CAPTION, "children"),
    Output(GRID, "rowData"),
    Input(VIEW, "value"),
    Input(STATUS, "value"),
)
def show(view: Any, status: Any) -> tuple[str, list[dict[str, Any]]]:
    """The requests of the chosen view and status."""
    user = require(roles=ROLES)
    return rows(user, view, status)
