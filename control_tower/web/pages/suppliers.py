"""Suppliers: a scorecard per supplier (on time in full, open and overdue lines, lead time).

Route `/suppliers`, for planners, executives, finance, warehouse supervisors (their
sites' lines only) and admins. One row per supplier with a purchase order line in the
user's scope: on time in full over the lines expected in the chosen range, lines due,
open and overdue lines and the overdue value at standard cost, mean actual against
planned lead time, and the supplier master's country, currency and payment terms.
A supplier's id opens its page (`/suppliers/<supplier_id>`). Figures:
`control_tower.views.suppliers`, from the model behind the KPI `supplier_otif`.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError, published_as_of
from control_tower.views import suppliers as sv
from control_tower.web.auth import require
from control_tower.web.format import fmt_money, plural
from control_tower.web.grid import int_col, number_format, paged_grid, text_col
from control_tower.web.runtime import web_context
from control_tower.web.triage_views import md_text

ROLES = ("planner", "executive", "finance", "warehouse_supervisor", "admin")
RANGE_DAYS = 90

dash.register_page(
    __name__,
    path="/suppliers",
    name="Suppliers",
    title="Suppliers · Control Tower",
    description="Supplier scorecards: on time in full, open and overdue lines, lead time.",
    order=38,
    roles=ROLES,
)

START = "suppliers-start"
END = "suppliers-end"
GRID = "suppliers-grid"
CAPTION = "suppliers-caption"

PCT = number_format(".1%", "—")
MONEY = number_format(",.0f", "—")
DAYS = number_format(",.1f", "—")

COLUMNS = [
    {
        "field": "supplier_link",
        "headerName": "Supplier",
        "colId": "supplier_id",
        "cellRenderer": "markdown",
        "pinned": "left",
        "width": 120,
        "tooltipField": "supplier_id",
        "filter": False,
    },
    text_col("name", "Name", minWidth=170, flex=1),
    text_col("country", "Country", width=95),
    text_col("currency", "Currency", width=100),
    int_col("payment_terms_days", "Terms (days)", width=115),
    int_col("otif", "On time in full", width=135, valueFormatter=PCT),
    int_col("lines_due", "Lines due", width=105),
    int_col("open_lines", "Open lines", width=110),
    int_col("overdue_lines", "Overdue lines", width=125),
    int_col("overdue_value", "Overdue value", width=130, valueFormatter=MONEY, sort="desc"),
    int_col("actual_lead_days", "Lead time (d)", width=120, valueFormatter=DAYS),
    int_col("planned_lead_days", "Planned (d)", width=110, valueFormatter=DAYS),
]


def supplier_path(supplier_id: str) -> str:
    """The page of one supplier."""
    return f"/suppliers/{quote(supplier_id, safe='')}"


def as_of_and_range(query: dict[str, str]) -> tuple[date, date, date]:
    """The data's as-of day and the range of expected dates a page opens with (from `from`
    and `to` in the URL, else the RANGE_DAYS days up to the as-of day)."""
    try:
        with web_context().snapshot() as cur:
            as_of = published_as_of(cur) or utc_now().date()
    except NoSnapshotError:
        as_of = utc_now().date()
    start, end = as_of - timedelta(days=RANGE_DAYS), as_of
    with contextlib.suppress(ValueError):
        start = date.fromisoformat(query.get("from") or "") or start
    with contextlib.suppress(ValueError):
        end = date.fromisoformat(query.get("to") or "") or end
    return as_of, start, end


def range_inputs(start_id: str, end_id: str, start: date, end: date) -> html.Div:
    """The two date inputs of a range of expected dates."""
    return html.Div(
        [
            html.Label("Expected from", htmlFor=start_id),
            dcc.Input(id=start_id, type="date", value=start.isoformat()),
            html.Label("to", htmlFor=end_id),
            dcc.Input(id=end_id, type="date", value=end.isoformat()),
        ],
        className="toolbar",
    )


def parse_range(start: Any, end: Any) -> tuple[date, date] | str:
    """The chosen range, or why it cannot be used."""
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        return "Choose both dates of the range (YYYY-MM-DD)."
    if first > last:
        return f"The range starts {first} after it ends {last}: swap the dates."
    return first, last


def layout(**query: str) -> html.Div:
    """The page's frame: the range and the grid of suppliers."""
    require(roles=ROLES)
    _as_of, start, end = as_of_and_range(query)
    return html.Div(
        className="page page--suppliers",
        children=[
            html.Div(
                [html.H1("Suppliers"), html.P(id=CAPTION, className="page-subtitle")],
                className="page-head",
            ),
            range_inputs(START, END, start, end),
            dag.AgGrid(
                id=GRID,
                columnDefs=COLUMNS,
                **paged_grid(
                    page_size=50,
                    selection={"mode": "singleRow", "checkboxes": False},
                    class_name=f"grid {GRID}",
                    style={"height": "560px"},
                ),
            ),
            html.P(
                "On time in full: lines expected in the range that were received complete "
                "(good quantity: received - damaged) by their expected date. Open and overdue "
                "lines: as of the data's day, at standard cost in the reporting currency. Lead "
                "time: arrival - order date against expected - order date.",
                className="muted",
            ),
        ],
    )


def grid_row(card: sv.Scorecard) -> dict[str, Any]:
    """A scorecard as the grid shows it."""
    row = dict(vars(card).items())
    row["row_id"] = card.supplier_id
    row["supplier_link"] = f"[{md_text(card.supplier_id)}]({supplier_path(card.supplier_id)})"
    for name in ("otif", "actual_lead_days", "planned_lead_days", "item_lead_days"):
        if row[name] is not None:
            row[name] = round(float(row[name]), 4)
    return row


@callback(
    Output(GRID, "rowData"),
    Output(CAPTION, "children"),
    Input(START, "value"),
    Input(END, "value"),
)
def load_suppliers(start: Any, end: Any) -> tuple[Any, str]:
    """The scorecards of the suppliers with a line in the user's scope."""
    user = require(roles=ROLES)
    chosen = parse_range(start, end)
    if isinstance(chosen, str):
        return [], chosen
    context = web_context()
    try:
        with context.snapshot() as cur:
            as_of = published_as_of(cur) or utc_now().date()
            kpi = context.catalog().kpi(sv.KPI_NAME)
            cards = sv.scorecards(cur, kpi, user.scope, start=chosen[0], end=chosen[1], as_of=as_of)
    except NoSnapshotError:
        return [], "No data has been published yet."
    except KeyError as exc:  # a catalog without the KPI (and so without its model)
        return [], f"Supplier figures need the KPI {sv.KPI_NAME}: {exc}"
    overdue = sum(c.overdue_value for c in cards)
    caption = (
        f"{plural(len(cards), 'supplier')} with purchase order lines in your scope, as of "
        f"{as_of}: {plural(sum(c.overdue_lines for c in cards), 'overdue line')} worth "
        f"{fmt_money(overdue)} at standard cost."
    )
    return [grid_row(c) for c in cards], caption
