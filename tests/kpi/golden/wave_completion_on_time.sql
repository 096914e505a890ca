-- kpi: wave_completion_on_time v1 (draft, content 51f83f757bf4)
-- model: wave_units (one row per wave, or per WMS shipment at a location without waves); reads: freight_shipments, locations, shipments, waves
-- type: ratio; time dimension: planned_complete_date
-- parameters (bound): as_of, release_window_minutes
-- grain: week; by: location_id; filters: location_id
WITH wave_units AS (
  WITH wave_rows AS (
    SELECT
      'wave' AS unit_kind,
      w.wave_id AS unit_id,
      w.location_id,
      w.planned_release_ts_local_date AS planned_release_date,
      w.planned_complete_ts_local_date AS planned_complete_date,
      w.planned_release_ts_local_date < $as_of AS release_due,
      w.released_ts_local_date /* released within the window, inclusive at both ends; never released is a miss */ < $as_of
      AND w.released_ts >= w.planned_release_ts - TO_MINUTES(CAST($release_window_minutes AS INT))
      AND w.released_ts <= w.planned_release_ts + TO_MINUTES(CAST($release_window_minutes AS INT)) AS released_on_time,
      w.planned_complete_ts_local_date < $as_of OR w.completed_ts_local_date < $as_of AS completion_due,
      w.completed_ts_local_date < $as_of AND w.completed_ts <= w.planned_complete_ts AS completed_on_time
    FROM waves AS w
    WHERE
      w.status <> 'cancelled'
  ), wms_shipments AS (
    /* a WMS shipment leaves when its last line ships */
    SELECT
      shipment_id,
      MIN(location_id) AS location_id,
      MAX(shipped_ts) AS shipped_ts,
      MAX(shipped_ts_local_date) AS shipped_date
    FROM shipments
    GROUP BY
      shipment_id
  ), cutoffs AS (
    SELECT
      shipment_id,
      MIN(planned_pickup_ts) AS planned_pickup_ts,
      MIN(planned_pickup_ts_local_date) AS planned_pickup_date
    FROM freight_shipments
    WHERE
      status <> 'cancelled'
    GROUP BY
      shipment_id
  ), shipment_rows AS (
    SELECT
      'shipment' AS unit_kind,
      s.shipment_id AS unit_id,
      s.location_id,
      f.planned_pickup_date AS planned_release_date, /* without waves, release and completion are both judged at the carrier cutoff */
      f.planned_pickup_date AS planned_complete_date,
      f.planned_pickup_date < $as_of OR s.shipped_date < $as_of AS release_due,
      s.shipped_date < $as_of AND s.shipped_ts <= f.planned_pickup_ts AS released_on_time,
      f.planned_pickup_date < $as_of OR s.shipped_date < $as_of AS completion_due,
      s.shipped_date < $as_of AND s.shipped_ts <= f.planned_pickup_ts AS completed_on_time
    FROM wms_shipments AS s
    JOIN locations AS l
      ON l.location_id = s.location_id AND NOT l.wave_based
    JOIN cutoffs AS f
      ON f.shipment_id = s.shipment_id
  ), units AS (
    SELECT
      *
    FROM wave_rows
    UNION ALL
    SELECT
      *
    FROM shipment_rows
  )
  SELECT
    u.unit_id,
    u.unit_kind,
    u.location_id,
    l.entity_id,
    u.planned_release_date,
    u.planned_complete_date,
    CAST(COALESCE(u.release_due, FALSE) AS INT) AS is_release_due,
    CAST(COALESCE(u.release_due AND u.released_on_time, FALSE) AS INT) AS is_released_on_time,
    CAST(COALESCE(u.completion_due, FALSE) AS INT) AS is_completion_due,
    CAST(COALESCE(u.completion_due AND u.completed_on_time, FALSE) AS INT) AS is_completed_on_time
  FROM units AS u
  LEFT JOIN locations AS l
    ON l.location_id = u.location_id
)
SELECT
  location_id,
  period,
  CAST(SUM(is_completed_on_time) AS DOUBLE) AS numerator,
  CAST(SUM(is_completion_due) AS DOUBLE) AS denominator,
  CAST(SUM(is_completed_on_time) AS DOUBLE) / NULLIF(CAST(SUM(is_completion_due) AS DOUBLE), 0) AS value
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', planned_complete_date) AS DATE) AS period
  FROM wave_units
  WHERE
    planned_complete_date <= $as_of
    AND CAST(location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  location_id,
  period
ORDER BY
  location_id,
  period
