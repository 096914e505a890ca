"""The one AG Grid model parser: whitelisted columns, known operators, typed values."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from control_tower import gridquery as g
from control_tower.gridquery.to_duckdb import order_sql, where_sql

COLUMNS = {"name": "text", "qty": "number", "day": "date"}


def test_a_two_condition_filter_is_parsed_with_its_join():
    model = {
        "qty": {
            "filterType": "number",
            "operator": "OR",
            "conditions": [
                {"type": "lessThan", "filter": 2},
                {"type": "inRange", "filter": "5", "filterTo": 9},
            ],
        }
    }
    assert g.parse_filter(model, COLUMNS) == [
        g.ColumnFilter(
            "qty", "number", (g.Condition("lessThan", 2), g.Condition("inRange", 5.0, 9)), "OR"
        )
    ]


def test_filter_type_defaults_to_the_column_kind_and_operator_to_its_usual_one():
    assert g.parse_filter({"name": {"filter": "ab"}}, COLUMNS) == [
        g.ColumnFilter("name", "text", (g.Condition("contains", "ab"),))
    ]
    parsed = g.parse_filter({"day": {"dateFrom": "2026-03-01 00:00:00"}}, COLUMNS)
    assert parsed[0].conditions == (g.Condition("equals", date(2026, 3, 1)),)


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        ({"secret": {"filter": "x"}}, g.UnknownColumnError, "cannot filter by column 'secret'"),
        ({"name": {"type": "regex", "filter": "x"}}, g.InvalidFilterError, "'regex'"),
        ({"qty": {"type": "contains", "filter": 1}}, g.InvalidFilterError, "number filter"),
        ({"qty": {"filterType": "text", "filter": "1"}}, g.InvalidFilterError, "on a number"),
        ({"qty": {"type": "equals", "filter": "nan"}}, g.InvalidFilterError, "finite"),
        ({"day": {"type": "equals", "dateFrom": "soon"}}, g.InvalidFilterError, "not a date"),
        (
            {"name": {"operator": "XOR", "conditions": [{"type": "blank"}]}},
            g.InvalidFilterError,
            "unknown operator 'XOR'",
        ),
        (
            {"name": {"operator": "AND", "conditions": [{"type": "blank"}] * 5}},
            g.InvalidFilterError,
            "between 1 and 4 conditions",
        ),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(model, error, message):
    with pytest.raises(error, match=message):
        g.parse_filter(model, COLUMNS)


def test_sort_keys_are_whitelisted():
    assert g.parse_sort([{"colId": "qty", "sort": "desc"}], {"qty"}) == [g.SortKey("qty", True)]
    with pytest.raises(g.UnknownColumnError, match="cannot sort by column 'name'"):
        g.parse_sort([{"colId": "name", "sort": "asc"}], {"qty"})
    with pytest.raises(g.InvalidFilterError, match="asc or desc"):
        g.parse_sort([{"colId": "qty", "sort": "up"}], {"qty"})
    assert g.sort_model_from_text("-qty, name") == [
        {"colId": "qty", "sort": "desc"},
        {"colId": "name", "sort": "asc"},
    ]


def test_duckdb_compiler_binds_values_and_joins_conditions():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (name VARCHAR, qty INTEGER)")
    con.execute("INSERT INTO t VALUES ('a_b', 1), ('axb', 5), (NULL, 7), ('c', NULL)")
    model = {
        "name": {
            "operator": "OR",
            "conditions": [{"type": "startsWith", "filter": "a_"}, {"type": "blank"}],
        }
    }
    where, params = where_sql(g.parse_filter(model, COLUMNS))
    order = order_sql(g.parse_sort([{"colId": "qty", "sort": "desc"}], {"qty"}))
    rows = con.execute(f"SELECT qty FROM t WHERE {where} ORDER BY {order}", params).fetchall()
    assert rows == [(7,), (1,)]  # the underscore is literal: 'axb' does not start with 'a_'
