-- kpi: stockout_rate v1 (draft, content 1e87f2cdc154)
-- model: stock_days (one row per item-location-day snapshot); reads: inventory_snapshots, items, locations, shipments
-- type: ratio; time dimension: snapshot_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: stock_days, pruned to the columns this query reads
WITH stock_days AS (
  WITH snaps AS (
    SELECT
      inventory_snapshots.snapshot_date AS snapshot_date,
      inventory_snapshots.location_id AS location_id,
      inventory_snapshots.item_id AS item_id,
      inventory_snapshots.on_hand_qty - inventory_snapshots.allocated_qty - inventory_snapshots.quarantined_qty AS available_qty
    FROM inventory_snapshots AS inventory_snapshots
    WHERE
      inventory_snapshots.snapshot_date < $as_of
  ), shipped AS (
    SELECT
      shipments.shipped_ts_local_date AS snapshot_date,
      shipments.location_id AS location_id,
      shipments.item_id AS item_id
    FROM shipments AS shipments
    WHERE
      shipments.shipped_ts_local_date < $as_of
    GROUP BY ALL
  ), days AS (
    SELECT
      COALESCE(s.snapshot_date, h.snapshot_date) AS snapshot_date,
      COALESCE(s.location_id, h.location_id) AS location_id,
      NOT s.snapshot_date IS NULL AS has_snap,
      s.available_qty AS available_qty
    FROM snaps AS s
    FULL OUTER JOIN shipped AS h
      ON h.snapshot_date = s.snapshot_date
      AND h.location_id = s.location_id
      AND h.item_id = s.item_id
  )
  SELECT
    d.snapshot_date AS snapshot_date,
    d.location_id AS location_id,
    CAST(d.has_snap AS INT) AS has_snapshot,
    CAST(COALESCE(d.available_qty <= 0, FALSE) AS INT) AS is_stockout /* exactly zero available is a stockout */
  FROM days AS d
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_stockout) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.has_snapshot) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_stockout) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.has_snapshot) AS DOUBLE), 0) AS value
FROM (
  SELECT
    stock_days.location_id AS location_id,
    stock_days.has_snapshot AS has_snapshot,
    stock_days.is_stockout AS is_stockout,
    CAST(DATE_TRUNC('WEEK', stock_days.snapshot_date) AS DATE) AS period
  FROM stock_days AS stock_days
  WHERE
    stock_days.snapshot_date <= $as_of
    AND CAST(stock_days.location_id AS TEXT) = $filter_location_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
