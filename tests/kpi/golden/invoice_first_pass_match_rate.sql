-- kpi: invoice_first_pass_match_rate v1 (draft, content 59f011d77fc7)
-- model: invoice_lines (one row per AP invoice line); reads: ap_invoice_lines, purchase_order_lines
-- type: ratio; time dimension: invoice_date
-- parameters (bound): as_of
-- grain: week; by: entity_id; filters: entity_id
-- models inlined: invoice_lines, pruned to the columns this query reads
WITH invoice_lines AS (
  WITH judged AS (
    SELECT
      a.entity_id AS entity_id,
      a.invoice_date AS invoice_date,
      a.first_pass_matched AS first_pass_matched,
      COALESCE(a.po_id, '') <> '' AND a.match_status <> 'pending' AS matchable
    FROM ap_invoice_lines AS a
    WHERE
      a.invoice_date < $as_of
  )
  SELECT
    judged.entity_id AS entity_id,
    judged.invoice_date AS invoice_date,
    CAST(judged.matchable AS INT) AS is_matchable,
    CAST(judged.matchable AND judged.first_pass_matched AS INT) AS is_first_pass_matched
  FROM judged AS judged
)
SELECT
  kpi_rows.entity_id AS entity_id,
  kpi_rows.period AS period,
  CAST(SUM(kpi_rows.is_first_pass_matched) AS DOUBLE) AS numerator,
  CAST(SUM(kpi_rows.is_matchable) AS DOUBLE) AS denominator,
  CAST(SUM(kpi_rows.is_first_pass_matched) AS DOUBLE) / NULLIF(CAST(SUM(kpi_rows.is_matchable) AS DOUBLE), 0) AS value
FROM (
  SELECT
    invoice_lines.entity_id AS entity_id,
    invoice_lines.is_matchable AS is_matchable,
    invoice_lines.is_first_pass_matched AS is_first_pass_matched,
    CAST(DATE_TRUNC('WEEK', invoice_lines.invoice_date) AS DATE) AS period
  FROM invoice_lines AS invoice_lines
  WHERE
    invoice_lines.invoice_date <= $as_of
    AND CAST(invoice_lines.entity_id AS TEXT) = $filter_entity_id_0
) AS kpi_rows
GROUP BY
  kpi_rows.entity_id,
  kpi_rows.period
ORDER BY
  entity_id,
  period
