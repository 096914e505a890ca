"""The site league table (`control_tower.views.league`) on worked examples, and on the demo.

Two KPIs: fill (higher is better; warning below 0.95, breach below 0.90) and aging (lower
is better; warning above 0.10, breach above 0.20).

    site  fill  aging  statuses        position fill, aging (1 = worst)  mean  rank
    S1    0.99  0.25   ok, breach      4, 1                              2.5   1 (a breach)
    S2    0.93  0.05   warn, ok        1, 3                              2.0   2 (a warning)
    S3    0.96  0.08   ok, ok          2, 2                              2.0   3
    S4    0.97  0.02   ok, ok          3, 4                              3.5   4

On the demo every cell equals the ratio summed straight from kpi.values at that site.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.serving import Point, latest_as_of, status_of
from control_tower.views.kpi import MemberChange, cached_catalog, certified, change, worst_first
from control_tower.views.league import league_table, rank_sites
from tests.support.dash_callbacks import ratio_from_values
from tests.support.web_users import SUPERVISOR_SITE

DEFINITIONS = Path(__file__).resolve().parents[2] / "kpi_definitions"


@pytest.fixture(scope="module")
def kpis() -> tuple[Kpi, Kpi]:
    catalog = cached_catalog(DEFINITIONS)
    fill = replace(
        catalog.kpi("line_fill_rate"), direction="higher_is_better", warn=0.95, breach=0.90
    )
    aging = replace(
        catalog.kpi("exception_aging"), direction="lower_is_better", warn=0.10, breach=0.20
    )
    return fill, aging


def _members(kpi: Kpi, values: dict[str, tuple[float | None, float | None]]) -> list[MemberChange]:
    """Each site's (value, previous) as a breakdown, worst first."""
    out = [
        MemberChange(
            site,
            Point(None, now),
            Point(None, before),
            change(kpi, now, before),
            status_of(kpi, now),
        )
        for site, (now, before) in values.items()
    ]
    return worst_first(kpi, out)


def test_worst_first_follows_the_direction(kpis):
    fill, aging = kpis
    values = {"S1": (0.99, None), "S2": (0.93, None), "S3": (None, None), "S4": (0.96, None)}
    assert [m.member for m in _members(fill, values)] == ["S2", "S4", "S1", "S3"]
    assert [m.member for m in _members(aging, values)] == ["S1", "S4", "S2", "S3"]


def test_sites_rank_by_breaches_then_warnings_then_mean_position(kpis):
    fill, aging = kpis
    breakdowns = {
        fill.name: _members(
            fill,
            {"S1": (0.99, 0.98), "S2": (0.93, 0.96), "S3": (0.96, 0.96), "S4": (0.97, None)},
        ),
        aging.name: _members(
            aging,
            {"S1": (0.25, 0.10), "S2": (0.05, 0.05), "S3": (0.08, 0.09), "S4": (0.02, 0.04)},
        ),
    }
    rows = rank_sites([fill, aging], breakdowns)
    # S1: one breach; S2: one warning; S3 and S4: within target, S3 worse on average
    # (fill: S2 1, S3 2, S4 3, S1 4; aging: S1 1, S3 2, S2 3, S4 4)
    assert [r.location_id for r in rows] == ["S1", "S2", "S3", "S4"]
    s1, s2, s3, s4 = rows
    assert (s1.breaches, s1.warnings) == (1, 0)
    assert (s2.breaches, s2.warnings) == (0, 1)
    assert s3.positions == {fill.name: 2, aging.name: 2}
    assert s4.positions == {fill.name: 3, aging.name: 4}
    assert s3.mean_position < s4.mean_position
    # trend: this span against the one before, judged by each KPI's direction
    assert s1.cells[aging.name].change.verdict == "worse"
    assert s1.cells[aging.name].change.text == "+15.0 pts"
    assert s3.cells[aging.name].change.verdict == "better"
    assert s2.cells[fill.name].change.verdict == "worse"
    assert s4.cells[fill.name].change.verdict is None  # no previous value


def test_on_the_demo_every_cell_is_the_kpi_at_that_site(snapshot, catalog):
    end = latest_as_of(snapshot)
    start = end - timedelta(days=27)
    league = league_table(snapshot, catalog, Scope(), start=start, end=end)
    assert [k.name for k in league.kpis] == [
        k.name for k in certified(catalog) if "location_id" in k.dimensions
    ]
    assert {r.location_id for r in league.rows} == {"DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM"}
    compared = 0
    for row in league.rows:
        for kpi in league.kpis:
            expected = ratio_from_values(snapshot, kpi, start, end, location_id=row.location_id)
            if expected is None:
                continue  # not materialised
            compared += 1
            assert row.cells[kpi.name].value.value == pytest.approx(expected), kpi.name
            before = ratio_from_values(
                snapshot,
                kpi,
                start - timedelta(days=28),
                start - timedelta(days=1),
                location_id=row.location_id,
            )
            if before is not None:
                assert row.cells[kpi.name].previous.value == pytest.approx(before)
    assert compared >= 16
    keys = [(-r.breaches, -r.warnings, r.mean_position) for r in league.rows]
    assert keys == sorted(keys)


def test_a_site_scope_shows_its_own_row_only(snapshot, catalog):
    end = latest_as_of(snapshot)
    scope = Scope.of(locations=[SUPERVISOR_SITE])
    league = league_table(snapshot, catalog, scope, start=end - timedelta(days=6), end=end)
    assert [r.location_id for r in league.rows] == [SUPERVISOR_SITE]
