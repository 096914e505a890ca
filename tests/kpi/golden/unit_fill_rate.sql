-- kpi: unit_fill_rate v1 (certified, content 0d79e89023d5)
-- model: order_lines (one row per order line); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: ratio; time dimension: order_date
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
      sales_order_lines.order_ts_local_date AS order_ts_local_date,
      sales_order_lines.ordered_qty AS ordered_qty,
      sales_order_lines.promised_date AS promised_date
    FROM sales_order_lines AS sales_order_lines
    WHERE
      sales_order_lines.status <> 'cancelled'
  ), shipped AS (
    /* shipments that left before as_of (local date of the shipping location) */
    SELECT
      shipments.order_id AS order_id,
      shipments.line_no AS line_no,
      FIRST(shipments.shipped_qty ORDER BY shipments.shipped_ts, shipments.shipment_id) AS first_shipment_qty /* first shipment: earliest shipped_ts, ties broken by the smallest shipment_id */
    FROM shipments AS shipments
    WHERE
      shipments.shipped_ts_local_date < $as_of
    GROUP BY
      shipments.order_id,
      shipments.line_no
  ), judged AS (
    SELECT
      l.location_id AS location_id,
      l.order_ts_local_date AS order_ts_local_date,
      l.ordered_qty AS ordered_qty,
      COALESCE(s.first_shipment_qty, 0) AS first_qty,
      NOT s.order_id /* fill rate: measurable once shipped, or once past the current promise */ IS NULL
      OR l.promised_date < $as_of AS fill_measurable
    FROM lines AS l
    LEFT JOIN shipped AS s
      ON s.order_id = l.order_id AND s.line_no = l.line_no
  )
  SELECT
    j.location_id AS location_id,
    j.order_ts_local_date AS order_date,
    CASE WHEN j.fill_measurable THEN LEAST(j.first_qty, j.ordered_qty) ELSE 0 END AS filled_units, /* unit fill rate caps each line at its ordered quantity */
    CASE WHEN j.fill_measurable THEN j.ordered_qty ELSE 0 END AS measurable_units
  FROM judged AS j
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.filled_units) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.measurable_units) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.filled_units) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.measurable_units) AS DOUBLE), 0) AS value
FROM (
  SELECT
    order_lines.location_id AS location_id,
    order_lines.filled_units AS filled_units,
    order_lines.measurable_units AS measurable_units,
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
