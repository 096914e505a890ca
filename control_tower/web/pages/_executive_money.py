"""The executive page's money panel and site league table (see `control_tower.web.pages.executive`).

The money panel: value at risk (open exceptions), backlog value, inventory value and turns, in
the reporting currency with its code ("USD 1.2M"); when every site shown belongs to one entity
whose functional currency is another, each figure also reads in that currency. Then value at
risk by queue (linked to the queue) and the money by site. The league table: every certified
KPI by site, sites worst first, each cell with its status and its change against the previous
span. Figures come from `control_tower.views.executive_money` and `control_tower.views.league`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

import duckdb
from dash import dcc, html

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import OutOfScopeError
from control_tower.views.executive_money import MissingRate, MoneyView, SiteMoney
from control_tower.views.kpi import MemberChange, Tile, breakdown_change, tile
from control_tower.views.league import SITE, LeagueTable
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web.filters import Filters
from control_tower.web.format import fmt_amount, fmt_int, plural

TURNS = "inventory_turns"  # the KPI read for inventory turns


def turns(
    cur: duckdb.DuckDBPyConnection, catalog: Catalog, scope: Scope, *, start: date, end: date
) -> tuple[Tile | None, dict[str, MemberChange]]:
    """The inventory turns KPI over the range and by site (nothing when it is not in the
    catalog or the scope cannot limit it)."""
    kpi = catalog.kpis.get(TURNS)
    if kpi is None:
        return None, {}
    try:
        whole = tile(cur, kpi, scope=scope, start=start, end=end)
        by_site = breakdown_change(cur, kpi, scope=scope, start=start, end=end, dimension=SITE)
    except OutOfScopeError:
        return None, {}
    return whole, {m.member: m for m in by_site if m.member is not None}


def _missing_text(missing: tuple[MissingRate, ...]) -> str:
    parts = [
        f"{m.location_id}: no {m.from_currency or 'known'}→{m.to_currency} rate on {m.day:%d %b}"
        if m.from_currency
        else f"{m.location_id}: its entity's currency is unknown"
        for m in missing
    ]
    return "Not converted, left out of the total — " + "; ".join(parts)


def _in_entity(money: MoneyView, figure: str) -> Any:
    """The figure in the one entity's currency, when the view is of one such entity."""
    if money.entity is None:
        return None
    entity, currency = money.entity
    return html.Div(
        f"{entity} in {currency}: {fmt_amount(money.local(figure), currency)}",
        className="kpi-detail money-local",
    )


def money_panel(
    money: MoneyView,
    turns_tile: Tile | None,
    turns_by_site: dict[str, MemberChange],
    view: Filters,
) -> html.Div:
    """The money tiles, value at risk by queue and the money by site."""
    rc = money.reporting_currency
    items = sum(q.items for q in money.queues)
    lines = sum(s.backlog_lines for s in money.sites)
    days = {s.inventory_day for s in money.sites if s.inventory_day is not None}
    snap = f"latest snapshot {max(days):%d %b %Y}" if days else "no snapshot"
    backlog_detail: list[Any] = [
        f"{plural(lines, 'open or backordered line')} unshipped · rate of {money.rate_day:%d %b}"
    ]
    if money.missing:
        backlog_detail.append(
            html.Div(_missing_text(money.missing), className="kpi-detail money-missing")
        )
    tiles = [
        ui.kpi(
            "Value at risk",
            [fmt_amount(money.value_at_risk, rc), _in_entity(money, "value_at_risk")],
            f"{plural(items, 'open exception')} in {plural(len(money.queues), 'queue')}",
            tone="bad" if money.value_at_risk else "ok",
            kpi_id="executive-money-var",
        ),
        ui.kpi(
            "Backlog value",
            [fmt_amount(money.backlog, rc), _in_entity(money, "backlog")],
            backlog_detail,
            tone="warn" if money.missing else "info",
            kpi_id="executive-money-backlog",
        ),
        ui.kpi(
            "Inventory value",
            [fmt_amount(money.inventory, rc), _in_entity(money, "inventory")],
            f"On hand at standard cost, {snap}",
            tone="info",
            kpi_id="executive-money-inventory",
        ),
        _turns_tile(turns_tile),
    ]
    return html.Div(
        [
            html.Div(tiles, className="kpi-row"),
            html.Div(
                [
                    ui.panel(
                        "Value at risk by queue",
                        _queues_table(money, view),
                        subtitle=f"Open, acknowledged and snoozed items, in {rc}",
                    ),
                    ui.panel(
                        "Money by site",
                        _sites_table(money, turns_by_site),
                        subtitle=f"In {rc}; backlog at the rate of {money.rate_day:%d %b %Y}",
                    ),
                ],
                className="row executive-money-tables",
            ),
        ],
        id="executive-money-body",
    )


def _turns_tile(t: Tile | None) -> html.Div:
    if t is None:
        return ui.kpi("Inventory turns", "—", "Not available for this view", tone="")
    kpi = t.kpi
    return ui.kpi(
        "Inventory turns",
        [kpi_ui.value_text(kpi, t.value.value), " ", kpi_ui.governance_badge(kpi.status)],
        kpi_ui.thresholds_text(kpi).capitalize(),
        tone=kpi_ui.tone(t.status),
        kpi_id="executive-money-turns",
    )


def _queues_table(money: MoneyView, view: Filters) -> Any:
    if not money.queues:
        return ui.empty_state("No open exceptions", "Nothing in the queues for this view.")
    rows = [
        [
            dcc.Link(q.label, href=_queue_href(q.type, view)),
            fmt_int(q.items),
            fmt_amount(q.value_at_risk, money.reporting_currency),
        ]
        for q in money.queues
    ]
    return ui.simple_table(
        ["Queue", ("Open items", "num"), ("Value at risk", "num")],
        rows,
        table_id="executive-var-queues",
    )


def _queue_href(kind: str, view: Filters) -> str:
    """The queue of `kind` on the exceptions page, limited to the view's entity and site."""
    query = {"type": kind, "entity": view.entity, "location": view.location}
    return "/exceptions?" + urlencode({k: v for k, v in query.items() if v})


def _sites_table(money: MoneyView, turns_by_site: dict[str, MemberChange]) -> Any:
    sites = [s for s in money.sites if s.location_id is not None or s.value_at_risk]
    if not sites:
        return ui.empty_state("No sites", "No site in this view holds stock, orders or items.")
    rc = money.reporting_currency
    local = money.entity[1] if money.entity else None
    headers: list[Any] = [
        "Site",
        ("Value at risk", "num"),
        ("Backlog", "num"),
        ("Inventory", "num"),
        ("Turns", "num"),
    ]
    if local:
        headers.insert(3, (f"Backlog ({local})", "num"))
        headers.insert(5, (f"Inventory ({local})", "num"))
    return ui.simple_table(
        headers,
        [_site_row(s, rc, local, turns_by_site) for s in sites],
        table_id="executive-money-sites",
    )


def _site_row(
    s: SiteMoney, rc: str, local: str | None, turns_by_site: dict[str, MemberChange]
) -> list[Any]:
    turn = turns_by_site.get(s.location_id or "")
    row: list[Any] = [
        s.location_id or "No site",
        fmt_amount(s.value_at_risk, rc),
        fmt_amount(s.backlog, rc),
        fmt_amount(s.inventory, rc, missing="—"),
        _turns(turn),
    ]
    if local:
        row.insert(3, fmt_amount(s.backlog_local, local))
        row.insert(5, fmt_amount(s.inventory_local, local, missing="—"))
    return row


def _turns(turn: MemberChange | None) -> str:
    if turn is None or turn.value.value is None:
        return "—"
    return f"{turn.value.value:.1f}"


# --- the league table -------------------------------------------------------------------------


def _cell(kpi: Kpi, cell: MemberChange | None, position: int | None) -> html.Td:
    if cell is None or cell.value.value is None:
        return html.Td("—", className="league-cell league-cell--none")
    arrow = ""
    if cell.change.verdict is not None:
        up = (cell.change.delta or 0) > 0
        arrow = "▶" if cell.change.verdict == "same" else ("▲" if up else "▼")
    return html.Td(
        [
            html.Span(kpi_ui.value_text(kpi, cell.value.value), className="league-value"),
            html.Span(
                f" {arrow} {cell.change.text}" if arrow else "",
                className=f"league-change kpi-change--{cell.change.verdict or 'none'}",
            ),
        ],
        className=f"league-cell league-cell--{kpi_ui.tone(cell.status)} col-num",
        title=(
            f"{kpi.label}: {kpi_ui.value_text(kpi, cell.value.value)}, "
            f"{cell.change.text} vs the previous span"
            + (f"; position {position} (1 = worst)" if position else "")
        ),
    )


def league_panel(league: LeagueTable, view: Filters) -> html.Section:
    """Every certified KPI by site, sites worst first."""
    if not league.rows:
        body: Any = ui.empty_state("No site figures", "No certified KPI has values by site here.")
    else:
        head = html.Tr(
            [
                html.Th("#", scope="col"),
                html.Th("Site", scope="col"),
                *[html.Th(k.label, scope="col", className="col-num") for k in league.kpis],
            ]
        )
        rows = [
            html.Tr(
                [
                    html.Td(str(rank)),
                    html.Td(
                        dcc.Link(
                            r.location_id,
                            href="/executive"
                            + replace(view, location=r.location_id).query_string(),
                            title=f"The executive summary of {r.location_id}",
                        )
                    ),
                    *[_cell(k, r.cells.get(k.name), r.positions.get(k.name)) for k in league.kpis],
                ],
                id=f"executive-league-{r.location_id}",
                className="league-row",
            )
            for rank, r in enumerate(league.rows, start=1)
        ]
        body = html.Div(
            html.Table(
                [html.Thead(head), html.Tbody(rows)],
                className="table league-table",
                id="executive-league-table",
            ),
            className="table-wrap",
        )
    notes = [
        html.P(f"{u.kpi.label}: {u.refused.reason}", className="caption")
        for u in league.unavailable
    ]
    return ui.panel(
        "Sites, worst first",
        [body, *notes],
        subtitle=(
            "Each certified KPI by site; ranked by KPIs in breach, then in warning, then by "
            "the mean position in each KPI (▲▼ change against the previous span)"
        ),
        panel_id="executive-league",
    )
