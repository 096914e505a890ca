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

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.sql.elements import UnaryExpression

from control_tower.accounts import Scope
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.store import UNRESOLVED, ExceptionItem, ExceptionStore
from control_tower.exceptions.types import ALERT_TYPE, EXCEPTION_TYPES, types_for_kpi
from control_tower.exceptions.workflow import (
    ACTIONS,
    ConflictError,
    TransitionError,
    WorkflowError,
    act,
)
from control_tower.settings import utc_now

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
TYPE_LABELS: dict[str, str] = {name: t.label for name, t in EXCEPTION_TYPES.items()}
TYPE_LABELS[ALERT_TYPE] = "KPI alert"


class QueryError(ValueError):
    """A filter, sort or paging argument that cannot be used; the message says which and why."""


def type_label(name: str) -> str:
    """The display name of an exception type (the name itself when unknown)."""
    return TYPE_LABELS.get(name, name)


def known_types() -> tuple[str, ...]:
    """Every type an item can have, in display order."""
    return (*EXCEPTION_TYPES, ALERT_TYPE)


# --- KPI links --------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _catalog_queues(root: str) -> dict[str, str]:
    """KPI name -> the exception queue its definition drills into (empty if unreadable)."""
    from control_tower.kpi.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(Path(root))
    except (CatalogError, OSError):
        return {}
    return {name: kpi.exception_queue for name, kpi in catalog.kpis.items()}


def kpi_types(kpi: str, definitions: Path | None = None) -> tuple[str, ...]:
    """The exception types behind a KPI: those naming it as their KPI, or whose queue it drills into.

    A type is linked when its `kpi` is the KPI, or its `kpi_queue` equals the
    KPI's name or the `exception_queue` of the KPI's definition.
    """
    queue = _catalog_queues(str(definitions)).get(kpi) if definitions else None
    return types_for_kpi(kpi, queue)


def linked_kpis(definitions: Path | None = None) -> tuple[str, ...]:
    """Every KPI that has at least one exception type behind it, sorted."""
    names = {t.kpi for t in EXCEPTION_TYPES.values() if t.kpi}
    if definitions:
        names |= {k for k in _catalog_queues(str(definitions)) if kpi_types(k, definitions)}
    return tuple(sorted(names))


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
        unknown = [t for t in self.types if t not in known_types()]
        if unknown:
            raise QueryError(
                f"unknown exception type {unknown[0]!r}; known types: {', '.join(known_types())}"
            )


def scope_condition(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition for the items a scope may see (see the module docstring)."""
    parts: list[ColumnElement[bool]] = []
    if scope.entities:
        parts.append(ExceptionItem.entity_id.in_(sorted(scope.entities)))
    if scope.locations:
        parts.append(ExceptionItem.location_id.in_(sorted(scope.locations)))
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
# Age grows as creation gets older: sorting by age is sorting by creation, reversed.
_REVERSED = {"age_days": ExceptionItem.created_at}
# Columns the grid may filter on, and how.
TEXT_FILTERS: Mapping[str, Any] = {
    "assignee": ExceptionItem.assignee,
    "location_id": ExceptionItem.location_id,
    "entity_id": ExceptionItem.entity_id,
    "item_id": ExceptionItem.item_id,
    "key": ExceptionItem.key,
}
NUMBER_FILTERS: Mapping[str, Any] = {
    "value_at_risk": ExceptionItem.value_at_risk,
    "id": ExceptionItem.id,
    "times_seen": ExceptionItem.times_seen,
}
DEFAULT_ORDER: tuple[UnaryExpression[Any], ...] = (
    _SEVERITY_ORDER.desc(),
    ExceptionItem.created_at.asc(),
    ExceptionItem.id.asc(),
)


def compile_sort(sort_model: Sequence[Mapping[str, Any]] | None) -> list[UnaryExpression[Any]]:
    """AG Grid's sort model (`[{"colId", "sort"}]`) as ORDER BY terms; unknown columns refused."""
    order: list[UnaryExpression[Any]] = []
    for entry in sort_model or []:
        if not isinstance(entry, Mapping):
            raise QueryError("a sort entry must be an object with colId and sort")
        col, direction = entry.get("colId"), entry.get("sort")
        if direction not in ("asc", "desc"):
            raise QueryError(f"sort direction {direction!r} must be asc or desc")
        if col in _REVERSED:
            expr = _REVERSED[col]
            direction = "desc" if direction == "asc" else "asc"
        elif col in SORTABLE:
            expr = SORTABLE[col]
        else:
            raise QueryError(f"cannot sort by {col!r}; sortable: {', '.join(sort_columns())}")
        order.append(expr.asc().nulls_last() if direction == "asc" else expr.desc().nulls_last())
    return order


def sort_columns() -> tuple[str, ...]:
    """Names a sort may use."""
    return (*SORTABLE, *_REVERSED)


def parse_sort(text: str | None) -> list[dict[str, str]]:
    """An API `sort` argument (`-value_at_risk,id`) as a grid sort model."""
    model = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            desc = part.startswith("-")
            model.append({"colId": part.lstrip("-+"), "sort": "desc" if desc else "asc"})
    return model


def _number(value: Any, col: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise QueryError(f"filter on {col}: {value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise QueryError(f"filter on {col}: {value!r} is not a number") from None


def compile_filter(filter_model: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    """AG Grid's filter model as WHERE conditions on whitelisted columns; values bound."""
    if not filter_model:
        return []
    if not isinstance(filter_model, Mapping):
        raise QueryError("the filter model must be an object")
    where: list[ColumnElement[bool]] = []
    for col, spec in filter_model.items():
        if not isinstance(spec, Mapping):
            raise QueryError(f"filter on {col!r} must be an object")
        kind, value = spec.get("type"), spec.get("filter")
        if col in TEXT_FILTERS:
            column = TEXT_FILTERS[col]
            if kind == "blank":
                where.append(or_(column.is_(None), column == ""))
                continue
            if kind == "notBlank":
                where.append(and_(column.is_not(None), column != ""))
                continue
            if not isinstance(value, str):
                raise QueryError(f"filter on {col}: a text value is needed")
            text = value.lower()
            lowered = func.lower(column)
            like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions = {
                "contains": lowered.like(f"%{like}%", escape="\\"),
                "notContains": or_(column.is_(None), ~lowered.like(f"%{like}%", escape="\\")),
                "equals": lowered == text,
                "notEqual": or_(column.is_(None), lowered != text),
                "startsWith": lowered.like(f"{like}%", escape="\\"),
                "endsWith": lowered.like(f"%{like}", escape="\\"),
            }
        elif col in NUMBER_FILTERS:
            column = NUMBER_FILTERS[col]
            if kind == "blank":
                where.append(column.is_(None))
                continue
            if kind == "notBlank":
                where.append(column.is_not(None))
                continue
            number = _number(value, col)
            conditions = {
                "equals": column == number,
                "notEqual": column != number,
                "lessThan": column < number,
                "lessThanOrEqual": column <= number,
                "greaterThan": column > number,
                "greaterThanOrEqual": column >= number,
            }
            if kind == "inRange":
                conditions["inRange"] = column.between(number, _number(spec.get("filterTo"), col))
        else:
            raise QueryError(f"cannot filter on {col!r}")
        if kind not in conditions:
            raise QueryError(f"filter on {col}: unknown comparison {kind!r}")
        where.append(conditions[kind])
    return where


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


# --- rows for people ----------------------------------------------------------------------------

# Per type, the detail fields that sum an item up in one line, in order.
_SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "stockout_risk": ("probability", "available_qty", "days_of_cover", "lead_time_days"),
    "backordered_line": ("order_id", "line_no", "customer_id", "days_past_promise", "shipped_qty"),
    "short_shipment": ("order_id", "line_no", "customer_id", "short_qty", "ordered_qty"),
    "late_wave": ("wave_id", "reason", "minutes_late", "lines_picked", "lines_planned"),
    "cycle_count_variance": ("bin_id", "abc_class", "system_qty", "counted_qty", "tolerance"),
    "receipt_not_put_away": ("receipt_id", "line_no", "po_id", "hours_waiting", "received_qty"),
    "carrier_delay": ("tms_shipment_id", "carrier_id", "status", "hours_late", "carrier_reason"),
    "unmatched_invoice_line": ("invoice_id", "line_no", "match_status", "po_id", "supplier_id"),
    "overdue_close_task": ("task_name", "period", "owner", "days_overdue"),
    "quarantined_rows": ("table_name", "file_name", "rows_quarantined", "rows_read", "status"),
    "stale_source": ("table_name", "hours_since_load", "sla_hours"),
}


def _short(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "?"
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def summary(item: ExceptionItem) -> str:
    """One line of the facts behind an item, from its detail (`field value · ...`)."""
    detail = item.detail if isinstance(item.detail, dict) else {}
    names = _SUMMARY_FIELDS.get(item.type) or tuple(detail)[:5]
    parts = [
        f"{name.replace('_', ' ')} {_short(detail[name])}"
        for name in names
        if detail.get(name) not in (None, "")
    ]
    return " · ".join(parts)


def utcnow() -> datetime:
    """Now, as naive UTC (the store's convention)."""
    return utc_now()


def sla_text(due: datetime, breached: bool, now: datetime, resolved: bool) -> str:
    """The SLA state in words: breached, due in X h, or met."""
    if resolved:
        return "breached" if breached else "met"
    if breached:
        return "breached"
    hours = (due - now).total_seconds() / 3600
    return f"due in {hours:.0f} h" if hours >= 1 else f"due in {max(hours * 60, 0):.0f} min"


def item_row(item: ExceptionItem, now: datetime) -> dict[str, Any]:
    """An item as a flat record for grids, exports and the API (times as ISO text, UTC)."""
    age = item_aging(item, now)

    def iso(value: datetime | None) -> str | None:
        return value.isoformat(sep=" ", timespec="seconds") if value else None

    return {
        "id": item.id,
        "version": item.version,
        "type": item.type,
        "type_label": type_label(item.type),
        "key": item.key,
        "status": item.status,
        "severity": item.severity,
        "owner_role": item.owner_role,
        "assignee": item.assignee,
        "location_id": item.location_id,
        "entity_id": item.entity_id,
        "item_id": item.item_id,
        "created_at": iso(item.created_at),
        "last_seen_at": iso(item.last_seen_at),
        "last_action_at": iso(item.last_action_at),
        "times_seen": item.times_seen,
        "active": item.active,
        "snoozed_until": iso(item.snoozed_until),
        "resolved_at": iso(item.resolved_at),
        "resolution_code": item.resolution_code,
        "age_days": age.age_days,
        "age_bucket": age.bucket,
        "days_since_last_action": age.days_since_last_action,
        "sla_hours": item.sla_hours,
        "sla_due_at": iso(age.sla_due_at),
        "sla_breached": age.sla_breached,
        "sla": sla_text(age.sla_due_at, age.sla_breached, now, item.resolved_at is not None),
        "value_at_risk": item.value_at_risk,
        "summary": summary(item),
    }


# Columns of an export, in order (a subset of `item_row`).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    "type_label",
    "key",
    "status",
    "severity",
    "owner_role",
    "assignee",
    "location_id",
    "entity_id",
    "item_id",
    "created_at",
    "last_seen_at",
    "age_days",
    "sla_due_at",
    "sla_breached",
    "sla",
    "value_at_risk",
    "resolution_code",
    "summary",
)


# --- one store per app database ------------------------------------------------------------------

_STORES: dict[str, ExceptionStore] = {}
_STORES_LOCK = threading.Lock()


def shared_store(url: str) -> ExceptionStore:
    """The process's exception store for an app database URL (opened once, then shared)."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = ExceptionStore.open(url)
        return store


# --- acting on items in scope -------------------------------------------------------------------


class OutOfScopeError(WorkflowError):
    """No item with this id in the user's scope (it may not exist at all: the two look the same)."""


def parse_until(value: Any) -> datetime:
    """A snooze end from a date or time (`YYYY-MM-DD` is the start of that day, UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), datetime.min.time())
            return parse_until(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise TransitionError(f"snooze needs a date to snooze until (YYYY-MM-DD), not {value!r}")


def act_in_scope(
    store: ExceptionStore,
    scope: Scope,
    item_id: Any,
    action: str,
    *,
    user: str,
    expected_version: Any,
    note: str | None = None,
    assignee: str | None = None,
    until: Any = None,
    reason: str | None = None,
    assignees: Collection[str] | None = None,
) -> ExceptionItem:
    """One workflow action by `user` on an item that must be in `scope`, at the version they saw.

    Raises OutOfScopeError (unknown, malformed or out-of-scope id alike),
    TransitionError for a bad argument (an assignee not among `assignees`, a
    bad date, a missing reason), ConflictError when the item changed since
    `expected_version`; see `workflow.act`.
    """
    item = get_scoped(store, scope, item_id)
    if item is None:
        raise OutOfScopeError(f"no exception {item_id} in your scope")
    if action not in ACTIONS:
        raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TransitionError("the version of the item you saw is needed (expected_version)")
    if action == "assign" and assignees is not None and assignee not in assignees:
        raise TransitionError(f"cannot assign to {assignee!r}: not an active user")
    note = note.strip() if isinstance(note, str) and note.strip() else None
    return act(
        store,
        item.id,
        action,
        user=user,
        expected_version=expected_version,
        note=note,
        assignee=assignee,
        until=parse_until(until) if action == "snooze" else None,
        reason=reason,
    )


@dataclass
class BulkResult:
    """What a bulk action did: items changed, items someone else changed first, items refused."""

    done: list[int] = field(default_factory=list)
    conflicts: list[ConflictError] = field(default_factory=list)
    refused: list[tuple[Any, str]] = field(default_factory=list)

    def message(self) -> str:
        """`3 done, 1 changed by sam meanwhile: refresh` and the reasons of refusals."""
        parts = [f"{len(self.done)} done"]
        if self.conflicts:
            who = sorted({c.actor for e in self.conflicts for c in e.changes} or {"someone"})
            parts.append(
                f"{len(self.conflicts)} changed by {', '.join(who)} meanwhile "
                f"(#{', #'.join(str(e.item_id) for e in self.conflicts)}): refresh and try again"
            )
        if self.refused:
            reasons = "; ".join(f"#{i}: {why}" for i, why in self.refused[:5])
            more = f" (and {len(self.refused) - 5} more)" if len(self.refused) > 5 else ""
            parts.append(f"{len(self.refused)} not possible — {reasons}{more}")
        return ", ".join(parts)


MAX_BULK_ITEMS = 500


def act_many(
    store: ExceptionStore,
    scope: Scope,
    selection: Sequence[tuple[Any, Any]],
    action: str,
    *,
    user: str,
    note: str | None = None,
    assignee: str | None = None,
    until: Any = None,
    reason: str | None = None,
    assignees: Collection[str] | None = None,
) -> BulkResult:
    """The same action on each selected (id, version seen), one item at a time, each in scope."""
    result = BulkResult()
    if len(selection) > MAX_BULK_ITEMS:
        result.refused.append(("*", f"select at most {MAX_BULK_ITEMS} items at once"))
        return result
    for item_id, version in selection:
        try:
            act_in_scope(
                store,
                scope,
                item_id,
                action,
                user=user,
                expected_version=version,
                note=note,
                assignee=assignee,
                until=until,
                reason=reason,
                assignees=assignees,
            )
        except ConflictError as exc:
            result.conflicts.append(exc)
        except WorkflowError as exc:
            result.refused.append((item_id, str(exc)))
        else:
            result.done.append(int(item_id))
    return result
