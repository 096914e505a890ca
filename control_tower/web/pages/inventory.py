"""Inventory: the stock position of every item at every site on a snapshot day, in units and
in value, for planners, warehouse supervisors, executives and finance.

Route `/inventory`. The latest snapshot day by default (a picker lists the others); filters:
site, category and a search on the item's id or description. Tiles: inventory value in the
reporting currency (and per entity currency), available units, on order, and the item-sites
out of stock. The grid lists each item at each site: on hand, allocated, quarantined, in
transit, available, on order, days of cover, value in the entity's currency and in the
reporting currency, and the change since the previous snapshot. Selecting a row shows the
item's movements at the site (receipts, shipments, adjustments, counts, stock transfers) and,
for the roles that plan, a link to its projection (`/planner/<site>/<item>`).

Every figure is a row of the governed model `inventory_position_values`, built for the day
and the user's scope (`control_tower.views.inventory`): a supervisor scoped to a site sees
that site only, its totals included.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from control_tower.storage.serving import NoSnapshotError
from control_tower.views import inventory as iv
from control_tower.views.sites import sites
from control_tower.web import components as ui
from control_tower.web.auth import require
from control_tower.web.format import DASH, fmt_int, fmt_money
from control_tower.web.grid import int_col, number_format, paged_grid, text_col
from control_tower.web.pages._planner import ROLES as PLANNING_ROLES
from control_tower.web.pages._planner import drill_path
from control_tower.web.runtime import web_context

ROLES = ("planner", "warehouse_supervisor", "executive", "finance", "admin")

dash.register_page(
    __name__,
    path="/inventory",
    name="Inventory",
    title="Inventory · Control Tower",
    description="Stock by site, category and item on a snapshot day, in units and in value.",
    order=41,  # after each role's own first page (finance starts on /finance)
    roles=ROLES,
)

DAY = "inventory-day"
SITE = "inventory-site"
CATEGORY = "inventory-category"
SEARCH = "inventory-search"
TILES = "inventory-tiles"
CAPTION = "inventory-caption"
GRID = "inventory-grid"
DRILL = "inventory-drill"
ALL = ""  # the dropdowns' "every site / category" value

_QTY = number_format(",.0f", "—")
_MONEY = number_format(",.0f", "—")
_DAYS = number_format(",.1f", "—")
_CHANGE = number_format("+,.0f", "—")

COLUMNS = [
    text_col("location_id", "Site", width=95, pinned="left"),
    text_col("category", "Category", width=120),
    text_col("item_id", "Item", width=110, pinned="left"),
    text_col("description", "Description", minWidth=160, flex=1),
    int_col("on_hand_units", "On hand", width=105, valueFormatter=_QTY),
    int_col("allocated_units", "Allocated", width=105, valueFormatter=_QTY),
    int_col("quarantined_units", "Quarantined", width=115, valueFormatter=_QTY),
    int_col("in_transit_units", "In transit", width=105, valueFormatter=_QTY),
    int_col("available_units", "Available", width=105, valueFormatter=_QTY),
    int_col("on_order_units", "On order", width=105, valueFormatter=_QTY),
    int_col("days_of_cover", "Days of cover", width=120, valueFormatter=_DAYS),
    int_col("inventory_value_entity", "Value (entity)", width=130, valueFormatter=_MONEY),
    text_col("entity_currency", "Cur.", width=80),
    int_col("inventory_value", "Value (reporting)", width=145, valueFormatter=_MONEY),
    int_col("on_hand_change", "Δ on hand", width=110, valueFormatter=_CHANGE),
    int_col("available_change", "Δ available", width=115, valueFormatter=_CHANGE),
]


def _options(values: list[tuple[str, str]], every: str) -> list[dict[str, str]]:
    return [{"label": every, "value": ALL}, *({"label": t, "value": v} for v, t in values)]


def layout(**_query: str) -> html.Div:
    """The page's frame: the day, the filters, the tiles, the grid and the drill."""
    user = require(roles=ROLES)
    days: list[date] = []
    site_options: list[dict[str, str]] = _options([], "All sites")
    category_options: list[dict[str, str]] = _options([], "All categories")
    try:
        with web_context().snapshot() as cur:
            as_of = iv.data_as_of(cur)
            days = iv.snapshot_days(cur, user.scope, as_of) if as_of else []
            site_options = _options(
                [(s.location_id, s.label) for s in sites(cur, user.scope)], "All sites"
            )
            category_options = _options([(c, c) for c in iv.categories(cur)], "All categories")
    except NoSnapshotError:
        pass
    day_options = [{"label": d.isoformat(), "value": d.isoformat()} for d in days]
    return html.Div(
        className="page page--inventory",
        children=[
            html.Div(
                [html.H1("Inventory"), html.P(id=CAPTION, className="page-subtitle")],
                className="page-head",
            ),
            html.Div(
                [
                    html.Label("Snapshot day", htmlFor=DAY),
                    dcc.Dropdown(
                        id=DAY,
                        options=day_options,
                        value=day_options[0]["value"] if day_options else None,
                        clearable=False,
                        style={"minWidth": "150px"},
                    ),
                    html.Label("Site", htmlFor=SITE),
                    dcc.Dropdown(
                        id=SITE,
                        options=site_options,
                        value=ALL,
                        clearable=False,
                        style={"minWidth": "220px"},
                    ),
                    html.Label("Category", htmlFor=CATEGORY),
                    dcc.Dropdown(
                        id=CATEGORY,
                        options=category_options,
                        value=ALL,
                        clearable=False,
                        style={"minWidth": "170px"},
                    ),
                    html.Label("Item", htmlFor=SEARCH),
                    dcc.Input(
                        id=SEARCH,
                        type="search",
                        placeholder="Item id or description",
                        debounce=True,
                        maxLength=100,
                    ),
                ],
                className="toolbar",
            ),
            html.Div(id=TILES, className="kpi-row"),
            ui.panel(
                "Positions",
                dag.AgGrid(
                    id=GRID,
                    columnDefs=COLUMNS,
                    **paged_grid(
                        page_size=50,
                        selection={
                            "mode": "singleRow",
                            "checkboxes": False,
                            "enableClickSelection": True,
                        },
                        class_name=f"grid {GRID}",
                        style={"height": "520px"},
                    ),
                ),
                subtitle="Each item at each site on the day. Available = on hand - allocated - "
                "quarantined; values at standard cost. Select a row for its movements.",
            ),
            ui.panel("Item at the site", html.Div(id=DRILL), subtitle=None),
        ],
    )


def _filters(site: Any, category: Any, search: Any) -> iv.Filters:
    text = (search or "").strip()
    return iv.Filters(
        location_id=site or None, category=category or None, search=text[:100] or None
    )


def _tiles(tiles: iv.Totals, reporting: str) -> list[html.Div]:
    by_currency = "; ".join(
        f"{currency} {DASH + ' (no rate)' if value is None else fmt_money(value)}"
        for currency, value in tiles.value_by_currency
    )
    return [
        ui.kpi(
            f"Inventory value ({reporting})",
            fmt_money(tiles.inventory_value),
            by_currency or None,
            kpi_id="inventory-tile-value",
        ),
        ui.kpi(
            "Available units",
            fmt_int(tiles.available_units),
            f"across {fmt_int(tiles.rows)} item-sites",
            kpi_id="inventory-tile-available",
        ),
        ui.kpi(
            "On order",
            fmt_int(tiles.on_order_units),
            f"{fmt_money(tiles.on_order_value)} {reporting} at cost",
            kpi_id="inventory-tile-on-order",
        ),
        ui.kpi(
            "Out of stock",
            fmt_int(tiles.out_of_stock),
            "item-sites with nothing available",
            tone="bad" if tiles.out_of_stock else "ok",
            kpi_id="inventory-tile-out",
        ),
    ]


@callback(
    Output(GRID, "rowData"),
    Output(TILES, "children"),
    Output(CAPTION, "children"),
    Input(DAY, "value"),
    Input(SITE, "value"),
    Input(CATEGORY, "value"),
    Input(SEARCH, "value"),
)
def load_positions(day: Any, site: Any, category: Any, search: Any) -> tuple[Any, Any, Any]:
    """The day's positions in the user's scope, with the tiles over them."""
    user = require(roles=ROLES)
    context = web_context()
    try:
        chosen = date.fromisoformat(day) if day else None
    except (TypeError, ValueError):
        return [], [], f"day={day!r} is not a date"
    try:
        with context.snapshot() as cur:
            as_of = iv.data_as_of(cur)
            if chosen is None or as_of is None:
                return [], [], "No inventory snapshot in your scope yet."
            rows = iv.positions(
                cur,
                context.catalog(),
                user.scope,
                as_of=as_of,
                day=chosen,
                filters=_filters(site, category, search),
            )
    except NoSnapshotError:
        return [], [], "No data has been published yet."
    reporting = rows[0]["reporting_currency"] if rows else ""
    grid = [
        {
            **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()},
            "row_id": f"{r['location_id']}|{r['item_id']}",
        }
        for r in rows
    ]
    caption = f"Stock on {chosen.isoformat()}: {fmt_int(len(rows))} items at sites"
    return grid, _tiles(iv.totals(rows), reporting or "reporting currency"), caption


@callback(Output(DRILL, "children"), Input(GRID, "selectedRows"), Input(DAY, "value"))
def drill(selected: Any, day: Any) -> Any:
    """The selected item's movements at its site, and the link to its projection."""
    user = require(roles=ROLES)
    row = selected[0] if selected else None
    if not row:
        return ui.empty_state("Select a row", "Its movements of the last 28 days appear here.")
    try:
        chosen = date.fromisoformat(day)
    except (TypeError, ValueError):
        return ui.empty_state("Choose a snapshot day")
    location_id, item_id = str(row["location_id"]), str(row["item_id"])
    try:
        with web_context().snapshot() as cur:
            moves = iv.movements(cur, user.scope, location_id, item_id, day=chosen)
    except NoSnapshotError:
        moves = []
    head: list[Any] = [html.Strong(f"{item_id} at {location_id}")]
    if user.role in PLANNING_ROLES:
        head += [
            " · ",
            dcc.Link(
                "Projection and open POs",
                href=dash.get_relative_path(drill_path(location_id, item_id)),
                id="inventory-projection-link",
            ),
        ]
    if not moves:
        table: Any = ui.empty_state(
            "No movements", f"Nothing moved in the {iv.MOVEMENT_DAYS} days up to {chosen}."
        )
    else:
        table = ui.simple_table(
            ["Day", "Movement", "Reference", ("Quantity", "num"), "Detail"],
            [(m.day.isoformat(), m.kind, m.reference, f"{m.qty:+,.0f}", m.detail) for m in moves],
            table_id="inventory-movements",
        )
    return html.Div(
        [
            html.P(head),
            html.P(f"Movements of the {iv.MOVEMENT_DAYS} days up to {chosen}, newest first."),
            table,
        ]
    )
