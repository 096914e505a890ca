"""What the KPI pages and the KPI API show: tiles, trends, breakdowns and the facts of the
catalog, all under a user's scope. (The exception items behind a number are read by
`control_tower.exceptions.behind`, from the types the KPI lists.)

Figures come from `kpi.serving.series` (materialised values when they answer
exactly, the compiled definition otherwise), so every view of a KPI reads
the same numbers. The value of a ratio KPI over a range is sum(numerator) /
sum(denominator) of its days; a KPI that is not a ratio (a median, a last
snapshot) cannot be summed over days, so its value over a range is its
latest period's.

The catalog is loaded once per process and again only when a definition
file changes (`cached_catalog`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from control_tower import resources
from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog, HistoryRecord, Kpi, load_catalog
from control_tower.kpi.compiler import compile_kpi
from control_tower.kpi.format import format_value
from control_tower.kpi.governance import read_history
from control_tower.kpi.serving import Point, Series, kept, latest_as_of, series, status_of
from control_tower.settings import utc_now as settings_utc_now
from control_tower.views.data_time import DataTime, data_as_of, data_time

STALE_HOURS = 26.0  # data older than this is flagged on a tile (daily loads plus slack)

# --- the catalog, cached per process ----------------------------------------------------------

_CATALOGS: dict[tuple[Path, ...], tuple[tuple[Any, ...], Catalog]] = {}
_CATALOG_LOCK = threading.Lock()


def _stamp(roots: tuple[Path, ...]) -> tuple[Any, ...]:
    """What changes when a definition changes: every .yml file's name, size and mtime."""
    files = sorted(p for root in roots for p in root.rglob("*.yml"))
    return tuple((str(p), s.st_mtime_ns, s.st_size) for p in files for s in (p.stat(),))


def cached_catalog(root: Path | Sequence[Path]) -> Catalog:
    """The validated catalog of a definitions folder (or of several loaded together, as in
    `Settings.kpi_definitions`), reloaded only when a file changed."""
    roots = resources.folders(root)
    stamp = _stamp(roots)
    with _CATALOG_LOCK:
        hit = _CATALOGS.get(roots)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    catalog = load_catalog(roots)
    with _CATALOG_LOCK:
        _CATALOGS[roots] = (stamp, catalog)
    return catalog


def certified(catalog: Catalog) -> list[Kpi]:
    """The certified KPIs, in catalog order."""
    return [k for k in catalog.kpis.values() if k.status == "certified"]


# --- figures ------------------------------------------------------------------------------------


def utc_now() -> datetime:
    """The current time, naive UTC (as the warehouse stores it; the product's clock)."""
    return settings_utc_now()


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The range of the same length just before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def figure(kpi: Kpi, points: Iterable[Point]) -> Point:
    """The KPI over these points as one figure (member and period dropped).

    A ratio: sum of numerators over sum of denominators. Otherwise the latest
    period's value (a median or a stock cannot be summed over periods).
    """
    pts = [p for p in points if p.period is not None or p.value is not None]
    if kpi.is_ratio:
        counted = [p for p in pts if p.denominator is not None]
        num = sum(p.numerator or 0 for p in counted)
        den = sum(p.denominator or 0 for p in counted)
        return Point(None, num / den if den else None, num, den)
    dated = [p for p in pts if p.value is not None]
    if not dated:
        return Point(None, None)
    last = max(dated, key=lambda p: p.period or date.min)
    return Point(last.period, last.value, last.numerator, last.denominator)


def by_period(kpi: Kpi, points: Iterable[Point]) -> list[Point]:
    """One figure per period (members of a breakdown combined), in period order."""
    groups: dict[date | None, list[Point]] = {}
    for p in points:
        groups.setdefault(p.period, []).append(p)
    out = []
    for period in sorted(groups, key=lambda d: d or date.min):
        f = figure(kpi, groups[period])
        out.append(Point(period, f.value, f.numerator, f.denominator))
    return out


@dataclass(frozen=True)
class Change:
    """A value against the previous period: the difference, in words, and whether it helps."""

    delta: float | None
    text: str  # "+1.2 pts", "−0.4"
    verdict: str | None  # better, worse, same; None without both values


def change(kpi: Kpi, current: float | None, previous: float | None) -> Change:
    """The change from `previous` to `current`, judged by the KPI's direction."""
    if current is None or previous is None:
        return Change(None, "no previous value", None)
    delta = current - previous
    if kpi.unit == "percent":
        size = f"{abs(delta) * 100:.1f} pts"
        same = size == "0.0 pts"
    else:
        size = format_value(abs(delta), kpi.format)
        same = size == format_value(0.0, kpi.format)
    if same:
        return Change(delta, "no change", "same")
    up_is_good = kpi.direction == "higher_is_better"
    sign = "+" if delta > 0 else "−"
    return Change(delta, sign + size, "better" if (delta > 0) == up_is_good else "worse")


def age_hours(freshness: datetime | None, now: datetime) -> float | None:
    """How old data stamped `freshness` (naive UTC) is, in hours."""
    if freshness is None:
        return None
    return max((now - freshness).total_seconds(), 0) / 3600


@dataclass(frozen=True)
class Tile:
    """A KPI's headline for one view: value, status, change, trend and freshness."""

    kpi: Kpi
    value: Point
    previous: Point
    change: Change
    status: str | None
    trend: tuple[Point, ...]
    freshness: datetime | None
    source: str
    data: DataTime | None = None  # extract and load times of its sources, and the stale ones


# A KPI counted on the evaluation day itself (exception_aging: what the queue holds open): the
# values' day is its current figure, which belongs to a range reaching the data's as-of day.
SNAPSHOT_DIMENSIONS: frozenset[str] = frozenset({"as_of_date"})


def _snapshot_end(cur: duckdb.DuckDBPyConnection, kpi: Kpi, end: date, now: datetime) -> date:
    """The end to read a KPI over: for a snapshot KPI whose range reaches the data's as-of day,
    the KPI values' day (where its current figure is dated); otherwise `end`."""
    if kpi.time_dimension not in SNAPSHOT_DIMENSIONS:
        return end
    newest, latest = data_as_of(cur, now), latest_as_of(cur)
    if latest is None or (newest is not None and end < newest.date()):
        return end
    return max(end, latest)


def tile(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    grain: str = "day",
) -> Tile:
    """The KPI over [start, end] and the same span before, with its trend by `grain`.

    Raises OutOfScopeError when the scope cannot be applied to the KPI.
    """
    now = utc_now()
    before, _ = previous_range(start, end)
    end = _snapshot_end(cur, kpi, end, now)
    daily = series(cur, kpi, scope=scope, start=before, end=end, grain="day")
    current = [p for p in daily.points if p.period is not None and p.period >= start]
    earlier = [p for p in daily.points if p.period is not None and p.period < start]
    if grain == "day":
        trend: Sequence[Point] = current
    else:
        trend = series(cur, kpi, scope=scope, start=start, end=end, grain=grain).points
    value, previous = figure(kpi, current), figure(kpi, earlier)
    return Tile(
        kpi=kpi,
        value=value,
        previous=previous,
        change=change(kpi, value.value, previous.value),
        status=status_of(kpi, value.value),
        trend=tuple(trend),
        freshness=daily.freshness,
        source=daily.source,
        data=data_time(cur, kpi.model.tables, now),
    )


@dataclass(frozen=True)
class View:
    """A KPI for one view of the detail page: its value, trend by grain, and how it was read."""

    value: Point
    status: str | None
    trend: tuple[Point, ...]
    freshness: datetime | None
    source: str
    data: DataTime | None = None  # extract and load times of its sources, and the stale ones


def view(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    grain: str = "day",
    dimension: str | None = None,
    member: str | None = None,
) -> View:
    """The KPI over [start, end] (only `member` of `dimension` when given), and its trend."""
    dim = dimension if member is not None else None
    members = [member] if member is not None else None
    now = utc_now()
    end = _snapshot_end(cur, kpi, end, now)
    daily = series(
        cur, kpi, scope=scope, start=start, end=end, grain="day", dimension=dim, members=members
    )
    if grain == "day":
        trend = by_period(kpi, daily.points)
    else:
        coarse = series(
            cur, kpi, scope=scope, start=start, end=end, grain=grain, dimension=dim, members=members
        )
        trend = by_period(kpi, coarse.points)
    value = figure(kpi, daily.points)
    return View(
        value,
        status_of(kpi, value.value),
        tuple(trend),
        daily.freshness,
        daily.source,
        data_time(cur, kpi.model.tables, now),
    )


@dataclass(frozen=True)
class Bar:
    """One member of a breakdown."""

    member: str | None
    value: float | None
    numerator: float | None
    denominator: float | None
    status: str | None


def breakdown(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    dimension: str,
) -> list[Bar]:
    """The KPI over [start, end] for each value of `dimension`, worst first (no value last)."""
    end = _snapshot_end(cur, kpi, end, utc_now())
    s = series(cur, kpi, scope=scope, start=start, end=end, grain="day", dimension=dimension)
    groups: dict[str | None, list[Point]] = {}
    for p in s.points:
        groups.setdefault(p.member, []).append(p)
    bars = []
    for member, points in groups.items():
        f = figure(kpi, points)
        bars.append(Bar(member, f.value, f.numerator, f.denominator, status_of(kpi, f.value)))
    sign = 1 if kpi.direction == "higher_is_better" else -1
    bars.sort(key=lambda b: (b.value is None, sign * (b.value or 0), str(b.member)))
    return bars


@dataclass(frozen=True)
class MemberChange:
    """One member of a breakdown over a range, against the same span just before."""

    member: str | None
    value: Point
    previous: Point
    change: Change
    status: str | None


def breakdown_change(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    dimension: str,
) -> list[MemberChange]:
    """The KPI over [start, end] and over the span before it for each value of `dimension`
    (read as a tile reads it), worst first by the KPI's direction, no value last.

    Raises OutOfScopeError when the scope cannot be applied to the KPI."""
    before, _ = previous_range(start, end)
    end = _snapshot_end(cur, kpi, end, utc_now())
    s = series(cur, kpi, scope=scope, start=before, end=end, grain="day", dimension=dimension)
    current: dict[str | None, list[Point]] = {}
    earlier: dict[str | None, list[Point]] = {}
    for p in s.points:
        if p.period is not None:
            (current if p.period >= start else earlier).setdefault(p.member, []).append(p)
            current.setdefault(p.member, [])
    out = []
    for member, points in current.items():
        value, previous = figure(kpi, points), figure(kpi, earlier.get(member, []))
        out.append(
            MemberChange(
                member,
                value,
                previous,
                change(kpi, value.value, previous.value),
                status_of(kpi, value.value),
            )
        )
    return worst_first(kpi, out)


def worst_first(kpi: Kpi, members: Iterable[MemberChange]) -> list[MemberChange]:
    """Members worst first by the KPI's direction (lowest first when higher is better,
    highest first when lower is better), members without a value last."""
    sign = 1 if kpi.direction == "higher_is_better" else -1
    return sorted(
        members, key=lambda m: (m.value.value is None, sign * (m.value.value or 0), str(m.member))
    )


def counted_word(kpi: Kpi) -> str:
    """What a ratio KPI's denominator counts, from its model's grain: "order lines", "waves"."""
    grain = kpi.model.grain.removeprefix("one row per ").split(",")[0].strip()
    if not grain:
        return "rows"
    return grain if grain.endswith("s") else grain + "s"


def format_or_dash(kpi: Kpi, value: float | None) -> str:
    """A value in the KPI's format."""
    return format_value(value, kpi.format)


# --- the catalog's facts --------------------------------------------------------------------------


@dataclass(frozen=True)
class TableFreshness:
    """When a table a KPI reads last received data, against its SLA."""

    table: str
    last_loaded_at: datetime | None
    sla_hours: float | None
    row_count: int | None


def table_freshness(cur: duckdb.DuckDBPyConnection) -> dict[str, TableFreshness]:
    """Every landed table's freshness from `ops.table_freshness` (empty before the first run;
    read once per snapshot by a reader that keeps answers, as are `histories`)."""

    def read() -> dict[str, TableFreshness]:
        try:
            rows = cur.execute(
                "SELECT table_name, last_loaded_at, sla_hours, row_count FROM ops.table_freshness"
            ).fetchall()
        except duckdb.CatalogException:
            return {}
        return {r[0]: TableFreshness(r[0], r[1], r[2], r[3]) for r in rows}

    return kept("views.table_freshness", read)


def histories(cur: duckdb.DuckDBPyConnection) -> dict[str, list[HistoryRecord]]:
    """The recorded versions of every KPI (oldest first), by KPI name."""

    def read() -> dict[str, list[HistoryRecord]]:
        out: dict[str, list[HistoryRecord]] = {}
        for record in read_history(cur):
            out.setdefault(record.name, []).append(record)
        return out

    return kept("views.kpi_histories", read)


def compiled_sql(kpi: Kpi, as_of: date) -> str:
    """The SQL the KPI compiles to, by day, overall (values are bound parameters)."""
    return compile_kpi(kpi, as_of=as_of, grain="day", companions=False).sql


def describe_series(kpi: Kpi, s: Series) -> dict[str, Any]:
    """A series as JSON-ready points with their status against the thresholds."""
    return {
        "kpi": kpi.name,
        "version": s.version,
        "grain": s.grain,
        "by": s.dimension,
        "source": s.source,
        "freshness": s.freshness.isoformat() if s.freshness else None,
        "points": [
            {
                "period": p.period.isoformat() if p.period else None,
                "member": p.member,
                "value": p.value,
                "numerator": p.numerator,
                "denominator": p.denominator,
                "status": status_of(kpi, p.value),
            }
            for p in s.points
        ],
    }
