"""Materialise every KPI into `kpi.values`: overall and by each allowed dimension.

Runs as a post-load step inside the pipeline's writer connection. Each base
model is computed once per run into a temporary table (a model other models
use is read from its table), then each KPI is one GROUPING SETS query per
grain over its model's table (semi-additive KPIs: one query per dimension, as
their last snapshot depends on the group). Every value carries its status
against the KPI's thresholds and its freshness: the oldest of the newest
loaded batch of each table the KPI reads. The catalog's new versions are
recorded first; a catalog that fails validation (including a certified
definition changed without a new version) fails the step and leaves the
previous values.

A run that lands a delta recomputes only the periods (days, months) whose
model rows changed, from the models that read what it loaded; each model's
rows of the last refresh are kept in the `kpi_state` schema for that
(`kpi.incremental`, which says why this gives exactly the full refresh's
values). A model declaring `incremental` is rebuilt only for the keys the
run's rows reach, and the models built on it read its stored rows
(`kpi.keyed`); `RefreshReport.refreshed` says how each model was. Everything is rebuilt on a full refresh of the run, a changed
catalog or another as-of date. The models and values can also be computed on
another engine (Spark over the lake: `kpi.engine_refresh`), in full only, and
written here by the same writer.

Grains: overall and every low-cardinality dimension (location, entity,
channel, carrier, ABC class, ...) by day; the high-cardinality dimensions in
`MONTHLY_DIMENSIONS` (item, customer: thousands of values) by month, with the
overall figure by month beside them. Materialising those by day wrote 5.7M
rows at 1M order lines (item x day alone is 0.9M rows per stock KPI) and
took 25 s, most of it writing rows nobody reads from a tile; a question at
day x item grain is answered on demand by `compute()`, which compiles the
same definition.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.engines.base import Engine
from control_tower.kpi import incremental, keyed
from control_tower.kpi.catalog import Catalog, Kpi, load_catalog
from control_tower.kpi.compiler import (
    CompiledQuery,
    compile_grouping_sets,
    compile_kpi,
    model_query,
)
from control_tower.kpi.governance import read_history, record_versions
from control_tower.settings import utc_now
from control_tower.storage.changes import Changes

# Dimensions materialised by month only (day x these is answered on demand by compute()).
MONTHLY_DIMENSIONS = ("item_id", "customer_id")


def materialised_grains(kpi: Kpi) -> list[tuple[str, tuple[str, ...]]]:
    """(grain, dimensions) sets materialised for a KPI; each set also gets its overall row."""
    daily = tuple(d for d in kpi.dimensions if d not in MONTHLY_DIMENSIONS)
    monthly = tuple(d for d in kpi.dimensions if d in MONTHLY_DIMENSIONS)
    return [("day", daily), *([("month", monthly)] if monthly else [])]


@dataclass
class RefreshReport:
    """What one refresh did."""

    kpis: int = 0
    rows: int = 0
    versions_recorded: int = 0
    seconds: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)
    kpi_seconds: dict[str, float] = field(default_factory=dict)
    mode: str = ""  # "full refresh (why)" or "by changed periods"
    recomputed: int = 0  # KPIs whose values were (re)computed
    periods: int = 0  # on a delta: the periods (days, months) recomputed, summed over KPIs
    changed_rows: dict[str, int] = field(default_factory=dict)  # per model rebuilt on a delta
    diff_seconds: dict[str, float] = field(default_factory=dict)  # build (whole or by key) + diff
    refreshed: dict[str, str] = field(default_factory=dict)  # per model diffed: by keys or whole

    forced: bool = False  # a delta of the run that the step refreshed in full all the same
    engine: str = ""  # set when the values were computed on an engine (kpi.engine_refresh)

    def summary(self) -> str:
        """One line for the run record (which says itself when the run refreshed in full)."""
        new = f", {self.versions_recorded} new versions" if self.versions_recorded else ""
        how = ""
        if self.engine:
            how = f" on {self.engine} (a full refresh)"
        elif self.forced:
            how = f"; {self.mode}"
        elif not self.mode.startswith("full"):
            how = f"; {self.periods} periods of {self.recomputed} KPIs recomputed"
            by_keys = [m for m, h in self.refreshed.items() if h.startswith("by ")]
            how += f", rows of {', '.join(by_keys)} rebuilt by key" if by_keys else ""
        return f"{self.rows} values of {self.kpis} KPIs in {self.seconds:.1f}s{how}{new}"


def status_sql(kpi: Kpi) -> tuple[str, list[Any]]:
    """SQL CASE (and its parameters) rating `value` ok / warn / breach against the thresholds."""
    if kpi.warn is None or kpi.breach is None:
        return "CASE WHEN value IS NULL THEN NULL ELSE 'ok' END", []
    op = "<" if kpi.direction == "higher_is_better" else ">"
    return (
        f"CASE WHEN value IS NULL THEN NULL WHEN value {op} $_status_0 THEN 'breach' "
        f"WHEN value {op} $_status_1 THEN 'warn' ELSE 'ok' END",
        [kpi.breach, kpi.warn],
    )


def freshness(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> datetime | None:
    """The oldest of the newest loaded batch of each table read (tables never loaded are
    left to the data-health page; None when none has loaded)."""
    landed = [t for t in tables if "." not in t]
    if not landed:
        return None
    rows = con.execute(
        "SELECT min(newest) FROM ("
        "  SELECT max(finished_at) AS newest FROM ops.batches"
        "  WHERE status = 'loaded' AND list_contains(?, table_name) GROUP BY table_name)",
        [landed],
    ).fetchall()  # all: leaves no open result (the engine refresh registers Arrow rows next)
    return rows[0][0] if rows else None


ModelKey = tuple[str, tuple[tuple[str, Any], ...]]


def model_key(kpi: Kpi, model: Any) -> ModelKey:
    """A model with the parameter values the KPI gives it: built (and stored) once per run."""
    params = tuple(
        sorted((p, kpi.parameters[p].default) for p in model.parameters if p in kpi.parameters)
    )
    return (model.name, params)


class _ModelTables:
    """Each (model, parameter values) computed once into a temporary table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date, report: RefreshReport) -> None:
        self.con = con
        self.as_of = as_of
        self.report = report
        self.built: dict[ModelKey, str] = {}
        self.views: dict[ModelKey, str] = {}

    def table(self, kpi: Kpi, current: Mapping[str, str] | None = None) -> str:
        """The table of the KPI's model, built (with the models of its chain) unless it is in
        `current` (model name -> table of its current rows)."""
        names: dict[str, str] = {}
        for model in kpi.chain:
            key = model_key(kpi, model)
            if current and model.name in current:
                names[model.name] = current[model.name]
                continue
            if key not in self.built:
                name = f"kpi_model_{model.name}_{len(self.built)}"
                sql, bound = model_query(as_model_kpi(kpi, model), as_of=self.as_of, tables=names)
                t0 = time.perf_counter()
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", bound)
                self.report.model_seconds[model.name] = time.perf_counter() - t0
                self.built[key] = name
            names[model.name] = self.built[key]
        return names[kpi.model.name]

    def current(self, kpi: Kpi, upto: Any) -> dict[str, str]:
        """The models of the KPI's chain before `upto` whose whole rows are stored (and brought
        up to date in this run): model name -> a view of their rows."""
        out = {}
        for model in kpi.chain[: kpi.chain.index(upto)]:
            if incremental.keeps_rows(model):
                key = model_key(kpi, model)
                if key not in self.views:
                    self.views[key] = f"kpi_rows_{model.name}_{len(self.views)}"
                    self.con.execute(
                        f"CREATE OR REPLACE TEMP VIEW {self.views[key]} AS SELECT * "
                        f"EXCLUDE (_row_hash, _key_hash) FROM {incremental.state_table(key)}"
                    )
                out[model.name] = self.views[key]
        return out

    def drop(self) -> None:
        for name in self.views.values():
            self.con.execute(f"DROP VIEW IF EXISTS temp.{name}")
        for name in self.built.values():
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def as_model_kpi(kpi: Kpi, model: Any) -> Kpi:
    """The KPI pointed at one model of its chain (to build that model's table)."""
    from dataclasses import replace

    idx = kpi.chain.index(model)
    return replace(kpi, model=model, chain=kpi.chain[: idx + 1])


def _figures_sql(kpi: Kpi) -> str:
    ratio = "numerator, denominator" if kpi.is_ratio else "NULL::DOUBLE, NULL::DOUBLE"
    if kpi.companions:
        pairs = ", ".join(f"'{c}', {c}" for c in kpi.companions)
        comps = f"json_object({pairs})::VARCHAR"
    else:
        comps = "NULL::VARCHAR"
    return f"{ratio}, value, {comps}"


def insert_values(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    query_sql: str,
    params: Mapping[str, Any],
    *,
    as_of: date,
    fresh: datetime | None,
    now: datetime,
    grain: str = "day",
    dimension: str | None = None,
) -> None:
    status, status_params = status_sql(kpi)
    dim_cols = (
        "dimension, dimension_value"
        if dimension is None
        else ("'ALL', 'ALL'" if dimension == "" else f"'{dimension}', CAST({dimension} AS VARCHAR)")
    )
    # The compiled query keeps its named parameters; the wrapper's values are named too.
    con.execute(
        f"INSERT INTO kpi.values SELECT $_kpi, $_version, $as_of, $_grain, period, {dim_cols}, "
        f"{_figures_sql(kpi)}, {status}, $_fresh, $_now FROM (\n{query_sql}\n) AS kpi_result",
        {
            **params,
            **{f"_status_{i}": v for i, v in enumerate(status_params)},
            "_kpi": kpi.name,
            "_version": kpi.version,
            "_grain": grain,
            "as_of": as_of,
            "_fresh": fresh,
            "_now": now,
        },
    )


def value_queries(
    kpi: Kpi, source: str, grain: str, dims: tuple[str, ...], *, as_of: date
) -> list[tuple[CompiledQuery, str | None]]:
    """The queries of the KPI's values at `grain` (overall and by `dims`) from model rows in
    `source`, each with the dimension it is by ("" overall; None: the query says, one GROUPING
    SETS query for all). Semi-additive KPIs: one query per dimension, as their last snapshot
    depends on the group."""
    if any(m.non_additive_dimension for m in kpi.measures.values()):
        return [
            (
                compile_kpi(kpi, as_of=as_of, grain=grain, by=[dim] if dim else [], source=source),
                dim,
            )
            for dim in ("", *dims)
        ]
    q = compile_grouping_sets(kpi, as_of=as_of, source=source, grain=grain, dimensions=dims)
    return [(q, None)]


def _materialise(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    source: str,
    grain: str,
    dims: tuple[str, ...],
    *,
    as_of: date,
    fresh: datetime | None,
    now: datetime,
) -> None:
    """The KPI's values at `grain` (overall and by `dims`) from model rows in `source`."""
    for q, dim in value_queries(kpi, source, grain, dims, as_of=as_of):
        insert_values(
            con, kpi, q.sql, q.params, as_of=as_of, fresh=fresh, now=now, grain=grain, dimension=dim
        )


def _rematerialise(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    source: str,
    diff: str,
    *,
    as_of: date,
    fresh: datetime | None,
    now: datetime,
) -> int:
    """Recompute the KPI's values of the periods the rows in `diff` fall in, from all the
    model rows of those periods; returns how many periods (of every grain)."""
    periods = 0
    for grain, dims in materialised_grains(kpi):
        count = incremental.affected_periods(con, kpi, grain, diff)
        if count:
            every = incremental.most_periods(con, kpi, grain)
            incremental.delete_periods(con, kpi, grain, every=every)
            rows = source if every else incremental.period_rows(con, kpi, grain, source)
            _materialise(con, kpi, rows, grain, dims, as_of=as_of, fresh=fresh, now=now)
        periods += count
    return periods


def refresh_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    catalog: Catalog | None = None,
    root: Any = None,
    changes: Changes | None = None,
    engine: Engine | None = None,
) -> RefreshReport:
    """Validate the catalog, record new versions, and refresh kpi.values for `as_of`.

    `changes` is what the run loaded (default: a full refresh). On a delta only
    the periods whose model rows changed are recomputed (`kpi.incremental`);
    a full refresh, a catalog change or another as-of date rebuilds every value.
    With an `engine` the models and values are computed there, always in full
    (`kpi.engine_refresh`), and written into `con` as here.
    """
    if engine is not None:
        from control_tower.kpi.engine_refresh import refresh_on_engine

        return refresh_on_engine(con, engine, as_of=as_of, catalog=catalog, root=root)
    t0 = time.perf_counter()
    report = RefreshReport()
    if catalog is None:
        catalog = load_catalog(root, history=read_history(con))
    changes = changes if changes is not None else Changes.full_refresh("requested")
    kpis = list(catalog.kpis.values())
    print_ = incremental.fingerprint(kpis, {k.name: materialised_grains(k) for k in kpis})
    stored = {incremental.state_table(model_key(k, m)) for k in kpis for m in _stored_models(k)}
    now = utc_now()
    tables = _ModelTables(con, as_of, report)
    con.execute("BEGIN TRANSACTION")
    try:
        report.versions_recorded = record_versions(con, kpis)
        reason = incremental.full_reason(
            con, changes, print_, as_of, report.versions_recorded, stored
        )
        report.mode = f"full refresh ({reason})" if reason else "by changed periods"
        report.forced = bool(reason) and not changes.full
        if reason:
            _full(con, kpis, tables, as_of=as_of, now=now)
        else:
            _by_periods(con, kpis, tables, changes, as_of=as_of, now=now)
        incremental.write_meta(con, print_, as_of, keep=stored)
        row = con.execute("SELECT count(*) FROM kpi.values").fetchone()
        report.rows = int(row[0]) if row else 0
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        tables.drop()
    report.seconds = time.perf_counter() - t0
    return report


def _full(
    con: duckdb.DuckDBPyConnection,
    kpis: list[Kpi],
    tables: _ModelTables,
    *,
    as_of: date,
    now: datetime,
) -> None:
    """Rebuild every value, and store every model's rows for the next delta."""
    report = tables.report
    con.execute("DELETE FROM kpi.values")
    saved: set[ModelKey] = set()
    for kpi in kpis:
        k0 = time.perf_counter()
        source = tables.table(kpi)
        for model in _stored_models(kpi):
            key = model_key(kpi, model)
            if key not in saved:
                table = tables.built[key]
                incremental.store_rows(con, model, table, incremental.state_table(key))
                saved.add(key)
        fresh = freshness(con, kpi.model.tables)
        for grain, dims in materialised_grains(kpi):
            _materialise(con, kpi, source, grain, dims, as_of=as_of, fresh=fresh, now=now)
        report.kpi_seconds[kpi.name] = time.perf_counter() - k0
        report.kpis += 1
        report.recomputed += 1


def _by_periods(
    con: duckdb.DuckDBPyConnection,
    kpis: list[Kpi],
    tables: _ModelTables,
    changes: Changes,
    *,
    as_of: date,
    now: datetime,
) -> None:
    """Recompute the periods whose model rows changed; bring every KPI's freshness up to date."""
    diffs: dict[ModelKey, tuple[str, int]] = {}  # per model: its diff table and its row count
    try:
        for kpi in kpis:
            k0 = time.perf_counter()
            _kpi_by_periods(con, kpi, tables, changes, diffs, as_of=as_of, now=now)
            tables.report.kpi_seconds[kpi.name] = time.perf_counter() - k0
            tables.report.kpis += 1
    finally:
        incremental.drop_temp(con, [diff for diff, _ in diffs.values()])


def _kpi_by_periods(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    tables: _ModelTables,
    changes: Changes,
    diffs: dict[ModelKey, tuple[str, int]],
    *,
    as_of: date,
    now: datetime,
) -> None:
    report = tables.report
    fresh = freshness(con, kpi.model.tables)
    # Values carry the freshness of their KPI's tables, moved by any batch (even one that
    # changed no model row): updated in place where it moved.
    con.execute(
        "UPDATE kpi.values SET freshness = $f WHERE kpi = $k AND freshness IS DISTINCT FROM $f",
        {"f": fresh, "k": kpi.name},
    )
    if not incremental.needs_rebuild(kpi.chain, changes):
        return
    for model in _stored_models(kpi):
        _update_rows(as_model_kpi(kpi, model), tables, changes, diffs)
    key = model_key(kpi, kpi.model)
    diff, changed = diffs[key]
    if changed:
        if incremental.keeps_rows(kpi.model):
            source = incremental.state_table(key)
        else:
            source = tables.table(kpi, tables.current(kpi, kpi.model))
        report.periods += _rematerialise(con, kpi, source, diff, as_of=as_of, fresh=fresh, now=now)
        report.recomputed += 1


def _stored_models(kpi: Kpi) -> list[Any]:
    """The models of the KPI's chain whose rows are stored: its own, and those refreshed by
    key (their rows feed the models built on them)."""
    return [m for m in kpi.chain if m is kpi.model or incremental.keeps_rows(m)]


def _update_rows(
    kpi: Kpi, tables: _ModelTables, changes: Changes, diffs: dict[ModelKey, tuple[str, int]]
) -> None:
    """Diff the stored rows of the KPI's model with its rows now (into a diff table in
    `diffs`) and bring them up to date: by the keys the run reached (`kpi.keyed`), or by
    rebuilding the model whole."""
    model, report, con, as_of = kpi.model, tables.report, tables.con, tables.as_of
    key = model_key(kpi, model)
    if key in diffs:
        return
    if not incremental.needs_rebuild(kpi.chain, changes):
        diffs[key] = ("", 0)  # the stored rows are current
        return
    d0 = time.perf_counter()
    diff, state = f"kpi_diff_{len(diffs)}", incremental.state_table(key)
    current = tables.current(kpi, model)
    reason = keyed.whole_reason(model, changes, set(current))
    if reason is None:
        deps = {d: diffs[model_key(kpi, m)][0] for m in kpi.chain if (d := m.name) in current}
        scope = keyed.set_scope(
            con, kpi, changes, state, {d: t for d, t in deps.items() if t}, as_of=as_of
        )
        if keyed.too_many(con, scope, state):
            reason = f"{scope} keys in scope"
        else:
            changed = keyed.diff_keys(con, kpi, current, state, diff, as_of=as_of)
            report.refreshed[model.name] = f"by {scope} keys"
        keyed.drop_scope(con)
    if reason is not None:
        source = tables.table(kpi, current)
        changed = incremental.diff_rows(con, model, source, state, diff)
        report.refreshed[model.name] = f"whole ({reason})"
    diffs[key] = (diff, changed)
    report.diff_seconds[model.name] = time.perf_counter() - d0
    report.changed_rows[model.name] = changed
