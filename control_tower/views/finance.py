"""What the finance page shows beyond the governed KPIs: the close checklist in progress and
the expedited share of freight, within a user's scope.

Days to close, invoice first-pass match and freight cost variance are read through
`control_tower.kpi.serving.series` by the page. This module holds the row-level SQL:

- `close_checklist`: per entity, the tasks of the period being closed (the latest
  month that ended before `as_of`), with owner, due date, status, completion and how
  many days an unfinished task is past its due date; earlier periods that still have
  unfinished tasks are counted beside it.
- `expedited_share`: the freight_cost_variance KPI's companion "expedited share"
  (sum of actual cost where expedited / sum of actual cost), by carrier and overall,
  plus the share of moves that were expedited. Companions are materialised per day as a
  value only, which cannot be summed over a range, so the figure is computed here from
  `freight_shipments` with the KPI model's rules: non-cancelled moves with both an actual
  cost and an actual pickup whose local pickup day is in the range and before `as_of`,
  located at the warehouse that shipped them (the smallest location of their WMS
  shipment's lines) and the entity of that warehouse. The daily sums by carrier and site
  are the same for every user, so they are read once per (immutable) serving snapshot and
  the range and scope are applied to them in memory.

Every query binds its values; the checklist applies `Scope.sql`, so out-of-scope rows
never leave the database, and the expedited share keeps only in-scope sites' sums. Close tasks belong to an entity only: a scope limited by location sees none.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.serving import SnapshotCache


@dataclass(frozen=True)
class CloseTask:
    """One task of a close checklist."""

    task_id: str
    task_name: str
    category: str | None
    owner: str | None
    due_date: date
    status: str  # open or done
    completed_at: datetime | None  # naive UTC
    days_overdue: int | None  # not done and due before as_of: as_of - due_date, in days

    @property
    def overdue(self) -> bool:
        """Not done and past its due date."""
        return self.days_overdue is not None


@dataclass(frozen=True)
class EntityClose:
    """An entity's close in progress: its period, tasks and progress."""

    entity_id: str
    period: str  # YYYY-MM
    tasks: tuple[CloseTask, ...]
    earlier_open_periods: tuple[str, ...]  # older periods with unfinished tasks
    earlier_open_tasks: int

    @property
    def done(self) -> int:
        """Tasks done."""
        return sum(t.status == "done" for t in self.tasks)

    @property
    def overdue(self) -> int:
        """Tasks not done and past their due date."""
        return sum(t.overdue for t in self.tasks)


def close_checklist(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    as_of: date,
    *,
    entity_id: str | None = None,
) -> list[EntityClose]:
    """Each entity's checklist of the latest period that ended before `as_of`, in entity
    order; tasks by due date, then task id. A task counts as done once completed before
    `as_of` (the days_to_close rule)."""
    condition, params = scope.sql("entity_id", None)
    entity_sql = " AND entity_id = ?" if entity_id else ""
    try:
        rows = cur.execute(
            f"""
            WITH t AS (
                SELECT entity_id, period, task_id, task_name, category, owner, due_date,
                       completed_at,
                       completed_at IS NOT NULL AND completed_at_local_date < $as_of AS is_done,
                       last_day(CAST(strptime(period || '-01', '%Y-%m-%d') AS DATE)) AS period_end
                FROM close_tasks
                WHERE {_named(condition)}{entity_sql.replace("?", "$entity")}
            ),
            current AS (
                SELECT entity_id, max(period) AS period FROM t
                WHERE period_end < $as_of GROUP BY entity_id
            ),
            earlier AS (
                SELECT t.entity_id, list(DISTINCT t.period ORDER BY t.period) AS periods,
                       count(*) AS tasks
                FROM t JOIN current AS c ON c.entity_id = t.entity_id AND t.period < c.period
                WHERE NOT t.is_done GROUP BY t.entity_id
            )
            SELECT t.entity_id, t.period, t.task_id, t.task_name, t.category, t.owner,
                   t.due_date, CASE WHEN t.is_done THEN 'done' ELSE 'open' END,
                   CASE WHEN t.is_done THEN t.completed_at END,
                   CASE WHEN NOT t.is_done AND t.due_date < $as_of
                        THEN date_diff('day', t.due_date, CAST($as_of AS DATE)) END,
                   coalesce(e.periods, []), coalesce(e.tasks, 0)
            FROM t
            JOIN current AS c ON c.entity_id = t.entity_id AND c.period = t.period
            LEFT JOIN earlier AS e ON e.entity_id = t.entity_id
            ORDER BY t.entity_id, t.due_date, t.task_id
            """,
            {
                "as_of": as_of,
                **{f"s{i}": v for i, v in enumerate(params)},
                **({"entity": entity_id} if entity_id else {}),
            },
        ).fetchall()
    except duckdb.CatalogException:
        return []
    out: dict[str, EntityClose] = {}
    tasks: dict[str, list[CloseTask]] = {}
    for r in rows:
        entity = r[0]
        tasks.setdefault(entity, []).append(CloseTask(*r[2:10]))
        if entity not in out:
            out[entity] = EntityClose(entity, r[1], (), tuple(r[10]), int(r[11]))
    return [
        EntityClose(
            c.entity_id, c.period, tuple(tasks[e]), c.earlier_open_periods, c.earlier_open_tasks
        )
        for e, c in out.items()
    ]


@dataclass(frozen=True)
class Expedited:
    """Expedited freight of one carrier (or overall, carrier None) over a range."""

    carrier_id: str | None
    moves: int
    expedited_moves: int
    actual_cost: float
    expedited_cost: float

    @property
    def cost_share(self) -> float | None:
        """Expedited share of actual cost (the KPI companion's definition)."""
        return self.expedited_cost / self.actual_cost if self.actual_cost else None

    @property
    def move_share(self) -> float | None:
        """Share of moves that were expedited."""
        return self.expedited_moves / self.moves if self.moves else None


def expedited_share(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    *,
    start: date,
    end: date,
    as_of: date,
    entity_id: str | None = None,
    location_id: str | None = None,
) -> list[Expedited]:
    """Expedited freight by carrier (highest expedited cost share first), then the overall
    figure last (carrier None); empty when no move in scope was costed in the range.

    Sums the snapshot's daily expedited freight (`expedited_daily`) over the range, keeping
    only the moves of sites in `scope` (and of the chosen entity and location)."""
    days, rows = expedited_daily(cur, as_of)
    # Each non-empty set must hold the row's entity / site (a row without one never does).
    wanted_entities = [e for e in (scope.entities, {entity_id} if entity_id else None) if e]
    wanted_locations = [x for x in (scope.locations, {location_id} if location_id else None) if x]
    sums: dict[str | None, list[float]] = {}
    for day_index in range(bisect_left(days, start), bisect_right(days, end)):
        _day, carrier, entity, location, moves, fast, cost, fast_cost = rows[day_index]
        if any(entity not in e for e in wanted_entities):
            continue
        if any(location not in x for x in wanted_locations):
            continue
        for key in (carrier, None):
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = [0, 0, 0.0, 0.0]
            acc[0] += moves
            acc[1] += fast
            acc[2] += cost
            acc[3] += fast_cost
    if not sums:
        return []
    carriers = [
        Expedited(c, int(a[0]), int(a[1]), float(a[2]), float(a[3]))
        for c, a in sums.items()
        if c is not None
    ]
    carriers.sort(key=lambda f: (-(f.cost_share or 0), f.carrier_id or ""))
    a = sums[None]
    return [*carriers, Expedited(None, int(a[0]), int(a[1]), float(a[2]), float(a[3]))]


ExpeditedDay = tuple[date, str | None, str | None, str | None, int, int, float, float]
_DAILY = SnapshotCache(4)


def expedited_daily(
    cur: duckdb.DuckDBPyConnection, as_of: date
) -> tuple[list[date], list[ExpeditedDay]]:
    """Every day's costed freight before `as_of`, by carrier and shipping site (and its
    entity): (day, carrier, entity, location, moves, expedited moves, actual cost, expedited
    actual cost), in day order, with the days alone for bisecting. Kept per snapshot: it is
    the same for every user (scope is applied when it is summed)."""
    return _DAILY.get(cur, ("expedited_daily", as_of), lambda: _expedited_daily(cur, as_of))


def _expedited_daily(
    cur: duckdb.DuckDBPyConnection, as_of: date
) -> tuple[list[date], list[ExpeditedDay]]:
    try:
        rows = cur.execute(
            """
            WITH f AS (
                SELECT shipment_id, carrier_id, expedited, actual_pickup_ts_local_date AS day,
                       CAST(actual_freight_cost AS DOUBLE) AS cost
                FROM freight_shipments
                WHERE status <> 'cancelled'
                  AND actual_freight_cost IS NOT NULL AND actual_pickup_ts IS NOT NULL
                  AND actual_pickup_ts_local_date < $as_of
            ),
            o AS (
                SELECT s.shipment_id, min(s.location_id) AS location_id
                FROM shipments AS s SEMI JOIN f ON f.shipment_id = s.shipment_id
                GROUP BY s.shipment_id
            )
            SELECT f.day, f.carrier_id, l.entity_id, o.location_id, count(*),
                   count(*) FILTER (WHERE f.expedited),
                   sum(f.cost), coalesce(sum(f.cost) FILTER (WHERE f.expedited), 0)
            FROM f
            LEFT JOIN o ON o.shipment_id = f.shipment_id
            LEFT JOIN locations AS l ON l.location_id = o.location_id
            GROUP BY ALL
            ORDER BY f.day
            """,
            {"as_of": as_of},
        ).fetchall()
    except duckdb.CatalogException:
        return [], []
    out = [(*r[:4], int(r[4]), int(r[5]), float(r[6] or 0), float(r[7])) for r in rows]
    return [r[0] for r in out], out


def _named(condition: str) -> str:
    """A `Scope.sql` condition with its `?` placeholders named $s0, $s1, ... in order."""
    parts = condition.split("?")
    return "".join(p + (f"$s{i}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))
