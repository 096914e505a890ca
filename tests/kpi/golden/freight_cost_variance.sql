-- kpi: freight_cost_variance v1 (draft, content 0d28be22c987)
-- model: freight_moves (one row per freight shipment); reads: freight_shipments, locations, shipments
-- type: ratio; time dimension: actual_pickup_date
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
      f.actual_pickup_ts_local_date AS actual_pickup_ts_local_date,
      f.planned_freight_cost AS planned_freight_cost,
      f.actual_freight_cost AS actual_freight_cost,
      f.expedited AS expedited,
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
    j.carrier_id AS carrier_id,
    CASE WHEN j.costed THEN j.actual_pickup_ts_local_date END AS actual_pickup_date,
    CASE WHEN j.costed THEN j.planned_freight_cost ELSE 0 END AS planned_cost,
    CASE WHEN j.costed THEN j.actual_freight_cost ELSE 0 END AS actual_cost,
    CASE WHEN j.costed THEN j.actual_freight_cost - j.planned_freight_cost ELSE 0 END AS cost_variance,
    CASE WHEN j.costed AND j.expedited THEN j.actual_freight_cost ELSE 0 END AS expedited_actual_cost
  FROM judged AS j
)
SELECT
  kpi_rows.carrier_id AS carrier_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.cost_variance) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.planned_cost) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.cost_variance) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.planned_cost) AS DOUBLE), 0) AS value,
  CAST(SUM(kpi_rows.expedited_actual_cost) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.actual_cost) AS DOUBLE), 0) AS expedited_share
FROM (
  SELECT
    freight_moves.carrier_id AS carrier_id,
    freight_moves.planned_cost AS planned_cost,
    freight_moves.actual_cost AS actual_cost,
    freight_moves.cost_variance AS cost_variance,
    freight_moves.expedited_actual_cost AS expedited_actual_cost,
    CAST(DATE_TRUNC('WEEK', freight_moves.actual_pickup_date) AS DATE) AS period
  FROM freight_moves AS freight_moves
  WHERE
    freight_moves.actual_pickup_date <= $as_of
    AND CAST(freight_moves.carrier_id AS TEXT) = $filter_carrier_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.carrier_id,
  kpi_rows.period
ORDER BY
  carrier_id,
  period
