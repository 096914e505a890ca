"""Parsed grid models as DuckDB SQL text with `?` parameters.

Column names come from the caller's whitelist (the parser refuses any other)
and are quoted; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from control_tower.gridquery.model import ColumnFilter, Condition, SortKey, like_pattern

_COMPARE = {
    "equals": "=",
    "notEqual": "<>",
    "lessThan": "<",
    "lessThanOrEqual": "<=",
    "greaterThan": ">",
    "greaterThanOrEqual": ">=",
}


def order_sql(keys: Sequence[SortKey]) -> str:
    """An ORDER BY list (without the keywords; empty when unsorted); missing values last."""
    return ", ".join(f'"{k.column}" {"DESC" if k.descending else "ASC"} NULLS LAST' for k in keys)


def _condition(column: str, kind: str, cond: Condition) -> tuple[str, list[Any]]:
    c = f'"{column}"'
    if cond.op == "blank":
        return (f"({c} IS NULL OR CAST({c} AS VARCHAR) = '')", [])
    if cond.op == "notBlank":
        return (f"({c} IS NOT NULL AND CAST({c} AS VARCHAR) <> '')", [])
    if kind == "text":
        text = str(cond.value)
        if cond.op == "equals":
            return (f"lower({c}) = lower(?)", [text])
        if cond.op == "notEqual":
            return (f"({c} IS NULL OR lower({c}) <> lower(?))", [text])
        pattern = like_pattern(cond.op, text)
        if cond.op == "notContains":
            return (f"({c} IS NULL OR lower({c}) NOT LIKE ? ESCAPE '\\')", [pattern])
        return (f"lower({c}) LIKE ? ESCAPE '\\'", [pattern])
    expr = f"CAST({c} AS DATE)" if kind == "date" else c
    if cond.op == "inRange":
        return (f"{expr} BETWEEN ? AND ?", [cond.value, cond.upper])
    sql = f"{expr} {_COMPARE[cond.op]} ?"
    return (f"({c} IS NULL OR {sql})" if cond.op == "notEqual" else sql, [cond.value])


def where_sql(filters: Sequence[ColumnFilter]) -> tuple[str, list[Any]]:
    """A WHERE condition (`TRUE` when unfiltered) and its parameters, in order."""
    parts: list[str] = []
    params: list[Any] = []
    for f in filters:
        sqls = []
        for cond in f.conditions:
            sql, values = _condition(f.column, f.kind, cond)
            sqls.append(sql)
            params.extend(values)
        parts.append(sqls[0] if len(sqls) == 1 else "(" + f" {f.join} ".join(sqls) + ")")
    return (" AND ".join(parts) or "TRUE"), params
