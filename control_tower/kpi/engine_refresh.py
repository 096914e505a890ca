"""KPI materialisation on an engine (DuckDB over a lake, or Spark): always a full refresh.

The same definitions, compiled by the same code as the warehouse's own refresh
(`kpi.materialize`): each base model (with the parameter values its KPI gives
it) becomes one temporary view of the engine, built once per run; each KPI's
values are its GROUPING SETS queries per materialised grain over that view
(semi-additive KPIs: one query per dimension). `plan` lists those queries in
the order they run, so `control-tower engine check` and the tests transpile
exactly what a refresh runs.

The rows come back as Arrow (a few thousand per KPI) and go into the
warehouse's `kpi.values` through the warehouse refresh's own writer
(`insert_values`): status against the thresholds, freshness, the catalog's
new versions recorded first, all in one transaction, as today.

The incremental refresh (`kpi.incremental`: periods recomputed from model rows
stored in `kpi_state`) stays the warehouse's: an engine keeps no model rows
between runs, so every refresh on an engine is a full one, and it clears the
stored rows' record so the warehouse's next delta refreshes in full too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from control_tower.engines.base import Engine
from control_tower.engines.transpile import Schema, TranspileError, to_spark
from control_tower.kpi import incremental
from control_tower.kpi.catalog import Catalog, Kpi, load_catalog
from control_tower.kpi.compiler import model_query
from control_tower.kpi.governance import read_history, record_versions
from control_tower.kpi.materialize import (
    ModelKey,
    RefreshReport,
    as_model_kpi,
    freshness,
    insert_values,
    materialised_grains,
    model_key,
    value_queries,
)
from control_tower.settings import utc_now

RESULT_VIEW = "kpi_engine_result"  # the Arrow rows of one query, as the writer reads them


@dataclass(frozen=True)
class PlannedQuery:
    """One query of a refresh: a model view to build, or a KPI's values to collect."""

    kpi: Kpi
    kind: str  # "model" or "values"
    sql: str
    params: dict[str, Any] = field(hash=False)
    view: str = ""  # the model view it builds (kind "model")
    model: str = ""  # the model's name (kind "model")
    grain: str = ""  # kind "values"
    dimension: str | None = None  # kind "values": "" overall, a name, None: in the rows

    @property
    def what(self) -> str:
        """The KPI (and model) it belongs to, as errors name it."""
        if self.kind == "model":
            return f"KPI {self.kpi.name} (model {self.model})"
        return f"KPI {self.kpi.name}"


def plan(kpis: list[Kpi], *, as_of: date) -> Iterator[PlannedQuery]:
    """Every query a full refresh runs on an engine, in order: each KPI's models not built yet
    (a model with the same parameter values is built once), then its value queries."""
    built: dict[ModelKey, str] = {}
    for kpi in kpis:
        names: dict[str, str] = {}
        for model in kpi.chain:
            key = model_key(kpi, model)
            if key not in built:
                view = f"kpi_model_{model.name}_{len(built)}"
                sql, bound = model_query(as_model_kpi(kpi, model), as_of=as_of, tables=names)
                built[key] = view
                yield PlannedQuery(kpi, "model", sql, bound, view=view, model=model.name)
            names[model.name] = built[key]
        source = names[kpi.model.name]
        for grain, dims in materialised_grains(kpi):
            for q, dim in value_queries(kpi, source, grain, dims, as_of=as_of):
                yield PlannedQuery(kpi, "values", q.sql, q.params, grain=grain, dimension=dim)


def untranspilable(
    kpis: list[Kpi], *, as_of: date, schema: Schema | None = None
) -> list[TranspileError]:
    """What of the refresh's queries has no exact Spark SQL form (each naming its KPI and the
    construct); empty for the shipped catalog. `schema`: the warehouse's tables' columns (the
    lake's), which tell date arithmetic from number arithmetic."""
    errors = []
    for q in plan(kpis, as_of=as_of):
        try:
            to_spark(q.sql, q.params, what=q.what, schema=schema)
        except TranspileError as exc:
            errors.append(exc)
    return errors


def refresh_on_engine(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    *,
    as_of: date,
    catalog: Catalog | None = None,
    root: Any = None,
) -> RefreshReport:
    """Validate the catalog, record new versions, and rebuild kpi.values for `as_of` from
    queries run on `engine`; `con` is the warehouse the values are written to."""
    t0 = time.perf_counter()
    report = RefreshReport(engine=engine.name)
    if catalog is None:
        catalog = load_catalog(root, history=read_history(con))
    kpis = list(catalog.kpis.values())
    report.mode = f"full refresh (on {engine.name}, which refreshes in full only)"
    now = utc_now()
    views: list[str] = []
    con.execute("BEGIN TRANSACTION")
    try:
        report.versions_recorded = record_versions(con, kpis)
        con.execute("DELETE FROM kpi.values")
        fresh: dict[str, Any] = {}
        started: dict[str, float] = {}
        for q in plan(kpis, as_of=as_of):
            name = q.kpi.name
            if name not in started:
                started[name] = time.perf_counter()
                fresh[name] = freshness(con, q.kpi.model.tables)
                report.kpis += 1
                report.recomputed += 1
            if q.kind == "model":
                m0 = time.perf_counter()
                engine.create_temp_view(q.view, q.sql, q.params, what=q.what)
                views.append(q.view)
                report.model_seconds[q.model] = time.perf_counter() - m0
            else:
                _write(con, engine, q, as_of=as_of, fresh=fresh[name], now=now)
            report.kpi_seconds[name] = time.perf_counter() - started[name]
        # The stored model rows (if any) no longer match kpi.values: the next delta of the
        # warehouse's own refresh goes in full.
        con.execute(incremental.META_DDL)
        con.execute(f"DELETE FROM {incremental.SCHEMA}.meta")
        row = con.execute("SELECT count(*) FROM kpi.values").fetchone()
        report.rows = int(row[0]) if row else 0
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for view in views:
            engine.drop_temp_view(view)
    report.seconds = time.perf_counter() - t0
    return report


def _write(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    q: PlannedQuery,
    *,
    as_of: date,
    fresh: Any,
    now: Any,
) -> None:
    """One value query's rows, run on the engine, into kpi.values by the warehouse's writer."""
    rows = engine.query_arrow(q.sql, q.params, what=q.what)
    con.register(RESULT_VIEW, rows)
    try:
        insert_values(
            con,
            q.kpi,
            f"SELECT * FROM {RESULT_VIEW}",
            {},
            as_of=as_of,
            fresh=fresh,
            now=now,
            grain=q.grain,
            dimension=q.dimension,
        )
    finally:
        con.unregister(RESULT_VIEW)
