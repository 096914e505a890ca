"""One item at one location, as the planner's drill page shows it: its masters, score,
stock history, open purchase orders (each judged against the projected stockout date), recent
demand, the other sites in scope (transfer candidates), the forward projection and the
suggested action. Queries live in `control_tower.planning`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.kpi.serving import kept
from control_tower.planning import drill, model, projection, supply

HISTORY_DAYS = 90
DEMAND_DAYS = 60
SUPPLIER_DAYS = 180


@dataclass(frozen=True)
class PoRow:
    """An open PO line with its timing against today and the projected stockout date.

    timing: "undated", "overdue" (expected on or before the snapshot day), "late" (after
    the stockout date, by `days_after_stockout`) or "ok"."""

    line: supply.PoLine
    timing: str
    days_after_stockout: int | None
    on_time_share: float | None
    avg_days_late: float | None


@dataclass(frozen=True)
class SiteRow:
    """The item at another location in scope; tag: "candidate" (excess in the same entity),
    "other" (excess in another entity) or "none"."""

    stock: supply.SiteStock
    tag: str


@dataclass(frozen=True)
class ItemView:
    """Everything the drill page shows of one item-location in the user's scope."""

    facts: drill.ItemFacts
    score: dict[str, Any] | None
    history: tuple[dict[str, Any], ...]
    demand: tuple[dict[str, Any], ...]
    stock: supply.SiteStock | None  # None: the location never reported stock of the item
    as_of: date | None
    lines: tuple[supply.PoLine, ...]
    po_rows: tuple[PoRow, ...]
    sites: tuple[SiteRow, ...]  # other locations, most excess first
    stockout: date | None
    projection: tuple[projection.ProjectionDay, ...]
    stockout_in_window: date | None  # the stockout date when within the projection
    suggestion: projection.Suggestion | None

    @property
    def on_order(self) -> float:
        """Open quantity of every open PO line."""
        return sum(ln.open_qty for ln in self.lines)

    @property
    def rule_fires(self) -> bool:
        """Whether the days-of-cover rule flags the item: nothing available, or cover below
        the lead time."""
        if self.stock is None:
            return False
        cover, lead = self.stock.days_of_cover, self.facts.lead_time_days
        return self.stock.available_qty <= 0 or (
            cover is not None and lead is not None and cover < lead
        )


def _po_row(
    ln: supply.PoLine, record: dict[str, Any] | None, as_of: date, out: date | None
) -> PoRow:
    after = None
    if ln.expected_date is None:
        timing = "undated"
    elif ln.expected_date <= as_of:
        timing = "overdue"
    elif out is not None and ln.expected_date > out:
        timing, after = "late", (ln.expected_date - out).days
    else:
        timing = "ok"
    share = record["on_time_share"] if record else None
    late = record["avg_days_late"] if record else None
    return PoRow(ln, timing, after, share, late)


def _site_rows(sites: list[supply.SiteStock], here: drill.ItemFacts) -> tuple[SiteRow, ...]:
    others = [s for s in sites if s.location_id != here.location_id]
    rows = []
    for s in sorted(others, key=lambda s: -s.excess_qty):
        if s.excess_qty >= 1:
            tag = "candidate" if s.entity_id == here.entity_id else "other"
        else:
            tag = "none"
        rows.append(SiteRow(s, tag))
    return tuple(rows)


def item_view(
    cur: duckdb.DuckDBPyConnection, scope: Scope, location_id: Any, item_id: Any, days: int
) -> ItemView | None:
    """The item-location (ids as given in the URL) projected `days` ahead, or None when it is
    unknown or outside `scope`. Read once per snapshot in a web request (`kpi.serving.kept`)."""
    key = ("planner.item_view", scope, repr(location_id), repr(item_id), days)
    return kept(key, lambda: _item_view(cur, scope, location_id, item_id, days))


def _item_view(
    cur: duckdb.DuckDBPyConnection, scope: Scope, location_id: Any, item_id: Any, days: int
) -> ItemView | None:
    facts = drill.item_facts(cur, scope, location_id, item_id)
    if facts is None:
        return None
    loc, item = facts.location_id, facts.item_id
    score = model.item_score(cur, loc, item)
    history = drill.inventory_history(cur, loc, item, HISTORY_DAYS)
    sites = supply.site_stock(cur, scope, [item]).get(item, [])
    lines = supply.open_po_lines(cur, [(loc, item)]).get((loc, item), [])
    stock = next((s for s in sites if s.location_id == loc), None)
    as_of = stock.snapshot_date if stock else (history[-1]["snapshot_date"] if history else None)
    demand = drill.demand_history(cur, loc, item, as_of, DEMAND_DAYS) if as_of else []
    suppliers = (
        drill.supplier_on_time(cur, scope, (ln.supplier_id for ln in lines), as_of, SUPPLIER_DAYS)
        if as_of
        else {}
    )
    out, days_ahead, suggestion, po_rows = None, [], None, ()
    if stock is not None and as_of is not None:
        out = projection.stockout_date(as_of, stock.available_qty, stock.daily_demand, lines)
        days_ahead = projection.project(as_of, stock.available_qty, stock.daily_demand, lines, days)
        suggestion = projection.suggest_action(
            as_of=as_of,
            location_id=loc,
            entity_id=facts.entity_id,
            available=stock.available_qty,
            daily_demand=stock.daily_demand,
            lead_time_days=facts.lead_time_days,
            lines=lines,
            sites=sites,
        )
        po_rows = tuple(
            _po_row(ln, suppliers.get(ln.supplier_id or ""), as_of, out) for ln in lines
        )
    in_window = (
        out
        if out is not None and as_of is not None and out <= as_of + timedelta(days=days)
        else None
    )
    return ItemView(
        facts=facts,
        score=score,
        history=tuple(history),
        demand=tuple(demand),
        stock=stock,
        as_of=as_of,
        lines=tuple(lines),
        po_rows=po_rows,
        sites=_site_rows(sites, facts),
        stockout=out,
        projection=tuple(days_ahead),
        stockout_in_window=in_window,
        suggestion=suggestion,
    )
