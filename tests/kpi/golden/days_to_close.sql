-- kpi: days_to_close v1 (draft, content 687b1dcc465e)
-- model: close_periods (one row per entity-period); reads: close_tasks
-- type: ratio; time dimension: period_end_date
-- parameters (bound): as_of
-- grain: week; by: entity_id; filters: entity_id
-- models inlined: close_periods, whole
WITH close_periods AS (
  WITH tasks AS (
    SELECT
      entity_id,
      period,
      due_date,
      CASE WHEN completed_at_local_date < $as_of THEN completed_at_local_date END AS done_date
    FROM close_tasks
  ), periods AS (
    SELECT
      entity_id,
      period,
      LAST_DAY(CAST(STRPTIME(period || '-01', '%Y-%m-%d') AS DATE)) AS period_end_date,
      BOOL_AND(CAST(NOT done_date IS NULL AS BOOLEAN)) AS closed,
      MAX(done_date) AS last_done_date,
      COUNT(*) FILTER(WHERE
        due_date < $as_of OR NOT done_date IS NULL) AS tasks_due,
      COUNT(*) FILTER(WHERE
        NOT done_date IS NULL AND done_date <= due_date) AS tasks_on_time
    FROM tasks
    GROUP BY
      entity_id,
      period
  ), counted AS (
    SELECT
      *,
      CASE WHEN closed THEN last_done_date ELSE CAST($as_of AS DATE) END AS counted_to
    FROM periods
  )
  SELECT
    entity_id,
    period AS close_period,
    period_end_date,
    CAST(period_end_date < $as_of AS INT) AS is_period_ended,
    CAST(closed AS INT) AS is_closed,
    CASE
      WHEN period_end_date < $as_of
      THEN (
        SELECT
          COUNT(*)
        FROM GENERATE_SERIES(period_end_date + 1, counted_to, INTERVAL '1' DAY) AS g(d)
        WHERE
          ISODOW(g.d) <= 5
      )
      ELSE 0
    END AS business_days_to_close,
    tasks_due,
    tasks_on_time
  FROM counted
)
SELECT
  entity_id,
  period,
  CAST(SUM(business_days_to_close) AS DOUBLE) AS numerator,
  CAST(SUM(is_period_ended) AS DOUBLE) AS denominator,
  CAST(SUM(business_days_to_close) AS DOUBLE) / NULLIF(CAST(SUM(is_period_ended) AS DOUBLE), 0) AS value,
  CAST(SUM(tasks_on_time) AS DOUBLE) / NULLIF(CAST(SUM(tasks_due) AS DOUBLE), 0) AS close_task_on_time_rate
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', period_end_date) AS DATE) AS period
  FROM close_periods
  WHERE
    period_end_date <= $as_of AND CAST(entity_id AS TEXT) = $filter_entity_id_0
) AS kpi_rows
GROUP BY
  entity_id,
  period
ORDER BY
  entity_id,
  period
