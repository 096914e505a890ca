"""Customers: orders at risk by customer, the lines behind a customer's OTIF, re-promise in place.

Route `/customers`, customer service's first page; planners and admins use it too,
executives read it (no re-promise). Every callback checks the role and reads
within the user's scope (`control_tower.views.customers`):

- Orders at risk by customer: the unresolved `order_at_risk` items grouped by
  the customer of their line (lines, value at risk, worst risk). Selecting a
  customer narrows the two grids below to them.
- Lines at risk: the customer's lines with their promise, first promise, ATP
  date, risk and suggested action. Selecting one fills the re-promise form
  (the new date starts at its ATP date).
- Behind OTIF: the customer's lines first promised in the chosen range, each
  marked when it missed its first promise (`missed_promise`).
- Re-promise: a new date and a reason (`views.repromise.repromise_line`); the
  result says whether the projection covers it and whether the queue item
  closed, and the message draft to the customer appears in a text area to copy.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html, no_update

from control_tower.promising.answer import as_of_day
from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError
from control_tower.views import customers as cv
from control_tower.views.repromise import (
    REPROMISE_ROLES,
    RepromiseError,
    RepromiseNotAllowedError,
    UnknownLineError,
)
from control_tower.web import components as ui
from control_tower.web.api.order_lines import repromise_as
from control_tower.web.auth import require
from control_tower.web.format import fmt_money, plural
from control_tower.web.grid import int_col, number_format, paged_grid, text_col
from control_tower.web.runtime import web_context

ROLES = ("customer_service", "planner", "executive", "admin")

dash.register_page(
    __name__,
    path="/customers",
    name="Customers",
    title="Customers · Control Tower",
    description="Orders at risk by customer, the lines behind OTIF, re-promise in place.",
    order=35,
    roles=ROLES,
)

START = "customers-start"
END = "customers-end"
REFRESH = "customers-refresh"
CUSTOMERS = "customers-grid"
LINES = "customers-lines"
OTIF = "customers-otif"
CAPTION = "customers-caption"
FORM = "customers-form"
CHOSEN = "customers-chosen"
NEW_DATE = "customers-date"
REASON = "customers-reason"
SUBMIT = "customers-submit"
RESULT = "customers-result"
MESSAGE = "customers-message"
RANGE_DAYS = 30

_PCT = number_format(".0%", "—")
_MONEY = number_format(",.0f", "—")
_QTY = number_format(",.0f", "—")

CUSTOMER_COLUMNS = [
    text_col("customer_id", "Customer", width=120),
    text_col("name", "Name", minWidth=180, flex=1),
    int_col("lines", "Lines at risk", width=120),
    int_col("value_at_risk", "Value at risk", width=130, valueFormatter=_MONEY, sort="desc"),
    int_col("worst_risk", "Worst risk", width=110, valueFormatter=_PCT),
]
# The order line, its item and site: the first columns of both line grids.
_LINE_KEYS = [
    text_col("order_id", "Order", width=110),
    int_col("line_no", "Line", width=70),
    text_col("item_id", "Item", width=110),
    text_col("location_id", "Site", width=90),
]
LINE_COLUMNS = [
    *_LINE_KEYS,
    text_col("customer_id", "Customer", width=110),
    int_col("open_qty", "Open qty", width=100, valueFormatter=_QTY),
    text_col("promised_date", "Promised", width=115),
    text_col("first_promised_date", "First promise", width=125),
    text_col("atp_date", "ATP date", width=115),
    int_col("risk", "Risk", width=85, valueFormatter=_PCT),
    int_col("value_at_risk", "Value", width=100, valueFormatter=_MONEY),
    text_col("action_text", "Suggested action", minWidth=220, flex=1, tooltipField="action_text"),
]
OTIF_COLUMNS = [
    *_LINE_KEYS,
    text_col("status", "Line status", width=115),
    int_col("ordered_qty", "Ordered", width=95, valueFormatter=_QTY),
    text_col("requested_date", "Requested", width=115),
    text_col("first_promised_date", "First promise", width=125),
    text_col("promised_date", "Promise now", width=120),
    text_col("missed", "Missed promise", width=130),
]


def _grid(grid_id: str, columns: list[dict[str, Any]], height: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        **paged_grid(
            page_size=20,
            selection={"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            class_name=f"grid {grid_id}",
            style={"height": height},
        ),
    )


def _form(may_promise: bool) -> html.Div:
    """The re-promise form of the selected line (read-only roles are told it is not theirs)."""
    note = (
        None
        if may_promise
        else html.P(
            "Your role reads this page; re-promising is for customer service, planners and admins.",
            className="muted",
        )
    )
    return html.Div(
        [
            note,
            html.P("Select a line at risk to re-promise it.", id=CHOSEN, role="status"),
            html.Div(
                [
                    html.Label("New promised date", htmlFor=NEW_DATE),
                    dcc.Input(id=NEW_DATE, type="date"),
                    html.Label("Reason", htmlFor=REASON),
                    dcc.Input(
                        id=REASON,
                        type="text",
                        maxLength=4000,
                        placeholder="Why it moves",
                        className="customers-reason",
                    ),
                    html.Button(
                        "Re-promise", id=SUBMIT, className="button", n_clicks=0, disabled=True
                    ),
                ],
                className="toolbar",
            ),
            html.Div(id=RESULT, role="status", className="customers-result"),
            html.Label("Message to the customer", htmlFor=MESSAGE),
            dcc.Textarea(
                id=MESSAGE,
                value="",
                readOnly=True,
                className="customers-message",
                style={"width": "100%", "height": "220px"},
            ),
        ],
        id=FORM,
    )


def layout(**_query: str) -> html.Div:
    """The page's frame: the range, the three grids and the re-promise form."""
    user = require(roles=ROLES)
    try:
        with web_context().snapshot() as cur:
            today = as_of_day(cur) or utc_now().date()
    except NoSnapshotError:
        today = utc_now().date()
    return html.Div(
        className="page page--customers",
        children=[
            dcc.Store(id=REFRESH, data=0),
            html.Div(
                [html.H1("Customers"), html.P(id=CAPTION, className="page-subtitle")],
                className="page-head",
            ),
            ui.panel(
                "Orders at risk by customer",
                _grid(CUSTOMERS, CUSTOMER_COLUMNS, "300px"),
                subtitle="Open order_at_risk items by the customer of their line. Select a "
                "customer to see their lines.",
            ),
            ui.panel(
                "Lines at risk",
                [_grid(LINES, LINE_COLUMNS, "340px"), _form(user.role in REPROMISE_ROLES)],
                subtitle="Select a line to re-promise it; the first promise never changes.",
            ),
            ui.panel(
                "Lines behind OTIF",
                [
                    html.Div(
                        [
                            html.Label("First promised from", htmlFor=START),
                            dcc.Input(
                                id=START,
                                type="date",
                                value=(today - timedelta(days=RANGE_DAYS)).isoformat(),
                            ),
                            html.Label("to", htmlFor=END),
                            dcc.Input(id=END, type="date", value=today.isoformat()),
                        ],
                        className="toolbar",
                    ),
                    _grid(OTIF, OTIF_COLUMNS, "340px"),
                ],
                subtitle="The selected customer's lines first promised in the range; a missed "
                "promise counts against order promise accuracy and OTIF.",
            ),
        ],
    )


def _selected(rows: Any) -> dict[str, Any] | None:
    return rows[0] if rows else None


@callback(
    Output(CUSTOMERS, "rowData"),
    Output(CAPTION, "children"),
    Input(REFRESH, "data"),
)
def load_customers(_refresh: Any) -> tuple[Any, str]:
    """Customers with lines at risk in the user's scope."""
    user = require(roles=ROLES)
    context = web_context()
    try:
        with context.snapshot() as cur:
            found = cv.customers_at_risk(cur, context.exceptions, user.scope)
    except NoSnapshotError:
        return [], "No data has been published yet."
    rows = [{**vars(c), "row_id": c.customer_id} for c in found]
    value = sum(c.value_at_risk for c in found)
    caption = (
        f"{plural(sum(c.lines for c in found), 'line')} at risk for "
        f"{plural(len(found), 'customer')}, {fmt_money(value)} of open value"
    )
    return rows, caption


@callback(
    Output(LINES, "rowData"),
    Output(OTIF, "rowData"),
    Input(CUSTOMERS, "selectedRows"),
    Input(START, "value"),
    Input(END, "value"),
    Input(REFRESH, "data"),
)
def load_lines(selected: Any, start: Any, end: Any, _refresh: Any) -> tuple[Any, Any]:
    """The selected customer's lines at risk (all customers' without one) and lines behind
    OTIF in the range."""
    user = require(roles=ROLES)
    context = web_context()
    customer = (_selected(selected) or {}).get("customer_id")
    lines = cv.lines_at_risk(context.exceptions, user.scope, customer)
    at_risk = [{**r, "row_id": r["key"]} for r in lines]
    if customer is None:
        return at_risk, []
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except (TypeError, ValueError):
        return at_risk, []
    try:
        with context.snapshot() as cur:
            due = cv.otif_lines(cur, context.exceptions, user.scope, customer, first, last)
    except NoSnapshotError:
        due = []
    otif = [
        {**r, "row_id": f"{r['order_id']}|{r['line_no']}",
         "missed": ("yes (" + r["miss_status"] + ")") if r["missed"] else "no"}
        for r in due
    ]  # fmt: skip
    return at_risk, otif


@callback(
    Output(CHOSEN, "children"),
    Output(NEW_DATE, "value"),
    Output(SUBMIT, "disabled"),
    Input(LINES, "selectedRows"),
)
def choose_line(selected: Any) -> tuple[Any, Any, bool]:
    """The form for the selected line, its new date starting at the ATP date."""
    user = require(roles=ROLES)
    row = _selected(selected)
    if row is None or user.role not in REPROMISE_ROLES:
        return "Select a line at risk to re-promise it.", None, True
    text = (
        f"Order {row['order_id']} line {row['line_no']}: {row['item_id']} at "
        f"{row['location_id']}, promised {row['promised_date']} "
        f"(first promise {row['first_promised_date']}); ATP date {row['atp_date'] or 'none'}"
    )
    return text, row.get("atp_date"), False


@callback(
    Output(RESULT, "children"),
    Output(MESSAGE, "value"),
    Output(REFRESH, "data"),
    Input(SUBMIT, "n_clicks"),
    State(LINES, "selectedRows"),
    State(NEW_DATE, "value"),
    State(REASON, "value"),
    State(REFRESH, "data"),
    prevent_initial_call=True,
)
def submit(_clicks: Any, selected: Any, new_date: Any, reason: Any, refresh: Any) -> Any:
    """Re-promise the selected line; the result, the message draft, and a refresh."""
    user = require(roles=REPROMISE_ROLES)
    row = _selected(selected)
    if row is None:
        return "Select a line first.", no_update, no_update
    try:
        day = date.fromisoformat(new_date or "")
    except ValueError:
        return f"date={new_date!r}: choose the new promised date", no_update, no_update
    try:
        out = repromise_as(user, row["order_id"], int(row["line_no"]), day, reason or "")
    except (RepromiseError, RepromiseNotAllowedError, UnknownLineError, ValueError) as exc:
        return f"Not re-promised: {exc}", no_update, no_update
    except NoSnapshotError:
        return "No data has been published yet.", no_update, no_update
    if out.covered:
        done = "covered by the projection"
        done += "; its at-risk item is closed." if out.item_closed else "."
    else:
        done = f"not covered: the earliest covered day is {out.atp_date or 'beyond the horizon'}"
        done += "; its at-risk item stays open." if out.item_id else "."
    result = (
        f"Re-promised order {out.line.order_id} line {out.line.line_no} to {out.new_date} "
        f"(was {out.old_date or 'undated'}): {done}"
    )
    return result, out.message, (refresh or 0) + 1
