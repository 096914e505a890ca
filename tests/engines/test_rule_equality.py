"""Every exception rule detects the same conditions on Spark as on DuckDB, from one lake.

The small demo is published into a lake; detection (`detect`, the pipeline's own code) runs
every rule whole once with DuckDB over the lake and once with Spark (local[2]) over the same
lake, each filling `exc_detected` of its own copy of the warehouse, and the two are compared:
the same keys per rule, the same location, entity, item, severity, start and window, values
at risk to 1e-9 relative. A rule that finds nothing on the demo is still run on both.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from control_tower.engines.base import Engine
from control_tower.engines.duck import DuckDBEngine
from control_tower.engines.spark import SparkEngine
from control_tower.exceptions.detect import detect
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.settings import Settings
from tests.support.demo_data import DEMO_AS_OF
from tests.support.lake import copy_warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow]

NOW = datetime(DEMO_AS_OF.year, DEMO_AS_OF.month, DEMO_AS_OF.day, 12)
COLUMNS = "type, key, location_id, entity_id, item_id, severity, event_at, in_window, value_at_risk"

Detected = dict[tuple[str, str], tuple[Any, ...]]


def _detected(engine: Engine, settings: Settings, folder: Path) -> tuple[Detected, dict]:
    con = duckdb.connect(str(copy_warehouse(settings, folder)))
    try:
        counts, failed = detect(con, as_of=DEMO_AS_OF, now=NOW, engine=engine)
        rows = con.execute(f"SELECT {COLUMNS} FROM exc_detected").fetchall()
    finally:
        con.close()
    assert not failed, failed
    assert sum(counts.values()) == len(rows)
    return {(r[0], r[1]): r[2:] for r in rows}, counts


@pytest.fixture(scope="module")
def on_duckdb(
    lake_duckdb: duckdb.DuckDBPyConnection, demo_settings: Settings, tmp_path_factory
) -> tuple[Detected, dict]:
    lake_duckdb.execute("CREATE OR REPLACE TEMP MACRO exc_in_scope(k) AS true")
    folder = tmp_path_factory.mktemp("rules-duckdb")
    return _detected(DuckDBEngine(lake_duckdb), demo_settings, folder)


@pytest.fixture(scope="module")
def on_spark(
    spark_engine: SparkEngine, demo_settings: Settings, tmp_path_factory
) -> tuple[Detected, dict]:
    return _detected(spark_engine, demo_settings, tmp_path_factory.mktemp("rules-spark"))


def test_the_demo_gives_the_rules_something_to_find(on_duckdb: tuple[Detected, dict]) -> None:
    _, counts = on_duckdb
    assert set(counts) == set(EXCEPTION_TYPES)
    assert sum(1 for n in counts.values() if n) >= 12


def test_the_lake_detects_what_the_warehouse_detects(
    on_duckdb: tuple[Detected, dict], demo_settings: Settings, tmp_path: Path
) -> None:
    con = duckdb.connect(str(copy_warehouse(demo_settings, tmp_path)))
    try:
        counts, failed = detect(con, as_of=DEMO_AS_OF, now=NOW)
    finally:
        con.close()
    assert not failed
    assert counts == on_duckdb[1]


@pytest.mark.parametrize("rule", sorted(EXCEPTION_TYPES))
def test_spark_detects_the_same_conditions(
    rule: str, on_duckdb: tuple[Detected, dict], on_spark: tuple[Detected, dict]
) -> None:
    duck = {k: v for k, v in on_duckdb[0].items() if k[0] == rule}
    spark = {k: v for k, v in on_spark[0].items() if k[0] == rule}
    assert sorted(spark) == sorted(duck)
    for key, row in duck.items():
        other = spark[key]
        *fields, value = row
        *fields2, value2 = other
        assert fields2 == fields, key
        if value is None or value2 is None:
            assert (value, value2) == (None, None), key
        else:
            assert math.isclose(value, value2, rel_tol=1e-9, abs_tol=1e-9), (key, value, value2)
