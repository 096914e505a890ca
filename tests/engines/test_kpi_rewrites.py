"""The Spark forms the KPI catalog's DuckDB constructs are rewritten to (engines.transpile),
each checked by its text; the equality test (test_kpi_equality) checks them by their values."""

from __future__ import annotations

import pytest

from control_tower.engines.transpile import TranspileError, to_spark


def spark(sql: str) -> str:
    return to_spark(sql, {}, what="KPI k")


def test_division_is_a_double_division() -> None:
    assert spark("SELECT a / 28.0 FROM t") == "SELECT CAST(a AS DOUBLE) / 28.0 FROM t"
    # already a DOUBLE: left as it is
    assert spark("SELECT CAST(a AS DOUBLE) / b FROM t") == "SELECT CAST(a AS DOUBLE) / b FROM t"


def test_asof_left_join_keeps_the_last_row_not_past() -> None:
    sql = spark("SELECT s.k, o.q FROM s ASOF LEFT JOIN o ON o.k = s.k AND o.day <= s.d")
    assert "ASOF" not in sql
    assert (
        "LEFT JOIN (SELECT *, LEAD(day) OVER (PARTITION BY k ORDER BY day NULLS LAST) AS "
        "_asof_bound FROM o WHERE NOT day IS NULL) AS o ON (o.k = s.k AND o.day <= s.d) AND "
        "(o._asof_bound IS NULL OR o._asof_bound > s.d)"
    ) in sql


def test_asof_join_written_the_other_way_round_and_at_or_after() -> None:
    sql = spark("SELECT s.k FROM s ASOF JOIN o ON s.k = o.k AND s.d <= o.day")
    assert "LAG(day)" in sql
    assert "o._asof_bound < s.d" in sql
    assert " LEFT " not in sql  # still an inner join


def test_asof_join_under_a_bare_star_is_refused() -> None:
    with pytest.raises(TranspileError, match="SELECT \\* over an ASOF join"):
        spark("SELECT * FROM s ASOF LEFT JOIN o ON o.k = s.k AND o.day <= s.d")


def test_ordered_first_and_last() -> None:
    assert spark("SELECT first(a ORDER BY b, c) FROM t") == (
        "SELECT MIN_BY(a, STRUCT(b IS NULL, b, c IS NULL, c)) FROM t"
    )
    assert spark("SELECT last(a ORDER BY b) FROM t") == (
        "SELECT MAX_BY(a, STRUCT(b IS NULL, b)) FROM t"
    )
    with pytest.raises(TranspileError, match="mixed ASC/DESC"):
        spark("SELECT first(a ORDER BY b, c DESC) FROM t")


def test_weekday_numbers() -> None:
    assert spark("SELECT isodow(d), dayofweek(d) FROM t") == (
        "SELECT (WEEKDAY(d) + 1), (DAYOFWEEK(d) - 1) FROM t"
    )


def test_counted_date_series() -> None:
    sql = spark(
        "SELECT (SELECT count(*) FROM generate_series(a + 1, b, INTERVAL 1 DAY) AS g(d) "
        "WHERE isodow(g.d) <= 5) FROM t"
    )
    assert sql == (
        "SELECT CASE WHEN a + 1 <= b THEN SIZE(FILTER(SEQUENCE(a + 1, b, INTERVAL '1' DAY), "
        "d -> (WEEKDAY(d) + 1) <= 5)) ELSE 0 END FROM t"
    )
    with pytest.raises(TranspileError, match="not positive"):
        spark("SELECT (SELECT count(*) FROM generate_series(a, b, INTERVAL (-1) DAY) AS g(d))")
