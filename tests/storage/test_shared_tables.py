"""Publishing shares unchanged landed tables between snapshots instead of copying the warehouse:
a landed table is written to a table file only when it changed, derived tables are written into
each snapshot, readers see every table, and files no kept snapshot names are pruned."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from control_tower.storage.publish import publish
from control_tower.storage.serving import (
    TABLES_DIR,
    ServingStore,
    current_snapshot,
    open_snapshot,
)


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    return con


def _land(con: duckdb.DuckDBPyConnection, table: str, batch: int, values: list[int]) -> None:
    """What landing does: rows stamped with the batch that wrote them."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (k INTEGER PRIMARY KEY, v INTEGER, _batch_id BIGINT)"
    )
    for k in values:
        con.execute(
            f"INSERT INTO {table} VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v, "
            "_batch_id = excluded._batch_id",
            [k, k * batch, batch],
        )


def _files(serving: Path) -> set[str]:
    return {p.name for p in (serving / TABLES_DIR).glob("*.duckdb")}


def _read(serving: Path, sql: str) -> list[tuple]:
    store = ServingStore(serving)
    try:
        with store.cursor() as cur:
            return cur.execute(sql).fetchall()
    finally:
        store.close()


def test_only_changed_landed_tables_get_a_new_file_and_readers_see_all(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    con = _warehouse(wh)
    _land(con, "orders", 1, [1, 2, 3])
    _land(con, "stock", 2, [10, 20])
    con.execute("CREATE TABLE kpi.values AS SELECT 0.5::DOUBLE AS value")
    con.close()
    first = publish(wh, serving)
    assert (first.bases, first.shared, first.derived) == (2, 0, 1)
    # The first publish has nothing to share from: one copy of the warehouse is every base.
    assert _files(serving) == {"warehouse-00000001.duckdb"}

    con = _warehouse(wh)
    _land(con, "orders", 3, [2, 4])  # one update, one new row
    con.execute("UPDATE kpi.values SET value = 0.75")
    con.close()
    second = publish(wh, serving)
    assert (second.bases, second.shared, second.derived) == (1, 1, 1)
    assert _files(serving) == {"warehouse-00000001.duckdb", "main.orders-00000002.duckdb"}
    assert current_snapshot(serving) == second.snapshot
    assert _read(serving, "SELECT k, v FROM orders ORDER BY k") == [(1, 1), (2, 6), (3, 3), (4, 12)]
    assert _read(serving, "SELECT sum(v) FROM stock") == [(60,)]
    assert _read(serving, "SELECT value FROM kpi.values") == [(0.75,)]
    # The snapshot file holds the derived tables only, not the landed rows.
    assert (
        second.snapshot.stat().st_size
        < sum(p.stat().st_size for p in (serving / TABLES_DIR).glob("*.duckdb")) + 2_000_000
    )


def test_a_changed_table_shape_is_written_again(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    con = _warehouse(wh)
    _land(con, "orders", 1, [1, 2])
    con.close()
    publish(wh, serving)
    con = _warehouse(wh)
    con.execute("ALTER TABLE orders ADD COLUMN note VARCHAR")
    con.close()
    assert publish(wh, serving).bases == 1
    assert _read(serving, "SELECT count(note) FROM orders") == [(0,)]


def test_a_snapshot_stays_readable_while_newer_ones_replace_its_table(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    con = _warehouse(wh)
    _land(con, "orders", 1, [1])
    con.close()
    publish(wh, serving)
    store = ServingStore(serving)
    with store.cursor() as old:
        for batch in (2, 3, 4):
            con = _warehouse(wh)
            _land(con, "orders", batch, [1])
            con.close()
            publish(wh, serving, keep=2)
        with store.cursor() as new:
            assert new.execute("SELECT v FROM orders").fetchall() == [(4,)]
        assert old.execute("SELECT v FROM orders").fetchall() == [(1,)]
    store.close()


def test_table_files_no_kept_snapshot_names_are_pruned(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    for batch in range(1, 5):
        con = _warehouse(wh)
        _land(con, "orders", batch, [1])
        if batch == 1:
            _land(con, "stock", batch, [7])
        con.close()
        publish(wh, serving, keep=2)
    for path in [*serving.glob("snapshot-*.duckdb"), *(serving / TABLES_DIR).glob("*")]:
        os.utime(path, (0, 0))
    (serving / TABLES_DIR / ".main.orders-00000009.duckdb.tmp").write_bytes(b"killed")
    con = _warehouse(wh)
    _land(con, "orders", 5, [1])
    con.close()
    latest = publish(wh, serving, keep=2)
    assert sorted(p.name for p in serving.glob("snapshot-*.duckdb")) == [
        "snapshot-00000004.duckdb",
        latest.snapshot.name,
    ]
    # The unchanged stock table still reads the first copy; old order files go.
    assert _files(serving) == {
        "warehouse-00000001.duckdb",
        "main.orders-00000004.duckdb",
        "main.orders-00000005.duckdb",
    }
    assert not list((serving / TABLES_DIR).glob(".*.tmp"))


def test_a_whole_copy_snapshot_of_an_earlier_release_is_read_and_replaced(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    serving.mkdir()
    old = serving / "snapshot-00000001.duckdb"
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE orders AS SELECT 1 AS k, 5 AS v, 1 AS _batch_id")
    con.close()
    (serving / "CURRENT").write_text(old.name)
    with open_snapshot(old) as cur:
        assert cur.execute("SELECT v FROM orders").fetchall() == [(5,)]
    wh = tmp_path / "w.duckdb"
    con = _warehouse(wh)
    _land(con, "orders", 2, [1])
    con.close()
    report = publish(wh, serving)
    assert (report.bases, report.shared) == (1, 0)
    assert _read(serving, "SELECT v FROM orders") == [(2,)]


def _land_lines(con: duckdb.DuckDBPyConnection, batch: int, lines: list[int]) -> None:
    """Order lines keyed like the contract's (order_id, line_no), as landing writes them."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS sales_order_lines (order_id VARCHAR, line_no INTEGER, "
        "qty INTEGER, _batch_id BIGINT, PRIMARY KEY (order_id, line_no))"
    )
    con.executemany(
        "INSERT INTO sales_order_lines VALUES (?, 1, ?, ?) ON CONFLICT DO UPDATE SET "
        "qty = excluded.qty, _batch_id = excluded._batch_id",
        [[f"SO{n}", n * batch, batch] for n in lines],
    )


def _lines(serving: Path) -> list[tuple]:
    return _read(serving, "SELECT order_id, qty FROM sales_order_lines ORDER BY order_id")


def _expected(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        sql = "SELECT order_id, qty FROM sales_order_lines ORDER BY order_id"
        return con.execute(sql).fetchall()


def test_a_small_change_of_a_keyed_table_is_served_as_a_delta_on_its_base(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    with duckdb.connect(str(wh)) as con:
        _land_lines(con, 1, list(range(100)))
    assert publish(wh, serving).bases == 1
    with duckdb.connect(str(wh)) as con:
        _land_lines(con, 2, [5, 7, 100])  # two updates and a new line: 3% of the rows
    second = publish(wh, serving)
    assert (second.deltas, second.bases) == (1, 0)
    assert _files(serving) == {
        "warehouse-00000001.duckdb",
        "main.sales_order_lines-00000002.delta.duckdb",
    }
    assert _lines(serving) == _expected(wh)
    with duckdb.connect(str(wh)) as con:
        _land_lines(con, 3, [7, 8])  # the delta holds every row since the base
    assert publish(wh, serving).deltas == 1
    assert _lines(serving) == _expected(wh)
    assert ("SO7", 21) in _lines(serving)
    assert ("SO5", 10) in _lines(serving)


def test_a_large_change_or_lost_rows_give_the_table_a_new_base(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    with duckdb.connect(str(wh)) as con:
        _land_lines(con, 1, list(range(100)))
    publish(wh, serving)
    with duckdb.connect(str(wh)) as con:
        _land_lines(con, 2, list(range(20)))  # 20% of the rows: folded into a new base
    assert publish(wh, serving).bases == 1
    assert _lines(serving) == _expected(wh)
    with duckdb.connect(str(wh)) as con:
        con.execute("DELETE FROM sales_order_lines WHERE order_id = 'SO50'")
        _land_lines(con, 3, [1])
    assert publish(wh, serving).bases == 1  # a delta cannot say a row is gone
    assert _lines(serving) == _expected(wh)
    assert len(_lines(serving)) == 99


def test_two_readers_of_one_snapshot_in_one_process(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    con = _warehouse(wh)
    _land(con, "orders", 1, [1, 2])
    con.close()
    snapshot = publish(wh, serving).snapshot
    with open_snapshot(snapshot) as first, open_snapshot(snapshot) as second:
        assert first.execute("SELECT count(*) FROM orders").fetchall() == [(2,)]
        assert second.execute("SELECT count(*) FROM orders").fetchall() == [(2,)]


def test_the_first_publish_refuses_a_warehouse_with_an_unflushed_log(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    con = _warehouse(wh)
    _land(con, "orders", 1, [1])
    con.close()
    wh.with_name(wh.name + ".wal").write_bytes(b"pending")
    with pytest.raises(RuntimeError, match="checkpoint"):
        publish(wh, serving)
    assert current_snapshot(serving) is None
