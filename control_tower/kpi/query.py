"""Compute a governed KPI on a read-only cursor: the one entry point for the CLI, app and API.

Readers open a published serving snapshot (never the live warehouse); the
result carries the KPI's version and freshness with its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from control_tower.engines.base import Engine
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.compiler import compile_kpi
from control_tower.kpi.materialize import freshness


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _records(names: list[str], raw: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts; only the columns holding dates or decimals are converted
    (a result column has one SQL type, so its first non-null value tells)."""
    convert = [
        i
        for i in range(len(names))
        if isinstance(
            next((r[i] for r in raw if r[i] is not None), None), datetime | date | Decimal
        )
    ]
    if not convert:
        return [dict(zip(names, r, strict=True)) for r in raw]
    out = []
    for r in raw:
        row = list(r)
        for i in convert:
            row[i] = _plain(row[i])
        out.append(dict(zip(names, row, strict=True)))
    return out


def compute(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    as_of: date,
    grain: str | None = None,
    by: Sequence[str] = (),
    where: Mapping[str, str | Sequence[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    companions: bool = False,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """The KPI as one JSON-ready object: kpi, version, as_of, freshness, rows.

    Companion figures are computed only when asked for (`companions=True`). With an
    `engine` the query runs there (Spark over the lake); freshness is still read from `cur`.
    """
    q = compile_kpi(
        kpi,
        as_of=as_of,
        grain=grain,
        by=by,
        where=where,
        parameters=parameters,
        companions=companions,
    )
    if engine is None:
        result = cur.execute(q.sql, q.params)
        names = [d[0] for d in result.description]
        raw = result.fetchall()
    else:
        table = engine.query_arrow(q.sql, q.params, what=f"KPI {kpi.name}")
        names = table.column_names
        raw = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    rows = _records(names, raw)
    fresh = freshness(cur, kpi.model.tables)
    return {
        "kpi": kpi.name,
        "version": kpi.version,
        "as_of": as_of.isoformat(),
        "freshness": fresh.isoformat() if fresh else None,
        "rows": rows,
    }
