"""Point-in-time features and labels of the risk models, as DuckDB SQL over the landed tables.

Every example is taken at the close of a day `t`. Features read only rows
dated on or before `t` (snapshots, order lines by order date, receipts by
arrival date, deliveries by delivery date); labels read only what happened
after `t`. Quantities are in base units (landed tables), money per each.

Stockout (grain: one row per item-location and snapshot day `t`):
    label = available (on hand - allocated - quarantined) <= 0 on any snapshot
    in (t, t + horizon]. Only days whose horizon is fully observed are labelled.
Late order (grain: one row per order line open at the close of `t`):
    open = ordered on or before t, not cancelled, not fully shipped by t, and
    first promised date after t (it can still be on time);
    label = delivered quantity by the end of the first promised date (the
    delivery's local day at the shipping location) is below the ordered
    quantity. Labelled only when the first promised date is before the end of
    the data.

Two known approximations, both documented on the model cards: purchase order
lines and sales order lines are read in their current version, so a line
cancelled after `t` is left out of the examples at `t`.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from control_tower.risk.frames import COVER_CAP, cover, registered
from control_tower.risk.late_features import LATE_SQL, late_dates, late_frame, late_groups
from control_tower.risk.sampling import PARTITION_ROWS, partitions, sample_item_locations

__all__ = [
    "COVER_CAP",
    "LATE_SQL",
    "STOCKOUT_LABEL_CTES",
    "STOCKOUT_LABEL_VALUE",
    "STOCKOUT_SQL",
    "late_dates",
    "late_frame",
    "late_groups",
    "latest_points",
    "snapshot_points",
    "stockout_frame",
]

NO_RECEIPT_DAYS = 60

# --- stockout ---------------------------------------------------------------------------------

# The label: the one definition of "stocked out within the horizon" (decision review judges
# its resolved items by it too). Reads CTEs `pts` (t, location_id, item_id) and `snaps`
# (inventory snapshots covering (t, t + horizon]); gives CTEs `ends` and `label`.
# STOCKOUT_LABEL_VALUE is 1 when available stock (on hand - allocated - quarantined, as the
# stockout_rate KPI counts a stockout) is zero or less on any snapshot in (t, t + horizon],
# else 0, and NULL while the location's snapshots do not reach t + horizon (not yet knowable).
STOCKOUT_LABEL_CTES = """ends AS (
    SELECT location_id, max(snapshot_date) AS last_date FROM inventory_snapshots GROUP BY ALL
),
label AS (
    SELECT p.t, p.location_id, p.item_id,
           max(CASE WHEN f.on_hand_qty - f.allocated_qty - f.quarantined_qty <= 0
                    THEN 1 ELSE 0 END) AS stockout
    FROM pts AS p
    JOIN snaps AS f ON f.location_id = p.location_id AND f.item_id = p.item_id
        AND f.snapshot_date > p.t AND f.snapshot_date <= p.t + CAST($horizon AS INTEGER)
    GROUP BY ALL
)"""
STOCKOUT_LABEL_VALUE = (
    "CASE WHEN p.t + CAST($horizon AS INTEGER) <= ends.last_date "
    "THEN coalesce(label.stockout, 0) END"
)

STOCKOUT_SQL = """
WITH snaps AS (  -- only the days the points look at: 90 back, the horizon ahead
    SELECT * FROM inventory_snapshots AS s $keep_snaps
    WHERE snapshot_date > DATE '$first' - 90
      AND snapshot_date <= DATE '$last' + CAST($horizon AS INTEGER)
),
sol AS (  -- every location's lines of the items: the item's bulk share reads them all
    SELECT order_id, line_no, location_id, item_id, order_ts_local_date, ordered_qty, status,
           first_promised_date
    FROM sales_order_lines AS s
    $keep_items
    WHERE order_ts_local_date > DATE '$first' - 90 AND order_ts_local_date <= DATE '$last'
),
pts AS (
    SELECT s.snapshot_date AS t, s.location_id, s.item_id,
           CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty,
           CAST(s.allocated_qty AS DOUBLE) AS allocated_qty,
           CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE) AS available_qty,
           CAST(s.in_transit_qty AS DOUBLE) AS in_transit_qty
    FROM snaps AS s
    JOIN risk_points AS p ON p.location_id = s.location_id AND p.t = s.snapshot_date
),
booked AS (  -- lines that can be open at a point: ordered in the 60 days before it
    SELECT order_id, line_no, location_id, item_id, order_ts_local_date, first_promised_date,
           CAST(ordered_qty AS DOUBLE) AS qty
    FROM sol
    WHERE status <> 'cancelled' AND order_ts_local_date > DATE '$first' - 60
),
booked_shipped AS (
    SELECT s.order_id, s.line_no, s.shipped_ts_local_date AS d,
           sum(CAST(s.shipped_qty AS DOUBLE)) AS qty
    FROM shipments AS s
    SEMI JOIN booked AS b ON b.order_id = s.order_id AND b.line_no = s.line_no
    GROUP BY ALL
),
open_booked AS (  -- each line open at t: what is still to ship of it
    SELECT p.t, b.location_id, b.item_id, b.first_promised_date,
           b.qty - coalesce(sum(s.qty), 0) AS open_qty
    FROM risk_points AS p
    JOIN booked AS b ON b.location_id = p.location_id
        AND b.order_ts_local_date > p.t - 60 AND b.order_ts_local_date <= p.t
    LEFT JOIN booked_shipped AS s ON s.order_id = b.order_id AND s.line_no = b.line_no
        AND s.d <= p.t
    GROUP BY p.t, b.location_id, b.item_id, b.order_id, b.line_no, b.first_promised_date, b.qty
    HAVING b.qty - coalesce(sum(s.qty), 0) > 0
),
backlog AS (  -- demand already booked and not shipped at t (allocated or not yet)
    SELECT t, location_id, item_id, sum(open_qty) AS backlog_qty,
           sum(open_qty) FILTER (WHERE first_promised_date <= t + CAST($horizon AS INTEGER))
               AS backlog_due_qty
    FROM open_booked
    GROUP BY ALL
),
daily AS (  -- demand as ordered (cancellations come later and are not known at t)
    SELECT location_id, item_id, order_ts_local_date AS d,
           sum(CAST(ordered_qty AS DOUBLE)) AS qty
    FROM sol
    WHERE order_ts_local_date > DATE '$first' - 28
    GROUP BY ALL
),
dem AS (
    SELECT p.t, p.location_id, p.item_id,
           sum(d.qty) AS qty28, sum(d.qty * d.qty) AS sq28, max(d.qty) AS max_day,
           coalesce(sum(d.qty) FILTER (WHERE d.d > p.t - 7), 0) AS qty7
    FROM pts AS p
    JOIN daily AS d ON d.location_id = p.location_id AND d.item_id = p.item_id
        AND d.d > p.t - 28 AND d.d <= p.t
    GROUP BY ALL
),
hist AS (  -- the last 28 snapshot days up to t
    SELECT p.t, p.location_id, p.item_id,
           avg(CASE WHEN h.on_hand_qty - h.allocated_qty - h.quarantined_qty <= 0
                    THEN 1.0 ELSE 0.0 END) AS stockout_share_28,
           arg_min(CAST(h.on_hand_qty - h.allocated_qty - h.quarantined_qty AS DOUBLE),
                   h.snapshot_date) FILTER (WHERE h.snapshot_date >= p.t - 7) AS available_7d_ago
    FROM pts AS p
    JOIN snaps AS h ON h.location_id = p.location_id AND h.item_id = p.item_id
        AND h.snapshot_date > p.t - 28 AND h.snapshot_date <= p.t
    GROUP BY ALL
),
lines AS (  -- order lines of the last 90 days: lumpiness (bulk lines many times the usual size)
    SELECT p.t, p.location_id, p.item_id,
           quantile_cont(CAST(l.ordered_qty AS DOUBLE), 0.5) AS median_line_qty,
           max(CAST(l.ordered_qty AS DOUBLE)) AS max_line_qty,
           count(*) AS lines_90
    FROM pts AS p
    JOIN sol AS l ON l.location_id = p.location_id AND l.item_id = p.item_id
        AND l.order_ts_local_date > p.t - 90 AND l.order_ts_local_date <= p.t
    GROUP BY ALL
),
item_lines AS (  -- the item's lines anywhere in the last 90 days: share of bulk lines
    SELECT p.t, p.item_id,
           avg(CASE WHEN CAST(l.ordered_qty AS DOUBLE) > 4 * m.median_qty THEN 1.0 ELSE 0.0 END)
               AS item_bulk_share_90
    FROM (SELECT DISTINCT t, item_id FROM pts) AS p
    JOIN sol AS l ON l.item_id = p.item_id
        AND l.order_ts_local_date > p.t - 90 AND l.order_ts_local_date <= p.t
    JOIN (
        SELECT p2.t, p2.item_id, quantile_cont(CAST(l2.ordered_qty AS DOUBLE), 0.5) AS median_qty
        FROM (SELECT DISTINCT t, item_id FROM pts) AS p2
        JOIN sol AS l2 ON l2.item_id = p2.item_id
            AND l2.order_ts_local_date > p2.t - 90 AND l2.order_ts_local_date <= p2.t
        GROUP BY ALL
    ) AS m ON m.t = p.t AND m.item_id = p.item_id
    GROUP BY ALL
),
hist90 AS (  -- the last 90 snapshot days up to t: how often and how low the stock ran
    SELECT p.t, p.location_id, p.item_id,
           avg(CASE WHEN h.on_hand_qty - h.allocated_qty - h.quarantined_qty <= 0
                    THEN 1.0 ELSE 0.0 END) AS stockout_share_90,
           quantile_cont(CAST(h.on_hand_qty - h.allocated_qty - h.quarantined_qty AS DOUBLE), 0.1)
               AS available_p10_90
    FROM pts AS p
    JOIN snaps AS h ON h.location_id = p.location_id AND h.item_id = p.item_id
        AND h.snapshot_date > p.t - 90 AND h.snapshot_date <= p.t
    GROUP BY ALL
),
last_receipt AS (
    SELECT po_id, po_line_no, max(arrived_ts_local_date) AS last_arrival FROM receipts GROUP BY ALL
),
po AS (  -- PO lines that can be open at some point: placed by the last, open or received after the first
    SELECT l.*, lr.last_arrival
    FROM purchase_order_lines AS l
    $keep_po
    LEFT JOIN last_receipt AS lr ON lr.po_id = l.po_id AND lr.po_line_no = l.line_no
    WHERE l.order_date <= DATE '$last' AND l.status <> 'cancelled'
      AND (l.status = 'open' OR lr.last_arrival > DATE '$first')
),
received AS (
    SELECT p.t, r.po_id, r.po_line_no, sum(CAST(r.received_qty AS DOUBLE)) AS qty
    FROM (SELECT DISTINCT t FROM pts) AS p
    JOIN receipts AS r ON r.arrived_ts_local_date <= p.t
    SEMI JOIN po ON po.po_id = r.po_id AND po.line_no = r.po_line_no
    GROUP BY ALL
),
open_po AS (  -- PO lines placed by t, still open (or received after t), not fully received by t
    SELECT p.t, l.location_id, l.item_id, l.expected_date,
           CAST(l.ordered_qty AS DOUBLE) - coalesce(r.qty, 0) AS open_qty
    FROM (SELECT DISTINCT t FROM pts) AS p
    JOIN po AS l ON l.order_date <= p.t
    LEFT JOIN received AS r ON r.t = p.t AND r.po_id = l.po_id AND r.po_line_no = l.line_no
    WHERE (l.status = 'open' OR l.last_arrival > p.t)
      AND CAST(l.ordered_qty AS DOUBLE) - coalesce(r.qty, 0) > 0
),
inbound AS (
    SELECT t, location_id, item_id, sum(open_qty) AS inbound_qty,
           min(expected_date) AS next_receipt_date,
           coalesce(sum(open_qty) FILTER (WHERE expected_date <= t), 0) AS overdue_qty,
           coalesce(sum(open_qty) FILTER (WHERE expected_date <= t + CAST($horizon AS INTEGER)), 0)
               AS due_qty
    FROM open_po
    GROUP BY ALL
),
supplier AS (  -- receipts of the last 90 days against their PO's expected date
    SELECT p.t, l.supplier_id,
           avg(CASE WHEN r.arrived_ts_local_date <= l.expected_date THEN 1.0 ELSE 0.0 END)
               AS supplier_on_time,
           avg(greatest(r.arrived_ts_local_date - l.expected_date, 0)) AS supplier_delay_days,
           avg(CASE WHEN r.arrived_ts_local_date > l.expected_date + 3 THEN 1.0 ELSE 0.0 END)
               AS supplier_late_3d
    FROM (SELECT DISTINCT t FROM pts) AS p
    JOIN receipts AS r ON r.arrived_ts_local_date > p.t - 90 AND r.arrived_ts_local_date <= p.t
    JOIN purchase_order_lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
    GROUP BY ALL
),
$label_ctes
SELECT
    p.t, p.location_id, p.item_id, loc.entity_id,
    p.available_qty, p.on_hand_qty, p.allocated_qty, p.in_transit_qty,
    coalesce(dem.qty28, 0) / 28.0 AS daily_demand,
    CASE WHEN coalesce(dem.qty28, 0) > 0 THEN
        sqrt(greatest(dem.sq28 / 28.0 - pow(dem.qty28 / 28.0, 2), 0)) / (dem.qty28 / 28.0)
    ELSE 0 END AS demand_cv,
    CASE WHEN coalesce(dem.qty28, 0) > 0 THEN dem.max_day / (dem.qty28 / 28.0) ELSE 0 END
        AS demand_peak_ratio,
    CASE WHEN coalesce(dem.qty28, 0) > 0 THEN (dem.qty7 / 7.0) / (dem.qty28 / 28.0) ELSE 0 END
        AS demand_trend,
    coalesce(hist.stockout_share_28, 0) AS stockout_share_28,
    p.available_qty - coalesce(hist.available_7d_ago, p.available_qty) AS available_change_7d,
    coalesce(inb.inbound_qty, 0) AS inbound_qty,
    coalesce(inb.overdue_qty, 0) AS overdue_inbound_qty,
    inb.next_receipt_date,
    CAST(i.lead_time_days AS INTEGER) AS lead_time_days,
    i.abc_class,
    CAST(i.unit_cost AS DOUBLE) AS unit_cost,
    CAST(i.unit_price AS DOUBLE) AS unit_price,
    sup.supplier_on_time, sup.supplier_delay_days, sup.supplier_late_3d,
    coalesce(inb.due_qty, 0) AS due_inbound_qty,
    ln.median_line_qty, ln.max_line_qty, coalesce(ln.lines_90, 0) AS lines_90,
    il.item_bulk_share_90,
    coalesce(bl.backlog_qty, 0) AS backlog_qty, coalesce(bl.backlog_due_qty, 0) AS backlog_due_qty,
    coalesce(h90.stockout_share_90, 0) AS stockout_share_90, h90.available_p10_90,
    $label_value AS label
FROM pts AS p
LEFT JOIN dem USING (t, location_id, item_id)
LEFT JOIN hist USING (t, location_id, item_id)
LEFT JOIN inbound AS inb USING (t, location_id, item_id)
LEFT JOIN lines AS ln USING (t, location_id, item_id)
LEFT JOIN hist90 AS h90 USING (t, location_id, item_id)
LEFT JOIN item_lines AS il USING (t, item_id)
LEFT JOIN backlog AS bl USING (t, location_id, item_id)
LEFT JOIN label USING (t, location_id, item_id)
LEFT JOIN items AS i ON i.item_id = p.item_id
LEFT JOIN locations AS loc ON loc.location_id = p.location_id
LEFT JOIN supplier AS sup ON sup.t = p.t AND sup.supplier_id = i.supplier_id
LEFT JOIN ends ON ends.location_id = p.location_id
ORDER BY p.t, p.location_id, p.item_id
""".replace("$label_ctes", STOCKOUT_LABEL_CTES).replace("$label_value", STOCKOUT_LABEL_VALUE)


# Where the kept item-locations restrict the feature SQL: placeholder, table alias, join.
_KEEP_LI = "risk_keep AS k ON k.location_id = $a.location_id AND k.item_id = $a.item_id"
_KEEP_JOINS = (
    ("$keep_snaps", "s", _KEEP_LI),
    ("$keep_po", "l", _KEEP_LI),
    ("$keep_items", "s", "(SELECT DISTINCT item_id FROM risk_keep) AS k ON k.item_id = $a.item_id"),
)


def _stockout_raw(
    con: duckdb.DuckDBPyConnection, points: pl.DataFrame, horizon: int, keep: pl.DataFrame | None
) -> pl.DataFrame:
    """The SQL features of one partition of points, reading only the dates they look at, and
    with `keep`, only the rows of those item-locations (and of those items, for the item's
    bulk share over every location)."""
    days: list[date] = points["t"].to_list() or [date(2000, 1, 1)]
    sql = (
        STOCKOUT_SQL.replace("$horizon", str(int(horizon)))
        .replace("$first", min(days).isoformat())
        .replace("$last", max(days).isoformat())
    )
    for name, alias, on in _KEEP_JOINS:
        join = f"SEMI JOIN {on.replace('$a', alias)}" if keep is not None else ""
        sql = sql.replace(name, join)
    with registered(con, "risk_points", points.select("location_id", "t")):
        if keep is None:
            return con.sql(sql).pl()
        with registered(con, "risk_keep", keep):
            return con.sql(sql).pl()


def stockout_frame(
    con: duckdb.DuckDBPyConnection,
    points: pl.DataFrame,
    *,
    horizon: int,
    max_examples: int | None = None,
    partition_rows: int = PARTITION_ROWS,
    item_locations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Features (and the label, where observed) for each (location_id, t) snapshot point.

    Built a few as-of days at a time (`sampling.partitions`); with `max_examples`, of a
    deterministic sample of item-locations when the points would give more rows than that;
    with `item_locations` (location_id, item_id), of those only.
    """
    if item_locations is not None and max_examples is not None:
        raise ValueError("stockout_frame takes either item_locations or max_examples, not both")
    keep = item_locations
    if max_examples is not None:
        keep = sample_item_locations(con, points, max_examples)
    parts = [
        _stockout_raw(con, p, horizon, keep)
        for p in partitions(con, points, keep, partition_rows=partition_rows)
    ]
    # no examples at all: the query on no points still gives the frame's columns
    raw = (
        pl.concat(parts, how="vertical_relaxed")
        if parts
        else _stockout_raw(con, points.head(0), horizon, None)
    )
    demand = pl.col("daily_demand")
    return raw.with_columns(
        days_of_cover=pl.when(demand > 0).then(pl.col("available_qty") / demand),
        cover_days=cover(pl.col("available_qty"), demand),
        position_cover_days=cover(pl.col("available_qty") + pl.col("inbound_qty"), demand),
        inbound_cover_days=cover(pl.col("inbound_qty"), demand),
        overdue_inbound_cover_days=cover(pl.col("overdue_inbound_qty"), demand),
        change_7d_cover_days=cover(pl.col("available_change_7d"), demand),
        stocked_out=(pl.col("available_qty") <= 0).cast(pl.Float64),
        log_daily_demand=demand.log1p(),
        days_to_next_receipt=(pl.col("next_receipt_date") - pl.col("t"))
        .dt.total_days()
        .fill_null(NO_RECEIPT_DAYS)
        .clip(-NO_RECEIPT_DAYS, NO_RECEIPT_DAYS)
        .cast(pl.Float64),
        lead_time=pl.col("lead_time_days").cast(pl.Float64),
        demand_peak_ratio=pl.col("demand_peak_ratio").clip(0, 28),
        demand_trend=pl.col("demand_trend").clip(0, 4),
        in_transit_cover_days=cover(pl.col("in_transit_qty"), demand),
        due_position_cover_days=cover(pl.col("available_qty") + pl.col("due_inbound_qty"), demand),
        p10_cover_90=cover(pl.col("available_p10_90"), demand),
        # booked lines not yet allocated will take stock that the available figure still shows
        unallocated_backlog_cover_days=cover(
            (pl.col("backlog_qty") - pl.col("allocated_qty")).clip(0, None), demand
        ),
        net_cover_days=cover(
            pl.col("available_qty")
            - (pl.col("backlog_qty") - pl.col("allocated_qty")).clip(0, None),
            demand,
        ),
        net_due_position_cover_days=cover(
            pl.col("available_qty")
            - (pl.col("backlog_due_qty") - pl.col("allocated_qty")).clip(0, None)
            + pl.col("due_inbound_qty"),
            demand,
        ),
        line_peak_ratio=(pl.col("max_line_qty") / pl.col("median_line_qty").clip(1, None))
        .fill_null(1.0)
        .clip(1, 50),
        available_in_max_lines=(pl.col("available_qty") / pl.col("max_line_qty").clip(1, None))
        .fill_null(COVER_CAP)
        .clip(-5, 20),
    ).with_columns(
        cover_vs_lead=(pl.col("cover_days") / pl.col("lead_time").clip(1, None)).clip(-10, 10),
        # cover matters most near zero: a week against a month, not two months against three
        log_cover_days=pl.col("cover_days").clip(0, None).log1p(),
        log_position_cover_days=pl.col("position_cover_days").clip(0, None).log1p(),
        cover_within_horizon=(pl.col("cover_days") < horizon).cast(pl.Float64),
        cover_within_lead=(pl.col("cover_days") < pl.col("lead_time")).cast(pl.Float64),
        log_due_position_cover_days=pl.col("due_position_cover_days").clip(0, None).log1p(),
        # when the next receipt is likely to land (expected date + the supplier's usual delay)
        # against when the stock runs out: positive = a gap without stock
        arrival_gap_days=(
            pl.col("days_to_next_receipt")
            + pl.col("supplier_delay_days").fill_null(0)
            - pl.col("cover_days")
        ).clip(-COVER_CAP, COVER_CAP),
        # how many standard deviations of the horizon's demand the stock (after the booked
        # lines not yet allocated) stands above that demand's mean; and with the receipts due
        z_available_horizon=(
            (
                pl.col("available_qty")
                - (pl.col("backlog_due_qty") - pl.col("allocated_qty")).clip(0, None)
                - demand * horizon
            )
            / (pl.col("demand_cv") * demand * horizon**0.5 + 1.0)
        ).clip(-20, 20),
        z_position_horizon=(
            (
                pl.col("available_qty")
                - (pl.col("backlog_due_qty") - pl.col("allocated_qty")).clip(0, None)
                + pl.col("due_inbound_qty")
                - demand * horizon
            )
            / (pl.col("demand_cv") * demand * horizon**0.5 + 1.0)
        ).clip(-20, 20),
        horizon_days=pl.lit(int(horizon), dtype=pl.Int32),
        label_end=pl.col("t") + pl.duration(days=int(horizon)),
    )


def snapshot_points(
    con: duckdb.DuckDBPyConnection, *, start: date | None = None, every_days: int = 7
) -> pl.DataFrame:
    """Training points: every `every_days`-th snapshot day per location, counted back from its last."""
    rows = con.execute(
        "SELECT location_id, snapshot_date FROM inventory_snapshots GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    last: dict[str, date] = {}
    for loc, d in rows:
        last[loc] = max(d, last.get(loc, d))
    keep = [
        (loc, d)
        for loc, d in rows
        if (last[loc] - d).days % every_days == 0 and (start is None or d >= start)
    ]
    return pl.DataFrame(keep, schema={"location_id": pl.String, "t": pl.Date}, orient="row")


def latest_points(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Scoring points: each location's latest snapshot day on or before `as_of`."""
    rows = con.execute(
        "SELECT location_id, max(snapshot_date) FROM inventory_snapshots "
        "WHERE snapshot_date <= ? GROUP BY ALL ORDER BY ALL",
        [as_of],
    ).fetchall()
    return pl.DataFrame(rows, schema={"location_id": pl.String, "t": pl.Date}, orient="row")
