"""The customer-service view: orders at risk by customer, and the lines behind a customer's OTIF.

At risk: the unresolved `order_at_risk` items in the user's scope, read from the
app database (so a line re-promised a moment ago has left the list), grouped by
the customer of their line: lines, value at risk (open line value) and the worst
risk (1 for a line the projection cannot cover, else its late-order risk).

Behind OTIF: the customer's lines whose first promise falls in a range, from
the published data, each with whether it is a `missed_promise` item (delivered
after its first promise, or not delivered by it: the same rule as order promise
accuracy and OTIF) and that item's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
from sqlalchemy import select

from control_tower.accounts import Scope
from control_tower.exceptions.query import scope_condition
from control_tower.exceptions.store import UNRESOLVED, ExceptionItem, ExceptionStore

MAX_LINES = 5000


@dataclass(frozen=True)
class CustomerRisk:
    """One customer's lines at risk."""

    customer_id: str
    name: str | None
    lines: int
    value_at_risk: float
    worst_risk: float | None


def _risk(detail: dict[str, Any]) -> float | None:
    """A line's risk of missing its promise: 1 uncovered, else its late-order risk."""
    if detail.get("covered") is False:
        return 1.0
    return detail.get("late_risk")


def lines_at_risk(
    store: ExceptionStore, scope: Scope, customer_id: str | None = None
) -> list[dict[str, Any]]:
    """The unresolved order_at_risk items in scope (of one customer), as grid rows, the
    riskiest value first."""
    query = (
        select(ExceptionItem)
        .where(
            ExceptionItem.type == "order_at_risk",
            ExceptionItem.status.in_(UNRESOLVED),
            scope_condition(scope),
        )
        .order_by(ExceptionItem.value_at_risk.desc(), ExceptionItem.id)
        .limit(MAX_LINES)
    )
    with store.session() as s:
        found = list(s.scalars(query))
    rows = []
    for item in found:
        d = item.detail or {}
        if customer_id is not None and d.get("customer_id") != customer_id:
            continue
        rows.append(
            {
                "exception_id": item.id,
                "key": item.key,
                "customer_id": d.get("customer_id"),
                "order_id": d.get("order_id"),
                "line_no": d.get("line_no"),
                "item_id": item.item_id,
                "location_id": item.location_id,
                "open_qty": d.get("open_qty"),
                "promised_date": d.get("promised_date"),
                "first_promised_date": d.get("first_promised_date"),
                "atp_date": d.get("atp_date"),
                "risk": _risk(d),
                "value_at_risk": item.value_at_risk,
                "action_text": d.get("action_text"),
                "status": item.status,
            }
        )
    return rows


def customers_at_risk(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, scope: Scope
) -> list[CustomerRisk]:
    """Customers with lines at risk, the largest value at risk first."""
    by: dict[str, list[dict[str, Any]]] = {}
    for row in lines_at_risk(store, scope):
        by.setdefault(row["customer_id"] or "", []).append(row)
    names = dict(
        cur.execute(
            "SELECT customer_id, name FROM main.customers "
            "WHERE customer_id IN (SELECT unnest($ids::VARCHAR[]))",
            {"ids": sorted(by)},
        ).fetchall()
    )
    out = [
        CustomerRisk(
            customer_id=c,
            name=names.get(c),
            lines=len(rows),
            value_at_risk=sum(r["value_at_risk"] or 0.0 for r in rows),
            worst_risk=max((r["risk"] for r in rows if r["risk"] is not None), default=None),
        )
        for c, rows in by.items()
    ]
    return sorted(out, key=lambda c: (-c.value_at_risk, c.customer_id))


_DUE_LINES = """
SELECT l.order_id, l.line_no, l.item_id, l.location_id, l.entity_id, l.status,
       l.first_promised_date, l.promised_date, l.requested_date,
       CAST(l.ordered_qty AS DOUBLE) AS ordered_qty
FROM main.sales_order_lines AS l
WHERE l.customer_id = $customer AND l.status <> 'cancelled'
  AND l.first_promised_date BETWEEN $start AND $end
ORDER BY l.first_promised_date, l.order_id, l.line_no
LIMIT $limit
"""


def otif_lines(
    cur: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    scope: Scope,
    customer_id: str,
    start: date,
    end: date,
) -> list[dict[str, Any]]:
    """The customer's lines first promised from `start` to `end` in scope, each with its
    missed_promise item (`missed`: whether there is one; `miss_status`: its status)."""
    rows = cur.execute(
        _DUE_LINES, {"customer": customer_id, "start": start, "end": end, "limit": MAX_LINES}
    ).fetchall()
    lines = [
        {
            "order_id": r[0], "line_no": r[1], "item_id": r[2], "location_id": r[3],
            "status": r[5], "first_promised_date": _iso(r[6]), "promised_date": _iso(r[7]),
            "requested_date": _iso(r[8]), "ordered_qty": r[9],
        }
        for r in rows
        if scope.allows(r[4], r[3])
    ]  # fmt: skip
    keys = [f"{r['order_id']}|{r['line_no']}" for r in lines]
    with store.session() as s:
        missed = dict(
            s.execute(
                select(ExceptionItem.key, ExceptionItem.status).where(
                    ExceptionItem.type == "missed_promise", ExceptionItem.key.in_(keys)
                )
            ).all()
        )
    for row, key in zip(lines, keys, strict=True):
        row["missed"] = key in missed
        row["miss_status"] = missed.get(key)
    return lines


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
