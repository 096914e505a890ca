"""A site's outbound work in the supervisor's local time: waves planned against actual
(judged like the wave KPIs) and, at a site without waves, its shipments against their carrier
cutoffs.

Timestamps are stored as naive UTC; wave and cutoff times come back in the site's local time
(its `locations.timezone`), which is how a supervisor reads a shift. Every query binds its
values and applies `Scope.sql` on the row's entity (from `locations`) and location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from control_tower.accounts import Scope
from control_tower.settings import clock
from control_tower.views.sites import Site

MAX_CUTOFF_ROWS = 200  # shipments listed for one day at a site without waves

_LOCAL = "timezone(l.timezone, timezone('UTC', {col}))"  # naive UTC -> naive local time


def local_now(tz: str) -> datetime:
    """The current wall-clock time at a site (naive; UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return clock().astimezone(zone).replace(tzinfo=None)


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


@dataclass(frozen=True)
class _DatedRows:
    """Site rows with a local day: `day` column, `rows` (a FROM clause), the rows' `location`
    column and the `where` condition they must meet."""

    day: str
    rows: str
    location: str
    where: str = "TRUE"


_WAVE_RELEASES = _DatedRows("w.planned_release_ts_local_date", "waves AS w", "w.location_id")
_CARRIER_CUTOFFS = _DatedRows(
    "f.planned_pickup_ts_local_date",
    "freight_shipments AS f JOIN shipments AS s ON s.shipment_id = f.shipment_id",
    "s.location_id",
    "f.status <> 'cancelled'",
)


def _latest_day(
    cur: duckdb.DuckDBPyConnection,
    site: Site,
    scope: Scope,
    on_or_before: date,
    source: _DatedRows,
) -> date | None:
    """The newest day of `source`, up to `on_or_before`, at the site within the user's scope."""
    day, location = source.day, source.location
    condition, params = scope.sql("l.entity_id", location)
    row = cur.execute(
        f"SELECT max({day}) FROM {source.rows} JOIN locations AS l ON l.location_id = {location} "
        f"WHERE {source.where} AND {location} = ? AND {day} <= ? AND {condition}",
        [site.location_id, on_or_before, *params],
    ).fetchone()
    return row[0] if row else None


def latest_wave_day(
    cur: duckdb.DuckDBPyConnection, site: Site, scope: Scope, on_or_before: date
) -> date | None:
    """The newest local day, up to `on_or_before`, with a planned wave at the site."""
    return _latest_day(cur, site, scope, on_or_before, _WAVE_RELEASES)


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
    return _latest_day(cur, site, scope, on_or_before, _CARRIER_CUTOFFS)


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
