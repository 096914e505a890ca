"""The finance page's money panels: goods received not invoiced, returns awaiting credit,
unmatched invoice value and inventory write-offs (`control_tower.views.finance_money`).

Each panel shows its total in the reporting currency with the amounts per entity currency, the
lines without a rate (never counted as 0), and its breakdowns; every figure links to its lines
on `/finance/lines`.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from control_tower.views import finance_money as fm
from control_tower.web import components as ui
from control_tower.web.filters import Filters, link
from control_tower.web.format import fmt_int, fmt_money, plural

LINES_PATH = "/finance/lines"
GROUP_LABELS = {
    "age_bucket": "Age",
    "supplier_id": "Supplier",
    "reason_code": "Reason",
    "match_status": "Match status",
    "location_id": "Site",
}
SUBTITLES = {
    "grni": "Now: good quantity received (received less damaged) less the quantity invoiced, "
    "per PO line, at the PO unit cost; aged from the first receipt not yet invoiced. Rate of "
    "the day before the data's day.",
    "returns": "Now: return lines not yet credited, at the order line's unit price; aged from "
    "the return. Rate of the day before the data's day.",
    "unmatched": "Invoice lines dated in the range whose match status is not matched, at the "
    "invoiced unit cost. Month average rate of each invoice's month.",
    "writeoffs": "Stock adjustments down (qty_delta < 0) in the range, at the item's standard "
    "cost (reporting currency); entity currency at the month average.",
}


def lines_href(
    view: Filters, kind: str, group: str | None = None, member: str | None = None
) -> str:
    """The lines page of a money figure (one member of a breakdown when given)."""
    extra = {"what": kind, "by": group, "member": member if group else None}
    if group and member is None:
        extra["member"] = fm.NONE_MEMBER
    return dash.get_relative_path(link(LINES_PATH, view, **extra))


def amount_text(amounts: fm.Amounts, currency: str | None) -> str:
    """The reporting-currency sum, e.g. `12,345 USD` (or a dash without any convertible line)."""
    if amounts.lines and amounts.unconverted == amounts.lines:
        return "no rate"
    return f"{fmt_money(amounts.reporting)} {currency or ''}".strip()


def currencies_text(amounts: fm.Amounts) -> str:
    """The sums per entity currency, e.g. `USD 197 · EUR 250`, and the lines without a rate."""
    parts = [f"{c or 'unknown currency'} {fmt_money(v)}" for c, v in amounts.by_currency]
    text = " · ".join(parts)
    if amounts.unconverted:
        text += f" · {plural(amounts.unconverted, 'line')} without a rate"
    return text


def _group_table(
    figure: fm.MoneyFigure, group: str, view: Filters, currency: str | None
) -> html.Div:
    rows = [
        [
            html.A(
                g.member if g.member is not None else "(none)",
                href=lines_href(view, figure.kind, group, g.member),
                id=f"finance-{figure.kind}-{group}-{g.member or 'none'}",
                className="mono" if group.endswith("_id") else "",
            ),
            fmt_int(g.amounts.lines),
            amount_text(g.amounts, currency),
            currencies_text(g.amounts),
        ]
        for g in figure.groups[group]
    ]
    return ui.simple_table(
        [GROUP_LABELS[group], ("Lines", "num"), ("Value", "num"), "In entity currency"],
        rows,
        table_id=f"finance-{figure.kind}-by-{group}",
        class_name="table--compact",
    )


def money_tile(figure: fm.MoneyFigure, view: Filters, currency: str | None) -> html.Div:
    """A headline tile of one figure, linked to its lines."""
    return ui.kpi(
        figure.label,
        dcc.Link(
            amount_text(figure.total, currency),
            href=lines_href(view, figure.kind),
            className="finance-figure",
            id=f"finance-{figure.kind}-total",
        ),
        f"{plural(figure.total.lines, 'line')} · {currencies_text(figure.total)}"
        if figure.total.lines
        else "no lines",
        tone="warn" if figure.total.unconverted else "",
        kpi_id=f"finance-kpi-{figure.kind}",
    )


def money_panel(figure: fm.MoneyFigure, view: Filters, currency: str | None) -> html.Section:
    """One figure's panel: its breakdowns with links to their lines."""
    if not figure.total.lines:
        body: Any = ui.empty_state(f"No {figure.label.lower()} in your scope")
    else:
        body = [
            html.Div(
                [
                    html.H3(f"By {GROUP_LABELS[g].lower()}", className="finance-subhead"),
                    _group_table(figure, g, view, currency),
                ]
            )
            for g in fm.GROUPS[figure.kind]
        ]
    return ui.panel(
        figure.label,
        body,
        subtitle=SUBTITLES[figure.kind],
        actions=dcc.Link("All lines", href=lines_href(view, figure.kind)),
        panel_id=f"finance-{figure.kind}-panel",
    )


def money_section(money: fm.FinanceMoney, view: Filters) -> tuple[list[Any], list[Any]]:
    """The tiles and panels of the four money figures."""
    currency = money.reporting_currency
    figures = [money.figures[k] for k in fm.KINDS]
    tiles = [money_tile(f, view, currency) for f in figures]
    panels = [
        html.Div([money_panel(f, view, currency) for f in figures[:2]], className="finance-grid"),
        html.Div([money_panel(f, view, currency) for f in figures[2:]], className="finance-grid"),
    ]
    return tiles, panels
