-- kpi: inventory_unit_accuracy v1 (draft, content febcc32778be)
-- model: inventory_counts (one row per cycle count); reads: cycle_counts, items, locations
-- type: derived; time dimension: counted_date
-- parameters (bound): as_of, tolerance_a, tolerance_b, tolerance_c
-- grain: week; by: location_id; filters: location_id
-- models inlined: inventory_counts, pruned to the columns this query reads
WITH inventory_counts AS (
  WITH judged AS (
    SELECT
      c.location_id AS location_id,
      c.counted_at_local_date AS counted_at_local_date,
      c.system_qty AS system_qty,
      ABS(c.counted_qty - c.system_qty) AS abs_variance
    FROM cycle_counts AS c
    WHERE
      c.counted_at_local_date < $as_of
  )
  SELECT
    judged.location_id AS location_id,
    judged.counted_at_local_date AS counted_date,
    judged.abs_variance AS abs_variance_units,
    judged.system_qty AS system_units
  FROM judged AS judged
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  (
    1 - CAST(SUM(kpi_rows.abs_variance_units) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.system_units) AS DOUBLE), 0)
  ) AS value
FROM (
  SELECT
    inventory_counts.location_id AS location_id,
    inventory_counts.abs_variance_units AS abs_variance_units,
    inventory_counts.system_units AS system_units,
    CAST(DATE_TRUNC('WEEK', inventory_counts.counted_date) AS DATE) AS period
  FROM inventory_counts AS inventory_counts
  WHERE
    inventory_counts.counted_date <= $as_of
    AND CAST(inventory_counts.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
