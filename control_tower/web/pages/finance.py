"""Finance: the month-end close and the money leaks of operations.

Route `/finance`, for finance, executives and admins (page and callback). Days to close by
entity and period against the target, the close checklist in progress (the latest month
that has ended, per entity) with overdue tasks, invoice first-pass match (trend and the
worst suppliers), freight cost variance by carrier and the expedited share of freight.
KPI figures come from `kpi.serving.series` under the user's scope; the checklist and the
expedited share from `control_tower.views.finance`. Figures link to their KPI detail
page or their exception queue. Close figures belong to entities: a view narrowed to a
location (or a user scoped by location) gets an explanation instead of unscoped numbers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

import dash
import duckdb
from dash import Output, callback, dcc, html

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.format import format_value
from control_tower.kpi.serving import OutOfScopeError, latest_as_of, series, status_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views import finance as fv
from control_tower.views.kpi import breakdown, cached_catalog, figure
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
from control_tower.web.format import DASH, fmt_int, plural
from control_tower.web.runtime import web_context

ROLES = ("finance", "executive", "admin")  # page and callback: require(roles=ROLES)

dash.register_page(
    __name__,
    path="/finance",
    name="Finance",
    title="Finance · Control Tower",
    description="Days to close, the close checklist, invoice match and freight cost.",
    order=40,
    roles=ROLES,
)

PREFIX = "finance"
SUBTITLE = "finance-subtitle"
BODY = "finance-body"

CLOSE_KPI = "days_to_close"
MATCH_KPI = "invoice_first_pass_match_rate"
FREIGHT_KPI = "freight_cost_variance"
CLOSE_MONTHS = 6  # periods shown in the days-to-close chart, at least
WORST_SUPPLIERS = 10

TASK_STATE = {
    "done": ("✓", "Done", "ok"),
    "open": ("○", "Open", "idle"),
    "overdue": ("⚠", "Overdue", "bad"),
}
ENTITY_COLOURS = ("#2457c5", "#7a4cc2", "#0f7b8a", "#b05a00", "#5b6578")


def layout(**query: str) -> html.Div:
    """The filter bar (dates, grain, entity, location) and the page's frame."""
    user = current_web_user()
    view = Filters.from_query(**query)
    head = html.Div(
        [html.H1("Finance"), html.P(id=SUBTITLE, className="page-subtitle")],
        className="page-head",
    )
    try:
        with web_context().store.cursor() as cur:
            choices = load_choices(cur, user.scope) if user else None
    except NoSnapshotError:
        return html.Div([head, _no_data()], className="page page--finance")
    if choices is None:
        return html.Div(head, className="page page--finance")
    return html.Div(
        [
            head,
            filter_bar(PREFIX, view, choices),
            dcc.Loading(html.Div(id=BODY, className="finance-body"), type="dot", delay_show=300),
        ],
        className="page page--finance",
    )


register_filter_callbacks(PREFIX)


# --- pieces ---------------------------------------------------------------------------------


def _no_data() -> html.Div:
    return ui.empty_state(
        "No data landed yet",
        "Close tasks, invoices and freight appear here once the ERP and TMS extracts land.",
    )


def _kpi_href(name: str, view: Filters, **extra: str | None) -> str:
    return link(f"/kpi/{name}", view, **extra)


def _queue_href(exception_type: str, view: Filters, entity: str | None = None) -> str:
    return link(
        "/exceptions",
        Filters(entity=entity or view.entity, location=view.location),
        type=exception_type,
        status="unresolved",
    )


_tile = partial(kpi_ui.linked_tile, link_class="finance-figure")


def _cannot(kpi_label: str, reason: str, tile_id: str | None = None) -> html.Div:
    body = ui.empty_state(f"{kpi_label} cannot be shown for this view", reason, icon="⊘")
    return html.Div(body, id=tile_id) if tile_id else body


def _entity_reason(view: Filters, user_scope: Scope) -> str:
    if user_scope.locations:
        return (
            "Close figures belong to legal entities, and your access is limited by location, "
            "so no entity-wide figure can be shown to you."
        )
    if view.location:
        return "Close figures belong to legal entities: clear the location filter to see them."
    return "No entity is in your scope."


def _close_figure(kpi: Kpi, points: list[Any]) -> dict[str, Any]:
    """Days to close by period, one bar per entity (value and status word on each bar), the
    target as a dashed line."""
    entities = sorted({p.member for p in points if p.member is not None})
    data = []
    for n, entity in enumerate(entities):
        mine = [p for p in points if p.member == entity]
        words = []
        for p in mine:
            icon = kpi_ui.KPI_STATUS[status_of(kpi, p.value) or "none"][0]
            words.append(f"{format_value(p.value, kpi.format)} {icon}")
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
                    f"days · {kpi_ui.KPI_STATUS[status_of(kpi, p.value) or 'none'][1]}"
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


def _checklist(closes: list[fv.EntityClose], view: Filters) -> list[Any]:
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
            href=_queue_href("overdue_close_task", view, c.entity_id),
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


def _supplier_table(kpi: Kpi, bars: list[Any], view: Filters) -> html.Div:
    rows = [
        [
            html.Span(b.member or "(none)", className="mono"),
            html.A(format_value(b.value, kpi.format), href=_kpi_href(kpi.name, view)),
            kpi_ui.status_badge(b.status),
            f"{fmt_int(b.numerator)} of {fmt_int(b.denominator)}",
        ]
        for b in bars
    ]
    return ui.simple_table(
        ["Supplier", ("First-pass match", "num"), "Status", ("Matched lines", "num")],
        rows,
        table_id="finance-suppliers-table",
        class_name="table--site",
    )


def _expedited_table(rows: list[fv.Expedited], view: Filters) -> html.Div:
    body = [
        [
            html.Span(r.carrier_id or "All carriers", className="mono" if r.carrier_id else ""),
            html.A(
                format_value(r.cost_share, "0.0%"),
                href=_kpi_href(FREIGHT_KPI, view),
                id=f"finance-expedited-{r.carrier_id or 'total'}",
            ),
            format_value(r.move_share, "0.0%"),
            f"{fmt_int(r.expedited_moves)} of {fmt_int(r.moves)}",
            f"{fmt_int(r.expedited_cost)} of {fmt_int(r.actual_cost)}",
        ]
        for r in rows
    ]
    return ui.simple_table(
        [
            "Carrier",
            ("Share of cost", "num"),
            ("Share of moves", "num"),
            ("Expedited moves", "num"),
            ("Expedited cost", "num"),
        ],
        body,
        table_id="finance-expedited-table",
        class_name="table--site",
    )


# --- the callback ---------------------------------------------------------------------------


@callback(Output(BODY, "children"), Output(SUBTITLE, "children"), *filter_inputs(PREFIX))
def refresh(start: Any, end: Any, grain: Any, entity: Any, location: Any) -> tuple[Any, Any]:
    """Everything on the page for the chosen range, grain, entity and location, in scope."""
    user = require(roles=ROLES)
    chosen = Filters.from_inputs(start, end, grain, entity, location)
    return kpi_ui.snapshot_body(_page, _no_data, user.scope, chosen)


def _page(
    cur: duckdb.DuckDBPyConnection, user_scope: Scope, chosen: Filters, definitions: Any
) -> tuple[Any, Any]:
    as_of = latest_as_of(cur)
    if as_of is None:
        return _no_data(), None
    view = chosen.resolved(as_of)
    scope = view.scoped(user_scope)
    if scope is None:
        return (
            ui.empty_state(
                "This entity or location is outside your scope",
                "Pick one from the lists in the filter bar.",
                icon="⊘",
            ),
            None,
        )
    start, end = view.start or as_of, view.end or as_of
    catalog = cached_catalog(definitions)
    close_kpi, match_kpi, freight_kpi = (
        catalog.kpi(n) for n in (CLOSE_KPI, MATCH_KPI, FREIGHT_KPI)
    )
    tiles: list[Any] = []

    # Days to close by entity and period (at least CLOSE_MONTHS periods up to the end).
    close_start = min(start, _months_before(end, CLOSE_MONTHS - 1))
    try:
        by_entity = series(
            cur,
            close_kpi,
            scope=scope,
            start=close_start,
            end=end,
            grain="month",
            dimension="entity_id",
        )
        measured = [p for p in by_entity.points if p.value is not None and p.denominator]
        latest_period = max((p.period for p in measured if p.period), default=None)
        latest = figure(close_kpi, [p for p in measured if p.period == latest_period])
        tiles.append(
            _tile(
                close_kpi,
                latest.value,
                f"period {latest_period:%Y-%m}, average of entities"
                if latest_period
                else "no period",
                _kpi_href(CLOSE_KPI, replace(view, start=close_start, grain="month")),
                "finance-kpi-days_to_close",
            )
        )
        close_body: Any = (
            kpi_ui.graph("finance-close-chart", _close_figure(close_kpi, measured))
            if measured
            else ui.empty_state("No period ended in this range", "Widen the date range.")
        )
    except OutOfScopeError:
        reason = _entity_reason(view, user_scope)
        tiles.append(_cannot(close_kpi.label, reason, "finance-kpi-days_to_close"))
        close_body = _cannot(close_kpi.label, reason)

    # The close checklist in progress.
    if scope.locations:
        checklist: Any = _cannot("The close checklist", _entity_reason(view, user_scope))
    else:
        closes = fv.close_checklist(cur, scope, as_of, entity_id=view.entity)
        checklist = (
            _checklist(closes, view)
            if closes
            else ui.empty_state(
                "No close tasks in scope", "The ERP's close_tasks extract is empty."
            )
        )
        done = sum(c.done for c in closes)
        total = sum(len(c.tasks) for c in closes)
        overdue = sum(c.overdue for c in closes)
        tiles.append(
            ui.kpi(
                "Close checklist",
                html.A(
                    f"{done} of {total} done",
                    href=_queue_href("overdue_close_task", view),
                    className="finance-figure",
                ),
                [
                    ui.badge("overdue" if overdue else "done", TASK_STATE),
                    f" {fmt_int(overdue)} overdue" if overdue else " nothing overdue",
                ],
                tone="bad" if overdue else "ok",
                kpi_id="finance-kpi-close-progress",
            )
        )

    # Invoice first-pass match: trend and the worst suppliers.
    try:
        match_daily = series(cur, match_kpi, scope=scope, start=start, end=end)
        match_total = figure(match_kpi, match_daily.points)
        tiles.append(
            _tile(
                match_kpi,
                match_total.value,
                html.A(
                    f"{fmt_int(match_total.denominator)} PO lines",
                    href=_queue_href("unmatched_invoice_line", view),
                ),
                _kpi_href(MATCH_KPI, view),
                "finance-kpi-invoice_first_pass_match_rate",
            )
        )
        match_trend = (
            match_daily
            if view.grain == "day"
            else series(cur, match_kpi, scope=scope, start=start, end=end, grain=view.grain)
        )
        suppliers = breakdown(
            cur, match_kpi, scope=scope, start=start, end=end, dimension="supplier_id"
        )[:WORST_SUPPLIERS]
        match_body: Any = (
            [
                kpi_ui.graph(
                    "finance-match-trend",
                    charts.kpi_trend([match_kpi], [list(match_trend.points)]),
                ),
                html.H3("Worst suppliers first", className="finance-subhead"),
                _supplier_table(match_kpi, suppliers, view),
                html.P(
                    html.A(
                        "Open the unmatched invoice lines",
                        href=_queue_href("unmatched_invoice_line", view),
                    ),
                    className="caption",
                ),
            ]
            if match_daily.points
            else ui.empty_state("No PO invoice lines in this range", "Widen the date range.")
        )
    except OutOfScopeError as exc:
        match_body = _cannot(match_kpi.label, str(exc))

    # Freight cost variance by carrier and the expedited share.
    try:
        freight_daily = series(cur, freight_kpi, scope=scope, start=start, end=end)
        freight_total = figure(freight_kpi, freight_daily.points)
        tiles.append(
            _tile(
                freight_kpi,
                freight_total.value,
                "actual against planned cost",
                _kpi_href(FREIGHT_KPI, view),
                "finance-kpi-freight_cost_variance",
            )
        )
        carriers = breakdown(
            cur, freight_kpi, scope=scope, start=start, end=end, dimension="carrier_id"
        )
        freight_chart: Any = (
            kpi_ui.graph("finance-freight", charts.kpi_bars(freight_kpi, carriers))
            if carriers
            else ui.empty_state("No costed freight in this range", "Widen the date range.")
        )
    except OutOfScopeError as exc:
        freight_chart = _cannot(freight_kpi.label, str(exc))
    expedited = fv.expedited_share(
        cur,
        scope,
        start=start,
        end=end,
        as_of=as_of,
        entity_id=view.entity,
        location_id=view.location,
    )
    overall = next((e for e in expedited if e.carrier_id is None), None)
    tiles.append(
        ui.kpi(
            "Expedited share of freight cost",
            html.A(
                format_value(overall.cost_share if overall else None, "0.0%"),
                href=_kpi_href(FREIGHT_KPI, view),
                className="finance-figure",
            ),
            f"{format_value(overall.move_share, '0.0%')} of moves"
            if overall
            else "no costed moves",
            kpi_id="finance-kpi-expedited",
        )
    )

    body = [
        html.Div(tiles, className="kpi-row", id="finance-kpis"),
        html.Div(
            [
                ui.panel(
                    "Days to close",
                    close_body,
                    subtitle="Business days from period end to the last close task, by entity. "
                    f"At least the last {CLOSE_MONTHS} periods.",
                    actions=html.A("Details", href=_kpi_href(CLOSE_KPI, view)),
                    panel_id="finance-close-panel",
                ),
                ui.panel(
                    "Freight cost variance by carrier",
                    [
                        freight_chart,
                        html.H3("Expedited freight", className="finance-subhead"),
                        _expedited_table(expedited, view)
                        if expedited
                        else ui.empty_state("No costed freight in this range"),
                    ],
                    subtitle="(actual − planned) / planned cost of picked-up moves; expedited "
                    "share = expedited actual cost / actual cost.",
                    actions=html.A("Details", href=_kpi_href(FREIGHT_KPI, view)),
                    panel_id="finance-freight-panel",
                ),
            ],
            className="finance-grid",
        ),
        ui.panel(
            f"Close checklist · as of {as_of:%Y-%m-%d}",
            checklist,
            subtitle="Tasks of the latest period that has ended, per entity; an open task past "
            "its due date is overdue.",
            panel_id="finance-checklist",
        ),
        ui.panel(
            "Invoice first-pass match",
            match_body,
            subtitle=f"PO invoice lines matched on the first pass, by {view.grain}.",
            actions=html.A("Details", href=_kpi_href(MATCH_KPI, view)),
            panel_id="finance-match-panel",
        ),
    ]
    where = ", ".join(x for x in (view.entity, view.location) if x) or "all entities in your scope"
    subtitle = f"{where} · {start:%Y-%m-%d} to {end:%Y-%m-%d} · data as of {as_of:%Y-%m-%d}"
    return body, subtitle


def _months_before(day: date, months: int) -> date:
    """The first day of the month `months` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
