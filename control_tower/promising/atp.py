"""Available to promise: the day-by-day projection of an item-location and what it can promise.

Pure Python, no I/O: the caller reads the inputs (`control_tower.promising.sql`).

Projection, by local day from the data's as-of day T over a horizon of H days:

    A(T) = on_hand - allocated - quarantined of the latest snapshot on or before T
    A(d) = A(d-1) + supply on d - demand on d            for d = T+1 .. T+H

Supply is the quantity still to receive of open PO lines on their expected
date, demand the quantity still to ship of open or backordered order lines on
their promised date. Past-due or undated events count on T+1, the earliest
day they can still happen; events after T+H are outside the projection.

Promising Q units wanted on day R (cumulative ATP): R' = max(R, T+1) (nothing
can be promised for today or the past: the day's stock is already being
picked), and the promisable date is the earliest d >= R' such that A(t) >= Q
for every t in [d, T+H]. Looking ahead to the end of the horizon, not only at
A(d), is what keeps a promise from taking stock already promised to a
later-dated order: if A(d) is 100 but an order of 80 falls due on d+3 with no
supply before, only 20 are free on d. The quantity promisable on R' itself is
max(0, min(Q, min A(t) for t in [R', T+H])), the partial answer.

Edge cases (the rules, also tested):
- Q <= 0 is an error (ValueError naming the quantity).
- R None or before T+1: R' = T+1.
- R' after T+H: the projection cannot judge that day; `promisable_date` and
  `partial_qty` answer None and 0. (`promising.answer` extends the horizon to
  the wanted day, so its answers never meet this.)
- No day within the horizon keeps Q: `promisable_date` is None ("not within
  the horizon").
- An item missing from its site's latest snapshot (or a site without one) starts
  from 0, with a note saying so.
- An unknown item or location never reaches the projection: `promising.answer`
  refuses it, naming the field and the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

DEFAULT_HORIZON_DAYS = 60
MAX_HORIZON_DAYS = 730
EPSILON = 1e-9


@dataclass(frozen=True)
class SupplyEvent:
    """Quantity still to receive on an open PO line, and the day the projection counts it."""

    po_id: str
    line_no: int
    qty: float
    expected_date: date | None  # as the PO says (None: undated)
    day: date | None = None  # set by `project`: expected_date, or T+1 when past due or undated

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready values."""
        return {
            "po_id": self.po_id,
            "line_no": self.line_no,
            "qty": self.qty,
            "expected_date": _iso(self.expected_date),
            "day": _iso(self.day),
        }


@dataclass(frozen=True)
class DemandEvent:
    """Quantity still to ship on an open order line, and the day the projection counts it."""

    order_id: str
    line_no: int
    qty: float
    promised_date: date | None  # the current promise (None: not promised)
    customer_id: str | None = None
    day: date | None = None  # set by `project`: promised_date, or T+1 when past due or none

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready values."""
        return {
            "order_id": self.order_id,
            "line_no": self.line_no,
            "customer_id": self.customer_id,
            "qty": self.qty,
            "promised_date": _iso(self.promised_date),
            "day": _iso(self.day),
        }


@dataclass(frozen=True)
class ProjectionDay:
    """One day of the projection: available at the end of the day, and the day's events."""

    day: date
    available: float
    supply: tuple[SupplyEvent, ...] = ()
    demand: tuple[DemandEvent, ...] = ()

    @property
    def supply_qty(self) -> float:
        """Units arriving this day."""
        return sum(e.qty for e in self.supply)

    @property
    def demand_qty(self) -> float:
        """Units promised out this day."""
        return sum(e.qty for e in self.demand)

    def to_json(self) -> dict[str, Any]:
        """The day as JSON-ready values."""
        return {
            "day": self.day.isoformat(),
            "available": self.available,
            "supply_qty": self.supply_qty,
            "demand_qty": self.demand_qty,
            "supply": [e.to_json() for e in self.supply],
            "demand": [e.to_json() for e in self.demand],
        }


@dataclass(frozen=True)
class Projection:
    """A(d) for d = T .. T+H of one item-location (`days[0]` is T), with what it can promise."""

    as_of: date
    horizon_days: int
    start_available: float
    days: tuple[ProjectionDay, ...]
    notes: tuple[str, ...] = ()
    _floor: tuple[float, ...] = field(default=(), repr=False, compare=False)

    @property
    def end(self) -> date:
        """The last day of the horizon, T+H."""
        return self.as_of + timedelta(days=self.horizon_days)

    def available(self, day: date) -> float:
        """A(day) (ValueError outside T .. T+H)."""
        return self.days[self._index(day)].available

    def event_days(self) -> list[ProjectionDay]:
        """T and the days where something arrives or is promised out (for compact listings)."""
        return [d for i, d in enumerate(self.days) if i == 0 or d.supply or d.demand]

    def earliest_day(self, wanted: date | None) -> date:
        """R' = max(wanted, T+1): the first day a promise can be for."""
        first = self.as_of + timedelta(days=1)
        return first if wanted is None or wanted < first else wanted

    def promisable_date(self, qty: float, wanted: date | None = None) -> date | None:
        """The earliest d >= R' with A(t) >= qty for every t in [d, T+H] (module docstring);
        None when no such day is within the horizon, or R' is after it."""
        _check_qty(qty)
        start = self.earliest_day(wanted)
        if start > self.end:
            return None
        for i in range(self._index(start), len(self.days)):
            if self._floor[i] >= qty - EPSILON:
                return self.days[i].day
        return None

    def partial_qty(self, qty: float, wanted: date | None = None) -> float:
        """What of `qty` can be promised on R' itself: max(0, min(qty, min A(t), t in [R', T+H]));
        0 when R' is after the horizon."""
        _check_qty(qty)
        start = self.earliest_day(wanted)
        if start > self.end:
            return 0.0
        return max(0.0, min(float(qty), self._floor[self._index(start)]))

    def to_json(self) -> dict[str, Any]:
        """The projection as JSON-ready values (every day, with its events)."""
        return {
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.horizon_days,
            "end": self.end.isoformat(),
            "start_available": self.start_available,
            "notes": list(self.notes),
            "days": [d.to_json() for d in self.days],
        }

    def _index(self, day: date) -> int:
        i = (day - self.as_of).days
        if not 0 <= i < len(self.days):
            raise ValueError(f"{day} is outside the projection {self.as_of} .. {self.end}")
        return i


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _check_qty(qty: float) -> None:
    if not qty > 0:
        raise ValueError(f"qty={qty!r}: the quantity to promise must be positive")


def check_horizon(horizon_days: int) -> None:
    """ValueError unless 1 <= horizon_days <= MAX_HORIZON_DAYS."""
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(
            f"horizon_days={horizon_days!r}: the horizon must be 1 to {MAX_HORIZON_DAYS} days"
        )


def event_day(as_of: date, when: date | None) -> date:
    """The projection day of an event dated `when`: itself, or T+1 when past due or undated."""
    first = as_of + timedelta(days=1)
    return first if when is None or when < first else when


def project(
    as_of: date,
    start_available: float | None,
    supply: Iterable[SupplyEvent],
    demand: Iterable[DemandEvent],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    notes: Iterable[str] = (),
) -> Projection:
    """The projection A(T) .. A(T+H) (module docstring). `start_available` None means no
    snapshot on or before T: the projection starts from 0 and says so in its notes."""
    check_horizon(horizon_days)
    notes = list(notes)
    if start_available is None:
        notes.append(
            f"not in the site's latest inventory snapshot on or before {as_of}: starts from 0 available"
        )
        start_available = 0.0
    end = as_of + timedelta(days=horizon_days)
    ins: dict[date, list[SupplyEvent]] = {}
    outs: dict[date, list[DemandEvent]] = {}
    for s in supply:
        day = event_day(as_of, s.expected_date)
        if day <= end:
            ins.setdefault(day, []).append(replace(s, day=day))
    for o in demand:
        day = event_day(as_of, o.promised_date)
        if day <= end:
            outs.setdefault(day, []).append(replace(o, day=day))
    level = float(start_available)
    days = [ProjectionDay(as_of, level)]
    for t in range(1, horizon_days + 1):
        day = as_of + timedelta(days=t)
        got, out = tuple(ins.get(day, ())), tuple(outs.get(day, ()))
        level += sum(e.qty for e in got) - sum(e.qty for e in out)
        days.append(ProjectionDay(day, level, got, out))
    floor = [0.0] * len(days)
    low = float("inf")
    for i in range(len(days) - 1, -1, -1):
        low = min(low, days[i].available)
        floor[i] = low
    return Projection(
        as_of, horizon_days, float(start_available), tuple(days), tuple(notes), tuple(floor)
    )
