-- kpi: perfect_order_rate v1 (draft, content 45a4159be890)
-- model: orders (one row per order); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: ratio; time dimension: last_first_promised_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: order_lines, orders, pruned to the columns this query reads
WITH order_lines AS (
  WITH lines AS (
    /* the winning version of each line; a cancelled line is left out everywhere */
    SELECT
      sales_order_lines.order_id AS order_id,
      sales_order_lines.line_no AS line_no,
      sales_order_lines.location_id AS location_id,
      sales_order_lines.ordered_qty AS ordered_qty,
      sales_order_lines.first_promised_date AS first_promised_date
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
  ), bad_returns AS (
    /* a return for damage or a wrong item, at any date and any quantity */
    SELECT DISTINCT
      returns.order_id AS order_id,
      returns.order_line_no AS line_no
    FROM returns AS returns
    WHERE
      returns.reason_code IN ('damaged', 'wrong_item')
  ), judged AS (
    SELECT
      l.order_id AS order_id,
      l.line_no AS line_no,
      l.location_id AS location_id,
      l.first_promised_date AS first_promised_date,
      l.first_promised_date /* promise accuracy: due once past the FIRST promise, or fully delivered */ < $as_of
      OR COALESCE(d.delivered_qty, 0) >= l.ordered_qty AS promise_due,
      COALESCE(d.by_promise_qty, 0) >= l.ordered_qty AS on_time_to_promise,
      NOT b.order_id IS NULL AS bad_return
    FROM lines AS l
    LEFT JOIN delivered AS d
      ON d.order_id = l.order_id AND d.line_no = l.line_no
    LEFT JOIN bad_returns AS b
      ON b.order_id = l.order_id AND b.line_no = l.line_no
  )
  SELECT
    j.order_id AS order_id,
    j.line_no AS line_no,
    j.location_id AS location_id,
    j.first_promised_date AS first_promised_date,
    CAST(j.promise_due AS INT) AS is_promise_due,
    CAST(j.promise_due AND j.on_time_to_promise AS INT) AS is_on_time_to_promise,
    CAST(j.bad_return AS INT) AS has_bad_return
  FROM judged AS j
), orders AS (
  SELECT
    ARG_MIN(order_lines.location_id, order_lines.line_no) AS location_id,
    MAX(order_lines.first_promised_date) AS last_first_promised_date, /* perfect order is dated by the latest first promise of its lines */
    MIN(order_lines.is_promise_due) AS is_perfect_due, /* perfect order (SCOR RL.1.1, strict count): every line due ... */
    CAST(MIN(order_lines.is_promise_due) = 1
    AND MIN(order_lines.is_on_time_to_promise) = 1
    AND MAX(order_lines.has_bad_return) = 0 AS INT) AS is_perfect /* ... delivered in full by its first promise, and no damaged / wrong-item return on any line */
  FROM order_lines AS order_lines
  GROUP BY
    order_lines.order_id
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_perfect) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_perfect_due) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_perfect) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_perfect_due) AS DOUBLE), 0) AS value
FROM (
  SELECT
    orders.location_id AS location_id,
    orders.is_perfect_due AS is_perfect_due,
    orders.is_perfect AS is_perfect,
    CAST(DATE_TRUNC('WEEK', orders.last_first_promised_date) AS DATE) AS period
  FROM orders AS orders
  WHERE
    orders.last_first_promised_date <= $as_of
    AND CAST(orders.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
