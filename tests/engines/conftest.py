"""Fixtures of the engine tests: the landed small demo published into a lake, one Spark engine
over it (local[2], started once per session), and a DuckDB connection over the same lake.

Spark needs pyspark and a Java 17 runtime: without them the Spark tests are skipped, except
under CI (CI set), where they fail, as CI installs both (`.ci/run`).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from control_tower.engines.spark import SparkConfig, SparkEngine, java_available
from control_tower.lake.engine import register_spark
from control_tower.lake.publish import publish_lake
from control_tower.lake.read import register_duckdb
from control_tower.settings import Settings
from tests.support.demo_data import DEMO_AS_OF
from tests.support.lake import copy_warehouse


@pytest.fixture(scope="session")
def lake_dir(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo's warehouse published into a lake (read only)."""
    folder = tmp_path_factory.mktemp("engine-lake")
    con = duckdb.connect(str(copy_warehouse(demo_settings, folder / "home")))
    try:
        publish_lake(con, folder / "lake", as_of=DEMO_AS_OF)
    finally:
        con.close()
    return folder / "lake"


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'control-tower[spark]')"
    if not java_available():
        return "no Java runtime (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
    return None


@pytest.fixture(scope="session")
def spark_engine(lake_dir: Path) -> Iterator[SparkEngine]:
    """One Spark engine (local[2]) over the lake's current version, for the whole session."""
    missing = _spark_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the Spark tests must run under CI: {missing}")
        pytest.skip(missing)
    engine = SparkEngine.start(SparkConfig(master="local[2]"))
    register_spark(engine, lake_dir)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def lake_duckdb(lake_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a view per table of the lake's current version."""
    con = duckdb.connect()
    register_duckdb(con, lake_dir)
    yield con
    con.close()
