"""Parsed grid models as SQLAlchemy conditions and ORDER BY terms (values bound by SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, or_
from sqlalchemy.sql.elements import UnaryExpression

from control_tower.gridquery.model import ColumnFilter, Condition, SortKey, like_pattern


def order_terms(
    keys: Sequence[SortKey],
    columns: Mapping[str, Any],
    reversed_columns: Collection[str] = (),
) -> list[UnaryExpression[Any]]:
    """ORDER BY terms for sort keys; `columns` maps each sortable name to its expression.

    A name in `reversed_columns` sorts its expression the other way (an age is a
    creation time, reversed). Missing values sort last either way.
    """
    terms = []
    for key in keys:
        expr = columns[key.column]
        descending = key.descending != (key.column in reversed_columns)
        terms.append(expr.desc().nulls_last() if descending else expr.asc().nulls_last())
    return terms


def _compare(op: str, expr: Any, cond: Condition) -> ColumnElement[bool]:
    value = cond.value
    if op == "equals":
        return expr == value
    if op == "notEqual":
        return or_(expr.is_(None), expr != value)
    if op == "lessThan":
        return expr < value
    if op == "lessThanOrEqual":
        return expr <= value
    if op == "greaterThan":
        return expr > value
    if op == "greaterThanOrEqual":
        return expr >= value
    return expr.between(value, cond.upper)  # inRange


def _text(column: Any, cond: Condition) -> ColumnElement[bool]:
    lowered = func.lower(column)
    text = str(cond.value).lower()
    if cond.op == "equals":
        return lowered == text
    if cond.op == "notEqual":
        return or_(column.is_(None), lowered != text)
    matches = lowered.like(like_pattern(cond.op, text), escape="\\")
    return or_(column.is_(None), ~matches) if cond.op == "notContains" else matches


def _condition(column: Any, kind: str, cond: Condition) -> ColumnElement[bool]:
    if cond.op == "blank":
        return or_(column.is_(None), column == "") if kind == "text" else column.is_(None)
    if cond.op == "notBlank":
        return and_(column.is_not(None), column != "") if kind == "text" else column.is_not(None)
    if kind == "text":
        return _text(column, cond)
    return _compare(cond.op, cast(column, Date) if kind == "date" else column, cond)


def where_conditions(
    filters: Sequence[ColumnFilter], columns: Mapping[str, Any]
) -> list[ColumnElement[bool]]:
    """One condition per column filter; `columns` maps each filterable name to its column."""
    where = []
    for f in filters:
        parts = [_condition(columns[f.column], f.kind, c) for c in f.conditions]
        where.append(parts[0] if len(parts) == 1 else (or_ if f.join == "OR" else and_)(*parts))
    return where
