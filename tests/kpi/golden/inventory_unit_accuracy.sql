-- kpi: inventory_unit_accuracy v1 (draft, content bc9615a2a04b)
-- model: inventory_counts (one row per cycle count); reads: cycle_counts, items, locations
-- type: derived; time dimension: counted_date
-- parameters (bound): as_of, tolerance_a, tolerance_b, tolerance_c
-- grain: week; by: location_id; filters: location_id
WITH inventory_counts AS (
  WITH judged AS (
    SELECT
      c.*,
      l.entity_id,
      i.abc_class,
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
    LEFT JOIN locations AS l
      ON l.location_id = c.location_id
    WHERE
      c.counted_at_local_date < $as_of
  )
  SELECT
    count_id,
    location_id,
    entity_id,
    item_id,
    abc_class,
    counter_id,
    counted_at_local_date AS counted_date,
    1 AS is_count,
    CAST(CASE
      WHEN system_qty = 0
      THEN counted_qty = 0
      ELSE abs_variance <= tolerance * system_qty
    END AS INT) AS is_accurate,
    abs_variance AS abs_variance_units,
    system_qty AS system_units
  FROM judged
)
SELECT
  location_id,
  period,
  (
    1 - CAST(SUM(abs_variance_units) AS DOUBLE) / NULLIF(CAST(SUM(system_units) AS DOUBLE), 0)
  ) AS value
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', counted_date) AS DATE) AS period
  FROM inventory_counts
  WHERE
    counted_date <= $as_of AND CAST(location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  location_id,
  period
ORDER BY
  location_id,
  period
