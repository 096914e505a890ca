"""Model pruning: a KPI query inlines only the parts of its model it reads, and gets the same rows.

The equivalence check runs every KPI, by each of its dimensions, pruned and
whole, on a small generated demo data set landed through the real pipeline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from control_tower.demo import Scale, generate
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.compiler import compile_kpi, model_query
from control_tower.settings import load_settings
from pipelines.run import run_pipeline

CATALOG = load_catalog()
AS_OF = dt.date(2026, 3, 15)
SMALL = Scale("pruning", days=35, items=120, customers=90, suppliers=15, order_lines=4_000)


def _sql(name: str, **kw: Any) -> str:
    return compile_kpi(CATALOG.kpi(name), as_of=AS_OF, **kw).sql.lower()


def test_line_fill_rate_reads_only_lines_and_shipments() -> None:
    sql = _sql("line_fill_rate", grain="day", by=["location_id"])
    assert "-- models inlined: order_lines, pruned" in sql
    for table in ("returns", "freight_shipments", "items", "customers"):
        assert f"from {table}" not in sql, table
        assert f"join {table}" not in sql, table
    assert "from sales_order_lines" in sql
    assert "from shipments" in sql


def test_a_dimension_keeps_the_join_that_provides_it() -> None:
    sql = _sql("line_fill_rate", by=["abc_class"])
    assert "left join items" in sql
    assert "join customers" not in sql
    sql = _sql("line_fill_rate", where={"priority_tier": "1"})
    assert "left join customers" in sql
    assert "join items" not in sql


def test_companions_are_compiled_only_when_asked() -> None:
    kpi = CATALOG.kpi("dock_to_stock_hours")
    lean = compile_kpi(kpi, as_of=AS_OF, grain="day", by=["location_id"], companions=False)
    assert lean.columns == ("location_id", "period", "value")
    assert "join" not in lean.sql.lower()  # receipts alone: no location, item or PO line
    full = compile_kpi(kpi, as_of=AS_OF, grain="day", by=["location_id"])
    assert full.columns[-2:] == ("p90_hours", "waiting_over_48h")
    assert "left join locations" in full.sql.lower()  # the 48-hour wait uses its time zone


def test_parameters_only_bound_when_the_pruned_query_uses_them() -> None:
    q = compile_kpi(CATALOG.kpi("inventory_unit_accuracy"), as_of=AS_OF, by=["location_id"])
    assert set(q.params) == {"as_of"}  # the ABC tolerances fed is_accurate only
    q = compile_kpi(CATALOG.kpi("inventory_record_accuracy"), as_of=AS_OF, by=["location_id"])
    assert set(q.params) == {"as_of", "tolerance_a", "tolerance_b", "tolerance_c"}


def test_a_model_the_pruner_cannot_resolve_is_inlined_whole() -> None:
    # exc.queue_items is outside the contract schema; close_periods uses a correlated
    # table function: both stay whole rather than risk a wrong pruning.
    assert "-- models inlined: open_exceptions, whole" in _sql("exception_aging")
    assert "-- models inlined: close_periods, whole" in _sql("days_to_close")


def test_the_same_shape_compiles_once_and_binds_new_values() -> None:
    kpi = CATALOG.kpi("line_fill_rate")
    a = compile_kpi(kpi, as_of=AS_OF, where={"channel": "EDI"})
    b = compile_kpi(kpi, as_of=dt.date(2026, 3, 1), where={"channel": ["web"]})
    assert a.sql is b.sql
    assert b.params == {"as_of": dt.date(2026, 3, 1), "filter_channel_0": "web"}
    c = compile_kpi(kpi, as_of=AS_OF, where={"channel": ["EDI", "web"]})
    assert c.sql != a.sql
    assert c.params["filter_channel_1"] == "web"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("pruning")
    generate(root / "extracts", seed=5, scale=SMALL, as_of=AS_OF)
    settings = load_settings(root / "home").with_home(root / "home")
    settings.ensure_dirs()
    run_pipeline(settings, trigger="cli", inbox=root / "extracts", keep=True)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def _rows(con: duckdb.DuckDBPyConnection, name: str, prune: bool, **kw: Any) -> list[tuple]:
    q = compile_kpi(CATALOG.kpi(name), as_of=AS_OF, prune=prune, **kw)
    return con.execute(q.sql, q.params).fetchall()


@pytest.mark.parametrize("name", sorted(CATALOG.kpis))
def test_pruned_and_whole_models_give_the_same_rows(
    con: duckdb.DuckDBPyConnection, name: str
) -> None:
    kpi = CATALOG.kpi(name)
    asks: list[dict[str, Any]] = [{}, {"grain": "week"}]
    asks += [{"grain": "day", "by": [dim]} for dim in kpi.dimensions]
    first = kpi.dimensions[0]
    values = [r[0] for r in _rows(con, name, False, by=[first])][:2]
    asks += [{"by": [first], "where": {first: [str(v) for v in values] or ["none"]}}]
    seen = 0
    for ask in asks:
        whole = _rows(con, name, False, **ask)
        pruned = _rows(con, name, True, **ask)
        assert len(pruned) == len(whole), (name, ask)
        for w, p in zip(whole, pruned, strict=True):
            assert all(_same(x, y) for x, y in zip(w, p, strict=True)), (name, ask, w, p)
        seen += len(whole)
    assert seen or name == "exception_aging", f"{name}: no rows to compare on the demo data"


def test_the_demo_data_exercises_the_order_line_rules(con: duckdb.DuckDBPyConnection) -> None:
    # The equivalence above is only as good as the data: shipments, deliveries and returns exist.
    for table in ("shipments", "freight_shipments", "returns", "receipts", "cycle_counts"):
        (count,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
        assert count > 0, table


def test_a_pruned_query_matches_the_refresh_path(con: duckdb.DuckDBPyConnection) -> None:
    # The refresh reads a pre-built model table (never pruned): the same figures.
    kpi = CATALOG.kpi("order_promise_accuracy")
    pruned = _rows(con, kpi.name, True, grain="day", by=["location_id"])
    sql, params = model_query(kpi, as_of=AS_OF)
    con.execute(f"CREATE OR REPLACE TEMP TABLE built AS {sql}", params)
    q = compile_kpi(kpi, as_of=AS_OF, grain="day", by=["location_id"], source="temp.built")
    assert con.execute(q.sql, q.params).fetchall() == pruned
