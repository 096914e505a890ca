"""Serving snapshots: publish, pointer, reader switch-over and pruning."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from control_tower.storage.publish import publish_snapshot
from control_tower.storage.serving import (
    NoSnapshotError,
    ServingStore,
    current_snapshot,
)


def _warehouse(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS v", [value])
    con.execute("CHECKPOINT")
    con.close()


def test_reader_before_first_publish_gets_a_clear_error(tmp_path: Path) -> None:
    store = ServingStore(tmp_path / "serving")
    with pytest.raises(NoSnapshotError, match="control-tower ingest"), store.cursor():
        pass


def test_each_publish_is_a_new_file_and_the_pointer_names_it(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    _warehouse(wh, 1)
    first = publish_snapshot(wh, serving)
    _warehouse(wh, 2)
    second = publish_snapshot(wh, serving)
    assert first.name == "snapshot-00000001.duckdb"
    assert second.name == "snapshot-00000002.duckdb"
    assert current_snapshot(serving) == second


def test_open_cursor_keeps_its_snapshot_while_new_cursors_see_the_new_one(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    _warehouse(wh, 1)
    publish_snapshot(wh, serving)
    store = ServingStore(serving)
    with store.cursor() as old:
        assert old.execute("SELECT v FROM t").fetchone() == (1,)
        _warehouse(wh, 2)
        publish_snapshot(wh, serving)
        with store.cursor() as new:
            assert new.execute("SELECT v FROM t").fetchone() == (2,)
        # The retired connection stays usable until its last cursor is returned.
        assert old.execute("SELECT v FROM t").fetchone() == (1,)
    store.close()


def test_old_snapshots_are_pruned_to_the_configured_count(tmp_path: Path) -> None:
    wh, serving = tmp_path / "w.duckdb", tmp_path / "serving"
    for i in range(5):
        _warehouse(wh, i)
        publish_snapshot(wh, serving, keep=2)
    # Pruning spares files younger than a minute (a reader may be opening them);
    # age them and publish once more.
    for path in serving.glob("snapshot-*.duckdb"):
        os.utime(path, (0, 0))
    _warehouse(wh, 9)
    latest = publish_snapshot(wh, serving, keep=2)
    names = sorted(p.name for p in serving.glob("snapshot-*.duckdb"))
    assert names == ["snapshot-00000005.duckdb", latest.name]
