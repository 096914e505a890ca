"""Governed DuckDB SQL to Spark SQL: the rewrites, the refusals, and every exception rule."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlglot

from control_tower.engines.transpile import TranspileError, to_spark, view_name
from control_tower.exceptions.registry import EXCEPTION_TYPES
from tests.support.engines import warehouse_schema

SCHEMA = warehouse_schema()


def spark(sql: str, params: dict | None = None) -> str:
    return to_spark(sql, params or {}, what="test query", schema=SCHEMA)


def test_parameters_become_typed_literals() -> None:
    out = spark(
        "SELECT $d AS d, $t AS t, $n AS n, $x AS x, $s AS s",
        {"d": date(2026, 3, 1), "t": datetime(2026, 3, 1, 8, 30), "n": 7, "x": 0.5, "s": "a'b"},
    )
    assert "CAST('2026-03-01' AS DATE)" in out
    assert "CAST('2026-03-01 08:30:00' AS TIMESTAMP)" in out
    assert "7 AS n" in out
    assert "CAST(0.5 AS DOUBLE)" in out
    assert "'a\\'b'" in out or "'a''b'" in out


def test_a_parameter_without_value_is_refused() -> None:
    with pytest.raises(TranspileError, match=r"test query: parameter \$as_of has no value"):
        spark("SELECT $as_of")


def test_schema_tables_become_views() -> None:
    out = spark("SELECT rate FROM money.fx_daily JOIN main.items ON true")
    assert "money__fx_daily" in out
    assert "main." not in out
    assert view_name("money.fx_daily") == "money__fx_daily"
    assert view_name("main.items") == "items"


def test_epoch_keeps_fractions_of_seconds() -> None:
    out = spark("SELECT epoch(a_ts - b_ts) / 3600 AS h FROM t")
    assert "UNIX_MICROS(CAST(a_ts AS TIMESTAMP)) - UNIX_MICROS(CAST(b_ts AS TIMESTAMP))" in out
    assert "UNIX_TIMESTAMP" not in out


def test_interval_constructors() -> None:
    out = spark("SELECT x + to_minutes(5) + to_hours(2) + to_days(1) FROM t")
    assert "MAKE_DT_INTERVAL(0, 0, 5, 0)" in out
    assert "MAKE_DT_INTERVAL(0, 2, 0, 0)" in out
    assert "MAKE_DT_INTERVAL(1, 0, 0, 0)" in out


def test_date_minus_date_is_whole_days_and_date_minus_number_stays() -> None:
    out = spark(
        "SELECT CAST($as_of AS DATE) - due_date AS late, CAST($as_of AS DATE) - 1 AS y "
        "FROM close_tasks",
        {"as_of": date(2026, 3, 1)},
    )
    assert "DATEDIFF(" in out
    assert "- 1 AS y" in out


def test_quantiles_are_exact_percentiles() -> None:
    out = spark("SELECT median(x) AS m, quantile_cont(x, 0.9) AS q FROM t")
    assert "PERCENTILE(x, 0.5)" in out
    assert "PERCENTILE(x, 0.9)" in out
    assert "APPROX" not in out.upper()


def test_json_keeps_null_fields() -> None:
    out = spark("SELECT to_json({a: x, b: NULL}) AS j FROM t")
    assert "MAP('ignoreNullFields', 'false')" in out


def test_incremental_scope_is_whole() -> None:
    assert "exc_in_scope" not in spark("SELECT 1 FROM t WHERE exc_in_scope(k)").lower()


def test_star_replace_is_expanded_from_the_query() -> None:
    out = spark("SELECT r.* REPLACE (r.v * 2 AS v) FROM (SELECT 1 AS k, 2 AS v) AS r")
    assert "REPLACE" not in out
    assert "k" in out
    with pytest.raises(TranspileError, match="needs the tables' columns"):
        to_spark("SELECT * EXCLUDE (v) FROM t", what="q")


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        (
            "SELECT jaro_winkler_similarity(a, b) FROM t",
            r"(?i)DuckDB function jaro_winkler_similarity\(\) has no",
        ),
        ("SELECT timezone('Europe/Paris', ts) FROM t", "timezone"),
    ],
)
def test_constructs_without_a_spark_form_are_refused_by_name(sql: str, construct: str) -> None:
    with pytest.raises(TranspileError, match=construct) as caught:
        to_spark(sql, what="KPI demo_kpi", schema=SCHEMA)
    assert caught.value.what == "KPI demo_kpi"


def test_local_wall_clock_to_utc() -> None:
    out = to_spark("SELECT timezone('UTC', timezone(zone, CAST(d AS TIMESTAMP))) FROM t", what="q")
    assert "TO_UTC_TIMESTAMP(CAST(d AS TIMESTAMP_NTZ), zone)" in out


@pytest.mark.parametrize("name", sorted(EXCEPTION_TYPES))
def test_every_exception_rule_transpiles(name: str) -> None:
    rule = EXCEPTION_TYPES[name]
    params = rule.bindings(as_of=date(2026, 3, 2), now=datetime(2026, 3, 2, 12))
    out = to_spark(rule.rule, params, what=f"exception rule {name}", schema=SCHEMA)
    parsed = sqlglot.parse_one(out, dialect="spark")  # well-formed Spark SQL
    assert "key" in parsed.named_selects
    assert "exc_in_scope" not in out.lower()


def test_date_arithmetic_without_the_columns_is_refused() -> None:
    with pytest.raises(TranspileError, match="cannot tell whether"):
        to_spark("SELECT CAST($d AS DATE) - due FROM t", {"d": date(2026, 1, 1)}, what="q")
