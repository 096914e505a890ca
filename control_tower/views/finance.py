"""What the finance page shows: days to close by entity and period, the close checklist in
progress, invoice first-pass match (trend and worst suppliers), freight cost variance by
carrier and the expedited share of freight, within a user's scope (`finance_view`).

The governed KPIs are read through `control_tower.kpi.serving.series`. This module also
holds the row-level SQL:

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
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import OutOfScopeError, Point, SnapshotCache, series
from control_tower.money.sql import converted, entity_currency_join, monthly_rate_join
from control_tower.views.figures import Breakdown, Headline, Refused, headline, total_and_breakdown
from control_tower.views.kpi import Bar, breakdown, figure
from control_tower.views.sql import named

CLOSE_KPI = "days_to_close"
MATCH_KPI = "invoice_first_pass_match_rate"
FREIGHT_KPI = "freight_cost_variance"
CLOSE_MONTHS = 6  # periods shown in the days-to-close chart, at least
WORST_SUPPLIERS = 10


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
                WHERE {named(condition)}{entity_sql.replace("?", "$entity")}
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
                   sum({cost}), coalesce(sum({cost}) FILTER (WHERE f.expedited), 0)
            FROM f
            LEFT JOIN o ON o.shipment_id = f.shipment_id
            LEFT JOIN locations AS l ON l.location_id = o.location_id
            {currency_join}
            {rate_join}
            GROUP BY ALL
            ORDER BY f.day
            """.format(
                # a move's cost in the reporting currency at its month's average rate; a move
                # without a rate counts as a move but adds no cost (never as zero money)
                cost=converted("f.cost"),
                currency_join=entity_currency_join("l.entity_id"),
                rate_join=monthly_rate_join("f.day"),
            ),
            {"as_of": as_of},
        ).fetchall()
    except duckdb.CatalogException:
        return [], []
    out = [(*r[:4], int(r[4]), int(r[5]), float(r[6] or 0), float(r[7])) for r in rows]
    return [r[0] for r in out], out


# --- the page's figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class DaysToClose:
    """Days to close by entity and month from `start` (at least CLOSE_MONTHS periods up to the
    range's end): the measured points, and the latest period's figure over its entities."""

    start: date
    points: tuple[Point, ...]
    latest_period: date | None
    latest: Point


@dataclass(frozen=True)
class InvoiceMatch:
    """Invoice first-pass match over the range, its trend, and the worst suppliers first."""

    headline: Headline
    suppliers: tuple[Bar, ...]


@dataclass(frozen=True)
class FinanceView:
    """Everything the finance page shows for one range and scope."""

    as_of: date
    start: date
    end: date
    close_kpi: Kpi
    match_kpi: Kpi
    freight_kpi: Kpi
    close: DaysToClose | None  # None: the scope cannot apply (close figures are by entity)
    checklist: tuple[EntityClose, ...] | None  # None: a scope limited by location
    match: InvoiceMatch | Refused
    freight: Breakdown | Refused  # freight cost variance, overall and by carrier
    expedited: tuple[Expedited, ...]  # by carrier, then overall

    @property
    def checklist_done(self) -> int:
        """Tasks done in the checklists shown."""
        return sum(c.done for c in self.checklist or ())

    @property
    def checklist_tasks(self) -> int:
        """Tasks in the checklists shown."""
        return sum(len(c.tasks) for c in self.checklist or ())

    @property
    def checklist_overdue(self) -> int:
        """Unfinished tasks past their due date in the checklists shown."""
        return sum(c.overdue for c in self.checklist or ())

    @property
    def expedited_overall(self) -> Expedited | None:
        """The expedited share over every carrier (None without costed moves)."""
        return next((e for e in self.expedited if e.carrier_id is None), None)


def months_before(day: date, months: int) -> date:
    """The first day of the month `months` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _days_to_close(
    cur: duckdb.DuckDBPyConnection, kpi: Kpi, scope: Scope, start: date, end: date
) -> DaysToClose | None:
    close_start = min(start, months_before(end, CLOSE_MONTHS - 1))
    try:
        by_entity = series(
            cur, kpi, scope=scope, start=close_start, end=end, grain="month", dimension="entity_id"
        )
    except OutOfScopeError:
        return None
    measured = [p for p in by_entity.points if p.value is not None and p.denominator]
    latest_period = max((p.period for p in measured if p.period), default=None)
    latest = figure(kpi, [p for p in measured if p.period == latest_period])
    return DaysToClose(close_start, tuple(measured), latest_period, latest)


def _invoice_match(
    cur: duckdb.DuckDBPyConnection, kpi: Kpi, scope: Scope, start: date, end: date, grain: str
) -> InvoiceMatch | Refused:
    try:
        head = headline(cur, kpi, scope=scope, start=start, end=end, grain=grain)
        suppliers = breakdown(cur, kpi, scope=scope, start=start, end=end, dimension="supplier_id")
    except OutOfScopeError as exc:
        return Refused(str(exc))
    return InvoiceMatch(head, tuple(suppliers[:WORST_SUPPLIERS]))


def finance_view(
    cur: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: Scope,
    *,
    as_of: date,
    start: date,
    end: date,
    grain: str,
    entity_id: str | None = None,
    location_id: str | None = None,
) -> FinanceView:
    """The finance page's figures over [start, end] under `scope` (the user's scope with the
    view's entity and location folded in; `entity_id` and `location_id` are those choices)."""
    close_kpi, match_kpi, freight_kpi = (
        catalog.kpi(n) for n in (CLOSE_KPI, MATCH_KPI, FREIGHT_KPI)
    )
    span = {"scope": scope, "start": start, "end": end}
    checklist = (
        None if scope.locations else tuple(close_checklist(cur, scope, as_of, entity_id=entity_id))
    )
    expedited = expedited_share(
        cur,
        scope,
        start=start,
        end=end,
        as_of=as_of,
        entity_id=entity_id,
        location_id=location_id,
    )
    return FinanceView(
        as_of=as_of,
        start=start,
        end=end,
        close_kpi=close_kpi,
        match_kpi=match_kpi,
        freight_kpi=freight_kpi,
        close=_days_to_close(cur, close_kpi, scope, start, end),
        checklist=checklist,
        match=_invoice_match(cur, match_kpi, scope, start, end, grain),
        freight=total_and_breakdown(cur, freight_kpi, dimension="carrier_id", **span),
        expedited=tuple(expedited),
    )
