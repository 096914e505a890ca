"""One item at one location: why it is at risk and what its stock will do next.

Route `/planner/<location_id>/<item_id>` (not in the navigation), for
planners and admins like `/planner` (ids share the `planner-` prefix). It
shows the item's facts, its risk score with the model's drivers (or the
days-of-cover rule's facts before a model has scored), the inventory of the
last 90 days with a forward projection (today's available stock minus
expected daily demand plus open PO lines on their expected dates; the
projected stockout date marked), the open POs with their supplier's on-time
record, recent demand, and the item's stock at the other locations in the
user's scope (transfer candidates). A location or item that is unknown or
out of the user's scope shows "not found in your scope". Queries live in
`control_tower.planning.triage`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html

from control_tower.planning import triage
from control_tower.storage.serving import NoSnapshotError
from control_tower.web import components as ui
from control_tower.web import filters
from control_tower.web.auth import require
from control_tower.web.format import DASH, fmt_int, fmt_money
from control_tower.web.pages._planner import ROLES, STATUS, drill_path, exception_store
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
HORIZONS = (28, 56, 90)
HISTORY_DAYS = 90
DEMAND_DAYS = 60

_CHART_LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 10, "b": 40},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
}
_GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def layout(location_id: str | None = None, item_id: str | None = None, **query: str) -> html.Div:
    """The drill's frame; its content is loaded by `load_item` for the ids in the URL."""
    require(roles=ROLES)
    view = filters.Filters.from_query(**query)
    horizon = query.get("h")
    return html.Div(
        className="page page--planner-item",
        children=[
            dcc.Store(id=KEY, data={"location": location_id, "item": item_id}),
            html.Div(
                [
                    html.A("← Stockout triage", href=filters.link("/planner", view)),
                    html.H1(id=TITLE, children=f"{item_id or '?'} at {location_id or '?'}"),
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


def _not_found() -> html.Div:
    return ui.empty_state(
        "Not found in your scope",
        [
            "This location or item does not exist, or is outside the rows you may see. ",
            html.A("Back to the triage queue", href="/planner"),
        ],
        icon="⛔",
    )


def _facts(facts: triage.ItemFacts, exc: dict[str, Any] | None) -> html.Section:
    pairs = [
        ("Description", facts.description or DASH),
        ("Category", facts.category or DASH),
        ("ABC class", facts.abc_class or DASH),
        ("Supplier", facts.supplier_id or DASH),
        ("Lead time", f"{fmt_int(facts.lead_time_days)} days"),
        (
            "Unit cost",
            fmt_money(facts.unit_cost) if facts.unit_cost is None else f"{facts.unit_cost:,.2f}",
        ),
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


def _drivers_chart(drivers: list[dict[str, Any]]) -> dcc.Graph:
    shown = drivers[:10]
    fig = go.Figure()
    for direction, pattern, arrow in (("raises", "/", "↑"), ("lowers", ".", "↓")):
        part = [d for d in shown if (d.get("direction") == "raises") == (direction == "raises")]
        if not part:
            continue
        fig.add_bar(
            orientation="h",
            x=[float(d.get("effect") or 0.0) for d in part],
            y=[triage.driver_text(d)[2:] for d in part],
            name=f"{arrow} {direction} the risk",
            text=[f"{arrow} {direction}" for d in part],
            textposition="auto",
            marker={
                "color": "#b42318" if direction == "raises" else "#1c7c47",
                "pattern": {"shape": pattern, "fgcolor": "#ffffff", "size": 6},
            },
            hovertemplate="%{y}: %{x:+.2f} log-odds<extra></extra>",
        )
    order = [triage.driver_text(d)[2:] for d in shown]
    fig.update_layout(
        **{
            **_CHART_LAYOUT,
            "hovermode": "closest",
            "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        },
        height=90 + 28 * len(shown),
        barmode="relative",
        xaxis={"title": "effect on the log-odds of a stockout", "zeroline": True},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
    )
    return dcc.Graph(id=DRIVERS, figure=fig, config=_GRAPH_CONFIG)


def _risk(
    score: dict[str, Any] | None,
    stock: triage.SiteStock | None,
    suggestion: triage.Suggestion | None,
    out: date | None,
    facts: triage.ItemFacts,
) -> html.Section:
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
            _drivers_chart(drivers)
            if drivers
            else ui.empty_state("No drivers recorded for this score")
        )
        body = [tiles, runs_out, action, html.H3("Why: the model's drivers"), chart]
    else:
        cover = stock.days_of_cover if stock else None
        lead = facts.lead_time_days
        rule = (
            "fires"
            if stock
            and (
                stock.available_qty <= 0
                or (cover is not None and lead is not None and cover < lead)
            )
            else "does not fire"
        )
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
    history: list[dict[str, Any]],
    days: list[triage.ProjectionDay],
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
    return dcc.Graph(id=PROJECTION, figure=fig, config=_GRAPH_CONFIG)


def _demand_chart(rows: list[dict[str, Any]]) -> Any:
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
    return dcc.Graph(id=DEMAND, figure=fig, config=_GRAPH_CONFIG)


def _po_table(
    lines: list[triage.PoLine], suppliers: dict[str, dict[str, Any]], as_of: date, out: date | None
) -> Any:
    if not lines:
        return ui.empty_state("No open purchase orders", "Nothing is on order for this item here.")
    rows = []
    for ln in lines:
        record = suppliers.get(ln.supplier_id or "")
        history = (
            f"{record['on_time_share']:.0%} on time, {record['avg_days_late']:.1f} d late avg"
            if record
            else "no receipts in 180 days"
        )
        if ln.expected_date is None:
            timing = ui.badge("undated", {"undated": ("?", "No date", "idle")})
        elif ln.expected_date <= as_of:
            timing = ui.badge("overdue", {"overdue": ("⚠", "Overdue", "bad")})
        elif out is not None and ln.expected_date > out:
            timing = ui.badge(
                "late",
                {"late": ("»", f"{(ln.expected_date - out).days} d after stockout", "warn")},
            )
        else:
            timing = ui.badge("ok", {"ok": ("✓", "In time", "ok")})
        rows.append(
            [
                f"{ln.po_id}/{ln.line_no}",
                ln.supplier_id or DASH,
                fmt_int(ln.ordered_qty),
                fmt_int(ln.open_qty),
                f"{ln.order_date:%Y-%m-%d}" if ln.order_date else DASH,
                f"{ln.expected_date:%Y-%m-%d}" if ln.expected_date else DASH,
                timing,
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


def _sites_table(
    sites: list[triage.SiteStock], here: triage.ItemFacts, view: filters.Filters
) -> Any:
    others = [s for s in sites if s.location_id != here.location_id]
    if not others:
        return ui.empty_state("No other location in your scope holds this item")
    rows = []
    for s in sorted(others, key=lambda s: -s.excess_qty):
        same = s.entity_id == here.entity_id
        if s.excess_qty >= 1 and same:
            tag = ui.badge("candidate", {"candidate": ("⇄", "Transfer candidate", "ok")})
        elif s.excess_qty >= 1:
            tag = ui.badge("other", {"other": ("○", "Other entity", "idle")})
        else:
            tag = ui.badge("none", {"none": ("–", "No excess", "idle")})
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
                tag,
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
        with web_context().store.cursor() as cur:
            facts = triage.item_facts(cur, user.scope, key.get("location"), key.get("item"))
            if facts is None:
                return _not_found(), "Not found in your scope"
            loc, item = facts.location_id, facts.item_id
            score = triage.item_score(cur, loc, item)
            history = triage.inventory_history(cur, loc, item, HISTORY_DAYS)
            sites = triage.site_stock(cur, user.scope, [item]).get(item, [])
            lines = triage.open_po_lines(cur, [(loc, item)]).get((loc, item), [])
            stock = next((s for s in sites if s.location_id == loc), None)
            as_of = (
                stock.snapshot_date
                if stock
                else (history[-1]["snapshot_date"] if history else None)
            )
            demand = triage.demand_history(cur, loc, item, as_of, DEMAND_DAYS) if as_of else []
            suppliers = (
                triage.supplier_on_time(cur, (ln.supplier_id for ln in lines), as_of)
                if as_of
                else {}
            )
    except NoSnapshotError:
        return ui.empty_state("No data landed yet", "Run control-tower ingest."), dash.no_update
    exc = triage.queue_items(exception_store(), [triage.queue_key(loc, item)]).get(
        triage.queue_key(loc, item)
    )
    title = f"{item} · {facts.description or ''} at {loc}"
    view = filters.Filters()
    if stock is None or as_of is None:
        return [
            html.Div([_facts(facts, exc)], className="planner-item-grid"),
            ui.empty_state(
                "No stock snapshot for this item here",
                "The location has never reported stock of this item.",
            ),
        ], title
    out = triage.stockout_date(as_of, stock.available_qty, stock.daily_demand, lines)
    projection = triage.project(as_of, stock.available_qty, stock.daily_demand, lines, days)
    suggestion = triage.suggest_action(
        as_of=as_of,
        location_id=loc,
        entity_id=facts.entity_id,
        available=stock.available_qty,
        daily_demand=stock.daily_demand,
        lead_time_days=facts.lead_time_days,
        lines=lines,
        sites=sites,
    )
    in_window = out if out is not None and out <= as_of + timedelta(days=days) else None
    subtitle = (
        f"Snapshot {as_of:%Y-%m-%d}: available {fmt_int(stock.available_qty)}, demand "
        f"{stock.daily_demand:,.1f}/day, {fmt_int(sum(ln.open_qty for ln in lines))} on order. "
        "Dashed: projected available stock."
    )
    body = [
        html.Div(
            [_facts(facts, exc), _risk(score, stock, suggestion, out, facts)],
            className="planner-item-grid",
        ),
        ui.panel(
            "Inventory and projection",
            _projection_chart(history, projection, in_window),
            subtitle=subtitle,
        ),
        html.Div(
            [
                ui.panel(
                    "Open purchase orders",
                    _po_table(lines, suppliers, as_of, out),
                    subtitle="Supplier's record: receipts of the last 180 days against the expected date.",
                ),
                ui.panel(
                    "Recent demand",
                    _demand_chart(demand),
                    subtitle="Units ordered per day, last 60 days (cancelled lines excluded).",
                ),
            ],
            className="planner-item-grid",
        ),
        ui.panel(
            "Same item at other locations",
            _sites_table(sites, facts, view),
            subtitle="Excess: available above two lead times of the site's own demand. Only locations in your scope.",
        ),
    ]
    return body, title
