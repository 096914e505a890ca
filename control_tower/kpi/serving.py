"""KPI figures for people and API clients: a KPI's trend and breakdown under a user's scope.

`series()` answers "this KPI, from this day to that day, by day / week /
month, optionally by one dimension, for the rows this user may see". It reads
the materialised `kpi.values` when their rows can answer exactly (a ratio
KPI summed as numerator and denominator over days and over the allowed
locations or entities), and otherwise compiles the governed definition and
runs it (`query.compute`): a scope on both entity and location, a breakdown
under a scope on another dimension, a quantile or a last-snapshot KPI over
several locations. Both paths give the same numbers (tested); the first
takes milliseconds. Serving snapshots never change once published, so the
computed path's daily rows are kept per snapshot (`SnapshotCache`, keyed on
the snapshot file and everything the rows depend on: KPI version, scope,
breakdown), and a breakdown under another restriction is summed from them
for any range and grain without running the definition again.

A reader that knows which snapshot its cursor reads (the web app: the
serving pointer it followed) says so with `keeping(identity, cache)`: within
the block, every `SnapshotCache` keys its answers on that identity, and
`kept()` keeps per-snapshot answers (each `series`, the values' day, the
lookups of the views) in the reader's own cache, so that a page reads each
of them once per snapshot. Outside such a block `kept()` answers afresh.

Scope is applied as a filter on the KPI's `entity_id` / `location_id`
dimensions; a KPI that lacks a dimension the scope restricts shows nothing
to that user (fail closed), never the unrestricted figure.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.materialize import MONTHLY_DIMENSIONS
from control_tower.kpi.query import compute
from control_tower.storage.serving import published_as_of

GRAINS = ("day", "week", "month")
COMPUTED_CACHE_SIZE = 256  # computed results kept, over every snapshot
SCOPE_DIMENSIONS = {"entities": "entity_id", "locations": "location_id"}


class OutOfScopeError(ValueError):
    """The user's scope restricts a dimension this KPI does not have."""


@dataclass(frozen=True)
class Point:
    """One figure of a series: a period (and a dimension value when broken down)."""

    period: date | None
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    member: str | None = None  # the dimension's value, for a breakdown


@dataclass(frozen=True)
class Series:
    """A KPI's figures for one view, and how they were obtained."""

    kpi: str
    version: int
    grain: str
    dimension: str | None
    points: tuple[Point, ...]
    freshness: datetime | None
    source: str  # "materialised" or "computed"


def snapshot_key(cur: duckdb.DuckDBPyConnection) -> tuple[str, int, int] | None:
    """What identifies the immutable data behind `cur`: the read-only database file's path,
    size and modification time; None for an in-memory or writable database (never cached)."""
    try:
        row = cur.execute(
            "SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
    except duckdb.Error:
        return None
    if not row or not row[0] or not row[1]:
        return None
    try:
        stat = os.stat(row[0])
    except OSError:
        return None
    return (row[0], stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class _Keeping:
    identity: Hashable  # the snapshot the reader's cursor reads
    cache: SnapshotCache  # where the reader keeps its per-snapshot answers


_KEEPING: ContextVar[_Keeping | None] = ContextVar("snapshot_keeping", default=None)


def snapshot_identity(cur: duckdb.DuckDBPyConnection) -> Hashable | None:
    """Which snapshot `cur` reads: the identity its reader declared (`keeping`), else the
    read-only file behind it (`snapshot_key`); None when it is not a read-only snapshot."""
    keeping = _KEEPING.get()
    return keeping.identity if keeping is not None else snapshot_key(cur)


class SnapshotCache:
    """A bounded, thread-safe memo of results read from read-only snapshots.

    `get(cur, key, make)` answers `make()` once per (snapshot, key) and keeps at most
    `size` answers, least recently used dropped first. The key must hold everything the
    answer depends on besides the snapshot (scope, filters, range). Answers are shared
    between requests: callers must not mutate them. On a writable or in-memory database
    `make()` runs every time. The snapshot is `snapshot_identity(cur)`.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, cur: duckdb.DuckDBPyConnection, key: Hashable, make: Callable[[], Any]) -> Any:
        """The cached answer for `key` on `cur`'s snapshot, made on first use. Requests that
        ask while it is being made wait for it instead of making it again."""
        return self.get_for(snapshot_identity(cur), key, make)

    def get_for(self, snapshot: Hashable | None, key: Hashable, make: Callable[[], Any]) -> Any:
        """`get` on the snapshot named `snapshot` (None: not cacheable, `make()` every time)."""
        if snapshot is None:
            return make()
        full = (snapshot, key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                self.hits += 1
                return self._items[full]
            pending = self._pending.get(full)
            if pending is None:
                self._pending[full] = threading.Event()
        if pending is not None:  # another request is making it
            pending.wait()
            with self._lock:
                if full in self._items:
                    self.hits += 1
                    return self._items[full]
            return make()  # it failed there: try here, uncached
        try:
            value = make()
            with self._lock:
                self.misses += 1
                self._items[full] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        finally:
            with self._lock:
                self._pending.pop(full).set()
        return value

    def retain(self, snapshot: Hashable) -> None:
        """Forget the answers of every other snapshot (once readers have moved on to it)."""
        with self._lock:
            for full in [f for f in self._items if f[0] != snapshot]:
                del self._items[full]

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


@contextmanager
def keeping(identity: Hashable, cache: SnapshotCache) -> Iterator[None]:
    """Within the block, the cursors in use read the snapshot `identity` (the reader's own
    name for it, e.g. the snapshot file its serving pointer named when the cursor was opened):
    every `SnapshotCache` keys on it, and `kept()` answers are kept in `cache`."""
    token = _KEEPING.set(_Keeping(identity, cache))
    try:
        yield
    finally:
        _KEEPING.reset(token)


def kept(key: Hashable, make: Callable[[], Any]) -> Any:
    """`make()` (an answer read from the snapshot of the cursors in use, `key` naming all it
    depends on), kept once per snapshot in the cache of the enclosing `keeping` block;
    made afresh outside one."""
    keeping = _KEEPING.get()
    if keeping is None:
        return make()
    return keeping.cache.get_for(keeping.identity, key, make)


COMPUTED = SnapshotCache(COMPUTED_CACHE_SIZE)
# Called before each computation no cache answers; it may raise to refuse it (a rate limit).
_BEFORE_COMPUTE: ContextVar[Callable[[], None] | None] = ContextVar("before_compute", default=None)


@contextmanager
def before_compute(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, call `check()` before running any KPI definition no cache answers
    (the web app counts them per user and refuses one over the user's budget)."""
    token = _BEFORE_COMPUTE.set(check)
    try:
        yield
    finally:
        _BEFORE_COMPUTE.reset(token)


def status_of(kpi: Kpi, value: float | None) -> str | None:
    """ok / warn / breach of a value against the KPI's thresholds (None without a value)."""
    if value is None:
        return None
    if kpi.warn is None or kpi.breach is None:
        return "ok"
    worse = (lambda a, b: a < b) if kpi.direction == "higher_is_better" else (lambda a, b: a > b)
    if worse(value, kpi.breach):
        return "breach"
    if worse(value, kpi.warn):
        return "warn"
    return "ok"


def scope_where(kpi: Kpi, scope: Scope) -> dict[str, list[str]]:
    """The `where` limiting a KPI to a scope; OutOfScopeError if it cannot be limited."""
    where: dict[str, list[str]] = {}
    for attr, column in SCOPE_DIMENSIONS.items():
        ids = getattr(scope, attr)
        if not ids:
            continue
        if column not in kpi.dimensions:
            raise OutOfScopeError(
                f"{kpi.name} has no {column} dimension, and your scope is limited by it"
            )
        where[column] = sorted(ids)
    return where


def latest_as_of(cur: duckdb.DuckDBPyConnection) -> date | None:
    """The day the materialised values were computed for (None before the first refresh)."""
    return kept("kpi.latest_as_of", lambda: published_as_of(cur))


def series(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    grain: str = "day",
    dimension: str | None = None,
    members: Sequence[str] | None = None,
) -> Series:
    """The KPI by period (and by `dimension`) from `start` to `end`, within `scope`.

    Periods are whole: a week or month that starts before `start` is counted
    from its first day (so a trend's first point is never a partial period).

    `members` keeps only these values of `dimension`. Raises OutOfScopeError
    when the scope cannot be applied to this KPI and ValueError for a grain
    or dimension the KPI does not allow.
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; grains: {', '.join(GRAINS)}")
    if dimension is not None and dimension not in kpi.dimensions:
        raise ValueError(
            f"{kpi.name} cannot be broken down by {dimension!r}; "
            f"dimensions: {', '.join(kpi.dimensions)}"
        )
    where = scope_where(kpi, scope)
    if members is not None and dimension is not None:
        allowed = set(where.get(dimension, members)) & set(members)
        where[dimension] = sorted(allowed)
    key = (
        "kpi.series",
        kpi.name,
        kpi.version,
        kpi.content_hash,
        tuple(sorted((column, tuple(values)) for column, values in where.items())),
        start,
        end,
        grain,
        dimension,
    )

    def read() -> Series:
        fast = _materialised(cur, kpi, where, start, end, grain, dimension)
        if fast is not None:
            return fast
        return _computed(cur, kpi, where, start, end, grain, dimension)

    if dimension in MONTHLY_DIMENSIONS:
        return read()  # thousands of members: summed again from the computed days, not kept
    return kept(key, read)


def _materialised(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    where: dict[str, list[str]],
    start: date,
    end: date,
    grain: str,
    dimension: str | None,
) -> Series | None:
    """From kpi.values when its rows answer exactly; None when they cannot."""
    if not kpi.is_ratio or dimension in MONTHLY_DIMENSIONS:
        return None
    filters = set(where)
    if len(filters) > 1 or (dimension is not None and filters and filters != {dimension}):
        return None  # two restrictions, or a breakdown across another restriction
    stored = dimension or (next(iter(filters)) if filters else "ALL")
    params: list[Any] = [kpi.name, kpi.version, stored, period_start(start, grain), end]
    member_sql = ""
    if filters:
        values = where[next(iter(filters))]
        if not values:
            return Series(kpi.name, kpi.version, grain, dimension, (), None, "materialised")
        member_sql = f" AND dimension_value IN ({', '.join('?' * len(values))})"
        params.extend(values)
    period = "period" if grain == "day" else f"CAST(date_trunc('{grain}', period) AS DATE)"
    member = "dimension_value" if dimension else "NULL"
    try:
        rows = cur.execute(
            f"SELECT {period} AS p, {member} AS m, sum(numerator), sum(denominator), "
            "min(freshness) FROM kpi.values "
            "WHERE kpi = ? AND version = ? AND grain = 'day' AND dimension = ? "
            "AND as_of = (SELECT max(as_of) FROM kpi.values) "
            f"AND period BETWEEN ? AND ?{member_sql} GROUP BY ALL ORDER BY p, m",
            params,
        ).fetchall()
        has_rows = (
            bool(rows)
            or cur.execute(
                "SELECT count(*) > 0 FROM kpi.values WHERE kpi = ? AND version = ?",
                [kpi.name, kpi.version],
            ).fetchone()[0]
        )
    except duckdb.CatalogException:
        return None
    if not has_rows:
        return None  # never materialised (a new version): compute it
    points = tuple(
        Point(p, (num / den) if den else None, num, den, m) for p, m, num, den, _f in rows
    )
    fresh = min((r[4] for r in rows if r[4] is not None), default=None)
    return Series(kpi.name, kpi.version, grain, dimension, points, fresh, "materialised")


def _computed(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    where: dict[str, list[str]],
    start: date,
    end: date,
    grain: str,
    dimension: str | None,
) -> Series:
    """By compiling and running the definition.

    A ratio KPI is evaluated as of the materialised values' day (what is
    measurable is judged with everything known then, as in `kpi.values`), by
    day from the first day of `start`'s period to `end`, then summed to the
    grain: the same numbers as the materialised path. Other KPIs (a median,
    a last snapshot) cannot be summed over days and are computed at the
    grain as of `end`.
    """
    if any(not v for v in where.values()):
        return Series(kpi.name, kpi.version, grain, dimension, (), None, "computed")
    by = [dimension] if dimension else []
    first = period_start(start, grain)
    if kpi.is_ratio:
        # Every day as of the materialised day, whatever the range and grain: one result
        # per snapshot, KPI version, scope and breakdown, summed below for this view.
        as_of = latest_as_of(cur) or end
        result = _compute_cached(cur, kpi, as_of, "day", by, where)
    else:
        result = _compute_cached(cur, kpi, end, grain, by, where)
    sums: dict[tuple[date | None, Any], list[float]] = {}
    points = []
    for row in result["rows"]:
        period = row.get("period")
        if isinstance(period, str):
            period = date.fromisoformat(period[:10])
        if isinstance(period, datetime):
            period = period.date()
        if period is not None and (period < first or (kpi.is_ratio and period > end)):
            continue
        member = row.get(dimension) if dimension else None
        if kpi.is_ratio:
            key = (period_start(period, grain) if period is not None else None, member)
            acc = sums.setdefault(key, [0.0, 0.0])
            acc[0] += row.get("numerator") or 0
            acc[1] += row.get("denominator") or 0
            continue
        points.append(
            Point(period, row.get("value"), row.get("numerator"), row.get("denominator"), member)
        )
    for (period, member), (num, den) in sums.items():
        points.append(Point(period, num / den if den else None, num, den, member))
    points.sort(key=lambda p: (p.period or date.min, "" if p.member is None else str(p.member)))
    fresh = result["freshness"]
    return Series(
        kpi.name,
        kpi.version,
        grain,
        dimension,
        tuple(points),
        datetime.fromisoformat(fresh) if fresh else None,
        "computed",
    )


def _compute_cached(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    as_of: date,
    grain: str,
    by: list[str],
    where: dict[str, list[str]],
) -> dict[str, Any]:
    """`query.compute`, kept per snapshot (read-only) for these arguments."""
    key = (
        "kpi.compute",
        kpi.name,
        kpi.version,
        kpi.content_hash,
        as_of,
        grain,
        tuple(by),
        tuple(sorted((column, tuple(values)) for column, values in where.items())),
    )

    def make() -> dict[str, Any]:
        check = _BEFORE_COMPUTE.get()
        if check is not None:
            check()  # may refuse: nothing is computed or kept
        return compute(cur, kpi, as_of=as_of, grain=grain, by=by, where=where)

    return COMPUTED.get(cur, key, make)


def period_start(day: date, grain: str) -> date:
    """The first day of the period (day, ISO week, month) holding `day`."""
    if grain == "week":
        return date.fromordinal(day.toordinal() - day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def total(series: Series) -> float | None:
    """The whole range as one figure, for a ratio KPI (sum of numerators / denominators)."""
    num = sum(p.numerator or 0 for p in series.points if p.denominator is not None)
    den = sum(p.denominator or 0 for p in series.points if p.denominator is not None)
    return num / den if den else None
