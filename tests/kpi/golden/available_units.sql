-- kpi: available_units v1 (draft, content a8ef2fe925ec)
-- model: stock_days (one row per item-location-day snapshot); reads: inventory_snapshots, items, locations, shipments
-- type: semi_additive; time dimension: snapshot_date
-- parameters (bound): as_of
-- grain: week; by: location_id; filters: location_id
WITH stock_days AS (
  WITH snaps AS (
    SELECT
      snapshot_date,
      location_id,
      item_id,
      on_hand_qty,
      on_hand_qty - allocated_qty - quarantined_qty AS available_qty
    FROM inventory_snapshots
    WHERE
      snapshot_date < $as_of
  ), shipped AS (
    SELECT
      shipped_ts_local_date AS snapshot_date,
      location_id,
      item_id,
      SUM(shipped_qty) AS shipped_qty
    FROM shipments
    WHERE
      shipped_ts_local_date < $as_of
    GROUP BY ALL
  ), days AS (
    SELECT
      COALESCE(s.snapshot_date, h.snapshot_date) AS snapshot_date,
      COALESCE(s.location_id, h.location_id) AS location_id,
      COALESCE(s.item_id, h.item_id) AS item_id,
      NOT s.snapshot_date IS NULL AS has_snap,
      s.on_hand_qty,
      s.available_qty,
      COALESCE(h.shipped_qty, 0) AS shipped_qty
    FROM snaps AS s
    FULL OUTER JOIN shipped AS h
      ON h.snapshot_date = s.snapshot_date
      AND h.location_id = s.location_id
      AND h.item_id = s.item_id
  )
  SELECT
    d.snapshot_date,
    d.location_id,
    l.entity_id,
    d.item_id,
    i.abc_class,
    i.category,
    CAST(d.has_snap AS INT) AS has_snapshot,
    CAST(COALESCE(d.available_qty <= 0, FALSE) AS INT) AS is_stockout, /* exactly zero available is a stockout */
    d.available_qty AS available_units,
    d.on_hand_qty AS on_hand_units,
    COALESCE(d.on_hand_qty, 0) * i.unit_cost AS inventory_value,
    d.shipped_qty * i.unit_cost AS cogs
  FROM days AS d
  LEFT JOIN items AS i
    ON i.item_id = d.item_id
  LEFT JOIN locations AS l
    ON l.location_id = d.location_id
)
SELECT
  location_id,
  period,
  CAST(SUM(available_units) AS DOUBLE) AS value
FROM (
  SELECT
    *
  FROM (
    SELECT
      *,
      CAST(DATE_TRUNC('WEEK', snapshot_date) AS DATE) AS period,
      MAX(CASE WHEN NOT available_units IS NULL THEN snapshot_date END) OVER (PARTITION BY location_id, CAST(DATE_TRUNC('WEEK', snapshot_date) AS DATE)) AS _last_snapshot
    FROM stock_days
    WHERE
      snapshot_date <= $as_of AND CAST(location_id AS TEXT) = $filter_location_id_0
  ) AS _rows
  WHERE
    snapshot_date = _last_snapshot
) AS kpi_rows
GROUP BY
  location_id,
  period
ORDER BY
  location_id,
  period
