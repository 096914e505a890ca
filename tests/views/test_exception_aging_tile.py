"""The Exceptions past SLA tile on the landed demo agrees with the queue in the app database:
open items, and those past their SLA, as of the run that copied the queue."""

from __future__ import annotations

from control_tower.accounts import Scope
from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.serving import latest_as_of
from control_tower.views.executive import executive_view
from control_tower.views.kpi import Tile
from tests.support.demo_data import DEMO_NOW


def test_the_tile_counts_the_open_items_of_the_queue(snapshot, catalog, demo_settings) -> None:
    end = latest_as_of(snapshot)
    page = executive_view(snapshot, catalog, Scope(), start=end, end=end, grain="day")
    (tile,) = [t for t in page.tiles if t.kpi.name == "exception_aging"]
    assert isinstance(tile, Tile)
    with ExceptionStore.open(demo_settings.app_db_url) as store:
        unresolved = store.items(status="unresolved")
    assert unresolved
    assert tile.value.denominator == len(unresolved)
    assert tile.value.numerator == sum(item_aging(i, DEMO_NOW).sla_breached for i in unresolved)
