"""The lake layout's rules: the partitioning of every landed table, and the manifest's checks
(a manifest of another layout version, a broken or missing one, is a clear error)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from control_tower.contracts import TABLES
from control_tower.lake.layout import (
    LAYOUT_VERSION,
    MASTER_TABLES,
    ColumnSpec,
    FileEntry,
    LakeError,
    Manifest,
    TableEntry,
    partition_dir,
    partition_spec,
)
from control_tower.lake.read import current_manifest


def _manifest(version: str = "v000001") -> Manifest:
    entry = TableEntry(
        name="items",
        kind="landed",
        source="main.items",
        partition_by=(),
        columns=(ColumnSpec("item_id", "VARCHAR"),),
        rows=2,
        files=(FileEntry("tables/items/part-0123456789abcdef.parquet", {}, 2, "0123456789abcdef"),),
    )
    return Manifest(version, "2026-03-18T06:00:00Z", "2026-03-18", {"items": entry})


def _lake(tmp_path: Path, text: str, version: str = "v000001") -> Path:
    (tmp_path / "_manifests").mkdir()
    (tmp_path / "_manifests" / f"{version}.json").write_text(text)
    (tmp_path / "CURRENT").write_text(version + "\n")
    return tmp_path


def test_every_landed_table_has_its_partitioning_decided() -> None:
    for name in TABLES:
        spec = partition_spec(name)
        if name in MASTER_TABLES:
            assert spec.keys == (), name
        else:
            assert spec.keys[-1] == "month", name
    assert partition_spec("sales_order_lines").keys == ("entity", "month")
    assert partition_spec("purchase_order_lines").keys == ("month",)
    with pytest.raises(LakeError, match="not a landed contract table"):
        partition_spec("fx_daily")


def test_partition_values_are_escaped_into_one_folder_each() -> None:
    assert partition_dir({"entity": "US01", "month": "2026-05"}) == "entity=US01/month=2026-05"
    assert partition_dir({"entity": "../x y"}) == "entity=..%2Fx%20y"


def test_a_manifest_round_trips_through_its_json(tmp_path: Path) -> None:
    lake = _lake(tmp_path, _manifest().to_json())
    read = current_manifest(lake)
    assert read.tables == _manifest().tables
    assert read.files("items") == [lake / "tables/items/part-0123456789abcdef.parquet"]
    with pytest.raises(LakeError, match="has no table 'orders'"):
        read.files("orders")


def test_a_manifest_of_another_layout_version_is_refused_naming_it(tmp_path: Path) -> None:
    data = json.loads(_manifest().to_json())
    data["layout_version"] = LAYOUT_VERSION + 1
    lake = _lake(tmp_path, json.dumps(data))
    with pytest.raises(
        LakeError, match=r"v000001\.json has layout_version 2.*reads layout version 1"
    ):
        current_manifest(lake)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("tables"), "tables: must be a JSON object"),
        (lambda d: d["tables"]["items"].update(kind="view"), "kind 'view' is not one of"),
        (lambda d: d["tables"]["items"].update(rows=3), "rows 3 is not the sum"),
        (lambda d: d["tables"]["items"].update(files=[]), "files must be a non-empty list"),
        (
            lambda d: d["tables"]["items"]["files"][0].update(path="tables/items/../../x.parquet"),
            "is not a Parquet file under tables/items/",
        ),
        (
            lambda d: d["tables"]["items"]["files"][0].update(partition={"month": "2026-01"}),
            "partition must give",
        ),
    ],
)
def test_a_broken_manifest_is_a_clear_error(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = json.loads(_manifest().to_json())
    change(data)
    lake = _lake(tmp_path, json.dumps(data))
    with pytest.raises(LakeError, match=message) as caught:
        current_manifest(lake)
    assert str(lake / "_manifests" / "v000001.json") in str(caught.value)


def test_a_missing_pointer_or_manifest_or_bad_json_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match=f"no lake published at {tmp_path}"):
        current_manifest(tmp_path)
    (tmp_path / "CURRENT").write_text("v000007\n")
    with pytest.raises(LakeError, match=r"_manifests/v000007\.json of version v000007 does not"):
        current_manifest(tmp_path)
    (tmp_path / "CURRENT").write_text("latest\n")
    with pytest.raises(LakeError, match="'latest' is not a lake version id"):
        current_manifest(tmp_path)
    lake = _lake(tmp_path, "{not json")
    with pytest.raises(LakeError, match=r"v000001\.json is not valid JSON"):
        current_manifest(lake)
