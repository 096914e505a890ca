"""Small query helpers shared by the planning modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def table_exists(cur: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether `schema.name` exists in the snapshot."""
    row = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def records(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict]:
    """The rows of a query as dicts keyed by column name."""
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def as_float(value: Any) -> float | None:
    """A number as a float (None stays None)."""
    return None if value is None else float(value)
