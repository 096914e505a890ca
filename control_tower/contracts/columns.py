"""Column helpers and references the contract tables share (`tables`, `transfers`)."""

from __future__ import annotations

from control_tower.contracts.model import Column, Reference
from control_tower.contracts.model import ColumnType as T


def _id(name: str, **kw: object) -> Column:
    return Column(name, T.ID, **kw)  # type: ignore[arg-type]


def _text(name: str, **kw: object) -> Column:
    return Column(name, T.TEXT, **kw)  # type: ignore[arg-type]


def _opt(col: Column) -> Column:
    """The same column, allowed to be absent from the file or empty."""
    return Column(**{**col.__dict__, "required": False, "nullable": True})


def _nullable(col: Column) -> Column:
    """The same column, required in the file but allowed to be empty."""
    return Column(**{**col.__dict__, "nullable": True})


UPDATED_AT = Column("updated_at", T.TIMESTAMP, description="version stamp: newest wins")
LOC = Reference(("location_id",), "locations", ("location_id",))
ITEM = Reference(("item_id",), "items", ("item_id",))
