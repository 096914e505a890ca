"""Reading the published small demo back: every table equal to the warehouse's, through the
manifest's exact files and through hive partition discovery (what other engines do)."""

from __future__ import annotations

import re

import duckdb
import pytest

from control_tower.contracts import TABLES
from control_tower.lake.layout import MASTER_TABLES, MONTH_COLUMNS
from control_tower.lake.read import current_manifest, register_duckdb
from tests.support.lake import Published

FILE_NAME = r"part-[0-9a-f]{16}\.parquet"


@pytest.fixture
def lake_con(published: Published) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the lake's views, and the warehouse attached as `w`."""
    con = duckdb.connect()
    register_duckdb(con, published.lake)
    con.execute(f"ATTACH '{published.warehouse}' AS w (READ_ONLY)")
    return con


def test_every_table_reads_back_as_the_warehouse_has_it(
    published: Published, lake_con: duckdb.DuckDBPyConnection
) -> None:
    manifest = current_manifest(published.lake)
    assert len(manifest.tables) == len(published.tables) > len(TABLES)
    for name, entry in manifest.tables.items():
        lake, wh = entry.source, f"w.{entry.source}"
        extra = lake_con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {lake} EXCEPT ALL SELECT * FROM {wh})"
        ).fetchone()
        missing = lake_con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {wh} EXCEPT ALL SELECT * FROM {lake})"
        ).fetchone()
        count = lake_con.execute(f"SELECT count(*) FROM {wh}").fetchone()
        assert (extra, missing) == ((0,), (0,)), name
        assert (entry.rows,) == count, name


def test_views_have_the_manifests_columns_and_types_only(
    published: Published, lake_con: duckdb.DuckDBPyConnection
) -> None:
    manifest = current_manifest(published.lake)
    for entry in manifest.tables.values():
        described = lake_con.execute(f"DESCRIBE {entry.source}").fetchall()
        wh = lake_con.execute(f"DESCRIBE w.{entry.source}").fetchall()
        assert [(r[0], r[1]) for r in described] == [(c.name, c.type) for c in entry.columns]
        assert [(r[0], r[1]) for r in described] == [(r[0], r[1]) for r in wh]


def test_fact_tables_are_in_entity_and_month_folders_and_masters_are_not(
    published: Published,
) -> None:
    manifest = current_manifest(published.lake)
    orders = manifest.table("sales_order_lines")
    assert orders.partition_by == ("entity", "month")
    assert len(orders.files) > 1
    for f in orders.files:
        assert re.fullmatch(
            rf"tables/sales_order_lines/entity=[^/]+/month=(\d{{4}}-\d{{2}}|__none__)/{FILE_NAME}",
            f.path,
        ), f.path
        assert f.path.startswith(f"tables/sales_order_lines/entity={f.partition['entity']}/")
    assert manifest.table("purchase_order_lines").partition_by == ("month",)
    for name in MASTER_TABLES:
        (item,) = manifest.table(name).files
        assert re.fullmatch(rf"tables/{name}/{FILE_NAME}", item.path)
    fx = manifest.table("money.fx_daily")
    assert (fx.kind, fx.partition_by) == ("derived", ())
    assert re.fullmatch(rf"tables/money\.fx_daily/{FILE_NAME}", fx.files[0].path)
    assert set(MONTH_COLUMNS) | MASTER_TABLES == set(TABLES)


def test_the_files_hold_the_data_columns_not_the_partition_keys(published: Published) -> None:
    manifest = current_manifest(published.lake)
    files = manifest.files("sales_order_lines")
    names = duckdb.sql(
        f"SELECT name FROM parquet_schema('{files[0]}') WHERE name <> 'duckdb_schema'"
    ).fetchall()
    assert [n for (n,) in names] == [c.name for c in manifest.table("sales_order_lines").columns]


def test_hive_partition_discovery_on_a_table_folder_reads_the_same_rows(
    published: Published,
) -> None:
    folder = published.lake / "tables" / "sales_order_lines"
    con = duckdb.connect()
    con.execute(f"ATTACH '{published.warehouse}' AS w (READ_ONLY)")
    rows = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE entity <> entity_id), "
        f"count(*) FILTER (WHERE month <> strftime(order_ts_local_date, '%Y-%m')) "
        f"FROM read_parquet('{folder}/*/*/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert rows == (con.execute("SELECT count(*) FROM w.sales_order_lines").fetchone()[0], 0, 0)


def test_the_derived_inputs_are_the_tables_the_governed_sql_reads(published: Published) -> None:
    derived = {t.name for t in published.tables if t.kind == "derived"}
    assert {"money.fx_daily", "exc.queue_items", "risk.stockout_scores", "ops.batches"} <= derived
    assert not {n for n in derived if n.split(".")[0] in ("main", "temp", "kpi")}
    assert not {n for n in derived if "exc_scope" in n or "touched" in n}
    landed = [t.name for t in published.tables if t.kind == "landed"]
    assert landed == list(TABLES)
