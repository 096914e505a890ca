"""Small building blocks of pages: panels, KPI tiles, status badges, empty states, tables.

Status is never told by colour alone: every badge carries an icon and a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from control_tower.views import status

Tone = str  # ok, warn, bad, idle, info

# value -> (icon, label, tone), per vocabulary.
FRESHNESS = {
    "fresh": ("✓", "Fresh", "ok"),
    "stale": ("⚠", "Stale", "warn"),
    "never": ("○", "Never loaded", "idle"),
}
BATCH_STATUS = {
    "loaded": ("✓", "Loaded", "ok"),
    "skipped_duplicate": ("↷", "Duplicate", "idle"),
    "rejected": ("✕", "Rejected", "bad"),
    "failed": ("✕", "Failed", "bad"),
    "interrupted": ("⚠", "Interrupted", "warn"),
    "running": ("↻", "Running", "info"),
}
RUN_STATUS = {
    "ok": ("✓", "OK", "ok"),
    "partial": ("⚠", "Partial", "warn"),
    "stopped": ("■", "Stopped", "warn"),
    "failed": ("✕", "Failed", "bad"),
}
SCHEDULER_STATE = {
    "running": ("✓", "Running", "ok"),
    "late": ("⚠", "Late", "warn"),
    "absent": ("○", "Not running", "idle"),
    "unreadable": ("✕", "Unreadable", "bad"),
}


def badge(value: str, vocabulary: dict[str, tuple[str, str, str]]) -> html.Span:
    """A status badge: icon, word and tone from a vocabulary (unknown values shown as is)."""
    icon, label, tone = vocabulary.get(value, ("•", value, "idle"))
    return html.Span(
        [html.Span(icon, className="badge-icon", **{"aria-hidden": "true"}), label],
        className=f"badge badge--{tone}",
        title=value,
    )


def grid_labels(vocabulary: dict[str, tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """A vocabulary as `grid.status_col` labels: value -> ("icon word", tone)."""
    return {value: (f"{icon} {label}", tone) for value, (icon, label, tone) in vocabulary.items()}


def panel(
    title: str,
    children: Any,
    *,
    subtitle: Any = None,
    actions: Any = None,
    panel_id: str | None = None,
    class_name: str = "",
) -> html.Section:
    """A titled card holding one part of a page."""
    head = [
        html.Div(
            [html.H2(title), html.P(subtitle, className="panel-subtitle") if subtitle else None]
        )
    ]
    if actions is not None:
        head.append(html.Div(actions, className="panel-actions"))
    extra = {"id": panel_id} if panel_id else {}
    return html.Section(
        [html.Div(head, className="panel-head"), html.Div(children, className="panel-body")],
        className=f"panel {class_name}".strip(),
        **extra,
    )


def kpi(
    label: str, value: Any, detail: Any = None, *, tone: Tone = "", kpi_id: str = ""
) -> html.Div:
    """A headline number with its label and one line of context."""
    extra = {"id": kpi_id} if kpi_id else {}
    return html.Div(
        [
            html.Div(label, className="kpi-label"),
            html.Div(value, className="kpi-value"),
            html.Div(detail, className="kpi-detail") if detail is not None else None,
        ],
        className=f"kpi kpi--{tone}" if tone else "kpi",
        **extra,
    )


def empty_state(title: str, body: Any = None, *, icon: str = "○") -> html.Div:
    """What a panel shows when it has nothing to show, and what to do about it."""
    return html.Div(
        [
            html.Div(icon, className="empty-icon", **{"aria-hidden": "true"}),
            html.Div(
                [html.Strong(title), html.Div(body, className="empty-body") if body else None]
            ),
        ],
        className="empty",
        role="status",
    )


def simple_table(
    headers: Sequence[str | tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    table_id: str | None = None,
    class_name: str = "",
) -> html.Div:
    """A compact HTML table; a header given as (text, "num") is right-aligned."""
    head = []
    kinds = []
    for h in headers:
        text, kind = (h, "") if isinstance(h, str) else h
        kinds.append(kind)
        head.append(html.Th(text, className=f"col-{kind}" if kind else None, scope="col"))
    body = [
        html.Tr(
            [
                html.Td(cell, className=f"col-{kind}" if kind else None)
                for cell, kind in zip(row, kinds, strict=True)
            ]
        )
        for row in rows
    ]
    extra = {"id": table_id} if table_id else {}
    return html.Div(
        html.Table(
            [html.Thead(html.Tr(head)), html.Tbody(body)],
            className=f"table {class_name}".strip(),
            **extra,
        ),
        className="table-wrap",
    )


# Status words and icons come from one table (`views.status`), shared by every page.
SEVERITY = status.SEVERITY
EXCEPTION_STATUS = status.EXCEPTION_STATUS
SLA_STATE = status.SLA_STATUS
ACTION_RESULT = status.ACTION_RESULT
# The statuses a queue view may ask for (`exceptions.query.STATUS_CHOICES`), in words.
STATUS_CHOICE_LABELS = {
    "unresolved": "Unresolved",
    **{value: label for value, (_icon, label, _tone) in EXCEPTION_STATUS.items()},
    "all": "All",
}
# Resolution reason codes (`exceptions.workflow.RESOLUTION_CODES`) in words.
RESOLUTION_LABELS = {
    "fixed": "Fixed",
    "accepted": "Accepted risk",
    "false_positive": "False positive",
    "duplicate": "Duplicate",
    "data_corrected": "Data corrected",
    "re_promised": "Re-promised (covered)",
    "wont_fix": "Won't fix",
}
