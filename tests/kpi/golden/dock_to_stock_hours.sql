-- kpi: dock_to_stock_hours v1 (draft, content 1248ccd8f0fb)
-- model: receipt_lines (one row per receipt line); reads: items, locations, purchase_order_lines, receipts
-- type: quantile; time dimension: arrived_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
WITH receipt_lines AS (
  SELECT
    r.receipt_id,
    r.line_no,
    r.location_id,
    l.entity_id,
    r.item_id,
    i.abc_class,
    p.supplier_id,
    r.arrived_ts_local_date AS arrived_date,
    CASE
      WHEN NOT r.putaway_ts IS NULL AND r.putaway_ts_local_date < $as_of
      THEN EPOCH(r.putaway_ts - r.arrived_ts) / 3600.0
    END AS dock_to_stock_hours, /* only put-away lines count */
    CAST((
      r.putaway_ts IS NULL OR r.putaway_ts_local_date >= $as_of
    )
    AND /* as_of 00:00 at the location, as a UTC instant */ r.arrived_ts + INTERVAL '48' HOUR < TIMEZONE('UTC', TIMEZONE(l.timezone, CAST(CAST($as_of AS DATE) AS TIMESTAMP))) AS INT) AS is_waiting_over_48h
  FROM receipts AS r
  LEFT JOIN locations AS l
    ON l.location_id = r.location_id
  LEFT JOIN items AS i
    ON i.item_id = r.item_id
  LEFT JOIN purchase_order_lines AS p
    ON p.po_id = r.po_id AND p.line_no = r.po_line_no
  WHERE
    r.arrived_ts_local_date < $as_of
)
SELECT
  location_id,
  period,
  CAST(MEDIAN(dock_to_stock_hours) AS DOUBLE) AS value,
  CAST(QUANTILE_CONT(dock_to_stock_hours, 0.9) AS DOUBLE) AS p90_hours,
  CAST(SUM(is_waiting_over_48h) AS DOUBLE) AS waiting_over_48h
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', arrived_date) AS DATE) AS period
  FROM receipt_lines
  WHERE
    arrived_date <= $as_of AND CAST(location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  location_id,
  period
ORDER BY
  location_id,
  period
