"""The "Promise an order" page's callbacks, posted as the browser posts them.

Its component ids are written out here: the page module registers itself with Dash, so only
the app imports it.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.dash_callbacks import callback_body

GRID, MESSAGE, PASTE, PASTE_ADD = (
    "promise-grid",
    "promise-message",
    "promise-paste",
    "promise-paste-add",
)
ADD, CHECK, AUTO = "promise-add", "promise-check", "promise-auto"
PROJECTION, CHART = "promise-projection", "promise-chart"
OUTPUTS = [(GRID, "rowData"), (MESSAGE, "children"), (GRID, "selectedRows"), (PASTE, "value")]


def line(item: str, qty: Any, day: str = "", site: str = "L1", n: int = 1, **more: Any) -> dict:
    """A grid line as the browser holds it."""
    return {"row_id": str(n), "item": item, "qty": str(qty), "uom": "EA", "date": day,
            "site": site, "customer": "", **more}  # fmt: skip


def post_order(
    client: FlaskClient, trigger: str, lines: list[dict], pasted: str = "", auto: bool = False
) -> TestResponse:
    """POST the order callback fired by `trigger` (ADD, PASTE_ADD, CHECK or AUTO)."""
    inputs = [(ADD, "n_clicks", None), (PASTE_ADD, "n_clicks", None),
              (CHECK, "n_clicks", None), (AUTO, "data", auto)]  # fmt: skip
    body = callback_body(
        OUTPUTS,
        inputs,
        [(GRID, "rowData", lines), (PASTE, "value", pasted)],
        changed=f"{trigger}.{'data' if trigger == AUTO else 'n_clicks'}",
    )
    return client.post("/_dash-update-component", json=body)


def check(client: FlaskClient, lines: list[dict]) -> list[dict]:
    """The lines with their answers, as "Check" returns them."""
    response = post_order(client, CHECK, lines)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"][GRID]["rowData"]


def post_projection(client: FlaskClient, selected: dict) -> TestResponse:
    """POST the chart callback for one selected line (a single output: "id.prop")."""
    body = {
        "output": f"{PROJECTION}.children",
        "outputs": {"id": PROJECTION, "property": "children"},
        "inputs": [{"id": GRID, "property": "selectedRows", "value": [selected]}],
        "changedPropIds": [f"{GRID}.selectedRows"],
    }
    return client.post("/_dash-update-component", json=body)
