"""Request types: the fields of each, who may raise it, and the parsing of what a person typed.

`FORMS[type]` describes a request type for a form: its label and its fields (name, label,
kind, required, help). Kinds: `site` and `item` (ids the warehouse must know), `quantity`
(a number above zero, base units), `date` (YYYY-MM-DD, not before today on the product's
clock), `int` (a whole number of at least 1, a line number) and `text`.

`parse_params(type, raw, today=...)` turns raw values (JSON or form text) into the typed
parameters stored with the request, or raises `RequestInputError` naming the field, the value
and why. What the warehouse must confirm (ids exist, stock is available) is checked by
`actions.checks`.

Who may raise which type: `RAISE_ROLES` (an admin may raise every type, an executive none).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from control_tower.actions.store import REQUEST_TYPES

KINDS: tuple[str, ...] = ("site", "item", "quantity", "date", "text", "int")


class RequestInputError(ValueError):
    """A request field that cannot be used: which field, the value given and why."""

    def __init__(self, field_name: str, value: Any, why: str) -> None:
        shown = "" if value is None or value == "" else f"={value!r}"
        super().__init__(f"{field_name}{shown}: {why}")
        self.field = field_name
        self.value = value
        self.why = why


class RequestNotAllowedError(PermissionError):
    """The caller's role or scope may not raise or decide this request; the message says why."""


@dataclass(frozen=True)
class Field:
    """One field of a request form."""

    name: str
    label: str
    kind: str
    required: bool = True
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        """The field as JSON-ready values."""
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "required": self.required,
            "help": self.help,
        }


@dataclass(frozen=True)
class RequestForm:
    """A request type as a form shows it: label, what it does and its fields, in order."""

    type: str
    label: str
    description: str
    fields: tuple[Field, ...]

    def to_json(self) -> dict[str, Any]:
        """The form as JSON-ready values."""
        return {
            "type": self.type,
            "label": self.label,
            "description": self.description,
            "fields": [f.to_json() for f in self.fields],
        }


_SHIP = "The day the stock leaves the source site (today or later)."
FORMS: dict[str, RequestForm] = {
    "stock_transfer": RequestForm(
        "stock_transfer",
        "Stock transfer",
        "Move stock between two sites of the same entity; the source must have it available "
        "on the ship date without uncovering its own orders.",
        (
            Field("from_location_id", "From site", "site"),
            Field("to_location_id", "To site", "site"),
            Field("item_id", "Item", "item"),
            Field("quantity", "Quantity (eaches)", "quantity"),
            Field("ship_date", "Ship date", "date", help=_SHIP),
        ),
    ),
    "po_expedite": RequestForm(
        "po_expedite",
        "PO expedite",
        "Ask the supplier to deliver an open purchase order line earlier.",
        (
            Field("po_id", "Purchase order", "text"),
            Field("po_line_no", "PO line", "int"),
            Field("new_expected_date", "New expected date", "date"),
        ),
    ),
    "purchase_requisition": RequestForm(
        "purchase_requisition",
        "Purchase requisition",
        "Ask purchasing to order an item for a site from a supplier.",
        (
            Field("item_id", "Item", "item"),
            Field("location_id", "Site", "site"),
            Field("quantity", "Quantity (eaches)", "quantity"),
            Field("supplier_id", "Supplier", "text"),
            Field("need_date", "Needed by", "date"),
        ),
    ),
    "re_promise": RequestForm(
        "re_promise",
        "Re-promise",
        "Agree a new promised date for an open order line with the customer.",
        (
            Field("order_id", "Order", "text"),
            Field("line_no", "Order line", "int"),
            Field("new_promised_date", "New promised date", "date"),
        ),
    ),
    "recount": RequestForm(
        "recount",
        "Recount",
        "Count an item at a site (one bin, or every bin) again.",
        (
            Field("location_id", "Site", "site"),
            Field("item_id", "Item", "item"),
            Field("bin_id", "Bin", "text", required=False, help="Empty: every bin of the item."),
        ),
    ),
    "invoice_hold": RequestForm(
        "invoice_hold",
        "Invoice hold",
        "Hold a supplier invoice line from payment until it is cleared.",
        (Field("invoice_id", "Invoice", "text"), Field("line_no", "Invoice line", "int")),
    ),
    "invoice_release": RequestForm(
        "invoice_release",
        "Invoice release",
        "Release a held supplier invoice line for payment.",
        (Field("invoice_id", "Invoice", "text"), Field("line_no", "Invoice line", "int")),
    ),
}
assert tuple(FORMS) == REQUEST_TYPES  # one form per request type, in the same order

RAISE_ROLES: dict[str, tuple[str, ...]] = {
    "planner": ("stock_transfer", "po_expedite", "purchase_requisition"),
    "customer_service": ("re_promise",),
    "warehouse_supervisor": ("recount", "stock_transfer"),
    "finance": ("invoice_hold", "invoice_release"),
    "admin": REQUEST_TYPES,
    "executive": (),
}


def types_for(role: str) -> tuple[str, ...]:
    """The request types a role may raise, in the order of REQUEST_TYPES."""
    allowed = set(RAISE_ROLES.get(role, ()))
    return tuple(t for t in REQUEST_TYPES if t in allowed)


def forms_for(role: str) -> list[RequestForm]:
    """The forms of the request types a role may raise (what a page offers)."""
    return [FORMS[t] for t in types_for(role)]


def check_type(type_name: Any) -> RequestForm:
    """The form of a request type, or RequestInputError naming the known types."""
    if not isinstance(type_name, str) or type_name not in FORMS:
        raise RequestInputError(
            "type", type_name, f"unknown request type; known types: {', '.join(REQUEST_TYPES)}"
        )
    return FORMS[type_name]


def check_role(role: str, type_name: str) -> None:
    """RequestNotAllowedError unless `role` may raise `type_name`."""
    if type_name not in types_for(role):
        may = ", ".join(types_for(role)) or "none"
        raise RequestNotAllowedError(
            f"a {role} may not raise a {FORMS[type_name].label.lower()} request "
            f"(request types of the role: {may})"
        )


def _text(field: Field, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RequestInputError(field.name, value, f"{field.label} must be text")
    text = str(value).strip()
    if len(text) > 64 or any(c.isspace() for c in text):
        raise RequestInputError(field.name, value, f"{field.label} is not an id")
    return text


def _int(field: Field, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestInputError(field.name, value, f"{field.label} must be a whole number >= 1")
    return value


def _quantity(field: Field, value: Any) -> float:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise RequestInputError(field.name, value, f"{field.label} must be a number")
    if not math.isfinite(number) or number <= 0:
        raise RequestInputError(field.name, value, f"{field.label} must be more than 0")
    return float(number)


def _date(field: Field, value: Any, today: date) -> str:
    try:
        day = date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        raise RequestInputError(field.name, value, f"{field.label} must be a date (YYYY-MM-DD)")
    if day < today:
        raise RequestInputError(
            field.name, value, f"{field.label} is in the past (today is {today.isoformat()})"
        )
    return day.isoformat()


def parse_params(type_name: str, raw: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """The typed parameters of a request of `type_name` from raw values (module docstring).

    Unknown fields, missing required ones and values of the wrong kind are refused with
    RequestInputError, the first one found, in the form's field order.
    """
    form = check_type(type_name)
    known = {f.name for f in form.fields}
    for name in raw:
        if name not in known:
            raise RequestInputError(
                str(name),
                None,
                f"no such field of a {form.label.lower()}; fields: "
                + ", ".join(f.name for f in form.fields),
            )
    params: dict[str, Any] = {}
    for field in form.fields:
        value = raw.get(field.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.required:
                raise RequestInputError(field.name, None, f"{field.label} is required")
            continue
        if field.kind == "quantity":
            params[field.name] = _quantity(field, value)
        elif field.kind == "date":
            params[field.name] = _date(field, value, today)
        elif field.kind == "int":
            params[field.name] = _int(field, value)
        else:
            params[field.name] = _text(field, value)
    return params
