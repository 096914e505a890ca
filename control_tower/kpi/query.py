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

from control_tower.kpi.catalog import Kpi
from control_tower.kpi.compiler import compile_kpi
from control_tower.kpi.materialize import freshness


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


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
) -> dict[str, Any]:
    """The KPI as one JSON-ready object: kpi, version, as_of, freshness, rows."""
    q = compile_kpi(kpi, as_of=as_of, grain=grain, by=by, where=where, parameters=parameters)
    result = cur.execute(q.sql, q.params)
    names = [d[0] for d in result.description]
    rows = []
    for raw in result.fetchall():
        record = dict(zip(names, (_plain(v) for v in raw), strict=True))
        if not companions:
            for name in kpi.companions:
                record.pop(name, None)
        rows.append(record)
    fresh = freshness(cur, kpi.model.tables)
    return {
        "kpi": kpi.name,
        "version": kpi.version,
        "as_of": as_of.isoformat(),
        "freshness": fresh.isoformat() if fresh else None,
        "rows": rows,
    }
