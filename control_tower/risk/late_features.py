"""Point-in-time features and labels of the late-order model (see `risk.features` for the rules).

Grain: one row per order line open at the close of an as-of day `t`. Features read
only what was known at `t`; the label is whether the line was delivered in full by
the end of its first promised date.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, timedelta

import duckdb
import polars as pl

from control_tower.risk.frames import cover, registered
from control_tower.risk.sampling import sample_orders

# The order lines open at the close of each date t (the rows of the late-order frame).
_OPEN_SQL = """
pts AS (SELECT DISTINCT t FROM risk_dates),
lines AS (
    SELECT p.t, l.order_id, l.line_no, l.entity_id, l.location_id, l.customer_id, l.item_id,
           l.channel, l.order_ts_local_date AS order_date, l.requested_date,
           l.first_promised_date, CAST(l.ordered_qty AS DOUBLE) AS ordered_qty,
           CAST(l.unit_price AS DOUBLE) / coalesce(nullif(l.uom_factor, 0), 1) AS base_price
    FROM pts AS p
    JOIN $orders AS l
        ON l.order_ts_local_date <= p.t AND l.first_promised_date > p.t
    WHERE l.status <> 'cancelled'
),
shipped AS (
    SELECT x.t, x.order_id, x.line_no, sum(CAST(s.shipped_qty AS DOUBLE)) AS qty
    FROM lines AS x
    JOIN shipments AS s ON s.order_id = x.order_id AND s.line_no = x.line_no
        AND s.shipped_ts_local_date <= x.t
    GROUP BY ALL
),
open_lines AS (
    SELECT x.*, x.ordered_qty - coalesce(s.qty, 0) AS open_qty
    FROM lines AS x LEFT JOIN shipped AS s USING (t, order_id, line_no)
    WHERE x.ordered_qty - coalesce(s.qty, 0) > 0
),"""

# Whether each line of `$judge` (order_id, line_no, location_id, customer_id,
# first_promised_date, ordered_qty) was delivered in full by the end of its first promise.
_JUDGED_SQL = """
delivered AS (  -- per line and local delivery day, the quantity delivered
    SELECT s.order_id, s.line_no, f.actual_delivery_ts_local_date AS d,
           sum(CAST(s.shipped_qty AS DOUBLE)) AS qty
    FROM shipments AS s
    JOIN freight_shipments AS f ON f.shipment_id = s.shipment_id
    SEMI JOIN $judge AS due ON due.order_id = s.order_id AND due.line_no = s.line_no
    WHERE f.status <> 'cancelled' AND f.actual_delivery_ts IS NOT NULL
    GROUP BY ALL
),
judged AS (
    SELECT *, coalesce(by_promise, 0) < ordered_qty AS late
    FROM (
        SELECT l.order_id, l.line_no, l.location_id, l.customer_id, l.first_promised_date,
               CAST(l.ordered_qty AS DOUBLE) AS ordered_qty,
               sum(d.qty) FILTER (WHERE d.d <= l.first_promised_date) AS by_promise
        FROM $judge AS l
        LEFT JOIN delivered AS d ON d.order_id = l.order_id AND d.line_no = l.line_no
        GROUP BY ALL
    )
),"""

# Features shared by every open line of a location, or of a customer, at t: one row per
# (t, location) with the customer columns NULL, and per (t, customer) the other way round.
LATE_GROUPS_SQL = (
    "WITH"
    + _OPEN_SQL
    + """
due AS (  -- the lines the dates look at: due in the 90 days before the first date, or later
    SELECT * FROM sales_order_lines
    WHERE status <> 'cancelled' AND first_promised_date > DATE '$first' - 90
),"""
    + _JUDGED_SQL.replace("$judge", "due")
    + """
loc_late AS (  -- lines due in the last 28 days at the location: share delivered late
    SELECT p.t, j.location_id, avg(CAST(j.late AS DOUBLE)) AS location_late_rate_28
    FROM pts AS p
    JOIN judged AS j ON j.first_promised_date > p.t - 28 AND j.first_promised_date <= p.t
    GROUP BY ALL
),
cust_late AS (
    SELECT p.t, j.customer_id, avg(CAST(j.late AS DOUBLE)) AS customer_late_rate_90,
           count(*) AS customer_lines_90
    FROM pts AS p
    JOIN judged AS j ON j.first_promised_date > p.t - 90 AND j.first_promised_date <= p.t
    GROUP BY ALL
),
cust_freight AS (  -- the customer's freight due in the last 90 days: share delivered on time
    SELECT p.t, l.customer_id,
           avg(CASE WHEN f.actual_delivery_ts <= f.promised_delivery_ts
                     AND f.actual_delivery_ts_local_date <= p.t THEN 1.0 ELSE 0.0 END)
               AS carrier_on_time_90
    FROM pts AS p
    JOIN freight_shipments AS f ON f.promised_delivery_ts_local_date > p.t - 90
        AND f.promised_delivery_ts_local_date <= p.t AND f.status <> 'cancelled'
    JOIN (SELECT DISTINCT shipment_id, order_id FROM shipments) AS s
        ON s.shipment_id = f.shipment_id
    JOIN (SELECT DISTINCT order_id, customer_id FROM sales_order_lines) AS l
        ON l.order_id = s.order_id
    GROUP BY ALL
),
backlog AS (  -- open lines at the location due within 3 days, against its daily shipped lines
    SELECT o.t, o.location_id,
           count(*) FILTER (WHERE o.first_promised_date <= o.t + 3) AS due_lines_3d
    FROM open_lines AS o GROUP BY ALL
),
throughput AS (
    SELECT p.t, s.location_id, count(DISTINCT (s.order_id, s.line_no)) / 28.0 AS shipped_lines_day
    FROM pts AS p
    JOIN shipments AS s ON s.shipped_ts_local_date > p.t - 28 AND s.shipped_ts_local_date <= p.t
    GROUP BY ALL
),
wave_late AS (  -- waves planned to complete in the last 7 days: share not completed on time
    SELECT p.t, w.location_id,
           avg(CASE WHEN w.completed_ts IS NOT NULL AND w.completed_ts <= w.planned_complete_ts
                     AND w.completed_ts_local_date <= p.t THEN 0.0 ELSE 1.0 END)
               AS wave_late_rate_7
    FROM pts AS p
    JOIN waves AS w ON w.planned_complete_ts_local_date > p.t - 7
        AND w.planned_complete_ts_local_date <= p.t AND w.status <> 'cancelled'
    GROUP BY ALL
)
SELECT b.t, b.location_id, NULL::VARCHAR AS customer_id, ll.location_late_rate_28,
       coalesce(b.due_lines_3d, 0) / greatest(coalesce(tp.shipped_lines_day, 0), 1.0)
           AS backlog_days,
       coalesce(wl.wave_late_rate_7, 0) AS wave_late_rate_7,
       NULL::DOUBLE AS customer_late_rate_90, NULL::BIGINT AS customer_lines_90,
       NULL::DOUBLE AS carrier_on_time_90
FROM backlog AS b
LEFT JOIN loc_late AS ll USING (t, location_id)
LEFT JOIN throughput AS tp USING (t, location_id)
LEFT JOIN wave_late AS wl USING (t, location_id)
UNION ALL
SELECT c.t, NULL, c.customer_id, NULL, NULL, NULL,
       cl.customer_late_rate_90, coalesce(cl.customer_lines_90, 0), cf.carrier_on_time_90
FROM (SELECT DISTINCT t, customer_id FROM open_lines) AS c
LEFT JOIN cust_late AS cl USING (t, customer_id)
LEFT JOIN cust_freight AS cf USING (t, customer_id)
ORDER BY ALL
"""
)

# The latest snapshot on or before t of each open line's item-location: on one date a grouped
# arg_max (an ASOF join sorts the whole snapshot history), on many an ASOF join.
_STOCK_ONE_DATE = """
    LEFT JOIN inventory_snapshots AS s
        ON s.location_id = o.location_id AND s.item_id = o.item_id AND s.snapshot_date <= o.t
    GROUP BY ALL"""
_STOCK_DATES = """
    ASOF LEFT JOIN inventory_snapshots AS s
        ON s.location_id = o.location_id AND s.item_id = o.item_id AND o.t >= s.snapshot_date"""

# One row per open line of `scope` (the open lines, or those kept) with the group features of
# `risk_groups` (LATE_GROUPS_SQL) and, where observed, the label.
LATE_SQL = (
    "WITH"
    + _OPEN_SQL
    + """
scope AS (SELECT * FROM open_lines AS o $keep),
stock AS (  -- the location's latest snapshot on or before t
    SELECT o.t, o.location_id, o.item_id,
           $available AS available_qty
    FROM (SELECT DISTINCT t, location_id, item_id FROM scope) AS o$stock
),
demand AS (
    SELECT o.t, o.location_id, o.item_id, sum(CAST(l.ordered_qty AS DOUBLE)) / 28.0 AS daily_demand
    FROM (SELECT DISTINCT t, location_id, item_id FROM scope) AS o
    JOIN sales_order_lines AS l ON l.location_id = o.location_id AND l.item_id = o.item_id
        AND l.order_ts_local_date > o.t - 28 AND l.order_ts_local_date <= o.t
    GROUP BY ALL
),
scope_lines AS (
    SELECT DISTINCT order_id, line_no, location_id, customer_id, first_promised_date, ordered_qty
    FROM scope
),"""
    + _JUDGED_SQL.replace("$judge", "scope_lines")
    + """
ends AS (SELECT max(snapshot_date) AS last_date FROM inventory_snapshots)
SELECT
    o.t, o.order_id, o.line_no, o.entity_id, o.location_id, o.customer_id, o.item_id,
    o.channel, CAST(c.priority_tier AS VARCHAR) AS priority_tier, i.abc_class,
    o.first_promised_date, o.order_date, o.requested_date,
    o.ordered_qty, o.open_qty, o.open_qty * o.base_price AS open_value,
    o.ordered_qty * o.base_price AS line_value,
    CAST(i.lead_time_days AS INTEGER) AS lead_time_days,
    st.available_qty, coalesce(dm.daily_demand, 0) AS daily_demand,
    gl.location_late_rate_28, gc.customer_late_rate_90, coalesce(gc.customer_lines_90, 0)
        AS customer_lines_90,
    gc.carrier_on_time_90, gl.backlog_days, coalesce(gl.wave_late_rate_7, 0) AS wave_late_rate_7,
    CASE WHEN o.first_promised_date < ends.last_date THEN CAST(j.late AS INTEGER) END AS label
FROM scope AS o
CROSS JOIN ends
LEFT JOIN stock AS st USING (t, location_id, item_id)
LEFT JOIN demand AS dm USING (t, location_id, item_id)
LEFT JOIN judged AS j ON j.order_id = o.order_id AND j.line_no = o.line_no
LEFT JOIN risk_groups AS gl ON gl.t = o.t AND gl.location_id = o.location_id
LEFT JOIN risk_groups AS gc ON gc.t = o.t AND gc.customer_id = o.customer_id
LEFT JOIN customers AS c ON c.customer_id = o.customer_id
LEFT JOIN items AS i ON i.item_id = o.item_id
ORDER BY o.t, o.order_id, o.line_no
"""
)

_AVAILABLE = "CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE)"
# The order lines the open lines come from: the landed ones, plus hypothetical ones to score.
_ORDERS = "sales_order_lines"
_WITH_EXTRA = "(SELECT * FROM sales_order_lines UNION ALL BY NAME SELECT * FROM risk_extra)"


def _first(dates: list[date]) -> str:
    return min(dates, default=date(2000, 1, 1)).isoformat()


def late_groups(con: duckdb.DuckDBPyConnection, dates: list[date]) -> pl.DataFrame:
    """The features every open line of a location or of a customer shares at each date: per
    (t, location_id) its late-line share, backlog and late waves; per (t, customer_id) its
    late-line share, lines and carriers on time (`LATE_GROUPS_SQL`)."""
    frame = pl.DataFrame({"t": dates}, schema={"t": pl.Date})
    sql = LATE_GROUPS_SQL.replace("$first", _first(dates)).replace("$orders", _ORDERS)
    with registered(con, "risk_dates", frame):
        return con.sql(sql).pl()


def late_frame(
    con: duckdb.DuckDBPyConnection,
    dates: list[date],
    *,
    max_examples: int | None = None,
    lines: pl.DataFrame | None = None,
    groups: pl.DataFrame | None = None,
    extra: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Features (and the label, where observed) of every order line open at the close of each
    date; with `max_examples`, of a deterministic sample of orders when there would be more;
    with `lines` (order_id, line_no), of those of them that are open only.

    `groups` are the dates' `late_groups` when the caller has them already. `extra`:
    hypothetical order lines (columns of `sales_order_lines`; those it lacks are NULL) read
    as if landed, e.g. a promise being considered; give their keys as `lines` to score only
    them. The group features (`groups`) stay those of the landed lines.
    """
    if lines is not None and max_examples is not None:
        raise ValueError("late_frame takes either lines to score or max_examples, not both")
    frame = pl.DataFrame({"t": dates}, schema={"t": pl.Date})
    if groups is None:
        groups = late_groups(con, dates)
    keep, on = lines, "k.order_id = o.order_id AND k.line_no = o.line_no"
    if max_examples is not None:
        keep, on = sample_orders(con, frame, max_examples), "k.order_id = o.order_id"
    one_date = len(set(dates)) == 1
    sql = (
        LATE_SQL.replace("$keep", "" if keep is None else f"SEMI JOIN risk_keep AS k ON {on}")
        .replace(
            "$available", f"arg_max_null({_AVAILABLE}, s.snapshot_date)" if one_date else _AVAILABLE
        )
        .replace("$stock", _STOCK_ONE_DATE if one_date else _STOCK_DATES)
        .replace("$orders", _ORDERS if extra is None else _WITH_EXTRA)
    )
    with ExitStack() as stack:
        stack.enter_context(registered(con, "risk_dates", frame))
        stack.enter_context(registered(con, "risk_groups", groups))
        if keep is not None:
            stack.enter_context(registered(con, "risk_keep", keep))
        if extra is not None:
            stack.enter_context(registered(con, "risk_extra", extra))
        raw = con.sql(sql).pl()
    available = pl.col("available_qty").fill_null(0)
    return raw.with_columns(
        days_to_promise=(pl.col("first_promised_date") - pl.col("t"))
        .dt.total_days()
        .cast(pl.Float64),
        promise_lead_days=(pl.col("first_promised_date") - pl.col("order_date"))
        .dt.total_days()
        .cast(pl.Float64),
        days_open=(pl.col("t") - pl.col("order_date")).dt.total_days().cast(pl.Float64),
        promised_after_request=(pl.col("first_promised_date") - pl.col("requested_date"))
        .dt.total_days()
        .cast(pl.Float64),
        stock_short=(available < pl.col("open_qty")).cast(pl.Float64),
        stock_cover_days=cover(available, pl.col("daily_demand")),
        log_open_qty=pl.col("open_qty").log1p(),
        shipped_share=1 - pl.col("open_qty") / pl.col("ordered_qty"),
        promise_weekday=pl.col("first_promised_date").dt.weekday().cast(pl.String),
        lead_time=pl.col("lead_time_days").cast(pl.Float64),
        backlog_days=pl.col("backlog_days").clip(0, 20),
        label_end=pl.col("first_promised_date"),
    )


def late_dates(
    con: duckdb.DuckDBPyConnection, *, every_days: int = 7, start: date | None = None
) -> list[date]:
    """Training dates: every `every_days`-th day back from the last snapshot day."""
    row = con.execute(
        "SELECT min(snapshot_date), max(snapshot_date) FROM inventory_snapshots"
    ).fetchall()[0]
    if row[0] is None:
        return []
    first, last = row
    first = max(first, start) if start else first
    out: list[date] = []
    d = last
    while d >= first:
        out.append(d)
        d -= timedelta(days=every_days)
    return sorted(out)
