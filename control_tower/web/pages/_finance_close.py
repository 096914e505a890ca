"""The finance page's month-end close: days to close by entity and period as grouped bars, and
each entity's close checklist with its progress and overdue tasks."""

from __future__ import annotations

from typing import Any

from dash import html

from control_tower.kpi.catalog import Kpi
from control_tower.kpi.format import format_value
from control_tower.kpi.serving import Point, status_of
from control_tower.views import finance as fv
from control_tower.views.status import kpi_status
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.filters import Filters
from control_tower.web.format import DASH, fmt_int, plural

TASK_STATE = {
    "done": ("✓", "Done", "ok"),
    "open": ("○", "Open", "idle"),
    "overdue": ("⚠", "Overdue", "bad"),
}
ENTITY_COLOURS = ("#2457c5", "#7a4cc2", "#0f7b8a", "#b05a00", "#5b6578")


def close_figure(kpi: Kpi, points: list[Point]) -> dict[str, Any]:
    """Days to close by period, one bar per entity (value and status word on each bar), the
    target as a dashed line."""
    entities = sorted({p.member for p in points if p.member is not None})
    data = []
    for n, entity in enumerate(entities):
        mine = [p for p in points if p.member == entity]
        words = [
            f"{format_value(p.value, kpi.format)} {kpi_status(status_of(kpi, p.value))[0]}"
            for p in mine
        ]
        data.append(
            {
                "type": "bar",
                "name": entity,
                "x": [f"{p.period:%Y-%m}" for p in mine],
                "y": [p.value for p in mine],
                "text": words,
                "textposition": "outside",
                "cliponaxis": False,
                "marker": {"color": ENTITY_COLOURS[n % len(ENTITY_COLOURS)]},
                "hovertext": [
                    f"{entity} {p.period:%Y-%m}: {format_value(p.value, kpi.format)} business "
                    f"days · {kpi_status(status_of(kpi, p.value))[1]}"
                    for p in mine
                ],
                "hoverinfo": "text",
            }
        )
    shapes, notes = [], []
    if kpi.target is not None:
        shape, note = charts.hline(
            kpi.target,
            kpi_ui.COLOURS["target"],
            f"target {format_value(kpi.target, kpi.format)} days",
            position="left",
        )
        shapes, notes = [shape], [note]
    return charts.figure(
        data,
        barmode="group",
        height=300,
        margin={"l": 44, "r": 16, "t": 24, "b": 36},
        showlegend=True,
        legend={"orientation": "h", "y": -0.16, "x": 0},
        xaxis={"type": "category", "title": None},
        yaxis={"title": {"text": "business days", "font": {"size": 11}}, "gridcolor": charts.GRID},
        shapes=shapes,
        annotations=notes,
    )


def checklists(closes: list[fv.EntityClose], view: Filters) -> list[Any]:
    blocks: list[Any] = []
    for c in closes:
        total = len(c.tasks)
        share = c.done / total * 100 if total else 0
        rows = []
        for t in c.tasks:
            state = "done" if t.status == "done" else ("overdue" if t.overdue else "open")
            status: Any = ui.badge(state, TASK_STATE)
            if t.overdue:
                status = html.Span(
                    [status, f" {plural(t.days_overdue or 0, 'day')} late"],
                    className="finance-overdue",
                )
            rows.append(
                [
                    html.Span(t.task_id, className="mono"),
                    t.task_name,
                    t.category or DASH,
                    t.owner or DASH,
                    f"{t.due_date:%Y-%m-%d}",
                    status,
                    f"{t.completed_at:%Y-%m-%d %H:%M} UTC" if t.completed_at else DASH,
                ]
            )
        earlier = (
            html.P(
                [
                    "⚠ Earlier periods still open: ",
                    ", ".join(c.earlier_open_periods),
                    f" ({plural(c.earlier_open_tasks, 'task')}).",
                ],
                className="caption",
            )
            if c.earlier_open_periods
            else None
        )
        overdue_link = html.A(
            [ui.badge("overdue", TASK_STATE), f" {fmt_int(c.overdue)} overdue"]
            if c.overdue
            else [ui.badge("done", TASK_STATE), " nothing overdue"],
            href=kpi_ui.queue_href(
                "overdue_close_task", Filters(entity=c.entity_id, location=view.location)
            ),
            id=f"finance-close-overdue-{c.entity_id}",
        )
        blocks.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(f"{c.entity_id} · period {c.period}"),
                            html.Span(
                                f"{c.done} of {total} done",
                                className="finance-progress-text",
                                id=f"finance-close-progress-{c.entity_id}",
                            ),
                            overdue_link,
                        ],
                        className="finance-close-head",
                    ),
                    html.Div(
                        html.Div(
                            className="finance-progress-fill", style={"width": f"{share:.0f}%"}
                        ),
                        className="finance-progress",
                        role="progressbar",
                        **{
                            "aria-valuenow": str(c.done),
                            "aria-valuemin": "0",
                            "aria-valuemax": str(total),
                            "aria-label": f"{c.entity_id} close progress",
                        },
                    ),
                    earlier,
                    ui.simple_table(
                        ["Task", "Name", "Category", "Owner", "Due", "Status", "Completed"],
                        rows,
                        table_id=f"finance-close-table-{c.entity_id}",
                        class_name="table--site",
                    ),
                ],
                className="finance-close",
            )
        )
    return blocks
