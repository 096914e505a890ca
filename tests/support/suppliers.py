"""Supplier figures written from the contract tables, independent of the `po_lines` model."""

from __future__ import annotations

from datetime import date

import duckdb

from control_tower.storage.serving import published_as_of

# Lines expected in a range, due (expected before the as-of day, or received complete) and
# on time in full (good units arrived by the expected date, local day of the site), and the
# lines open and overdue as of the as-of day: written from the contract, not the model.
INDEPENDENT = """
WITH good AS (
    SELECT r.po_id, r.po_line_no AS line_no,
           sum(received_qty - damaged_qty) AS good,
           sum(received_qty - damaged_qty) FILTER (
               WHERE arrived_ts_local_date <= p.expected_date) AS good_in_time
    FROM receipts AS r
    JOIN purchase_order_lines AS p ON p.po_id = r.po_id AND p.line_no = r.po_line_no
    WHERE arrived_ts_local_date < $as_of
    GROUP BY ALL
),
lines AS (
    SELECT p.*, l.entity_id, coalesce(g.good, 0) AS good, coalesce(g.good_in_time, 0) AS in_time,
           CAST(i.unit_cost AS DOUBLE) AS cost
    FROM purchase_order_lines AS p
    LEFT JOIN good AS g USING (po_id, line_no)
    LEFT JOIN locations AS l USING (location_id)
    LEFT JOIN items AS i USING (item_id)
    WHERE p.status <> 'cancelled' AND ($site IS NULL OR p.location_id = $site)
)
SELECT supplier_id,
       count(*) FILTER (WHERE expected_date BETWEEN $start AND $end
                          AND (expected_date < $as_of OR good >= ordered_qty)) AS due,
       count(*) FILTER (WHERE expected_date BETWEEN $start AND $end
                          AND (expected_date < $as_of OR good >= ordered_qty)
                          AND in_time >= ordered_qty) AS otif,
       count(*) FILTER (WHERE status = 'open' AND good < ordered_qty) AS open_lines,
       count(*) FILTER (WHERE status = 'open' AND good < ordered_qty
                          AND expected_date < $as_of) AS overdue,
       coalesce(sum((ordered_qty - good) * cost) FILTER (
           WHERE status = 'open' AND good < ordered_qty AND expected_date < $as_of), 0) AS value
FROM lines GROUP BY supplier_id
"""


def independent(
    snapshot: duckdb.DuckDBPyConnection, start: date, end: date, site: str | None = None
) -> dict[str, tuple]:
    """Per supplier: (lines due, on time in full, open lines, overdue lines, overdue value)."""
    as_of = published_as_of(snapshot)
    rows = snapshot.execute(
        INDEPENDENT, {"as_of": as_of, "start": start, "end": end, "site": site}
    ).fetchall()
    return {r[0]: r[1:] for r in rows}
