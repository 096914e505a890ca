-- kpi: order_promise_accuracy v1 (certified, content fe8e57da8dca)
-- model: order_lines (one row per order line); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: ratio; time dimension: first_promised_date
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
      sales_order_lines.ordered_qty AS ordered_qty,
      sales_order_lines.first_promised_date AS first_promised_date,
      sales_order_lines.promise_changes AS promise_changes
    FROM sales_order_lines AS sales_order_lines
    WHERE
      sales_order_lines.status <> 'cancelled'
  ), deliveries AS (
    /* a WMS shipment is delivered when a non-cancelled freight shipment carrying it has an */
    /* actual delivery; its day is the instant on the shipping location's calendar */
    SELECT
      freight_shipments.shipment_id AS shipment_id,
      MIN(freight_shipments.actual_delivery_ts_local_date) AS delivered_date
    FROM freight_shipments AS freight_shipments
    WHERE
      freight_shipments.status <> 'cancelled'
      AND NOT freight_shipments.actual_delivery_ts IS NULL
      AND freight_shipments.actual_delivery_ts_local_date < $as_of
    GROUP BY
      freight_shipments.shipment_id
  ), delivered AS (
    SELECT
      s.order_id AS order_id,
      s.line_no AS line_no,
      SUM(s.shipped_qty) AS delivered_qty,
      SUM(s.shipped_qty) FILTER(WHERE
        d.delivered_date <= l.first_promised_date) AS by_promise_qty
    FROM shipments AS s
    JOIN deliveries AS d
      ON d.shipment_id = s.shipment_id
    JOIN lines AS l
      ON l.order_id = s.order_id AND l.line_no = s.line_no
    GROUP BY
      s.order_id,
      s.line_no
  ), judged AS (
    SELECT
      l.location_id AS location_id,
      l.first_promised_date AS first_promised_date,
      l.promise_changes AS promise_changes,
      l.first_promised_date /* promise accuracy: due once past the FIRST promise, or fully delivered */ < $as_of
      OR COALESCE(d.delivered_qty, 0) >= l.ordered_qty AS promise_due,
      COALESCE(d.by_promise_qty, 0) >= l.ordered_qty AS on_time_to_promise
    FROM lines AS l
    LEFT JOIN delivered AS d
      ON d.order_id = l.order_id AND d.line_no = l.line_no
  )
  SELECT
    j.location_id AS location_id,
    j.first_promised_date AS first_promised_date,
    CAST(j.promise_due AS INT) AS is_promise_due,
    CAST(j.promise_due AND j.on_time_to_promise AS INT) AS is_on_time_to_promise,
    CASE WHEN j.promise_due THEN COALESCE(j.promise_changes, 0) ELSE 0 END AS due_promise_changes
  FROM judged AS j
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_on_time_to_promise) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_promise_due) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_on_time_to_promise) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_promise_due) AS DOUBLE), 0) AS value,
  CAST(SUM(kpi_rows.due_promise_changes) AS DOUBLE) AS promise_changes
FROM (
  SELECT
    order_lines.location_id AS location_id,
    order_lines.is_promise_due AS is_promise_due,
    order_lines.is_on_time_to_promise AS is_on_time_to_promise,
    order_lines.due_promise_changes AS due_promise_changes,
    CAST(DATE_TRUNC('WEEK', order_lines.first_promised_date) AS DATE) AS period
  FROM order_lines AS order_lines
  WHERE
    order_lines.first_promised_date <= $as_of
    AND CAST(order_lines.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
