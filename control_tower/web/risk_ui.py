"""The stockout model's reasons as a chart, shared by the planner's item page and the
request page (an approver sees why the model flagged the item a request was raised from)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from dash import dcc

from control_tower.planning import model
from control_tower.web.chart_text import escape_figure
from control_tower.web.kpi_ui import PLOT_CONFIG

CHART_LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 10, "b": 40},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
}


def drivers_chart(drivers: list[dict[str, Any]], chart_id: str) -> dcc.Graph:
    """The model's drivers of a stockout score as horizontal bars: what raises the risk, what
    lowers it (pattern and arrow as well as colour), the ten largest."""
    shown = drivers[:10]
    fig = go.Figure()
    for direction, pattern, arrow in (("raises", "/", "↑"), ("lowers", ".", "↓")):
        part = [d for d in shown if (d.get("direction") == "raises") == (direction == "raises")]
        if not part:
            continue
        fig.add_bar(
            orientation="h",
            x=[float(d.get("effect") or 0.0) for d in part],
            y=[model.driver_text(d)[2:] for d in part],
            name=f"{arrow} {direction} the risk",
            text=[f"{arrow} {direction}" for d in part],
            textposition="auto",
            marker={
                "color": "#b42318" if direction == "raises" else "#1c7c47",
                "pattern": {"shape": pattern, "fgcolor": "#ffffff", "size": 6},
            },
            hovertemplate="%{y}: %{x:+.2f} log-odds<extra></extra>",
        )
    order = [model.driver_text(d)[2:] for d in shown]
    fig.update_layout(
        **{
            **CHART_LAYOUT,
            "hovermode": "closest",
            "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        },
        height=90 + 28 * len(shown),
        barmode="relative",
        xaxis={"title": "effect on the log-odds of a stockout", "zeroline": True},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
    )
    return dcc.Graph(id=chart_id, figure=escape_figure(fig), config=PLOT_CONFIG)


def drivers_of(detail: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The drivers an exception item's detail carries (a list, or its JSON text); [] for none."""
    raw = (detail or {}).get("drivers")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []


CHAMPION_CHART = "planner-champion-chart"


def champion_chart(card: dict[str, Any], chart_id: str = CHAMPION_CHART) -> dcc.Graph | None:
    """The active model's test window week by week: the model's and the rule's average
    precision (lines) and Brier score (dotted), titled with which one ranks and why; None
    when the card has no weekly figures (a model trained before they were recorded)."""
    champion = card.get("champion") or {}
    weeks = champion.get("weekly") or []
    if not weeks:
        return None
    x = [w["week_start"] for w in weeks]
    fig = go.Figure()
    series = (
        ("model_ap", "model: average precision", "#1d4ed8", "solid"),
        ("rule_ap", "rule: average precision", "#b45309", "solid"),
        ("model_brier", "model: Brier (lower is better)", "#1d4ed8", "dot"),
        ("rule_brier", "rule: Brier (lower is better)", "#b45309", "dot"),
    )
    for key, name, colour, dash in series:
        fig.add_scatter(
            x=x,
            y=[w.get(key) for w in weeks],
            name=name,
            mode="lines+markers",
            line={"color": colour, "dash": dash},
            marker={"symbol": "circle" if key.startswith("model") else "square"},
        )
    ranked = "the model" if champion.get("ranked_by") == "model" else "the rule"
    fig.update_layout(
        **{**CHART_LAYOUT, "margin": {"l": 50, "r": 20, "t": 40, "b": 60}},
        height=300,
        title={"text": f"Test weeks of {card.get('version', '?')}: {ranked} ranks", "x": 0},
        xaxis={"title": "week starting"},
        yaxis={"title": "average precision / Brier", "rangemode": "tozero"},
    )
    return dcc.Graph(id=chart_id, figure=escape_figure(fig), config=PLOT_CONFIG)
