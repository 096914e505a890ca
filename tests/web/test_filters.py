"""Filters in the URL: read back what was written, defaults, and scope that only narrows."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from control_tower.accounts import Scope
from control_tower.web.filters import MAX_DAYS, Filters, link


class TestQuery:
    def test_round_trip_through_the_query_string(self):
        view = Filters(date(2025, 3, 1), date(2025, 3, 31), "week", "US01", "DC-NJ")
        query = dict(parse_qsl(view.query_string().lstrip("?")))
        assert query == {
            "from": "2025-03-01",
            "to": "2025-03-31",
            "grain": "week",
            "entity": "US01",
            "location": "DC-NJ",
        }
        assert Filters.from_query(**query) == view

    def test_nothing_chosen_is_an_empty_query(self):
        assert Filters().query_string() == ""

    @pytest.mark.parametrize(
        "query",
        [
            {"from": "2025-13-40", "grain": "decade"},
            {"from": "yesterday", "to": ["2025-01-01"]},
            {"location": "x" * 65},
            {"location": "   "},
        ],
    )
    def test_unreadable_values_fall_back_to_defaults(self, query):
        assert Filters.from_query(**query) == Filters()

    def test_inputs_read_like_the_query(self):
        assert Filters.from_inputs("2025-03-01", None, "month", None, "DC-CHI") == Filters(
            date(2025, 3, 1), None, "month", None, "DC-CHI"
        )

    def test_link_keeps_the_view_and_adds_arguments(self):
        view = Filters(location="DC-NJ", grain="week")
        url = link("/exceptions", view, type="late_wave", kpi=None)
        parts = urlsplit(url)
        assert parts.path == "/exceptions"
        assert dict(parse_qsl(parts.query)) == {
            "grain": "week",
            "location": "DC-NJ",
            "type": "late_wave",
        }


class TestResolved:
    def test_default_range_ends_on_the_latest_day(self):
        view = Filters(grain="week").resolved(date(2025, 6, 30))
        assert view.end == date(2025, 6, 30)
        assert (view.end - view.start).days == 7 * 13 - 1

    def test_reversed_range_is_put_right(self):
        view = Filters(date(2025, 6, 30), date(2025, 6, 1)).resolved(date(2025, 7, 1))
        assert (view.start, view.end) == (date(2025, 6, 1), date(2025, 6, 30))

    def test_range_is_capped(self):
        view = Filters(date(2000, 1, 1), date(2025, 1, 1)).resolved(date(2025, 1, 1))
        assert (view.end - view.start).days == MAX_DAYS


class TestScope:
    def test_unrestricted_user_gets_what_the_url_asks(self):
        assert Filters(location="DC-CHI").scoped(Scope()) == Scope.of(locations=["DC-CHI"])

    def test_url_can_narrow_a_scope(self):
        scope = Scope.of(locations=["DC-NJ", "DC-CHI"])
        assert Filters(location="DC-NJ").scoped(scope) == Scope.of(locations=["DC-NJ"])

    def test_url_can_never_widen_a_scope(self):
        scope = Scope.of(locations=["DC-NJ"])
        assert Filters(location="DC-CHI").scoped(scope) is None
        assert Filters(entity="NL01").scoped(Scope.of(entities=["US01"])) is None

    def test_no_choice_keeps_the_scope(self):
        scope = Scope.of(entities=["US01"], locations=["DC-NJ"])
        assert Filters().scoped(scope) == scope
        assert Filters(entity="US01").scoped(scope) == scope


class TestUrlCallback:
    """The callback that writes a page's filters into the address bar (planner: with its own)."""

    @staticmethod
    def _post(client, values: list, extra: list) -> str:
        ids = ["from", "to", "grain", "entity", "location"]
        inputs = [
            {"id": f"planner-filter-{name}", "property": "value", "value": value}
            for name, value in zip(ids, values, strict=True)
        ]
        inputs += [
            {"id": cid, "property": "value", "value": value}
            for cid, value in zip(["planner-min-prob", "planner-search"], extra, strict=True)
        ]
        body = {
            "output": "planner-filter-url.search",
            "outputs": {"id": "planner-filter-url", "property": "search"},
            "inputs": inputs,
            "changedPropIds": ["planner-search.value"],
        }
        answer = client.post("/_dash-update-component", json=body)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()["response"]["planner-filter-url"]["search"]

    def test_page_controls_join_the_filters_in_the_query(self, app):
        from tests.support.web_users import client_as

        client = client_as(app, "planner")
        search = self._post(client, [None, None, "day", None, "DC-NJ"], [40, "sanding belt"])
        assert dict(parse_qsl(search.lstrip("?"))) == {
            "location": "DC-NJ",
            "min_prob": "40",
            "q": "sanding belt",
        }
        assert self._post(client, [None, None, "day", None, None], [None, ""]) == ""
