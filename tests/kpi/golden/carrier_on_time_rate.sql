-- kpi: carrier_on_time_rate v1 (draft, content a02978ef8a68)
-- model: freight_moves (one row per freight shipment); reads: freight_shipments, locations, shipments
-- type: ratio; time dimension: promised_delivery_date
-- parameters (bound): as_of
-- grain: week; by: carrier_id; filters: carrier_id
WITH freight_moves AS (
  WITH origin AS (
    SELECT
      shipment_id,
      MIN(location_id) AS location_id
    FROM shipments
    GROUP BY
      shipment_id
  ), judged AS (
    SELECT
      f.*,
      o.location_id,
      NOT f.actual_delivery_ts IS NULL AND f.actual_delivery_ts_local_date < $as_of AS delivered,
      NOT f.actual_freight_cost IS NULL
      AND NOT f.actual_pickup_ts IS NULL
      AND f.actual_pickup_ts_local_date < $as_of AS costed
    FROM freight_shipments AS f
    LEFT JOIN origin AS o
      ON o.shipment_id = f.shipment_id
    WHERE
      f.status <> 'cancelled'
  )
  SELECT
    j.tms_shipment_id,
    j.carrier_id,
    j.mode,
    j.service_level,
    j.location_id,
    l.entity_id,
    j.promised_delivery_ts_local_date AS promised_delivery_date,
    CASE WHEN j.costed THEN j.actual_pickup_ts_local_date END AS actual_pickup_date,
    CAST(j.delivered OR j.promised_delivery_ts_local_date < $as_of AS INT) AS is_delivery_due,
    CAST(j.delivered AND j.actual_delivery_ts <= j.promised_delivery_ts AS INT) AS is_delivered_on_time,
    CASE WHEN j.costed THEN j.planned_freight_cost ELSE 0 END AS planned_cost,
    CASE WHEN j.costed THEN j.actual_freight_cost ELSE 0 END AS actual_cost,
    CASE WHEN j.costed THEN j.actual_freight_cost - j.planned_freight_cost ELSE 0 END AS cost_variance,
    CASE WHEN j.costed AND j.expedited THEN j.actual_freight_cost ELSE 0 END AS expedited_actual_cost
  FROM judged AS j
  LEFT JOIN locations AS l
    ON l.location_id = j.location_id
)
SELECT
  carrier_id,
  period,
  CAST(SUM(is_delivered_on_time) AS DOUBLE) AS numerator,
  CAST(SUM(is_delivery_due) AS DOUBLE) AS denominator,
  CAST(SUM(is_delivered_on_time) AS DOUBLE) / NULLIF(CAST(SUM(is_delivery_due) AS DOUBLE), 0) AS value
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', promised_delivery_date) AS DATE) AS period
  FROM freight_moves
  WHERE
    promised_delivery_date <= $as_of
    AND CAST(carrier_id AS TEXT) = $filter_carrier_id_0
) AS kpi_rows
GROUP BY
  carrier_id,
  period
ORDER BY
  carrier_id,
  period
