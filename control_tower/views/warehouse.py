"""What the warehouse supervisor's page shows: a site's waves planned against actual, the
shipments of a site without waves against their carrier cutoffs, the put-away backlog and
the supervisor's exception queues, always within a user's scope.

KPI figures (wave adherence, dock to stock, inventory record accuracy) are not computed
here: the page reads them through `control_tower.kpi.serving.series`, so they are the
governed numbers. This module holds the row-level SQL behind the rest of the page.

Timestamps are stored as naive UTC; the wave and cutoff times come back in the site's
local time (its `locations.timezone`), which is how a supervisor reads a shift. Every
query binds its values as parameters and applies `Scope.sql` on the row's entity (from
`locations`) and location, so a row outside the scope never leaves the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.store import UNRESOLVED
from control_tower.exceptions.types import EXCEPTION_TYPES, RECEIPT_NOT_PUT_AWAY

SUPERVISOR_ROLE = "warehouse_supervisor"
PUTAWAY_BREACH_HOURS = float(RECEIPT_NOT_PUT_AWAY.params["hours"])  # type: ignore[arg-type]
MAX_CUTOFF_ROWS = 200  # shipments listed for one day at a site without waves

_LOCAL = "timezone(l.timezone, timezone('UTC', {col}))"  # naive UTC -> naive local time


@dataclass(frozen=True)
class Site:
    """A warehouse the user may see."""

    location_id: str
    name: str
    entity_id: str
    timezone: str
    wave_based: bool

    @property
    def label(self) -> str:
        """`DC-NJ · Edison Distribution Center`."""
        return f"{self.location_id} · {self.name}" if self.name else self.location_id


def sites(cur: duckdb.DuckDBPyConnection, scope: Scope) -> list[Site]:
    """The warehouses in scope, in location id order (empty before any landing)."""
    condition, params = scope.sql("entity_id", "location_id")
    try:
        rows = cur.execute(
            "SELECT location_id, coalesce(name, ''), coalesce(entity_id, ''), "
            "coalesce(timezone, 'UTC'), coalesce(wave_based, false) "
            f"FROM locations WHERE {condition} ORDER BY location_id",
            params,
        ).fetchall()
    except duckdb.CatalogException:
        return []
    return [Site(*r) for r in rows]


def pick_site(choices: list[Site], chosen: str | None) -> Site | None:
    """The chosen site if the user may see it; by default the first one that runs waves."""
    if chosen:
        return next((s for s in choices if s.location_id == chosen), None)
    return next((s for s in choices if s.wave_based), choices[0] if choices else None)


# --- waves ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wave:
    """One pick wave of a day, times in the site's local time, judged against its plan.

    release_state: on_time, late, early (outside the window either side is a miss),
    not_released (due and never released), planned (not due yet), cancelled.
    completion_state: on_time, late, overdue (due and not completed), in_progress,
    planned, cancelled.
    """

    wave_id: str
    status: str
    planned_release: datetime
    planned_complete: datetime
    released: datetime | None
    completed: datetime | None
    lines_planned: int
    lines_picked: int
    release_minutes_off: float | None  # actual - planned release, in minutes
    complete_minutes_off: float | None  # actual - planned completion, in minutes
    release_state: str
    completion_state: str

    @property
    def late(self) -> bool:
        """Missed its release window or its planned completion."""
        return self.release_state in ("late", "early", "not_released") or (
            self.completion_state in ("late", "overdue")
        )


def latest_wave_day(
    cur: duckdb.DuckDBPyConnection, site: Site, scope: Scope, on_or_before: date
) -> date | None:
    """The newest local day, up to `on_or_before`, with a planned wave at the site."""
    condition, params = scope.sql("l.entity_id", "w.location_id")
    row = cur.execute(
        "SELECT max(w.planned_release_ts_local_date) FROM waves AS w "
        "JOIN locations AS l ON l.location_id = w.location_id "
        f"WHERE w.location_id = ? AND w.planned_release_ts_local_date <= ? AND {condition}",
        [site.location_id, on_or_before, *params],
    ).fetchone()
    return row[0] if row else None


def waves_on(
    cur: duckdb.DuckDBPyConnection,
    site: Site,
    day: date,
    *,
    scope: Scope,
    now: datetime,
    window_minutes: int,
) -> list[Wave]:
    """The waves planned for release on `day` (the site's local calendar), in planned order.

    A release is on time within +-`window_minutes` of the plan, inclusive, compared as
    instants (the wave_release_adherence rule); a completion on time at or before the
    planned completion. `now` (naive UTC) decides whether an unfinished wave is due.
    """
    condition, params = scope.sql("l.entity_id", "w.location_id")
    local = {c: _LOCAL.format(col=f"w.{c}") for c in ("planned_release_ts", "planned_complete_ts")}
    local |= {c: _LOCAL.format(col=f"w.{c}") for c in ("released_ts", "completed_ts")}
    rows = cur.execute(
        f"""
        SELECT
            w.wave_id, w.status,
            {local["planned_release_ts"]}, {local["planned_complete_ts"]},
            {local["released_ts"]}, {local["completed_ts"]},
            coalesce(w.lines_planned, 0), coalesce(w.lines_picked, 0),
            (epoch(w.released_ts) - epoch(w.planned_release_ts)) / 60.0,
            (epoch(w.completed_ts) - epoch(w.planned_complete_ts)) / 60.0,
            CASE
                WHEN w.status = 'cancelled' THEN 'cancelled'
                WHEN w.released_ts IS NULL AND w.planned_release_ts
                     + to_minutes(CAST(? AS INTEGER)) < CAST(? AS TIMESTAMP) THEN 'not_released'
                WHEN w.released_ts IS NULL THEN 'planned'
                WHEN w.released_ts > w.planned_release_ts + to_minutes(CAST(? AS INTEGER))
                    THEN 'late'
                WHEN w.released_ts < w.planned_release_ts - to_minutes(CAST(? AS INTEGER))
                    THEN 'early'
                ELSE 'on_time'
            END,
            CASE
                WHEN w.status = 'cancelled' THEN 'cancelled'
                WHEN w.completed_ts IS NOT NULL AND w.completed_ts <= w.planned_complete_ts
                    THEN 'on_time'
                WHEN w.completed_ts IS NOT NULL THEN 'late'
                WHEN w.planned_complete_ts < CAST(? AS TIMESTAMP) THEN 'overdue'
                WHEN w.released_ts IS NOT NULL THEN 'in_progress'
                ELSE 'planned'
            END
        FROM waves AS w
        JOIN locations AS l ON l.location_id = w.location_id
        WHERE w.location_id = ? AND w.planned_release_ts_local_date = ? AND {condition}
        ORDER BY w.planned_release_ts, w.wave_id
        """,
        [
            window_minutes,
            now,
            window_minutes,
            window_minutes,
            now,
            site.location_id,
            day,
            *params,
        ],
    ).fetchall()
    return [Wave(*r) for r in rows]


# --- a site without waves: shipments against the carrier cutoff --------------------------------


@dataclass(frozen=True)
class CutoffShipment:
    """A WMS shipment of a site without waves against the planned pickup of its freight.

    state: on_time (shipped at or before the cutoff), late, missed (not shipped and the
    cutoff has passed) or waiting. Times in the site's local time.
    """

    shipment_id: str
    carrier_id: str | None
    cutoff: datetime
    shipped: datetime | None
    lines: int
    minutes_off: float | None
    state: str


@dataclass(frozen=True)
class CutoffDay:
    """The shipments with a cutoff on one day: counts by state and the first rows."""

    day: date | None
    total: int
    on_time: int
    late: int
    rows: tuple[CutoffShipment, ...]


def latest_cutoff_day(
    cur: duckdb.DuckDBPyConnection, site: Site, scope: Scope, on_or_before: date
) -> date | None:
    """The newest local day, up to `on_or_before`, with a carrier cutoff at the site."""
    condition, params = scope.sql("l.entity_id", "s.location_id")
    row = cur.execute(
        "SELECT max(f.planned_pickup_ts_local_date) FROM freight_shipments AS f "
        "JOIN shipments AS s ON s.shipment_id = f.shipment_id "
        "JOIN locations AS l ON l.location_id = s.location_id "
        "WHERE f.status <> 'cancelled' AND s.location_id = ? "
        f"AND f.planned_pickup_ts_local_date <= ? AND {condition}",
        [site.location_id, on_or_before, *params],
    ).fetchone()
    return row[0] if row else None


def shipments_against_cutoff(
    cur: duckdb.DuckDBPyConnection,
    site: Site,
    day: date,
    *,
    scope: Scope,
    now: datetime,
    limit: int = MAX_CUTOFF_ROWS,
) -> CutoffDay:
    """The site's WMS shipments whose carrier cutoff falls on `day` (local), latest-first
    problems first. A shipment leaves when its last line ships (the wave_units rule)."""
    condition, params = scope.sql("l.entity_id", "s.location_id")
    base = f"""
        WITH cut AS (
            SELECT shipment_id, min(carrier_id) AS carrier_id,
                   min(planned_pickup_ts) AS cutoff_ts
            FROM freight_shipments
            WHERE status <> 'cancelled' AND planned_pickup_ts_local_date = ?
            GROUP BY shipment_id
        ),
        shp AS (
            SELECT s.shipment_id, min(s.location_id) AS location_id,
                   max(s.shipped_ts) AS shipped_ts, count(*) AS lines
            FROM shipments AS s
            JOIN cut ON cut.shipment_id = s.shipment_id
            WHERE s.location_id = ?
            GROUP BY s.shipment_id
        )
        SELECT
            s.shipment_id, c.carrier_id,
            {_LOCAL.format(col="c.cutoff_ts")} AS cutoff,
            {_LOCAL.format(col="s.shipped_ts")} AS shipped,
            s.lines,
            (epoch(s.shipped_ts) - epoch(c.cutoff_ts)) / 60.0 AS minutes_off,
            CASE
                WHEN s.shipped_ts <= c.cutoff_ts THEN 'on_time'
                WHEN s.shipped_ts IS NOT NULL THEN 'late'
                WHEN c.cutoff_ts < CAST(? AS TIMESTAMP) THEN 'missed'
                ELSE 'waiting'
            END AS state
        FROM shp AS s
        JOIN cut AS c ON c.shipment_id = s.shipment_id
        JOIN locations AS l ON l.location_id = s.location_id
        WHERE {condition}
    """
    binds: list[Any] = [day, site.location_id, now, *params]
    counts = cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE state = 'on_time'), "
        f"count(*) FILTER (WHERE state IN ('late', 'missed')) FROM ({base})",
        binds,
    ).fetchone()
    rows = cur.execute(
        f"{base} ORDER BY state = 'on_time', cutoff, shipment_id LIMIT ?", [*binds, limit]
    ).fetchall()
    total, on_time, late = counts if counts else (0, 0, 0)
    return CutoffDay(
        day, int(total), int(on_time), int(late), tuple(CutoffShipment(*r) for r in rows)
    )


# --- put-away backlog and exception queues -----------------------------------------------------


@dataclass(frozen=True)
class PutawayBacklog:
    """Receipt lines that arrived and are not put away yet."""

    waiting: int
    over_limit: int  # waiting longer than PUTAWAY_BREACH_HOURS
    oldest_hours: float | None


def putaway_backlog(
    cur: duckdb.DuckDBPyConnection, scope: Scope, now: datetime, *, location_id: str | None = None
) -> PutawayBacklog:
    """Receipt lines arrived by `now` (naive UTC) without a put-away time, in scope."""
    condition, params = scope.sql("l.entity_id", "r.location_id")
    location_sql = " AND r.location_id = ?" if location_id is not None else ""
    row = cur.execute(
        "WITH waiting AS (SELECT (epoch(CAST($now AS TIMESTAMP)) - epoch(r.arrived_ts)) / 3600.0 "
        "AS hours FROM receipts AS r LEFT JOIN locations AS l ON l.location_id = r.location_id "
        "WHERE r.putaway_ts IS NULL AND r.arrived_ts <= CAST($now AS TIMESTAMP)"
        f"{location_sql.replace('?', '$location')} AND {_named(condition)}) "
        "SELECT count(*), count(*) FILTER (WHERE hours > $limit), max(hours) FROM waiting",
        {
            "now": now,
            "limit": PUTAWAY_BREACH_HOURS,
            **({"location": location_id} if location_id is not None else {}),
            **{f"s{i}": v for i, v in enumerate(params)},
        },
    ).fetchone()
    waiting, over, oldest = row if row else (0, 0, None)
    return PutawayBacklog(int(waiting), int(over), oldest)


def _named(condition: str) -> str:
    """A `Scope.sql` condition with its `?` placeholders named $s0, $s1, ... in order."""
    parts = condition.split("?")
    return "".join(p + (f"$s{i}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


@dataclass(frozen=True)
class QueueCount:
    """Unresolved items of one exception type, and how many are past their SLA."""

    type: str
    label: str
    sla_hours: float
    unresolved: int
    past_sla: int


def owned_types(role: str = SUPERVISOR_ROLE) -> list[str]:
    """The exception types a role owns, in display order."""
    return [t.name for t in EXCEPTION_TYPES.values() if t.owner_role == role]


def queue_counts(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    now: datetime,
    *,
    types: list[str],
    location_id: str | None = None,
) -> list[QueueCount]:
    """Unresolved items (open, acknowledged, snoozed) of each type in scope, with those past
    their SLA (created more than sla_hours before `now`); every type listed, zeros included."""
    counts: dict[str, tuple[int, int]] = {}
    if types:
        condition, params = scope.sql("entity_id", "location_id")
        binds: list[Any] = [now, *types, *UNRESOLVED]
        where = (
            f"type IN ({', '.join('?' * len(types))}) "
            f"AND status IN ({', '.join('?' * len(UNRESOLVED))}) AND {condition}"
        )
        if location_id is not None:
            where += " AND location_id = ?"
        try:
            rows = cur.execute(
                "SELECT type, count(*), count(*) FILTER (WHERE "
                "epoch(CAST(? AS TIMESTAMP)) - epoch(created_at) > sla_hours * 3600) "
                f"FROM exc.queue_items WHERE {where} GROUP BY type",
                [*binds, *params, *([location_id] if location_id is not None else [])],
            ).fetchall()
        except duckdb.CatalogException:
            rows = []
        counts = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    return [
        QueueCount(
            name,
            EXCEPTION_TYPES[name].label,
            EXCEPTION_TYPES[name].sla_hours,
            *counts.get(name, (0, 0)),
        )
        for name in types
    ]


@dataclass(frozen=True)
class LateRisk:
    """An open order line the late-order model expects to miss its first promise."""

    order_id: str
    line_no: int
    customer_id: str | None
    item_id: str | None
    first_promised_date: date | None
    probability: float
    value: float | None
    reasons: tuple[str, ...]  # the top drivers raising the risk, in words


def late_order_risks(
    cur: duckdb.DuckDBPyConnection, scope: Scope, location_id: str, *, limit: int = 12
) -> list[LateRisk]:
    """The site's open lines most likely to miss their first promise (risk x line value first),
    from the risk model's latest scores (`risk.late_order_scores`); empty before it has scored."""
    condition, params = scope.sql("entity_id", "location_id")
    try:
        rows = cur.execute(
            "SELECT order_id, line_no, customer_id, item_id, first_promised_date, probability, "
            "value, drivers FROM risk.late_order_scores "
            f"WHERE location_id = ? AND {condition} "
            "ORDER BY probability * coalesce(value, 0) DESC, probability DESC, order_id, line_no "
            "LIMIT ?",
            [location_id, *params, limit],
        ).fetchall()
    except duckdb.CatalogException:
        return []
    return [
        LateRisk(r[0], int(r[1]), r[2], r[3], r[4], float(r[5]), r[6], _raising(r[7])) for r in rows
    ]


def _raising(drivers: str | None, top: int = 2) -> tuple[str, ...]:
    """The labels of the first drivers that raise the risk."""
    import json

    try:
        items = json.loads(drivers) if drivers else []
    except ValueError:
        return ()
    labels = [d.get("label") or d.get("feature") for d in items if d.get("direction") == "raises"]
    return tuple(str(label) for label in labels[:top] if label)
