"""The "Raise a request" panel of the exception item page, and the item's requests below it.

Shown to a role that may raise at least one request type (`actions.types.forms_for`). The
type dropdown offers the user's forms; the fields are drawn from the chosen form (site, item,
quantity, date, text, line number) and filled in from the item's suggestion of that type
(`actions.prefill`); a person checks them, adds a note and raises. A field the service refuses
(`RequestInputError`) is named next to that field; a refusal of role or scope, or an approval
rules file with a mistake, is said above the button. On success the message links to the new
request, which is handed over at once (sent when no approval is needed, announced to its
approvers otherwise).

The callbacks (`register_callbacks`) read the signed-in user on the server; the item id the page holds is only a
lookup key: the service finds the item within the user's scope or answers "not found".
"""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from control_tower import accounts
from control_tower.actions import service
from control_tower.actions.approvals import load_rules
from control_tower.actions.handover import hand_over
from control_tower.actions.prefill import prefill
from control_tower.actions.types import (
    FORMS,
    Field,
    RequestForm,
    RequestInputError,
    RequestNotAllowedError,
    forms_for,
)
from control_tower.config_files import ConfigError
from control_tower.exceptions import query as q
from control_tower.exceptions.store import UNRESOLVED, ExceptionItem
from control_tower.settings import utc_now
from control_tower.storage.serving import NoSnapshotError
from control_tower.web import action_ui as act_ui
from control_tower.web import components as ui
from control_tower.web.auth import require
from control_tower.web.request_ui import request_href, requests_table
from control_tower.web.runtime import snapshot_cursor, web_context

ROLES = accounts.ROLES
ITEM = "exceptions-request-item"
TYPE = "exceptions-request-type"
FIELDS = "exceptions-request-fields"
FIELD = "exceptions-request-field"  # pattern id: {"type": FIELD, "name": field name}
ERROR = "exceptions-request-error"  # pattern id: {"type": ERROR, "name": field name}
NOTE = "exceptions-request-note"
RAISE = "exceptions-request-raise"
RESULT = "exceptions-request-result"
LIST = "exceptions-request-list"

INPUT_TYPES = {"quantity": "number", "int": "number"}
PLACEHOLDERS = {
    "site": "Site id",
    "item": "Item id",
    "quantity": "Eaches",
    "date": "YYYY-MM-DD",
    "int": "Line number",
}


def _suggestions(item: ExceptionItem) -> dict[str, dict[str, Any]]:
    """The item's suggested parameters per request type ({} when no data is landed yet)."""
    try:
        with snapshot_cursor() as cur:
            found = prefill(cur, item, today=utc_now().date())
    except NoSnapshotError:
        return {}
    return {s["type"]: dict(s["params"]) for s in found}


def _field(f: Field, value: Any) -> html.Div:
    control = dcc.Input(
        id={"type": FIELD, "name": f.name},
        type=INPUT_TYPES.get(f.kind, "text"),
        value=value,
        placeholder=PLACEHOLDERS.get(f.kind, "" if f.required else "Optional"),
        debounce=True,
        **({"min": 0, "step": "any"} if f.kind == "quantity" else {}),
    )
    label = f.label + ("" if f.required else " (optional)")
    return html.Div(
        [
            html.Label([html.Span(label), control], title=f.help or None),
            html.Div(id={"type": ERROR, "name": f.name}, className="exceptions-request-error"),
        ],
        className="filter-field exceptions-request-field",
        id=f"exceptions-request-field-{f.name}",
    )


def _fields(form: RequestForm, params: dict[str, Any]) -> list[Any]:
    return [
        html.P(form.description, className="muted"),
        html.Div([_field(f, params.get(f.name)) for f in form.fields], className="filter-bar"),
    ]


def _item_requests(item_id: int, user: Any) -> Any:
    _total, rows = service.list_requests(web_context().exceptions, actor=user, exception_id=item_id)
    return requests_table(rows, "exceptions-request-table")


def request_panel(item: ExceptionItem, user: Any) -> Any:
    """The panel for `item` as `user` sees it; None for a role that raises no request."""
    forms = forms_for(user.role)
    if not forms:
        return None
    suggested = _suggestions(item)
    # The type the item suggests first among the user's forms, else the user's first form.
    first = next((t for t in suggested if t in {f.type for f in forms}), forms[0].type)
    if item.status in UNRESOLVED:
        body: list[Any] = [
            act_ui.field(
                "Request type",
                dcc.Dropdown(
                    id=TYPE,
                    options=[{"label": f.label, "value": f.type} for f in forms],
                    value=first,
                    clearable=False,
                ),
                TYPE,
            ),
            html.Div(_fields(FORMS[first], suggested.get(first, {})), id=FIELDS),
            act_ui.field("Note", act_ui.note_input(NOTE, "Why (optional)"), NOTE),
            html.Button("Raise", id=RAISE, n_clicks=0, className="button"),
            html.Div(id=RESULT, className="exceptions-result", role="status"),
        ]
    else:
        body = [html.P(f"The item is {item.status}: no new request can be raised from it.")]
    body += [html.H3("Requests from this item"), html.Div(_item_requests(item.id, user), id=LIST)]
    return ui.panel(
        "Raise a request",
        [dcc.Store(id=ITEM, data=item.id), *body],
        subtitle="A typed request to the system that executes it, checked against the data and "
        "sent once approved.",
        panel_id="exceptions-request",
    )


def choose_type(type_name: Any, item_id: Any) -> Any:
    """The fields of the chosen type, filled in from the item's suggestion of it."""
    user = require(roles=ROLES)
    allowed = {f.type: f for f in forms_for(user.role)}
    item = q.get_scoped(web_context().exceptions, user.scope, item_id)
    if type_name not in allowed or item is None:
        return no_update
    return _fields(allowed[type_name], _suggestions(item).get(type_name, {}))


def _params(values: list[Any], ids: list[dict[str, Any]]) -> dict[str, Any]:
    return {i["id"]["name"]: v for i, v in zip(ids, values, strict=True) if v not in (None, "")}


def raise_it(
    _clicks: int | None, item_id: Any, type_name: Any, values: list[Any], note: Any
) -> tuple[Any, list[Any], Any]:
    """Raise the request as the signed-in user and hand it over; errors next to their field."""
    user = require(roles=ROLES)
    field_ids = ctx.states_list[2]
    names = [i["id"]["name"] for i in field_ids]
    errors: list[Any] = [None] * len(names)
    context = web_context()
    try:
        rules = load_rules(context.settings.approval_rules_path)
        with context.snapshot() as cur:
            request = service.raise_request(
                context.exceptions,
                cur,
                rules,
                actor=user,
                exception_id=item_id,
                type_name=type_name,
                params=_params(values, field_ids),
                note=note,
            )
    except RequestInputError as exc:
        if exc.field in names:
            errors[names.index(exc.field)] = act_ui.message(exc.why, "bad")
            text = f"Not raised: check {exc.field.replace('_', ' ')}."
        else:
            text = f"Not raised: {exc}"
        return act_ui.message(text, "bad"), errors, no_update
    except (service.UnknownRequestError, RequestNotAllowedError, ConfigError) as exc:
        return act_ui.message(f"Not raised: {exc}", "bad"), errors, no_update
    except NoSnapshotError:
        return act_ui.message("Not raised: no data landed yet.", "bad"), errors, no_update
    request = hand_over(context.settings, context.exceptions, request)
    words = f"{FORMS[request.type].label} request #{request.id} raised: {request.status}"
    done = act_ui.message(
        html.Span(
            [words.replace("_", " ") + ". ", dcc.Link("Open it", href=request_href(request.id))]
        ),
        "ok",
    )
    return done, errors, _item_requests(request.exception_id or 0, user)


def register_callbacks() -> None:
    """Register the panel's callbacks with the app being built. The item page calls this at
    import: Dash runs page modules once per app, while this helper module is imported once."""
    callback(
        Output(FIELDS, "children"),
        Input(TYPE, "value"),
        State(ITEM, "data"),
        prevent_initial_call=True,
    )(choose_type)
    callback(
        Output(RESULT, "children"),
        Output({"type": ERROR, "name": ALL}, "children"),
        Output(LIST, "children"),
        Input(RAISE, "n_clicks"),
        State(ITEM, "data"),
        State(TYPE, "value"),
        State({"type": FIELD, "name": ALL}, "value"),
        State(NOTE, "value"),
        prevent_initial_call=True,
    )(raise_it)
