-- kpi: backorder_aging v1 (draft, content dee56b454c4a)
-- model: open_backorders (one row per open backordered line); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: quantile; time dimension: as_of_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: order_lines, open_backorders, pruned to the columns this query reads
WITH order_lines AS (
  WITH lines AS (
    /* the winning version of each line; a cancelled line is left out everywhere */
    SELECT
      sales_order_lines.order_id AS order_id,
      sales_order_lines.line_no AS line_no,
      sales_order_lines.location_id AS location_id,
      sales_order_lines.order_ts_local_date AS order_ts_local_date,
      sales_order_lines.ordered_qty AS ordered_qty,
      sales_order_lines.first_promised_date AS first_promised_date
    FROM sales_order_lines AS sales_order_lines
    WHERE
      sales_order_lines.status <> 'cancelled'
  ), shipped AS (
    /* shipments that left before as_of (local date of the shipping location) */
    SELECT
      shipments.order_id AS order_id,
      shipments.line_no AS line_no,
      SUM(shipments.shipped_qty) AS shipped_qty
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
      l.first_promised_date AS first_promised_date,
      COALESCE(s.shipped_qty, 0) AS shipped_qty
    FROM lines AS l
    LEFT JOIN shipped AS s
      ON s.order_id = l.order_id AND s.line_no = l.line_no
  )
  SELECT
    j.location_id AS location_id,
    j.order_ts_local_date AS order_date,
    j.first_promised_date AS first_promised_date,
    j.ordered_qty AS ordered_units,
    j.shipped_qty AS shipped_units
  FROM judged AS j
), open_backorders AS (
  SELECT
    order_lines.location_id AS location_id,
    CAST($as_of AS DATE) AS as_of_date,
    1 AS is_open,
    CAST($as_of AS DATE) - order_lines.first_promised_date AS days_past_first_promise
  FROM order_lines AS order_lines
  WHERE
    order_lines.first_promised_date < $as_of
    AND order_lines.order_date < $as_of
    AND order_lines.shipped_units < order_lines.ordered_units
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(MEDIAN(kpi_rows.days_past_first_promise) AS DOUBLE) AS value,
  CAST(SUM(kpi_rows.is_open) AS DOUBLE) AS open_lines,
  CAST(SUM(CASE WHEN kpi_rows.days_past_first_promise <= 3 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_0_3,
  CAST(SUM(CASE WHEN kpi_rows.days_past_first_promise BETWEEN 4 AND 7 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_4_7,
  CAST(SUM(CASE WHEN kpi_rows.days_past_first_promise BETWEEN 8 AND 14 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_8_14,
  CAST(SUM(CASE WHEN kpi_rows.days_past_first_promise BETWEEN 15 AND 30 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_15_30,
  CAST(SUM(CASE WHEN kpi_rows.days_past_first_promise >= 31 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_31_plus
FROM (
  SELECT
    open_backorders.location_id AS location_id,
    open_backorders.is_open AS is_open,
    open_backorders.days_past_first_promise AS days_past_first_promise,
    CAST(DATE_TRUNC('WEEK', open_backorders.as_of_date) AS DATE) AS period
  FROM open_backorders AS open_backorders
  WHERE
    open_backorders.as_of_date <= $as_of
    AND CAST(open_backorders.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
