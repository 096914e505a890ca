-- kpi: inventory_turns v1 (draft, content 5a5a51a564f9)
-- model: stock_days (one row per item-location-day snapshot); reads: inventory_snapshots, items, locations, shipments
-- type: derived; time dimension: snapshot_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
-- models inlined: stock_days, pruned to the columns this query reads
WITH stock_days AS (
  WITH snaps AS (
    SELECT
      inventory_snapshots.snapshot_date AS snapshot_date,
      inventory_snapshots.location_id AS location_id,
      inventory_snapshots.item_id AS item_id,
      inventory_snapshots.on_hand_qty AS on_hand_qty
    FROM inventory_snapshots AS inventory_snapshots
    WHERE
      inventory_snapshots.snapshot_date < $as_of
  ), shipped AS (
    SELECT
      shipments.shipped_ts_local_date AS snapshot_date,
      shipments.location_id AS location_id,
      shipments.item_id AS item_id,
      SUM(shipments.shipped_qty) AS shipped_qty
    FROM shipments AS shipments
    WHERE
      shipments.shipped_ts_local_date < $as_of
    GROUP BY ALL
  ), days AS (
    SELECT
      COALESCE(s.snapshot_date, h.snapshot_date) AS snapshot_date,
      COALESCE(s.location_id, h.location_id) AS location_id,
      COALESCE(s.item_id, h.item_id) AS item_id,
      s.on_hand_qty AS on_hand_qty,
      COALESCE(h.shipped_qty, 0) AS shipped_qty
    FROM snaps AS s
    FULL OUTER JOIN shipped AS h
      ON h.snapshot_date = s.snapshot_date
      AND h.location_id = s.location_id
      AND h.item_id = s.item_id
  )
  SELECT
    d.snapshot_date AS snapshot_date,
    d.location_id AS location_id,
    COALESCE(d.on_hand_qty, 0) * i.unit_cost AS inventory_value,
    d.shipped_qty * i.unit_cost AS cogs
  FROM days AS d
  LEFT JOIN items AS i
    ON i.item_id = d.item_id
)
SELECT
  kpi_rows.location_id AS location_id,
  kpi_rows.period AS period,
  (
    365 * CAST(SUM(kpi_rows.cogs) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.inventory_value) AS DOUBLE), 0)
  ) AS value
FROM (
  SELECT
    stock_days.location_id AS location_id,
    stock_days.inventory_value AS inventory_value,
    stock_days.cogs AS cogs,
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
