"""The KPI detail page's callbacks on the small demo, through Flask's test client."""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_tower.kpi.format import format_value
from control_tower.kpi.serving import latest_as_of
from tests.support.dash_callbacks import (
    KPI_DETAIL_OUTPUTS,
    by_id,
    filter_values,
    post_callback,
    ratio_from_values,
    signed_in,
    text,
)
from tests.support.web_users import SUPERVISOR_SITE, USERS

OUTPUTS = KPI_DETAIL_OUTPUTS


def _detail(app, user, name, inputs, by, member=None):
    response = post_callback(
        signed_in(app, user),
        OUTPUTS,
        [*inputs, ("kpi-by", "value", by), ("kpi-member", "data", member)],
        [("kpi-name", "data", name)],
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def _range(snapshot, days=27):
    end = latest_as_of(snapshot)
    return end - timedelta(days=days), end


class TestFigures:
    def test_value_breakdown_and_exceptions_match_the_snapshot(self, app, snapshot, catalog):
        start, end = _range(snapshot)
        kpi = catalog.kpi("line_fill_rate")
        out = _detail(
            app, USERS["executive"], kpi.name, filter_values("kpi", start, end), "location_id"
        )
        number = by_id(out["kpi-value"]["children"], "kpi-value-number")
        expected = ratio_from_values(snapshot, kpi, start, end)
        assert text(number) == format_value(expected, kpi.format)
        bars = out["kpi-breakdown"]["figure"]["data"][0]
        assert set(bars["customdata"]) == {"DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM"}
        assert bars["x"] == sorted(bars["x"])  # worst (lowest fill rate) first
        for member, x in zip(bars["customdata"], bars["x"], strict=True):
            assert x == pytest.approx(
                ratio_from_values(snapshot, kpi, start, end, location_id=member)
            )
        assert "order lines" in bars["text"][0]  # the denominator is shown
        count = snapshot.execute(
            "SELECT count(*) FROM exc.queue_items WHERE type = 'short_shipment' "
            "AND status <> 'resolved'"
        ).fetchone()[0]
        exceptions = out["kpi-exceptions"]["children"]
        assert f"{count} unresolved item" in text(exceptions)
        all_link = by_id(exceptions, "kpi-exceptions-all")["props"]["href"]
        assert all_link.startswith("/exceptions?")
        assert "kpi=line_fill_rate" in all_link

    def test_a_kpi_no_type_records_says_no_queue_yet(self, app, snapshot, catalog):
        start, end = _range(snapshot)
        kpi = catalog.kpi("inventory_turns")
        assert kpi.exception_types == ()
        inputs = filter_values("kpi", start, end)
        out = _detail(app, USERS["executive"], kpi.name, inputs, kpi.dimensions[0])
        words = text(out["kpi-exceptions"]["children"])
        assert "No exception type records this KPI's misses yet (no queue yet)." in words

    def test_exception_aging_shows_every_item_past_its_sla(self, app, snapshot, catalog):
        start, end = _range(snapshot)
        kpi = catalog.kpi("exception_aging")
        inputs = filter_values("kpi", start, end)
        out = _detail(app, USERS["executive"], kpi.name, inputs, "location_id")
        exceptions = out["kpi-exceptions"]["children"]
        words = text(exceptions)
        assert "no queue yet" not in words
        shown = int(text(by_id(exceptions, "kpi-exceptions-count")).split()[0].replace(",", ""))
        late = int(words.split(" past their SLA")[0].rsplit("· ", 1)[1].replace(",", ""))
        assert shown == late  # every item behind the number is past its SLA

    def test_a_member_of_another_dimension_narrows_the_value(self, app, snapshot, catalog):
        start, end = _range(snapshot)
        kpi = catalog.kpi("line_fill_rate")
        out = _detail(
            app,
            USERS["executive"],
            kpi.name,
            filter_values("kpi", start, end),
            "abc_class",
            {"dimension": "abc_class", "value": "C"},
        )
        number = by_id(out["kpi-value"]["children"], "kpi-value-number")
        expected = ratio_from_values(snapshot, kpi, start, end, abc_class="C")
        assert text(number) == format_value(expected, kpi.format)
        assert out["kpi-member-chip"]["hidden"] is False
        assert out["kpi-member-chip-text"]["children"] == "ABC class = C"


class TestScope:
    def test_the_supervisor_sees_only_their_site(self, app, snapshot, catalog):
        start, end = _range(snapshot)
        kpi = catalog.kpi("line_fill_rate")
        out = _detail(
            app,
            USERS["warehouse_supervisor"],
            kpi.name,
            filter_values("kpi", start, end),
            "location_id",
        )
        assert out["kpi-breakdown"]["figure"]["data"][0]["customdata"] == [SUPERVISOR_SITE]
        number = by_id(out["kpi-value"]["children"], "kpi-value-number")
        expected = ratio_from_values(snapshot, kpi, start, end, location_id=SUPERVISOR_SITE)
        assert text(number) == format_value(expected, kpi.format)
        rows = text(out["kpi-exceptions"]["children"])
        assert "DC-CHI" not in rows
        assert "DC-RTM" not in rows

    def test_a_kpi_without_the_scoped_dimension_explains_and_shows_no_number(self, app, snapshot):
        start, end = _range(snapshot)
        out = _detail(
            app,
            USERS["warehouse_supervisor"],
            "days_to_close",
            filter_values("kpi", start, end),
            "entity_id",
        )
        assert out["kpi-body"]["hidden"] is True
        assert "cannot be limited to your scope" in text(out["kpi-scope-note"]["children"])
        assert "kpi-value" not in out  # no figure sent at all

    def test_a_location_outside_the_scope_shows_nothing(self, app, snapshot):
        start, end = _range(snapshot)
        inputs = filter_values("kpi", start, end, location="DC-CHI")
        out = _detail(app, USERS["warehouse_supervisor"], "line_fill_rate", inputs, "location_id")
        assert out["kpi-body"]["hidden"] is True
        assert "Outside your scope" in text(out["kpi-scope-note"]["children"])


class TestDrill:
    def _drill(self, app, click, by):
        outputs = [
            ("kpi-filter-entity", "value"),
            ("kpi-filter-location", "value"),
            ("kpi-member", "data"),
        ]
        inputs = [
            ("kpi-breakdown", "clickData", click),
            ("kpi-member-clear", "n_clicks", 0),
            ("kpi-by", "value", by),
        ]
        response = post_callback(signed_in(app, USERS["executive"]), outputs, inputs)
        assert response.status_code in (200, 204)
        return response.get_json()["response"] if response.status_code == 200 else {}

    def test_a_location_bar_sets_the_location_filter(self, app):
        out = self._drill(app, {"points": [{"customdata": "DC-NJ"}]}, "location_id")
        assert out["kpi-filter-location"]["value"] == "DC-NJ"

    def test_another_dimension_becomes_a_member_chip(self, app):
        out = self._drill(app, {"points": [{"customdata": "A"}]}, "abc_class")
        assert out["kpi-member"]["data"] == {"dimension": "abc_class", "value": "A"}
