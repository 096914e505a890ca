"""Promise an order: when can each line of an order be promised, and from which site.

Route `/promise`, for planners, customer service, executives (it changes
nothing) and admins; every callback checks the role. The lines are entered in
an editable grid (item, quantity, unit, wanted date, site from the user's
sites, optional customer), one by one ("Add line") or pasted as
`item,qty,date,site,unit,customer` lines. "Check" answers the whole order in one
`promising.answer.answer` call (`views.promise.promise_rows`): per line the
promisable date, the status in words, the quantity promisable on the wanted
day, the other sites of the entity that can promise it earlier, the late-order
risk of the suggested date, or the error that stops the line. Selecting a line
draws its projection (only that line's days are sent). `/promise?item=&location=
&qty=&date=` fills one line and answers it at once: the drill from a promise
exception item and from the planner's item page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from control_tower.promising.answer import OutOfScopeError, PromiseAnswer, PromiseInputError
from control_tower.promising.atp import ProjectionDay
from control_tower.risk.promise_risk import promise_risk
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.promise import ROLES, blank, line_answer, parse_pasted, promise_rows
from control_tower.views.sites import sites
from control_tower.web import components as ui
from control_tower.web import plain_charts as pc
from control_tower.web.auth import require
from control_tower.web.grid import grid_options, number_format
from control_tower.web.kpi_ui import PLOT_CONFIG
from control_tower.web.runtime import web_context

dash.register_page(
    __name__,
    path="/promise",
    name="Promise an order",
    title="Promise an order · Control Tower",
    description="When each line of an order can be promised, from which site, at what risk.",
    order=55,  # after the exception queues: customer service starts there
    roles=ROLES,
)

GRID = "promise-grid"
ADD = "promise-add"
PASTE = "promise-paste"
PASTE_ADD = "promise-paste-add"
CHECK = "promise-check"
AUTO = "promise-auto"
MESSAGE = "promise-message"
PROJECTION = "promise-projection"
CHART = "promise-chart"
FIRST_LINES = 5


def _line(n: int, site: str = "", **values: Any) -> dict[str, Any]:
    return {
        "row_id": str(n),
        "item": "",
        "qty": "",
        "uom": "EA",
        "date": "",
        "site": site,
        "customer": "",
        **values,
    }


def _col(field: str, header: str, width: int, edit: bool, **extra: Any) -> dict[str, Any]:
    return {"field": field, "headerName": header, "width": width, "editable": edit,
            "sortable": False, **extra}  # fmt: skip


def _columns(site_ids: list[str]) -> list[dict[str, Any]]:
    """The line's fields (editable; unit and site chosen from lists), then its answer."""
    num = {"type": "numericColumn"}
    return [
        _col("item", "Item", 120, True),
        _col("qty", "Quantity", 95, True, **num),
        _col("uom", "Unit", 75, True, cellEditor="agSelectCellEditor",
             cellEditorParams={"values": ["EA", "CS"]}),
        _col("date", "Wanted (YYYY-MM-DD)", 150, True),
        _col("site", "Site", 110, True, cellEditor="agSelectCellEditor",
             cellEditorParams={"values": site_ids}),
        _col("customer", "Customer", 110, True),
        _col("promise", "Promisable on", 125, False),
        _col("status", "Status", 230, False, tooltipField="status"),
        _col("partial", "On the wanted day", 140, False, valueFormatter=number_format(",.0f"),
             **num),
        _col("alternatives", "Other sites, earlier", 200, False, tooltipField="alternatives"),
        _col("risk", "Risk late", 95, False, valueFormatter=number_format(".0%"), **num),
        _col("error", "Error", 220, False, flex=1, tooltipField="error",
             cellClass="cell-status cell-status--bad"),
        _col("note", "Notes", 200, False, tooltipField="note"),
    ]  # fmt: skip


def _user_sites() -> list[str]:
    user = require(roles=ROLES)
    try:
        with web_context().snapshot() as cur:
            return [s.location_id for s in sites(cur, user.scope)]
    except NoSnapshotError:
        return []


def layout(**query: Any) -> html.Div:
    """The order grid (one line from the query when it names an item), the chart panel."""
    site_ids = _user_sites()
    first = site_ids[0] if site_ids else ""
    asked = bool(query.get("item"))
    if asked:
        lines = [
            _line(
                1,
                str(query.get("location") or first),
                item=str(query["item"]),
                qty=str(query.get("qty") or ""),
                date=str(query.get("date") or ""),
                order=str(query.get("order") or ""),
                line_no=str(query.get("line") or ""),
            )
        ]
    else:
        lines = [_line(n, first) for n in range(1, FIRST_LINES + 1)]
    return html.Div(
        className="page page--promise",
        children=[
            html.Div([html.H1("Promise an order")], className="page-head"),
            dcc.Store(id=AUTO, data=asked),
            ui.panel(
                "Order lines",
                [
                    html.Div(
                        [
                            html.Button("Add line", id=ADD, className="button"),
                            html.Button("Check", id=CHECK, className="button button--primary"),
                            html.Span(id=MESSAGE, className="muted", role="status"),
                        ],
                        className="toolbar",
                    ),
                    dag.AgGrid(
                        id=GRID,
                        columnDefs=_columns(site_ids),
                        rowData=lines,
                        getRowId="params.data.row_id",
                        defaultColDef={"resizable": True},
                        dashGridOptions=grid_options(
                            rowSelection={
                                "mode": "singleRow",
                                "checkboxes": False,
                                "enableClickSelection": True,
                            },
                            singleClickEdit=True,
                            stopEditingWhenCellsLoseFocus=True,
                            domLayout="autoHeight",
                        ),
                        className="grid grid--promise",
                    ),
                    html.Details(
                        [
                            html.Summary("Paste lines"),
                            dcc.Textarea(
                                id=PASTE,
                                placeholder="item,qty,date,site,unit,customer (one line each; "
                                "all but item and qty optional), e.g. SKU-1,24,2026-03-20,DC-NJ",
                                className="promise-paste",
                                style={"width": "100%", "height": "8em"},
                            ),
                            html.Button("Add pasted lines", id=PASTE_ADD, className="button"),
                        ],
                        className="promise-paste-box",
                    ),
                ],
                subtitle="Quantities in eaches (EA) or cases (CS). Select a checked line to "
                "see its projection.",
            ),
            ui.panel(
                "Projection of the selected line",
                dcc.Loading(
                    html.Div(ui.empty_state("Select a checked line"), id=PROJECTION),
                    type="dot",
                    delay_show=300,
                ),
            ),
        ],
    )


def _renumbered(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "row_id": str(n)} for n, line in enumerate(lines, start=1)]


def _answered(lines: list[dict[str, Any]], user: Any) -> tuple[list[dict[str, Any]], str]:
    context = web_context()
    with context.snapshot() as cur:
        site_ids = {s.location_id for s in sites(cur, user.scope)}
        risk = promise_risk(cur, context.settings.models_dir)
        rows = promise_rows(cur, lines, scope=user.scope, sites=site_ids, risk=risk)
    checked = [r for r in rows if r["promise"] or r["status"]]
    errors = sum(1 for r in rows if r["error"])
    message = f"{len(checked)} line(s) answered" + (f", {errors} with an error" if errors else "")
    return rows, message


@callback(
    Output(GRID, "rowData"),
    Output(MESSAGE, "children"),
    Output(GRID, "selectedRows"),
    Output(PASTE, "value"),
    Input(ADD, "n_clicks"),
    Input(PASTE_ADD, "n_clicks"),
    Input(CHECK, "n_clicks"),
    Input(AUTO, "data"),
    State(GRID, "rowData"),
    State(PASTE, "value"),
)
def edit_order(_add: Any, _paste: Any, _check: Any, auto: Any, lines: Any, pasted: Any) -> Any:
    """Add a line, add pasted lines, or answer every line (also at once for a URL's line)."""
    user = require(roles=ROLES)
    lines = [dict(x) for x in lines if isinstance(x, dict)] if isinstance(lines, list) else []
    trigger = ctx.triggered_id
    if trigger == ADD:
        site = lines[-1].get("site", "") if lines else ""
        return _renumbered([*lines, _line(0, site)]), no_update, no_update, no_update
    if trigger == PASTE_ADD:
        site = lines[0].get("site") if lines else None
        added = parse_pasted(pasted if isinstance(pasted, str) else "", site)
        kept = [x for x in lines if not blank(x)]
        message = f"{len(added)} line(s) added"
        return _renumbered([*kept, *added]), message, no_update, ""
    if trigger == CHECK or (trigger in (None, AUTO) and auto is True):
        try:
            rows, message = _answered(lines, user)
        except NoSnapshotError:
            return no_update, "No data has been published yet.", no_update, no_update
        selected = [rows[0]] if trigger != CHECK and rows and rows[0]["status"] else no_update
        return rows, message, selected, no_update
    return no_update, no_update, no_update, no_update


@callback(Output(PROJECTION, "children"), Input(GRID, "selectedRows"))
def show_projection(selected: Any) -> Any:
    """The projection chart of the selected line."""
    user = require(roles=ROLES)
    if not isinstance(selected, list) or not selected or not isinstance(selected[0], dict):
        return ui.empty_state("Select a checked line")
    line = selected[0]
    try:
        with web_context().snapshot() as cur:
            site_ids = {s.location_id for s in sites(cur, user.scope)}
            found = line_answer(cur, line, scope=user.scope, sites=site_ids)
    except (PromiseInputError, OutOfScopeError) as exc:
        return ui.empty_state("This line cannot be answered", str(exc), icon="⚠")
    except NoSnapshotError:
        return ui.empty_state("No data has been published yet")
    r, when = found.request, found.date or "not within the horizon"
    caption = f"{r.item_id} at {r.location_id}: {found.qty:,.0f} EA wanted {found.wanted}, "
    caption += f"promisable {when} (as of {found.as_of})."
    return [
        html.P(caption, id=f"{CHART}-caption", className="panel-subtitle"),
        dcc.Graph(id=CHART, figure=projection_figure(found), config=PLOT_CONFIG),
    ]


# The events a chart marks: (kind, legend name, symbol, colour, sign, where its quantity goes).
_EVENTS = (
    ("supply", "Supply (PO)", "triangle-up", "#1c7c47", "+", "top center"),
    ("demand", "Demand (orders)", "triangle-down", "#b42318", "-", "bottom center"),
)


def _event_name(e: Any) -> str:
    return f"PO {e.po_id}/{e.line_no}" if hasattr(e, "po_id") else f"order {e.order_id}/{e.line_no}"


def _markers(days: Sequence[ProjectionDay]) -> list[dict[str, Any]]:
    """A marker at each day's available stock where supply arrives or demand leaves, its
    quantity written beside it and its PO or order lines in the hover text."""
    out = []
    for kind, name, symbol, colour, sign, position in _EVENTS:
        marked = [
            (d, getattr(d, kind), getattr(d, f"{kind}_qty")) for d in days if getattr(d, kind)
        ]
        if not marked:
            continue
        out.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": name,
                "x": [d.day.isoformat() for d, _e, _q in marked],
                "y": [d.available for d, _e, _q in marked],
                "marker": {"symbol": symbol, "size": 11, "color": colour},
                "text": [f"{sign}{q:,.0f}" for _d, _e, q in marked],
                "textposition": position,
                "hovertext": [
                    f"{d.day}: {kind} {sign}{q:,.0f} ({', '.join(map(_event_name, e))})"
                    for d, e, q in marked
                ],
                "hoverinfo": "text",
            }
        )
    return out


def _day_line(day: date, colour: str, text: str, y: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dashed line on `day` and its label at height `y` (of the plot), right of the line."""
    shape = pc.vline(day.isoformat(), colour)  # type: ignore[arg-type]
    note = {
        "x": day.isoformat(),
        "xref": "x",
        "y": y,
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "top",
        "font": {"size": 11, "color": colour},
    }
    return shape, note


def projection_figure(a: PromiseAnswer) -> dict[str, Any]:
    """Available stock by day, what is free to promise from each day on, supply (▲) and
    demand (▼) events, the quantity asked, and the wanted and promisable days marked."""
    days = a.projection.days
    x = [d.day.isoformat() for d in days]
    free, low = [], float("inf")
    for d in reversed(days):
        low = min(low, d.available)
        free.append(low)
    free.reverse()
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Available",
            "x": x,
            "y": [d.available for d in days],
            "line": {"color": "#2457c5", "width": 2, "shape": "hv"},
            "hovertemplate": "%{x|%Y-%m-%d}: %{y:,.0f} available<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Free to promise from this day",
            "x": x,
            "y": free,
            "line": {"color": "#7a4cc2", "width": 1.5, "dash": "dot", "shape": "hv"},
            "hovertemplate": "%{x|%Y-%m-%d}: %{y:,.0f} free to promise<extra></extra>",
        },
    ]
    data += _markers(days)
    asked_shape, asked_note = pc.hline(a.qty, "#5b6578", f"asked {a.qty:,.0f}", position="left")
    shapes, notes = [asked_shape], [asked_note]
    for day, colour, text, y in (
        (a.wanted, "#5b6578", f" wanted {a.wanted}", 1.0),
        (a.date, "#1c7c47", f" promisable {a.date}", 0.92),
    ):
        if day is not None:
            shape, note = _day_line(day, colour, text, y)
            shapes.append(shape)
            notes.append(note)
    end = a.projection.end + timedelta(days=1)
    return pc.figure(
        data,
        height=340,
        margin={"l": 55, "r": 16, "t": 16, "b": 40},
        showlegend=True,
        legend={"orientation": "h", "y": -0.18, "x": 0},
        xaxis={"type": "date", "showgrid": False, "range": [x[0], end.isoformat()]},
        yaxis={"title": "eaches", "gridcolor": pc.GRID, "zeroline": True},
        shapes=shapes,
        annotations=notes,
        hovermode="closest",
    )
