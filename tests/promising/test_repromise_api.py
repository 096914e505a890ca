"""`POST /api/v1/order-lines/<order_id>/<line_no>/promise` on the hand-drawn delivery
(`tests.support.promise_case`, T = 2026-03-18: O1/1 50 of I1 at L1 promised 03-22)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from control_tower.settings import load_settings
from control_tower.web import create_app
from tests.support.web_users import PASSWORD, cheap_accounts, signed_in

URL = "/api/v1/order-lines/{}/{}/promise"


@pytest.fixture(scope="module")
def app(promise_home: Path) -> Any:
    """The web app over the delivery: customer service of E1 and of E2, an executive."""
    settings = load_settings(promise_home).with_home(promise_home)
    with cheap_accounts(settings) as accounts:
        accounts.create_user("cole", "customer_service", PASSWORD, entities=["E1"])
        accounts.create_user("cleo", "customer_service", PASSWORD, entities=["E2"])
        accounts.create_user("eve", "executive", PASSWORD)
    return create_app(settings, accounts=cheap_accounts(settings))


def post(app: Any, user: str, order: str, line: Any, body: Any) -> tuple[int, dict]:
    response = signed_in(app, user).post(URL.format(order, line), json=body)
    return response.status_code, response.get_json()


def test_a_re_promise_answers_its_outcome(app) -> None:
    status, j = post(app, "cole", "O1", 1, {"date": "2026-03-26", "reason": "customer asked"})
    assert status == 200, j
    assert (j["old_date"], j["new_date"], j["covered"], j["atp_date"]) == (
        "2026-03-22", "2026-03-26", True, "2026-03-19",
    )  # fmt: skip
    assert (j["exception_id"], j["item_closed"]) == (None, False)  # no at-risk item
    assert "order O1, line 1" in j["message"]


@pytest.mark.parametrize(
    ("user", "order", "line", "body", "code", "says"),
    [
        ("eve", "O1", 1, {"date": "2026-03-26", "reason": "x"}, 403, "may not"),
        ("cleo", "O1", 1, {"date": "2026-03-26", "reason": "x"}, 404, "in your scope"),
        ("cole", "O9", 1, {"date": "2026-03-26", "reason": "x"}, 404, "no order line O9"),
        ("cole", "O1", "one", {"date": "2026-03-26", "reason": "x"}, 404, "no order line"),
        ("cole", "O1", 1, {"reason": "x"}, 400, "date is required"),
        ("cole", "O1", 1, {"date": "26/03/2026", "reason": "x"}, 400, "not a date"),
        ("cole", "O1", 1, {"date": "2026-03-18", "reason": "x"}, 400, "from 2026-03-19 on"),
        ("cole", "O1", 1, {"date": "2026-03-26"}, 400, "say why"),
        ("cole", "O3", 1, {"date": "2026-03-26", "reason": "x"}, 400, "it is released"),
        ("cole", "O1", 1, ["2026-03-26"], 400, "JSON object"),
    ],
)
def test_refusals(app, user, order, line, body, code, says) -> None:
    status, j = post(app, user, order, line, body)
    assert status == code, j
    assert says in j["error"]
