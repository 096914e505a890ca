"""Choosing the engine from the environment: defaults, and bad values refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.engines.config import engine_config
from control_tower.engines.spark import SparkConfig
from control_tower.lake.engine import engine_for
from control_tower.settings import SettingsError, load_settings


def test_duckdb_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTROL_TOWER_ENGINE", raising=False)
    settings = load_settings(tmp_path)
    config = engine_config(settings)
    assert config.engine == "duckdb"
    assert not config.remote
    assert engine_for(settings) is None  # the steps use the warehouse's own connection


def test_spark_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROL_TOWER_ENGINE", "spark")
    monkeypatch.setenv("CONTROL_TOWER_LAKE_DIR", "lake")
    monkeypatch.setenv("CONTROL_TOWER_SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv(
        "CONTROL_TOWER_SPARK_CONF", "spark.executor.memory=8g; spark.sql.shuffle.partitions=64"
    )
    config = engine_config(load_settings(tmp_path))
    assert config.remote
    assert config.lake_dir == (tmp_path / "lake").resolve()
    assert config.spark.master == "spark://cluster:7077"
    assert config.spark.conf == {
        "spark.executor.memory": "8g",
        "spark.sql.shuffle.partitions": "64",
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONTROL_TOWER_ENGINE": "trino"}, "CONTROL_TOWER_ENGINE='trino' must be one of"),
        ({"CONTROL_TOWER_ENGINE": "spark"}, "set CONTROL_TOWER_LAKE_DIR"),
        (
            {"CONTROL_TOWER_LAKE_DIR": "lake", "CONTROL_TOWER_SPARK_REMOTE": "http://x:15002"},
            "must be a sc://host:port URL",
        ),
        (
            {"CONTROL_TOWER_SPARK_CONF": "executor.memory=8g"},
            "is not spark.<key>=<value>",
        ),
    ],
)
def test_bad_values_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        engine_config(load_settings(tmp_path))


def test_spark_conf_pairs() -> None:
    assert SparkConfig.parse_conf("") == {}
    assert SparkConfig.parse_conf("spark.a=1;;spark.b = x=y") == {"spark.a": "1", "spark.b": "x=y"}


def test_engine_check_lists_nothing_for_the_shipped_catalog(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from control_tower.cli import main

    result = CliRunner().invoke(main, ["--home", str(tmp_path), "engine", "check"])
    assert result.exit_code == 0, result.output
    assert "every KPI query and exception rule transpiles to Spark SQL" in result.output
