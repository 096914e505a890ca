"""Finance: the month-end close and the money leaks of operations.

Route `/finance`, for finance, executives and admins (page and callback). Days to close by
entity and period against the target, the close checklist in progress (the latest month
that has ended, per entity) with overdue tasks, invoice first-pass match (trend and the
worst suppliers), freight cost variance by carrier and the expedited share of freight, and
the money figures (goods received not invoiced, returns awaiting credit, unmatched invoice
value, inventory write-offs; `_finance_money`) with their lines on `/finance/lines`.
The figures come from `control_tower.views.finance` under the user's scope. Figures link to their KPI detail
page or their exception queue. Close figures belong to entities: a view narrowed to a
location (or a user scoped by location) gets an explanation instead of unscoped numbers.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import dash
import duckdb
from dash import html

from control_tower.accounts import Scope
from control_tower.kpi.format import format_value
from control_tower.kpi.serving import latest_as_of
from control_tower.views import finance as fv
from control_tower.views import finance_money as fm
from control_tower.views.figures import Refused
from control_tower.views.kpi import cached_catalog
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web import plain_charts as charts
from control_tower.web.filters import (
    Filters,
    data_end,
    register_filter_callbacks,
)
from control_tower.web.format import fmt_int
from control_tower.web.pages._finance_close import TASK_STATE, checklists, close_figure
from control_tower.web.pages._finance_money import money_section

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

CLOSE_KPI, MATCH_KPI, FREIGHT_KPI = fv.CLOSE_KPI, fv.MATCH_KPI, fv.FREIGHT_KPI


def layout(**query: str) -> html.Div:
    """The filter bar (dates, grain, entity, location) and the page's frame."""
    return kpi_ui.filtered_page(PREFIX, "Finance", Filters.from_query(**query), _no_data)


register_filter_callbacks(PREFIX)


# --- pieces ---------------------------------------------------------------------------------


def _no_data() -> html.Div:
    return ui.empty_state(
        "No data landed yet",
        "Close tasks, invoices and freight appear here once the ERP and TMS extracts land.",
    )


_tile = partial(kpi_ui.linked_tile, link_class="finance-figure")


def _where(view: Filters) -> Filters:
    return Filters(entity=view.entity, location=view.location)


def _entity_reason(view: Filters, user_scope: Scope) -> str:
    if user_scope.locations:
        return (
            "Close figures belong to legal entities, and your access is limited by location, "
            "so no entity-wide figure can be shown to you."
        )
    if view.location:
        return "Close figures belong to legal entities: clear the location filter to see them."
    return "No entity is in your scope."


def _expedited_table(rows: list[fv.Expedited], view: Filters) -> html.Div:
    body = [
        [
            html.Span(r.carrier_id or "All carriers", className="mono" if r.carrier_id else ""),
            html.A(
                format_value(r.cost_share, "0.0%"),
                href=kpi_ui.kpi_href(FREIGHT_KPI, view),
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


def _page(
    cur: duckdb.DuckDBPyConnection, user_scope: Scope, chosen: Filters, definitions: Any
) -> tuple[Any, Any]:
    as_of = latest_as_of(cur)
    if as_of is None:
        return _no_data(), None
    view = chosen.resolved(data_end(cur, as_of))
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
    page = fv.finance_view(
        cur,
        cached_catalog(definitions),
        scope,
        as_of=as_of,
        start=start,
        end=end,
        grain=view.grain,
        entity_id=view.entity,
        location_id=view.location,
    )
    close_tile, close_body = _close(page, view, user_scope)
    checklist_tile, checklist = _checklist_section(page, view, user_scope)
    match_tile, match_body = _match(page, view)
    freight_tile, freight_chart = _freight(page, view)
    tiles = [
        t
        for t in (close_tile, checklist_tile, match_tile, freight_tile, _expedited_tile(page, view))
        if t is not None
    ]
    money = fm.finance_money(cur, scope, as_of=as_of, start=start, end=end)
    money_tiles, money_panels = money_section(money, view)
    body = [
        html.Div(tiles, className="kpi-row", id="finance-kpis"),
        html.Div(money_tiles, className="kpi-row", id="finance-money-kpis"),
        html.Div(
            [
                ui.panel(
                    "Days to close",
                    close_body,
                    subtitle="Business days from period end to the last close task, by entity. "
                    f"At least the last {fv.CLOSE_MONTHS} periods.",
                    actions=html.A("Details", href=kpi_ui.kpi_href(CLOSE_KPI, view)),
                    panel_id="finance-close-panel",
                ),
                ui.panel(
                    "Freight cost variance by carrier",
                    [
                        freight_chart,
                        html.H3("Expedited freight", className="finance-subhead"),
                        _expedited_table(list(page.expedited), view)
                        if page.expedited
                        else ui.empty_state("No costed freight in this range"),
                    ],
                    subtitle="(actual − planned) / planned cost of picked-up moves; expedited "
                    "share = expedited actual cost / actual cost.",
                    actions=html.A("Details", href=kpi_ui.kpi_href(FREIGHT_KPI, view)),
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
            actions=html.A("Details", href=kpi_ui.kpi_href(MATCH_KPI, view)),
            panel_id="finance-match-panel",
        ),
        *money_panels,
    ]
    where = ", ".join(x for x in (view.entity, view.location) if x) or "all entities in your scope"
    subtitle = f"{where} · {start:%Y-%m-%d} to {end:%Y-%m-%d} · data as of {as_of:%Y-%m-%d}"
    return body, subtitle


def _close(page: fv.FinanceView, view: Filters, user_scope: Scope) -> tuple[Any, Any]:
    """The days-to-close tile and chart (an explanation when the scope is by location)."""
    kpi, close = page.close_kpi, page.close
    if close is None:
        reason = _entity_reason(view, user_scope)
        return kpi_ui.cannot_show(
            kpi.label, reason, "finance-kpi-days_to_close"
        ), kpi_ui.cannot_show(kpi.label, reason)
    tile = _tile(
        kpi,
        close.latest.value,
        f"period {close.latest_period:%Y-%m}, average of entities"
        if close.latest_period
        else "no period",
        kpi_ui.kpi_href(CLOSE_KPI, replace(view, start=close.start, grain="month")),
        "finance-kpi-days_to_close",
    )
    body = (
        kpi_ui.graph("finance-close-chart", close_figure(kpi, list(close.points)))
        if close.points
        else ui.empty_state("No period ended in this range", "Widen the date range.")
    )
    return tile, body


def _checklist_section(page: fv.FinanceView, view: Filters, user_scope: Scope) -> tuple[Any, Any]:
    """The checklist's progress tile and the checklists (an explanation for a location scope)."""
    if page.checklist is None:
        return None, kpi_ui.cannot_show("The close checklist", _entity_reason(view, user_scope))
    checklist = (
        checklists(list(page.checklist), view)
        if page.checklist
        else ui.empty_state("No close tasks in scope", "The ERP's close_tasks extract is empty.")
    )
    overdue = page.checklist_overdue
    tile = ui.kpi(
        "Close checklist",
        html.A(
            f"{page.checklist_done} of {page.checklist_tasks} done",
            href=kpi_ui.queue_href("overdue_close_task", _where(view)),
            className="finance-figure",
        ),
        [
            ui.badge("overdue" if overdue else "done", TASK_STATE),
            f" {fmt_int(overdue)} overdue" if overdue else " nothing overdue",
        ],
        tone="bad" if overdue else "ok",
        kpi_id="finance-kpi-close-progress",
    )
    return tile, checklist


def _match(page: fv.FinanceView, view: Filters) -> tuple[Any, Any]:
    """The invoice match tile, and its trend with the worst suppliers."""
    kpi, match = page.match_kpi, page.match
    if isinstance(match, Refused):
        return None, kpi_ui.cannot_show(kpi.label, match.reason)
    total = match.headline.total
    tile = _tile(
        kpi,
        total.value,
        html.A(
            f"{fmt_int(total.denominator)} PO lines",
            href=kpi_ui.queue_href("unmatched_invoice_line", _where(view)),
        ),
        kpi_ui.kpi_href(MATCH_KPI, view),
        "finance-kpi-invoice_first_pass_match_rate",
        data=match.headline.data,
    )
    if not match.headline.measured:
        return tile, ui.empty_state("No PO invoice lines in this range", "Widen the date range.")
    return tile, [
        kpi_ui.graph("finance-match-trend", charts.kpi_trend([kpi], [list(match.headline.trend)])),
        html.H3("Worst suppliers first", className="finance-subhead"),
        kpi_ui.bars_table(
            kpi,
            match.suppliers,
            view,
            headers=("Supplier", "First-pass match", "Matched lines"),
            member=lambda b: html.Span(b.member or "(none)", className="mono"),
            table_id="finance-suppliers-table",
        ),
        html.P(
            html.A(
                "Open the unmatched invoice lines",
                href=kpi_ui.queue_href("unmatched_invoice_line", _where(view)),
            ),
            className="caption",
        ),
    ]


def _freight(page: fv.FinanceView, view: Filters) -> tuple[Any, Any]:
    """The freight cost variance tile and its chart by carrier."""
    kpi, freight = page.freight_kpi, page.freight
    if isinstance(freight, Refused):
        return None, kpi_ui.cannot_show(kpi.label, freight.reason)
    tile = _tile(
        kpi,
        freight.total.value,
        "actual against planned cost",
        kpi_ui.kpi_href(FREIGHT_KPI, view),
        "finance-kpi-freight_cost_variance",
    )
    chart = (
        kpi_ui.graph("finance-freight", charts.kpi_bars(kpi, list(freight.bars)))
        if freight.bars
        else ui.empty_state("No costed freight in this range", "Widen the date range.")
    )
    return tile, chart


def _expedited_tile(page: fv.FinanceView, view: Filters) -> html.Div:
    overall = page.expedited_overall
    return ui.kpi(
        "Expedited share of freight cost",
        html.A(
            format_value(overall.cost_share if overall else None, "0.0%"),
            href=kpi_ui.kpi_href(FREIGHT_KPI, view),
            className="finance-figure",
        ),
        f"{format_value(overall.move_share, '0.0%')} of moves" if overall else "no costed moves",
        kpi_id="finance-kpi-expedited",
    )


# Everything on the page for the chosen range, grain, entity and location, in scope.
refresh = kpi_ui.register_page_body(PREFIX, ROLES, _page, _no_data)
