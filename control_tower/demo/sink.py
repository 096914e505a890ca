"""Row buffers and the file writer (staging folder, monthly files, CSV / Parquet / JSON Lines).

Files are written into `<out>/.demo-staging/<system>/` and only moved into
`<out>/<system>/` when generation has finished, so a landing pipeline watching `out`
as its inbox never sees a half-written file.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from control_tower.contracts import LOAD_ORDER, TABLES
from control_tower.demo.clock import month_label

FILE_FORMAT: dict[str, str] = {"inventory_snapshots": "parquet", "tracking_events": "jsonl"}
STAGING = ".demo-staging"


class Buffers:
    """Column batches per output (a contract table, or a variant such as its updates file)."""

    def __init__(self) -> None:
        self._batches: dict[str, list[dict[str, np.ndarray]]] = defaultdict(list)

    def add(self, name: str, **cols: np.ndarray) -> None:
        """Queue a batch of rows (all columns the same length; empty batches are dropped)."""
        sizes = {np.asarray(v).shape[0] for v in cols.values()}
        assert len(sizes) == 1, f"{name}: ragged batch {sizes}"
        if sizes.pop():
            self._batches[name].append({k: np.asarray(v) for k, v in cols.items()})

    def take(self, name: str) -> dict[str, np.ndarray] | None:
        """All queued rows of `name`, concatenated, and forget them."""
        batches = self._batches.pop(name, [])
        if not batches:
            return None
        return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def _table_of(file_name: str) -> str:
    stem = file_name.split(".")[0]
    return max((t for t in TABLES if stem == t or stem.startswith(f"{t}_")), key=len)


def check_columns(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the contract's columns in contract order (optional ones may be absent)."""
    contract = TABLES[table]
    cols = [c for c in contract.column_names if c in frame.columns]
    extra = set(frame.columns) - set(cols)
    missing = set(contract.required_columns) - set(cols)
    assert not extra, f"{table}: columns not in the contract: {extra}"
    assert not missing, f"{table}: required columns missing: {missing}"
    return frame.select(cols)


class Sink:
    """Writes contract files into a staging folder and publishes them at the end."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.stage = out / STAGING
        if self.stage.exists():
            shutil.rmtree(self.stage)
        for system in ("erp", "wms", "tms"):
            (self.stage / system).mkdir(parents=True)
        self.rows: dict[Path, int] = {}
        self._parquet: dict[Path, pq.ParquetWriter] = {}

    def _path(self, table: str, suffix: str) -> Path:
        ext = FILE_FORMAT.get(table, "csv")
        return self.stage / TABLES[table].system / f"{table}{suffix}.{ext}"

    def write(self, table: str, frame: pl.DataFrame, suffix: str = "") -> None:
        """Append rows to `<table><suffix>.<ext>` (header written once)."""
        frame = check_columns(table, frame)
        path = self._path(table, suffix)
        new = path not in self.rows
        self.rows[path] = self.rows.get(path, 0) + frame.height
        fmt = FILE_FORMAT.get(table, "csv")
        if fmt == "parquet":
            arrow = frame.to_arrow()
            schema = pa.schema(
                [
                    pa.field(f.name, pa.string() if pa.types.is_large_string(f.type)
                             or pa.types.is_string_view(f.type) else f.type)
                    for f in arrow.schema
                ]
            )  # fmt: skip
            arrow = arrow.cast(schema)
            if new:
                self._parquet[path] = pq.ParquetWriter(path, schema, compression="zstd")
            self._parquet[path].write_table(arrow, row_group_size=1_000_000)
        elif fmt == "jsonl":
            with path.open("ab") as f:
                frame.write_ndjson(f)
        else:
            with path.open("ab") as f:
                frame.write_csv(f, include_header=new)

    def write_monthly(self, table: str, frame: pl.DataFrame, months: np.ndarray) -> None:
        """Append rows to one file per month code: `<table>_YYYY-MM.<ext>`."""
        for code in np.unique(months):
            part = frame.filter(pl.Series(months == code))
            self.write(table, part, f"_{month_label(int(code))}")

    def publish(self) -> list[tuple[Path, int]]:
        """Move the staged files into `<out>/<system>/`; returns (path, rows) per file."""
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()
        files = []
        # masters first, then the tables that reference them (a landing run scanning the
        # folder mid-publish then finds references in place)
        order = {name: k for k, name in enumerate(LOAD_ORDER)}
        for path in sorted(self.rows, key=lambda p: (order[_table_of(p.name)], p.name)):
            target = self.out / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            files.append((target, self.rows[path]))
        shutil.rmtree(self.stage, ignore_errors=True)
        return files

    def discard(self) -> None:
        """Drop everything staged (after a failure)."""
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()
        shutil.rmtree(self.stage, ignore_errors=True)
