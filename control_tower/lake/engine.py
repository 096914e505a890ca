"""The engine of the pipeline's KPI and exception steps, over the lake's newest version.

`engine_for` gives None for DuckDB (the steps use the warehouse's own connection) or the
Spark engine of `CONTROL_TOWER_ENGINE=spark` with the lake's current version registered.
One Spark engine per configuration lives as long as the process: a JVM starts in tens of
seconds, so the scheduler's runs reuse it (each registers the lake's newest version).
"""

from __future__ import annotations

from pathlib import Path

from control_tower.engines.config import engine_config
from control_tower.engines.spark import SparkEngine
from control_tower.lake.read import current_manifest
from control_tower.settings import Settings

_RUNNING: dict[str, SparkEngine] = {}


def register_spark(engine: SparkEngine, lake_dir: Path) -> str:
    """Views on `engine` of every table of the lake's current version; returns the version."""
    manifest = current_manifest(lake_dir)
    tables = {
        name: (
            [(c.name, c.type) for c in table.columns],
            [str(p) for p in manifest.files(name)],
        )
        for name, table in manifest.tables.items()
    }
    return engine.register_tables(tables, manifest.version)


def engine_for(settings: Settings) -> SparkEngine | None:
    """The engine the KPI and exception steps run on: None for DuckDB, else the Spark engine
    with the lake's current version registered."""
    config = engine_config(settings)
    if not config.remote:
        return None
    assert config.lake_dir is not None  # engine_config refuses spark without a lake
    key = repr(config.spark)
    engine = _RUNNING.get(key)
    if engine is None:
        engine = _RUNNING[key] = SparkEngine.start(config.spark)
    register_spark(engine, config.lake_dir)
    return engine
