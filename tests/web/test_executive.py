"""The executive summary's callback on the small demo, through Flask's test client.

Every certified KPI gets a tile whose value equals the ratio summed straight
from `kpi.values` over the same dates; the money panel's value at risk and
backlog equal independent queries of the snapshot (`support.money_figures`),
with the reporting currency's code; the league table ranks the demo's sites;
the supervisor's role may not call either callback.
"""

from __future__ import annotations

from datetime import timedelta

from control_tower.kpi.format import format_value
from control_tower.kpi.serving import latest_as_of
from control_tower.views.kpi import SNAPSHOT_DIMENSIONS, certified
from control_tower.web.format import fmt_amount
from tests.support.dash_callbacks import (
    by_id,
    filter_values,
    post_callback,
    ratio_from_values,
    signed_in,
    text,
    with_class,
)
from tests.support.money_figures import backlog, reporting_currency, value_at_risk
from tests.support.web_users import USERS

OUTPUTS = [
    ("executive-tiles", "children"),
    ("executive-drafts", "children"),
    ("executive-subtitle", "children"),
]
MONEY = [("executive-money", "children"), ("executive-league-slot", "children")]


def _tiles(app, name, inputs):
    response = post_callback(signed_in(app, name), OUTPUTS, inputs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


class TestTiles:
    def test_every_certified_kpi_has_a_tile_with_the_value_of_kpi_values(
        self, app, snapshot, catalog
    ):
        end = latest_as_of(snapshot)
        start = end - timedelta(days=27)
        answer = _tiles(app, USERS["executive"], filter_values("executive", start, end))
        tiles = answer["executive-tiles"]["children"]
        kpis = certified(catalog)
        assert len(tiles) == len(kpis) >= 6
        materialised = 0
        for kpi in kpis:
            tile = by_id(tiles, f"executive-tile-{kpi.name}")
            assert tile["props"]["href"].startswith(f"/kpi/{kpi.name}?from={start}")
            shown = text(with_class(tile, "kpi-value")[0])
            expected = ratio_from_values(snapshot, kpi, start, end)
            if expected is None:
                continue  # not materialised (computed on demand): checked in test_serving
            materialised += 1
            assert shown == format_value(expected, kpi.format), kpi.name
            words = text(tile)
            assert any(w in words for w in ("On target", "Warning", "Breach")), words
            assert "Certified" in words
            if kpi.time_dimension in SNAPSHOT_DIMENSIONS:  # what is open now: no earlier figure
                assert "No figure for the previous" in words
            else:
                assert "vs the previous 28 days" in words
        assert materialised >= 5

    def test_a_location_filter_narrows_every_tile(self, app, snapshot, catalog):
        end = latest_as_of(snapshot)
        start = end - timedelta(days=13)
        inputs = filter_values("executive", start, end, "week", location="DC-NJ")
        tiles = _tiles(app, USERS["admin"], inputs)["executive-tiles"]["children"]
        kpi = catalog.kpi("line_fill_rate")
        tile = by_id(tiles, "executive-tile-line_fill_rate")
        expected = ratio_from_values(snapshot, kpi, start, end, location_id="DC-NJ")
        assert text(with_class(tile, "kpi-value")[0]) == format_value(expected, kpi.format)
        assert "location=DC-NJ" in tile["props"]["href"]

    def test_drafts_are_listed_with_a_link_to_the_catalog(self, app, snapshot):
        end = latest_as_of(snapshot)
        answer = _tiles(app, USERS["executive"], filter_values("executive", end, end))
        drafts = text(answer["executive-drafts"]["children"])
        assert "Draft KPIs" in drafts
        assert "All KPIs in the catalog" in drafts


class TestMoney:
    def test_value_at_risk_and_backlog_equal_independent_queries(self, app, snapshot):
        end = latest_as_of(snapshot)
        client = signed_in(app, USERS["executive"])
        response = post_callback(client, MONEY, filter_values("executive", end, end))
        assert response.status_code == 200, response.get_data(as_text=True)
        answer = response.get_json()["response"]
        money = answer["executive-money"]["children"]
        rc = reporting_currency(snapshot)
        var = text(with_class(by_id(money, "executive-money-var"), "kpi-value")[0])
        assert var.startswith(fmt_amount(value_at_risk(snapshot), rc))
        assert var.startswith(rc + " ")
        total, missing = backlog(snapshot, end)
        shown = text(with_class(by_id(money, "executive-money-backlog"), "kpi-value")[0])
        assert shown.startswith(fmt_amount(total, rc))
        for site in missing:
            assert site in text(by_id(money, "executive-money-backlog"))
        queues = text(by_id(money, "executive-var-queues"))
        assert "Past-due order line" in queues
        league = answer["executive-league-slot"]["children"]
        rows = [c["props"]["id"] for c in with_class(league, "league-row")]
        assert sorted(rows) == [
            f"executive-league-{s}" for s in ("DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM")
        ]

    def test_a_location_narrows_the_money_to_that_site(self, app, snapshot):
        end = latest_as_of(snapshot)
        client = signed_in(app, USERS["admin"])
        inputs = filter_values("executive", end, end, location="DC-NJ")
        answer = post_callback(client, MONEY, inputs).get_json()["response"]
        money = answer["executive-money"]["children"]
        rc = reporting_currency(snapshot)
        var = text(with_class(by_id(money, "executive-money-var"), "kpi-value")[0])
        assert var.startswith(fmt_amount(value_at_risk(snapshot, "DC-NJ"), rc))
        sites = text(by_id(money, "executive-money-sites"))
        assert "DC-NJ" in sites
        assert not any(s in sites for s in ("DC-CHI", "DC-RNO", "DC-RTM"))


class TestRoles:
    def test_the_supervisor_may_not_call_it(self, app, snapshot):
        end = latest_as_of(snapshot)
        client = signed_in(app, USERS["warehouse_supervisor"])
        response = post_callback(client, OUTPUTS, filter_values("executive", end, end))
        assert response.status_code == 403
        response = post_callback(client, MONEY, filter_values("executive", end, end))
        assert response.status_code == 403
        assert client.get("/executive").status_code == 403
