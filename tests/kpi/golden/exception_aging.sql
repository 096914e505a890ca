-- kpi: exception_aging v1 (certified, content de2605745bdc)
-- model: open_exceptions (one row per open exception); reads: exc.queue_items
-- type: ratio; time dimension: as_of_date
-- parameters (bound): as_of
-- grain: week; by: exception_type; filters: exception_type
-- models inlined: open_exceptions, whole
WITH open_exceptions AS (
  WITH open_items AS (
    SELECT
      q.*,
      CAST(CAST($as_of AS DATE) AS TIMESTAMP) AS at_ts
    FROM exc.queue_items AS q
    WHERE
      q.created_at < CAST(CAST($as_of AS DATE) AS TIMESTAMP)
      AND (
        q.resolved_at >= CAST(CAST($as_of AS DATE) AS TIMESTAMP)
        OR (
          q.resolved_at IS NULL AND q.status <> 'resolved'
        )
      )
  ), aged AS (
    SELECT
      *,
      CAST(FLOOR(EPOCH(at_ts - created_at) / 86400) AS INT) AS age,
      CAST(FLOOR(EPOCH(at_ts - COALESCE(last_action_at, created_at)) / 86400) AS INT) AS idle
    FROM open_items
  )
  SELECT
    id AS exception_id,
    type AS exception_type,
    severity,
    owner_role,
    location_id,
    entity_id,
    CAST(at_ts AS DATE) AS as_of_date,
    1 AS is_open,
    CAST(COALESCE(
      created_at + TO_MICROSECONDS(CAST(sla_hours * 3600000000 AS BIGINT)) < at_ts,
      FALSE
    ) AS INT) AS is_past_sla,
    age AS age_days,
    idle AS days_since_last_action,
    CASE
      WHEN age <= 3
      THEN '0-3'
      WHEN age <= 7
      THEN '4-7'
      WHEN age <= 14
      THEN '8-14'
      WHEN age <= 30
      THEN '15-30'
      ELSE '31+'
    END AS age_bucket
  FROM aged
)
SELECT
  exception_type,
  period,
  CAST(SUM(is_past_sla) AS DOUBLE) AS numerator,
  CAST(SUM(is_open) AS DOUBLE) AS denominator,
  CAST(SUM(is_past_sla) AS DOUBLE) / NULLIF(CAST(SUM(is_open) AS DOUBLE), 0) AS value,
  CAST(MEDIAN(age_days) AS DOUBLE) AS median_age_days,
  CAST(MEDIAN(days_since_last_action) AS DOUBLE) AS median_days_since_last_action,
  CAST(SUM(CASE WHEN age_days <= 3 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_0_3,
  CAST(SUM(CASE WHEN age_days BETWEEN 4 AND 7 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_4_7,
  CAST(SUM(CASE WHEN age_days BETWEEN 8 AND 14 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_8_14,
  CAST(SUM(CASE WHEN age_days BETWEEN 15 AND 30 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_15_30,
  CAST(SUM(CASE WHEN age_days >= 31 THEN 1 ELSE 0 END) AS DOUBLE) AS aged_31_plus
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', as_of_date) AS DATE) AS period
  FROM open_exceptions
  WHERE
    as_of_date <= $as_of AND CAST(exception_type AS TEXT) = $filter_exception_type_0
) AS kpi_rows
GROUP BY
  exception_type,
  period
ORDER BY
  exception_type,
  period
