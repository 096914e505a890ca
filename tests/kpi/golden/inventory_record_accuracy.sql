-- kpi: inventory_record_accuracy v1 (certified, content 2547e9cb829a)
-- model: inventory_counts (one row per cycle count); reads: cycle_counts, items, locations
-- type: ratio; time dimension: counted_date
-- parameters (bound): as_of, tolerance_a, tolerance_b, tolerance_c
-- grain: week; by: location_id; filters: location_id
-- models inlined: inventory_counts, pruned to the columns this query reads
WITH inventory_counts AS (
  WITH judged AS (
    SELECT
      c.location_id AS location_id,
      c.counted_at_local_date AS counted_at_local_date,
      c.system_qty AS system_qty,
      c.counted_qty AS counted_qty,
      ABS(c.counted_qty - c.system_qty) AS abs_variance,
      CAST(CASE i.abc_class
        WHEN 'A'
        THEN $tolerance_a
        WHEN 'B'
        THEN $tolerance_b
        ELSE $tolerance_c
      END AS DECIMAL(9, 6)) AS tolerance
    FROM cycle_counts AS c
    LEFT JOIN items AS i
      ON i.item_id = c.item_id
    WHERE
      c.counted_at_local_date < $as_of
  )
  SELECT
    judged.location_id AS location_id,
    judged.counted_at_local_date AS counted_date,
    1 AS is_count,
    CAST(CASE
      WHEN judged.system_qty = 0
      THEN judged.counted_qty = 0
      ELSE judged.abs_variance <= judged.tolerance * judged.system_qty
    END AS INT) AS is_accurate
  FROM judged AS judged
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_accurate) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_count) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_accurate) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_count) AS DOUBLE), 0) AS value
FROM (
  SELECT
    inventory_counts.location_id AS location_id,
    inventory_counts.is_count AS is_count,
    inventory_counts.is_accurate AS is_accurate,
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
