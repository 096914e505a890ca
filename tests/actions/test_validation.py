"""Raising a request: each type's fields parsed and confirmed in the warehouse, with the field,
the value and why on every refusal; roles and scope."""

from __future__ import annotations

import datetime as dt

import pytest

from control_tower.accounts import Scope
from control_tower.actions import service
from control_tower.actions.checks import available_to_transfer
from control_tower.actions.prefill import prefill
from control_tower.actions.types import (
    FORMS,
    RequestInputError,
    RequestNotAllowedError,
    parse_params,
    types_for,
)
from tests.support.action_requests import Person, first_item
from tests.support.demo_data import DEMO_AS_OF, DEMO_NOW

TODAY = DEMO_AS_OF
PLANNER = Person("pat", "planner")
ADMIN = Person("ada", "admin")
TRANSFER = {
    "from_location_id": "DC-NJ",
    "to_location_id": "DC-CHI",
    "item_id": "SKU100013",
    "quantity": 10,
    "ship_date": "2026-03-20",
}


def refusal(store, cur, actor, item, type_name, params) -> str:
    with pytest.raises((RequestInputError, RequestNotAllowedError)) as caught:
        service.raise_request(
            store,
            cur,
            [],
            actor=actor,
            exception_id=item.id,
            type_name=type_name,
            params=params,
            now=DEMO_NOW,
        )
    return str(caught.value)


@pytest.mark.parametrize(
    ("type_name", "raw", "expected"),
    [
        (
            "stock_transfer",
            {**TRANSFER, "quantity": 0},
            "quantity=0: Quantity (eaches) must be more than 0",
        ),
        (
            "stock_transfer",
            {**TRANSFER, "quantity": "ten"},
            "quantity='ten': Quantity (eaches) must be a number",
        ),
        (
            "stock_transfer",
            {**TRANSFER, "ship_date": "2026-03-17"},
            "ship_date='2026-03-17': Ship date is in the past (today is 2026-03-18)",
        ),
        (
            "stock_transfer",
            {**TRANSFER, "ship_date": "20.3.2026"},
            "ship_date='20.3.2026': Ship date must be a date (YYYY-MM-DD)",
        ),
        (
            "stock_transfer",
            {**TRANSFER, "colour": "red"},
            "colour: no such field of a stock transfer",
        ),
        (
            "po_expedite",
            {"po_id": "PO1", "new_expected_date": "2026-04-01"},
            "po_line_no: PO line is required",
        ),
        (
            "po_expedite",
            {"po_id": "PO1", "po_line_no": 0, "new_expected_date": "2026-04-01"},
            "po_line_no=0: PO line must be a whole number >= 1",
        ),
        (
            "re_promise",
            {"order_id": "SO1", "line_no": "x", "new_promised_date": "2026-04-01"},
            "line_no='x'",
        ),
        ("recount", {"location_id": "DC-NJ"}, "item_id: Item is required"),
        ("teleport", {}, "type='teleport': unknown request type"),
    ],
)
def test_fields_are_parsed_with_a_clear_message(type_name, raw, expected):
    with pytest.raises(RequestInputError) as caught:
        parse_params(type_name, raw, today=TODAY)
    assert expected in str(caught.value)


def test_optional_fields_may_be_left_out_and_values_are_typed():
    params = parse_params(
        "recount", {"location_id": "DC-NJ", "item_id": "SKU1", "bin_id": ""}, today=TODAY
    )
    assert params == {"location_id": "DC-NJ", "item_id": "SKU1"}
    params = parse_params("stock_transfer", {**TRANSFER, "quantity": "12.5"}, today=TODAY)
    assert params["quantity"] == 12.5
    assert params["ship_date"] == "2026-03-20"


def test_a_form_describes_every_field():
    described = FORMS["stock_transfer"].to_json()
    assert [f["name"] for f in described["fields"]] == list(TRANSFER)
    assert {f["kind"] for f in described["fields"]} == {"site", "item", "quantity", "date"}


def test_roles_raise_their_types():
    assert types_for("planner") == ("stock_transfer", "po_expedite", "purchase_requisition")
    assert types_for("warehouse_supervisor") == ("stock_transfer", "recount")
    assert types_for("finance") == ("invoice_hold", "invoice_release")
    assert types_for("executive") == ()
    assert len(types_for("admin")) == len(FORMS)


def test_a_transfer_beyond_the_stock_free_at_the_source_is_refused_with_the_figure(store, cur):
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    free, _end = available_to_transfer(cur, "SKU100013", "DC-NJ", dt.date(2026, 3, 20), 1e9)
    assert free > 0
    message = refusal(
        store, cur, PLANNER, item, "stock_transfer", {**TRANSFER, "quantity": free + 1}
    )
    assert f"only {free:g} of SKU100013 can leave DC-NJ on 2026-03-20" in message
    assert message.startswith("quantity=")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"from_location_id": "DC-CHI"}, "to_location_id='DC-CHI': the same site as the source"),
        ({"from_location_id": "DC-XX"}, "from_location_id='DC-XX': no such site in the warehouse"),
        ({"item_id": "NOPE"}, "item_id='NOPE': no such item in the item master"),
        ({"from_location_id": "DC-RTM"}, "transfers stay within one entity"),
    ],
)
def test_transfer_sites_and_items_must_exist_and_share_an_entity(store, cur, change, expected):
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    assert expected in refusal(store, cur, PLANNER, item, "stock_transfer", {**TRANSFER, **change})


def test_lines_must_exist_and_be_open(store, cur):
    item = first_item(store, "order_at_risk")
    assert "PO NOPE has no such line" in refusal(
        store,
        cur,
        ADMIN,
        item,
        "po_expedite",
        {"po_id": "NOPE", "po_line_no": 1, "new_expected_date": "2026-03-25"},
    )
    missed = first_item(store, "missed_promise")
    d = missed.detail
    assert "the order line is closed" in refusal(
        store,
        cur,
        ADMIN,
        missed,
        "re_promise",
        {"order_id": d["order_id"], "line_no": d["line_no"], "new_promised_date": "2026-03-25"},
    )
    assert "invoice INV0 has no such line" in refusal(
        store, cur, ADMIN, item, "invoice_hold", {"invoice_id": "INV0", "line_no": 1}
    )
    assert "supplier_id='SUP-NONE': no such supplier" in refusal(
        store,
        cur,
        ADMIN,
        item,
        "purchase_requisition",
        {
            "item_id": "SKU100013",
            "location_id": "DC-CHI",
            "quantity": 5,
            "supplier_id": "SUP-NONE",
            "need_date": "2026-04-01",
        },
    )


def test_a_role_raises_only_its_types(store, cur):
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    assert "a executive may not raise a stock transfer request" in refusal(
        store, cur, Person("eve", "executive"), item, "stock_transfer", TRANSFER
    )
    assert "request types of the role: re_promise" in refusal(
        store, cur, Person("cas", "customer_service"), item, "stock_transfer", TRANSFER
    )


def test_both_sites_of_a_transfer_must_be_in_scope(store, cur):
    sam = Person("sam", "warehouse_supervisor", Scope.of(locations=["DC-NJ"]))
    item = first_item(store, "stockout_risk", location_id="DC-NJ")
    params = {
        **TRANSFER,
        "from_location_id": "DC-CHI",
        "to_location_id": "DC-NJ",
        "item_id": item.item_id,
    }
    assert "the source site DC-CHI is outside your scope (locations DC-NJ)" in refusal(
        store, cur, sam, item, "stock_transfer", params
    )
    outside = first_item(store, "stockout_risk", location_id="DC-CHI")
    with pytest.raises(service.UnknownRequestError, match="in your scope"):
        service.raise_request(
            store,
            cur,
            [],
            actor=sam,
            exception_id=outside.id,
            type_name="stock_transfer",
            params=TRANSFER,
            now=DEMO_NOW,
        )


def test_prefills_follow_the_item(store, cur):
    expedites = [
        i
        for i in store.items(type="order_at_risk", status="unresolved")
        if i.detail.get("action") == "expedite" and i.detail.get("po_id")
    ]
    assert expedites, "the small demo has an order at risk whose advice is an expedite"
    order = expedites[-1]
    suggested = prefill(cur, order, today=TODAY)
    promised = dt.date.fromisoformat(str(order.detail["promised_date"])[:10])
    assert suggested[0] == {
        "type": "po_expedite",
        "label": "PO expedite",
        "params": {
            "po_id": order.detail["po_id"],
            "po_line_no": order.detail["po_line_no"],
            # the promised date, or today when that has passed
            "new_expected_date": max(promised, TODAY).isoformat(),
        },
    }
    count = first_item(store, "cycle_count_variance")
    assert prefill(cur, count, today=TODAY) == [
        {
            "type": "recount",
            "label": "Recount",
            "params": {
                "location_id": count.location_id,
                "item_id": count.item_id,
                "bin_id": count.detail["bin_id"],
            },
        }
    ]
    stockout = first_item(store, "stockout_risk", location_id="DC-CHI")
    transfer = prefill(cur, stockout, today=TODAY)[0]
    assert transfer["type"] == "stock_transfer"
    assert transfer["params"]["to_location_id"] == "DC-CHI"
    assert transfer["params"]["from_location_id"] in ("DC-NJ", "DC-RNO")
