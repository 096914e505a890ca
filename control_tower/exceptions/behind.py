"""The unresolved exception items behind a KPI's number, read from the DuckDB mirror of the queue.

The caller names what is behind the number: the exception types a KPI
definition lists (`Kpi.exception_types`), or every item past its SLA
(`Kpi.exceptions_past_sla`, the items exception_aging counts). The KPI's own
alerts (type `kpi_alert`, whose detail names the KPI) are always behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.registry import ALERT_TYPE
from control_tower.exceptions.store import UNRESOLVED


@dataclass(frozen=True)
class ExceptionRow:
    """An unresolved exception item behind a KPI."""

    id: str
    type: str
    key: str
    status: str
    severity: str | None
    location_id: str | None
    entity_id: str | None
    item_id: str | None
    created_at: datetime
    age_days: float
    value_at_risk: float | None
    past_sla: bool


@dataclass(frozen=True)
class ExceptionsBehind:
    """How many unresolved items are behind a KPI in a view, their value, and the top few."""

    count: int
    value_at_risk: float
    past_sla: int
    rows: tuple[ExceptionRow, ...]
    types: tuple[str, ...]


def exceptions_behind(
    cur: duckdb.DuckDBPyConnection,
    kpi: str,
    types: tuple[str, ...],
    *,
    scope: Scope,
    now: datetime,
    past_sla_only: bool = False,
    item_id: str | None = None,
    limit: int = 10,
) -> ExceptionsBehind:
    """Unresolved items (open, acknowledged, snoozed) of `types` and the alerts of KPI `kpi`, or
    with `past_sla_only` every unresolved item past its SLA, within `scope` (the view's entity and
    location already folded into it), biggest value at risk first, then oldest."""
    statuses = ", ".join("?" * len(UNRESOLVED))
    params: list[Any] = [now, *UNRESOLVED]
    if past_sla_only:
        which = "age_hours > sla_hours"
    else:
        holders = ", ".join("?" * len(types)) or "NULL"
        which = f"(type IN ({holders}) OR (type = ? AND json_extract_string(detail, '$.kpi') = ?))"
        params.extend([*types, ALERT_TYPE, kpi])
    condition, scope_params = scope.sql("entity_id", "location_id")
    params.extend(scope_params)
    item_sql = ""
    if item_id is not None:
        item_sql = " AND item_id = ?"
        params.append(item_id)
    base = (
        "WITH q AS (SELECT *, (epoch(CAST(? AS TIMESTAMP)) - epoch(coalesce(event_at, created_at))) / 3600.0 "
        "AS age_hours FROM exc.queue_items) "
        f"SELECT id, type, key, status, severity, location_id, entity_id, item_id, created_at, "
        "age_hours, value_at_risk, age_hours > sla_hours AS past_sla FROM q "
        f"WHERE status IN ({statuses}) AND {which} AND ({condition}){item_sql}"
    )
    try:
        totals = cur.execute(
            f"SELECT count(*), coalesce(sum(value_at_risk), 0), count(*) FILTER (WHERE past_sla) "
            f"FROM ({base})",
            params,
        ).fetchone()
        rows = cur.execute(
            f"{base} ORDER BY value_at_risk DESC NULLS LAST, created_at, id LIMIT ?",
            [*params, limit],
        ).fetchall()
    except duckdb.CatalogException:
        return ExceptionsBehind(0, 0.0, 0, (), types)
    count, value, late = totals if totals else (0, 0.0, 0)
    return ExceptionsBehind(
        count=int(count),
        value_at_risk=float(value or 0),
        past_sla=int(late),
        rows=tuple(
            ExceptionRow(
                id=str(r[0]),
                type=r[1],
                key=r[2],
                status=r[3],
                severity=r[4],
                location_id=r[5],
                entity_id=r[6],
                item_id=r[7],
                created_at=r[8],
                age_days=float(r[9] or 0) / 24,
                value_at_risk=r[10],
                past_sla=bool(r[11]),
            )
            for r in rows
        ),
        types=types,
    )
