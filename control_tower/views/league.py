"""The site league table of the executive page: every certified KPI by site, worst site first.

Each cell is the KPI at one site over the chosen range, read as the KPI's tile reads it
(`views.kpi.breakdown_change`), its status against the KPI's thresholds and its change against
the same span just before. Sites are ranked worst first by

1. the number of KPIs in breach (more first), then
2. the number of KPIs in warning (more first), then
3. the site's mean position in each KPI's own worst-first order (the direction of the KPI
   decides: for a higher-is-better KPI the lowest value is worst), lower first,

so a site breaching one target ranks above a site that is merely last on every KPI within
target. A KPI that has no `location_id` dimension, or that the user's scope cannot limit,
has no column; it is listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Catalog, Kpi
from control_tower.kpi.serving import OutOfScopeError
from control_tower.views.executive import Unavailable
from control_tower.views.figures import Refused
from control_tower.views.kpi import MemberChange, breakdown_change, certified

SITE = "location_id"


@dataclass(frozen=True)
class LeagueRow:
    """One site: its cell for each KPI shown (by KPI name; absent: no value there)."""

    location_id: str
    cells: dict[str, MemberChange]
    positions: dict[str, int]  # 1 = worst site of that KPI
    breaches: int
    warnings: int

    @property
    def mean_position(self) -> float | None:
        """The site's mean position over the KPIs it has a value for (None: it has none)."""
        if not self.positions:
            return None
        return sum(self.positions.values()) / len(self.positions)


@dataclass(frozen=True)
class LeagueTable:
    """The certified KPIs that can be read by site, and the sites worst first."""

    kpis: tuple[Kpi, ...]
    rows: tuple[LeagueRow, ...]
    unavailable: tuple[Unavailable, ...]


def rank_sites(kpis: list[Kpi], breakdowns: dict[str, list[MemberChange]]) -> list[LeagueRow]:
    """The sites of these KPI breakdowns (each worst first, as `breakdown_change` returns
    them), ranked worst first by the rules of the module docstring."""
    cells: dict[str, dict[str, MemberChange]] = {}
    positions: dict[str, dict[str, int]] = {}
    for kpi in kpis:
        place = 0
        for m in breakdowns.get(kpi.name, []):
            if m.member is None:
                continue
            cells.setdefault(m.member, {})[kpi.name] = m
            if m.value.value is not None:
                place += 1
                positions.setdefault(m.member, {})[kpi.name] = place
    rows = [
        LeagueRow(
            location_id=site,
            cells=found,
            positions=positions.get(site, {}),
            breaches=sum(c.status == "breach" for c in found.values()),
            warnings=sum(c.status == "warn" for c in found.values()),
        )
        for site, found in cells.items()
    ]
    rows.sort(
        key=lambda r: (
            -r.breaches,
            -r.warnings,
            r.mean_position is None,
            r.mean_position or 0.0,
            r.location_id,
        )
    )
    return rows


def league_table(
    cur: duckdb.DuckDBPyConnection, catalog: Catalog, scope: Scope, *, start: date, end: date
) -> LeagueTable:
    """Every certified KPI by site over [start, end] under `scope`, sites worst first."""
    shown: list[Kpi] = []
    breakdowns: dict[str, list[MemberChange]] = {}
    unavailable: list[Unavailable] = []
    for kpi in certified(catalog):
        if SITE not in kpi.dimensions:
            unavailable.append(Unavailable(kpi, Refused(f"{kpi.label} is not kept by site")))
            continue
        try:
            breakdowns[kpi.name] = breakdown_change(
                cur, kpi, scope=scope, start=start, end=end, dimension=SITE
            )
        except OutOfScopeError as exc:
            unavailable.append(Unavailable(kpi, Refused(str(exc))))
            continue
        shown.append(kpi)
    return LeagueTable(tuple(shown), tuple(rank_sites(shown, breakdowns)), tuple(unavailable))
