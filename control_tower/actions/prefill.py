"""Requests suggested by an exception item, filled in from what the item's detail carries.

`prefill(cur, item, today=...)` answers the requests a form can offer for an item, the one the
item suggests first, each `{"type", "label", "params"}` with parameters as a form shows them
(dates YYYY-MM-DD). A person reviews and changes them before raising; nothing is raised here.

- `order_at_risk`: the rule's advice (`detail.action`): a transfer of the short units from
  `detail.transfer_from`, an expedite of `detail.po_id` line `detail.po_line_no` to arrive by
  the promised date, or a re-promise to the ATP date; the others follow.
- `stockout_risk`: a transfer to the item's site from the other site of its entity that has
  the most available to leave tomorrow (`promising` ATP), of the shortfall over the item's
  lead time; an expedite of the item's earliest open PO line at the site.
- `cycle_count_variance`: a recount of the bin; `unmatched_invoice_line`: an invoice hold;
  `missed_promise`: a re-promise of the line.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import duckdb

from control_tower.actions.types import FORMS
from control_tower.promising.answer import as_of_day, read_projections


def _suggest(type_name: str, **params: Any) -> dict[str, Any]:
    clean = {k: v for k, v in params.items() if v is not None}
    return {"type": type_name, "label": FORMS[type_name].label, "params": clean}


def _iso(value: Any) -> str | None:
    return str(value)[:10] if value else None


def _later(day: Any, today: date) -> str:
    """A suggested date: `day` when it is today or later, else today."""
    text = _iso(day)
    return text if text and text >= today.isoformat() else today.isoformat()


def _best_source(
    cur: duckdb.DuckDBPyConnection, item_id: str, location_id: str
) -> tuple[str, float] | None:
    """The other site of the location's entity with the most of the item free to leave
    tomorrow, and that quantity (None when none has any)."""
    siblings = [
        r[0]
        for r in cur.execute(
            "SELECT location_id FROM main.locations WHERE location_id <> ? AND entity_id = "
            "(SELECT entity_id FROM main.locations WHERE location_id = ?) ORDER BY location_id",
            [location_id, location_id],
        ).fetchall()
    ]
    as_of = as_of_day(cur)
    if not siblings or as_of is None:
        return None
    projections = read_projections(cur, [(item_id, s) for s in siblings], as_of=as_of)
    tomorrow = as_of + timedelta(days=1)
    free = {s: projections[(item_id, s)].partial_qty(math.inf, tomorrow) for s in siblings}
    best = max(siblings, key=lambda s: (free[s], s))
    return (best, free[best]) if free[best] > 0 else None


def _open_po_line(
    cur: duckdb.DuckDBPyConnection, item_id: str, location_id: str
) -> tuple[str, int] | None:
    row = cur.execute(
        "SELECT po_id, line_no FROM main.purchase_order_lines WHERE item_id = ? AND "
        "location_id = ? AND status = 'open' ORDER BY expected_date NULLS LAST, po_id, line_no "
        "LIMIT 1",
        [item_id, location_id],
    ).fetchone()
    return (row[0], int(row[1])) if row else None


def _stockout(cur: duckdb.DuckDBPyConnection, item: Any, d: dict, today: date) -> list[dict]:
    need = (d.get("daily_demand") or 0) * (d.get("lead_time_days") or 0) - max(
        d.get("available_qty") or 0, 0
    )
    source = _best_source(cur, item.item_id, item.location_id)
    qty = math.ceil(need) if need > 0 else None
    if source is not None and qty is not None:
        qty = min(qty, math.floor(source[1])) or None
    out = [
        _suggest(
            "stock_transfer",
            from_location_id=source[0] if source else None,
            to_location_id=item.location_id,
            item_id=item.item_id,
            quantity=qty,
            ship_date=_later(None, today),
        )
    ]
    po = _open_po_line(cur, item.item_id, item.location_id)
    out.append(
        _suggest(
            "po_expedite",
            po_id=po[0] if po else None,
            po_line_no=po[1] if po else None,
            new_expected_date=_later(None, today),
        )
    )
    out.append(
        _suggest(
            "purchase_requisition",
            item_id=item.item_id,
            location_id=item.location_id,
            quantity=qty,
        )
    )
    return out


def _order_at_risk(item: Any, d: dict, today: date) -> list[dict]:
    transfer = _suggest(
        "stock_transfer",
        from_location_id=d.get("transfer_from"),
        to_location_id=item.location_id,
        item_id=item.item_id,
        quantity=math.ceil(d["shortfall_qty"]) if d.get("shortfall_qty") else None,
        ship_date=_later(None, today),
    )
    expedite = _suggest(
        "po_expedite",
        po_id=d.get("po_id"),
        po_line_no=d.get("po_line_no"),
        new_expected_date=_later(d.get("promised_date"), today),
    )
    repromise = _suggest(
        "re_promise",
        order_id=d.get("order_id"),
        line_no=d.get("line_no"),
        new_promised_date=_later(d.get("atp_date"), today) if d.get("atp_date") else None,
    )
    first = {"transfer": transfer, "expedite": expedite, "re_promise": repromise}.get(
        d.get("action") or ""
    )
    ordered = [transfer, expedite, repromise]
    return [first, *[s for s in ordered if s is not first]] if first else ordered


def prefill(cur: duckdb.DuckDBPyConnection, item: Any, *, today: date) -> list[dict[str, Any]]:
    """The requests `item` (an exception item: type, location_id, item_id, detail) suggests
    (module docstring); [] for a type no request fits."""
    d = dict(item.detail or {})
    if item.type == "stockout_risk":
        return _stockout(cur, item, d, today)
    if item.type == "order_at_risk":
        return _order_at_risk(item, d, today)
    if item.type == "cycle_count_variance":
        return [
            _suggest(
                "recount",
                location_id=item.location_id,
                item_id=item.item_id,
                bin_id=d.get("bin_id"),
            )
        ]
    if item.type == "unmatched_invoice_line":
        return [
            _suggest("invoice_hold", invoice_id=d.get("invoice_id"), line_no=d.get("line_no")),
            _suggest("invoice_release", invoice_id=d.get("invoice_id"), line_no=d.get("line_no")),
        ]
    if item.type == "missed_promise":
        return [_suggest("re_promise", order_id=d.get("order_id"), line_no=d.get("line_no"))]
    return []
