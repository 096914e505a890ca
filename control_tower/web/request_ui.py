"""What the pages showing action requests share: labelled facts, the status words, links.

The exception item page (its request panel), the request list and the request page show a
request's status as an icon and a word, its parameters as labelled facts and link to
`/requests/<id>` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash
from dash import dcc, html

from control_tower.actions.store import ActionRequest
from control_tower.actions.types import FORMS
from control_tower.web import components as ui
from control_tower.web.format import DASH, fmt_ts

# status -> (icon, word, tone), as `components.badge` reads it.
REQUEST_STATUS: dict[str, tuple[str, str, str]] = {
    "pending_approval": ("⧗", "Pending approval", "warn"),
    "approved": ("✓", "Approved", "ok"),
    "rejected": ("✕", "Rejected", "bad"),
    "sent": ("➜", "Sent", "ok"),
    "confirmed": ("✓", "Confirmed", "ok"),
    "overdue": ("⚠", "Overdue", "bad"),
    "cancelled": ("○", "Cancelled", "idle"),
}


def value_text(value: Any) -> str:
    """A fact's value in words: a dash for none, numbers without trailing zeros."""
    if value is None or value == "":
        return DASH
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def facts(pairs: Sequence[tuple[str, Any]], class_name: str = "exceptions-facts") -> html.Dl:
    """Labelled facts as a definition list (a dash for a missing value)."""
    children: list[Any] = []
    for label, value in pairs:
        children += [html.Dt(label), html.Dd(value if value not in (None, "") else DASH)]
    return html.Dl(children, className=f"facts {class_name}".strip())


def not_in_scope(what: str, given: Any, place: str, path: str) -> list[Any]:
    """The page head and the answer for an id that is unknown, malformed or outside the
    user's scope (the three look alike): "No <what> <id> in your scope", with a link to
    `place` at `path`."""
    shown = str(given)[:40] if given is not None else ""
    return [
        html.Div([html.H1(what.capitalize())], className="page-head"),
        ui.empty_state(
            f"No {what} {shown} in your scope",
            html.Span(
                [
                    "Check the number, or find it in the ",
                    dcc.Link(place, href=dash.get_relative_path(path)),
                    ".",
                ]
            ),
            icon="?",
        ),
    ]


def request_href(request_id: int) -> str:
    """The page of one request, relative to the app's prefix."""
    return dash.get_relative_path(f"/requests/{request_id}")


def status_badge(status: str) -> html.Span:
    """A request's status as icon and word."""
    return ui.badge(status, REQUEST_STATUS)


def type_label(type_name: str) -> str:
    """A request type in words."""
    form = FORMS.get(type_name)
    return form.label if form else type_name


def money(value: float | None) -> str:
    """A request's value (money the approval rules judge)."""
    return DASH if value is None else f"{value:,.2f}"


def params_facts(request: ActionRequest) -> html.Dl:
    """A request's parameters, each under its form's label, in the form's order."""
    params = dict(request.params or {})
    form = FORMS.get(request.type)
    labelled = (
        [(f.label, value_text(params.pop(f.name, None))) for f in form.fields] if form else []
    )
    rest = [(k.replace("_", " "), value_text(v)) for k, v in params.items()]
    return facts(labelled + rest, "request-params")


def requests_table(requests: Sequence[ActionRequest], table_id: str) -> Any:
    """Requests as a table: number (a link), type, status, value, who raised them and when."""
    if not requests:
        return ui.empty_state("No requests yet", "Requests raised from this item show here.")
    return ui.simple_table(
        ["Request", "Type", "Status", "Value", "Requested by", "When (UTC)"],
        [
            [
                dcc.Link(f"#{r.id}", href=request_href(r.id)),
                type_label(r.type),
                status_badge(r.status),
                money(r.value),
                r.requested_by,
                fmt_ts(r.requested_at),
            ]
            for r in requests
        ],
        table_id=table_id,
        class_name="table--compact",
    )
