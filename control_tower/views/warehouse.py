"""What the warehouse supervisor's page shows for one site (`warehouse_view`): wave
adherence, dock to stock, inventory record accuracy (the governed KPIs, read through
`control_tower.kpi.serving.series`), the site's day of waves or cutoffs
(`control_tower.views.waves`), the put-away backlog, the supervisor's exception queues and
the open lines most likely to miss their promise, always within a user's scope.

This module holds the row-level SQL of the backlog, the queues and the late-order risks.
Every query binds its values as parameters and applies `Scope.sql` on the row's entity (from
`locations`) and location, so a row outside the scope never leaves the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.exceptions.rules.warehouse import RECEIPT_NOT_PUT_AWAY
from control_tower.exceptions.store import UNRESOLVED
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import Point, series
from control_tower.planning.model import active_model, describe_model, parse_drivers
from control_tower.views.data_time import DataTime, data_time
from control_tower.views.figures import Breakdown, Headline, Refused, headline, total_and_breakdown
from control_tower.views.kpi import figure
from control_tower.views.sites import Site
from control_tower.views.sql import named
from control_tower.views.waves import (
    CutoffDay,
    Wave,
    latest_cutoff_day,
    latest_wave_day,
    local_now,
    shipments_against_cutoff,
    waves_on,
)

SUPERVISOR_ROLE = "warehouse_supervisor"
PUTAWAY_BREACH_HOURS = float(RECEIPT_NOT_PUT_AWAY.params["hours"])  # type: ignore[arg-type]
RELEASE_KPI = "wave_release_adherence"
COMPLETION_KPI = "wave_completion_on_time"
DOCK_KPI = "dock_to_stock_hours"
ACCURACY_KPI = "inventory_record_accuracy"
NO_LATE_MODEL = "No late-order model has been trained yet (control-tower risk train)."


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
        f"{location_sql.replace('?', '$location')} AND {named(condition)}) "
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
                "epoch(CAST(? AS TIMESTAMP)) - epoch(coalesce(event_at, created_at)) > sla_hours * 3600) "
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
    items = parse_drivers(drivers)
    labels = [d.get("label") or d.get("feature") for d in items if d.get("direction") == "raises"]
    return tuple(str(label) for label in labels[:top] if label)


# --- the page's figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class WaveDay:
    """A wave site's latest day with waves up to the range's end (day None: no wave yet),
    its waves, and the site's wall-clock time now."""

    day: date | None
    waves: tuple[Wave, ...]
    now_local: datetime

    @property
    def late(self) -> int:
        """Waves released or completed late."""
        return sum(w.late for w in self.waves)


@dataclass(frozen=True)
class DockToStock:
    """Dock-to-stock hours by the view's grain, and the latest period's median."""

    latest: Point
    trend: tuple[Point, ...]


@dataclass(frozen=True)
class LateRisks:
    """The site's open lines likely to miss their promise, and the model's record in words."""

    rows: tuple[LateRisk, ...]
    model_note: str


@dataclass(frozen=True)
class WarehouseView:
    """Everything the warehouse page shows for one site, range and grain."""

    site: Site
    kpis: dict[str, Kpi]
    window_minutes: int  # the release window of wave release adherence
    release: Headline
    completion: Headline
    dock: DockToStock
    backlog: PutawayBacklog
    accuracy: Breakdown | Refused  # inventory record accuracy, overall and by ABC class
    outbound: WaveDay | CutoffDay  # waves at a wave site, carrier cutoffs elsewhere
    queues: tuple[QueueCount, ...]
    late_risks: LateRisks
    dock_data: DataTime | None = None  # extract and load times of dock to stock's sources


def _outbound(
    cur: duckdb.DuckDBPyConnection,
    site: Site,
    scope: Scope,
    end: date,
    now: datetime,
    window: int,
) -> WaveDay | CutoffDay:
    if not site.wave_based:
        day = latest_cutoff_day(cur, site, scope, end)
        if day is None:
            return CutoffDay(None, 0, 0, 0, ())
        return shipments_against_cutoff(cur, site, day, scope=scope, now=now)
    day = latest_wave_day(cur, site, scope, end)
    waves = (
        waves_on(cur, site, day, scope=scope, now=now, window_minutes=window)
        if day is not None
        else []
    )
    return WaveDay(day, tuple(waves), local_now(site.timezone))


def _late_risks(cur: duckdb.DuckDBPyConnection, scope: Scope, site: Site) -> LateRisks:
    card = active_model(cur, "late_order")
    note = describe_model(card, "late lines", "the no-stock rule") if card else NO_LATE_MODEL
    return LateRisks(tuple(late_order_risks(cur, scope, site.location_id)), note)


def warehouse_view(
    cur: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    user_scope: Scope,
    scope: Scope,
    site: Site,
    *,
    start: date,
    end: date,
    grain: str,
    now: datetime,
) -> WarehouseView:
    """The page's figures for `site` over [start, end] by `grain`. KPIs read under `scope`
    (the user's scope narrowed to the site); the row-level queries take the user's scope and
    the site's location."""
    kpis = {n: catalog.kpi(n) for n in (RELEASE_KPI, COMPLETION_KPI, DOCK_KPI, ACCURACY_KPI)}
    window = int(kpis[RELEASE_KPI].parameters["release_window_minutes"].default)
    span = {"scope": scope, "start": start, "end": end}
    dock = series(cur, kpis[DOCK_KPI], grain=grain, **span)
    return WarehouseView(
        site=site,
        kpis=kpis,
        window_minutes=window,
        release=headline(cur, kpis[RELEASE_KPI], grain=grain, **span),
        completion=headline(cur, kpis[COMPLETION_KPI], grain=grain, **span),
        dock=DockToStock(figure(kpis[DOCK_KPI], dock.points), tuple(dock.points)),
        backlog=putaway_backlog(cur, user_scope, now, location_id=site.location_id),
        accuracy=total_and_breakdown(cur, kpis[ACCURACY_KPI], dimension="abc_class", **span),
        outbound=_outbound(cur, site, user_scope, end, now, window),
        queues=tuple(
            queue_counts(cur, user_scope, now, types=owned_types(), location_id=site.location_id)
        ),
        late_risks=_late_risks(cur, user_scope, site),
        dock_data=data_time(cur, kpis[DOCK_KPI].model.tables, now),
    )
