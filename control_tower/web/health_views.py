"""Data-health answers shaped for the page: headline tiles, scheduler, runs, freshness, quarantine.

Each function takes what `control_tower.ops.health` answers and returns Dash
components or grid rows; the page (`web/pages/data_health.py`) places them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dash import html

from control_tower.ops import health
from control_tower.web import components as ui
from control_tower.web.format import (
    DASH,
    fmt_ago,
    fmt_bytes,
    fmt_hours,
    fmt_int,
    fmt_ms,
    fmt_ts,
    fmt_ts_minutes,
    fmt_ts_seconds,
    plural,
)

REASON = "data-health-reason"  # pattern-matching id type of the quarantine summary's rows
# Freshness rows: the worst first.
SEVERITY = {"stale": 0, "never": 1, "fresh": 2}


def kpis(overview: health.HealthOverview, now: datetime) -> list[html.Div]:
    run = overview["last_run"]
    if run is None:
        last = ui.kpi(
            "Last run with new files", "No runs yet", "Nothing has been landed.", tone="idle"
        )
    else:
        _icon, _label, tone = ui.RUN_STATUS.get(run["status"], ("", "", "idle"))
        # A run that finds nothing new publishes nothing: the scheduler panel has the latest.
        last = ui.kpi(
            "Last run with new files",
            fmt_ago(run["started_at"], now),
            [
                ui.badge(run["status"], ui.RUN_STATUS),
                f" {fmt_ts(run['started_at'])} · {plural(run['files_seen'], 'file')}",
            ],
            tone=tone,
            kpi_id="data-health-kpi-run",
        )
    stale, never = overview["tables_stale"], overview["tables_never"]
    tables = ui.kpi(
        "Tables stale / never loaded",
        f"{fmt_int(stale)} / {fmt_int(never)}",
        f"{fmt_int(overview['tables_fresh'])} of {fmt_int(overview['tables_total'])} fresh",
        tone="warn" if stale else ("idle" if never else "ok"),
        kpi_id="data-health-kpi-tables",
    )
    quarantined = ui.kpi(
        "Rows quarantined",
        fmt_int(overview["rows_quarantined"]),
        plural(overview["problems"], "problem") + " recorded",
        tone="warn" if overview["rows_quarantined"] else "ok",
        kpi_id="data-health-kpi-quarantine",
    )
    others = [
        plural(overview["files_failed"], "failed file"),
        plural(overview["files_interrupted"], "interrupted file"),
    ]
    rejected = ui.kpi(
        "Rejected files",
        fmt_int(overview["files_rejected"]),
        " · ".join(others),
        tone="bad" if overview["files_rejected"] or overview["files_failed"] else "ok",
        kpi_id="data-health-kpi-rejected",
    )
    return [last, tables, quarantined, rejected]


def scheduler(status: health.SchedulerStatus, now: datetime) -> html.Div:
    facts = []
    if status["written_at"] is not None:
        facts.append(
            (
                "Last heartbeat",
                f"{fmt_ago(status['written_at'], now)} ({fmt_ts(status['written_at'])})",
            )
        )
    if status["every_minutes"] is not None:
        facts.append(("Runs every", fmt_hours(status["every_minutes"] / 60)))
    if status["last_run_at"] is not None:
        run_state = status["last_run_status"] or ""
        facts.append(("Last scheduled run", f"{fmt_ts(status['last_run_at'])} · {run_state}"))
    if status["next_run_at"] is not None:
        facts.append(("Next run", fmt_ts(status["next_run_at"])))
    return html.Div(
        [
            html.Div(
                [
                    ui.badge(status["state"], ui.SCHEDULER_STATE),
                    html.Span(status["message"], className="muted"),
                ],
                className="scheduler-state",
            ),
            html.Dl(
                [item for label, value in facts for item in (html.Dt(label), html.Dd(value))],
                className="facts",
            )
            if facts
            else None,
        ]
    )


def failing_steps(steps: list[health.StepRow]) -> Any:
    """Post-load steps that failed and wait for their next try, with their last error."""
    if not steps:
        return None
    table = ui.simple_table(
        ["Step", ("Failures in a row", "num"), "Failing since", "Next try", "Last error"],
        [
            [
                s["step"],
                fmt_int(s["failures"]),
                fmt_ts(s["first_failed_at"]),
                fmt_ts(s["next_try_at"]) if s["waiting"] else "next run",
                s["last_error"] or DASH,
            ]
            for s in steps
        ],
        class_name="table--compact table--failing-steps",
    )
    note = (
        "Failing post-load steps: runs skip them until their next try "
        "(control-tower ingest --retry-failed-steps tries them now)."
    )
    return html.Div([html.P(note, className="caption caption--problem"), table])


def runs(runs: list[health.RunRow], steps: list[health.StepRow] | None = None) -> Any:
    if not runs:
        return ui.empty_state("No pipeline runs yet")
    failing = failing_steps(steps or [])
    rows = []
    for run in runs:
        notes = run["error"] or (
            "failed steps: " + ", ".join(run["failed_steps"]) if run["failed_steps"] else ""
        )
        waiting = [s["name"] for s in run["steps"] if s.get("status") == "waiting"]
        if waiting:
            notes = "; ".join(n for n in (notes, "steps waiting: " + ", ".join(waiting)) if n)
        rows.append(
            [
                fmt_ts(run["started_at"]),
                run["trigger"],
                ui.badge(run["status"], ui.RUN_STATUS),
                DASH if run["seconds"] is None else fmt_ms(run["seconds"] * 1000),
                fmt_int(run["files_seen"]),
                fmt_int(run["rows_loaded"]),
                fmt_int(run["rows_quarantined"]),
                notes,
            ]
        )
    table = ui.simple_table(
        [
            "Started",
            "Trigger",
            "Status",
            ("Took", "num"),
            ("Files", "num"),
            ("Rows loaded", "num"),
            ("Quarantined", "num"),
            "Notes",
        ],
        rows,
        class_name="table--compact",
    )
    return table if failing is None else html.Div([failing, table])


def freshness(rows: list[health.FreshnessRow], now: datetime) -> Any:
    ordered = sorted(rows, key=lambda r: SEVERITY[r["status"]])
    body = []
    for r in ordered:
        body.append(
            [
                ui.badge(r["status"], ui.FRESHNESS),
                html.Span(r["table_name"], className="mono"),
                r["system"].upper(),
                html.Span(fmt_ago(r["last_loaded_at"], now), title=fmt_ts(r["last_loaded_at"])),
                fmt_hours(r["sla_hours"]),
                fmt_int(r["row_count"]),
                html.Span(fmt_ts(r["newest_data_at"]), title=r["data_time_column"] or ""),
                DASH if r["last_batch_id"] is None else f"#{r['last_batch_id']}",
                fmt_int(r["batches_rejected"]),
                fmt_int(r["rows_quarantined"]),
            ]
        )
    return ui.simple_table(
        [
            "Status",
            "Table",
            "System",
            "Last loaded",
            "SLA",
            ("Rows", "num"),
            "Newest data",
            ("Last batch", "num"),
            ("Rejected files", "num"),
            ("Quarantined rows", "num"),
        ],
        body,
        table_id="data-health-freshness-table",
        class_name="table--freshness",
    )


def summary(rows: list[health.QuarantineSummaryRow]) -> Any:
    if not rows:
        return ui.empty_state(
            "No quarantined rows", "Every delivered row passed the contract.", icon="✓"
        )
    top = max(r["problems"] for r in rows)
    items = []
    for r in rows:
        share = max(r["problems"] / top * 100, 2)
        items.append(
            html.Li(
                html.Button(
                    [
                        html.Div(
                            [
                                html.Span(r["table_name"] or "(unknown table)", className="mono"),
                                html.Span(
                                    f" · {r['column_name']}"
                                    if r["column_name"]
                                    else " · whole row",
                                    className="muted",
                                ),
                                html.Span(fmt_int(r["problems"]), className="reason-count"),
                            ],
                            className="reason-head",
                        ),
                        html.Div(r["reason"], className="reason-text", title=r["example"]),
                        html.Div(
                            html.Div(className="reason-bar-fill", style={"width": f"{share:.0f}%"}),
                            className="reason-bar",
                            **{"aria-hidden": "true"},
                        ),
                    ],
                    id={
                        "type": REASON,
                        "table": r["table_name"] or "",
                        "column": r["column_name"] or "",
                        "reason": r["reason"],
                    },
                    className="reason",
                    n_clicks=0,
                    title="Browse these rows",
                )
            )
        )
    return html.Ul(items, className="reason-list")


def batch_row(b: health.BatchRow) -> dict[str, Any]:
    timing = (
        f"read {fmt_ms(b['read_ms'])} · validate {fmt_ms(b['validate_ms'])} · "
        f"upsert {fmt_ms(b['upsert_ms'])}"
        if b["read_ms"] is not None
        else ""
    )
    older = (
        f"{plural(b['rows_stale'], 'row')} older than the warehouse's version, not applied"
        if b["rows_stale"]
        else None
    )
    return {
        "row_id": str(b["batch_id"]),
        "batch_id": b["batch_id"],
        "status": b["status"],
        "table_name": b["table_name"],
        "system_hint": f"{(b['system'] or '?').upper()} · {b['table_name'] or 'no table'}",
        "file_name": b["file_name"],
        "source_hint": f"{b['file_name']} · {b['file_format'] or '?'} · {fmt_bytes(b['file_bytes'])}",
        "started_at": fmt_ts_minutes(b["started_at"]),
        "rows_read": b["rows_read"],
        "rows_loaded": b["rows_inserted"] + b["rows_updated"],
        "loaded_hint": f"{fmt_int(b['rows_inserted'])} inserted · {fmt_int(b['rows_updated'])} updated",
        "rows_quarantined": b["rows_quarantined"],
        "total_ms": b["total_ms"],
        "timing": timing,
        "message": "; ".join(m for m in (b["error"], b["warnings"], older) if m),
    }


def quarantine_row(q: health.QuarantineRow) -> dict[str, Any]:
    return {
        **q,
        "row_id": str(q["quarantine_id"]),
        "quarantined_at": fmt_ts_seconds(q["quarantined_at"]),
    }


def record(row: dict[str, Any]) -> Any:
    raw = row.get("record") or ""
    try:
        pretty = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = raw
    where = f"batch #{row.get('batch_id')} · {row.get('file_name')} line {fmt_int(row.get('source_line'))}"
    column = row.get("column_name")
    return html.Div(
        [
            html.Div(
                [
                    html.Strong(where),
                    html.Span(
                        f" · {column} = {row.get('value')!r}" if column else " · whole row",
                        className="muted",
                    ),
                ]
            ),
            html.P(row.get("reason"), className="record-reason"),
            html.Pre(pretty or "(no record)", className="record-json"),
        ]
    )


DELIVERY_STATUS = {
    "pending": ("↻", "Pending", "warn"),
    "failed": ("✕", "Given up", "bad"),
}


def deliveries(
    counts: dict[str, int],
    rows: list[health.DeliveryRow],
    action_counts: dict[str, int] | None = None,
    action_rows: list[Any] | None = None,
) -> Any:
    """Alert e-mails and webhook posts waiting in the outbox or given up, newest first; then
    the action requests' deliveries (files, webhook) waiting for a retry or given up."""
    parts = [
        _delivery_table(
            counts,
            rows,
            ("Raised", "Rule"),
            lambda r: f"{r['rule']} · {r['scope_value']} ({r['kind']})",
            ("Every notification was delivered", "", "pending"),
        )
    ]
    if action_counts is not None:
        parts.append(
            _delivery_table(
                action_counts,
                action_rows or [],
                ("First try", "Request"),
                lambda r: f"{r['type']} · {r['request_uid']}",
                ("Every approved action request was delivered", "Action requests: ", "waiting"),
            )
        )
    return html.Div(parts)


def _delivery_table(
    counts: dict[str, int],
    rows: list[Any],
    heads: tuple[str, str],
    what: Callable[[Any], str],
    texts: tuple[str, str, str],
) -> Any:
    """One outbox's deliveries: `heads` name the first two columns, `what` describes a row;
    `texts`: what an empty outbox says, the caption's lead and the word for "pending"."""
    if not rows:
        return ui.empty_state(texts[0], icon="✓")
    table = ui.simple_table(
        [*heads, "Channel", "Status", ("Tries", "num"), "Next try", "Last error"],
        [
            [
                fmt_ts(r["created_at"]),
                what(r),
                r["channel"],
                ui.badge(r["status"], DELIVERY_STATUS),
                fmt_int(r["attempts"]),
                fmt_ts(r["next_attempt_at"]),
                r["error"] or DASH,
            ]
            for r in rows
        ],
        class_name="table--compact",
    )
    caption = (
        f"{texts[1]}{plural(counts['pending'], 'delivery', 'deliveries')} {texts[2]}, "
        f"{fmt_int(counts['failed'])} given up; newest {len(rows)} shown."
    )
    return html.Div([table, html.P(caption, className="caption")])


def config_files(files: list[Any]) -> Any:
    """The data folder's configuration files: absent, usable (with how many entries) or the
    mistake that stops the step that reads it (file, line, reason)."""
    rows = []
    for f in files:
        if not f.present:
            state: Any = html.Span("not present (nothing configured)", className="muted")
        elif f.problem:
            state = html.Span(f.problem, className="config-problem", role="alert")
        else:
            state = f"ok: {f.entries} declared"
        rows.append([html.Code(f.name), f.purpose, state])
    broken = sum(1 for f in files if f.problem)
    caption = (
        f"{broken} configuration file{'s' if broken != 1 else ''} cannot be used: fix the line "
        "named, then check with `control-tower requests check-rules` or `control-tower notify check`."
        if broken
        else "Every configuration file present can be used."
    )
    return html.Div(
        [
            html.H4("Configuration files"),
            html.P(caption, className="caption"),
            ui.simple_table(["File", "For", "State"], rows, table_id="data-health-config"),
        ]
    )
