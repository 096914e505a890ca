"""The warehouses a user may see, and the one a page works on."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from control_tower.accounts import Scope


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
