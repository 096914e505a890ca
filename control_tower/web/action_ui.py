"""What every page that acts on exception items shares: choices, fields and result messages.

The queue page (bulk), the item page and the planner's triage build their
action bars from these pieces and show what `exceptions.actions.act_many`
answered the same way: a message with an icon and a word, never colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from control_tower.exceptions.actions import ItemResult
from control_tower.exceptions.workflow import RESOLUTION_CODES
from control_tower.web import components as ui
from control_tower.web.format import plural

MESSAGE_ICONS = {"ok": "✓", "warn": "⚠", "bad": "✕"}


def reason_options() -> list[dict[str, str]]:
    """The resolution reasons as dropdown options, in words."""
    return [{"label": ui.RESOLUTION_LABELS.get(c, c), "value": c} for c in RESOLUTION_CODES]


def user_options(users: Sequence[str]) -> list[dict[str, str]]:
    """User names as dropdown options."""
    return [{"label": u, "value": u} for u in users]


def field(label: str, control: Any, for_id: str, class_name: str = "", **extra: Any) -> html.Div:
    """A labelled control of a filter or action bar."""
    return html.Div(
        [html.Label(label, htmlFor=for_id), control],
        className=f"filter-field {class_name}".strip(),
        **extra,
    )


def reason_dropdown(component_id: str, placeholder: str = "Reason", **extra: Any) -> dcc.Dropdown:
    """The dropdown of resolution reasons."""
    return dcc.Dropdown(id=component_id, options=reason_options(), placeholder=placeholder, **extra)


def note_input(component_id: str, placeholder: str, class_name: str = "") -> dcc.Input:
    """The free-text note of an action (a comment's text), at most 2000 characters."""
    extra = {"className": class_name} if class_name else {}
    return dcc.Input(id=component_id, type="text", placeholder=placeholder, maxLength=2000, **extra)


def message(children: Any, tone: str) -> html.Div:
    """The answer to an action: an icon for the tone (ok, warn, bad) and the words."""
    return html.Div(
        [
            html.Span(MESSAGE_ICONS[tone], className="badge-icon", **{"aria-hidden": "true"}),
            children,
        ],
        className=f"exceptions-message exceptions-message--{tone}",
    )


def outcome_view(action: str, results: Sequence[ItemResult]) -> html.Div:
    """Per-item results of one action: a badge, what was done, and each refusal in a list."""
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    head = [ui.badge("ok" if not failed else "partial", ui.ACTION_RESULT)]
    head.append(
        f" {action.capitalize()}: {plural(len(done), 'item')} done"
        + (f", {plural(len(failed), 'item')} refused" if failed else "")
        + "."
    )
    failures = html.Ul([html.Li(r.message) for r in failed], className="planner-failures")
    return html.Div([html.Div(head), failures if failed else None])


def refused(text: str) -> html.Div:
    """An action refused before it was tried (a missing choice)."""
    return html.Div([ui.badge("refused", ui.ACTION_RESULT), f" {text}"])
