"""Shared CTEs of a Spark query are split into cached steps without changing what it reads."""

from __future__ import annotations

import duckdb

from control_tower.engines.spark_ctes import split

QUERY = (
    "WITH a AS (SELECT 1 AS x UNION ALL SELECT 2), d AS (SELECT x FROM a WHERE x > 1), "
    "b AS (SELECT x FROM d JOIN a USING (x)), once AS (SELECT x FROM a) "
    "SELECT b.x FROM b JOIN b AS b2 USING (x) JOIN once USING (x) ORDER BY 1"
)


def test_ctes_read_twice_become_steps_in_order() -> None:
    plan = split(QUERY)
    names = [name.rsplit("_", 1)[-1] for name, _ in plan.steps]
    assert names == ["a", "b"]
    # a step reading a CTE that is not shared carries that CTE with it
    assert "WITH d AS" in plan.steps[1][1]
    assert "once AS" in plan.query  # read once: stays inline


def test_steps_then_query_give_the_query_rows() -> None:
    plan = split(QUERY)
    con = duckdb.connect()
    for name, sql in plan.steps:
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    assert con.execute(plan.query).fetchall() == con.execute(QUERY).fetchall() == [(2,)]


def test_a_query_without_shared_ctes_is_left_alone() -> None:
    sql = "WITH a AS (SELECT 1 AS x) SELECT x FROM a"
    plan = split(sql)
    assert plan.steps == ()
    assert plan.query == sql
