"""The lines behind a finance money figure: a grid of the source rows.

Route `/finance/lines?what=<grni|returns|unmatched|writeoffs>[&by=<breakdown>&member=<value>]`
with the finance page's filters (`from`, `to`, `entity`, `location`), for the finance page's
roles. Each row is one PO line, return line, invoice line or adjustment, with its quantities,
its amount in the entity's currency and in the reporting currency (empty: no rate). Rows are
read in the user's scope with the view's entity and location folded in; the largest first, at
most `finance_money.MAX_LINES`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from control_tower.kpi.serving import latest_as_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views import finance_money as fm
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.filters import Filters, data_end, link
from control_tower.web.format import fmt_int
from control_tower.web.grid import paged_grid
from control_tower.web.pages._finance_money import GROUP_LABELS
from control_tower.web.pages.finance import ROLES
from control_tower.web.runtime import web_context

dash.register_page(
    __name__,
    path="/finance/lines",
    name="Finance lines",
    title="Finance lines · Control Tower",
    description="The lines behind a finance money figure.",
    nav=False,
    order=41,
    roles=ROLES,
)

QUERY = "finance-lines-query"
BODY = "finance-lines-body"
GRID = "finance-lines-grid"
MONEY = {"type": "rightAligned", "valueFormatter": {"function": "ctNumber(params, d3, ',.2f', '')"}}
QTY = {"type": "rightAligned", "valueFormatter": {"function": "ctNumber(params, d3, ',', '')"}}
# The grid's columns per figure: (field, header, extra column props).
COLUMNS: dict[str, tuple[tuple[str, str, dict[str, Any]], ...]] = {
    "grni": (
        ("po_id", "PO", {}),
        ("po_line_no", "Line", QTY),
        ("supplier_id", "Supplier", {}),
        ("item_id", "Item", {}),
        ("location_id", "Site", {}),
        ("entity_id", "Entity", {}),
        ("received_qty", "Received good", QTY),
        ("invoiced_qty", "Invoiced", QTY),
        ("uninvoiced_qty", "Not invoiced", QTY),
        ("unit_cost", "PO unit cost", MONEY),
        ("first_uninvoiced", "Since", {}),
        ("age_bucket", "Age", {}),
    ),
    "returns": (
        ("rma_id", "RMA", {}),
        ("line_no", "Line", QTY),
        ("order_id", "Order", {}),
        ("order_line_no", "Order line", QTY),
        ("customer_id", "Customer", {}),
        ("item_id", "Item", {}),
        ("location_id", "Site", {}),
        ("reason_code", "Reason", {}),
        ("qty", "Returned", QTY),
        ("unit_price", "Unit price", MONEY),
        ("created_day", "Returned on", {}),
        ("age_bucket", "Age", {}),
    ),
    "unmatched": (
        ("invoice_id", "Invoice", {}),
        ("line_no", "Line", QTY),
        ("supplier_id", "Supplier", {}),
        ("po_id", "PO", {}),
        ("po_line_no", "PO line", QTY),
        ("location_id", "Site", {}),
        ("match_status", "Match status", {}),
        ("invoice_date", "Invoice date", {}),
        ("invoiced_qty", "Invoiced", QTY),
        ("invoiced_unit_cost", "Invoiced unit cost", MONEY),
        ("po_unit_cost", "PO unit cost", MONEY),
    ),
    "writeoffs": (
        ("adjustment_id", "Adjustment", {}),
        ("location_id", "Site", {}),
        ("item_id", "Item", {}),
        ("reason_code", "Reason", {}),
        ("user_id", "User", {}),
        ("adjusted_day", "Day", {}),
        ("qty", "Written off", QTY),
        ("unit_cost", "Standard cost", MONEY),
    ),
}
AMOUNTS = (
    ("entity_id", "Entity", {}),
    ("currency", "Currency", {}),
    ("amount", "Amount (entity currency)", MONEY),
    ("amount_reporting", "Amount (reporting currency)", MONEY),
)


def _columns(kind: str, currency: str | None) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for field, header, extra in (*COLUMNS[kind], *AMOUNTS):
        if field in seen:
            continue
        seen.add(field)
        if field == "amount_reporting" and currency:
            header = f"Amount ({currency})"
        out.append({"field": field, "headerName": header, "filter": True, **extra})
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def layout(**query: Any) -> html.Div:
    """The frame; the grid is filled by `show` within the user's scope."""
    if current_web_user() is None:
        return html.Div()
    wanted = {k: query.get(k) for k in ("what", "by", "member", "from", "to", "entity", "location")}
    return html.Div(
        [dcc.Store(id=QUERY, data=wanted), dcc.Loading(html.Div(id=BODY), type="dot")],
        className="page page--finance page--finance-lines",
    )


@callback(Output(BODY, "children"), Input(QUERY, "data"))
def show(query: Any) -> Any:
    """The lines of the figure the query names, in the user's scope."""
    user = require(roles=ROLES)
    query = query if isinstance(query, dict) else {}
    kind = query.get("what")
    if kind not in fm.KINDS:
        return ui.empty_state(
            "Unknown figure", f"Open the lines from the finance page ({', '.join(fm.KINDS)})."
        )
    group = query.get("by") or None
    if group is not None and group not in fm.GROUPS[kind]:
        return ui.empty_state("Unknown breakdown", f"{fm.LABELS[kind]} has no breakdown {group!r}.")
    member = query.get("member")
    member = None if member in (None, fm.NONE_MEMBER) else str(member)
    chosen = Filters.from_query(**{k: query.get(k) for k in ("from", "to", "entity", "location")})
    try:
        with web_context().snapshot() as cur:
            as_of = latest_as_of(cur)
            if as_of is None:
                return ui.empty_state("No data landed yet")
            view = chosen.resolved(data_end(cur, as_of))
            scope = view.scoped(user.scope)
            if scope is None:
                return ui.empty_state("This entity or location is outside your scope", icon="⊘")
            start, end = view.start or as_of, view.end or as_of
            rows = fm.money_lines(
                cur,
                kind,
                scope,
                as_of=as_of,
                start=start,
                end=end,
                group=group,
                member=member,
                limit=fm.MAX_LINES + 1,
            )
            currency = fm.reporting_currency(cur)
    except NoSnapshotError:
        return ui.empty_state("No data landed yet")
    shown = rows[: fm.MAX_LINES]
    data = [{"row_id": str(n), **{k: _cell(v) for k, v in r.items()}} for n, r in enumerate(shown)]
    title = fm.LABELS[kind]
    if group is not None:
        title += f" · {GROUP_LABELS[group]} {member if member is not None else '(none)'}"
    period = (
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
        if kind in ("unmatched", "writeoffs")
        else f"now (data as of {as_of:%Y-%m-%d})"
    )
    caption = f"{fmt_int(len(shown))} lines · {period}"
    if len(rows) > fm.MAX_LINES:
        caption += f" · the {fmt_int(fm.MAX_LINES)} largest shown"
    back = dash.get_relative_path(link("/finance", Filters(view.start, view.end, view.grain,
                                                         view.entity, view.location)))  # fmt: skip
    return [
        html.Div(
            [
                html.Div(dcc.Link("← Finance", href=back), className="exceptions-back"),
                html.H1(title, id="finance-lines-title"),
                html.P(caption, className="page-subtitle", id="finance-lines-caption"),
            ],
            className="page-head",
        ),
        dag.AgGrid(
            id=GRID,
            columnDefs=_columns(kind, currency),
            **{
                **paged_grid(
                    page_size=25,
                    selection={"mode": "singleRow", "checkboxes": False},
                    class_name=f"grid {GRID}",
                    style={"height": "640px"},
                ),
                "rowData": data,
            },
        ),
    ]
