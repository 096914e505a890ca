-- kpi: wave_completion_on_time v1 (draft, content dc3769ac9167)
-- model: wave_units (one row per wave, or per WMS shipment at a location without waves); reads: freight_shipments, locations, shipments, waves
-- type: ratio; time dimension: planned_complete_date
-- parameters (bound): as_of, release_window_minutes
-- grain: week; by: location_id; filters: location_id
-- models inlined: wave_units, pruned to the columns this query reads
WITH wave_units AS (
  WITH wave_rows AS (
    SELECT
      w.location_id AS location_id,
      w.planned_complete_ts_local_date AS planned_complete_date,
      w.planned_complete_ts_local_date < $as_of OR w.completed_ts_local_date < $as_of AS completion_due,
      w.completed_ts_local_date < $as_of AND w.completed_ts <= w.planned_complete_ts AS completed_on_time
    FROM waves AS w
    WHERE
      w.status <> 'cancelled'
  ), wms_shipments AS (
    /* a WMS shipment leaves when its last line ships */
    SELECT
      shipments.shipment_id AS shipment_id,
      MIN(shipments.location_id) AS location_id,
      MAX(shipments.shipped_ts) AS shipped_ts,
      MAX(shipments.shipped_ts_local_date) AS shipped_date
    FROM shipments AS shipments
    GROUP BY
      shipments.shipment_id
  ), cutoffs AS (
    SELECT
      freight_shipments.shipment_id AS shipment_id,
      MIN(freight_shipments.planned_pickup_ts) AS planned_pickup_ts,
      MIN(freight_shipments.planned_pickup_ts_local_date) AS planned_pickup_date
    FROM freight_shipments AS freight_shipments
    WHERE
      freight_shipments.status <> 'cancelled'
    GROUP BY
      freight_shipments.shipment_id
  ), shipment_rows AS (
    SELECT
      s.location_id AS location_id,
      f.planned_pickup_date AS planned_complete_date,
      f.planned_pickup_date < $as_of OR s.shipped_date < $as_of AS completion_due,
      s.shipped_date < $as_of AND s.shipped_ts <= f.planned_pickup_ts AS completed_on_time
    FROM wms_shipments AS s
    JOIN locations AS l
      ON l.location_id = s.location_id AND NOT l.wave_based
    JOIN cutoffs AS f
      ON f.shipment_id = s.shipment_id
  ), units AS (
    SELECT
      wave_rows.location_id AS location_id,
      wave_rows.planned_complete_date AS planned_complete_date,
      wave_rows.completion_due AS completion_due,
      wave_rows.completed_on_time AS completed_on_time
    FROM wave_rows AS wave_rows
    UNION ALL
    SELECT
      shipment_rows.location_id AS location_id,
      shipment_rows.planned_complete_date AS planned_complete_date,
      shipment_rows.completion_due AS completion_due,
      shipment_rows.completed_on_time AS completed_on_time
    FROM shipment_rows AS shipment_rows
  )
  SELECT
    u.location_id AS location_id,
    u.planned_complete_date AS planned_complete_date,
    CAST(COALESCE(u.completion_due, FALSE) AS INT) AS is_completion_due,
    CAST(COALESCE(u.completion_due AND u.completed_on_time, FALSE) AS INT) AS is_completed_on_time
  FROM units AS u
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_completed_on_time) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_completion_due) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_completed_on_time) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_completion_due) AS DOUBLE), 0) AS value
FROM (
  SELECT
    wave_units.location_id AS location_id,
    wave_units.is_completion_due AS is_completion_due,
    wave_units.is_completed_on_time AS is_completed_on_time,
    CAST(DATE_TRUNC('WEEK', wave_units.planned_complete_date) AS DATE) AS period
  FROM wave_units AS wave_units
  WHERE
    wave_units.planned_complete_date <= $as_of
    AND CAST(wave_units.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
