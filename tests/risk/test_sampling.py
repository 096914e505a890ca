"""Bounded stockout examples on generated rows: a history window, an exact cap, partitions.

Two locations with 30 items each, a snapshot every day; every 5th day an item-location
is out of stock and every item sells 3 a day, so the features are not trivial.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from control_tower.risk import features as F
from control_tower.risk.training import examples
from control_tower.storage.schema import ensure_schema

LAST = date(2026, 3, 1)
KEYS = [(loc, f"I{i:02d}") for loc in ("L1", "L2") for i in range(30)]


def _db(days: int) -> duckdb.DuckDBPyConnection:
    """`days` days of history ending on LAST."""
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(
        "INSERT INTO locations (location_id, name, entity_id, timezone, wave_based) VALUES "
        "('L1', 'One', 'E1', 'UTC', true), ('L2', 'Two', 'E1', 'UTC', false)"
    )
    dates = [LAST - timedelta(days=d) for d in range(days)]
    stock = [
        (d, loc, item, 0 if (d.toordinal() + i) % 5 == 0 else 20)
        for d in dates
        for i, (loc, item) in enumerate(KEYS)
    ]
    orders = [(d, loc, item) for d in dates for loc, item in KEYS[::3]]
    key = {"d": pl.Date, "location_id": pl.String, "item_id": pl.String}
    con.register("snaps", pl.DataFrame(stock, {**key, "qty": pl.Int64}, orient="row").to_arrow())
    con.register("lines", pl.DataFrame(orders, key, orient="row").to_arrow())
    con.execute(
        "INSERT INTO inventory_snapshots (snapshot_date, location_id, item_id, on_hand_qty, "
        "allocated_qty, quarantined_qty, in_transit_qty) SELECT *, 0, 0, 0 FROM snaps"
    )
    con.execute(
        "INSERT INTO sales_order_lines (order_id, line_no, location_id, item_id, "
        "order_ts_local_date, ordered_qty, first_promised_date, status, uom_factor) "
        "SELECT 'O' || d || location_id || item_id, 1, location_id, item_id, d, 9, d + 2, "
        "'open', 1 FROM lines"
    )
    return con


def _md5_prefix(per_key: int, cap: int) -> set[tuple[str, str]]:
    """The item-locations first in MD5 order of `location|item` whose examples fit in `cap`."""
    ranked = sorted(KEYS, key=lambda k: hashlib.md5(f"{k[0]}|{k[1]}".encode()).hexdigest())
    return set(ranked[: cap // per_key])


def _keys(df: pl.DataFrame) -> set[tuple[str, str]]:
    return set(df.select("location_id", "item_id").unique().iter_rows())


def test_stockout_examples_are_capped_to_a_fixed_sample_whatever_the_history() -> None:
    built = {}
    for days in (200, 400):
        con = _db(days)
        built[days] = examples(con, "stockout", every_days=7, history_days=70, max_examples=250)
    short, long = built[200], built[400]
    weeks = short["t"].n_unique()
    assert weeks == 11  # LAST, LAST - 7, ..., LAST - 70: the window, not the history
    # the longest MD5-ordered prefix of item-locations whose 11 weeks fit in 250 rows: 22 of 60
    assert len(short) == 22 * weeks <= 250
    assert _keys(short) == _md5_prefix(weeks, 250)
    # twice the history beyond the window: the same examples
    assert_frame_equal(short, long)
    # without the cap every item-location is there, at the same weekly as-of days
    full = examples(_db(200), "stockout", every_days=7, history_days=70, max_examples=10_000)
    assert len(full) == len(KEYS) * weeks
    assert set(full["t"]) == set(short["t"])


def test_partitions_of_as_of_days_build_the_same_frame_as_one_query() -> None:
    con = _db(120)
    points = F.snapshot_points(con, start=LAST - timedelta(days=40), every_days=1)
    whole = F.stockout_frame(con, points, horizon=7, partition_rows=10**9)
    from control_tower.risk.sampling import partitions

    parts = partitions(con, points, None, partition_rows=130)
    assert [len(p) for p in parts] == [4] * 20 + [2]  # two days (2 x 60 rows) per query
    assert_frame_equal(F.stockout_frame(con, points, horizon=7, partition_rows=130), whole)
    assert whole["label"].drop_nulls().sum() > 0
    assert whole["daily_demand"].max() == pytest.approx(9.0)


def test_a_cap_below_one_example_is_refused() -> None:
    con = _db(60)
    points = F.snapshot_points(con, every_days=7)
    with pytest.raises(ValueError, match="max_examples must be at least 1"):
        F.stockout_frame(con, points, horizon=7, max_examples=-1)


def test_late_order_examples_are_capped_by_whole_orders() -> None:
    con = _db(120)
    dates = F.late_dates(con, every_days=7)
    lines = F.late_frame(con, dates)
    assert len(lines) > 100  # open lines at the weekly dates: each order is open two days
    capped = F.late_frame(con, dates, max_examples=100)
    orders = sorted(set(lines["order_id"]), key=lambda o: hashlib.md5(o.encode()).hexdigest())
    per_order = lines.group_by("order_id").len()["len"].max()
    assert per_order == 1
    assert len(capped) == 100
    assert set(capped["order_id"]) == set(orders[:100])
    assert_frame_equal(capped, lines.filter(pl.col("order_id").is_in(orders[:100])))
