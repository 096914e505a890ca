"""What the executive summary shows: one tile per certified KPI over the chosen range (value,
status, change against the span before, trend and freshness), or why a KPI cannot be shown
for the scope, and the draft KPIs not certified yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import OutOfScopeError
from control_tower.views.figures import Refused
from control_tower.views.kpi import Tile, certified, tile


@dataclass(frozen=True)
class Unavailable:
    """A certified KPI that cannot be limited to the scope, and why."""

    kpi: Kpi
    refused: Refused


@dataclass(frozen=True)
class ExecutiveView:
    """The certified KPIs' tiles, in catalog order, over [start, end] by `grain`."""

    start: date
    end: date
    grain: str
    tiles: tuple[Tile | Unavailable, ...]

    @property
    def days(self) -> int:
        """Days in the range (the span the change compares against)."""
        return (self.end - self.start).days + 1


def drafts(catalog: Catalog) -> list[Kpi]:
    """The KPIs not certified yet (drafts and deprecated ones), in catalog order."""
    return [k for k in catalog.kpis.values() if k.status != "certified"]


def executive_view(
    cur: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: Scope,
    *,
    start: date,
    end: date,
    grain: str,
) -> ExecutiveView:
    """Every certified KPI's tile over [start, end] under `scope`."""
    tiles: list[Tile | Unavailable] = []
    for kpi in certified(catalog):
        try:
            tiles.append(tile(cur, kpi, scope=scope, start=start, end=end, grain=grain))
        except OutOfScopeError as exc:
            tiles.append(Unavailable(kpi, Refused(str(exc))))
    return ExecutiveView(start, end, grain, tuple(tiles))
