"""Warehouse: a supervisor's site today: waves planned against actual, adherence, dock to
stock, inventory accuracy and the supervisor's exception queues.

Route `/warehouse`, for warehouse supervisors, executives and admins (page and callback).
The page works on one site at a time (waves are per site): the location chosen in the
filter bar, by default the first site in the user's scope that runs waves. The wave
timeline shows the latest day with waves up to the range's end, in the site's local time;
a site without waves shows its shipments against their carrier cutoffs instead. Trends
read the governed KPIs through `kpi.serving.series` under the user's scope; the row-level
queries live in `control_tower.ops.warehouse_views`. Every figure links to its KPI detail
page or its exception queue.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dash
import duckdb
from dash import Output, callback, dcc, html

from control_tower.kpi.catalog import Kpi
from control_tower.kpi.format import format_value
from control_tower.kpi.serving import OutOfScopeError, latest_as_of, series
from control_tower.kpi.views import breakdown, cached_catalog, figure, utc_now
from control_tower.ops import warehouse_views as wv
from control_tower.planning.triage import active_model, describe_model
from control_tower.settings import clock
from control_tower.storage.serving import NoSnapshotError
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.auth import current_web_user, require
from control_tower.web.filters import (
    Filters,
    filter_bar,
    filter_inputs,
    link,
    load_choices,
    register_filter_callbacks,
)
from control_tower.web.format import DASH, fmt_hours, fmt_int, fmt_money, plural
from control_tower.web.runtime import web_context

ROLES = ("warehouse_supervisor", "executive", "admin")  # page and callback: require(roles=ROLES)

dash.register_page(
    __name__,
    path="/warehouse",
    name="Warehouse",
    title="Warehouse · Control Tower",
    description="Waves planned against actual, dock to stock, inventory accuracy and queues.",
    order=20,
    roles=ROLES,
)

PREFIX = "warehouse"
SUBTITLE = "warehouse-subtitle"
BODY = "warehouse-body"
SHOW = ("dates", "grain", "location")

RELEASE_KPI = "wave_release_adherence"
COMPLETION_KPI = "wave_completion_on_time"
DOCK_KPI = "dock_to_stock_hours"
ACCURACY_KPI = "inventory_record_accuracy"

# How a wave's release and completion read (icon, word, tone): never colour alone.
RELEASE = {
    "on_time": ("✓", "Released on time", "ok"),
    "late": ("⚠", "Late release", "bad"),
    "early": ("↶", "Early release", "warn"),
    "not_released": ("✕", "Not released", "bad"),
    "planned": ("○", "Planned", "idle"),
    "cancelled": ("■", "Cancelled", "idle"),
}
COMPLETION = {
    "on_time": ("✓", "Completed on time", "ok"),
    "late": ("⚠", "Late completion", "bad"),
    "overdue": ("✕", "Not completed", "bad"),
    "in_progress": ("↻", "In progress", "info"),
    "planned": ("○", "Planned", "idle"),
    "cancelled": ("■", "Cancelled", "idle"),
}
CUTOFF = {
    "on_time": ("✓", "Shipped by cutoff", "ok"),
    "late": ("⚠", "Shipped after cutoff", "bad"),
    "missed": ("✕", "Cutoff missed", "bad"),
    "waiting": ("○", "Waiting", "idle"),
}
PAST_SLA = {"some": ("⚠", "Past SLA", "bad"), "none": ("✓", "Within SLA", "ok")}


def layout(**query: str) -> html.Div:
    """The filter bar (location defaults to the first site with waves) and the page's frame."""
    user = current_web_user()
    view = Filters.from_query(**query)
    head = html.Div(
        [html.H1("Warehouse"), html.P(id=SUBTITLE, className="page-subtitle")],
        className="page-head",
    )
    try:
        with web_context().store.cursor() as cur:
            choices = load_choices(cur, user.scope) if user else None
            site = wv.pick_site(wv.sites(cur, user.scope), view.location) if user else None
    except NoSnapshotError:
        return html.Div([head, _no_data()], className="page page--warehouse")
    if choices is None:
        return html.Div(head, className="page page--warehouse")
    shown = view if view.location or site is None else replace(view, location=site.location_id)
    return html.Div(
        [
            head,
            filter_bar(PREFIX, shown, choices, show=SHOW),
            dcc.Loading(html.Div(id=BODY, className="warehouse-body"), type="dot", delay_show=300),
        ],
        className="page page--warehouse",
    )


register_filter_callbacks(PREFIX)


# --- pieces ---------------------------------------------------------------------------------


def _no_data() -> html.Div:
    return ui.empty_state(
        "No data landed yet",
        "Waves, receipts and cycle counts appear here once the WMS extracts have been landed.",
    )


def _local_now(tz: str) -> datetime:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return clock().astimezone(zone).replace(tzinfo=None)


def _kpi_href(name: str, view: Filters) -> str:
    return link(f"/kpi/{name}", view)


def _queue_href(exception_type: str, location: str) -> str:
    return link("/exceptions", Filters(location=location), type=exception_type, status="unresolved")


def _minutes(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 1:
        return "on plan"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{fmt_hours(abs(value) / 60)}"


def _time(value: datetime | None) -> str:
    return DASH if value is None else f"{value:%H:%M}"


_tile = partial(kpi_ui.linked_tile, link_class="warehouse-figure")


def _out_of_scope(kpi: Kpi, reason: str) -> html.Div:
    return ui.empty_state(
        f"{kpi.label} cannot be shown for your scope",
        f"{reason}. Ask an administrator if you need it.",
        icon="⊘",
    )


def _timeline(waves: list[wv.Wave], site: wv.Site, now_local: datetime) -> dict[str, Any]:
    """One row per wave: planned as a light bar, actual as a solid bar; late ones marked."""
    labels = [f"⚠ {w.wave_id} · late" if w.late else w.wave_id for w in waves]
    acted = [(label, w) for label, w in zip(labels, waves, strict=True) if w.released]
    ends = [w.completed or max(now_local, w.released) for _l, w in acted]  # type: ignore[type-var]
    planned = {
        "type": "bar",
        "name": "Planned",
        "orientation": "h",
        "y": labels,
        "base": [w.planned_release.isoformat() for w in waves],
        "x": [(w.planned_complete - w.planned_release).total_seconds() * 1000 for w in waves],
        "width": 0.72,
        "marker": {"color": "rgba(36, 87, 197, 0.16)", "line": {"color": "#2457c5", "width": 1}},
        "hovertext": [
            f"{w.wave_id} planned {_time(w.planned_release)}–{_time(w.planned_complete)}"
            for w in waves
        ],
        "hoverinfo": "text",
    }
    actual = {
        "type": "bar",
        "name": "Actual",
        "orientation": "h",
        "y": [label for label, _w in acted],
        "base": [w.released.isoformat() for _l, w in acted if w.released],
        "x": [
            (end - w.released).total_seconds() * 1000
            for (_l, w), end in zip(acted, ends, strict=True)
            if w.released
        ],
        "width": 0.34,
        "marker": {
            "color": ["#b42318" if w.late else "#1c7c47" for _l, w in acted],
            "pattern": {"shape": ["/" if w.late else "" for _l, w in acted], "fgcolor": "#ffffff"},
        },
        "text": [_wave_words(w) for _l, w in acted],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertext": [
            f"{w.wave_id} actual {_time(w.released)}–{_time(w.completed)} · {_wave_words(w)}"
            for _l, w in acted
        ],
        "hoverinfo": "text",
    }
    return charts.figure(
        [planned, actual],
        barmode="overlay",
        height=max(180, 44 * len(waves) + 70),
        margin={"l": 10, "r": 260, "t": 10, "b": 40},
        showlegend=True,
        legend={"orientation": "h", "y": -0.18, "x": 0},
        xaxis={
            "type": "date",
            "title": {"text": f"Local time ({site.timezone})", "font": {"size": 11}},
            "gridcolor": charts.GRID,
            "tickformat": "%H:%M",
        },
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
    )


def _wave_words(w: wv.Wave) -> str:
    words = [RELEASE[w.release_state][1]]
    if w.release_minutes_off is not None and w.release_state != "on_time":
        words[0] += f" {_minutes(w.release_minutes_off)}"
    words.append(COMPLETION[w.completion_state][1])
    if w.complete_minutes_off is not None and w.completion_state == "late":
        words[-1] += f" {_minutes(w.complete_minutes_off)}"
    return " · ".join(words)


def _waves_panel(
    cur: duckdb.DuckDBPyConnection, site: wv.Site, view: Filters, user_scope: Any, window: int
) -> html.Section:
    end = view.end or utc_now().date()
    now = utc_now()
    if not site.wave_based:
        return _cutoff_panel(cur, site, end, user_scope, now)
    day = wv.latest_wave_day(cur, site, user_scope, end)
    if day is None:
        body: Any = ui.empty_state(
            f"No waves planned at {site.location_id} up to {end:%Y-%m-%d}",
            "Pick a later end date, or check that the WMS extract of waves is landing.",
        )
        return ui.panel("Waves planned against actual", body, panel_id="warehouse-waves")
    waves = wv.waves_on(cur, site, day, scope=user_scope, now=now, window_minutes=window)
    late = sum(w.late for w in waves)
    rows = [
        [
            html.Span(w.wave_id, className="mono"),
            _time(w.planned_release),
            _time(w.released),
            ui.badge(w.release_state, RELEASE),
            _minutes(w.release_minutes_off),
            _time(w.planned_complete),
            _time(w.completed),
            ui.badge(w.completion_state, COMPLETION),
            f"{fmt_int(w.lines_picked)} / {fmt_int(w.lines_planned)}",
        ]
        for w in waves
    ]
    summary = html.P(
        [
            html.Strong(plural(len(waves), "wave")),
            f" planned for {day:%A %Y-%m-%d} · ",
            html.Strong(f"{fmt_int(late)} late") if late else html.Span("none late"),
            f" · release window ±{window} min · times in {site.timezone}",
        ],
        className="caption",
        id="warehouse-waves-summary",
    )
    return ui.panel(
        f"Waves at {site.location_id} on {day:%a %d %b %Y}",
        [
            kpi_ui.graph("warehouse-timeline", _timeline(waves, site, _local_now(site.timezone))),
            summary,
            ui.simple_table(
                [
                    "Wave",
                    "Planned release",
                    "Released",
                    "Release",
                    ("Off plan", "num"),
                    "Planned completion",
                    "Completed",
                    "Completion",
                    ("Lines picked", "num"),
                ],
                rows,
                table_id="warehouse-waves-table",
                class_name="table--site",
            ),
        ],
        subtitle="Light bar: planned release to planned completion; solid bar: actual. "
        "The latest day with waves up to the range's end.",
        panel_id="warehouse-waves",
    )


def _cutoff_panel(
    cur: duckdb.DuckDBPyConnection, site: wv.Site, end: date, scope: Any, now: datetime
) -> html.Section:
    note = ui.empty_state(
        f"{site.location_id} does not run pick waves",
        "Its outbound work is judged at the carrier cutoff: each WMS shipment against the "
        "planned pickup of its freight shipment (the same units the wave KPIs count here).",
        icon="ℹ",
    )
    day = wv.latest_cutoff_day(cur, site, scope, end)
    if day is None:
        return ui.panel(
            "Shipments against carrier cutoffs",
            [note, ui.empty_state(f"No carrier cutoffs up to {end:%Y-%m-%d}")],
            panel_id="warehouse-waves",
        )
    shown = wv.shipments_against_cutoff(cur, site, day, scope=scope, now=now)
    rows = [
        [
            html.Span(s.shipment_id, className="mono"),
            s.carrier_id or DASH,
            _time(s.cutoff),
            _time(s.shipped),
            ui.badge(s.state, CUTOFF),
            _minutes(s.minutes_off),
            fmt_int(s.lines),
        ]
        for s in shown.rows
    ]
    more = (
        f" Showing the first {fmt_int(len(shown.rows))}, problems first."
        if len(shown.rows) < shown.total
        else ""
    )
    return ui.panel(
        f"Shipments at {site.location_id} against carrier cutoffs, {day:%a %d %b %Y}",
        [
            note,
            html.P(
                [
                    html.Strong(plural(shown.total, "shipment")),
                    f" with a cutoff that day · {fmt_int(shown.on_time)} by the cutoff · ",
                    html.Strong(f"{fmt_int(shown.late)} late or missed"),
                    f" · times in {site.timezone}.{more}",
                ],
                className="caption",
                id="warehouse-waves-summary",
            ),
            ui.simple_table(
                [
                    "Shipment",
                    "Carrier",
                    "Cutoff",
                    "Shipped",
                    "Status",
                    ("Off cutoff", "num"),
                    ("Lines", "num"),
                ],
                rows,
                table_id="warehouse-cutoff-table",
                class_name="table--site",
            ),
        ],
        panel_id="warehouse-waves",
    )


def _queues(counts: list[wv.QueueCount], location: str) -> html.Div:
    rows = [
        [
            html.A(q.label, href=_queue_href(q.type, location)),
            html.A(
                fmt_int(q.unresolved),
                href=_queue_href(q.type, location),
                id=f"warehouse-queue-{q.type}",
                className="warehouse-figure",
            ),
            html.Span(
                [ui.badge("some", PAST_SLA), f" {fmt_int(q.past_sla)}"]
                if q.past_sla
                else ui.badge("none", PAST_SLA)
            ),
            fmt_hours(q.sla_hours),
        ]
        for q in counts
    ]
    return ui.simple_table(
        ["Queue", ("Unresolved", "num"), "SLA", ("SLA time", "num")],
        rows,
        table_id="warehouse-queues-table",
        class_name="table--site",
    )


def _late_risks(cur: duckdb.DuckDBPyConnection, scope: Any, site: wv.Site) -> html.Section:
    """The site's open lines the late-order model expects to miss their promise, and how well
    that model did on weeks it never saw."""
    risks = wv.late_order_risks(cur, scope, site.location_id)
    card = active_model(cur, "late_order")
    note = (
        describe_model(card, "late lines", "the no-stock rule")
        if card
        else "No late-order model has been trained yet (control-tower risk train)."
    )
    if risks:
        rows = [
            [
                html.Span(f"{r.order_id}/{r.line_no}", className="mono"),
                r.customer_id or DASH,
                r.item_id or DASH,
                f"{r.first_promised_date:%Y-%m-%d}" if r.first_promised_date else DASH,
                f"{r.probability:.0%}",
                fmt_money(r.value),
                " · ".join(f"↑ {reason}" for reason in r.reasons) or DASH,
            ]
            for r in risks
        ]
        body: Any = ui.simple_table(
            [
                "Order/line",
                "Customer",
                "Item",
                "First promise",
                ("Risk", "num"),
                ("Line value", "num"),
                "Why",
            ],
            rows,
            table_id="warehouse-late-risk-table",
        )
    else:
        body = ui.empty_state(
            "No open line is scored at this site",
            "Scores appear after a pipeline run once a late-order model exists.",
        )
    return ui.panel(
        "Open lines likely to miss their promise",
        [html.P(note, className="panel-note", id="warehouse-late-risk-model"), body],
        subtitle=f"Late-order risk at {site.location_id}, highest risk x line value first.",
        panel_id="warehouse-late-risk",
    )


# --- the callback ---------------------------------------------------------------------------


@callback(Output(BODY, "children"), Output(SUBTITLE, "children"), *filter_inputs(PREFIX))
def refresh(start: Any, end: Any, grain: Any, entity: Any, location: Any) -> tuple[Any, Any]:
    """Everything on the page for the chosen site, range and grain, within the user's scope."""
    user = require(roles=ROLES)
    chosen = Filters.from_inputs(start, end, grain, entity, location)
    return kpi_ui.snapshot_body(_page, _no_data, user.scope, chosen)


def _page(
    cur: duckdb.DuckDBPyConnection, user_scope: Any, chosen: Filters, definitions: Any
) -> tuple[Any, Any]:
    latest = latest_as_of(cur)
    if latest is None:
        return _no_data(), None
    site = wv.pick_site(wv.sites(cur, user_scope), chosen.location)
    if site is None:
        title = (
            f"{chosen.location} is not one of your sites"
            if chosen.location
            else "No site in your scope"
        )
        return ui.empty_state(title, "Pick a location from the list.", icon="⊘"), None
    view = replace(chosen.resolved(latest), location=site.location_id, entity=None)
    scope = view.scoped(user_scope)
    if scope is None:  # pick_site only returns sites in scope; kept as a guard
        return ui.empty_state(f"{site.location_id} is outside your scope", icon="⊘"), None
    assert view.start is not None
    assert view.end is not None
    catalog = cached_catalog(definitions)
    kpis = {
        name: catalog.kpi(name) for name in (RELEASE_KPI, COMPLETION_KPI, DOCK_KPI, ACCURACY_KPI)
    }
    window = int(kpis[RELEASE_KPI].parameters["release_window_minutes"].default)
    now = utc_now()

    tiles: list[Any] = []
    trends: list[list[Any]] = []
    for name in (RELEASE_KPI, COMPLETION_KPI):
        kpi = kpis[name]
        daily = series(cur, kpi, scope=scope, start=view.start, end=view.end)
        total = figure(kpi, daily.points)
        basis = f"{fmt_int(total.denominator)} units due" if total.denominator else "nothing due"
        tiles.append(_tile(kpi, total.value, basis, _kpi_href(name, view), f"warehouse-kpi-{name}"))
        coarse = (
            daily
            if view.grain == "day"
            else series(cur, kpi, scope=scope, start=view.start, end=view.end, grain=view.grain)
        )
        trends.append(list(coarse.points))

    dock = kpis[DOCK_KPI]
    dock_series = series(cur, dock, scope=scope, start=view.start, end=view.end, grain=view.grain)
    dock_now = figure(dock, dock_series.points)
    backlog = wv.putaway_backlog(cur, user_scope, now, location_id=site.location_id)
    tiles.append(
        _tile(
            dock,
            dock_now.value,
            f"median, {view.grain} of {dock_now.period:%Y-%m-%d}"
            if dock_now.period
            else "no put-aways",
            _kpi_href(DOCK_KPI, view),
            "warehouse-kpi-dock",
            unit=" h",
        )
    )
    tiles.append(
        ui.kpi(
            "Receipts not put away",
            html.A(
                fmt_int(backlog.waiting),
                href=_queue_href("receipt_not_put_away", site.location_id),
                className="warehouse-figure",
            ),
            [
                ui.badge("some" if backlog.over_limit else "none", PAST_SLA)
                if backlog.waiting
                else None,
                f" {fmt_int(backlog.over_limit)} waiting over {fmt_hours(wv.PUTAWAY_BREACH_HOURS)}"
                if backlog.waiting
                else "nothing waiting",
            ],
            tone="bad" if backlog.over_limit else "ok",
            kpi_id="warehouse-kpi-putaway",
        )
    )

    accuracy = kpis[ACCURACY_KPI]
    try:
        bars = breakdown(
            cur, accuracy, scope=scope, start=view.start, end=view.end, dimension="abc_class"
        )
        overall = figure(
            accuracy, series(cur, accuracy, scope=scope, start=view.start, end=view.end).points
        )
        tiles.append(
            _tile(
                accuracy,
                overall.value,
                f"{fmt_int(overall.denominator)} counts" if overall.denominator else "no counts",
                _kpi_href(ACCURACY_KPI, view),
                "warehouse-kpi-accuracy",
            )
        )
        accuracy_body: Any = (
            [
                kpi_ui.graph("warehouse-accuracy", charts.kpi_bars(accuracy, bars, "Class")),
                _accuracy_table(accuracy, bars, view),
            ]
            if bars
            else ui.empty_state("No cycle counts in this range", "Widen the date range.")
        )
    except OutOfScopeError as exc:
        accuracy_body = _out_of_scope(accuracy, str(exc))

    queues = wv.queue_counts(
        cur, user_scope, now, types=wv.owned_types(), location_id=site.location_id
    )
    body = [
        html.Div(tiles, className="kpi-row", id="warehouse-kpis"),
        _waves_panel(cur, site, view, user_scope, window),
        html.Div(
            [
                ui.panel(
                    "Wave adherence",
                    kpi_ui.graph(
                        "warehouse-adherence",
                        charts.kpi_trend([kpis[RELEASE_KPI], kpis[COMPLETION_KPI]], trends),
                    ),
                    subtitle=f"Released within ±{window} min of plan, and completed by plan, "
                    f"by {view.grain}.",
                    actions=html.A("Details", href=_kpi_href(RELEASE_KPI, view)),
                ),
                ui.panel(
                    "Dock to stock",
                    kpi_ui.graph(
                        "warehouse-dock",
                        charts.kpi_trend([dock], [list(dock_series.points)], unit=" h"),
                    )
                    if dock_series.points
                    else ui.empty_state("No receipt put away in this range"),
                    subtitle=f"Median hours from arrival to put-away, by {view.grain}.",
                    actions=html.A("Details", href=_kpi_href(DOCK_KPI, view)),
                ),
            ],
            className="warehouse-grid",
        ),
        html.Div(
            [
                ui.panel(
                    "Inventory record accuracy by ABC class",
                    accuracy_body,
                    subtitle="Counts within the class's tolerance, worst class first.",
                    actions=html.A("Details", href=_kpi_href(ACCURACY_KPI, view)),
                ),
                ui.panel(
                    "Your queues",
                    _queues(queues, site.location_id),
                    subtitle=f"Unresolved exception items at {site.location_id} owned by "
                    "warehouse supervisors, and those past their SLA.",
                    panel_id="warehouse-queues",
                ),
            ],
            className="warehouse-grid",
        ),
        _late_risks(cur, user_scope, site),
    ]
    subtitle = (
        f"{site.label} · {view.start:%Y-%m-%d} to {view.end:%Y-%m-%d} · "
        f"data as of {latest:%Y-%m-%d}"
    )
    return body, subtitle


def _accuracy_table(kpi: Kpi, bars: list[Any], view: Filters) -> html.Div:
    rows = [
        [
            f"Class {b.member}" if b.member else "(no class)",
            html.A(format_value(b.value, kpi.format), href=_kpi_href(kpi.name, view)),
            kpi_ui.status_badge(b.status),
            f"{fmt_int(b.numerator)} of {fmt_int(b.denominator)}",
        ]
        for b in bars
    ]
    return ui.simple_table(
        ["ABC class", ("Accuracy", "num"), "Status", ("Accurate counts", "num")],
        rows,
        table_id="warehouse-accuracy-table",
        class_name="table--site",
    )
