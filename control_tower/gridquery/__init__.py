"""Server-side grids: AG Grid's sort and filter models, checked, then compiled to SQL.

- `model`: `parse_sort` / `parse_filter` (model dict -> whitelisted `SortKey` /
  `ColumnFilter` dataclasses, or a `GridQueryError` naming the problem).
- `to_sqlalchemy`: the parsed model as SQLAlchemy conditions and ORDER BY terms.
- `to_duckdb`: the parsed model as DuckDB SQL text with bound parameters.

Both grids of the product (the exception queue and the quarantine browser)
accept the same operators, including two-condition AND/OR filters.
"""

from __future__ import annotations

from control_tower.gridquery.model import (
    BLANK_OPERATORS,
    COMPARE_OPERATORS,
    MAX_CONDITIONS,
    MAX_TEXT,
    TEXT_OPERATORS,
    ColumnFilter,
    ColumnKind,
    Condition,
    GridQueryError,
    InvalidFilterError,
    SortKey,
    UnknownColumnError,
    like_escape,
    like_pattern,
    parse_filter,
    parse_sort,
    sort_model_from_text,
)

__all__ = [
    "BLANK_OPERATORS",
    "COMPARE_OPERATORS",
    "MAX_CONDITIONS",
    "MAX_TEXT",
    "TEXT_OPERATORS",
    "ColumnFilter",
    "ColumnKind",
    "Condition",
    "GridQueryError",
    "InvalidFilterError",
    "SortKey",
    "UnknownColumnError",
    "like_escape",
    "like_pattern",
    "parse_filter",
    "parse_sort",
    "sort_model_from_text",
]
