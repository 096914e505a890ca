-- kpi: invoice_first_pass_match_rate v1 (draft, content a0505070abe2)
-- model: invoice_lines (one row per AP invoice line); reads: ap_invoice_lines, purchase_order_lines
-- type: ratio; time dimension: invoice_date
-- parameters (bound): as_of
-- grain: week; by: entity_id; filters: entity_id
WITH invoice_lines AS (
  WITH judged AS (
    SELECT
      a.*,
      p.location_id,
      COALESCE(a.po_id, '') <> '' AND a.match_status <> 'pending' AS matchable
    FROM ap_invoice_lines AS a
    LEFT JOIN purchase_order_lines AS p
      ON p.po_id = a.po_id AND p.line_no = a.po_line_no
    WHERE
      a.invoice_date < $as_of
  )
  SELECT
    invoice_id,
    line_no,
    entity_id,
    supplier_id,
    location_id,
    invoice_date,
    CAST(matchable AS INT) AS is_matchable,
    CAST(matchable AND first_pass_matched AS INT) AS is_first_pass_matched
  FROM judged
)
SELECT
  entity_id,
  period,
  CAST(SUM(is_first_pass_matched) AS DOUBLE) AS numerator,
  CAST(SUM(is_matchable) AS DOUBLE) AS denominator,
  CAST(SUM(is_first_pass_matched) AS DOUBLE) / NULLIF(CAST(SUM(is_matchable) AS DOUBLE), 0) AS value
FROM (
  SELECT
    *,
    CAST(DATE_TRUNC('WEEK', invoice_date) AS DATE) AS period
  FROM invoice_lines
  WHERE
    invoice_date <= $as_of AND CAST(entity_id AS TEXT) = $filter_entity_id_0
) AS kpi_rows
GROUP BY
  entity_id,
  period
ORDER BY
  entity_id,
  period
