"""Which engine the pipeline's KPI and exception steps run on, from the environment.

    CONTROL_TOWER_ENGINE        duckdb (default) or spark
    CONTROL_TOWER_SPARK_MASTER  where Spark runs: local[2] (default), spark://host:7077, yarn, ...
    CONTROL_TOWER_SPARK_REMOTE  a Spark Connect server (sc://host:15002); wins over the master
    CONTROL_TOWER_SPARK_CONF    extra Spark settings: spark.key=value;spark.key=value

The Spark engine reads the published lake (`CONTROL_TOWER_LAKE_DIR`, docs/lake.md),
which must then be set: Spark reads the lake, never the warehouse file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from control_tower.engines.base import ENGINES
from control_tower.engines.spark import DEFAULT_MASTER, SparkConfig
from control_tower.settings import PREFIX, Settings, SettingsError, _env


@dataclass(frozen=True)
class EngineConfig:
    """The engine chosen, and where Spark and the lake are when it is Spark."""

    engine: str = "duckdb"
    spark: SparkConfig = field(default_factory=SparkConfig)
    lake_dir: Path | None = None

    @property
    def remote(self) -> bool:
        """Whether the KPI and exception steps run on an engine other than the warehouse's."""
        return self.engine != "duckdb"


def engine_config(settings: Settings) -> EngineConfig:
    """The engine configuration of this installation; a bad value is refused, naming it."""
    engine = (_env("ENGINE") or "duckdb").lower()
    if engine not in ENGINES:
        raise SettingsError(f"{PREFIX}ENGINE={engine!r} must be one of: {', '.join(ENGINES)}")
    lake_dir = getattr(settings, "lake_dir", None)
    if engine == "spark" and lake_dir is None:
        raise SettingsError(
            f"{PREFIX}ENGINE=spark reads the published lake: set {PREFIX}LAKE_DIR "
            "(docs/lake.md) so the pipeline publishes it"
        )
    remote = _env("SPARK_REMOTE")
    if remote is not None and not remote.startswith("sc://"):
        raise SettingsError(f"{PREFIX}SPARK_REMOTE={remote!r} must be a sc://host:port URL")
    try:
        conf = SparkConfig.parse_conf(_env("SPARK_CONF") or "")
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    spark = SparkConfig(master=_env("SPARK_MASTER") or DEFAULT_MASTER, remote=remote, conf=conf)
    return EngineConfig(engine=engine, spark=spark, lake_dir=lake_dir)
