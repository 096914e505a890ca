"""Land the same files two ways, as the product does and through `raw` only, and compare.

A CSV file may land straight from the file (`control_tower.landing.stream`)
or through the temp table `raw`; both ways must give the same batch record,
quarantine and tables. `both_ways` lands `files` into a data folder and into
a copy of it with the streamed ways switched off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from control_tower.landing import batch as batch_module
from tests.support.extracts import (
    baseline_row,
    checksums,
    copy_home,
    fetch,
    land,
    quarantined,
)


def order_lines(count: int) -> list[list[str]]:
    """`count` new order lines (orders S0, S1, ... of three lines each), from the baseline's."""
    return [
        baseline_row("sales_order_lines", i % 3, order_id=f"S{i // 3}", line_no=str(i % 3 + 1))
        for i in range(count)
    ]


def outcome(home: Path, files: dict[str, bytes]) -> dict[str, object]:
    """Land `files` (one delivery): how it landed, its batch record, quarantine and the tables."""
    (b,) = land(home, files).ingest.batches
    batch = fetch(
        home,
        "SELECT status, rows_read, rows_inserted, rows_updated, rows_stale, rows_quarantined, "
        "encoding, delimiter, warnings, error FROM ops.batches WHERE batch_id = ?",
        [b.batch_id],
    )
    return {
        "streamed": b.streamed,
        "batch": batch,
        "quarantine": quarantined(home, b.batch_id),
        "tables": checksums(home),
    }


def both_ways(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]
) -> tuple[dict[str, object], dict[str, object]]:
    """The outcome of landing `files` as the product does, and with the streamed ways off."""
    other = copy_home(home, tmp_path / "through-raw")
    product = outcome(home, files)
    with monkeypatch.context() as m:
        m.setattr(batch_module, "_stream_csv", lambda *_args, **_kwargs: None)
        through_raw = outcome(other, files)
    assert through_raw["streamed"] is False
    return product, through_raw


def assert_same(product: dict[str, object], through_raw: dict[str, object]) -> None:
    """The two ways landed the same batch record, quarantine and tables."""
    for key in ("batch", "quarantine", "tables"):
        assert product[key] == through_raw[key], key
