"""Reading the exception queue for people: scoped, filtered, sorted and paged in SQL.

The web app's queue page, its export and the JSON API all read items through
`list_items` / `iter_items` and one item through `get_scoped`, so every reader
sees exactly the same rows for the same question.

Row scope (a user's entities and locations, `accounts.Scope`) is applied in
the SQL `WHERE`: an item is visible when its entity is among the user's
entities (if the user is restricted by entity) and its location among the
user's locations (if restricted by location). It fails closed: an item
without a location (a close task, a data problem, a KPI alert) is visible
only to users without a location restriction, and an item without an entity
only to users without an entity restriction.

Sorting and filtering come from the browser (AG Grid's sort and filter models)
or from API arguments: column names are looked up in fixed whitelists and
values are bound parameters, never pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, select, true
from sqlalchemy.sql.elements import UnaryExpression

from control_tower.accounts import Scope
from control_tower.exceptions.registry import EXCEPTION_TYPES, type_names
from control_tower.exceptions.rows import EXPORT_COLUMNS as EXPORT_COLUMNS
from control_tower.exceptions.rows import TYPE_LABELS as TYPE_LABELS
from control_tower.exceptions.rows import item_row as item_row
from control_tower.exceptions.rows import sla_text as sla_text
from control_tower.exceptions.rows import summary as summary
from control_tower.exceptions.rows import type_label as type_label
from control_tower.exceptions.rows import utcnow as utcnow
from control_tower.exceptions.store import UNRESOLVED, ExceptionItem, ExceptionStore
from control_tower.gridquery import (
    ColumnKind,
    GridQueryError,
    parse_filter,
    sort_model_from_text,
)
from control_tower.gridquery import (
    parse_sort as parse_sort_model,
)
from control_tower.gridquery.to_sqlalchemy import order_terms, where_conditions

# Statuses a view may ask for: one status, every unresolved one, or all of them.
STATUS_CHOICES: tuple[str, ...] = (
    "unresolved",
    "open",
    "acknowledged",
    "snoozed",
    "resolved",
    "all",
)
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
MAX_PAGE_ROWS = 1000
EXPORT_MAX_ROWS = 100_000  # an export stops here and says so (the queue is far smaller)


# A filter, sort or paging argument that cannot be used; the message says which and why.
QueryError = GridQueryError


def owned_types(role: str) -> tuple[str, ...]:
    """The types whose queues a role owns."""
    return tuple(name for name, t in EXCEPTION_TYPES.items() if t.owner_role == role)


# --- the question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """Which items a view asks for (before row scope); empty fields do not filter.

    `types` restricts to those types (an empty tuple from a KPI with no linked
    type matches nothing: `types_given`); `owner_roles` to queues owned by
    those roles; `assignee` to one person's items.
    """

    types: tuple[str, ...] = ()
    types_given: bool = False
    status: str = "unresolved"
    severity: str | None = None
    location: str | None = None
    entity: str | None = None
    assignee: str | None = None
    owner_roles: tuple[str, ...] = ()
    ids: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.status not in STATUS_CHOICES:
            raise QueryError(f"status {self.status!r} is not one of: {', '.join(STATUS_CHOICES)}")
        if self.severity is not None and self.severity not in SEVERITY_RANK:
            raise QueryError(
                f"severity {self.severity!r} is not one of: {', '.join(SEVERITY_RANK)}"
            )
        unknown = [t for t in self.types if t not in type_names()]
        if unknown:
            raise QueryError(
                f"unknown exception type {unknown[0]!r}; known types: {', '.join(type_names())}"
            )


def scope_condition(
    scope: Scope, entity: Any = ExceptionItem.entity_id, location: Any = ExceptionItem.location_id
) -> ColumnElement[bool]:
    """The SQL condition for the items a scope may see (see the module docstring); `entity`
    and `location` name the columns of another table kept by the same rule."""
    parts: list[ColumnElement[bool]] = []
    if scope.entities:
        parts.append(entity.in_(sorted(scope.entities)))
    if scope.locations:
        parts.append(location.in_(sorted(scope.locations)))
    return and_(*parts) if parts else true()


def _filter_conditions(filt: QueueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filt.types_given or filt.types:
        where.append(ExceptionItem.type.in_(filt.types) if filt.types else false())
    if filt.status == "unresolved":
        where.append(ExceptionItem.status.in_(UNRESOLVED))
    elif filt.status != "all":
        where.append(ExceptionItem.status == filt.status)
    if filt.severity:
        where.append(ExceptionItem.severity == filt.severity)
    if filt.location:
        where.append(ExceptionItem.location_id == filt.location)
    if filt.entity:
        where.append(ExceptionItem.entity_id == filt.entity)
    if filt.assignee:
        where.append(ExceptionItem.assignee == filt.assignee)
    if filt.owner_roles:
        where.append(ExceptionItem.owner_role.in_(filt.owner_roles))
    if filt.ids:
        where.append(ExceptionItem.id.in_(filt.ids))
    return where


# --- grid sort and filter models -----------------------------------------------------------------

_SEVERITY_ORDER = case(
    *((ExceptionItem.severity == s, rank) for s, rank in SEVERITY_RANK.items()), else_=0
)
# Sortable columns: the id the grid or the API names -> the SQL expression (ascending meaning).
SORTABLE: Mapping[str, Any] = {
    "id": ExceptionItem.id,
    "type": ExceptionItem.type,
    "type_label": ExceptionItem.type,
    "severity": _SEVERITY_ORDER,
    "status": ExceptionItem.status,
    "owner_role": ExceptionItem.owner_role,
    "assignee": ExceptionItem.assignee,
    "location_id": ExceptionItem.location_id,
    "entity_id": ExceptionItem.entity_id,
    "item_id": ExceptionItem.item_id,
    "created_at": ExceptionItem.created_at,
    "last_seen_at": ExceptionItem.last_seen_at,
    "last_seen": ExceptionItem.last_seen_at,
    "value_at_risk": ExceptionItem.value_at_risk,
    "times_seen": ExceptionItem.times_seen,
}
# When an item's condition began (the source event, else the first detection): age counts from it.
STARTED_AT = func.coalesce(ExceptionItem.event_at, ExceptionItem.created_at)
# Age grows as the start gets older: sorting by age is sorting by the start, reversed.
_REVERSED = {"age_days": STARTED_AT}
# Columns the grid may filter on: name -> (column, kind).
FILTERABLE: Mapping[str, tuple[Any, ColumnKind]] = {
    "assignee": (ExceptionItem.assignee, "text"),
    "location_id": (ExceptionItem.location_id, "text"),
    "entity_id": (ExceptionItem.entity_id, "text"),
    "item_id": (ExceptionItem.item_id, "text"),
    "key": (ExceptionItem.key, "text"),
    "value_at_risk": (ExceptionItem.value_at_risk, "number"),
    "id": (ExceptionItem.id, "number"),
    "times_seen": (ExceptionItem.times_seen, "number"),
}
_FILTER_KINDS: Mapping[str, ColumnKind] = {name: kind for name, (_c, kind) in FILTERABLE.items()}
_FILTER_COLUMNS: Mapping[str, Any] = {name: column for name, (column, _k) in FILTERABLE.items()}
_SORT_COLUMNS: Mapping[str, Any] = {**SORTABLE, **_REVERSED}
DEFAULT_ORDER: tuple[UnaryExpression[Any], ...] = (
    _SEVERITY_ORDER.desc(),
    STARTED_AT.asc(),
    ExceptionItem.id.asc(),
)


def compile_sort(sort_model: Sequence[Mapping[str, Any]] | None) -> list[UnaryExpression[Any]]:
    """AG Grid's sort model (`[{"colId", "sort"}]`) as ORDER BY terms; unknown columns refused."""
    keys = parse_sort_model(sort_model, _SORT_COLUMNS)
    return order_terms(keys, _SORT_COLUMNS, reversed_columns=_REVERSED)


def sort_columns() -> tuple[str, ...]:
    """Names a sort may use."""
    return tuple(_SORT_COLUMNS)


def parse_sort(text: str | None) -> list[dict[str, str]]:
    """An API `sort` argument (`-value_at_risk,id`) as a grid sort model."""
    return sort_model_from_text(text)


def compile_filter(filter_model: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    """AG Grid's filter model as WHERE conditions on whitelisted columns; values bound."""
    return where_conditions(parse_filter(filter_model, _FILTER_KINDS), _FILTER_COLUMNS)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of the queue: the rows asked for and how many match in all."""

    rows: list[ExceptionItem]
    total: int


def _statement(
    scope: Scope,
    filt: QueueFilter,
    filter_model: Mapping[str, Any] | None,
) -> list[ColumnElement[bool]]:
    return [scope_condition(scope), *_filter_conditions(filt), *compile_filter(filter_model)]


def list_items(
    store: ExceptionStore,
    scope: Scope,
    filt: QueueFilter,
    *,
    sort_model: Sequence[Mapping[str, Any]] | None = None,
    filter_model: Mapping[str, Any] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page:
    """The items in `scope` matching the filter, sorted, from `offset`, at most `limit`, with the total."""
    if offset < 0 or limit < 0:
        raise QueryError("offset and limit must not be negative")
    limit = min(limit, MAX_PAGE_ROWS)
    where = _statement(scope, filt, filter_model)
    order = [*compile_sort(sort_model), *DEFAULT_ORDER]
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(ExceptionItem).where(*where)) or 0
        rows = (
            list(
                s.scalars(
                    select(ExceptionItem).where(*where).order_by(*order).offset(offset).limit(limit)
                )
            )
            if limit and offset < total
            else []
        )
    return Page(rows, total)


def iter_items(
    store: ExceptionStore,
    scope: Scope,
    filt: QueueFilter,
    *,
    sort_model: Sequence[Mapping[str, Any]] | None = None,
    filter_model: Mapping[str, Any] | None = None,
    max_rows: int = EXPORT_MAX_ROWS,
) -> Iterator[ExceptionItem]:
    """Every matching item in scope, in order, read in chunks (at most `max_rows`)."""
    where = _statement(scope, filt, filter_model)
    order = [*compile_sort(sort_model), *DEFAULT_ORDER]
    query = select(ExceptionItem).where(*where).order_by(*order).limit(max_rows)
    with store.session() as s:
        yield from s.scalars(query.execution_options(yield_per=1000))


def export_rows(
    store: ExceptionStore,
    scope: Scope | None,
    filt: QueueFilter,
    *,
    sort_model: Sequence[Mapping[str, Any]] | None = None,
    filter_model: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of an export (`item_row` of every matching item in order); none without a scope."""
    if scope is None:
        return
    now = utcnow()
    for item in iter_items(store, scope, filt, sort_model=sort_model, filter_model=filter_model):
        yield item_row(item, now)


def get_scoped(store: ExceptionStore, scope: Scope, item_id: Any) -> ExceptionItem | None:
    """The item with this id if it exists and is in scope; None otherwise (or for a malformed id)."""
    number = parse_id(item_id)
    if number is None:
        return None
    with store.session() as s:
        return s.scalars(
            select(ExceptionItem).where(ExceptionItem.id == number, scope_condition(scope))
        ).first()


def scoped_ids(store: ExceptionStore, scope: Scope, ids: Iterable[int]) -> set[int]:
    """Which of these ids are items in scope."""
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted:
        return set()
    with store.session() as s:
        return set(
            s.scalars(
                select(ExceptionItem.id).where(ExceptionItem.id.in_(wanted), scope_condition(scope))
            )
        )


def parse_id(value: Any) -> int | None:
    """An item id from a URL or a request (a positive integer), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        number = int(value.strip())
        return number if number > 0 else None
    return None
