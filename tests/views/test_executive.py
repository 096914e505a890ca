"""The executive summary's figures (`control_tower.views.executive`) on the small demo: every
certified KPI's tile equals the ratio summed straight from `kpi.values`, a location narrows
every tile, and a KPI that cannot be limited to the scope says why instead of a number."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.serving import latest_as_of
from control_tower.views.executive import Unavailable, drafts, executive_view
from control_tower.views.kpi import Tile, certified
from tests.support.dash_callbacks import ratio_from_values
from tests.support.web_users import SUPERVISOR_SITE


def _range(snapshot, days=27):
    end = latest_as_of(snapshot)
    return end - timedelta(days=days), end


def test_every_certified_kpi_has_the_value_of_kpi_values(snapshot, catalog):
    start, end = _range(snapshot)
    page = executive_view(snapshot, catalog, Scope(), start=start, end=end, grain="day")
    assert page.days == 28
    assert [t.kpi.name for t in page.tiles] == [k.name for k in certified(catalog)]
    compared = 0
    for shown in page.tiles:
        assert isinstance(shown, Tile)
        expected = ratio_from_values(snapshot, shown.kpi, start, end)
        if expected is None:
            continue  # not materialised: computed on demand (tests/kpi/test_serving.py)
        compared += 1
        assert shown.value.value == pytest.approx(expected), shown.kpi.name
        before = ratio_from_values(
            snapshot, shown.kpi, start - timedelta(days=28), start - timedelta(days=1)
        )
        if before is not None:
            assert shown.previous.value == pytest.approx(before), shown.kpi.name
    assert compared >= 5


def test_a_location_narrows_every_tile(snapshot, catalog):
    start, end = _range(snapshot, 13)
    scope = Scope.of(locations=[SUPERVISOR_SITE])
    page = executive_view(snapshot, catalog, scope, start=start, end=end, grain="week")
    by_name = {t.kpi.name: t for t in page.tiles}
    fill = by_name["line_fill_rate"]
    assert isinstance(fill, Tile)
    expected = ratio_from_values(snapshot, fill.kpi, start, end, location_id=SUPERVISOR_SITE)
    assert fill.value.value == pytest.approx(expected)


def test_a_kpi_the_scope_cannot_limit_says_why(snapshot, catalog):
    """Days to close is by entity only: certified, it shows no figure to a location scope."""
    start, end = _range(snapshot)
    by_entity = replace(catalog.kpi("days_to_close"), status="certified")
    only = replace(catalog, kpis={"days_to_close": by_entity})
    scope = Scope.of(locations=[SUPERVISOR_SITE])
    (shown,) = executive_view(snapshot, only, scope, start=start, end=end, grain="day").tiles
    assert isinstance(shown, Unavailable)
    assert shown.kpi.name == "days_to_close"
    assert "location" in shown.refused.reason
    (tile,) = executive_view(snapshot, only, Scope(), start=start, end=end, grain="day").tiles
    assert isinstance(tile, Tile)


def test_drafts_are_the_kpis_not_certified(catalog):
    names = {k.name for k in drafts(catalog)}
    assert names
    assert names.isdisjoint(k.name for k in certified(catalog))
    assert names | {k.name for k in certified(catalog)} == set(catalog.kpis)
