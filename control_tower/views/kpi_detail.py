"""What the KPI detail page shows for one view: the value over the range against the same span
before, the trend by grain, the breakdown by a dimension (worst first) and the unresolved
exception items behind the number, optionally narrowed to one member of the dimension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.behind import ExceptionsBehind, exceptions_behind
from control_tower.kpi.catalog import Kpi
from control_tower.views.kpi import (
    Bar,
    Change,
    View,
    breakdown,
    change,
    previous_range,
    view,
)

EXCEPTIONS_SHOWN = 10


@dataclass(frozen=True)
class KpiDetail:
    """A KPI for one view of the detail page."""

    start: date
    end: date
    current: View  # over [start, end], trended by the view's grain
    before: View  # over the same span just before
    change: Change
    bars: tuple[Bar, ...]  # by the dimension, worst first; empty without one
    exceptions: ExceptionsBehind

    @property
    def days(self) -> int:
        """Days in the range."""
        return (self.end - self.start).days + 1


def kpi_detail(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    scope: Scope,
    *,
    start: date,
    end: date,
    grain: str,
    dimension: str | None,
    member: str | None,
    now: datetime,
    exceptions_shown: int = EXCEPTIONS_SHOWN,
) -> KpiDetail:
    """The KPI over [start, end] under `scope` (only `member` of `dimension` when given),
    broken down by `dimension`; exception items are narrowed by member for items only.

    Raises OutOfScopeError when the scope cannot be applied to the KPI.
    """
    current = view(
        cur,
        kpi,
        scope=scope,
        start=start,
        end=end,
        grain=grain,
        dimension=dimension,
        member=member,
    )
    p0, p1 = previous_range(start, end)
    before = view(cur, kpi, scope=scope, start=p0, end=p1, dimension=dimension, member=member)
    bars = (
        breakdown(cur, kpi, scope=scope, start=start, end=end, dimension=dimension)
        if dimension
        else []
    )
    found = exceptions_behind(
        cur,
        kpi.name,
        kpi.exception_types,
        scope=scope,
        past_sla_only=kpi.exceptions_past_sla,
        now=now,
        item_id=member if dimension == "item_id" else None,
        limit=exceptions_shown,
    )
    return KpiDetail(
        start=start,
        end=end,
        current=current,
        before=before,
        change=change(kpi, current.value.value, before.value.value),
        bars=tuple(bars),
        exceptions=found,
    )
