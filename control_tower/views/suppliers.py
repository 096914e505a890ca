"""Suppliers: a scorecard per supplier and the purchase order lines behind it.

Every figure is read from the governed model `po_lines`
(kpi_definitions/models/po_lines.yml), the model of the certified KPI
`supplier_otif`, evaluated as of the data's as-of day (the day the published
KPI values were computed as of), so the pages and the KPI count the same lines
the same way:

- on time in full: of the lines due whose expected date falls in the range, the
  share whose good quantity (received - damaged) arrived complete by the
  expected date (local calendar of the receiving site);
- open and overdue: lines the ERP reports open with good quantity short of the
  order, as of the as-of day, whatever their expected date; overdue once past
  it; valued at the missing quantity x the item's standard cost (reporting
  currency);
- lead time: for the lines in the range that arrived (complete, or received or
  closed short), the mean of arrival - order date (actual) against expected -
  order date (planned, the date agreed on the line) and the item master's lead
  time.

Scope: only lines at the user's sites and entities count (a supervisor sees
their sites' lines); the supplier master's name, country, currency and terms
are shown beside them. A supplier with no line in scope is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.catalog import Kpi
from control_tower.kpi.compiler import model_query

KPI_NAME = "supplier_otif"
MAX_LINES = 5000

# A discrepancy between a line and its receipts (as in the receipt_discrepancy rule).
_SHORT = "status IN ('received', 'closed') AND received_qty < ordered_qty"
_OVER = "received_qty > ordered_qty"
_DAMAGED = "damaged_qty > 0"


@dataclass(frozen=True)
class Scorecard:
    """One supplier's figures over a range of expected dates, within a scope."""

    supplier_id: str
    name: str | None
    country: str | None
    currency: str | None
    payment_terms_days: int | None
    lines_due: int
    lines_on_time_in_full: int
    otif: float | None
    open_lines: int
    open_value: float
    overdue_lines: int
    overdue_value: float
    arrived_lines: int
    actual_lead_days: float | None
    planned_lead_days: float | None
    item_lead_days: float | None


@dataclass(frozen=True)
class SupplierView:
    """Everything the supplier page shows."""

    card: Scorecard
    as_of: date
    trend: tuple[dict[str, Any], ...]  # per week of expected dates: week, due, otif lines, otif
    open_lines: tuple[dict[str, Any], ...]
    lead_times: tuple[dict[str, Any], ...]
    discrepancies: tuple[dict[str, Any], ...]


def _lines_sql(kpi: Kpi, scope: Scope, as_of: date) -> tuple[str, dict[str, Any]]:
    """The model's lines in scope as a CTE body (`lines`), with its parameters."""
    sql, params = model_query(kpi, as_of=as_of)
    where = ["true"]
    if scope.entities:
        where.append("entity_id IN (SELECT unnest($scope_entities::VARCHAR[]))")
        params["scope_entities"] = sorted(scope.entities)
    if scope.locations:
        where.append("location_id IN (SELECT unnest($scope_locations::VARCHAR[]))")
        params["scope_locations"] = sorted(scope.locations)
    return f"SELECT * FROM ({sql}) AS m WHERE {' AND '.join(where)}", params


def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


_CARDS = """
WITH lines AS ({lines}),
in_range AS (SELECT * FROM lines WHERE expected_date BETWEEN $start AND $end),
cards AS (
    SELECT supplier_id,
           coalesce(sum(is_due), 0) AS lines_due,
           coalesce(sum(is_on_time_in_full) FILTER (WHERE is_due = 1), 0) AS lines_otif,
           count(actual_lead_days) AS arrived_lines,
           avg(actual_lead_days) AS actual_lead_days,
           avg(planned_lead_days) FILTER (WHERE actual_lead_days IS NOT NULL) AS planned_lead_days,
           avg(item_lead_days) FILTER (WHERE actual_lead_days IS NOT NULL) AS item_lead_days
    FROM in_range GROUP BY supplier_id
),
open AS (
    SELECT supplier_id,
           coalesce(sum(is_open), 0) AS open_lines,
           coalesce(sum(open_value), 0) AS open_value,
           coalesce(sum(is_overdue), 0) AS overdue_lines,
           coalesce(sum(open_value) FILTER (WHERE is_overdue = 1), 0) AS overdue_value
    FROM lines GROUP BY supplier_id
)
SELECT o.supplier_id, {master},
       coalesce(c.lines_due, 0), coalesce(c.lines_otif, 0),
       o.open_lines, o.open_value, o.overdue_lines, o.overdue_value,
       coalesce(c.arrived_lines, 0), c.actual_lead_days, c.planned_lead_days, c.item_lead_days
FROM open AS o
LEFT JOIN cards AS c USING (supplier_id)
{join}
WHERE o.supplier_id IS NOT NULL {only}
ORDER BY o.supplier_id
"""


def scorecards(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    scope: Scope,
    *,
    start: date,
    end: date,
    as_of: date,
    supplier_id: str | None = None,
) -> list[Scorecard]:
    """Each supplier with a line in scope (or just `supplier_id`), by supplier id."""
    lines, params = _lines_sql(kpi, scope, as_of)
    if _has_table(cur, "suppliers"):
        master = "s.name, s.country, s.currency, s.payment_terms_days"
        join = "LEFT JOIN main.suppliers AS s ON s.supplier_id = o.supplier_id"
    else:  # a warehouse created before the supplier master joined the contract
        master = "NULL, NULL, NULL, NULL"
        join = ""
    only = ""
    if supplier_id is not None:
        only = "AND o.supplier_id = $supplier"
        params["supplier"] = supplier_id
    sql = _CARDS.format(lines=lines, master=master, join=join, only=only)
    rows = cur.execute(sql, {**params, "start": start, "end": end}).fetchall()
    return [_card(r) for r in rows]


def _card(r: tuple[Any, ...]) -> Scorecard:
    due, otif = int(r[5]), int(r[6])
    return Scorecard(
        supplier_id=r[0],
        name=r[1],
        country=r[2],
        currency=r[3],
        payment_terms_days=r[4],
        lines_due=due,
        lines_on_time_in_full=otif,
        otif=otif / due if due else None,
        open_lines=int(r[7]),
        open_value=float(r[8]),
        overdue_lines=int(r[9]),
        overdue_value=float(r[10]),
        arrived_lines=int(r[11]),
        actual_lead_days=r[12],
        planned_lead_days=r[13],
        item_lead_days=r[14],
    )


def _records(cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in zip(names, row, strict=True)}
        for row in result.fetchall()
    ]


def supplier_view(
    cur: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    scope: Scope,
    supplier_id: str,
    *,
    start: date,
    end: date,
    as_of: date,
) -> SupplierView | None:
    """One supplier's page, or None when it has no purchase order line in scope."""
    found = scorecards(cur, kpi, scope, start=start, end=end, as_of=as_of, supplier_id=supplier_id)
    if not found:
        return None
    lines, params = _lines_sql(kpi, scope, as_of)
    params = {**params, "supplier": supplier_id, "start": start, "end": end, "limit": MAX_LINES}
    head = f"WITH lines AS ({lines}) SELECT "
    mine = "FROM lines WHERE supplier_id = $supplier"
    trend = _records(
        cur,
        head + "CAST(date_trunc('week', expected_date) AS DATE) AS week, "
        "sum(is_due) AS lines_due, sum(is_on_time_in_full) FILTER (WHERE is_due = 1) AS lines_otif "
        f"{mine} AND expected_date BETWEEN $start AND $end GROUP BY ALL ORDER BY week",
        {k: v for k, v in params.items() if k != "limit"},
    )
    for row in trend:
        due = row["lines_due"] or 0
        row["lines_otif"] = row["lines_otif"] or 0
        row["otif"] = row["lines_otif"] / due if due else None
    open_rows = _records(
        cur,
        head + "po_id, line_no, item_id, location_id, order_date, expected_date, ordered_qty, "
        "good_qty, open_qty, open_value, is_overdue, "
        "CASE WHEN is_overdue = 1 THEN CAST($as_of AS DATE) - expected_date ELSE 0 END "
        f"AS days_overdue {mine} AND is_open = 1 "
        "ORDER BY is_overdue DESC, expected_date, po_id, line_no LIMIT $limit",
        {k: v for k, v in params.items() if k not in ("start", "end")},
    )
    lead = _records(
        cur,
        head + "po_id, line_no, item_id, location_id, order_date, expected_date, arrival_date, "
        "actual_lead_days, planned_lead_days, item_lead_days, lead_time_delay_days "
        f"{mine} AND actual_lead_days IS NOT NULL AND expected_date BETWEEN $start AND $end "
        "ORDER BY expected_date DESC, po_id, line_no LIMIT $limit",
        params,
    )
    discrepancies = _records(
        cur,
        head + "po_id, line_no, item_id, location_id, status, expected_date, arrival_date, "
        "ordered_qty, received_qty, damaged_qty, "
        f"CASE WHEN {_SHORT} THEN ordered_qty - received_qty ELSE 0 END AS short_qty, "
        "greatest(received_qty - ordered_qty, 0) AS over_qty, "
        f"concat_ws(', ', CASE WHEN {_SHORT} THEN 'short' END, "
        f"CASE WHEN {_OVER} THEN 'over' END, CASE WHEN {_DAMAGED} THEN 'damaged' END) "
        f"AS discrepancy {mine} AND expected_date BETWEEN $start AND $end "
        f"AND (({_SHORT}) OR {_OVER} OR {_DAMAGED}) "
        "ORDER BY expected_date DESC, po_id, line_no LIMIT $limit",
        params,
    )
    return SupplierView(
        card=found[0],
        as_of=as_of,
        trend=tuple(trend),
        open_lines=tuple(open_rows),
        lead_times=tuple(lead),
        discrepancies=tuple(discrepancies),
    )
