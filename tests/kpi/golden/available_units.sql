-- kpi: available_units v1 (draft, content 08d0a3fb007c)
-- model: stock_days (one row per item-location-day snapshot); reads: inventory_snapshots, items, locations, shipments
-- type: semi_additive; time dimension: snapshot_date
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
    d.available_qty AS available_units
  FROM days AS d
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.available_units) AS DOUBLE) AS value
FROM (
  SELECT
    _rows.location_id AS location_id,
    _rows.available_units AS available_units,
    _rows.period AS period
  FROM (
    SELECT
      stock_days.snapshot_date AS snapshot_date,
      stock_days.location_id AS location_id,
      stock_days.available_units AS available_units,
      CAST(DATE_TRUNC('WEEK', stock_days.snapshot_date) AS DATE) AS period,
      MAX(
        CASE WHEN NOT stock_days.available_units IS NULL THEN stock_days.snapshot_date END
      ) OVER (
        PARTITION BY stock_days.location_id, CAST(DATE_TRUNC('WEEK', stock_days.snapshot_date) AS DATE)
      ) AS _last_snapshot
    FROM stock_days AS stock_days
    WHERE
      stock_days.snapshot_date <= $as_of
      AND CAST(stock_days.location_id AS TEXT) = $filter_location_id_0
  ) AS _rows
  WHERE
    _rows.snapshot_date = _rows._last_snapshot
) AS kpi_rows
GROUP BY
  kpi_rows.location_id,
  kpi_rows.period
ORDER BY
  location_id,
  period
