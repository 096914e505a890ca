"""Data health: did the extracts land, are they fresh, and which rows were refused and why.

Route `/data-health`, for admins only (page and callbacks). The page reads the newest
serving snapshot every 30 seconds: headline numbers, the scheduler's
heartbeat, recent runs, freshness per source table, notification deliveries
that failed (the outbox, from the app database), every batch, the
quarantine by reason and a quarantine browser (AG Grid's infinite row model,
sorted and filtered on the server). Selecting a batch filters the browser to
it. The queries live in `control_tower.ops.health`; callbacks here only shape
their answers for the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_ag_grid as dag
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from control_tower.ops import health
from control_tower.storage.serving import NoSnapshotError
from control_tower.views.config_status import config_status
from control_tower.web import components as ui
from control_tower.web import health_views as hv
from control_tower.web.auth import require
from control_tower.web.format import fmt_int, fmt_ts, plural
from control_tower.web.grid import (
    FILTER_PARAMS,
    ROW_ID,
    grid_options,
    int_col,
    ms_col,
    paged_grid,
    row_in,
    status_col,
    text_col,
)
from control_tower.web.health_views import REASON
from control_tower.web.runtime import web_context
from control_tower.web.warm import warmer

ROLES = ("admin",)  # the page and every callback below: require(roles=ROLES)

dash.register_page(
    __name__,
    path="/data-health",
    name="Data health",
    title="Data health · Control Tower",
    description="Landing runs, source freshness, batches and quarantined rows.",
    order=90,
    roles=ROLES,
)

REFRESH_MS = 30_000
BATCH_ROWS = 500  # newest batches shown in the batches grid
RUNS_SHOWN = 6

# Component ids, all prefixed with the page name.
INTERVAL = "data-health-interval"
SNAPSHOT = "data-health-snapshot"
ASOF = "data-health-asof"
EMPTY = "data-health-empty"
BODY = "data-health-body"
KPIS = "data-health-kpis"
SCHEDULER = "data-health-scheduler"
RUNS = "data-health-runs"
FRESHNESS = "data-health-freshness"
BATCHES = "data-health-batches"
BATCHES_FILTER = "data-health-batches-filter"
BATCHES_CAPTION = "data-health-batches-caption"
SUMMARY = "data-health-quarantine-summary"
QUARANTINE = "data-health-quarantine"
QUARANTINE_CAPTION = "data-health-quarantine-caption"
QUARANTINE_FOCUS = "data-health-quarantine-focus"
QUARANTINE_CLEAR = "data-health-quarantine-clear"
RECORD = "data-health-record"
DELIVERIES = "data-health-deliveries"
REFRESHED = "data-health-refreshed"

BATCH_FILTERS = {
    "all": ("All", {}),
    "problems": ("Rejected or failed", {"status": health.PROBLEM_STATUSES}),
    "quarantine": ("With quarantined rows", {"with_quarantine": True}),
}


# --- layout ---------------------------------------------------------------------------------


def _batches_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=BATCHES,
        columnDefs=[
            int_col("batch_id", "Batch", width=85, pinned="left", valueFormatter=None, sort="desc"),
            status_col("status", "Status", ui.grid_labels(ui.BATCH_STATUS), width=125),
            text_col("table_name", "Table", width=150, tooltipField="system_hint"),
            text_col("file_name", "File", width=170, tooltipField="source_hint"),
            text_col("started_at", "Started (UTC)", width=160),
            int_col("rows_read", "Read", width=85),
            int_col("rows_loaded", "Loaded", width=95, tooltipField="loaded_hint"),
            int_col("rows_quarantined", "Quarantined", width=125),
            ms_col("total_ms", "Time", width=80, tooltipField="timing"),
            text_col(
                "message",
                "Warnings / error",
                minWidth=200,
                flex=1,
                tooltipField="message",
                cellClass="cell-message",
            ),
        ],
        **paged_grid(
            page_size=15,
            selection={"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            class_name="grid grid--batches",
            domLayout="autoHeight",
            rowClassRules={"row-problem": row_in("status", health.PROBLEM_STATUSES)},
        ),
    )


def _quarantine_grid() -> dag.AgGrid:
    whole_row = {"headerTooltip": "Empty when the whole row could not be read"}
    return dag.AgGrid(
        id=QUARANTINE,
        rowModelType="infinite",
        columnDefs=[
            int_col("batch_id", "Batch", width=85, valueFormatter=None),
            text_col("table_name", "Table", width=150),
            text_col("file_name", "File", width=180),
            int_col("source_line", "Line", width=80, headerTooltip="Line in the file (header = 1)"),
            text_col("column_name", "Column", width=130, **whole_row),
            text_col("value", "Value", width=110),
            text_col("reason", "Reason", minWidth=280, flex=2, tooltipField="reason"),
            # Not shown: lets "Quarantine by reason" filter on a reason with its values masked.
            text_col("reason_kind", "Kind of reason", hide=True),
            text_col(
                "record",
                "Record as delivered",
                minWidth=220,
                flex=1,
                sortable=False,
                tooltipField="record",
                cellClass="cell-mono",
            ),
            {
                "field": "quarantined_at",
                "headerName": "Quarantined (UTC)",
                "width": 165,
                "filter": "agDateColumnFilter",
                "filterParams": {
                    **FILTER_PARAMS,
                    "inRangeInclusive": True,
                    "filterOptions": [
                        "equals",
                        "lessThan",
                        "greaterThan",
                        "inRange",
                    ],
                },
            },
        ],
        getRowId=ROW_ID,
        defaultColDef={"sortable": True, "resizable": True},
        dashGridOptions=grid_options(
            rowSelection={"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            cacheBlockSize=100,
            maxBlocksInCache=20,
            infiniteInitialRowCount=1,
            rowBuffer=10,
        ),
        className="grid grid--quarantine",
        style={"height": "420px"},
    )


def layout(**_query: str) -> html.Div:
    """The page's frame; every number is filled in by the callbacks below."""
    return html.Div(
        className="page page--data-health",
        children=[
            dcc.Interval(id=INTERVAL, interval=REFRESH_MS, n_intervals=0),
            dcc.Store(id=SNAPSHOT),
            dcc.Store(id=REFRESHED),
            html.Div(
                [html.H1("Data health"), html.P(id=ASOF, className="page-subtitle")],
                className="page-head",
            ),
            html.Div(id=EMPTY),
            html.Div(
                id=BODY,
                hidden=True,
                children=[
                    html.Div(id=KPIS, className="kpi-row"),
                    html.Div(
                        className="row row--ops",
                        children=[
                            ui.panel(
                                "Scheduler", html.Div(id=SCHEDULER), class_name="panel--scheduler"
                            ),
                            ui.panel(
                                "Recent runs",
                                html.Div(id=RUNS),
                                subtitle="Each run lands the inbox, then refreshes derived tables.",
                                class_name="panel--runs",
                            ),
                        ],
                    ),
                    ui.panel(
                        "Source freshness",
                        html.Div(id=FRESHNESS),
                        subtitle="Newest loaded batch of each source table against its SLA.",
                        panel_id="data-health-freshness-panel",
                    ),
                    ui.panel(
                        "Deliveries and configuration",
                        html.Div(id=DELIVERIES),
                        subtitle="Alert notices and action requests whose delivery failed "
                        "(waiting for a later run, or given up); the configuration files.",
                        panel_id="data-health-deliveries-panel",
                    ),
                    ui.panel(
                        "Batches",
                        [_batches_grid(), html.P(id=BATCHES_CAPTION, className="caption")],
                        subtitle="One batch per delivered file. Select one to see its quarantined rows.",
                        actions=dcc.RadioItems(
                            id=BATCHES_FILTER,
                            options=[
                                {"label": text, "value": key}
                                for key, (text, _) in BATCH_FILTERS.items()
                            ],
                            value="all",
                            inline=True,
                            className="segmented",
                        ),
                    ),
                    html.Div(
                        className="row row--quarantine",
                        children=[
                            ui.panel(
                                "Quarantine by reason",
                                html.Div(id=SUMMARY),
                                subtitle="Problems by table, column and reason. Select one to browse it.",
                                class_name="panel--summary",
                            ),
                            ui.panel(
                                "Quarantine browser",
                                [
                                    html.Div(
                                        [
                                            html.Span(id=QUARANTINE_FOCUS, className="focus-note"),
                                            html.Button(
                                                "Show all rows",
                                                id=QUARANTINE_CLEAR,
                                                className="button button--quiet",
                                                n_clicks=0,
                                            ),
                                            html.Span(
                                                id=QUARANTINE_CAPTION,
                                                className="caption",
                                                role="status",
                                            ),
                                        ],
                                        className="toolbar",
                                    ),
                                    _quarantine_grid(),
                                    html.Div(id=RECORD, className="record-detail"),
                                ],
                                subtitle="Every refused value with its file, line and the record "
                                "as delivered. Sorted and filtered on the server.",
                                class_name="panel--browser",
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


# --- callbacks ------------------------------------------------------------------------------


@callback(
    Output(ASOF, "children"),
    Output(EMPTY, "children"),
    Output(BODY, "hidden"),
    Output(KPIS, "children"),
    Output(SCHEDULER, "children"),
    Output(RUNS, "children"),
    Output(FRESHNESS, "children"),
    Output(SNAPSHOT, "data"),
    Input(INTERVAL, "n_intervals"),
    State(SNAPSHOT, "data"),
)
def refresh(_n: int, shown: str | None) -> tuple[Any, ...]:
    """Every 30 s: headline numbers, scheduler, runs and freshness from the newest snapshot."""
    require(roles=ROLES)
    app = web_context()
    now = health.utc_now()
    scheduler = hv.scheduler(health.scheduler_heartbeat(app.settings.serving_dir, now), now)
    refreshed = f"Refreshed {now:%H:%M:%S} UTC"
    try:
        snapshot = app.store.snapshot_path().name
        with app.snapshot() as cur:
            overview, runs, failing, freshness = _summary(cur, now)
    except NoSnapshotError:
        empty = ui.empty_state(
            "No data landed yet",
            [
                "Run ",
                html.Code("control-tower ingest"),
                f" to land the extracts in {app.settings.inbox}/{{erp,wms,tms}}/, or start ",
                html.Code("control-tower scheduler"),
                " to land them on a schedule. This page fills in by itself.",
            ],
        )
        gone = None if shown is not None else no_update
        return (refreshed, [empty, ui.panel("Scheduler", scheduler)], True, *[no_update] * 4, gone)
    asof = f"{refreshed} · {snapshot.removesuffix('.duckdb')}"
    if overview["last_run"] is not None:
        asof = f"Data as of the run at {fmt_ts(overview['last_run']['started_at'])} · {asof}"
    return (
        asof,
        None,
        False,
        hv.kpis(overview, now),
        scheduler,
        hv.runs(runs, failing),
        hv.freshness(freshness, now),
        snapshot if snapshot != shown else no_update,
    )


def _summary(cur: Any, now: datetime) -> tuple[Any, Any, Any, Any]:
    """Headline numbers, recent runs, failing steps and freshness, as of `now`."""
    return (
        health.health_overview(cur, now),
        health.recent_runs(cur, RUNS_SHOWN),
        health.failing_steps(cur, now),
        health.source_freshness(cur, now),
    )


@warmer("data-health")
def _warm(cur: Any, _context: Any, _scopes: Any) -> None:
    """What the page opens with: the summary, the batches and the quarantine by reason."""
    _summary(cur, health.utc_now())
    health.batches(cur, limit=BATCH_ROWS, **BATCH_FILTERS["all"][1])  # type: ignore[arg-type]
    health.quarantine_summary(cur)


@callback(Output(DELIVERIES, "children"), Input(INTERVAL, "n_intervals"))
def refresh_deliveries(_n: int) -> Any:
    """Every 30 s: the outboxes (app database) and the data folder's configuration files."""
    require(roles=ROLES)
    context = web_context()
    outboxes = hv.deliveries(*health.outbox_attention(context.exceptions))
    return html.Div([outboxes, hv.config_files(config_status(context.settings))])


@callback(
    Output(BATCHES, "rowData"),
    Output(BATCHES_CAPTION, "children"),
    Input(SNAPSHOT, "data"),
    Input(BATCHES_FILTER, "value"),
)
def load_batches(snapshot: str | None, choice: str) -> tuple[Any, Any]:
    """The newest batches (all, problems only, or those with quarantined rows)."""
    require(roles=ROLES)
    if snapshot is None:
        return [], ""
    _label, kwargs = BATCH_FILTERS.get(choice, BATCH_FILTERS["all"])
    try:
        with web_context().snapshot() as cur:
            page = health.batches(cur, limit=BATCH_ROWS, **kwargs)  # type: ignore[arg-type]
    except NoSnapshotError:
        return [], ""
    shown = len(page.rows)
    caption = (
        f"Showing the newest {fmt_int(shown)} of {fmt_int(page.total)} batches."
        if shown < page.total
        else plural(page.total, "batch", "batches") + "."
    )
    return [hv.batch_row(b) for b in page.rows], caption


@callback(Output(SUMMARY, "children"), Input(SNAPSHOT, "data"))
def load_summary(snapshot: str | None) -> Any:
    """Quarantine problems by table, column and reason."""
    require(roles=ROLES)
    if snapshot is None:
        return None
    try:
        with web_context().snapshot() as cur:
            return hv.summary(health.quarantine_summary(cur))
    except NoSnapshotError:
        return None


@callback(
    Output(QUARANTINE, "getRowsResponse"),
    Output(QUARANTINE_CAPTION, "children"),
    Input(QUARANTINE, "getRowsRequest"),
)
def quarantine_block(request: dict[str, Any] | None) -> tuple[Any, Any]:
    """One block of the quarantine browser, sorted and filtered on the server."""
    require(roles=ROLES)
    if not request:
        return no_update, no_update
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + 100), start)
    filters = request.get("filterModel") or {}
    try:
        with web_context().snapshot() as cur:
            page = health.quarantine_rows(
                cur,
                offset=start,
                limit=min(end - start, health.MAX_PAGE_ROWS),
                sort_model=request.get("sortModel"),
                filter_model=filters,
            )
    except NoSnapshotError:
        return {"rowData": [], "rowCount": 0}, "No data landed yet."
    except health.HealthQueryError as exc:
        return {"rowData": [], "rowCount": 0}, f"Cannot apply this filter: {exc}"
    if page.total == 0:
        caption = "No quarantined rows match this filter." if filters else "No quarantined rows."
    else:
        caption = plural(page.total, "problem") + (" match" if filters else " in quarantine")
    return {"rowData": [hv.quarantine_row(q) for q in page.rows], "rowCount": page.total}, caption


@callback(
    Output(QUARANTINE, "filterModel"),
    Output(QUARANTINE_FOCUS, "children"),
    Input(BATCHES, "selectedRows"),
    Input(QUARANTINE_CLEAR, "n_clicks"),
    Input({"type": REASON, "table": ALL, "column": ALL, "reason": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def focus_quarantine(
    selected: list[dict[str, Any]] | None, _clear: int, _reasons: list[int]
) -> tuple[Any, Any]:
    """Point the quarantine browser at a batch, or at one kind of problem, or at everything."""
    require(roles=ROLES)
    trigger = ctx.triggered_id
    if trigger == BATCHES and selected:
        batch = selected[0]
        model = {
            "batch_id": {"filterType": "number", "type": "equals", "filter": batch["batch_id"]}
        }
        return model, f"Batch #{batch['batch_id']} · {batch.get('file_name', '')}"
    if isinstance(trigger, dict) and trigger.get("type") == REASON:
        # Read the click count from inputs_list: ctx.triggered has no value for ids with
        # non-ASCII text (Dash 4.4). A count of 0 means the list was re-rendered, not clicked.
        clicks = [i.get("value") for i in ctx.inputs_list[2] if i.get("id") == trigger]
        if not any(clicks):
            return no_update, no_update
        table, column = trigger["table"], trigger["column"]
        model: dict[str, Any] = {
            "table_name": {"filterType": "text", "type": "equals", "filter": table}
        }
        model["column_name"] = (
            {"filterType": "text", "type": "equals", "filter": column}
            if column
            else {"filterType": "text", "type": "blank"}
        )
        model["reason_kind"] = {"filterType": "text", "type": "equals", "filter": trigger["reason"]}
        return model, f"{table} · {column or 'whole row'} · {trigger['reason']}"
    if trigger == QUARANTINE_CLEAR:
        return {}, None
    return no_update, no_update


@callback(Output(RECORD, "children"), Input(QUARANTINE, "selectedRows"), prevent_initial_call=True)
def show_record(selected: list[dict[str, Any]] | None) -> Any:
    """The selected quarantine row's record as delivered, pretty-printed."""
    require(roles=ROLES)
    return hv.record(selected[0]) if selected else None


# A new snapshot: reload the blocks the quarantine browser has cached.
clientside_callback(
    ClientsideFunction("controlTower", "quarantineSnapshotChanged"),
    Output(REFRESHED, "data"),
    Input(SNAPSHOT, "data"),
    prevent_initial_call=True,
)
