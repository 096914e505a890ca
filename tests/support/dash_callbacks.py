"""Dash pages without a browser: post a page callback as the browser does, read its answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from control_tower.web.filters import ids
from tests.support.web_users import (
    client_as,
    signed_in,  # noqa: F401  (the KPI page tests sign in through here)
)

FILTERS = ("start", "end", "grain", "entity", "location")
# The outputs of the KPI detail page's main callback.
KPI_DETAIL_OUTPUTS = [
    ("kpi-value", "children"),
    ("kpi-trend", "figure"),
    ("kpi-breakdown", "figure"),
    ("kpi-breakdown-caption", "children"),
    ("kpi-exceptions", "children"),
    ("kpi-member-chip", "hidden"),
    ("kpi-member-chip-text", "children"),
    ("kpi-scope-note", "children"),
    ("kpi-body", "hidden"),
]


def callback_body(
    outputs: Sequence[tuple[str, str]],
    inputs: Sequence[tuple[str, str, Any]],
    state: Sequence[tuple[str, str, Any]] | None = None,
    changed: str | None = None,
) -> dict[str, Any]:
    """The POST body of one callback as the browser sends it: outputs (id, prop), inputs and
    state (id, prop, value); `changed` is the "id.prop" that fired (default: the first input)."""
    body: dict[str, Any] = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [changed or f"{inputs[0][0]}.{inputs[0][1]}"],
    }
    if state is not None:
        body["state"] = [{"id": i, "property": p, "value": v} for i, p, v in state]
    return body


def post_callback(
    client: FlaskClient,
    outputs: Sequence[tuple[str, str]],
    inputs: Sequence[tuple[str, str, Any]],
    state: Sequence[tuple[str, str, Any]] = (),
) -> TestResponse:
    """POST one callback: outputs (id, prop), inputs and state (id, prop, value)."""
    return client.post("/_dash-update-component", json=callback_body(outputs, inputs, state))


def page_callback_body(page: str, changed: str, **values: Any) -> dict[str, Any]:
    """The POST body of a role page's main callback (outputs `<page>-body` and
    `<page>-subtitle`) for these filter values (FILTERS; the grain is "day" unless given),
    fired by the filter `changed`."""
    i = ids(page)
    inputs = [(i[key], "value", values.get(key)) for key in FILTERS]
    inputs[2] = (i["grain"], "value", values.get("grain", "day"))
    outputs = [(f"{page}-body", "children"), (f"{page}-subtitle", "children")]
    return callback_body(outputs, inputs, changed=f"{i[changed]}.value")


def queue_block(client: FlaskClient, **view: Any) -> dict[str, Any]:
    """The exception queue's first block (rowData, rowCount) as `client` sees it with these
    view controls (type, kpi, status, severity, filter-entity, filter-location, mine,
    queues; by default the unresolved items of the user's own queues)."""
    states = {"type": None, "kpi": None, "status": "unresolved", "severity": None,
              "filter-entity": None, "filter-location": None, "mine": [], "queues": "mine",
              **view}  # fmt: skip
    response = post_callback(
        client,
        [("exceptions-grid", "getRowsResponse"), ("exceptions-caption", "children")],
        [("exceptions-grid", "getRowsRequest", {"startRow": 0, "endRow": 5000})],
        [(f"exceptions-{name}", "value", value) for name, value in states.items()],
    )
    assert response.status_code == 200, response.data
    return response.get_json()["response"]["exceptions-grid"]["getRowsResponse"]


def post_as(app: Any, role: str, body: dict[str, Any]) -> TestResponse:
    """POST a callback body signed in as `role`."""
    return client_as(app, role).post("/_dash-update-component", json=body)


def filter_values(
    prefix: str,
    start: date,
    end: date,
    grain: str = "day",
    entity: str | None = None,
    location: str | None = None,
) -> list[tuple[str, str, Any]]:
    """A page's filter bar values as callback inputs."""
    return [
        (f"{prefix}-filter-from", "value", start.isoformat()),
        (f"{prefix}-filter-to", "value", end.isoformat()),
        (f"{prefix}-filter-grain", "value", grain),
        (f"{prefix}-filter-entity", "value", entity),
        (f"{prefix}-filter-location", "value", location),
    ]


def walk(tree: Any) -> Iterator[dict[str, Any]]:
    """Every component (a dict with props) in a callback's answer."""
    if isinstance(tree, list):
        for item in tree:
            yield from walk(item)
    elif isinstance(tree, dict):
        if "props" in tree:
            yield tree
            yield from walk(tree["props"].get("children"))
        else:
            for value in tree.values():
                yield from walk(value)


def by_id(tree: Any, component_id: str) -> dict[str, Any]:
    """The component with this id."""
    return next(c for c in walk(tree) if c["props"].get("id") == component_id)


def find(node: Any, component_id: str) -> dict[str, Any]:
    """The component with this id anywhere in a Dash layout tree (JSON), in any property."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("props", {}).get("id") == component_id:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(f"no component {component_id!r}")


def text(tree: Any) -> str:
    """All the text of a component tree, joined with spaces."""
    if isinstance(tree, str | int | float):
        return str(tree)
    if isinstance(tree, list):
        return " ".join(text(t) for t in tree if t is not None)
    if isinstance(tree, dict) and "props" in tree:
        return text(tree["props"].get("children"))
    return ""


def with_class(tree: Any, class_name: str) -> list[dict[str, Any]]:
    """Components carrying a CSS class."""
    return [c for c in walk(tree) if class_name in (c["props"].get("className") or "").split()]


def ratio_from_values(cur: Any, kpi: Any, start: date, end: date, **where: str) -> float | None:
    """A ratio KPI over [start, end] straight from kpi.values (overall, or one dimension value);
    None when it has no materialised rows there."""
    dimension, value = next(iter(where.items())) if where else ("ALL", "ALL")
    row = cur.execute(
        "SELECT sum(numerator), sum(denominator) FROM kpi.values WHERE kpi = ? AND version = ? "
        "AND grain = 'day' AND dimension = ? AND dimension_value = ? AND period BETWEEN ? AND ? "
        "AND as_of = (SELECT max(as_of) FROM kpi.values)",
        [kpi.name, kpi.version, dimension, value, start, end],
    ).fetchone()
    if row is None or not row[1]:
        return None
    return row[0] / row[1]


def open_page(client: FlaskClient, path: str) -> Any:
    """The layout the router answers for `path` (no query), as the browser asks for it."""
    body = callback_body(
        [("_pages_content", "children"), ("_pages_store", "data")],
        [("_pages_location", "pathname", path), ("_pages_location", "search", "")],
    )
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["response"]["_pages_content"]["children"]


def opening_filters(client: FlaskClient, path: str, prefix: str) -> list[tuple[str, str, Any]]:
    """The filter bar's values as the page at `path` opens (no query): the inputs its data
    callbacks first receive."""
    layout = open_page(client, path)
    return [
        (ids(prefix)[key], "value", find(layout, ids(prefix)[key])["props"].get("value"))
        for key in FILTERS
    ]
