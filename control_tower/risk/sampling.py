"""Bounded example sets: a deterministic sample of item-locations (or orders) and as-of partitions.

Stockout examples are one row per item-location at each as-of point. However long
the history, two bounds keep their building small:

- a cap on the rows: when the points would give more examples than `max_examples`,
  only a sample of item-locations is kept, the same every time. Item-locations are
  ranked by the MD5 of `location_id|item_id` and kept in that order while their
  examples fit, so the sample is exact (never over the cap), reproducible, and
  stable as history grows (an item-location stays in or out). Late-order examples
  are sampled the same way by order;
- partitions: the features are computed for a few as-of days at a time, at most
  `partition_rows` examples per query, so DuckDB never joins the whole history's
  windows at once (its memory and temp spill stay at one partition's size).
"""

from __future__ import annotations

import duckdb
import polars as pl

from control_tower.risk.frames import registered

# Examples computed per feature query: a partition's 90-day windows stay well inside memory.
PARTITION_ROWS = 100_000

_COUNTS_SQL = """
SELECT s.location_id, s.item_id, count(*) AS examples,
       md5(s.location_id || '|' || s.item_id) AS rank_key
FROM inventory_snapshots AS s
JOIN risk_points AS p ON p.location_id = s.location_id AND p.t = s.snapshot_date
GROUP BY ALL
ORDER BY rank_key, s.location_id, s.item_id
"""

# Order lines that can be open at each date (an upper bound: lines shipped in full drop out).
_ORDER_COUNTS_SQL = """
SELECT l.order_id, count(*) AS examples, md5(l.order_id) AS rank_key
FROM risk_dates AS p
JOIN sales_order_lines AS l ON l.order_ts_local_date <= p.t AND l.first_promised_date > p.t
WHERE l.status <> 'cancelled'
GROUP BY ALL
ORDER BY rank_key, l.order_id
"""


def md5_prefix(counts: pl.DataFrame, keys: list[str], max_examples: int) -> pl.DataFrame | None:
    """Of `counts` (`keys`, `examples`, in MD5 order of the key), the longest prefix whose
    examples add up to at most `max_examples`, as its `keys`; None when all of them fit."""
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, got {max_examples}")
    if counts.is_empty() or int(counts["examples"].sum()) <= max_examples:
        return None
    return counts.filter(pl.col("examples").cum_sum() <= max_examples).select(keys)


def sample_item_locations(
    con: duckdb.DuckDBPyConnection, points: pl.DataFrame, max_examples: int
) -> pl.DataFrame | None:
    """The item-locations to keep so that `points` give at most `max_examples` examples.

    None when every item-location fits. Otherwise the longest prefix of item-locations,
    in MD5 order of their key, whose examples at `points` add up to at most `max_examples`.
    """
    with registered(con, "risk_points", points.select("location_id", "t")):
        counts = con.sql(_COUNTS_SQL).pl()
    return md5_prefix(counts, ["location_id", "item_id"], max_examples)


def sample_orders(
    con: duckdb.DuckDBPyConnection, dates: pl.DataFrame, max_examples: int
) -> pl.DataFrame | None:
    """The orders to keep so that their lines open at `dates` are at most `max_examples`
    examples: as `sample_item_locations`, by the MD5 of the order id (all lines of an order)."""
    with registered(con, "risk_dates", dates):
        counts = con.sql(_ORDER_COUNTS_SQL).pl()
    return md5_prefix(counts, ["order_id"], max_examples)


def partitions(
    con: duckdb.DuckDBPyConnection,
    points: pl.DataFrame,
    keep: pl.DataFrame | None,
    *,
    partition_rows: int = PARTITION_ROWS,
) -> list[pl.DataFrame]:
    """`points` cut into runs of consecutive as-of days of at most `partition_rows` examples
    (a single day with more is a partition of its own), in date order."""
    join = "SEMI JOIN risk_keep AS k ON k.location_id = s.location_id AND k.item_id = s.item_id"
    sql = (
        "SELECT p.t, count(*) AS n FROM inventory_snapshots AS s "
        "JOIN risk_points AS p ON p.location_id = s.location_id AND p.t = s.snapshot_date "
        f"{join if keep is not None else ''} GROUP BY p.t ORDER BY p.t"
    )
    with registered(con, "risk_points", points.select("location_id", "t")):
        if keep is None:
            per_day = con.execute(sql).fetchall()
        else:
            with registered(con, "risk_keep", keep):
                per_day = con.execute(sql).fetchall()
    parts: list[list] = []
    size = partition_rows
    for day, n in per_day:
        if size + n > partition_rows:
            parts.append([])
            size = 0
        parts[-1].append(day)
        size += n
    return [points.filter(pl.col("t").is_in(days)) for days in parts]
