"""Helpers of the action request tests: who acts, and the demo's items to raise requests from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_tower.accounts import Scope
from control_tower.exceptions.store import ExceptionStore

# A transfer the small demo's data accepts (stock free at DC-NJ on the day, both sites known).
TRANSFER = {
    "from_location_id": "DC-NJ",
    "to_location_id": "DC-CHI",
    "item_id": "SKU100013",
    "quantity": 5,
    "ship_date": "2026-03-20",
}


@dataclass(frozen=True)
class Person:
    """Who acts, as the request service sees a signed-in user."""

    name: str
    role: str
    scope: Scope = field(default_factory=Scope)
    permissions: frozenset[str] = frozenset()


def first_item(store: ExceptionStore, type_name: str, **where: Any) -> Any:
    """The oldest unresolved item of a type (matching `where`)."""
    items = [
        i
        for i in store.items(type=type_name, status="unresolved")
        if all(getattr(i, k) == v for k, v in where.items())
    ]
    assert items, f"the small demo has no unresolved {type_name} {where}"
    return items[-1]
