"""Reading the queue for people: row scope, filters, sorting, paging, bulk actions.

A hand-made queue in a fresh SQLite app database:

    id  type              status        severity  location  entity  value  owner
    1   stockout_risk     open          high      DC-NJ     US01    500    planner
    2   stockout_risk     acknowledged  medium    DC-CHI    US01    100    planner
    3   backordered_line  open          medium    DC-NJ     US01    900    planner
    4   late_wave         open          high      DC-NJ     US01    -      warehouse_supervisor
    5   carrier_delay     resolved      medium    DC-RTM    NL01    50     warehouse_supervisor
    6   overdue_close_task open         high      -         US01    -      finance
    7   stale_source      open          medium    -         -       -      admin
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from control_tower.accounts import Scope
from control_tower.exceptions import actions
from control_tower.exceptions import query as q
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.exceptions.workflow import ConflictError, TransitionError, act
from control_tower.kpi.catalog import load_catalog

T0 = datetime(2026, 3, 1, 8, 0)
ROWS = [
    # type, status, severity, location, entity, value, owner, created days ago
    ("stockout_risk", "open", "high", "DC-NJ", "US01", 500.0, "planner", 1),
    ("stockout_risk", "acknowledged", "medium", "DC-CHI", "US01", 100.0, "planner", 5),
    ("backordered_line", "open", "medium", "DC-NJ", "US01", 900.0, "planner", 3),
    ("late_wave", "open", "high", "DC-NJ", "US01", None, "warehouse_supervisor", 0),
    ("carrier_delay", "resolved", "medium", "DC-RTM", "NL01", 50.0, "warehouse_supervisor", 9),
    ("overdue_close_task", "open", "high", None, "US01", None, "finance", 2),
    ("stale_source", "open", "medium", None, None, None, "admin", 4),
]
ALL = Scope()
NJ = Scope.of(locations=["DC-NJ"])
US = Scope.of(entities=["US01"])
NL_NJ = Scope.of(entities=["NL01"], locations=["DC-NJ"])
PAT = {"user": "pat", "role": "planner"}  # who acts, and their role
SAM = {"user": "sam", "role": "warehouse_supervisor"}


@pytest.fixture
def store(tmp_path):
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as s:
        with s.session() as session:
            for n, (type_, status, sev, loc, ent, value, owner, days) in enumerate(ROWS, 1):
                session.add(
                    ExceptionItem(
                        id=n,
                        type=type_,
                        key=f"K{n}",
                        status=status,
                        severity=sev,
                        owner_role=owner,
                        location_id=loc,
                        entity_id=ent,
                        sla_hours=24,
                        created_at=T0 - timedelta(days=days),
                        last_seen_at=T0,
                        value_at_risk=value,
                        detail={"order_id": f"SO{n}", "line_no": 1},
                        resolved_at=T0 if status == "resolved" else None,
                    )
                )
        yield s


def ids(store, scope, filt=None, **kwargs) -> list[int]:
    page = q.list_items(store, scope, filt or q.QueueFilter(status="all"), **kwargs)
    return [item.id for item in page.rows]


class TestScope:
    def test_unrestricted_users_see_every_item(self, store):
        assert sorted(ids(store, ALL)) == [1, 2, 3, 4, 5, 6, 7]

    def test_location_scope_keeps_its_sites_and_hides_items_without_a_location(self, store):
        assert sorted(ids(store, NJ)) == [1, 3, 4]  # 6 and 7 have no location: hidden

    def test_entity_scope_keeps_its_entity_and_hides_items_without_an_entity(self, store):
        assert sorted(ids(store, US)) == [1, 2, 3, 4, 6]  # 7 has no entity: hidden

    def test_both_dimensions_must_match(self, store):
        assert ids(store, NL_NJ) == []  # DC-NJ rows are US01; the NL01 row is DC-RTM

    def test_get_scoped_refuses_out_of_scope_unknown_and_malformed_ids_alike(self, store):
        assert q.get_scoped(store, NJ, "1").id == 1
        for bad in (2, "6", 99, "abc", "-1", "1; DROP TABLE exc_items", None, True, "0"):
            assert q.get_scoped(store, NJ, bad) is None


class TestFilters:
    def test_default_status_is_unresolved(self, store):
        assert sorted(ids(store, ALL, q.QueueFilter())) == [1, 2, 3, 4, 6, 7]

    def test_type_severity_location_entity_owner(self, store):
        assert sorted(ids(store, ALL, q.QueueFilter(types=("stockout_risk",), status="all"))) == [
            1,
            2,
        ]
        assert sorted(ids(store, ALL, q.QueueFilter(severity="high"))) == [1, 4, 6]
        assert ids(store, ALL, q.QueueFilter(owner_roles=("finance",))) == [6]
        assert sorted(ids(store, ALL, q.QueueFilter(status="all", entity="NL01"))) == [5]

    def test_a_kpi_without_types_matches_nothing(self, store):
        assert ids(store, ALL, q.QueueFilter(types=(), types_given=True)) == []

    def test_a_kpi_drill_down_reads_the_types_its_definition_lists(self, store):
        types = load_catalog().exception_types("stockout_rate")
        assert types == ("stockout_risk",)
        chosen = q.QueueFilter(types=types, types_given=True, status="all")
        assert sorted(ids(store, ALL, chosen)) == [1, 2]

    def test_bad_values_are_refused_with_their_name(self):
        with pytest.raises(q.QueryError, match="status"):
            q.QueueFilter(status="closed")
        with pytest.raises(q.QueryError, match="unknown exception type"):
            q.QueueFilter(types=("nope",))

    def test_grid_text_and_number_filters(self, store):
        model = {"location_id": {"filterType": "text", "type": "equals", "filter": "dc-nj"}}
        assert sorted(ids(store, ALL, filter_model=model)) == [1, 3, 4]
        model = {"value_at_risk": {"filterType": "number", "type": "greaterThan", "filter": 400}}
        assert sorted(ids(store, ALL, filter_model=model)) == [1, 3]
        model = {"location_id": {"filterType": "text", "type": "contains", "filter": "%"}}
        assert ids(store, ALL, filter_model=model) == []  # a wildcard is matched literally

    def test_grid_two_condition_filters(self, store):
        either = {
            "location_id": {
                "filterType": "text",
                "operator": "OR",
                "conditions": [
                    {"type": "equals", "filter": "dc-chi"},
                    {"type": "equals", "filter": "dc-rtm"},
                ],
            }
        }
        assert sorted(ids(store, ALL, filter_model=either)) == [2, 5]
        between = {
            "value_at_risk": {
                "filterType": "number",
                "operator": "AND",
                "conditions": [
                    {"type": "greaterThan", "filter": 60},
                    {"type": "lessThan", "filter": 600},
                ],
            }
        }
        assert sorted(ids(store, ALL, filter_model=between)) == [1, 2]

    @pytest.mark.parametrize(
        "model",
        [
            {"status = 'open' OR 1=1 --": {"type": "equals", "filter": "x"}},
            {"detail": {"type": "contains", "filter": "x"}},
            {"value_at_risk": {"type": "lessThan", "filter": "lots"}},
            {"item_id": {"type": "regex", "filter": "x"}},
        ],
    )
    def test_grid_filters_outside_the_whitelist_are_refused(self, store, model):
        with pytest.raises(q.QueryError):
            ids(store, ALL, filter_model=model)


class TestSortAndPaging:
    def test_sort_by_value_desc_puts_missing_values_last(self, store):
        order = ids(store, ALL, sort_model=[{"colId": "value_at_risk", "sort": "desc"}])
        assert order[:4] == [3, 1, 2, 5]

    def test_sort_by_age_is_creation_reversed(self, store):
        order = ids(store, ALL, sort_model=[{"colId": "age_days", "sort": "desc"}])
        assert order == [5, 2, 7, 3, 6, 1, 4]  # 9, 5, 4, 3, 2, 1, 0 days old

    def test_default_order_is_severity_then_oldest(self, store):
        assert ids(store, ALL) == [6, 1, 4, 5, 2, 7, 3]

    @pytest.mark.parametrize(
        "sort",
        [
            [{"colId": "id; DROP TABLE exc_items", "sort": "asc"}],
            [{"colId": "detail", "sort": "asc"}],
            [{"colId": "id", "sort": "sideways"}],
        ],
    )
    def test_sort_outside_the_whitelist_is_refused(self, store, sort):
        with pytest.raises(q.QueryError):
            ids(store, ALL, sort_model=sort)

    def test_api_sort_text(self):
        assert q.parse_sort("-value_at_risk, id") == [
            {"colId": "value_at_risk", "sort": "desc"},
            {"colId": "id", "sort": "asc"},
        ]

    def test_pages_and_total(self, store):
        page = q.list_items(store, ALL, q.QueueFilter(status="all"), offset=2, limit=3)
        assert page.total == 7
        assert [i.id for i in page.rows] == ids(store, ALL)[2:5]

    def test_export_reads_the_same_rows_as_the_pages(self, store):
        sort = [{"colId": "value_at_risk", "sort": "asc"}]
        every = [i.id for i in q.iter_items(store, NJ, q.QueueFilter(), sort_model=sort)]
        assert every == ids(store, NJ, q.QueueFilter(), sort_model=sort)


class TestActing:
    def test_bulk_action_reports_the_item_changed_meanwhile(self, store):
        seen = {i.id: i.version for i in q.list_items(store, ALL, q.QueueFilter()).rows}
        act(store, 3, "assign", user="sam", assignee="sam")  # someone else, after the read
        result = actions.act_many(
            store, ALL, [(1, seen[1]), (3, seen[3]), (4, seen[4])], "acknowledge", **PAT
        )
        assert result.done == [1, 4]
        assert [c.item_id for c in result.conflicts] == [3]
        assert "2 done, 1 changed by sam meanwhile" in result.message()
        assert store.get(3).status == "open"  # not overwritten
        assert store.get(1).status == store.get(4).status == "acknowledged"

    def test_bulk_action_rechecks_scope_for_every_id(self, store):
        result = actions.act_many(store, NJ, [(2, 1), (6, 1), (1, 1)], "acknowledge", **SAM)
        assert result.done == [1]
        assert [i for i, _ in result.refused] == [2, 6]
        assert store.get(2).status == "acknowledged"
        assert store.get(2).version == 1
        assert store.get(6).status == "open"

    def test_assign_only_to_an_active_user(self, store):
        with pytest.raises(TransitionError, match="not an active user"):
            actions.act_in_scope(
                store,
                ALL,
                1,
                "assign",
                **PAT,
                expected_version=1,
                assignee="mallory",
                assignees=["pat", "sam"],
            )

    def test_snooze_until_a_date(self, store):
        item = actions.act_in_scope(
            store, ALL, 1, "snooze", **PAT, expected_version=1, until="2999-01-02"
        )
        assert item.snoozed_until == datetime(2999, 1, 2)
        with pytest.raises(TransitionError, match="YYYY-MM-DD"):
            actions.act_in_scope(store, ALL, 3, "snooze", **PAT, expected_version=1, until="soon")

    def test_an_out_of_scope_id_is_refused_like_an_unknown_one(self, store):
        for outside in (2, 999, "abc"):
            with pytest.raises(actions.OutOfScopeError, match=f"no exception {outside} in your"):
                actions.act_in_scope(store, NJ, outside, "acknowledge", **SAM, expected_version=1)
        assert store.get(2).version == 1

    def test_a_stale_version_is_a_conflict_naming_who_changed_what(self, store):
        act(store, 1, "assign", user="sam", assignee="sam")
        result = actions.act_many(store, ALL, [(1, 1)], "acknowledge", **PAT)
        (outcome,) = result.results
        assert not outcome.ok
        assert isinstance(outcome.error, ConflictError)
        assert [(c.actor, c.action, c.changes) for c in outcome.error.changes] == [
            ("sam", "assign", {"assignee": [None, "sam"]})
        ]
        assert "sam did assign" in outcome.message
        assert store.get(1).status == "open"

    def test_a_mixed_batch_answers_per_item_in_order(self, store):
        act(store, 3, "comment", user="sam", note="on it")
        result = actions.act_many(
            store,
            US,
            [(1, 1), (3, 1), (7, 1), (5, 1), (4, "x")],
            "acknowledge",
            **PAT,
        )
        assert [(r.item_id, r.ok) for r in result.results] == [
            (1, True),
            (3, False),
            (7, False),
            (5, False),
            (4, False),
        ]
        messages = [r.message for r in result.results]
        assert messages[0] == "#1: acknowledge done"
        assert messages[1].startswith("#3: conflict:")
        assert messages[2] == "#7: not found in your scope"  # no entity: outside US01
        assert messages[3] == "#5: not found in your scope"  # NL01
        assert "version of the item you saw is needed" in messages[4]
        assert result.done == [1]

    def test_only_the_owner_role_or_an_admin_may_resolve(self, store):
        # 3: a planner's backordered line, 4: a supervisor's late wave, both at DC-NJ
        result = actions.act_many(store, NJ, [(3, 1), (4, 1)], "resolve", **SAM, reason="fixed")
        assert [r.ok for r in result.results] == [False, True]
        assert isinstance(result.results[0].error, actions.NotAllowedError)
        assert "belongs to the planner role" in result.results[0].message
        assert (store.get(3).status, store.get(3).version) == ("open", 1)
        other = actions.act_many(store, NJ, [(3, 1)], "acknowledge", **SAM)
        assert other.done == [3]  # any other action stays open to everyone in scope
        admin = actions.act_many(
            store, ALL, [(6, 1)], "resolve", user="ada", role="admin", reason="accepted"
        )
        assert admin.done == [6]
        owner = actions.act_in_scope(
            store, ALL, 3, "resolve", **PAT, expected_version=2, reason="fixed"
        )
        assert owner.status == "resolved"

    def test_every_action_needs_the_version_seen(self, store):
        for version in (None, "1", True, 1.0):
            with pytest.raises(TransitionError, match="version of the item you saw is needed"):
                actions.act_in_scope(
                    store, ALL, 1, "comment", **PAT, expected_version=version, note="hello"
                )
        assert store.get(1).version == 1

    def test_types_limit_which_items_an_action_may_touch(self, store):
        result = actions.act_many(
            store, ALL, [(1, 1), (3, 1)], "acknowledge", **PAT, types=("stockout_risk",)
        )
        assert [r.ok for r in result.results] == [True, False]
        assert store.get(3).status == "open"


def test_rows_carry_age_sla_and_summary(store):
    row = q.item_row(store.get(3), T0)
    assert row["age_days"] == 3
    assert row["sla_breached"] is True
    assert row["sla"] == "breached"
    assert row["summary"].startswith("order id SO3 · line no 1")
    fresh = q.item_row(store.get(4), T0 + timedelta(hours=2))
    assert fresh["sla"] == "due in 22 h"
