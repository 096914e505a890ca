"""KPI catalog: every governed KPI, what it means, who owns it, what it reads and its SQL.

Route `/catalog`, for every role. One card per KPI (certified first): label,
name, description, owner, status, version, unit, target and thresholds; the
model it is computed from and each landed table it reads with that table's
freshness (`ops.table_freshness`); who signed off its current version; its
versions (`ops.kpi_versions`) with the approver of each certified one and the
diff of each version from the one before; and the SQL it compiles to, folded
away: a card's SQL is sent only when its reader unfolds it (`show_sql`), so
the list stays small. A search box filters by name, label, owner or status.
Definitions carry no rows, so the cards are the same for every user; a user
holding `kpi_owner` also gets "Certify version N" on each draft
(`_catalog_signoff`). Figures are on each KPI's detail page.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from control_tower import accounts
from control_tower.kpi.catalog import Catalog, HistoryRecord, Kpi, SignOff
from control_tower.kpi.serving import latest_as_of
from control_tower.ops.freshness import freshness_status
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.kpi import (
    TableFreshness,
    compiled_sql,
    histories,
    table_freshness,
    utc_now,
)
from control_tower.web import components as ui
from control_tower.web import kpi_ui
from control_tower.web.auth import require
from control_tower.web.format import DASH, fmt_ago, fmt_hours, fmt_int, fmt_ts, plural
from control_tower.web.pages import _catalog_signoff as signoff
from control_tower.web.runtime import WebContext, web_context
from control_tower.web.warm import warmer

ROLES = accounts.ROLES  # every role

dash.register_page(
    __name__,
    path="/catalog",
    name="KPI catalog",
    title="KPI catalog · Control Tower",
    description="Every governed KPI: definition, owner, version, sources and SQL.",
    order=60,
    roles=ROLES,
)

SEARCH = "catalog-search"
STATUS = "catalog-status"
LIST = "catalog-list"
COUNT = "catalog-count"
SQL_TOGGLE = "catalog-sql-toggle"  # pattern-matching id types, {"type": ..., "kpi": name}
SQL = "catalog-sql"
SQL_PENDING = "Compiling the SQL…"
SQL_SHOWN = "catalog-sql-shown"  # the class of a card's SQL once it has been sent
STATUS_CHOICES = {"all": "All", "certified": "Certified", "draft": "Draft"}
STATUS_ORDER = {"certified": 0, "draft": 1, "deprecated": 2}


def layout(**query: str) -> html.Div:
    """Search and status filter (from the URL's `q` and `status`); the cards come from `show`."""
    require(roles=ROLES)
    status = query.get("status") if query.get("status") in STATUS_CHOICES else "all"
    return html.Div(
        className="page page--kpi page--catalog",
        children=[
            html.Div(
                [
                    html.H1("KPI catalog"),
                    html.P(
                        "The governed definitions every page, export and API answer uses.",
                        className="page-subtitle",
                    ),
                ],
                className="page-head",
            ),
            html.Div(
                [
                    html.Label("Search", htmlFor=SEARCH, className="catalog-search-label"),
                    dcc.Input(
                        id=SEARCH,
                        type="search",
                        value=(query.get("q") or "")[:80],
                        placeholder="Search name, label, owner or status",
                        debounce=0.25,
                        className="catalog-search",
                    ),
                    dcc.RadioItems(
                        id=STATUS,
                        options=[{"label": v, "value": k} for k, v in STATUS_CHOICES.items()],
                        value=status,
                        inline=True,
                        className="segmented",
                    ),
                    html.Span(id=COUNT, className="caption", role="status"),
                ],
                className="toolbar catalog-toolbar",
                role="search",
            ),
            dcc.Loading(html.Div(id=LIST, className="catalog-list"), type="dot", delay_show=300),
        ],
    )


def matches(kpi: Kpi, words: str, status: str) -> bool:
    """Whether a KPI is kept by the search words (all must match) and the status choice."""
    if status != "all" and kpi.status != status:
        return False
    haystack = " ".join((kpi.name, kpi.label, kpi.owner, kpi.status, kpi.unit)).lower()
    return all(word in haystack for word in words.lower().split())


# --- views ----------------------------------------------------------------------------------


def _tables(kpi: Kpi, fresh: dict[str, TableFreshness], now: Any) -> Any:
    rows = []
    for table in kpi.model.tables:
        f = fresh.get(table)
        if f is None:
            rows.append([html.Span(table, className="mono"), "derived", DASH, DASH, DASH])
            continue
        status = freshness_status(f.last_loaded_at, f.sla_hours or 0, now)
        rows.append(
            [
                html.Span(table, className="mono"),
                ui.badge(status, ui.FRESHNESS),
                html.Span(fmt_ago(f.last_loaded_at, now), title=fmt_ts(f.last_loaded_at)),
                fmt_hours(f.sla_hours),
                fmt_int(f.row_count),
            ]
        )
    return ui.simple_table(
        ["Table", "Freshness", "Last loaded", "SLA", ("Rows", "num")],
        rows,
        class_name="table--compact",
    )


def _card(
    kpi: Kpi,
    fresh: dict[str, TableFreshness],
    records: list[HistoryRecord],
    signoffs: tuple[SignOff, ...],
    now: Any,
) -> html.Article:
    dims = ", ".join(kpi_ui.dimension_label(d) for d in kpi.dimensions) or "none"
    facts = [
        ("Owner", kpi.owner),
        ("Version", f"v{kpi.version}"),
        (
            "Certified",
            html.Span(
                kpi_ui.certified_text(kpi), id={"type": signoff.CERTIFIED_BY, "kpi": kpi.name}
            ),
        ),
        ("Unit", f"{kpi.unit} ({kpi.format}), {kpi_ui.direction_text(kpi)}"),
        ("Target", kpi_ui.thresholds_text(kpi)),
        ("Type", kpi.type),
        ("Time", kpi.time_dimension),
        ("Breakdowns", dims),
        ("Exception types", kpi_ui.exception_types_text(kpi)),
        ("Model", f"{kpi.model.name} — {kpi.model.grain}"),
    ]
    return html.Article(
        [
            html.Div(
                [
                    html.H2(
                        dcc.Link(kpi.label, href=f"/kpi/{kpi.name}", className="catalog-title")
                    ),
                    html.Code(kpi.name),
                    html.Span(
                        kpi_ui.governance_badge(kpi.status),
                        id={"type": signoff.STATUS, "kpi": kpi.name},
                    ),
                    html.Span(f"v{kpi.version}", className="muted"),
                ],
                className="catalog-card-head",
            ),
            html.P(kpi.description, className="kpi-description"),
            html.Dl(
                [item for label, value in facts for item in (html.Dt(label), html.Dd(value))],
                className="facts",
            ),
            html.H3("Tables it reads"),
            _tables(kpi, fresh, now),
            html.H3("Version history"),
            html.Div(
                signoff.history_section(kpi, records, signoffs),
                id={"type": signoff.HISTORY, "kpi": kpi.name},
            ),
            html.Details(
                [
                    html.Summary(
                        "Compiled SQL (by day, overall)",
                        id={"type": SQL_TOGGLE, "kpi": kpi.name},
                    ),
                    html.Pre(
                        html.Code(SQL_PENDING, id={"type": SQL, "kpi": kpi.name}),
                        className="catalog-sql",
                    ),
                ],
                className="catalog-sql-details",
            ),
        ],
        className="panel catalog-card",
        id=f"catalog-card-{kpi.name}",
    )


# --- callback -------------------------------------------------------------------------------


@callback(
    Output(LIST, "children"),
    Output(COUNT, "children"),
    Input(SEARCH, "value"),
    Input(STATUS, "value"),
)
def show(words: Any, status: Any) -> tuple[Any, Any]:
    """The KPIs matching the search and status, certified first."""
    user = require(roles=ROLES)
    context = web_context()
    catalog = context.catalog()
    words = words[:80] if isinstance(words, str) else ""
    status = status if status in STATUS_CHOICES else "all"
    kept = sorted(
        (k for k in catalog.kpis.values() if matches(k, words, status)),
        key=lambda k: (STATUS_ORDER.get(k.status, 9), k.label.lower()),
    )
    count = f"{plural(len(kept), 'KPI')} of {len(catalog.kpis)}"
    if not kept:
        return ui.empty_state("No KPI matches", "Try fewer words, or another status."), count
    try:
        with context.snapshot() as cur:
            cards = _cards(cur, catalog, context)
    except NoSnapshotError:
        cards = _cards(None, catalog, context)
    if not signoff.may_certify(user):
        return [cards[k.name] for k in kept], count
    return [_with_form(cards[k.name], k) for k in kept], count


def _with_form(card: html.Article, kpi: Kpi) -> html.Article:
    """A draft's card with the sign-off form (a new card: the cached one is shared)."""
    if kpi.status != "draft":
        return card
    return html.Article(
        [*card.children, signoff.certify_form(kpi)], className=card.className, id=card.id
    )


def _cards(cur: Any, catalog: Catalog, context: WebContext) -> dict[str, html.Article]:
    """Every KPI's card by name, built once per snapshot, catalog, sign-offs and minute (a
    card says how long ago its tables were loaded) and shared by every search."""
    now = utc_now().replace(second=0, microsecond=0)
    kpis = list(catalog.kpis.values())
    signoffs = catalog.signoffs

    def build() -> dict[str, html.Article]:
        fresh = table_freshness(cur) if cur is not None else {}
        records = histories(cur) if cur is not None else {}
        return {k.name: _card(k, fresh, records.get(k.name, []), signoffs, now) for k in kpis}

    if cur is None:
        return build()
    key = ("catalog.cards", now, tuple((k.name, k.content_hash) for k in kpis), signoffs)
    return context.cache("catalog.cards", 1).get(cur, key, build)


@warmer("catalog")
def _warm(cur: Any, context: WebContext, _scopes: Any) -> None:
    """The cards and the lookups they show (the same for every user)."""
    _cards(cur, context.catalog(), context)


@callback(
    Output({"type": SQL, "kpi": MATCH}, "children"),
    Output({"type": SQL, "kpi": MATCH}, "className"),
    Input({"type": SQL_TOGGLE, "kpi": MATCH}, "n_clicks"),
    State({"type": SQL, "kpi": MATCH}, "className"),
    prevent_initial_call=True,
)
def show_sql(_clicks: Any, shown: Any) -> tuple[str, str]:
    """The SQL of the KPI whose "Compiled SQL" was unfolded, compiled as of the values' day
    (sent once per card: later clicks fold and unfold what is there)."""
    require(roles=ROLES)
    if shown == SQL_SHOWN:
        raise PreventUpdate
    trigger = ctx.triggered_id
    name = trigger.get("kpi") if isinstance(trigger, dict) else None
    kpi = web_context().catalog().kpis.get(str(name))
    if kpi is None:
        return f"-- no KPI is named {name!r} in the catalog", SQL_SHOWN
    try:
        with web_context().snapshot() as cur:
            as_of = latest_as_of(cur)
    except NoSnapshotError:
        as_of = None
    return compiled_sql(kpi, as_of or utc_now().date()), SQL_SHOWN


@callback(
    Output({"type": signoff.RESULT, "kpi": MATCH}, "children"),
    Output({"type": signoff.FORM, "kpi": MATCH}, "hidden"),
    Output({"type": signoff.STATUS, "kpi": MATCH}, "children"),
    Output({"type": signoff.CERTIFIED_BY, "kpi": MATCH}, "children"),
    Output({"type": signoff.HISTORY, "kpi": MATCH}, "children"),
    Input({"type": signoff.CERTIFY, "kpi": MATCH}, "n_clicks"),
    State({"type": signoff.CERTIFY, "kpi": MATCH}, "id"),
    State({"type": signoff.NOTE, "kpi": MATCH}, "value"),
    State({"type": signoff.SEEN, "kpi": MATCH}, "data"),
    prevent_initial_call=True,
)
def certify_version(clicks: Any, button: Any, note: Any, seen: Any) -> tuple[Any, ...]:
    """Sign off the version the form was drawn for, as the signed-in user: a public endpoint,
    so the permission (kpi_owner) is checked here on the server, whoever posts it."""
    user = require(roles=ROLES)
    if not clicks:
        raise PreventUpdate
    name = str(button.get("kpi")) if isinstance(button, dict) else ""
    return signoff.sign_off(user, name, note, seen)
