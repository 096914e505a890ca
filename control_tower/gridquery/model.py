"""AG Grid's sort and filter models, checked against a column whitelist.

Every server-side grid (the exception queue over the app database, the
quarantine browser over a DuckDB snapshot) receives the browser's models
and must turn them into a query without letting anything the browser sends
become SQL text. This module only reads and checks them: `parse_sort` and
`parse_filter` return plain dataclasses naming whitelisted columns, known
operators and typed values, or raise a `GridQueryError` that says which
column, type, operator or value cannot be used. Compilers for a given
database (SQLAlchemy, DuckDB) turn those dataclasses into conditions with
bound parameters.

Filters follow AG Grid's model: `{column: {"filterType", "type", "filter",
"filterTo", "dateFrom", "dateTo"}}`, or a combined filter `{"filterType",
"operator": "AND"|"OR", "conditions": [...]}` of up to four conditions.
`filterType` may be left out (the column's kind is used); the operator
defaults to `contains` for text and `equals` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

ColumnKind = Literal["text", "number", "date"]
Value = str | float | int | date

TEXT_OPERATORS: tuple[str, ...] = (
    "contains",
    "notContains",
    "equals",
    "notEqual",
    "startsWith",
    "endsWith",
)
COMPARE_OPERATORS: tuple[str, ...] = (
    "equals",
    "notEqual",
    "lessThan",
    "lessThanOrEqual",
    "greaterThan",
    "greaterThanOrEqual",
    "inRange",
)
BLANK_OPERATORS: tuple[str, ...] = ("blank", "notBlank")
MAX_CONDITIONS = 4
MAX_TEXT = 500


class GridQueryError(ValueError):
    """A sort, filter or paging request that cannot be answered as asked; the message says why."""


class UnknownColumnError(GridQueryError):
    """A sort or filter names a column that is not on the whitelist."""


class InvalidFilterError(GridQueryError):
    """A filter or sort has a type, operator or value the grid does not support."""


@dataclass(frozen=True)
class SortKey:
    """One column of the order, ascending unless `descending`."""

    column: str
    descending: bool = False


@dataclass(frozen=True)
class Condition:
    """One comparison: `op` with its value (and upper bound for `inRange`); none for blanks."""

    op: str
    value: Value | None = None
    upper: Value | None = None


@dataclass(frozen=True)
class ColumnFilter:
    """The filter of one column: one or more conditions joined by AND or OR."""

    column: str
    kind: ColumnKind
    conditions: tuple[Condition, ...]
    join: Literal["AND", "OR"] = "AND"


def _column(name: object, allowed: Collection[str], what: str) -> str:
    if not isinstance(name, str) or name not in allowed:
        known = ", ".join(sorted(allowed))
        raise UnknownColumnError(f"cannot {what} by column {name!r}: allowed columns are {known}")
    return name


def parse_sort(
    model: Sequence[Mapping[str, Any]] | None, sortable: Collection[str]
) -> list[SortKey]:
    """AG Grid's sort model (`[{"colId", "sort"}]`) as sort keys over `sortable` columns."""
    if model is not None and not isinstance(model, Sequence | list):
        raise InvalidFilterError("the sort model must be a list of {colId, sort} objects")
    keys: list[SortKey] = []
    for entry in model or []:
        if not isinstance(entry, Mapping):
            raise InvalidFilterError(f"bad sort entry {entry!r}: an object with colId and sort")
        column = _column(entry.get("colId"), sortable, "sort")
        direction = str(entry.get("sort", "asc")).lower()
        if direction not in ("asc", "desc"):
            raise InvalidFilterError(f"sort on {column}: direction must be asc or desc")
        keys.append(SortKey(column, direction == "desc"))
    return keys


def sort_model_from_text(text: str | None) -> list[dict[str, str]]:
    """A sort written as text (`-value_at_risk,id`: `-` for descending) as AG Grid's sort model."""
    model = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            desc = part.startswith("-")
            model.append({"colId": part.lstrip("-+"), "sort": "desc" if desc else "asc"})
    return model


def _number(value: object, column: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a number")
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a finite number")
    return number


def _date(value: object, column: str) -> date:
    if not isinstance(value, str):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a date")
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        raise InvalidFilterError(f"filter on {column}: {value!r} is not a date") from None


def _text(value: object, column: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidFilterError(f"filter on {column}: {value!r} is not text")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise InvalidFilterError(f"filter on {column}: longer than {MAX_TEXT} characters")
    return text


def _condition(column: str, kind: ColumnKind, spec: Mapping[str, Any]) -> Condition:
    op = spec.get("type", "contains" if kind == "text" else "equals")
    if op in BLANK_OPERATORS:
        return Condition(op)
    if kind == "text":
        if op not in TEXT_OPERATORS:
            raise InvalidFilterError(f"filter on {column}: unsupported text filter {op!r}")
        return Condition(op, _text(spec.get("filter"), column))
    if op not in COMPARE_OPERATORS:
        raise InvalidFilterError(f"filter on {column}: unsupported {kind} filter {op!r}")
    if kind == "number":
        upper = _number(spec.get("filterTo"), column) if op == "inRange" else None
        return Condition(op, _number(spec.get("filter"), column), upper)
    upper_day = _date(spec.get("dateTo"), column) if op == "inRange" else None
    return Condition(op, _date(spec.get("dateFrom"), column), upper_day)


def parse_filter(
    model: Mapping[str, Any] | None, columns: Mapping[str, ColumnKind]
) -> list[ColumnFilter]:
    """AG Grid's filter model as column filters over the whitelisted `columns` (name -> kind)."""
    if not model:
        return []
    if not isinstance(model, Mapping):
        raise InvalidFilterError("the filter model must be an object of column -> filter")
    filters: list[ColumnFilter] = []
    for name, spec in model.items():
        column = _column(name, columns, "filter")
        if not isinstance(spec, Mapping):
            raise InvalidFilterError(f"filter on {column}: expected an object, got {spec!r}")
        kind = columns[column]
        declared = spec.get("filterType", kind)
        if declared != kind:
            raise InvalidFilterError(
                f"filter on {column}: a {declared!r} filter on a {kind} column is not supported"
            )
        if "conditions" not in spec:
            filters.append(ColumnFilter(column, kind, (_condition(column, kind, spec),)))
            continue
        join = str(spec.get("operator", "AND")).upper()
        if join not in ("AND", "OR"):
            raise InvalidFilterError(f"filter on {column}: unknown operator {join!r}")
        conditions = spec["conditions"]
        if not isinstance(conditions, list) or not 0 < len(conditions) <= MAX_CONDITIONS:
            raise InvalidFilterError(
                f"filter on {column}: between 1 and {MAX_CONDITIONS} conditions allowed"
            )
        parsed = []
        for cond in conditions:
            if not isinstance(cond, Mapping):
                raise InvalidFilterError(f"filter on {column}: bad condition {cond!r}")
            parsed.append(_condition(column, kind, cond))
        filters.append(ColumnFilter(column, kind, tuple(parsed), "OR" if join == "OR" else "AND"))
    return filters


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character escaped (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(op: str, text: str) -> str:
    """The LIKE pattern of a text operator (`contains`, `startsWith`, ...) for `text`, escaped."""
    escaped = like_escape(text.lower())
    if op in ("contains", "notContains"):
        return f"%{escaped}%"
    if op == "startsWith":
        return f"{escaped}%"
    if op == "endsWith":
        return f"%{escaped}"
    raise InvalidFilterError(f"{op!r} is not a pattern operator")
