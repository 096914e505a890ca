"""KPI detail: one KPI's definition, value, trend, breakdown and the exceptions behind it.

Route `/kpi/<name>` (not in the navigation; every role, each within its
scope). The header states the definition: label, description, owner,
version, status, target and thresholds. Below the filter bar: the value over
the chosen range against the same span before; the trend by grain with the
target line and the warning and breach bands; a breakdown by any of the
KPI's dimensions, worst first. Clicking a bar narrows the view to that
member: a location or entity sets the filter bar (and so the URL), any
other dimension adds `by=<dimension>&member=<value>` to the URL, shown as a
removable chip. Last, the unresolved exception items behind the number, with
a link to the whole queue.

A KPI that cannot be limited to the user's scope (it lacks the dimension
the scope restricts) shows why, never the unrestricted figure.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from control_tower import accounts
from control_tower.exceptions.behind import ExceptionsBehind
from control_tower.exceptions.registry import type_label
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.serving import OutOfScopeError, latest_as_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.kpi import utc_now
from control_tower.views.kpi_detail import KpiDetail, kpi_detail
from control_tower.views.status import SLA_STATUS
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web.auth import require
from control_tower.web.filters import (
    Filters,
    data_end,
    filter_bar,
    filter_inputs,
    ids,
    link,
    load_choices,
)
from control_tower.web.format import fmt_int, plural
from control_tower.web.runtime import web_context

ROLES = accounts.ROLES  # every role
PREFIX = "kpi"

dash.register_page(
    __name__,
    path="/kpi",
    path_template="/kpi/<name>",
    name="KPI detail",
    title="KPI detail · Control Tower",
    description="One KPI: definition, trend, breakdown and the exceptions behind it.",
    nav=False,
    roles=ROLES,
)

FILTER_DIMENSIONS = {"location_id": "location", "entity_id": "entity"}  # set on the filter bar
BARS_SHOWN = 25  # worst members drawn in the breakdown

NAME = "kpi-name"
MEMBER = "kpi-member"  # {"dimension": ..., "value": ...} of a non-filter dimension, or None
BY = "kpi-by"
BODY = "kpi-body"
SCOPE_NOTE = "kpi-scope-note"
VALUE = "kpi-value"
TREND = "kpi-trend"
BREAKDOWN = "kpi-breakdown"
BREAKDOWN_CAPTION = "kpi-breakdown-caption"
CHIP = "kpi-member-chip"
CHIP_TEXT = "kpi-member-chip-text"
CHIP_CLEAR = "kpi-member-clear"
EXCEPTIONS = "kpi-exceptions"


def default_dimension(kpi: Kpi) -> str | None:
    """The breakdown shown first: by location when the KPI has it."""
    if "location_id" in kpi.dimensions:
        return "location_id"
    return kpi.dimensions[0] if kpi.dimensions else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= 128 else None


def _unknown(name: str | None) -> html.Div:
    return html.Div(
        [
            html.Div(html.H1("KPI not found"), className="page-head"),
            ui.empty_state(
                f"No KPI named {name!r}" if name else "No KPI named",
                [
                    "The address may be old or mistyped. ",
                    dcc.Link("See every KPI in the catalog", href="/catalog", id="kpi-to-catalog"),
                    ".",
                ],
                icon="?",
            ),
        ],
        className="page page--kpi",
        id="kpi-unknown",
    )


def _facts(kpi: Kpi) -> html.Dl:
    facts = [
        ("Name", html.Code(kpi.name)),
        ("Owner", kpi.owner),
        ("Version", f"v{kpi.version}"),
        (
            "Status",
            html.Span(kpi_ui.governance_badge(kpi.status), title=kpi_ui.certified_text(kpi)),
        ),
        ("Target", kpi_ui.thresholds_text(kpi)),
        ("Direction", kpi_ui.direction_text(kpi)),
        ("Unit", f"{kpi.unit} ({kpi.format})"),
        ("Time", html.Code(kpi.time_dimension)),
    ]
    return html.Dl(
        [html.Div([html.Dt(label), html.Dd(value)]) for label, value in facts],
        className="kpi-facts",
        id="kpi-facts",
    )


def layout(name: str | None = None, **query: str) -> html.Div:
    """The definition and the frame of the figures (filled in by `update`), from the URL."""
    user = require(roles=ROLES)
    kpi = web_context().catalog().kpis.get(name or "")
    if kpi is None:
        return _unknown(name)
    view_ = Filters.from_query(**query)
    by = query.get("by") if query.get("by") in kpi.dimensions else default_dimension(kpi)
    member = _text(query.get("member")) if by not in FILTER_DIMENSIONS else None
    head = html.Div(
        [
            html.Div(
                [
                    html.H1(kpi.label, id="kpi-label"),
                    kpi_ui.governance_badge(kpi.status),
                    html.Span(f"v{kpi.version}", className="muted"),
                ],
                className="page-head",
            ),
            html.P(kpi.description, className="kpi-description", id="kpi-description"),
            _facts(kpi),
        ],
        className="kpi-header",
    )
    try:
        with web_context().snapshot() as cur:
            choices = load_choices(cur, user.scope)
    except NoSnapshotError:
        return html.Div(
            [head, ui.empty_state("No KPI values yet", "Nothing has been landed.")],
            className="page page--kpi",
        )
    options = [{"label": kpi_ui.dimension_label(d), "value": d} for d in kpi.dimensions]
    return html.Div(
        className="page page--kpi page--kpi-detail",
        children=[
            dcc.Store(id=NAME, data=kpi.name),
            dcc.Store(id=MEMBER, data={"dimension": by, "value": member} if member else None),
            head,
            filter_bar(PREFIX, view_, choices),
            html.Div(id=SCOPE_NOTE),
            html.Div(
                id=BODY,
                children=[
                    html.Div(
                        className="row kpi-row-main",
                        children=[
                            ui.panel(
                                "Value",
                                dcc.Loading(html.Div(id=VALUE), type="dot", delay_show=300),
                                subtitle="Over the chosen dates, against the same span before.",
                                class_name="panel--kpi-value",
                            ),
                            ui.panel(
                                "Trend",
                                kpi_ui.graph(TREND, className="kpi-trend"),
                                subtitle="By the chosen grain; dashed line: target; shaded: "
                                "warning and breach bands.",
                            ),
                        ],
                    ),
                    ui.panel(
                        "Breakdown",
                        [
                            html.Div(
                                [
                                    html.Span(id=CHIP_TEXT),
                                    html.Button(
                                        "✕",
                                        id=CHIP_CLEAR,
                                        n_clicks=0,
                                        className="chip-clear",
                                        title="Remove this filter",
                                        **{"aria-label": "Remove this filter"},
                                    ),
                                ],
                                id=CHIP,
                                className="chip",
                                hidden=True,
                            ),
                            kpi_ui.graph(BREAKDOWN, className="kpi-breakdown"),
                            html.P(id=BREAKDOWN_CAPTION, className="caption"),
                        ],
                        subtitle="Worst first. Click a bar to narrow the page to it.",
                        actions=html.Div(
                            [
                                html.Label("By", htmlFor=BY),
                                dcc.Dropdown(
                                    id=BY,
                                    options=options,
                                    value=by,
                                    clearable=False,
                                    searchable=False,
                                    className="kpi-by",
                                ),
                            ],
                            className="kpi-by-field",
                        ),
                    ),
                    ui.panel(
                        "The exceptions behind the number",
                        html.Div(id=EXCEPTIONS),
                        subtitle="Unresolved queue items that record this KPI's misses, "
                        "biggest value at risk first.",
                        panel_id="kpi-exceptions-panel",
                    ),
                ],
            ),
        ],
    )


# --- views ----------------------------------------------------------------------------------


def _value(kpi: Kpi, detail: KpiDetail, now: Any) -> html.Div:
    now_view = detail.current
    basis = kpi_ui.counted_text(kpi, now_view.value.denominator)
    if not kpi.is_ratio and now_view.value.period is not None:
        basis = f"latest value, {now_view.value.period:%d %b %Y}"
    return html.Div(
        [
            html.Div(
                [
                    html.Span(
                        kpi_ui.value_text(kpi, now_view.value.value),
                        className="kpi-value kpi-value--big",
                        id="kpi-value-number",
                    ),
                    kpi_ui.status_badge(now_view.status),
                ],
                className="kpi-tile-value",
            ),
            html.Div(basis, className="kpi-detail") if basis else None,
            html.Div(kpi_ui.thresholds_text(kpi).capitalize(), className="kpi-detail"),
            kpi_ui.change_line(detail.change, detail.days, line_id="kpi-change"),
            kpi_ui.freshness_line(now_view.freshness, now, now_view.data),
            html.Div(
                f"Read from {'materialised values' if now_view.source == 'materialised' else 'the definition, computed now'}",
                className="kpi-detail muted",
            ),
        ],
        className=f"kpi kpi--{kpi_ui.tone(now_view.status)} kpi-headline",
    )


def _exceptions(kpi: Kpi, found: ExceptionsBehind, see_all: str, note: str | None) -> Any:
    if not found.types and not kpi.exceptions_past_sla:
        intro: Any = f"No exception type records this KPI's misses yet ({kpi_ui.NO_QUEUE})."
    else:
        intro = [
            html.Strong(plural(found.count, "unresolved item"), id="kpi-exceptions-count"),
            f" · value at risk {fmt_int(found.value_at_risk)}",
            f" · {fmt_int(found.past_sla)} past their SLA",
        ]
    rows = []
    for r in found.rows:
        where = " · ".join(p for p in (r.location_id or r.entity_id, r.item_id) if p)
        rows.append(
            [
                dcc.Link(f"#{r.id}", href=f"/exceptions/{r.id}", className="exception-link"),
                type_label(r.type),
                html.Span(r.key, className="mono"),
                where or "—",
                r.severity or "—",
                f"{r.age_days:.1f} d",
                fmt_int(r.value_at_risk),
                ui.badge("breached" if r.past_sla else "within", SLA_STATUS),
            ]
        )
    table = (
        ui.simple_table(
            [
                "Item",
                "Type",
                "Key",
                "Where",
                "Severity",
                ("Age", "num"),
                ("Value at risk", "num"),
                "SLA",
            ],
            rows,
            table_id="kpi-exceptions-table",
            class_name="table--compact",
        )
        if rows
        else ui.empty_state("Nothing unresolved behind this number", icon="✓")
    )
    return html.Div(
        [
            html.P(intro, className="exceptions-intro"),
            html.P(note, className="caption") if note else None,
            table,
            html.P(
                dcc.Link("See all in the exception queue →", href=see_all, id="kpi-exceptions-all"),
                className="exceptions-all",
            ),
        ]
    )


def _member(data: Any, by: str | None) -> str | None:
    """The chosen member when it belongs to the shown dimension."""
    if isinstance(data, dict) and data.get("dimension") == by:
        return _text(data.get("value"))
    return None


# --- callbacks ------------------------------------------------------------------------------


@callback(
    Output(VALUE, "children"),
    Output(TREND, "figure"),
    Output(BREAKDOWN, "figure"),
    Output(BREAKDOWN_CAPTION, "children"),
    Output(EXCEPTIONS, "children"),
    Output(CHIP, "hidden"),
    Output(CHIP_TEXT, "children"),
    Output(SCOPE_NOTE, "children"),
    Output(BODY, "hidden"),
    *filter_inputs(PREFIX),
    Input(BY, "value"),
    Input(MEMBER, "data"),
    State(NAME, "data"),
)
def update(
    start: Any,
    end: Any,
    grain: Any,
    entity: Any,
    location: Any,
    by: Any,
    member_data: Any,
    name: Any,
) -> tuple[Any, ...]:
    """The KPI's value, trend, breakdown and exceptions for the chosen view."""
    user = require(roles=ROLES)
    context = web_context()
    kpi = context.catalog().kpis.get(name if isinstance(name, str) else "")
    if kpi is None:
        return (*[no_update] * 7, ui.empty_state(f"No KPI named {name!r}"), True)
    by = by if by in kpi.dimensions else default_dimension(kpi)
    member = _member(member_data, by) if by not in FILTER_DIMENSIONS else None
    filters = Filters.from_inputs(start, end, grain, entity, location)
    scope = filters.scoped(user.scope)
    hide = (*[no_update] * 7,)
    if scope is None:
        note = ui.empty_state("Outside your scope", "Pick an entity and location you may see.")
        return (*hide, note, True)
    now = utc_now()
    try:
        with context.snapshot() as cur:
            latest = latest_as_of(cur)
            if latest is None:
                return (
                    *hide,
                    ui.empty_state("No KPI values yet", "Nothing has been landed."),
                    True,
                )
            shown = filters.resolved(data_end(cur, latest))
            assert shown.start is not None
            assert shown.end is not None
            detail = kpi_detail(
                cur,
                kpi,
                scope,
                start=shown.start,
                end=shown.end,
                grain=shown.grain,
                dimension=by,
                member=member,
                now=now,
            )
    except OutOfScopeError as exc:
        note = ui.empty_state(
            "This KPI cannot be limited to your scope",
            [
                str(exc),
                ". Figures for rows outside your scope would show, so none are shown. "
                "Ask the KPI's owner (",
                kpi.owner,
                ") to add the dimension, or an administrator to widen your scope.",
            ],
            icon="⛔",
        )
        return (*hide, html.Div(note, id="kpi-out-of-scope"), True)
    except NoSnapshotError:
        return (*hide, ui.empty_state("No KPI values yet", "Nothing has been landed."), True)
    s, e, bars = detail.start, detail.end, detail.bars
    caption = ""
    if by:
        shown_bars = list(bars[:BARS_SHOWN])
        caption = f"{kpi_ui.dimension_label(by)} · {s:%d %b} – {e:%d %b %Y}"
        if len(bars) > BARS_SHOWN:
            caption += f" · the {BARS_SHOWN} worst of {fmt_int(len(bars))} shown"
        figure = kpi_ui.breakdown_figure(kpi, shown_bars, member)
    else:
        figure = {}
        caption = "This KPI has no dimensions to break it down by."
    note = None
    if member is not None and by not in ("item_id",):
        note = f"Exception items are not narrowed by {kpi_ui.dimension_label(by).lower()}."
    scope_filters = Filters(entity=filters.entity, location=filters.location)
    see_all = link("/exceptions", scope_filters, kpi=kpi.name, status="unresolved")
    chip = f"{kpi_ui.dimension_label(by)} = {member}" if member else ""
    return (
        _value(kpi, detail, now),
        kpi_ui.trend_figure(kpi, detail.current.trend, shown.grain),
        figure,
        caption,
        _exceptions(kpi, detail.exceptions, see_all, note),
        member is None,
        chip,
        None,
        False,
    )


@callback(
    Output(ids(PREFIX)["url"], "search"),
    *filter_inputs(PREFIX),
    Input(BY, "value"),
    Input(MEMBER, "data"),
    prevent_initial_call=True,
)
def to_url(
    start: Any, end: Any, grain: Any, entity: Any, location: Any, by: Any, member: Any
) -> str:
    """The filters, the breakdown dimension and the chosen member in the address bar."""
    require(roles=ROLES)
    filters = Filters.from_inputs(start, end, grain, entity, location)
    by = _text(by)
    return link("", filters, by=by, member=_member(member, by))


@callback(
    Output(ids(PREFIX)["entity"], "value"),
    Output(ids(PREFIX)["location"], "value"),
    Output(MEMBER, "data"),
    Input(BREAKDOWN, "clickData"),
    Input(CHIP_CLEAR, "n_clicks"),
    Input(BY, "value"),
    prevent_initial_call=True,
)
def drill(click: Any, _clear: Any, by: Any) -> tuple[Any, Any, Any]:
    """A clicked bar narrows the view: location and entity on the filter bar, others as a chip."""
    require(roles=ROLES)
    trigger = ctx.triggered_id
    if trigger in (CHIP_CLEAR, BY):
        return no_update, no_update, None
    points = (click or {}).get("points") or []
    if not points:
        return no_update, no_update, no_update
    member = _text(points[0].get("customdata"))
    if member is None or not isinstance(by, str):
        return no_update, no_update, no_update
    if by == "location_id":
        return no_update, member, None
    if by == "entity_id":
        return member, no_update, None
    return no_update, no_update, {"dimension": by, "value": member}
