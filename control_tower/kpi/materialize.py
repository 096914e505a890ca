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

from control_tower.kpi.catalog import Catalog, Kpi, load_catalog
from control_tower.kpi.compiler import compile_grouping_sets, compile_kpi, model_query
from control_tower.kpi.governance import read_history, record_versions
from control_tower.settings import utc_now

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

    def summary(self) -> str:
        """One line for the run record."""
        new = f", {self.versions_recorded} new versions" if self.versions_recorded else ""
        return f"{self.rows} values of {self.kpis} KPIs in {self.seconds:.1f}s{new}"


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
    row = con.execute(
        "SELECT min(newest) FROM ("
        "  SELECT max(finished_at) AS newest FROM ops.batches"
        "  WHERE status = 'loaded' AND list_contains(?, table_name) GROUP BY table_name)",
        [landed],
    ).fetchone()
    return row[0] if row else None


class _ModelTables:
    """Each (model, parameter values) computed once into a temporary table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date, report: RefreshReport) -> None:
        self.con = con
        self.as_of = as_of
        self.report = report
        self.built: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}

    def table(self, kpi: Kpi) -> str:
        names: dict[str, str] = {}
        for model in kpi.chain:
            params = tuple(
                sorted(
                    (p, kpi.parameters[p].default) for p in model.parameters if p in kpi.parameters
                )
            )
            key = (model.name, params)
            if key not in self.built:
                name = f"kpi_model_{model.name}_{len(self.built)}"
                sql, bound = model_query(_as_model_kpi(kpi, model), as_of=self.as_of, tables=names)
                t0 = time.perf_counter()
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", bound)
                self.report.model_seconds[model.name] = time.perf_counter() - t0
                self.built[key] = name
            names[model.name] = self.built[key]
        return names[kpi.model.name]

    def drop(self) -> None:
        for name in self.built.values():
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _as_model_kpi(kpi: Kpi, model: Any) -> Kpi:
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


def _insert(
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


def refresh_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    catalog: Catalog | None = None,
    root: Any = None,
) -> RefreshReport:
    """Validate the catalog, record new versions, and rebuild kpi.values for `as_of`."""
    t0 = time.perf_counter()
    report = RefreshReport()
    if catalog is None:
        catalog = load_catalog(root, history=read_history(con))
    now = utc_now()
    tables = _ModelTables(con, as_of, report)
    con.execute("BEGIN TRANSACTION")
    try:
        report.versions_recorded = record_versions(con, catalog.kpis.values())
        con.execute("DELETE FROM kpi.values")
        for kpi in catalog.kpis.values():
            k0 = time.perf_counter()
            source = tables.table(kpi)
            fresh = freshness(con, kpi.model.tables)
            semi = any(m.non_additive_dimension for m in kpi.measures.values())
            for grain, dims in materialised_grains(kpi):
                if semi:
                    for dim in ("", *dims):
                        q = compile_kpi(
                            kpi, as_of=as_of, grain=grain, by=[dim] if dim else [], source=source
                        )
                        _insert(
                            con,
                            kpi,
                            q.sql,
                            q.params,
                            as_of=as_of,
                            fresh=fresh,
                            now=now,
                            grain=grain,
                            dimension=dim,
                        )
                else:
                    q = compile_grouping_sets(
                        kpi, as_of=as_of, source=source, grain=grain, dimensions=dims
                    )
                    _insert(
                        con, kpi, q.sql, q.params, as_of=as_of, fresh=fresh, now=now, grain=grain
                    )
            report.kpi_seconds[kpi.name] = time.perf_counter() - k0
            report.kpis += 1
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
