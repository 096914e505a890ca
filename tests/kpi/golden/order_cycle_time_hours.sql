-- kpi: order_cycle_time_hours v1 (draft, content 88844bf6ce31)
-- model: order_lines (one row per order line); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: quantile; time dimension: order_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: order_lines, pruned to the columns this query reads
WITH order_lines AS (
  WITH lines AS (
    /* the winning version of each line; a cancelled line is left out everywhere */
    SELECT
      sales_order_lines.order_id AS order_id,
      sales_order_lines.line_no AS line_no,
      sales_order_lines.location_id AS location_id,
      sales_order_lines.order_ts AS order_ts,
      sales_order_lines.order_ts_local_date AS order_ts_local_date,
      sales_order_lines.ordered_qty AS ordered_qty
    FROM sales_order_lines AS sales_order_lines
    WHERE
      sales_order_lines.status <> 'cancelled'
  ), shipped AS (
    /* shipments that left before as_of (local date of the shipping location) */
    SELECT
      shipments.order_id AS order_id,
      shipments.line_no AS line_no,
      SUM(shipments.shipped_qty) AS shipped_qty,
      MAX(shipments.shipped_ts) AS last_shipped_ts
    FROM shipments AS shipments
    WHERE
      shipments.shipped_ts_local_date < $as_of
    GROUP BY
      shipments.order_id,
      shipments.line_no
  ), judged AS (
    SELECT
      l.location_id AS location_id,
      l.order_ts AS order_ts,
      l.order_ts_local_date AS order_ts_local_date,
      l.ordered_qty AS ordered_qty,
      COALESCE(s.shipped_qty, 0) AS shipped_qty,
      s.last_shipped_ts AS last_shipped_ts
    FROM lines AS l
    LEFT JOIN shipped AS s
      ON s.order_id = l.order_id AND s.line_no = l.line_no
  )
  SELECT
    j.location_id AS location_id,
    j.order_ts_local_date AS order_date,
    CASE
      WHEN j.shipped_qty >= j.ordered_qty
      THEN EPOCH(j.last_shipped_ts - j.order_ts) / 3600.0
    END AS cycle_time_hours /* order cycle time: order to the last shipment, for lines shipped in full (instants) */
  FROM judged AS j
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(MEDIAN(kpi_rows.cycle_time_hours) AS DOUBLE) AS value,
  CAST(QUANTILE_CONT(kpi_rows.cycle_time_hours, 0.9) AS DOUBLE) AS p90_hours
FROM (
  SELECT
    order_lines.location_id AS location_id,
    order_lines.cycle_time_hours AS cycle_time_hours,
    CAST(DATE_TRUNC('WEEK', order_lines.order_date) AS DATE) AS period
  FROM order_lines AS order_lines
  WHERE
    order_lines.order_date <= $as_of
    AND CAST(order_lines.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
