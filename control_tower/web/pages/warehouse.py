"""Warehouse: a supervisor's site today: waves planned against actual, adherence, dock to
stock, inventory accuracy and the supervisor's exception queues.

Route `/warehouse`, for warehouse supervisors, executives and admins (page and callback).
The page works on one site at a time (waves are per site): the location chosen in the
filter bar, by default the first site in the user's scope that runs waves. The wave
timeline shows the latest day with waves up to the range's end, in the site's local time;
a site without waves shows its shipments against their carrier cutoffs instead. The
figures come from `control_tower.views.warehouse` under the user's scope. Every figure
links to its KPI detail page or its exception queue.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import dash
import duckdb
from dash import html

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.views import warehouse as wv
from control_tower.views.figures import Refused
from control_tower.views.kpi import cached_catalog, utc_now
from control_tower.views.sites import Site, pick_site, sites
from control_tower.views.status import SLA_STATUS
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.filters import (
    Filters,
    data_end,
    register_filter_callbacks,
)
from control_tower.web.format import DASH, fmt_hours, fmt_int, fmt_money
from control_tower.web.pages._warehouse_waves import outbound_panel

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

RELEASE_KPI, COMPLETION_KPI = wv.RELEASE_KPI, wv.COMPLETION_KPI
DOCK_KPI, ACCURACY_KPI = wv.DOCK_KPI, wv.ACCURACY_KPI


def layout(**query: str) -> html.Div:
    """The filter bar (location defaults to the first site with waves) and the page's frame."""
    view = Filters.from_query(**query)
    return kpi_ui.filtered_page(PREFIX, "Warehouse", view, _no_data, show=SHOW, default=_site)


def _site(cur: duckdb.DuckDBPyConnection, scope: Scope, view: Filters) -> Filters:
    """The view with its location set to the page's site when none is chosen."""
    site = pick_site(sites(cur, scope), view.location)
    return view if view.location or site is None else replace(view, location=site.location_id)


register_filter_callbacks(PREFIX)


# --- pieces ---------------------------------------------------------------------------------


def _no_data() -> html.Div:
    return ui.empty_state(
        "No data landed yet",
        "Waves, receipts and cycle counts appear here once the WMS extracts have been landed.",
    )


_tile = partial(kpi_ui.linked_tile, link_class="warehouse-figure")


def _queue_href(exception_type: str, location: str) -> str:
    return kpi_ui.queue_href(exception_type, Filters(location=location))


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
                [ui.badge("breached", SLA_STATUS), f" {fmt_int(q.past_sla)}"]
                if q.past_sla
                else ui.badge("within", SLA_STATUS)
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


def _late_risks(late: wv.LateRisks, site: Site) -> html.Section:
    """The site's open lines the late-order model expects to miss their promise, and how well
    that model did on weeks it never saw."""
    risks = late.rows
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
        [html.P(late.model_note, className="panel-note", id="warehouse-late-risk-model"), body],
        subtitle=f"Late-order risk at {site.location_id}, highest risk x line value first.",
        panel_id="warehouse-late-risk",
    )


def _page(
    cur: duckdb.DuckDBPyConnection, user_scope: Any, chosen: Filters, definitions: Any
) -> tuple[Any, Any]:
    latest = latest_as_of(cur)
    if latest is None:
        return _no_data(), None
    site = pick_site(sites(cur, user_scope), chosen.location)
    if site is None:
        title = (
            f"{chosen.location} is not one of your sites"
            if chosen.location
            else "No site in your scope"
        )
        return ui.empty_state(title, "Pick a location from the list.", icon="⊘"), None
    view = replace(chosen.resolved(data_end(cur, latest)), location=site.location_id, entity=None)
    scope = view.scoped(user_scope)
    if scope is None:  # pick_site only returns sites in scope; kept as a guard
        return ui.empty_state(f"{site.location_id} is outside your scope", icon="⊘"), None
    assert view.start is not None
    assert view.end is not None
    page = wv.warehouse_view(
        cur,
        cached_catalog(definitions),
        user_scope,
        scope,
        site,
        start=view.start,
        end=view.end,
        grain=view.grain,
        now=utc_now(),
    )
    kpis, window = page.kpis, page.window_minutes
    dock = kpis[DOCK_KPI]
    accuracy_tile, accuracy_body = _accuracy(page, view)
    body = [
        html.Div(
            [t for t in (*_tiles(page, view), accuracy_tile) if t is not None],
            className="kpi-row",
            id="warehouse-kpis",
        ),
        outbound_panel(page.outbound, site, view.end, window),
        html.Div(
            [
                ui.panel(
                    "Wave adherence",
                    kpi_ui.graph(
                        "warehouse-adherence",
                        charts.kpi_trend(
                            [kpis[RELEASE_KPI], kpis[COMPLETION_KPI]],
                            [list(page.release.trend), list(page.completion.trend)],
                        ),
                    ),
                    subtitle=f"Released within ±{window} min of plan, and completed by plan, "
                    f"by {view.grain}.",
                    actions=html.A("Details", href=kpi_ui.kpi_href(RELEASE_KPI, view)),
                ),
                ui.panel(
                    "Dock to stock",
                    kpi_ui.graph(
                        "warehouse-dock",
                        charts.kpi_trend([dock], [list(page.dock.trend)], unit=" h"),
                    )
                    if page.dock.trend
                    else ui.empty_state("No receipt put away in this range"),
                    subtitle=f"Median hours from arrival to put-away, by {view.grain}.",
                    actions=html.A("Details", href=kpi_ui.kpi_href(DOCK_KPI, view)),
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
                    actions=html.A("Details", href=kpi_ui.kpi_href(ACCURACY_KPI, view)),
                ),
                ui.panel(
                    "Your queues",
                    _queues(list(page.queues), site.location_id),
                    subtitle=f"Unresolved exception items at {site.location_id} owned by "
                    "warehouse supervisors, and those past their SLA.",
                    panel_id="warehouse-queues",
                ),
            ],
            className="warehouse-grid",
        ),
        _late_risks(page.late_risks, site),
    ]
    subtitle = (
        f"{site.label} · {view.start:%Y-%m-%d} to {view.end:%Y-%m-%d} · "
        f"data as of {data_end(cur, latest):%Y-%m-%d}"
    )
    return body, subtitle


def _tiles(page: wv.WarehouseView, view: Filters) -> list[Any]:
    """Wave release and completion, dock to stock and the put-away backlog."""
    tiles = []
    for name, head in ((RELEASE_KPI, page.release), (COMPLETION_KPI, page.completion)):
        total = head.total
        basis = f"{fmt_int(total.denominator)} units due" if total.denominator else "nothing due"
        tiles.append(
            _tile(
                head.kpi,
                total.value,
                basis,
                kpi_ui.kpi_href(name, view),
                f"warehouse-kpi-{name}",
                data=head.data,
            )
        )
    latest = page.dock.latest
    tiles.append(
        _tile(
            page.kpis[DOCK_KPI],
            latest.value,
            f"median, {view.grain} of {latest.period:%Y-%m-%d}"
            if latest.period
            else "no put-aways",
            kpi_ui.kpi_href(DOCK_KPI, view),
            "warehouse-kpi-dock",
            unit=" h",
            data=page.dock_data,
        )
    )
    backlog = page.backlog
    tiles.append(
        ui.kpi(
            "Receipts not put away",
            html.A(
                fmt_int(backlog.waiting),
                href=_queue_href("receipt_not_put_away", page.site.location_id),
                className="warehouse-figure",
            ),
            [
                ui.badge("breached" if backlog.over_limit else "within", SLA_STATUS)
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
    return tiles


def _accuracy(page: wv.WarehouseView, view: Filters) -> tuple[Any, Any]:
    """The accuracy tile (None when refused) and the chart and table by ABC class."""
    kpi, accuracy = page.kpis[ACCURACY_KPI], page.accuracy
    if isinstance(accuracy, Refused):
        reason = f"{accuracy.reason}. Ask an administrator if you need it."
        return None, kpi_ui.cannot_show(kpi.label, reason)
    total, bars = accuracy.total, list(accuracy.bars)
    tile = _tile(
        kpi,
        total.value,
        f"{fmt_int(total.denominator)} counts" if total.denominator else "no counts",
        kpi_ui.kpi_href(ACCURACY_KPI, view),
        "warehouse-kpi-accuracy",
    )
    if not bars:
        return tile, ui.empty_state("No cycle counts in this range", "Widen the date range.")
    return tile, [
        kpi_ui.graph("warehouse-accuracy", charts.kpi_bars(kpi, bars, "Class")),
        kpi_ui.bars_table(
            kpi,
            bars,
            view,
            headers=("ABC class", "Accuracy", "Accurate counts"),
            member=lambda b: f"Class {b.member}" if b.member else "(no class)",
            table_id="warehouse-accuracy-table",
        ),
    ]


# --- the callback ---------------------------------------------------------------------------


# Everything on the page for the chosen site, range and grain, within the user's scope.
refresh = kpi_ui.register_page_body(PREFIX, ROLES, _page, _no_data)
