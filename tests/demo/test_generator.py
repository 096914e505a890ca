"""The demo generator: determinism, report, file layout and the contract's columns."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from control_tower.contracts import TABLES
from control_tower.demo import SCALES, GenerateReport, Scale, generate


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path, tiny: Scale, as_of: dt.date) -> None:
    generate(tmp_path / "a", seed=11, scale=tiny, as_of=as_of)
    generate(tmp_path / "b", seed=11, scale=tiny, as_of=as_of)
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_different_seed_differs(tmp_path: Path, tiny: Scale, as_of: dt.date) -> None:
    generate(tmp_path / "a", seed=11, scale=tiny, as_of=as_of)
    generate(tmp_path / "b", seed=12, scale=tiny, as_of=as_of)
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert a["erp/items.csv"] != b["erp/items.csv"]
    assert a["erp/sales_order_lines_2026-03.csv"] != b["erp/sales_order_lines_2026-03.csv"]


def test_regenerating_replaces_files_and_leaves_no_staging(
    tmp_path: Path, tiny: Scale, as_of: dt.date
) -> None:
    first = generate(tmp_path, seed=3, scale=tiny, as_of=as_of)
    second = generate(tmp_path, seed=3, scale=tiny, as_of=as_of)
    assert [(p, n) for p, n in first.files] == [(p, n) for p, n in second.files]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp", "tms", "wms"]


def test_report(small: GenerateReport, small_root: Path, as_of: dt.date) -> None:
    assert small.seed == 7
    assert small.scale == "small"
    assert small.as_of == as_of
    assert small.elapsed_seconds > 0
    assert 25_000 <= small.order_lines <= 40_000
    names = {p.name for p, _ in small.files}
    assert {"items.csv", "customers.csv", "locations.csv", "close_tasks.csv"} <= names
    assert "sales_order_lines_updates_2026-03-15.csv" in names
    assert {"sales_order_lines_2025-11.csv", "sales_order_lines_2026-03.csv"} <= names
    for path, rows in small.files:
        assert path.parent.parent == small_root
        assert path.parent.name == TABLES[_table_of(path)].system
        assert rows > 0
    first_versions = sum(n for p, n in small.files if p.name.startswith("sales_order_lines_2"))
    assert first_versions == small.order_lines


def test_scales_are_described() -> None:
    assert set(SCALES) == {"small", "medium", "large"}
    assert SCALES["small"].days == 120
    assert SCALES["medium"].order_lines == 1_000_000
    assert SCALES["large"].days == 730
    assert SCALES["large"].order_lines == 10_000_000


def _table_of(path: Path) -> str:
    stem = path.name.split(".")[0]
    return max((t for t in TABLES if stem == t or stem.startswith(f"{t}_")), key=len)


def _columns(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8") as f:
            return f.readline().rstrip("\n").split(",")
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    with path.open(encoding="utf-8") as f:
        return list(json.loads(f.readline()))


def test_every_file_has_exactly_the_contract_columns(small: GenerateReport) -> None:
    formats = {"inventory_snapshots": ".parquet", "tracking_events": ".jsonl"}
    for path, _ in small.files:
        table = TABLES[_table_of(path)]
        assert path.suffix == formats.get(table.name, ".csv"), path
        cols = _columns(path)
        expected = [c for c in table.column_names if c in cols]
        assert cols == expected, path
        assert set(table.required_columns) <= set(cols), path
        if table.name == "sales_order_lines":
            assert "first_promised_date" not in cols
        else:
            assert cols == list(table.column_names), path


def test_csv_is_plain_utf8_with_lf(small: GenerateReport) -> None:
    for path, _ in small.files:
        if path.suffix == ".csv":
            data = path.read_bytes()
            assert not data.startswith(b"\xef\xbb\xbf")
            assert b"\r" not in data
            data.decode("utf-8")


@pytest.mark.parametrize("table", ["inventory_snapshots"])
def test_parquet_types(small: GenerateReport, table: str) -> None:
    path = next(p for p, _ in small.files if _table_of(p) == table)
    schema = pq.read_schema(path)
    assert str(schema.field("snapshot_date").type) == "date32[day]"
    assert str(schema.field("item_id").type) == "string"
    assert str(schema.field("on_hand_qty").type) == "int64"
