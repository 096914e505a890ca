"""Pieces the KPI pages share: status and governance badges, KPI facts in words, and charts.

Charts are plotly figures sized by CSS; every status on them is also told in
words (bar labels, badges), never by colour alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import duckdb
import plotly.graph_objects as go
from dash import Output, callback, dcc, html

from control_tower.accounts import Scope
from control_tower.exceptions.registry import type_label
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.format import format_value
from control_tower.kpi.serving import Point, status_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.data_time import DataTime
from control_tower.views.kpi import STALE_HOURS, Bar, Change, age_hours, counted_word, utc_now
from control_tower.views.status import KPI_STATUS, kpi_status
from control_tower.web import components as ui
from control_tower.web.auth import current_web_user, require
from control_tower.web.chart_text import escape_figure
from control_tower.web.filters import Filters, filter_bar, filter_inputs, link, load_choices
from control_tower.web.format import fmt_hours, fmt_int, fmt_ts
from control_tower.web.runtime import web_context
from control_tower.web.warm import warm_page

# A page's body for a snapshot: (cursor, user's scope, chosen filters, KPI definitions) ->
# (body, subtitle).
PageBody = Callable[[duckdb.DuckDBPyConnection, Scope, Filters, Any], tuple[Any, Any]]

# Governance status of a definition.
GOVERNANCE = {
    "certified": ("★", "Certified", "info"),
    "draft": ("✎", "Draft", "idle"),
    "deprecated": ("⊘", "Deprecated", "warn"),
}
COLOURS = {
    "ok": "#1c7c47",
    "warn": "#9a5b00",
    "breach": "#b42318",
    "none": "#8a93a5",
    "line": "#2457c5",
    "target": "#1d2433",
    "warn_band": "rgba(253, 241, 220, 0.75)",
    "breach_band": "rgba(253, 232, 230, 0.8)",
}
DIMENSION_LABELS = {
    "location_id": "Location",
    "entity_id": "Entity",
    "customer_id": "Customer",
    "item_id": "Item",
    "abc_class": "ABC class",
    "priority_tier": "Priority tier",
    "channel": "Channel",
    "carrier_id": "Carrier",
    "supplier_id": "Supplier",
    "counter_id": "Counter",
    "exception_type": "Exception type",
    "owner_role": "Owner role",
    "age_bucket": "Age bucket",
    "service_level": "Service level",
}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def dimension_label(dimension: str) -> str:
    """A dimension's name for people: location_id -> Location."""
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


def status_badge(status: str | None) -> html.Span:
    """On target / Warning / Breach / No value, with its icon."""
    return ui.badge(status or "none", KPI_STATUS)


def governance_badge(status: str) -> html.Span:
    """Certified / Draft / Deprecated, with its icon."""
    return ui.badge(status, GOVERNANCE)


def certified_text(kpi: Kpi) -> str:
    """Who signed off the current version, or why the KPI is not certified."""
    if kpi.signoff is not None:
        note = f" — {kpi.signoff.note}" if kpi.signoff.note else ""
        return f"v{kpi.version} {kpi.signoff.describe()}{note}"
    if kpi.status == "deprecated":
        return "deprecated: not certified"
    claimed = (kpi.declared_status or kpi.status) == "certified"
    why = "the definition says certified, but " if claimed else ""
    return f"not certified: {why}no sign-off of v{kpi.version} (content {kpi.content_hash[:12]})"


def tone(status: str | None) -> str:
    """The tile tone of a status."""
    return kpi_status(status)[2]


def linked_tile(
    kpi: Kpi,
    value: float | None,
    detail: Any,
    href: str,
    tile_id: str,
    *,
    link_class: str,
    unit: str = "",
    data: DataTime | None = None,
) -> html.Div:
    """A tile of `kpi`'s value (a link to `href`), its status badge before `detail`, and the
    tile's tone from that status; with `data`, when its data is from and its stale sources."""
    status = status_of(kpi, value)
    fresh = freshness_line(None, utc_now(), data) if data is not None else None
    return ui.kpi(
        kpi.label,
        html.A(format_value(value, kpi.format) + unit, href=href, className=link_class),
        [status_badge(status), " ", detail, fresh],
        tone=tone(status),
        kpi_id=tile_id,
    )


def kpi_href(name: str, view: Filters, **extra: str | None) -> str:
    """The detail page of KPI `name` with the view's filters."""
    return link(f"/kpi/{name}", view, **extra)


def queue_href(exception_type: str, where: Filters) -> str:
    """The unresolved items of one exception type, within `where`'s entity and location."""
    return link("/exceptions", where, type=exception_type, status="unresolved")


def cannot_show(what: str, reason: str, box_id: str | None = None) -> html.Div:
    """Why a figure is not shown for this view (never the unrestricted figure instead)."""
    body = ui.empty_state(f"{what} cannot be shown for this view", reason, icon="⊘")
    return html.Div(body, id=box_id) if box_id else body


def bars_table(
    kpi: Kpi,
    bars: Sequence[Bar],
    view: Filters,
    *,
    headers: tuple[str, str, str],
    member: Callable[[Bar], Any],
    table_id: str,
) -> html.Div:
    """A breakdown as a table: member, value (a link to the KPI's detail), status and the
    counts behind it. `headers`: the member, value and counted columns' names."""
    rows = [
        [
            member(b),
            html.A(format_value(b.value, kpi.format), href=kpi_href(kpi.name, view)),
            status_badge(b.status),
            f"{fmt_int(b.numerator)} of {fmt_int(b.denominator)}",
        ]
        for b in bars
    ]
    return ui.simple_table(
        [headers[0], (headers[1], "num"), "Status", (headers[2], "num")],
        rows,
        table_id=table_id,
        class_name="table--site",
    )


def filtered_page(
    prefix: str,
    title: str,
    view: Filters,
    no_data: Callable[[], Any],
    *,
    show: Sequence[str] | None = None,
    default: Callable[[duckdb.DuckDBPyConnection, Scope, Filters], Filters] | None = None,
) -> html.Div:
    """A role page's frame: its title and subtitle (`<prefix>-subtitle`), the filter bar from
    the URL's `view` (`default` may fill in a choice, e.g. a site) and the body the page's
    callback fills in (`<prefix>-body`). `no_data()` while no snapshot has been published."""
    user = current_web_user()
    page_class = f"page page--{prefix}"
    head = html.Div(
        [html.H1(title), html.P(id=f"{prefix}-subtitle", className="page-subtitle")],
        className="page-head",
    )
    try:
        with web_context().snapshot() as cur:
            choices = load_choices(cur, user.scope) if user else None
            if user and default is not None:
                view = default(cur, user.scope, view)
    except NoSnapshotError:
        return html.Div([head, no_data()], className=page_class)
    if choices is None:
        return html.Div(head, className=page_class)
    bar = (
        filter_bar(prefix, view, choices, show=show) if show else filter_bar(prefix, view, choices)
    )
    body = html.Div(id=f"{prefix}-body", className=f"{prefix}-body")
    return html.Div(
        [head, bar, dcc.Loading(body, type="dot", delay_show=300)], className=page_class
    )


def snapshot_body(
    page: PageBody, no_data: Callable[[], Any], scope: Scope, chosen: Filters
) -> tuple[Any, Any]:
    """`page` on the current serving snapshot for the user's `scope` and the `chosen` filters;
    `no_data()` and no subtitle while no snapshot has been published."""
    app = web_context()
    try:
        with app.snapshot() as cur:
            return page(cur, scope, chosen, app.settings.kpi_definitions)
    except NoSnapshotError:
        return no_data(), None


def register_page_body(
    prefix: str, roles: Sequence[str], page: PageBody, no_data: Callable[[], Any]
) -> Callable[..., tuple[Any, Any]]:
    """Register the callback that fills a role page's body and subtitle (`<prefix>-body`,
    `<prefix>-subtitle`) from its filter bar: `page` for users of `roles`, in their scope."""

    @callback(
        Output(f"{prefix}-body", "children"),
        Output(f"{prefix}-subtitle", "children"),
        *filter_inputs(prefix),
    )
    def refresh(start: Any, end: Any, grain: Any, entity: Any, location: Any) -> tuple[Any, Any]:
        user = require(roles=roles)
        chosen = Filters.from_inputs(start, end, grain, entity, location)
        return snapshot_body(page, no_data, user.scope, chosen)

    warm_page(prefix, roles, page)  # what it opens with, computed on each new snapshot
    return refresh


def value_text(kpi: Kpi, value: float | None) -> str:
    """A value in the KPI's format (a dash when there is none)."""
    return format_value(value, kpi.format)


NO_QUEUE = "no queue yet"  # a KPI whose misses no detected exception type records yet
PAST_SLA_ITEMS = "every item past its SLA, of any type"


def exception_types_text(kpi: Kpi) -> str:
    """The exception types behind a KPI in words: their labels, or "no queue yet"."""
    if kpi.exceptions_past_sla:
        return PAST_SLA_ITEMS
    return ", ".join(f"{type_label(t)} ({t})" for t in kpi.exception_types) or NO_QUEUE


def thresholds_text(kpi: Kpi) -> str:
    """Target and thresholds in words: "target 95.0% · warning below 92.0% · breach below 88.0%"."""
    side = "below" if kpi.direction == "higher_is_better" else "above"
    parts = []
    if kpi.target is not None:
        parts.append(f"target {value_text(kpi, kpi.target)}")
    if kpi.warn is not None:
        parts.append(f"warning {side} {value_text(kpi, kpi.warn)}")
    if kpi.breach is not None:
        parts.append(f"breach {side} {value_text(kpi, kpi.breach)}")
    return " · ".join(parts) or "no target set"


def direction_text(kpi: Kpi) -> str:
    """Which way is good."""
    return "higher is better" if kpi.direction == "higher_is_better" else "lower is better"


def counted_text(kpi: Kpi, denominator: float | None) -> str:
    """What a ratio's figure rests on: "412 order lines"."""
    if not kpi.is_ratio or denominator is None:
        return ""
    return f"{fmt_int(denominator)} {counted_word(kpi)}"


def change_line(change: Change, days: int, *, line_id: str | None = None) -> html.Div:
    """Arrow, signed change and whether it is better or worse than the previous period."""
    extra = {"id": line_id} if line_id else {}
    if change.verdict is None:
        return html.Div(
            ["No figure for the previous ", fmt_int(days), " days"],
            className="kpi-change kpi-change--none",
            **extra,
        )
    icon = "▲" if (change.delta or 0) > 0 else "▼" if (change.delta or 0) < 0 else "▶"
    words = {"better": "better", "worse": "worse", "same": "unchanged"}[change.verdict]
    return html.Div(
        [
            html.Span(icon, className="kpi-change-icon", **{"aria-hidden": "true"}),
            html.Strong(change.text if change.verdict != "same" else "no change"),
            html.Span(f" {words}", className="kpi-change-verdict"),
            html.Span(f" vs the previous {days} days", className="muted"),
        ],
        className=f"kpi-change kpi-change--{change.verdict}",
        title=f"{words} than the previous {days} days",
        **extra,
    )


def freshness_line(
    freshness: datetime | None, now: datetime, data: DataTime | None = None
) -> html.Div:
    """When the data behind a figure is from: "Data as of <newest extract> · loaded <time>",
    and a warning naming each stale source it reads (past its freshness SLA). Without source
    times (`data` None or unknown), how old the newest load is, stale after STALE_HOURS."""
    if data is not None and (data.data_as_of or data.loaded_at):
        text = f"Data as of {fmt_ts(data.data_as_of)} · loaded {fmt_ts(data.loaded_at)}"
        if data.stale:
            stale = "; ".join(data.stale)
            return html.Div(
                [
                    html.Span("⚠", **{"aria-hidden": "true"}),
                    f" Stale source: {stale} · {text}",
                ],
                className="kpi-fresh kpi-fresh--stale",
                title=f"past its freshness SLA: {stale}",
            )
        return html.Div(text, className="kpi-fresh")
    age = age_hours(freshness, now)
    if age is None:
        return html.Div("Data age unknown", className="kpi-fresh kpi-fresh--unknown")
    if age > STALE_HOURS:
        return html.Div(
            [
                html.Span("⚠", **{"aria-hidden": "true"}),
                f" Stale: data {fmt_hours(age)} old",
            ],
            className="kpi-fresh kpi-fresh--stale",
            title=f"newest load {fmt_ts(freshness)}; stale after {STALE_HOURS:.0f} h",
        )
    return html.Div(
        f"Data {fmt_hours(age)} old",
        className="kpi-fresh",
        title=f"newest load {fmt_ts(freshness)}",
    )


def _base_layout(fig: go.Figure, **kwargs: Any) -> go.Figure:
    fig.update_layout(
        font=FONT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        **kwargs,
    )
    return escape_figure(fig)


def sparkline(kpi: Kpi, points: Sequence[Point]) -> dict[str, Any]:
    """A small line of the trend, no axes.

    A plain figure dict: building a validated plotly Figure costs ~14 ms, and
    the executive page draws one per tile.
    """
    xs = [p.period.isoformat() for p in points if p.value is not None and p.period is not None]
    ys = [p.value for p in points if p.value is not None and p.period is not None]
    data = [
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "mode": "lines",
            "line": {"color": COLOURS["line"], "width": 2},
            "hoverinfo": "skip",
        }
    ]
    return {
        "data": data,
        "layout": {
            "margin": {"l": 2, "r": 2, "t": 2, "b": 2},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "height": 48,
            "showlegend": False,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def _percent_axis(kpi: Kpi) -> dict[str, Any]:
    if kpi.unit == "percent":
        return {"tickformat": ".0%" if kpi.format.endswith("0%") else ".1%"}
    return {}


def trend_figure(kpi: Kpi, points: Sequence[Point], grain: str) -> go.Figure:
    """The KPI by period, with the target line and the warning and breach bands."""
    xs = [p.period for p in points]
    ys = [p.value for p in points]
    hover = [
        f"{p.period}: {value_text(kpi, p.value)}"
        + (f" ({counted_text(kpi, p.denominator)})" if kpi.is_ratio else "")
        for p in points
    ]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line={"color": COLOURS["line"], "width": 2},
            marker={"size": 5},
            hovertext=hover,
            hoverinfo="text",
            name=kpi.label,
        )
    )
    values = [v for v in ys if v is not None]
    marks = [v for v in (kpi.target, kpi.warn, kpi.breach) if v is not None]
    low, high = min(values + marks, default=0), max(values + marks, default=1)
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 0.05
    low, high = low - pad, high + pad
    if kpi.warn is not None and kpi.breach is not None:
        if kpi.direction == "higher_is_better":
            bands = [(low, kpi.breach, "breach"), (kpi.breach, kpi.warn, "warn")]
        else:
            bands = [(kpi.warn, kpi.breach, "warn"), (kpi.breach, high, "breach")]
        for y0, y1, name in bands:
            fig.add_hrect(
                y0=y0,
                y1=y1,
                fillcolor=COLOURS[f"{name}_band"],
                line_width=0,
                layer="below",
                annotation_text="breach" if name == "breach" else "warning",
                annotation_position="top left" if name == "warn" else "bottom left",
                annotation_font={"size": 10, "color": COLOURS[name]},
            )
    if kpi.target is not None:
        fig.add_hline(
            y=kpi.target,
            line={"color": COLOURS["target"], "width": 1.2, "dash": "dash"},
            annotation_text=f"target {value_text(kpi, kpi.target)}",
            annotation_position="top right",
            annotation_font={"size": 10},
        )
    return _base_layout(
        fig,
        margin={"l": 50, "r": 16, "t": 10, "b": 36},
        height=300,
        xaxis={"title": None, "showgrid": False, "type": "date"},
        yaxis={"range": [low, high], "gridcolor": "#eef0f4", **_percent_axis(kpi)},
        hovermode="closest",
        title=None,
        meta={"grain": grain},
    )


def breakdown_figure(kpi: Kpi, bars: Sequence[Bar], selected: str | None) -> go.Figure:
    """Horizontal bars, worst at the top, each labelled with its value, basis and status."""
    labels = [str(b.member) if b.member is not None else "(none)" for b in bars]
    text = []
    for b in bars:
        basis = counted_text(kpi, b.denominator)
        word = kpi_status(b.status)
        text.append(
            f"{value_text(kpi, b.value)}"
            + (f" · {basis}" if basis else "")
            + f" · {word[0]} {word[1]}"
        )
    colours = [COLOURS.get(b.status or "none", COLOURS["none"]) for b in bars]
    opacity = [1.0 if selected is None or str(b.member) == selected else 0.35 for b in bars]
    fig = go.Figure(
        go.Bar(
            x=[b.value or 0 for b in bars],
            y=labels,
            orientation="h",
            marker={"color": colours, "opacity": opacity},
            text=text,
            textposition="auto",
            insidetextanchor="start",
            customdata=[b.member for b in bars],
            hovertemplate="%{y}: %{text}<extra></extra>",
            cliponaxis=False,
        )
    )
    if kpi.target is not None:
        fig.add_vline(x=kpi.target, line={"color": COLOURS["target"], "width": 1, "dash": "dash"})
    return _base_layout(
        fig,
        margin={"l": 110, "r": 16, "t": 8, "b": 30},
        height=max(140, 34 * len(bars) + 50),
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
        xaxis={"gridcolor": "#eef0f4", "rangemode": "tozero", **_percent_axis(kpi)},
        bargap=0.25,
        clickmode="event",
    )


def graph(
    graph_id: str, figure: go.Figure | None = None, *, static: bool = False, **kwargs: Any
) -> dcc.Graph:
    """A chart without plotly's toolbar (`static`: no hover or click either, e.g. in a link)."""
    config = {**PLOT_CONFIG, "displayModeBar": False, **({"staticPlot": True} if static else {})}
    return dcc.Graph(id=graph_id, figure=figure or {}, config=config, **kwargs)
