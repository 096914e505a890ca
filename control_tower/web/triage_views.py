"""The triage queue shaped for the planner page: grid rows, queue status, captions, model note.

The ranked queue comes from `control_tower.planning.triage`; the rows built
from it are kept per snapshot, scope, filters and view in the app's cache
(`WebContext.cache`). Queue status and assignees (app database) are added on
every read.
"""

from __future__ import annotations

import re
from typing import Any

from dash import html

from control_tower.planning import model, projection, triage
from control_tower.web import filters
from control_tower.web.format import DASH, fmt_int
from control_tower.web.pages._planner import drill_path
from control_tower.web.risk_ui import champion_chart
from control_tower.web.runtime import web_context

ACTION_ICONS = {"transfer": "⇄", "expedite": "»", "raise_po": "+", "monitor": "◎"}
GRID_CACHE_SIZE = 64  # grid rows kept (per snapshot, scope, filters and view)


def md_text(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>" else c for c in text)


# Decimals sent per number column: what the grid shows, plus room for sorting and filtering.
GRID_DECIMALS = {
    "probability": 4,
    "value_at_risk": 2,
    "days_of_cover": 2,
    "on_hand_qty": 2,
    "available_qty": 2,
    "daily_demand": 2,
    "inbound_qty": 2,
    "lead_time_days": 2,
}
_EXPLANATION = re.compile(r"\s*\([^)]*\)")


def short_reasons(drivers: list[dict[str, Any]]) -> str:
    """The top drivers in a few words, without the explanations in parentheses of their labels
    (the drill shows them whole)."""
    return model.reasons(
        [{**d, "label": _EXPLANATION.sub("", str(d.get("label") or ""))} for d in drivers]
    )


def _rounded(value: Any, digits: int) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def grid_row(row: dict[str, Any], view: filters.Filters) -> dict[str, Any]:
    """A queue row as the grid shows it, without its queue status (`_with_status`): only the
    fields of its columns, numbers rounded (the answer of 500 rows stays small)."""
    suggestion: projection.Suggestion = row["suggestion"]
    receipt = row.get("next_receipt_date")
    stockout = row.get("stockout_date")
    return {
        "row_id": triage.queue_key(row["location_id"], row["item_id"]),
        "item_id": row["item_id"],
        "item_link": f"[{md_text(row['item_id'])}]"
        f"({filters.link(drill_path(row['location_id'], row['item_id']), view)})",
        "description": row.get("description"),
        "location_id": row["location_id"],
        **{name: _rounded(row.get(name), digits) for name, digits in GRID_DECIMALS.items()},
        "next_receipt": f"{receipt:%Y-%m-%d}" if receipt else DASH,
        "stockout_date": f"{stockout:%Y-%m-%d}" if stockout else DASH,
        "reasons": short_reasons(row.get("drivers") or [])
        or ("Days-of-cover rule" if row.get("source") == "rule" else DASH),
        "action": f"{ACTION_ICONS.get(suggestion.kind, '')} {suggestion.text}".strip(),
    }


def with_status(row: dict[str, Any], item: dict[str, Any] | None) -> dict[str, Any]:
    """A grid row (shared, left unchanged) with its queue item's status and assignee."""
    return {
        **row,
        "status": item["status"] if item else "none",
        "assignee": (item or {}).get("assignee") or "",
        "exc_id": item["id"] if item else None,
        "exc_version": item["version"] if item else None,
    }


def ranked_rows(
    cur: Any, scope: Any, min_probability: float | None, search: str | None, view: filters.Filters
) -> tuple[triage.Queue, dict[str, Any] | None, list[dict[str, Any]]]:
    """The ranked queue, the model card and the queue's grid rows (without queue status),
    kept per snapshot for this scope, these filters and this view (its links)."""
    key = (
        "planner.grid",
        tuple(sorted(scope.entities)),
        tuple(sorted(scope.locations)),
        min_probability or 0.0,
        search or "",
        view,
    )

    def make() -> tuple[triage.Queue, dict[str, Any] | None, list[dict[str, Any]]]:
        queue, card = triage.ranked_queue(
            cur,
            scope,
            min_probability=min_probability,
            search=search,
            cache=web_context().cache("planner.ranked_queue", triage.RANKED_CACHE_SIZE),
        )
        return queue, card, [grid_row(r, view) for r in queue.rows]

    return web_context().cache("planner.grid", GRID_CACHE_SIZE).get(cur, key, make)


def model_note(queue: triage.Queue, card: dict[str, Any] | None) -> Any:
    if queue.source == "rule":
        return html.Div(
            [
                html.Span("⚠", className="badge-icon", **{"aria-hidden": "true"}),
                html.Strong("Rule-based ranking: "),
                triage.RULE_BANNER[0].upper() + triage.RULE_BANNER[1:] + ".",
            ],
            className="planner-banner planner-banner--rule",
            id="planner-banner",
        )
    scored = f"Scores of {queue.as_of:%Y-%m-%d}" if queue.as_of else "Scores"
    if queue.horizon_days:
        scored += f" for a stockout within {queue.horizon_days} days"
    text = (
        model.describe_model(card) + "."
        if card
        else "No active stockout model is recorded in risk.models."
    )
    parts: list[Any] = [
        html.Span("ℹ", className="badge-icon", **{"aria-hidden": "true"}),
        html.Span(text, id="planner-model-accuracy"),
        html.Span(f" {scored}.", className="muted"),
    ]
    chart = champion_chart((card or {}).get("card") or {})
    if chart is not None:
        parts.append(
            html.Details(
                [html.Summary("Model vs rule, week by week (unseen test weeks)"), chart],
                className="planner-champion",
            )
        )
    return html.Div(parts, className="planner-banner planner-banner--model")


def caption(queue: triage.Queue) -> str:
    shown = len(queue.rows)
    what = "item-location" if queue.total == 1 else "item-locations"
    if queue.total == 0:
        return "No item-location matches."
    if shown < queue.total:
        return (
            f"Showing the top {fmt_int(shown)} of {fmt_int(queue.total)} {what} "
            "(narrow with the filters to see more)."
        )
    return f"{fmt_int(queue.total)} {what}, highest risk first."
