"""Figures the role views share: a KPI's headline over a range with its trend, a KPI overall
and by the members of one dimension, and the reason a figure cannot be shown for a scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.serving import OutOfScopeError, Point, series
from control_tower.views.data_time import DataTime, data_time
from control_tower.views.kpi import Bar, breakdown, figure, utc_now


@dataclass(frozen=True)
class Headline:
    """A KPI over a range (`total`: ratio of sums, or the latest period's value) and its
    trend by the view's grain; `measured`: whether any day of the range has a figure."""

    kpi: Kpi
    total: Point
    trend: tuple[Point, ...]
    measured: bool
    data: DataTime | None = None  # extract and load times of its sources, and the stale ones


def headline(
    cur: duckdb.DuckDBPyConnection, kpi: Kpi, *, scope: Scope, start: date, end: date, grain: str
) -> Headline:
    """The KPI over [start, end] under `scope`, trended by `grain`.

    Raises OutOfScopeError when the scope cannot be applied to the KPI.
    """
    daily = series(cur, kpi, scope=scope, start=start, end=end)
    coarse = (
        daily
        if grain == "day"
        else series(cur, kpi, scope=scope, start=start, end=end, grain=grain)
    )
    return Headline(
        kpi,
        figure(kpi, daily.points),
        tuple(coarse.points),
        bool(daily.points),
        data_time(cur, kpi.model.tables, utc_now()),
    )


@dataclass(frozen=True)
class Refused:
    """A figure that cannot be shown for this scope, and why (the KPI's own words)."""

    reason: str


@dataclass(frozen=True)
class Breakdown:
    """A KPI over a range, and by the members of one dimension (worst first)."""

    total: Point
    bars: tuple[Bar, ...]


def total_and_breakdown(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    *,
    scope: Scope,
    start: date,
    end: date,
    dimension: str,
) -> Breakdown | Refused:
    """The KPI over [start, end] under `scope`, overall and by `dimension`; refused (with the
    reason) when the scope cannot be applied to the KPI."""
    try:
        total = figure(kpi, series(cur, kpi, scope=scope, start=start, end=end).points)
        bars = breakdown(cur, kpi, scope=scope, start=start, end=end, dimension=dimension)
    except OutOfScopeError as exc:
        return Refused(str(exc))
    return Breakdown(total, tuple(bars))
