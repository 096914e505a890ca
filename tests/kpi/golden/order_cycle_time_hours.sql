-- kpi: order_cycle_time_hours v1 (draft, content 7e290d8448bf)
-- model: order_lines (one row per order line); reads: customers, freight_shipments, items, returns, sales_order_lines, shipments
-- type: quantile; time dimension: order_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
WITH order_lines AS (
  WITH lines AS (
    /* the winning version of each line; a cancelled line is left out everywhere */
    SELECT
      *
    FROM sales_order_lines
    WHERE
      status <> 'cancelled'
  ), shipped AS (
    /* shipments that left before as_of (local date of the shipping location) */
    SELECT
      order_id,
      line_no,
      FIRST(shipped_qty ORDER BY shipped_ts, shipment_id) AS first_shipment_qty, /* first shipment: earliest shipped_ts, ties broken by the smallest shipment_id */
      SUM(shipped_qty) AS shipped_qty,
      MAX(shipped_ts) AS last_shipped_ts
    FROM shipments
    WHERE
      shipped_ts_local_date < $as_of
    GROUP BY
      order_id,
      line_no
  ), deliveries AS (
    /* a WMS shipment is delivered when a non-cancelled freight shipment carrying it has an */
    /* actual delivery; its day is the instant on the shipping location's calendar */
    SELECT
      shipment_id,
      MIN(actual_delivery_ts_local_date) AS delivered_date
    FROM freight_shipments
    WHERE
      status <> 'cancelled'
      AND NOT actual_delivery_ts IS NULL
      AND actual_delivery_ts_local_date < $as_of
    GROUP BY
      shipment_id
  ), delivered AS (
    SELECT
      s.order_id,
      s.line_no,
      SUM(s.shipped_qty) AS delivered_qty,
      SUM(s.shipped_qty) FILTER(WHERE
        d.delivered_date <= l.first_promised_date) AS by_promise_qty,
      SUM(s.shipped_qty) FILTER(WHERE
        d.delivered_date <= l.requested_date) AS by_request_qty
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
      order_id,
      order_line_no AS line_no
    FROM returns
    WHERE
      reason_code IN ('damaged', 'wrong_item')
  ), judged AS (
    SELECT
      l.*,
      COALESCE(s.first_shipment_qty, 0) AS first_qty,
      COALESCE(s.shipped_qty, 0) AS shipped_qty,
      s.last_shipped_ts,
      NOT s.order_id /* fill rate: measurable once shipped, or once past the current promise */ IS NULL
      OR l.promised_date < $as_of AS fill_measurable,
      l.first_promised_date /* promise accuracy: due once past the FIRST promise, or fully delivered */ < $as_of
      OR COALESCE(d.delivered_qty, 0) >= l.ordered_qty AS promise_due,
      l.requested_date < $as_of OR COALESCE(d.delivered_qty, 0) >= l.ordered_qty AS request_due,
      COALESCE(d.by_promise_qty, 0) >= l.ordered_qty AS on_time_to_promise,
      COALESCE(d.by_request_qty, 0) >= l.ordered_qty AS on_time_to_request,
      NOT b.order_id IS NULL AS bad_return
    FROM lines AS l
    LEFT JOIN shipped AS s
      ON s.order_id = l.order_id AND s.line_no = l.line_no
    LEFT JOIN delivered AS d
      ON d.order_id = l.order_id AND d.line_no = l.line_no
    LEFT JOIN bad_returns AS b
      ON b.order_id = l.order_id AND b.line_no = l.line_no
  )
  SELECT
    j.order_id,
    j.line_no,
    j.location_id,
    j.entity_id,
    j.customer_id,
    j.item_id,
    j.channel,
    i.abc_class,
    c.priority_tier,
    j.order_ts_local_date AS order_date,
    j.first_promised_date,
    j.requested_date,
    CAST(j.fill_measurable AS INT) AS is_fill_measurable,
    CAST(j.fill_measurable AND j.first_qty >= j.ordered_qty AS INT) AS is_first_time_filled,
    CASE WHEN j.fill_measurable THEN LEAST(j.first_qty, j.ordered_qty) ELSE 0 END AS filled_units, /* unit fill rate caps each line at its ordered quantity */
    CASE WHEN j.fill_measurable THEN j.ordered_qty ELSE 0 END AS measurable_units,
    CAST(j.promise_due AS INT) AS is_promise_due,
    CAST(j.promise_due AND j.on_time_to_promise AS INT) AS is_on_time_to_promise,
    CAST(j.request_due AS INT) AS is_request_due,
    CAST(j.request_due AND j.on_time_to_request AS INT) AS is_on_time_to_request,
    CASE WHEN j.promise_due THEN COALESCE(j.promise_changes, 0) ELSE 0 END AS due_promise_changes,
    CASE
      WHEN j.shipped_qty >= j.ordered_qty
      THEN EPOCH(j.last_shipped_ts - j.order_ts) / 3600.0
    END AS cycle_time_hours, /* order cycle time: order to the last shipment, for lines shipped in full (instants) */
    j.ordered_qty AS ordered_units,
    j.shipped_qty AS shipped_units,
    CAST(j.bad_return AS INT) AS has_bad_return
  FROM judged AS j
  LEFT JOIN items AS i
    ON i.item_id = j.item_id
  LEFT JOIN customers AS c
    ON c.customer_id = j.customer_id
)
SELECT
  location_id,
  period,
  CAST(MEDIAN(cycle_time_hours) AS DOUBLE) AS value,
  CAST(QUANTILE_CONT(cycle_time_hours, 0.9) AS DOUBLE) AS p90_hours
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', order_date) AS DATE) AS period
  FROM order_lines
  WHERE
    order_date <= $as_of AND CAST(location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  location_id,
  period
ORDER BY
  location_id,
  period
