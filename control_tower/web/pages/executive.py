"""Executive summary: every certified KPI on one screen, for the dates and sites chosen.

Route `/executive`, for executives and admins (page and callbacks). First the
money (`_executive_money`): value at risk of the open exceptions by queue and
site, backlog value, inventory value and turns, in the reporting currency (and
in an entity's own currency when the view is of one entity). Then one tile
per certified KPI, next to the site league table (every certified KPI by
site, worst site first, with its change). A tile shows its value over the
chosen range, status against target, the change against the same span just
before (better or worse by the KPI's direction), a sparkline by the chosen
grain, how old the data is, and a link to the KPI's detail page with the
same filters. Draft KPIs are listed
below, linked to their detail pages and the catalog. The filters live in the
URL (`control_tower.web.filters`); figures come from
`control_tower.views.executive`, `executive_money` and `league`, under the
user's scope (a user scoped to one site sees that site's money only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import dash
import duckdb
from dash import Output, callback, dcc, html

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import latest_as_of
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.executive import ExecutiveView, Unavailable, drafts, executive_view
from control_tower.views.executive_money import MoneyNotComputedError, money_view
from control_tower.views.kpi import Tile, utc_now
from control_tower.views.league import league_table
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web.auth import require
from control_tower.web.filters import (
    Filters,
    data_end,
    filter_bar,
    filter_inputs,
    load_choices,
    opening_view,
    register_filter_callbacks,
)
from control_tower.web.pages import _executive_money as money_ui
from control_tower.web.runtime import WebContext, web_context
from control_tower.web.warm import warmer

ROLES = ("executive", "admin")  # the page and its callback: require(roles=ROLES)
PREFIX = "executive"

dash.register_page(
    __name__,
    path="/executive",
    name="Executive",
    title="Executive summary · Control Tower",
    description="Certified KPIs against target, with their trend and change.",
    order=10,
    roles=ROLES,
)

TILES = "executive-tiles"
DRAFTS = "executive-drafts"
SUBTITLE = "executive-subtitle"
MONEY = "executive-money"
LEAGUE = "executive-league-slot"


def _no_data() -> html.Div:
    return ui.empty_state(
        "No KPI values yet",
        [
            "KPIs are computed after the first landing. Run ",
            html.Code("control-tower ingest"),
            " or start the scheduler; this page fills in on the next visit.",
        ],
    )


def layout(**query: str) -> html.Div:
    """The filter bar from the URL; the tiles are filled in by `update`."""
    user = require(roles=ROLES)
    view = Filters.from_query(**query)
    try:
        with web_context().snapshot() as cur:
            choices = load_choices(cur, user.scope)
    except NoSnapshotError:
        return html.Div(
            [html.Div(html.H1("Executive summary"), className="page-head"), _no_data()],
            className="page page--kpi page--executive",
        )
    return html.Div(
        className="page page--kpi page--executive",
        children=[
            html.Div(
                [html.H1("Executive summary"), html.P(id=SUBTITLE, className="page-subtitle")],
                className="page-head",
            ),
            filter_bar(PREFIX, view, choices),
            dcc.Loading(html.Div(id=MONEY), type="dot", delay_show=300),
            html.Div(
                [
                    dcc.Loading(
                        html.Div(id=TILES, className="kpi-tiles"), type="dot", delay_show=300
                    ),
                    html.Div(id=LEAGUE, className="executive-league"),
                ],
                className="executive-board",
            ),
            html.Div(id=DRAFTS),
        ],
    )


register_filter_callbacks(PREFIX)


# --- views ----------------------------------------------------------------------------------


def _tile(t: Tile, view: Filters, days: int, now: Any) -> dcc.Link:
    kpi = t.kpi
    basis = kpi_ui.counted_text(kpi, t.value.denominator)
    if not kpi.is_ratio and t.value.period is not None:
        basis = f"latest value, {t.value.period:%d %b}"
    return dcc.Link(
        href=kpi_ui.kpi_href(kpi.name, view),
        id=f"executive-tile-{kpi.name}",
        className=f"kpi kpi-tile kpi--{kpi_ui.tone(t.status)}",
        title=f"{kpi.label}: open the detail",
        children=[
            html.Div(
                [
                    html.Span(kpi.label, className="kpi-label"),
                    kpi_ui.governance_badge(kpi.status),
                ],
                className="kpi-tile-head",
            ),
            html.Div(
                [
                    html.Span(kpi_ui.value_text(kpi, t.value.value), className="kpi-value"),
                    kpi_ui.status_badge(t.status),
                ],
                className="kpi-tile-value",
            ),
            html.Div(
                [kpi_ui.thresholds_text(kpi).capitalize(), f" · {basis}" if basis else ""],
                className="kpi-detail",
            ),
            kpi_ui.change_line(t.change, days),
            kpi_ui.graph(
                f"executive-spark-{kpi.name}",
                kpi_ui.sparkline(kpi, t.trend),
                className="kpi-spark",
                static=True,
            ),
            kpi_ui.freshness_line(t.freshness, now, t.data),
        ],
    )


def _unavailable(shown: Unavailable) -> html.Div:
    kpi, reason = shown.kpi, shown.refused.reason
    return html.Div(
        [
            html.Div(
                [html.Span(kpi.label, className="kpi-label"), kpi_ui.governance_badge(kpi.status)],
                className="kpi-tile-head",
            ),
            html.Div("Not available", className="kpi-value kpi-value--none"),
            html.Div(reason, className="kpi-detail"),
        ],
        id=f"executive-tile-{kpi.name}",
        className="kpi kpi-tile kpi--idle",
    )


def _drafts(kpis: list[Kpi], view: Filters) -> Any:
    if not kpis:
        return None
    return html.Div(
        [
            html.Span("Draft KPIs, not certified yet:", className="drafts-label"),
            *[
                dcc.Link(k.label, href=kpi_ui.kpi_href(k.name, view), className="draft-link")
                for k in kpis
            ],
            dcc.Link("All KPIs in the catalog →", href="/catalog", className="draft-catalog"),
        ],
        className="drafts-row",
        id="executive-drafts-row",
    )


# --- callback -------------------------------------------------------------------------------


@callback(
    Output(TILES, "children"),
    Output(DRAFTS, "children"),
    Output(SUBTITLE, "children"),
    *filter_inputs(PREFIX),
)
def update(start: Any, end: Any, grain: Any, entity: Any, location: Any) -> tuple[Any, Any, Any]:
    """Every certified KPI's tile for the chosen range, grain, entity and location."""
    user = require(roles=ROLES)
    context = web_context()
    view = Filters.from_inputs(start, end, grain, entity, location)
    catalog = context.catalog()
    draft_row = _drafts(drafts(catalog), view)
    scope = view.scoped(user.scope)
    if scope is None:
        return (
            ui.empty_state("Outside your scope", "Pick an entity and location you may see."),
            draft_row,
            "",
        )
    now = utc_now()
    try:
        with context.snapshot() as cur:
            summary = _summary(cur, catalog, scope, view)
    except NoSnapshotError:
        summary = None
    if summary is None:
        return _no_data(), draft_row, ""
    latest, page = summary
    tiles = [
        _unavailable(t) if isinstance(t, Unavailable) else _tile(t, view, page.days, now)
        for t in page.tiles
    ]
    where = " · ".join(p for p in (view.entity, view.location) if p) or "all sites in your scope"
    subtitle = (
        f"{page.start:%d %b %Y} – {page.end:%d %b %Y} ({page.days} days) · {where} · "
        f"values computed {latest:%d %b %Y}"
    )
    return tiles, draft_row, subtitle


@callback(
    Output(MONEY, "children"),
    Output(LEAGUE, "children"),
    *filter_inputs(PREFIX),
)
def update_money(start: Any, end: Any, grain: Any, entity: Any, location: Any) -> tuple[Any, Any]:
    """The money panel and the site league table for the chosen range, entity and location."""
    user = require(roles=ROLES)
    context = web_context()
    view = Filters.from_inputs(start, end, grain, entity, location)
    scope = view.scoped(user.scope)
    if scope is None:
        return None, None
    catalog = context.catalog()
    try:
        with context.snapshot() as cur:
            found = _money(cur, catalog, scope, view)
    except NoSnapshotError:
        found = None
    if found is None:
        return None, None
    if isinstance(found, str):
        return ui.empty_state("No money figures yet", found), None
    money, turns, league, shown = found
    return money_ui.money_panel(money, *turns, shown), money_ui.league_panel(league, shown)


def _money(
    cur: duckdb.DuckDBPyConnection, catalog: Catalog, scope: Scope, view: Filters
) -> tuple[Any, ...] | str | None:
    """The money, turns and league table for `view` under `scope` (None before any KPI
    value; a reason when the snapshot has no currency tables)."""
    latest = latest_as_of(cur)
    if latest is None:
        return None
    shown = view.resolved(data_end(cur, latest))
    assert shown.start is not None
    assert shown.end is not None
    league = league_table(cur, catalog, scope, start=shown.start, end=shown.end)
    turns = money_ui.turns(cur, catalog, scope, start=shown.start, end=shown.end)
    try:
        money = money_view(cur, scope, as_of=latest)
    except MoneyNotComputedError:
        return "Currencies are converted from the next load on (run control-tower ingest)."
    return money, turns, league, view


def _summary(
    cur: duckdb.DuckDBPyConnection, catalog: Catalog, scope: Scope, view: Filters
) -> tuple[date, ExecutiveView] | None:
    """The values' day and the tiles for `view` under `scope` (None before any KPI value)."""
    latest = latest_as_of(cur)
    if latest is None:
        return None
    shown = view.resolved(data_end(cur, latest))
    assert shown.start is not None
    assert shown.end is not None
    return latest, executive_view(
        cur, catalog, scope, start=shown.start, end=shown.end, grain=shown.grain
    )


@warmer("executive", ROLES)
def _warm(cur: duckdb.DuckDBPyConnection, context: WebContext, scopes: Sequence[Scope]) -> None:
    """The tiles the page opens with (no filter chosen), for each scope."""
    catalog = context.catalog()
    view = opening_view(cur)
    for user_scope in scopes:
        if view is not None and (scope := view.scoped(user_scope)) is not None:
            _summary(cur, catalog, scope, view)
            _money(cur, catalog, scope, view)
