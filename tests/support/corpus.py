"""The bad-input corpus machinery: a case, its expected outcome, and the check every case gets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from control_tower.contracts import TABLES
from tests.support.baseline import TS
from tests.support.extracts import (
    baseline_row,
    csv_bytes,
    fetch,
    land,
    rows_of,
    table_checksum,
    warehouse,
)


@dataclass(frozen=True)
class Rejected:
    """The whole file is refused: nothing loads, the file moves to quarantine with a reason."""

    reason: str  # a substring of the batch error (and of the .reason.txt)


@dataclass(frozen=True)
class Loaded:
    """The file loads: `rows` good rows land, the listed bad rows go to ops.quarantine."""

    rows: int
    # (line in the file, column or None for a whole-row problem, substring of the reason)
    quarantined: tuple[tuple[int, str | None, str], ...] = ()
    warning: str | None = None  # a substring of the batch warnings
    check: Callable[[Path], None] | None = None  # more assertions on what landed


@dataclass(frozen=True)
class Case:
    """One defective (or merely unusual) extract and what landing it must do."""

    defect: str
    path: str  # inside the inbox, e.g. "erp/items_x.csv"
    data: bytes
    expect: Rejected | Loaded

    def __str__(self) -> str:
        return self.defect


def land_case(home: Path, case: Case) -> None:
    """Land one corpus file on top of the baseline; check its outcome and that nothing else changed."""
    with warehouse(home) as con:
        before = {t: table_checksum(con, t) for t in TABLES}
        quarantine_before = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()
    report = land(home, {case.path: case.data})
    assert len(report.ingest.batches) == 1
    result = report.ingest.batches[0]
    assert not (home / "inbox" / case.path).exists(), "the file must leave the inbox"
    with warehouse(home) as con:
        cur = con.execute("SELECT * FROM ops.batches WHERE batch_id = ?", [result.batch_id])
        batch = dict(zip([d[0] for d in cur.description], cur.fetchone() or (), strict=True))
        q_rows = con.execute(
            "SELECT source_line, column_name, reason, record FROM ops.quarantine "
            "WHERE batch_id = ? ORDER BY source_line, column_name",
            [result.batch_id],
        ).fetchall()
        after = {t: table_checksum(con, t, exclude_batch=result.batch_id) for t in TABLES}
        quarantine_after = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()
        landed = None
        if result.table:
            landed = con.execute(
                f"SELECT count(*) FROM main.{result.table} WHERE _batch_id = ?", [result.batch_id]
            ).fetchone()
    expect = case.expect
    if isinstance(expect, Rejected):
        assert result.status == "rejected", (result.status, result.error, result.warnings)
        assert batch["status"] == "rejected"
        assert expect.reason in str(result.error), result.error
        assert batch["error"] == result.error
        moved = Path(str(batch["archived_path"]))
        assert moved.is_file()
        assert moved.is_relative_to(home / "quarantine")
        assert moved.read_bytes() == case.data
        reason_file = moved.with_name(moved.name + ".reason.txt")
        assert expect.reason in reason_file.read_text()
        assert after == before, "a rejected file must not change any landed table"
        assert quarantine_after == quarantine_before
        assert landed in (None, (0,))
        return
    assert result.status == "loaded", (result.status, result.error)
    assert batch["status"] == "loaded"
    assert len(q_rows) == len(expect.quarantined), q_rows
    expected = sorted(expect.quarantined, key=lambda q: (q[0], q[1] or ""))
    for (line, column, reason), (q_line, q_column, q_reason, q_record) in zip(
        expected, q_rows, strict=True
    ):
        assert (q_line, q_column) == (line, column), q_rows
        assert reason in q_reason, (reason, q_reason)
        assert q_record, "the quarantined row keeps the record as delivered"
    assert result.counts.inserted == expect.rows, result.counts
    assert batch["rows_inserted"] == expect.rows
    assert batch["rows_quarantined"] == len({q[0] for q in expect.quarantined})
    if expect.warning:
        assert expect.warning in str(batch["warnings"]), batch["warnings"]
    # Baseline rows are untouched; the batch only added its own good rows.
    assert after == before
    assert landed == (expect.rows,)
    assert Path(str(batch["archived_path"])).is_relative_to(home / "archive")
    if expect.check:
        expect.check(home)


# --- builders of corpus files ---


def order(order_id: str, **changes: str) -> list[str]:
    """A valid new order line (the baseline's O1/1 under another id), with `changes`."""
    return baseline_row("sales_order_lines", 0, order_id=order_id, **changes)


def orders(*rows: list[str]) -> bytes:
    return csv_bytes(rows_of("sales_order_lines", *rows))


def item(item_id: str, **changes: str) -> list[str]:
    return baseline_row("items", 0, item_id=item_id, **changes)


def items(*rows: list[str]) -> bytes:
    return csv_bytes(rows_of("items", *rows))


def location(location_id: str, **changes: str) -> list[str]:
    return baseline_row("locations", 0, location_id=location_id, **changes)


def locations(*rows: list[str]) -> bytes:
    return csv_bytes(rows_of("locations", *rows))


def customer_line(customer_id: str, name: str = "Initech", tier: str = "2") -> str:
    return f"{customer_id},{name},Retail,{tier},EU,{TS}\n"


CUSTOMER_HEADER_LINE = "customer_id,name,segment,priority_tier,region,updated_at\n"


def json_line(**values: object) -> bytes:
    row = {"customer_id": "C9", "name": "I", "segment": "R", "priority_tier": 1, "region": "EU"}
    return (json.dumps({**row, "updated_at": TS, **values}, ensure_ascii=False) + "\n").encode()


def names_are(expected: dict[str, str]) -> Callable[[Path], None]:
    """A check: customers with these ids landed with exactly these names."""

    def check(home: Path) -> None:
        ids = list(expected)
        got = dict(
            fetch(
                home,
                f"SELECT customer_id, name FROM customers WHERE customer_id IN ({', '.join('?' * len(ids))})",
                ids,
            )
        )
        assert got == expected

    return check
