-- kpi: dock_to_stock_hours v1 (draft, content 489cffb8b508)
-- model: receipt_lines (one row per receipt line); reads: items, locations, purchase_order_lines, receipts
-- type: quantile; time dimension: arrived_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: receipt_lines, pruned to the columns this query reads
WITH receipt_lines AS (
  SELECT
    r.location_id AS location_id,
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
  WHERE
    r.arrived_ts_local_date < $as_of
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(MEDIAN(kpi_rows.dock_to_stock_hours) AS DOUBLE) AS value,
  CAST(QUANTILE_CONT(kpi_rows.dock_to_stock_hours, 0.9) AS DOUBLE) AS p90_hours,
  CAST(SUM(kpi_rows.is_waiting_over_48h) AS DOUBLE) AS waiting_over_48h
FROM (
  SELECT
    receipt_lines.location_id AS location_id,
    receipt_lines.dock_to_stock_hours AS dock_to_stock_hours,
    receipt_lines.is_waiting_over_48h AS is_waiting_over_48h,
    CAST(DATE_TRUNC('WEEK', receipt_lines.arrived_date) AS DATE) AS period
  FROM receipt_lines AS receipt_lines
  WHERE
    receipt_lines.arrived_date <= $as_of
    AND CAST(receipt_lines.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
