"""The warehouse page's outbound panel: a wave site's day of waves planned against actual
(timeline and table, in the site's local time), or a site without waves' shipments against
their carrier cutoffs. Every state is told by icon and word, never colour alone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dash import html

from control_tower.views.sites import Site
from control_tower.views.warehouse import WaveDay
from control_tower.views.waves import CutoffDay, Wave
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.format import DASH, fmt_hours, fmt_int, plural

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


def _minutes(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 1:
        return "on plan"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{fmt_hours(abs(value) / 60)}"


def _time(value: datetime | None) -> str:
    return DASH if value is None else f"{value:%H:%M}"


def _timeline(waves: list[Wave], site: Site, now_local: datetime) -> dict[str, Any]:
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


def _wave_words(w: Wave) -> str:
    words = [RELEASE[w.release_state][1]]
    if w.release_minutes_off is not None and w.release_state != "on_time":
        words[0] += f" {_minutes(w.release_minutes_off)}"
    words.append(COMPLETION[w.completion_state][1])
    if w.complete_minutes_off is not None and w.completion_state == "late":
        words[-1] += f" {_minutes(w.complete_minutes_off)}"
    return " · ".join(words)


def waves_panel(day: WaveDay, site: Site, end: date, window: int) -> html.Section:
    """A wave site's latest day of waves: the timeline, a summary and the table."""
    if day.day is None:
        body: Any = ui.empty_state(
            f"No waves planned at {site.location_id} up to {end:%Y-%m-%d}",
            "Pick a later end date, or check that the WMS extract of waves is landing.",
        )
        return ui.panel("Waves planned against actual", body, panel_id="warehouse-waves")
    waves = list(day.waves)
    late = day.late
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
            f" planned for {day.day:%A %Y-%m-%d} · ",
            html.Strong(f"{fmt_int(late)} late") if late else html.Span("none late"),
            f" · release window ±{window} min · times in {site.timezone}",
        ],
        className="caption",
        id="warehouse-waves-summary",
    )
    return ui.panel(
        f"Waves at {site.location_id} on {day.day:%a %d %b %Y}",
        [
            kpi_ui.graph("warehouse-timeline", _timeline(waves, site, day.now_local)),
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


def cutoff_panel(shown: CutoffDay, site: Site, end: date) -> html.Section:
    """A site without waves: its shipments of the latest cutoff day against the cutoff."""
    note = ui.empty_state(
        f"{site.location_id} does not run pick waves",
        "Its outbound work is judged at the carrier cutoff: each WMS shipment against the "
        "planned pickup of its freight shipment (the same units the wave KPIs count here).",
        icon="ℹ",
    )
    if shown.day is None:
        return ui.panel(
            "Shipments against carrier cutoffs",
            [note, ui.empty_state(f"No carrier cutoffs up to {end:%Y-%m-%d}")],
            panel_id="warehouse-waves",
        )
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
        f"Shipments at {site.location_id} against carrier cutoffs, {shown.day:%a %d %b %Y}",
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


def outbound_panel(
    outbound: WaveDay | CutoffDay, site: Site, end: date, window: int
) -> html.Section:
    """The day of waves at a wave site, the shipments against their cutoffs elsewhere."""
    if isinstance(outbound, WaveDay):
        return waves_panel(outbound, site, end, window)
    return cutoff_panel(outbound, site, end)
