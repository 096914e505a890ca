"""One supplier: its scorecard, on-time-in-full trend, open lines, lead times and discrepancies.

Route `/suppliers/<supplier_id>` (not in the navigation), for the roles of `/suppliers`
(ids share the `suppliers-` prefix). Within the user's scope: the scorecard tiles (on
time in full over the range, open and overdue lines with their value, lead time actual
against planned), the weekly on-time-in-full trend by expected date, the open lines
(overdue first, each linked to its overdue_po_line item when one is open), the lead time
of each line that arrived, and the lines whose receipts were short, over or damaged.
Unknown, or no line in scope: "not found in your scope". Figures: `views.suppliers`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html
from sqlalchemy import select

from control_tower.exceptions.store import UNRESOLVED, ExceptionItem
from control_tower.storage.serving import NoSnapshotError, published_as_of
from control_tower.views import suppliers as sv
from control_tower.web import components as ui
from control_tower.web.auth import require
from control_tower.web.format import DASH, fmt_int, fmt_money, plural
from control_tower.web.grid import int_col, number_format, paged_grid, text_col
from control_tower.web.kpi_ui import PLOT_CONFIG
from control_tower.web.pages.suppliers import (
    MONEY,
    ROLES,
    as_of_and_range,
    parse_range,
    range_inputs,
)
from control_tower.web.risk_ui import CHART_LAYOUT
from control_tower.web.runtime import web_context

dash.register_page(
    __name__,
    path_template="/suppliers/<supplier_id>",
    name="Supplier",
    title="Supplier · Control Tower",
    description="One supplier's scorecard, open and overdue lines, lead times, discrepancies.",
    order=39,
    nav=False,
    roles=ROLES,
)

KEY = "suppliers-detail-key"
TITLE = "suppliers-detail-title"
START = "suppliers-detail-start"
END = "suppliers-detail-end"
BODY = "suppliers-detail-body"
TREND = "suppliers-detail-trend"
OPEN = "suppliers-detail-open"
LEAD = "suppliers-detail-lead"
DISCREPANCIES = "suppliers-detail-discrepancies"
QTY = number_format(",.0f", "—")

_LINE = [
    text_col("po_id", "PO", width=110),
    int_col("line_no", "Line", width=70),
    text_col("item_id", "Item", width=110),
    text_col("location_id", "Site", width=90),
]
OPEN_COLUMNS = [
    *_LINE,
    text_col("order_date", "Ordered on", width=115),
    text_col("expected_date", "Expected", width=115),
    int_col("days_overdue", "Days overdue", width=120),
    int_col("ordered_qty", "Ordered", width=100, valueFormatter=QTY),
    int_col("good_qty", "Received good", width=125, valueFormatter=QTY),
    int_col("open_qty", "Open qty", width=100, valueFormatter=QTY),
    int_col("open_value", "Open value", width=115, valueFormatter=MONEY),
    {
        "field": "exception_link",
        "headerName": "Queue item",
        "cellRenderer": "markdown",
        "width": 115,
        "filter": False,
    },
]
LEAD_COLUMNS = [
    *_LINE,
    text_col("order_date", "Ordered on", width=115),
    text_col("expected_date", "Expected", width=115),
    text_col("arrival_date", "Arrived", width=115),
    int_col("actual_lead_days", "Actual (d)", width=105),
    int_col("planned_lead_days", "Planned (d)", width=110),
    int_col("item_lead_days", "Item master (d)", width=130),
    int_col("lead_time_delay_days", "Later than planned (d)", width=170),
]
DISCREPANCY_COLUMNS = [
    *_LINE,
    text_col("discrepancy", "Discrepancy", width=150),
    text_col("status", "PO status", width=105),
    text_col("expected_date", "Expected", width=115),
    int_col("ordered_qty", "Ordered", width=100, valueFormatter=QTY),
    int_col("received_qty", "Received", width=100, valueFormatter=QTY),
    int_col("short_qty", "Short", width=90, valueFormatter=QTY),
    int_col("over_qty", "Over", width=90, valueFormatter=QTY),
    int_col("damaged_qty", "Damaged", width=100, valueFormatter=QTY),
]


def _grid(grid_id: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Any:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        **{
            **paged_grid(
                page_size=20,
                selection={"mode": "singleRow", "checkboxes": False},
                class_name=f"grid {grid_id}",
                style={"height": "420px"},
            ),
            "rowData": rows,
        },
    )


def layout(supplier_id: str | None = None, **query: str) -> html.Div:
    """The page's frame; its content is loaded by `load_supplier` for the id in the URL."""
    require(roles=ROLES)
    _as_of, start, end = as_of_and_range(query)
    return html.Div(
        className="page page--supplier",
        children=[
            dcc.Store(id=KEY, data=supplier_id),
            html.Div(
                [
                    html.A("← Suppliers", href="/suppliers"),
                    html.H1(id=TITLE, children=supplier_id or "?"),
                ],
                className="page-head",
            ),
            range_inputs(START, END, start, end),
            dcc.Loading(html.Div(id=BODY), type="dot", delay_show=300),
        ],
    )


def _days(value: float | None) -> str:
    return DASH if value is None else f"{value:,.1f} d"


def _tiles(card: sv.Scorecard) -> html.Div:
    otif = DASH if card.otif is None else f"{card.otif:.1%}"
    return html.Div(
        [
            ui.kpi(
                "On time in full",
                otif,
                f"{fmt_int(card.lines_on_time_in_full)} of {plural(card.lines_due, 'line')} due",
                kpi_id="suppliers-detail-otif",
            ),
            ui.kpi(
                "Open lines",
                fmt_int(card.open_lines),
                f"{fmt_money(card.open_value)} open value",
                kpi_id="suppliers-detail-open-lines",
            ),
            ui.kpi(
                "Overdue lines",
                fmt_int(card.overdue_lines),
                f"{fmt_money(card.overdue_value)} at standard cost",
                tone="bad" if card.overdue_lines else "",
                kpi_id="suppliers-detail-overdue",
            ),
            ui.kpi(
                "Lead time",
                _days(card.actual_lead_days),
                f"planned {_days(card.planned_lead_days)}, item master "
                f"{_days(card.item_lead_days)} ({plural(card.arrived_lines, 'line')} arrived)",
                kpi_id="suppliers-detail-lead-time",
            ),
        ],
        className="kpi-row",
    )


def _facts(card: sv.Scorecard) -> html.Dl:
    terms = DASH if card.payment_terms_days is None else f"{card.payment_terms_days} days"
    pairs = [
        ("Name", card.name or DASH),
        ("Country", card.country or DASH),
        ("Currency", card.currency or DASH),
        ("Payment terms", terms),
    ]
    return html.Dl(
        [part for k, v in pairs for part in (html.Dt(k), html.Dd(v))],
        className="facts",
        id="suppliers-detail-facts",
    )


def _trend(rows: tuple[dict[str, Any], ...]) -> Any:
    if not rows:
        return ui.empty_state("No line was due in the range")
    fig = go.Figure()
    fig.add_scatter(
        x=[r["week"] for r in rows],
        y=[r["otif"] for r in rows],
        mode="lines+markers",
        name="On time in full",
        customdata=[[r["lines_otif"], r["lines_due"]] for r in rows],
        hovertemplate="Week of %{x|%Y-%m-%d}: %{y:.1%} "
        "(%{customdata[0]} of %{customdata[1]} lines)<extra></extra>",
        line={"color": "#2457c5", "width": 2},
    )
    fig.update_layout(
        **CHART_LAYOUT, height=260, yaxis={"title": "on time in full", "tickformat": ".0%"}
    )
    return dcc.Graph(id=TREND, figure=fig, config=PLOT_CONFIG)


def _with_queue_links(rows: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Open lines as grid rows, each with its unresolved overdue_po_line item, if any."""
    keys = [f"{r['po_id']}|{r['line_no']}" for r in rows]
    with web_context().exceptions.session() as s:
        found = dict(
            s.execute(
                select(ExceptionItem.key, ExceptionItem.id).where(
                    ExceptionItem.type == "overdue_po_line",
                    ExceptionItem.status.in_(UNRESOLVED),
                    ExceptionItem.key.in_(keys),
                )
            ).all()
        )
    out = []
    for row, key in zip(rows, keys, strict=True):
        item = found.get(key)
        link = f"[#{item}](/exceptions/{item})" if item is not None else ""
        out.append({**row, "row_id": key, "exception_link": link})
    return out


def _keyed(rows: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [{**r, "row_id": f"{r['po_id']}|{r['line_no']}"} for r in rows]


@callback(
    Output(BODY, "children"),
    Output(TITLE, "children"),
    Input(KEY, "data"),
    Input(START, "value"),
    Input(END, "value"),
)
def load_supplier(supplier_id: Any, start: Any, end: Any) -> tuple[Any, Any]:
    """One supplier's figures within the user's scope, or "not found in your scope"."""
    user = require(roles=ROLES)
    chosen = parse_range(start, end)
    if isinstance(chosen, str):
        return ui.empty_state("No range", chosen), dash.no_update
    if not isinstance(supplier_id, str) or not supplier_id:
        return ui.empty_state("No supplier named"), dash.no_update
    context = web_context()
    try:
        with context.snapshot() as cur:
            as_of = published_as_of(cur) or chosen[1]
            kpi = context.catalog().kpi(sv.KPI_NAME)
            view = sv.supplier_view(
                cur, kpi, user.scope, supplier_id, start=chosen[0], end=chosen[1], as_of=as_of
            )
    except NoSnapshotError:
        return ui.empty_state("No data landed yet", "Run control-tower ingest."), dash.no_update
    except KeyError as exc:
        return ui.empty_state("No supplier figures", str(exc)), dash.no_update
    if view is None:
        return ui.empty_state(
            "Not found in your scope",
            [
                "This supplier has no purchase order line you may see. ",
                html.A("Back to the suppliers", href="/suppliers"),
            ],
            icon="⛔",
        ), "Not found in your scope"
    card = view.card
    title = f"{card.supplier_id} · {card.name}" if card.name else card.supplier_id
    body = [
        html.Div([ui.panel("Supplier", _facts(card)), _tiles(card)], className="supplier-head"),
        ui.panel(
            "On time in full by week",
            _trend(view.trend),
            subtitle=f"Lines due by the week of their expected date, as of {view.as_of}.",
        ),
        ui.panel(
            "Open lines",
            _grid(OPEN, OPEN_COLUMNS, _with_queue_links(view.open_lines)),
            subtitle="Open in the ERP with good quantity short of the order; overdue first. "
            "Open value at standard cost.",
        ),
        ui.panel(
            "Lead time, actual against planned",
            _grid(LEAD, LEAD_COLUMNS, _keyed(view.lead_times)),
            subtitle="Lines expected in the range that arrived: arrival - order date against "
            "expected - order date and the item master's lead time.",
        ),
        ui.panel(
            "Receipts with discrepancies",
            _grid(DISCREPANCIES, DISCREPANCY_COLUMNS, _keyed(view.discrepancies)),
            subtitle="Lines expected in the range received short (closed or received with less "
            "than ordered), over, or with damaged units.",
        ),
    ]
    return body, title
