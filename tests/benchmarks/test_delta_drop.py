"""The scale benchmark's delta drop: a file of order-line updates the extract contract accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks.support.delta import write_order_line_delta
from control_tower.landing import land_inbox
from control_tower.storage.schema import connect_writer
from tests.support.tiny_inbox import write_master, write_orders

CHANGED_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AS_OF = date(2026, 3, 15)


def test_the_delta_lands_as_updates_of_every_chosen_line(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "warehouse.duckdb")
    inbox, archive, rejected = tmp_path / "inbox", tmp_path / "archive", tmp_path / "rejected"
    write_master(inbox)
    write_orders(inbox, 1, 250)
    land_inbox(con, inbox, run_id="full", archive=archive, rejected=rejected)
    before = dict(con.execute("SELECT order_id, ordered_qty FROM sales_order_lines").fetchall())

    drop = write_order_line_delta(con, inbox, fraction=0.02, changed_at=CHANGED_AT, as_of=AS_OF)
    again = write_order_line_delta(
        con, tmp_path / "again", fraction=0.02, changed_at=CHANGED_AT, as_of=AS_OF
    )
    assert again.path.read_bytes() == drop.path.read_bytes()  # the same data, the same file
    # every 50th line in key order; one more unit on every other one; open -> released
    assert (drop.rows, drop.quantity_changes, drop.status_changes) == (5, 2, 5)
    # measurable (promised 2026-03-05, before as_of), ordered on 2026-03-01 in Chicago
    assert drop.denominator_change == {date(2026, 3, 1): 2.0}

    (batch,) = land_inbox(con, inbox, run_id="delta", archive=archive, rejected=rejected).batches
    assert (batch.status, batch.rows_quarantined) == ("loaded", 0), batch.error
    assert (batch.counts.updated, batch.counts.inserted, batch.counts.stale) == (5, 0, 0)
    after = con.execute(
        "SELECT order_id, ordered_qty, status, updated_at FROM sales_order_lines "
        "WHERE _batch_id = ? ORDER BY order_id",
        [batch.batch_id],
    ).fetchall()
    assert {status for _, _, status, _ in after} == {"released"}
    assert {updated for *_, updated in after} == {datetime(2026, 3, 10, 12, 0)}
    grown = sorted(order for order, qty, *_ in after if qty == before[order] + 1)
    assert len(grown) == 2
    assert all(qty in (before[order], before[order] + 1) for order, qty, *_ in after)
