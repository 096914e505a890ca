"""Publishing the lake: only changed partitions written, atomically, the last three versions kept."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from control_tower.lake.layout import MANIFESTS_DIR, LakeError
from control_tower.lake.publish import LakeReport, publish_lake
from control_tower.lake.read import current_manifest, current_version, register_duckdb
from control_tower.storage.changes import Changes
from tests.support.demo_data import DEMO_AS_OF


def _publish(con: duckdb.DuckDBPyConnection, lake: Path, **kw: object) -> LakeReport:
    return publish_lake(con, lake, as_of=DEMO_AS_OF, **kw)  # type: ignore[arg-type]


def _parquet_files(lake: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (lake / "tables").rglob("*.parquet")}


def _land_change(con: duckdb.DuckDBPyConnection, table: str = "sales_order_lines") -> int:
    """Change one row of `table` the way landing does (a new batch id); the batch id."""
    batch = con.execute(f"SELECT max(_batch_id) + 1 FROM {table}").fetchone()[0]
    con.execute(
        f"UPDATE {table} SET _batch_id = ? WHERE rowid = (SELECT min(rowid) FROM {table})",
        [batch],
    )
    return int(batch)


def test_a_publish_without_change_writes_nothing_and_keeps_the_version(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    first = _publish(writable, lake)
    assert first.new_version
    assert first.files_written == first.files > 0
    before = _parquet_files(lake)
    again = _publish(writable, lake)
    assert (again.new_version, again.files_written, again.version) == (False, 0, first.version)
    assert _parquet_files(lake) == before
    assert current_version(lake) == first.version
    assert "lake unchanged" in again.summary()


def test_a_changed_row_rewrites_only_its_partition_and_the_rest_stays_unread(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    _publish(writable, lake)
    old = current_manifest(lake)
    batch = _land_change(writable)
    report = _publish(writable, lake, changes=Changes.of_batches([("sales_order_lines", batch)]))
    new = current_manifest(lake)
    assert report.new_version
    assert new.version != old.version
    assert report.tables_rewritten == ["sales_order_lines"]
    assert report.files_written == 1
    assert "items" in report.tables_unread
    assert "sales_order_lines" not in report.tables_unread
    before = {f.path for f in old.table("sales_order_lines").files}
    (entry,) = [f for f in new.table("sales_order_lines").files if f.path not in before]
    entity, month = writable.execute(
        "SELECT entity_id, strftime(order_ts_local_date, '%Y-%m') FROM sales_order_lines "
        "WHERE _batch_id = ?",
        [batch],
    ).fetchone()
    assert dict(entry.partition) == {"entity": entity, "month": month}
    for name, table in new.tables.items():
        if name != "sales_order_lines" and table.kind == "landed":
            assert table.files == old.table(name).files, name


def test_a_full_refresh_finds_an_unchanged_landed_table_by_its_batches(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    _publish(writable, lake)
    batch = _land_change(writable, "receipts")
    report = _publish(writable, lake, changes=Changes.full_refresh("new day"))
    assert report.tables_rewritten == ["receipts"]
    assert report.files_written == 1
    assert report.tables_unread == []
    assert current_manifest(lake).table("receipts").change_marks["batch_max"] == batch


def test_a_crash_before_the_manifest_leaves_the_current_version_readable(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    first = _publish(writable, lake)
    _land_change(writable)
    real = os.replace

    def crash_on_manifest(src: object, dst: object) -> None:
        if str(dst).endswith(".json"):
            raise OSError("disk full")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="disk full"):
        _publish(writable, lake)
    monkeypatch.setattr(os, "replace", real)
    assert current_version(lake) == first.version
    assert sorted(p.name for p in (lake / MANIFESTS_DIR).iterdir()) == [f"{first.version}.json"]
    reader = duckdb.connect()
    manifest = register_duckdb(reader, lake)
    assert all(p.exists() for t in manifest.tables for p in manifest.files(t))
    rows = reader.execute("SELECT count(*) FROM main.sales_order_lines").fetchone()
    assert rows == (manifest.table("sales_order_lines").rows,)
    after = _publish(writable, lake)  # the next publish completes the version
    assert after.new_version
    assert after.files_written == 0


def test_the_files_of_the_last_three_versions_are_kept_and_older_ones_deleted(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    manifests = []
    for _ in range(5):
        report = _publish(writable, lake)
        assert report.new_version
        manifests.append(current_manifest(lake))
        _land_change(writable)
    kept = {m.version for m in manifests[-3:]}
    assert {p.stem for p in (lake / MANIFESTS_DIR).glob("*.json")} == kept
    referenced = {lake / f.path for m in manifests[-3:] for t in m.tables.values() for f in t.files}
    assert set(_parquet_files(lake)) == referenced
    gone = {lake / f.path for t in manifests[0].tables.values() for f in t.files} - referenced
    assert gone
    assert not any(p.exists() for p in gone)
    assert report.retention.manifests == 1
    assert report.retention.files >= 1


def test_an_empty_fact_table_is_one_zero_row_file_with_its_columns(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    writable.execute("DELETE FROM stock_transfers")
    _publish(writable, lake)
    manifest = current_manifest(lake)
    entry = manifest.table("stock_transfers")
    (only,) = entry.files
    assert (entry.rows, only.rows) == (0, 0)
    assert dict(only.partition) == {"month": "__none__"}
    reader = duckdb.connect()
    register_duckdb(reader, lake, manifest)
    assert reader.execute("SELECT count(*) FROM stock_transfers").fetchone() == (0,)
    columns = [r[0] for r in reader.execute("DESCRIBE stock_transfers").fetchall()]
    assert columns == [c.name for c in entry.columns]


def test_a_deleted_file_of_the_current_version_is_written_again(
    writable: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    _publish(writable, lake)
    (lost,) = current_manifest(lake).files("items")
    lost.unlink()
    with pytest.raises(LakeError, match=f"table items: file {lost} is missing"):
        register_duckdb(duckdb.connect(), lake)
    report = _publish(writable, lake, changes=Changes.of_batches([]))
    assert lost.is_file()
    assert report.files_written == 1
    assert report.tables_rewritten == ["items"]
