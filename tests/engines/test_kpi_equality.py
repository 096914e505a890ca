"""Every KPI of the shipped catalog computes the same on Spark as on DuckDB, from one lake.

The small demo is published into a lake; the whole catalog is materialised (day x overall
and each daily dimension, month x the monthly dimensions, as the refresh does) once with
DuckDB over the lake and once with Spark (local[2]) over the same lake, both written into a
copy of the warehouse by the same writer, then compared value by value: the keys exactly,
figures to 1e-9 relative. Medians and quantiles use the same interpolation on both engines
(linear between the two nearest ranks, exact values, no approximation); the interpolation's
arithmetic is rounded differently by the two engines (DuckDB's x86-64 build uses a fused
multiply-add, which no Spark SQL form reproduces), so their last bit may differ: they are
compared to 4 units in the last place. The DuckDB-over-the-lake values are also checked
against the warehouse's own refresh. The fast tests transpile every query the refresh
compiles (none is refused for the shipped catalog) and check that a construct without a
Spark form is refused naming its KPI and the construct.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from control_tower.engines.base import Engine
from control_tower.engines.duck import DuckDBEngine
from control_tower.engines.spark import SparkEngine
from control_tower.kpi.catalog import Catalog, load_catalog
from control_tower.kpi.engine_refresh import untranspilable
from control_tower.kpi.materialize import refresh_kpis
from control_tower.kpi.query import compute
from control_tower.settings import Settings
from tests.support.demo_data import DEMO_AS_OF
from tests.support.engines import warehouse_schema
from tests.support.lake import copy_warehouse

COLUMNS = (
    "kpi, version, as_of, grain, period, dimension, dimension_value, "
    "numerator, denominator, value, companions, status, freshness"
)
KEY = 7  # kpi .. dimension_value
RATIO_TOLERANCE = 1e-9
WAREHOUSE = warehouse_schema()  # the columns of a new warehouse's tables (the lake's)
QUANTILE_TOLERANCE = 4 * 2.0**-52  # 4 units in the last place of a double

Rows = dict[tuple[Any, ...], tuple[Any, ...]]


def _values(con: duckdb.DuckDBPyConnection) -> Rows:
    rows = con.execute(f"SELECT {COLUMNS} FROM kpi.values").fetchall()
    return {r[:KEY]: r[KEY:] for r in rows}


def _close(a: Any, b: Any, quantile: bool) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        tolerance = QUANTILE_TOLERANCE if quantile else RATIO_TOLERANCE
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-12)
    return a == b


def _differences(catalog: Catalog, expected: Rows, actual: Rows) -> list[str]:
    """What differs, one line each (first few per KPI)."""
    out: list[str] = []
    missing, extra = expected.keys() - actual.keys(), actual.keys() - expected.keys()
    out += [f"missing {k}" for k in sorted(missing, key=str)[:10]]
    out += [f"unexpected {k}" for k in sorted(extra, key=str)[:10]]
    for key in sorted(expected.keys() & actual.keys(), key=str):
        kpi = catalog.kpis[key[0]]
        (*figures, comps, status, fresh), (*figures2, comps2, status2, fresh2) = (
            expected[key],
            actual[key],
        )
        quantile = kpi.type == "quantile"
        same = all(_close(a, b, quantile) for a, b in zip(figures, figures2, strict=True))
        same = same and status == status2 and fresh == fresh2
        if comps is not None or comps2 is not None:
            c1, c2 = json.loads(comps or "null"), json.loads(comps2 or "null")
            same = same and c1.keys() == c2.keys()
            same = same and all(
                _close(c1[n], c2[n], kpi.companions[n].type == "quantile") for n in c1
            )
        if not same:
            out.append(f"{key}: {expected[key]} != {actual[key]}")
        if len(out) > 30:
            break
    return out


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(None)


@pytest.fixture(scope="module")
def warehouse(
    demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private copy of the demo's warehouse, the values of each engine are written into."""
    con = duckdb.connect(str(copy_warehouse(demo_settings, tmp_path_factory.mktemp("kpi-wh"))))
    yield con
    con.close()


@pytest.fixture(scope="module")
def warehouse_values(demo_settings: Settings) -> Rows:
    """kpi.values as the pipeline's own (DuckDB, warehouse) refresh wrote them."""
    con = duckdb.connect(str(demo_settings.warehouse_path), read_only=True)
    try:
        return _values(con)
    finally:
        con.close()


def _refreshed(warehouse: duckdb.DuckDBPyConnection, engine: Engine) -> Rows:
    report = refresh_kpis(warehouse, as_of=DEMO_AS_OF, engine=engine)
    assert report.summary().endswith(f"on {engine.name} (a full refresh)")
    return _values(warehouse)


@pytest.fixture(scope="module")
def duckdb_values(
    warehouse: duckdb.DuckDBPyConnection, lake_duckdb: duckdb.DuckDBPyConnection
) -> Rows:
    return _refreshed(warehouse, DuckDBEngine(lake_duckdb))


def test_duckdb_over_the_lake_equals_the_warehouse_refresh(
    catalog: Catalog, duckdb_values: Rows, warehouse_values: Rows
) -> None:
    assert {k[0] for k in duckdb_values} == set(catalog.kpis)
    assert _differences(catalog, warehouse_values, duckdb_values) == []


@pytest.mark.spark
def test_every_kpi_equal_on_spark(
    catalog: Catalog,
    duckdb_values: Rows,
    warehouse: duckdb.DuckDBPyConnection,
    spark_engine: SparkEngine,
) -> None:
    spark_values = _refreshed(warehouse, spark_engine)
    grains = {(k[0], k[3], k[5]) for k in spark_values}
    for kpi in catalog.kpis.values():  # every grain and dimension materialised has rows
        for dim in ("ALL", *(d for d in kpi.dimensions if (kpi.name, "day", d) not in grains)):
            assert (kpi.name, "day", dim) in grains or (kpi.name, "month", dim) in grains
    assert _differences(catalog, duckdb_values, spark_values) == []


# On-demand questions (compute(): the models inlined, pruned to what the question reads) for
# a few KPIs of different kinds, by day and by each allowed dimension.
ON_DEMAND = ("unit_fill_rate", "exception_aging", "inventory_value")


@pytest.mark.spark
@pytest.mark.parametrize("name", ON_DEMAND)
def test_compute_equal_on_spark(
    name: str,
    catalog: Catalog,
    warehouse: duckdb.DuckDBPyConnection,
    lake_duckdb: duckdb.DuckDBPyConnection,
    spark_engine: SparkEngine,
) -> None:
    kpi = catalog.kpis[name]
    duck = DuckDBEngine(lake_duckdb)
    for by in ([], *([d] for d in kpi.dimensions)):
        args: dict[str, Any] = {"as_of": DEMO_AS_OF, "grain": "day", "by": by}
        expected = compute(warehouse, kpi, engine=duck, **args)
        actual = compute(warehouse, kpi, engine=spark_engine, **args)
        assert expected["rows"], (name, by)
        keys = (*by, "period")

        def rows(result: dict[str, Any], keys: tuple[str, ...] = keys) -> Rows:
            return {
                tuple(r[k] for k in keys): tuple(v for k, v in r.items() if k not in keys)
                for r in result["rows"]
            }

        e, a = rows(expected), rows(actual)
        assert e.keys() == a.keys(), (name, by)
        quantile = kpi.type == "quantile"
        for key, figures in e.items():
            assert all(_close(x, y, quantile) for x, y in zip(figures, a[key], strict=True)), (
                name,
                by,
                key,
                figures,
                a[key],
            )


def test_every_refresh_query_transpiles(catalog: Catalog) -> None:
    assert untranspilable(list(catalog.kpis.values()), as_of=DEMO_AS_OF, schema=WAREHOUSE) == []


def test_a_construct_without_a_spark_form_is_refused_naming_the_kpi(catalog: Catalog) -> None:
    kpi = catalog.kpis["unit_fill_rate"]
    # DuckDB's bar() (a text bar chart) has no Spark equivalent.
    model = replace(kpi.model, sql=f"SELECT *, bar(1, 0, 10) AS chart FROM ({kpi.model.sql}) AS m")
    changed = replace(kpi, model=model, chain=(*kpi.chain[:-1], model))
    (error,) = untranspilable([changed], as_of=DEMO_AS_OF, schema=WAREHOUSE)
    assert error.what == f"KPI unit_fill_rate (model {model.name})"
    assert "bar()" in error.construct.lower()
    assert str(error).startswith("KPI unit_fill_rate")


def test_lake_dir_is_published(lake_dir: Path) -> None:
    assert (lake_dir / "CURRENT").is_file()
