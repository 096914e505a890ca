"""One item at one location: why it is at risk and what its stock will do next.

Route `/planner/<location_id>/<item_id>` (not in the navigation), for
planners and admins like `/planner` (ids share the `planner-` prefix). It
shows the item's facts, its risk score with the model's drivers (or the
days-of-cover rule's facts before a model has scored), the inventory of the
last 90 days with a forward projection (today's available stock minus
expected daily demand plus open PO lines on their expected dates; the
projected stockout date marked), the open POs with their supplier's on-time
record, recent demand, the item's stock at the other locations in the user's
scope (transfer candidates), and a link to promise the item there (`/promise`).
Unknown or out of scope: "not found in your scope". Figures: `views.planner_item`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html

from control_tower.planning import drill, projection, triage
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.planner_item import ItemView, PoRow, SiteRow, item_view
from control_tower.views.promise import promise_href
from control_tower.web import components as ui
from control_tower.web import filters
from control_tower.web.auth import require
from control_tower.web.format import DASH, fmt_int, fmt_money
from control_tower.web.kpi_ui import PLOT_CONFIG
from control_tower.web.pages._planner import ROLES, STATUS, drill_path, exception_store
from control_tower.web.pages.suppliers import supplier_path
from control_tower.web.risk_ui import CHART_LAYOUT as _CHART_LAYOUT
from control_tower.web.risk_ui import drivers_chart
from control_tower.web.runtime import web_context

dash.register_page(
    __name__,
    path_template="/planner/<location_id>/<item_id>",
    name="Item at a location",
    title="Item at a location · Control Tower",
    description="Risk, drivers, inventory projection, open POs and other sites of one item.",
    order=31,
    nav=False,
    roles=ROLES,
)

KEY = "planner-item-key"
TITLE = "planner-item-title"
HORIZON = "planner-item-horizon"
BODY = "planner-item-body"
PROJECTION = "planner-item-projection"
DRIVERS = "planner-item-drivers"
DEMAND = "planner-item-demand"
PROMISE = "planner-item-promise"
HORIZONS = (28, 56, 90)


def layout(location_id: str | None = None, item_id: str | None = None, **query: str) -> html.Div:
    """The drill's frame; its content is loaded by `load_item` for the ids in the URL."""
    require(roles=ROLES)
    view, horizon = filters.Filters.from_query(**query), query.get("h")
    return html.Div(
        className="page page--planner-item",
        children=[
            dcc.Store(id=KEY, data={"location": location_id, "item": item_id}),
            html.Div(
                [
                    html.A("← Stockout triage", href=filters.link("/planner", view)),
                    html.H1(id=TITLE, children=f"{item_id or '?'} at {location_id or '?'}"),
                    html.A("Promise", href=promise_href(item_id, location_id), id=PROMISE),
                ],
                className="page-head planner-item-head",
            ),
            html.Div(
                [
                    html.Label("Projection", htmlFor=HORIZON),
                    dcc.RadioItems(
                        id=HORIZON,
                        options=[{"label": f"{h} days", "value": h} for h in HORIZONS],
                        value=int(horizon) if horizon in {str(h) for h in HORIZONS} else 56,
                        inline=True,
                        className="segmented",
                    ),
                ],
                className="toolbar",
            ),
            dcc.Loading(html.Div(id=BODY), type="dot", delay_show=300),
        ],
    )


# --- views ----------------------------------------------------------------------------------


def _not_found() -> html.Div:  # unknown, or outside the user's scope
    return ui.empty_state(
        "Not found in your scope",
        [
            "This location or item does not exist, or is outside the rows you may see. ",
            html.A("Back to the triage queue", href="/planner"),
        ],
        icon="⛔",
    )


def _supplier(supplier_id: str | None) -> Any:
    """A supplier's id, linked to its page."""
    if not supplier_id:
        return DASH
    return html.A(supplier_id, href=supplier_path(supplier_id), className="supplier-link")


def _facts(facts: drill.ItemFacts, exc: dict[str, Any] | None) -> html.Section:
    pairs = [
        ("Description", facts.description or DASH),
        ("Category", facts.category or DASH),
        ("ABC class", facts.abc_class or DASH),
        ("Supplier", _supplier(facts.supplier_id)),
        ("Lead time", f"{fmt_int(facts.lead_time_days)} days"),
        ("Unit cost", DASH if facts.unit_cost is None else f"{facts.unit_cost:,.2f}"),
        ("Case", f"{fmt_int(facts.case_qty)} each"),
        (
            "Location",
            f"{facts.location_id} · {facts.location_name or ''} ({facts.entity_id or '?'})",
        ),
    ]
    if exc is not None:
        queue = [
            ui.badge(exc["status"], STATUS),
            " ",
            html.A(
                f"Exception #{exc['id']}",
                href=f"/exceptions/{exc['id']}",
                id="planner-item-exception",
            ),
            html.Span(
                f" · assigned to {exc['assignee']}" if exc.get("assignee") else "",
                className="muted",
            ),
        ]
    else:
        queue = [ui.badge("none", STATUS)]
    pairs.append(("Queue item", queue))
    return ui.panel(
        "Item",
        html.Dl([part for k, v in pairs for part in (html.Dt(k), html.Dd(v))], className="facts"),
        class_name="panel--planner-facts",
    )


def _risk(item: ItemView) -> html.Section:
    score, suggestion, out = item.score, item.suggestion, item.stockout
    action = (
        html.P([html.Strong("Suggested action: "), suggestion.text], id="planner-item-action")
        if suggestion
        else None
    )
    runs_out = html.P(
        [html.Strong("Projected stockout: "), f"{out:%Y-%m-%d}" if out else "not within two years"],
        id="planner-item-stockout",
    )
    if score is not None:
        tiles = html.Div(
            [
                ui.kpi(
                    "Stockout risk",
                    f"{score['probability']:.0%}",
                    f"within {score['horizon_days']} days",
                    tone="bad" if (score["probability"] or 0) >= 0.5 else "warn",
                ),
                ui.kpi(
                    "Value at risk",
                    fmt_money(score["value_at_risk"]),
                    f"model {score['model_version'] or '?'}",
                ),
                ui.kpi(
                    "Days-of-cover rule",
                    "Fires" if score["baseline_flag"] else "Quiet",
                    "cover below lead time"
                    if score["baseline_flag"]
                    else "cover at or above lead time",
                ),
            ],
            className="kpi-row",
        )
        drivers = score.get("drivers") or []
        chart = (
            drivers_chart(drivers, DRIVERS)
            if drivers
            else ui.empty_state("No drivers recorded for this score")
        )
        by_rule = bool(drivers) and drivers[0].get("feature") == "rule"
        why = "Why: ranked by the rule, not the model" if by_rule else "Why: the model's drivers"
        body = [tiles, runs_out, action, html.H3(why), chart]
    else:
        cover = item.stock.days_of_cover if item.stock else None
        lead = item.facts.lead_time_days
        rule = "fires" if item.rule_fires else "does not fire"
        body = [
            html.P(
                [
                    "No risk model has scored this item-location yet (",
                    html.Code("control-tower risk train"),
                    f"). The days-of-cover rule {rule}: {DASH if cover is None else f'{cover:.1f}'} "
                    f"days of cover against a lead time of {fmt_int(lead)} days.",
                ],
                className="planner-banner planner-banner--rule",
            ),
            runs_out,
            action,
        ]
    return ui.panel("Risk", body, class_name="panel--planner-risk")


def _projection_chart(
    history: tuple[dict[str, Any], ...],
    days: tuple[projection.ProjectionDay, ...],
    out: date | None,
) -> dcc.Graph:
    fig = go.Figure()
    if history:
        x = [h["snapshot_date"] for h in history]
        fig.add_scatter(
            x=x,
            y=[h["on_hand_qty"] for h in history],
            name="On hand",
            mode="lines",
            line={"color": "#5b6578", "width": 1.5},
        )
        fig.add_scatter(
            x=x,
            y=[h["available_qty"] for h in history],
            name="Available",
            mode="lines",
            line={"color": "#2457c5", "width": 2},
        )
    if days:
        fig.add_scatter(
            x=[d.day for d in days],
            y=[d.available for d in days],
            name="Projected available",
            mode="lines",
            line={"color": "#2457c5", "width": 2, "dash": "dash"},
        )
        got = [d for d in days if d.receipts > 0]
        if got:
            fig.add_scatter(
                x=[d.day for d in got],
                y=[d.available for d in got],
                name="Expected receipt",
                mode="markers+text",
                marker={"symbol": "triangle-up", "size": 11, "color": "#1c7c47"},
                text=[f"+{d.receipts:,.0f}" for d in got],
                textposition="top center",
            )
    fig.add_hline(y=0, line={"color": "#b42318", "width": 1})
    if out is not None:
        fig.add_shape(
            type="line",
            x0=out,
            x1=out,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": "#b42318", "dash": "dot"},
        )
        fig.add_annotation(
            x=out,
            y=1,
            yref="paper",
            text=f"Stockout {out:%Y-%m-%d}",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"color": "#b42318"},
        )
    fig.update_layout(**_CHART_LAYOUT, height=340, yaxis={"title": "eaches", "zeroline": False})
    return dcc.Graph(id=PROJECTION, figure=fig, config=PLOT_CONFIG)


def _demand_chart(rows: tuple[dict[str, Any], ...]) -> Any:
    if not rows:
        return ui.empty_state("No orders in the last 60 days")
    fig = go.Figure()
    fig.add_bar(
        x=[r["day"] for r in rows],
        y=[r["qty"] for r in rows],
        name="Units ordered",
        marker={"color": "#2457c5"},
        customdata=[r["lines"] for r in rows],
        hovertemplate="%{x|%Y-%m-%d}: %{y:,.0f} units in %{customdata} lines<extra></extra>",
    )
    fig.update_layout(
        **{**_CHART_LAYOUT, "hovermode": "closest"}, height=220, yaxis={"title": "units / day"}
    )
    return dcc.Graph(id=DEMAND, figure=fig, config=PLOT_CONFIG)


_TIMING = {
    "undated": ("?", "No date", "idle"),
    "overdue": ("⚠", "Overdue", "bad"),
    "ok": ("✓", "In time", "ok"),
}
_SITE_TAGS = {
    "candidate": ("⇄", "Transfer candidate", "ok"),
    "other": ("○", "Other entity", "idle"),
    "none": ("–", "No excess", "idle"),
}


def _timing(row: PoRow) -> Any:
    if row.timing == "late":
        return ui.badge(
            "late", {"late": ("»", f"{row.days_after_stockout} d after stockout", "warn")}
        )
    return ui.badge(row.timing, _TIMING)


def _po_table(po_rows: tuple[PoRow, ...]) -> Any:
    if not po_rows:
        return ui.empty_state("No open purchase orders", "Nothing is on order for this item here.")
    rows = []
    for row in po_rows:
        ln = row.line
        history = (
            f"{row.on_time_share:.0%} on time, {row.avg_days_late:.1f} d late avg"
            if row.on_time_share is not None
            else "no receipts in 180 days"
        )
        rows.append(
            [
                f"{ln.po_id}/{ln.line_no}",
                _supplier(ln.supplier_id),
                fmt_int(ln.ordered_qty),
                fmt_int(ln.open_qty),
                f"{ln.order_date:%Y-%m-%d}" if ln.order_date else DASH,
                f"{ln.expected_date:%Y-%m-%d}" if ln.expected_date else DASH,
                _timing(row),
                history,
            ]
        )
    return ui.simple_table(
        [
            "PO / line",
            "Supplier",
            ("Ordered", "num"),
            ("Open", "num"),
            "Ordered on",
            "Expected",
            "Timing",
            "Supplier's record",
        ],
        rows,
        table_id="planner-item-pos",
        class_name="table--compact",
    )


def _sites_table(sites: tuple[SiteRow, ...], view: filters.Filters) -> Any:
    if not sites:
        return ui.empty_state("No other location in your scope holds this item")
    rows = []
    for row in sites:
        s = row.stock
        rows.append(
            [
                html.A(
                    s.location_id, href=filters.link(drill_path(s.location_id, s.item_id), view)
                ),
                s.entity_id or DASH,
                fmt_int(s.on_hand_qty),
                fmt_int(s.available_qty),
                f"{s.daily_demand:,.1f}",
                DASH if s.days_of_cover is None else f"{s.days_of_cover:,.1f}",
                fmt_int(s.excess_qty),
                ui.badge(row.tag, _SITE_TAGS),
            ]
        )
    return ui.simple_table(
        [
            "Location",
            "Entity",
            ("On hand", "num"),
            ("Available", "num"),
            ("Demand/d", "num"),
            ("Cover (d)", "num"),
            ("Excess", "num"),
            "",
        ],
        rows,
        table_id="planner-item-sites",
        class_name="table--compact",
    )


# --- callbacks ------------------------------------------------------------------------------


@callback(
    Output(BODY, "children"),
    Output(TITLE, "children"),
    Input(KEY, "data"),
    Input(HORIZON, "value"),
)
def load_item(key: Any, horizon: Any) -> tuple[Any, Any]:
    """Everything about one item-location in the user's scope, or "not found in your scope"."""
    user = require(roles=ROLES)
    key = key if isinstance(key, dict) else {}
    days = horizon if horizon in HORIZONS else 56
    try:
        with web_context().snapshot() as cur:
            item = item_view(cur, user.scope, key.get("location"), key.get("item"), days)
    except NoSnapshotError:
        return ui.empty_state("No data landed yet", "Run control-tower ingest."), dash.no_update
    if item is None:
        return _not_found(), "Not found in your scope"
    facts, stock, as_of = item.facts, item.stock, item.as_of
    loc, queue_key = facts.location_id, triage.queue_key(facts.location_id, facts.item_id)
    exc = triage.queue_items(exception_store(), [queue_key]).get(queue_key)
    title = f"{facts.item_id} · {facts.description or ''} at {loc}"
    view = filters.Filters()
    if stock is None or as_of is None:
        return [
            html.Div([_facts(facts, exc)], className="planner-item-grid"),
            ui.empty_state(
                "No stock snapshot for this item here",
                "The location has never reported stock of this item.",
            ),
        ], title
    subtitle = (
        f"Snapshot {as_of:%Y-%m-%d}: available {fmt_int(stock.available_qty)}, demand "
        f"{stock.daily_demand:,.1f}/day, {fmt_int(item.on_order)} on order. "
        "Dashed: projected available stock."
    )
    body = [
        html.Div([_facts(facts, exc), _risk(item)], className="planner-item-grid"),
        ui.panel(
            "Inventory and projection",
            _projection_chart(item.history, item.projection, item.stockout_in_window),
            subtitle=subtitle,
        ),
        html.Div(
            [
                ui.panel(
                    "Open purchase orders",
                    _po_table(item.po_rows),
                    subtitle="Supplier's record: receipts of the last 180 days against the expected date; a supplier opens its page.",
                ),
                ui.panel(
                    "Recent demand",
                    _demand_chart(item.demand),
                    subtitle="Units ordered per day, last 60 days (cancelled lines excluded).",
                ),
            ],
            className="planner-item-grid",
        ),
        ui.panel(
            "Same item at other locations",
            _sites_table(item.sites, view),
            subtitle="Excess: available above two lead times of the site's own demand. Only locations in your scope.",
        ),
    ]
    return body, title
