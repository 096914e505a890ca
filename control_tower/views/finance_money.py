"""Finance in money: goods received not invoiced, returns awaiting credit, unmatched invoice
value and inventory write-offs, each in the entity's currency and in the reporting currency,
with the lines behind every figure (docs/web-app.md, "Finance", and docs/currency.md).

- **GRNI** (goods received not invoiced), now: per purchase order line, the good quantity
  received (received_qty - damaged_qty of its receipts: damaged goods are not owed) less the
  quantity invoiced against it (ap_invoice_lines by po_id and po_line_no), never below zero,
  valued at the PO line's unit cost. Its age counts from the first receipt not yet covered by
  the invoices (invoices settle receipts in arrival order).
- **Returns awaiting credit**, now: return lines without `credited_at`, valued at returned_qty
  x the order line's unit price, aged from the return's creation day.
- **Unmatched invoice value**, over the chosen range: invoice lines dated in it whose
  match_status is not `matched`, valued at invoiced_qty x invoiced_unit_cost.
- **Inventory write-offs**, over the chosen range: adjustments with qty_delta < 0, valued at
  -qty_delta x the item's unit cost (the group's standard cost, in the reporting currency).

Amounts on rows are in the entity's functional currency (a PO line's and an adjustment's
site's entity, an invoice line's entity, a return's order line's entity). Point-in-time
figures convert at the rate of the day before the as-of day (the last complete day); range
figures convert at the month average of each line's month. A line without a rate keeps its
entity amount and has no reporting amount: totals count such lines beside the sum, never as 0.
Every query applies the user's scope (`Scope.sql`) in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.money.sql import (
    converted,
    daily_rate_join,
    entity_currency_join,
    monthly_rate_join,
)
from control_tower.views.sql import named

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30 days", 0, 30),
    ("31-60 days", 31, 60),
    ("61-90 days", 61, 90),
    ("over 90 days", 91, None),
)
KINDS = ("grni", "returns", "unmatched", "writeoffs")
LABELS = {
    "grni": "Goods received not invoiced",
    "returns": "Returns awaiting credit",
    "unmatched": "Unmatched invoice value",
    "writeoffs": "Inventory write-offs",
}
# What each figure is broken down by (the first is shown first).
GROUPS: dict[str, tuple[str, ...]] = {
    "grni": ("age_bucket", "supplier_id"),
    "returns": ("age_bucket", "reason_code"),
    "unmatched": ("match_status", "supplier_id"),
    "writeoffs": ("reason_code", "location_id"),
}
NONE_MEMBER = "(none)"  # in a link, the breakdown member of lines without one
MAX_LINES = 5000  # lines a drill returns at most (largest reporting amounts first)


def age_bucket_sql(age: str) -> str:
    """The SQL CASE naming the age bucket of `age` days."""
    whens = " ".join(
        f"WHEN {age} <= {high} THEN '{label}'" for label, _low, high in AGE_BUCKETS if high
    )
    return f"CASE WHEN {age} IS NULL THEN NULL {whens} ELSE '{AGE_BUCKETS[-1][0]}' END"


_GRNI = f"""
WITH r AS (
    SELECT po_id, po_line_no, receipt_id, line_no, arrived_ts_local_date AS day,
           CAST(received_qty - coalesce(damaged_qty, 0) AS DOUBLE) AS good_qty
    FROM receipts WHERE po_id IS NOT NULL AND po_id <> ''
), inv AS (
    SELECT po_id, po_line_no, sum(CAST(invoiced_qty AS DOUBLE)) AS qty, count(*) AS lines
    FROM ap_invoice_lines WHERE po_id IS NOT NULL AND po_id <> '' GROUP BY ALL
), cum AS (
    SELECT r.*, coalesce(i.qty, 0) AS invoiced_qty, sum(good_qty) OVER (
        PARTITION BY r.po_id, r.po_line_no ORDER BY day, receipt_id, line_no
        ROWS UNBOUNDED PRECEDING) AS cum_qty
    FROM r LEFT JOIN inv AS i ON i.po_id = r.po_id AND i.po_line_no = r.po_line_no
), line AS (
    SELECT po_id, po_line_no, invoiced_qty, sum(good_qty) AS received_qty, count(*) AS receipts,
           min(day) FILTER (WHERE cum_qty > invoiced_qty) AS first_uninvoiced
    FROM cum GROUP BY ALL
), x AS (
    SELECT p.po_id, p.line_no AS po_line_no, p.supplier_id, p.item_id, p.location_id,
           loc.entity_id, CAST(p.unit_cost AS DOUBLE) AS unit_cost, line.received_qty,
           line.receipts, line.invoiced_qty,
           greatest(line.received_qty - line.invoiced_qty, 0) AS uninvoiced_qty,
           line.first_uninvoiced,
           date_diff('day', line.first_uninvoiced, CAST($as_of AS DATE)) AS age_days
    FROM line
    JOIN purchase_order_lines AS p ON p.po_id = line.po_id AND p.line_no = line.po_line_no
    LEFT JOIN locations AS loc ON loc.location_id = p.location_id
    WHERE line.received_qty > line.invoiced_qty
)
SELECT x.*, {age_bucket_sql("x.age_days")} AS age_bucket, ec.currency,
       x.uninvoiced_qty * x.unit_cost AS amount,
       {converted("x.uninvoiced_qty * x.unit_cost")} AS amount_reporting
FROM x
{entity_currency_join("x.entity_id")}
{daily_rate_join("CAST($rate_day AS DATE)")}
WHERE {{scope:x.entity_id,x.location_id}}
"""

_RETURNS = f"""
WITH x AS (
    SELECT r.rma_id, r.line_no, r.order_id, r.order_line_no, r.item_id, r.reason_code,
           s.customer_id, s.entity_id, s.location_id, CAST(r.returned_qty AS DOUBLE) AS qty,
           CAST(s.unit_price AS DOUBLE) AS unit_price, r.created_at,
           r.created_at_local_date AS created_day,
           date_diff('day', r.created_at_local_date, CAST($as_of AS DATE)) AS age_days
    FROM returns AS r
    LEFT JOIN sales_order_lines AS s ON s.order_id = r.order_id AND s.line_no = r.order_line_no
    WHERE r.credited_at IS NULL
)
SELECT x.*, {age_bucket_sql("x.age_days")} AS age_bucket, ec.currency,
       x.qty * x.unit_price AS amount, {converted("x.qty * x.unit_price")} AS amount_reporting
FROM x
{entity_currency_join("x.entity_id")}
{daily_rate_join("CAST($rate_day AS DATE)")}
WHERE {{scope:x.entity_id,x.location_id}}
"""

_UNMATCHED = f"""
WITH x AS (
    SELECT a.invoice_id, a.line_no, a.supplier_id, a.po_id, a.po_line_no, a.match_status,
           a.invoice_date, a.entity_id, p.location_id, p.item_id,
           CAST(a.invoiced_qty AS DOUBLE) AS invoiced_qty,
           CAST(a.invoiced_unit_cost AS DOUBLE) AS invoiced_unit_cost,
           CAST(p.unit_cost AS DOUBLE) AS po_unit_cost
    FROM ap_invoice_lines AS a
    LEFT JOIN purchase_order_lines AS p ON p.po_id = a.po_id AND p.line_no = a.po_line_no
    WHERE a.match_status <> 'matched' AND a.invoice_date BETWEEN $start AND $end
)
SELECT x.*, ec.currency, x.invoiced_qty * x.invoiced_unit_cost AS amount,
       {converted("x.invoiced_qty * x.invoiced_unit_cost")} AS amount_reporting
FROM x
{entity_currency_join("x.entity_id")}
{monthly_rate_join("x.invoice_date")}
WHERE {{scope:x.entity_id,x.location_id}}
"""

_WRITEOFFS = f"""
WITH x AS (
    SELECT a.adjustment_id, a.location_id, loc.entity_id, a.item_id, a.reason_code, a.user_id,
           a.adjusted_at, a.adjusted_at_local_date AS adjusted_day,
           -CAST(a.qty_delta AS DOUBLE) AS qty, CAST(i.unit_cost AS DOUBLE) AS unit_cost
    FROM inventory_adjustments AS a
    LEFT JOIN items AS i ON i.item_id = a.item_id
    LEFT JOIN locations AS loc ON loc.location_id = a.location_id
    WHERE a.qty_delta < 0 AND a.adjusted_at_local_date BETWEEN $start AND $end
)
SELECT x.*, ec.currency, {converted("x.qty * x.unit_cost")} AS amount,
       x.qty * x.unit_cost AS amount_reporting
FROM x
{entity_currency_join("x.entity_id")}
{monthly_rate_join("x.adjusted_day", to_reporting=False)}
WHERE {{scope:x.entity_id,x.location_id}}
"""

_SQL = {"grni": _GRNI, "returns": _RETURNS, "unmatched": _UNMATCHED, "writeoffs": _WRITEOFFS}


@dataclass(frozen=True)
class Amounts:
    """The lines of a figure (or of one of its groups) summed."""

    lines: int
    reporting: float  # sum of the lines that have a reporting amount
    unconverted: int  # lines without a rate: not in `reporting`
    by_currency: tuple[tuple[str | None, float], ...]  # entity currency (None: unknown), sum

    @property
    def complete(self) -> bool:
        """Whether every line is in the reporting sum."""
        return self.unconverted == 0


@dataclass(frozen=True)
class Group:
    """One member of a breakdown (an age bucket, a supplier, a reason code, ...)."""

    member: str | None
    amounts: Amounts


@dataclass(frozen=True)
class MoneyFigure:
    """One money figure: its total and its breakdowns (`GROUPS[kind]`, by name)."""

    kind: str
    total: Amounts
    groups: dict[str, tuple[Group, ...]]

    @property
    def label(self) -> str:
        """The figure's name."""
        return LABELS[self.kind]


@dataclass(frozen=True)
class FinanceMoney:
    """The four money figures of the finance page, in the reporting currency of the data."""

    reporting_currency: str | None
    rate_day: date  # the day point-in-time figures convert at
    figures: dict[str, MoneyFigure]


def money_lines(
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    scope: Scope,
    *,
    as_of: date,
    start: date,
    end: date,
    group: str | None = None,
    member: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The lines behind a money figure (`kind`, one of KINDS) in `scope`, largest reporting
    amount first; only those of one `member` of a breakdown when `group` is given."""
    if kind not in _SQL:
        raise ValueError(f"unknown money figure {kind!r}: one of {', '.join(KINDS)}")
    sql, params = _scoped(_SQL[kind], scope)
    values = {"as_of": as_of, "rate_day": as_of - timedelta(days=1), "start": start, "end": end}
    params |= {k: v for k, v in values.items() if f"${k}" in sql}  # DuckDB refuses unused ones
    outer = f"SELECT * FROM ({sql}) AS lines"
    if group is not None:
        if group not in GROUPS[kind]:
            raise ValueError(f"{LABELS[kind]} has no breakdown by {group!r}")
        outer += f" WHERE {group} IS NOT DISTINCT FROM $member"
        params["member"] = member
    outer += " ORDER BY amount_reporting DESC NULLS FIRST, amount DESC"
    if limit is not None:
        outer += f" LIMIT {int(limit)}"
    try:
        result = cur.execute(outer, params)
    except duckdb.CatalogException:  # a snapshot from before these tables existed
        return []
    names = [d[0] for d in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _scoped(sql: str, scope: Scope) -> tuple[str, dict[str, Any]]:
    """`sql` with its `{scope:entity,location}` mark replaced by the scope's condition."""
    head, rest = sql.split("{scope:", 1)
    columns, tail = rest.split("}", 1)
    entity, location = columns.split(",")
    condition, values = scope.sql(entity, location)
    return head + named(condition) + tail, {f"s{i}": v for i, v in enumerate(values)}


def summed(lines: Sequence[dict[str, Any]]) -> Amounts:
    """The lines' amounts summed: in the reporting currency, and per entity currency."""
    reporting = 0.0
    unconverted = 0
    currencies: dict[str | None, float] = {}
    for line in lines:
        if line["amount_reporting"] is None:
            unconverted += 1
        else:
            reporting += line["amount_reporting"]
        if line["amount"] is not None:
            currencies[line["currency"]] = currencies.get(line["currency"], 0.0) + line["amount"]
        elif line["currency"] is None:
            currencies.setdefault(None, 0.0)
    by_currency = tuple(sorted(currencies.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))
    return Amounts(len(lines), reporting, unconverted, by_currency)


def figure_of(kind: str, lines: Sequence[dict[str, Any]]) -> MoneyFigure:
    """A money figure from its lines: the total and each breakdown, largest first (age buckets
    in age order)."""
    groups: dict[str, tuple[Group, ...]] = {}
    for name in GROUPS[kind]:
        members: dict[str | None, list[dict[str, Any]]] = {}
        for line in lines:
            members.setdefault(line[name], []).append(line)
        found = [Group(m, summed(rows)) for m, rows in members.items()]
        if name == "age_bucket":
            order = {label: n for n, (label, _lo, _hi) in enumerate(AGE_BUCKETS)}
            found.sort(key=lambda g: order.get(g.member or "", len(order)))
        else:
            found.sort(key=lambda g: (-g.amounts.reporting, g.member or ""))
        groups[name] = tuple(found)
    return MoneyFigure(kind, summed(lines), groups)


def reporting_currency(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The reporting currency the snapshot's money tables were built with (None: not yet)."""
    try:
        row = cur.execute("SELECT reporting_currency FROM money.settings").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def finance_money(
    cur: duckdb.DuckDBPyConnection, scope: Scope, *, as_of: date, start: date, end: date
) -> FinanceMoney:
    """The four money figures under `scope`: GRNI and returns now, unmatched invoices and
    write-offs over [start, end]."""
    figures = {
        kind: figure_of(kind, money_lines(cur, kind, scope, as_of=as_of, start=start, end=end))
        for kind in KINDS
    }
    return FinanceMoney(reporting_currency(cur), as_of - timedelta(days=1), figures)
