"""An item-location's future: the forward projection of available stock, its stockout date,
and the action suggested to a planner.

Suggested action (A = available today, D = daily demand, L = the item's lead
time in days, "need" = ceil(D x L - A), what is missing to last one lead time):

1. Transfer: another location of the same entity, in the user's scope, holds
   excess, i.e. available above two lead times of its own demand
   (excess = A' - 2 x L x D', all of A' when it has no demand). Suggests
   "Transfer N from X", N = min(need, excess of the site with the most).
2. Expedite: the projection (below) runs out on a date S and an open PO line
   is expected after S: "Expedite PO P (due D, Nd late for need)" for the
   earliest such line.
3. Raise a PO: no open PO line at all, and two lead times of demand exceed A:
   "Raise a PO for N (lead time L d)", N = ceil(2 x L x D - A).
4. Otherwise "Monitor".

Projection: day 0 is the snapshot day with A; each later day removes D and
adds the open quantity of each open PO line on its expected date (a line
already past its expected date is counted on day 1, the earliest it can
still arrive). The stockout date is the first day the projection is at or
below zero (as stockout_rate counts it: available <= 0 is a stockout).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from control_tower.planning.supply import EXCESS_LEAD_TIMES, PoLine, SiteStock

STOCKOUT_SEARCH_DAYS = 730


@dataclass(frozen=True)
class Suggestion:
    """What a planner could do about one row: kind, a sentence, and its numbers."""

    kind: str  # transfer, expedite, raise_po, monitor
    text: str
    qty: int | None = None
    source_location: str | None = None
    po_id: str | None = None
    due: date | None = None
    days_late: int | None = None


@dataclass(frozen=True)
class ProjectionDay:
    """One day of the forward projection of available stock."""

    day: date
    available: float
    receipts: float


def _receipt_days(as_of: date, lines: Iterable[PoLine]) -> list[tuple[int, float]]:
    """(day offset, qty) of open PO lines; lines past due or undated land on day 1."""
    days: dict[int, float] = {}
    for line in lines:
        offset = (line.expected_date - as_of).days if line.expected_date else 1
        offset = max(offset, 1)
        days[offset] = days.get(offset, 0.0) + line.open_qty
    return sorted(days.items())


def project(
    as_of: date,
    available: float,
    daily_demand: float,
    lines: Sequence[PoLine],
    days: int,
) -> list[ProjectionDay]:
    """Available stock for `as_of` and the next `days` days (module docstring)."""
    arrivals = dict(_receipt_days(as_of, lines))
    received = 0.0
    out = [ProjectionDay(as_of, float(available), 0.0)]
    for t in range(1, max(days, 0) + 1):
        got = arrivals.get(t, 0.0)
        received += got
        level = float(available) + received - daily_demand * t
        out.append(ProjectionDay(as_of + timedelta(days=t), level, got))
    return out


def stockout_date(
    as_of: date,
    available: float,
    daily_demand: float,
    lines: Sequence[PoLine],
    *,
    within_days: int = STOCKOUT_SEARCH_DAYS,
) -> date | None:
    """The first day the projection is at or below zero, or None within `within_days`."""
    events = _receipt_days(as_of, lines)
    stock, start = float(available), 0
    bounds = [*events, (within_days + 1, 0.0)]
    for end, qty in bounds:
        # Days start..end-1 hold stock - D * t (t counted from as_of).
        if stock - daily_demand * start <= 1e-9:
            return as_of + timedelta(days=start)
        if daily_demand > 0:
            t = max(math.ceil(stock / daily_demand - 1e-9), start)
            if t < end and t <= within_days:
                return as_of + timedelta(days=t)
        stock += qty
        start = end
        if start > within_days:
            break
    return None


def suggest_action(
    *,
    as_of: date,
    location_id: str,
    entity_id: str | None,
    available: float,
    daily_demand: float,
    lead_time_days: int | None,
    lines: Sequence[PoLine],
    sites: Sequence[SiteStock],
) -> Suggestion:
    """The suggested action of one item-location (module docstring: transfer, expedite, raise, monitor)."""
    lead = lead_time_days or 0
    need = math.ceil(max(daily_demand * lead - available, 0.0) - 1e-9)
    donors = [
        s
        for s in sites
        if s.location_id != location_id
        and s.entity_id == entity_id
        and math.floor(s.excess_qty + 1e-9) >= 1
    ]
    if need >= 1 and donors:
        best = max(donors, key=lambda s: (s.excess_qty, s.location_id))
        qty = min(need, math.floor(best.excess_qty + 1e-9))
        return Suggestion(
            "transfer",
            f"Transfer {qty:,} from {best.location_id}",
            qty=qty,
            source_location=best.location_id,
        )
    out = stockout_date(as_of, available, daily_demand, lines)
    if out is not None:
        late = [ln for ln in lines if ln.expected_date is not None and ln.expected_date > out]
        if late:
            first = late[0]
            days_late = (first.expected_date - out).days  # type: ignore[operator]
            return Suggestion(
                "expedite",
                f"Expedite PO {first.po_id} (due {first.expected_date:%Y-%m-%d}, "
                f"{days_late}d late for need)",
                qty=math.ceil(first.open_qty),
                po_id=first.po_id,
                due=first.expected_date,
                days_late=days_late,
            )
    if not lines:
        qty = math.ceil(max(EXCESS_LEAD_TIMES * lead * daily_demand - available, 0.0) - 1e-9)
        if qty >= 1:
            return Suggestion("raise_po", f"Raise a PO for {qty:,} (lead time {lead} d)", qty=qty)
    return Suggestion("monitor", "Monitor")
