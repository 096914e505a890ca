-- kpi: carrier_on_time_rate v1 (draft, content e07af6fdf62c)
-- model: freight_moves (one row per freight shipment); reads: freight_shipments, locations, shipments
-- type: ratio; time dimension: promised_delivery_date
-- parameters (bound): as_of
-- grain: week; by: carrier_id; filters: carrier_id
-- models inlined: freight_moves, pruned to the columns this query reads
WITH freight_moves AS (
  WITH origin AS (
    SELECT
      shipments.shipment_id AS shipment_id
    FROM shipments AS shipments
    GROUP BY
      shipments.shipment_id
  ), judged AS (
    SELECT
      f.carrier_id AS carrier_id,
      f.promised_delivery_ts AS promised_delivery_ts,
      f.promised_delivery_ts_local_date AS promised_delivery_ts_local_date,
      f.actual_delivery_ts AS actual_delivery_ts,
      NOT f.actual_delivery_ts IS NULL AND f.actual_delivery_ts_local_date < $as_of AS delivered
    FROM freight_shipments AS f
    LEFT JOIN origin AS o
      ON o.shipment_id = f.shipment_id
    WHERE
      f.status <> 'cancelled'
  )
  SELECT
    j.carrier_id AS carrier_id,
    j.promised_delivery_ts_local_date AS promised_delivery_date,
    CAST(j.delivered OR j.promised_delivery_ts_local_date < $as_of AS INT) AS is_delivery_due,
    CAST(j.delivered AND j.actual_delivery_ts <= j.promised_delivery_ts AS INT) AS is_delivered_on_time
  FROM judged AS j
)
SELECT
  kpi_rows.carrier_id AS carrier_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_delivered_on_time) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_delivery_due) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_delivered_on_time) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_delivery_due) AS DOUBLE), 0) AS value
FROM (
  SELECT
    freight_moves.carrier_id AS carrier_id,
    freight_moves.is_delivery_due AS is_delivery_due,
    freight_moves.is_delivered_on_time AS is_delivered_on_time,
    CAST(DATE_TRUNC('WEEK', freight_moves.promised_delivery_date) AS DATE) AS period
  FROM freight_moves AS freight_moves
  WHERE
    freight_moves.promised_delivery_date <= $as_of
    AND CAST(freight_moves.carrier_id AS TEXT) = $filter_carrier_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.carrier_id,
  kpi_rows.period
ORDER BY
  carrier_id,
  period
