"""The scale-out engine: Apache Spark runs the governed SQL over the tables of a published lake.

A `SparkEngine` holds a SparkSession (local, a cluster's master URL, or a Spark
Connect server), registers every table of the lake's current version as a
temporary view over exactly the files its manifest lists (so it never reads a
half-published version), and runs `transpile.to_spark` of each governed query.
The session is set to behave as DuckDB does where the governed SQL relies on
it: UTC session time zone, non-ANSI arithmetic (a division by zero is NULL, as
the definitions' NULLIF guards expect, not an error).

pyspark is an optional dependency (`pip install 'control-tower[spark]'`, and a
Java 17 runtime); importing this module does not need it, starting an engine does.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from control_tower.engines import spark_ctes
from control_tower.engines.base import EngineError
from control_tower.engines.transpile import to_spark, view_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
LOCAL_DRIVER_MEMORY = "4g"  # CONTROL_TOWER_SPARK_CONF=spark.driver.memory=... overrides it
# Settings that make Spark compute what DuckDB computes for the governed SQL, and suit one
# machine's local mode (few shuffle partitions for small data; a cluster may override them).
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


@dataclass(frozen=True)
class SparkConfig:
    """Where Spark runs: `remote` (a Spark Connect URL, sc://host:15002) or `master`
    (local[N], spark://host:7077, yarn, k8s://...), plus extra `conf`."""

    master: str = DEFAULT_MASTER
    remote: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    app_name: str = "control-tower"

    @staticmethod
    def parse_conf(text: str) -> dict[str, str]:
        """`key=value;key=value` (CONTROL_TOWER_SPARK_CONF) as a dict; a bad pair is an error."""
        out: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            key, sep, value = part.partition("=")
            if not sep or not key.strip().startswith("spark."):
                raise ValueError(
                    f"CONTROL_TOWER_SPARK_CONF: {part!r} is not spark.<key>=<value> "
                    "(pairs separated by ';')"
                )
            out[key.strip()] = value.strip()
        return out


def java_available() -> bool:
    """Whether a Java runtime is on this machine (JAVA_HOME or `java` on PATH)."""
    home = os.environ.get("JAVA_HOME")
    return bool(home and (Path(home) / "bin" / "java").exists()) or shutil.which("java") is not None


def start_session(config: SparkConfig) -> SparkSession:
    """A SparkSession for `config` (the running one, reconfigured, if there is one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "the Spark engine needs pyspark: pip install 'control-tower[spark]' "
            "(and a Java 17 runtime, e.g. Debian's openjdk-17-jre-headless)"
        ) from exc
    if not config.remote and not java_available():
        raise EngineError(
            "the Spark engine needs a Java 17 runtime: install openjdk-17-jre-headless "
            "or set JAVA_HOME"
        )
    builder = SparkSession.builder.appName(config.app_name)
    builder = builder.remote(config.remote) if config.remote else builder.master(config.master)
    conf = dict(BASE_CONF)
    if not config.remote and config.master.startswith("local"):
        # In local mode the driver is the only executor: Spark's 1 GB default runs out of
        # memory on the medium demo's aggregations (BytesToBytesMap).
        conf["spark.driver.memory"] = LOCAL_DRIVER_MEMORY
    for key, value in {**conf, **config.conf}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not config.remote:
        # A failed query is reported once, as an EngineError naming the KPI or rule; Spark's
        # own log would repeat it with a JVM stack trace on stderr.
        session.sparkContext.setLogLevel("FATAL")
    return session


# Spark type names whose DuckDB name differs (the transpiler reads types in DuckDB's terms).
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMPTZ",
    "int": "INTEGER",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
}


def duckdb_type(spark_type: str) -> str:
    """A Spark column type (its simple string) in DuckDB's terms."""
    return _DUCKDB_TYPES.get(spark_type, spark_type.upper())


class SparkEngine:
    """Governed SQL on Spark, over the tables of one lake version."""

    name = "spark"

    def __init__(self, session: SparkSession, *, owns_session: bool = False) -> None:
        self.session = session
        self.owns_session = owns_session
        # The lake tables' columns, {schema: {table: {column: DuckDB type}}} (main: landed).
        self.schema: dict[str, dict[str, dict[str, str]]] = {}
        self.version: str | None = None
        self._views: dict[str, list[str]] = {}  # view -> the kept steps it reads
        self._kept: dict[str, Any] = {}  # kept view -> its checkpointed DataFrame

    @classmethod
    def start(cls, config: SparkConfig) -> SparkEngine:
        """An engine on a new (or the running) session, which `close()` stops."""
        return cls(start_session(config), owns_session=True)

    def register_tables(
        self, tables: Mapping[str, tuple[Sequence[tuple[str, str]], Sequence[str]]], version: str
    ) -> str:
        """A view per table over exactly its files: {name: ([(column, DuckDB type)], paths)}
        (`control_tower.lake.read.register_spark` passes a lake version's); returns `version`."""
        for name, (columns, paths) in tables.items():
            frame = self.session.read.parquet(*paths).select(*[c for c, _ in columns])
            frame.createOrReplaceTempView(view_name(name))
            schema, _, table_name = name.rpartition(".")
            self.schema.setdefault(schema or "main", {})[table_name] = dict(columns)
        self.version = version
        return version

    def _sql(self, sql: str, params: Mapping[str, Any], what: str) -> str:
        return to_spark(sql, params, what=what, schema=self.schema)

    def _cache_steps(self, text: str, what: str) -> tuple[str, list[str]]:
        """The query's shared CTEs cached as tables (`spark_ctes`): the main query and the
        names cached, which stay until what reads them is done (a view made from them keeps
        reading them by name)."""
        plan = spark_ctes.split(text)
        done: list[str] = []
        try:
            for name, step in plan.steps:
                self._keep(name, step)
                done.append(name)
        except Exception as exc:  # pyspark raises its own error classes (AnalysisException, ...)
            self._drop(done)
            raise EngineError(f"{what}: Spark could not run the query: {exc}") from exc
        return plan.query, done

    def _keep(self, name: str, query: str, *, checkpoint: bool = True) -> None:
        """The rows of `query` computed now and kept as the view `name`. A local checkpoint
        by default: what reads it starts from the kept rows, not from the plan that made them
        (Spark re-analyses a cached view's whole lineage in every query over it). A model view
        is a cached table instead (`checkpoint=False`): Spark 4.3's optimizer fails to
        validate the checkpointed plan of some models (PLAN_VALIDATION_FAILED_RULE_IN_BATCH in
        RemoveRedundantAliases), and a model is read by a handful of queries only."""
        if checkpoint:
            frame = self.session.sql(query).localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
        else:
            self.session.sql(f"CACHE TABLE `{name}` AS {query}")
            frame = self.session.table(f"`{name}`")
        self._kept[name] = frame

    def _drop(self, names: list[str]) -> None:
        # Uncached through the DataFrame kept (its plan already resolved): UNCACHE TABLE by
        # name re-resolves the view, which fails once a view it reads (another model) is gone.
        for name in reversed(names):  # the later ones read the earlier ones
            frame = self._kept.pop(name, None)
            if frame is not None:
                frame.unpersist()
            self.session.catalog.dropTempView(name)

    def query_arrow(self, sql: str, params: Mapping[str, Any], *, what: str) -> pa.Table:
        query, steps = self._cache_steps(self._sql(sql, params, what), what)
        try:
            return self.session.sql(query).toArrow()
        except Exception as exc:
            raise EngineError(f"{what}: Spark could not run the query: {exc}") from exc
        finally:
            self._drop(steps)

    def create_temp_view(
        self, name: str, sql: str, params: Mapping[str, Any], *, what: str
    ) -> None:
        self.drop_temp_view(name)
        query, steps = self._cache_steps(self._sql(sql, params, what), what)
        try:
            self._keep(name, query, checkpoint=False)
        except Exception as exc:
            self._drop(steps)
            raise EngineError(f"{what}: Spark could not build {name}: {exc}") from exc
        self._views[name] = steps
        # Its columns' types, so queries over it tell date arithmetic from number arithmetic.
        self.schema.setdefault("main", {})[name] = {
            f.name: duckdb_type(f.dataType.simpleString()) for f in self._kept[name].schema
        }

    def drop_temp_view(self, name: str) -> None:
        self.schema.get("main", {}).pop(name, None)
        steps = self._views.pop(name, None)
        if steps is not None:
            self._drop([*steps, name])

    def close(self) -> None:
        for name in list(self._views):
            self.drop_temp_view(name)
        if self.owns_session:
            self.session.stop()
