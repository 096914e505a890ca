"""Decision review: what was decided on the items resolved in a period, and what happened after.

Route `/decisions`, for planners, executives and admins. Every figure is read within the
user's row scope (`control_tower.views.decisions`, `control_tower.decisions.review`):

- a period picker (from, to; by default the last 28 days of the product clock);
- tiles: false positives that stocked out anyway, actions confirmed on time, re-promised
  dates met, each with its counts and the decisions too early to tell;
- the same measures per site and per person (who resolved, who requested);
- the stockout model's ranking against the days-of-cover rule (average precision, and
  precision of each day's top 25), overall and per site;
- the resolved items with their decision and outcome, each linking to its exception page.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from control_tower.decisions.outcomes import PeriodError, Question, model_horizon
from control_tower.decisions.review import Measure, Ranking
from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError
from control_tower.views import decisions as dv
from control_tower.web import components as ui
from control_tower.web.auth import require
from control_tower.web.format import plural
from control_tower.web.grid import int_col, number_format, paged_grid, text_col
from control_tower.web.runtime import web_context

ROLES = ("planner", "executive", "admin")

dash.register_page(
    __name__,
    path="/decisions",
    name="Decisions",
    title="Decision review · Control Tower",
    description="What was decided on resolved exceptions, and what happened after.",
    order=58,
    roles=ROLES,
)

START = "decisions-start"
END = "decisions-end"
CAPTION = "decisions-caption"
TILES = "decisions-tiles"
SITES = "decisions-sites"
PEOPLE = "decisions-people"
RANKING = "decisions-ranking"
ITEMS = "decisions-items"

_PCT = number_format(".0%", "—")
_NO_SELECTION = {"mode": "singleRow", "checkboxes": False, "enableClickSelection": False}


def _measure_cols(field: str, header: str, hits: str, counted: str) -> list[dict[str, Any]]:
    return [
        int_col(f"{field}_share", header, width=150, valueFormatter=_PCT),
        int_col(f"{field}_hits", hits, width=105),
        int_col(f"{field}_counted", counted, width=100),
        int_col(f"{field}_early", "Too early", width=100),
    ]


def _group_columns(header: str) -> list[dict[str, Any]]:
    return [
        text_col("key", header, width=130, pinned="left"),
        *_measure_cols("fp", "FP stocked out", "Stocked out", "FP known"),
        *_measure_cols("actions", "Actions on time", "On time", "Judged"),
        *_measure_cols("promises", "Re-promises met", "Met", "Known"),
    ]


ITEM_COLUMNS = [
    {
        "field": "id_link",
        "colId": "exception_id",
        "headerName": "ID",
        "cellRenderer": "markdown",
        "width": 90,
        "filter": False,
    },
    text_col("type", "Type", width=150),
    text_col("location_id", "Site", width=90),
    text_col("item_id", "Item", width=100),
    text_col("resolved_at", "Resolved", width=150, sort="desc"),
    text_col("resolution_code", "Decision", width=130),
    text_col("resolved_by", "By", width=100),
    text_col("promised_date", "Re-promised to", width=130),
    text_col("outcome", "Outcome", width=260, tooltipField="outcome"),
    text_col("requests", "Action requests", minWidth=260, flex=1, tooltipField="requests"),
]


def _grid(grid_id: str, columns: list[dict[str, Any]], height: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        **paged_grid(
            page_size=20,
            selection=_NO_SELECTION,
            class_name=f"grid {grid_id}",
            style={"height": height},
        ),
    )


def layout(**_query: str) -> html.Div:
    """The page's frame: the period picker, the tiles, the tables and the items."""
    require(roles=ROLES)
    period = dv.default_period(utc_now())
    return html.Div(
        className="page page--decisions",
        children=[
            html.Div(
                [
                    html.H1("Decision review"),
                    html.P(id=CAPTION, className="page-subtitle", role="status"),
                ],
                className="page-head",
            ),
            ui.panel(
                "Period",
                html.Div(
                    [
                        html.Label("Resolved from", htmlFor=START),
                        dcc.Input(id=START, type="date", value=period.start.isoformat()),
                        html.Label("to", htmlFor=END),
                        dcc.Input(id=END, type="date", value=period.end.isoformat()),
                    ],
                    className="toolbar",
                ),
                subtitle=f"By default the last {dv.PERIOD_DAYS} days.",
            ),
            html.Div(id=TILES, className="kpi-row"),
            ui.panel(
                "Per site",
                _grid(SITES, _group_columns("Site"), "260px"),
                subtitle="Each measure's share of the decisions whose outcome is known, with "
                "the counts; decisions too early to tell are counted apart.",
            ),
            ui.panel(
                "Per person",
                _grid(PEOPLE, _group_columns("Person"), "260px"),
                subtitle="False positives and re-promises by who resolved; actions by who "
                "requested them.",
            ),
            ui.panel(
                "Model against rule",
                html.Div(id=RANKING),
                subtitle="Stockout items first detected in the period, ranked by the model's "
                "probability and by the rule's days of cover, against whether they stocked out.",
            ),
            ui.panel(
                "Resolved items",
                _grid(ITEMS, ITEM_COLUMNS, "420px"),
                subtitle="Each item resolved in the period: the decision, who made it, what "
                "happened after and the action requests raised from it.",
            ),
        ],
    )


def _tile(m: Measure, tile_id: str, note: str) -> html.Div:
    f = m.overall
    detail = f"{plural(f.too_early, 'decision')} too early to tell. {note}"
    return ui.kpi(m.label, dv.share_text(f), detail, kpi_id=tile_id)


def _tiles(measures: list[Measure]) -> list[html.Div]:
    fp, actions, promises = measures
    precision = 1 - fp.overall.share if fp.overall.share is not None else None
    fp_note = (
        f"Precision of the false-positive calls: {precision:.0%}."
        if precision is not None
        else "No false-positive call is judged yet."
    )
    return [
        _tile(fp, "decisions-tile-fp", fp_note),
        _tile(actions, "decisions-tile-actions", "Confirmed by their expected date."),
        _tile(promises, "decisions-tile-promises", "Delivered in full by the new date."),
    ]


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _ranking_table(rows: list[Ranking]) -> html.Div:
    body = [
        [
            r.key or "All sites", str(r.items), str(r.events), str(r.too_early),
            str(r.unscored), _pct(r.model_ap), _pct(r.rule_ap), _pct(r.model_top),
            _pct(r.rule_top),
        ]
        for r in rows
    ]  # fmt: skip
    headers = [
        "Sites", ("Known", "num"), ("Stocked out", "num"), ("Too early", "num"),
        ("Rule only", "num"), ("Model AP", "num"), ("Rule AP", "num"),
        ("Model top 25", "num"), ("Rule top 25", "num"),
    ]  # fmt: skip
    return ui.simple_table(headers, body, table_id="decisions-ranking-table")


def _linked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        item = int(row["exception_id"])
        row["id_link"] = f"[#{item}]({dash.get_relative_path(f'/exceptions/{item}')})"
    return rows


@callback(
    Output(CAPTION, "children"),
    Output(TILES, "children"),
    Output(SITES, "rowData"),
    Output(PEOPLE, "rowData"),
    Output(RANKING, "children"),
    Output(ITEMS, "rowData"),
    Input(START, "value"),
    Input(END, "value"),
)
def load(start: Any, end: Any) -> tuple[Any, ...]:
    """The period's decisions and their outcomes in the user's scope."""
    user = require(roles=ROLES)
    context = web_context()
    now = utc_now()
    try:
        period = dv.chosen_period(start, end, now)
    except PeriodError as exc:
        return f"Not shown: {exc}", [], [], [], None, []
    try:
        with context.snapshot() as cur:
            question = Question(user.scope, period, now, model_horizon(cur))
            page = dv.decision_page(cur, context.exceptions, context.catalog(), question)
    except NoSnapshotError:
        return "No data has been published yet.", [], [], [], None, []
    shown = (
        f" (the latest {len(page.items):,} listed)" if page.items_total > len(page.items) else ""
    )
    caption = (
        f"{plural(page.items_total, 'item')} resolved from {period.start} to {period.end}"
        f"{shown}; outcomes read from the data as of {page.as_of or 'no day'}, stockouts "
        f"within {page.horizon} days of the decision."
    )
    return (
        caption,
        _tiles(page.measures),
        page.sites,
        page.people,
        _ranking_table(page.ranking),
        _linked(page.items),
    )
