"""Answering promise requests: for each line the promisable date, the partial quantity on the
wanted day, the other sites of the same entity that can promise earlier, and the projection.

`answer(con, requests, scope=...)` answers a whole order in one pass: it checks
every line, reads the ATP inputs of every (item, site) it needs with one
query per input (`promising.sql`), and projects each item-site once
(`promising.atp`).

Alternatives of a line at site L: the other locations of L's entity
(`locations.entity_id`) within the caller's scope whose promisable date is
earlier than L's, or any date at all when L cannot promise within the
horizon; earliest first. A site of another entity is never offered.

The horizon runs from T for `horizon_days` days, extended to the wanted day
when that is later, so that a request far ahead is judged on its own day.

Risk: with `risk` (a callable, e.g. `control_tower.risk.promise_risk` bound to
a connection), each suggested date (the line's own and each alternative's)
gets the late-order model's probability that a line promised on it is
delivered late; without, risk is None. Promising itself never imports the
risk layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from numbers import Real
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.promising import sql as S
from control_tower.promising.atp import (
    DEFAULT_HORIZON_DAYS,
    MAX_HORIZON_DAYS,
    DemandEvent,
    Projection,
    SupplyEvent,
    check_horizon,
    project,
)
from control_tower.storage.serving import published_as_of

UOMS = ("EA", "CS")
MAX_LINES = 200


class PromiseInputError(ValueError):
    """A request that cannot be answered as asked: names the field and the value."""

    def __init__(self, field_name: str, value: Any, why: str, line: int | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{field_name}={value!r}: {why}")
        self.field = field_name
        self.value = value
        self.line = line


class OutOfScopeError(PermissionError):
    """A request for a location outside the caller's scope."""


@dataclass(frozen=True)
class PromiseRequest:
    """One line to promise: `qty` of `item_id` at `location_id`, wanted on `wanted` (None: as
    soon as possible), in `uom` (EA eaches, CS cases of `items.case_qty`). `customer_id`
    (optional) only sharpens the risk of the suggested dates. `line` names an open order
    line this request promises again (a re-promise): its own demand is left out of the
    projection the line is judged on, so it does not compete with itself."""

    item_id: str
    location_id: str
    qty: float
    wanted: date | None = None
    uom: str = "EA"
    customer_id: str | None = None
    line: tuple[str, int] | None = None  # (order_id, line_no) of an open line promised again


@dataclass(frozen=True)
class PromiseLine:
    """A hypothetical order line, as the risk model scores it: `qty` eaches of `item_id` at
    `location_id`, ordered on the as-of day and promised on `promised_date`."""

    item_id: str
    location_id: str
    qty: float
    promised_date: date
    requested_date: date
    customer_id: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class RiskScores:
    """The probabilities of being late of some lines (None where unscored), and why not when
    none could be given (e.g. no trained model)."""

    values: tuple[float | None, ...]
    note: str | None = None


RiskFn = Callable[[Sequence[PromiseLine], date], RiskScores]


@dataclass(frozen=True)
class Alternative:
    """Another site of the same entity that can promise the line, and when."""

    location_id: str
    date: date
    risk: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The alternative as JSON-ready values."""
        return {"location_id": self.location_id, "date": self.date.isoformat(), "risk": self.risk}


@dataclass(frozen=True)
class PromiseAnswer:
    """What can be promised for one request.

    `status`: `promisable` (the whole quantity on the wanted day), `partial` (some of it on
    the wanted day, the whole later, on `date`), `later` (nothing on the wanted day, the whole
    on `date`), `not_within_horizon` (no day of the horizon keeps the whole quantity; `date`
    None). Quantities are eaches; `wanted` is the first day a promise can be for, R'.
    """

    request: PromiseRequest
    qty: float  # the request's quantity in eaches
    entity_id: str
    as_of: date
    wanted: date
    date: date | None
    status: str
    partial_qty: float
    alternatives: tuple[Alternative, ...]
    projection: Projection
    risk: float | None = None
    risk_note: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self, *, projection: bool = True) -> dict[str, Any]:
        """The answer as JSON-ready values (with every projection day unless told not to)."""
        r = self.request
        out: dict[str, Any] = {
            "item_id": r.item_id,
            "location_id": r.location_id,
            "entity_id": self.entity_id,
            "requested_qty": float(r.qty),
            "uom": r.uom,
            "qty": self.qty,
            "as_of": self.as_of.isoformat(),
            "wanted": self.wanted.isoformat(),
            "date": self.date.isoformat() if self.date else None,
            "status": self.status,
            "partial_qty": self.partial_qty,
            "risk": self.risk,
            "risk_note": self.risk_note,
            "alternatives": [a.to_json() for a in self.alternatives],
            "notes": list(self.notes),
        }
        if projection:
            out["projection"] = self.projection.to_json()
        return out


def as_of_day(cur: duckdb.DuckDBPyConnection) -> date | None:
    """The data's as-of day T: the day the published KPI values were computed as of, else the
    newest inventory snapshot's day; None when there is neither."""
    day = published_as_of(cur)
    if day is not None:
        return day
    row = cur.execute("SELECT max(snapshot_date) FROM main.inventory_snapshots").fetchone()
    return row[0] if row else None


def status_of(day: date | None, wanted: date, partial: float) -> str:
    """The answer's status (`PromiseAnswer`)."""
    if day is None:
        return "not_within_horizon"
    if day <= wanted:
        return "promisable"
    return "partial" if partial > 0 else "later"


def _positive(qty: Any) -> bool:
    """Whether `qty` is a finite number above zero (not a bool)."""
    if isinstance(qty, bool) or not isinstance(qty, Real | Decimal):
        return False
    return math.isfinite(qty) and qty > 0


def _check(requests: Sequence[PromiseRequest]) -> None:
    if not requests:
        raise PromiseInputError("requests", [], "give at least one line to promise")
    if len(requests) > MAX_LINES:
        raise PromiseInputError("requests", len(requests), f"at most {MAX_LINES} lines at once")
    for n, r in enumerate(requests, start=1):
        line = n if len(requests) > 1 else None
        if not r.item_id:
            raise PromiseInputError("item", r.item_id, "give an item id", line)
        if not r.location_id:
            raise PromiseInputError("location", r.location_id, "give a location id", line)
        if not _positive(r.qty):
            raise PromiseInputError("qty", r.qty, "the quantity must be a positive number", line)
        if r.uom not in UOMS:
            raise PromiseInputError(
                "uom", r.uom, f"the unit must be one of {', '.join(UOMS)}", line
            )
        if r.wanted is not None and not isinstance(r.wanted, date):
            raise PromiseInputError("date", r.wanted, "the wanted day must be a date", line)


def _masters(
    cur: duckdb.DuckDBPyConnection, requests: Sequence[PromiseRequest]
) -> tuple[dict[str, int], dict[str, str]]:
    """case_qty of each requested item, and entity_id of every location."""
    items = sorted({r.item_id for r in requests})
    case = dict(
        cur.execute(
            "SELECT item_id, case_qty FROM main.items WHERE item_id IN "
            "(SELECT unnest($ids::VARCHAR[]))",
            {"ids": items},
        ).fetchall()
    )
    entity = dict(cur.execute("SELECT location_id, entity_id FROM main.locations").fetchall())
    return case, entity


def _resolve(
    requests: Sequence[PromiseRequest], case: dict[str, int], entity: dict[str, str], scope: Scope
) -> list[float]:
    """Each request's quantity in eaches; errors for unknown ids and locations out of scope."""
    out = []
    for n, r in enumerate(requests, start=1):
        line = n if len(requests) > 1 else None
        if r.item_id not in case:
            raise PromiseInputError("item", r.item_id, "no such item in the item master", line)
        if r.location_id not in entity:
            raise PromiseInputError("location", r.location_id, "no such location", line)
        if not scope.allows(entity[r.location_id], r.location_id):
            raise OutOfScopeError(
                f"location={r.location_id!r} is outside your scope ({scope.describe()})"
            )
        factor = (case[r.item_id] or 1) if r.uom == "CS" else 1
        out.append(float(r.qty) * factor)
    return out


def _days_ahead(r: PromiseRequest, n: int, count: int, as_of: date) -> int:
    """Days from T to the wanted day (0 without one); an error beyond the longest horizon."""
    ahead = (r.wanted - as_of).days if r.wanted else 0
    if ahead > MAX_HORIZON_DAYS:
        raise PromiseInputError(
            "date",
            r.wanted.isoformat() if r.wanted else None,
            f"more than {MAX_HORIZON_DAYS} days after the as-of day {as_of}",
            n if count > 1 else None,
        )
    return ahead


def _siblings(location_id: str, entity: dict[str, str], scope: Scope) -> list[str]:
    """The other locations of the location's entity within scope."""
    own = entity[location_id]
    return sorted(
        loc
        for loc, ent in entity.items()
        if ent == own and loc != location_id and scope.allows(ent, loc)
    )


Inputs = tuple[float | None, list[SupplyEvent], list[DemandEvent]]


def _has_repromises(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database has the tower's re-promises (`exc.line_promises`): a snapshot
    published before they existed has not, and is answered on the landed promises."""
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'exc' AND table_name = 'line_promises'"
    ).fetchone()
    return bool(row and row[0])


def read_inputs(
    cur: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]], *, as_of: date
) -> dict[tuple[str, str], Inputs]:
    """The start availability, supply and demand of each (item_id, location_id), read in one
    query each."""
    params = S.parameters(as_of, pairs)
    start = {
        (r[0], r[1]): r[6] for r in cur.execute(S.start_sql(restricted=True), params).fetchall()
    }
    supply: dict[tuple[str, str], list[SupplyEvent]] = {}
    for r in cur.execute(S.supply_sql(restricted=True), params).fetchall():
        supply.setdefault((r[0], r[1]), []).append(SupplyEvent(r[2], r[3], r[5], r[4]))
    demand: dict[tuple[str, str], list[DemandEvent]] = {}
    demand_sql = S.demand_sql(restricted=True, repromises=_has_repromises(cur))
    for r in cur.execute(demand_sql, params).fetchall():
        demand.setdefault((r[0], r[1]), []).append(DemandEvent(r[2], r[3], r[6], r[5], r[4]))
    return {p: (start.get(p), supply.get(p, []), demand.get(p, [])) for p in set(pairs)}


def _project(
    as_of: date, inputs: Inputs, horizon_days: int, without: tuple[str, int] | None = None
) -> Projection:
    """The projection of one item-location's inputs, the demand of line `without` left out."""
    start, supply, demand = inputs
    if without is not None:
        demand = [d for d in demand if (d.order_id, d.line_no) != without]
    return project(as_of, start, supply, demand, horizon_days)


def read_projections(
    cur: duckdb.DuckDBPyConnection,
    pairs: Sequence[tuple[str, str]],
    *,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> dict[tuple[str, str], Projection]:
    """The projection of each (item_id, location_id), its inputs read in one query each."""
    inputs = read_inputs(cur, pairs, as_of=as_of)
    return {p: _project(as_of, i, horizon_days) for p, i in inputs.items()}


def answer(
    con: duckdb.DuckDBPyConnection,
    requests: Sequence[PromiseRequest],
    *,
    scope: Scope,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: date | None = None,
    risk: RiskFn | None = None,
) -> list[PromiseAnswer]:
    """Answer every request (module docstring), in order.

    Raises PromiseInputError (an empty or too long order, an unknown item or location, a
    quantity not positive, an unknown unit, a wanted day that is not a date) naming the
    field, value and line, and OutOfScopeError for a location outside `scope`. `as_of`
    defaults to the data's as-of day (`as_of_day`).
    """
    try:
        check_horizon(horizon_days)
    except ValueError as exc:
        raise PromiseInputError("horizon", horizon_days, str(exc).split(": ", 1)[1]) from None
    _check(requests)
    cur = con.cursor()
    try:
        case, entity = _masters(cur, requests)
        qtys = _resolve(requests, case, entity, scope)
        as_of = as_of or as_of_day(cur)
        if as_of is None:
            raise PromiseInputError("as_of", None, "no data has been landed yet")
        horizon = max(
            horizon_days,
            *(_days_ahead(r, n, len(requests), as_of) for n, r in enumerate(requests, 1)),
        )
        sites = {r.location_id: _siblings(r.location_id, entity, scope) for r in requests}
        pairs = sorted(
            {(r.item_id, loc) for r in requests for loc in (r.location_id, *sites[r.location_id])}
        )
        inputs = read_inputs(cur, pairs, as_of=as_of)
    finally:
        cur.close()
    projections = {p: _project(as_of, i, horizon) for p, i in inputs.items()}
    answers = [
        _one(r, q, entity[r.location_id], projections, sites[r.location_id], own)
        for r, q in zip(requests, qtys, strict=True)
        for own in [
            _project(as_of, inputs[(r.item_id, r.location_id)], horizon, r.line)
            if r.line is not None
            else projections[(r.item_id, r.location_id)]
        ]
    ]
    return _with_risk(answers, risk) if risk is not None else answers


def _one(
    r: PromiseRequest,
    qty: float,
    entity_id: str,
    projections: dict[tuple[str, str], Projection],
    siblings: Sequence[str],
    own: Projection,
) -> PromiseAnswer:
    wanted = own.earliest_day(r.wanted)
    day = own.promisable_date(qty, wanted)
    partial = own.partial_qty(qty, wanted)
    alternatives = []
    for loc in siblings:
        other = projections[(r.item_id, loc)].promisable_date(qty, wanted)
        if other is not None and (day is None or other < day):
            alternatives.append(Alternative(loc, other))
    alternatives.sort(key=lambda a: (a.date, a.location_id))
    return PromiseAnswer(
        request=r,
        qty=qty,
        entity_id=entity_id,
        as_of=own.as_of,
        wanted=wanted,
        date=day,
        status=status_of(day, wanted, partial),
        partial_qty=partial,
        alternatives=tuple(alternatives),
        projection=own,
        notes=own.notes,
    )


def _with_risk(answers: list[PromiseAnswer], risk: RiskFn) -> list[PromiseAnswer]:
    """The answers with the risk of each suggested date, scored in one call."""
    lines: list[PromiseLine] = []
    for a in answers:
        r = a.request
        dates = [(r.location_id, a.date)] + [(x.location_id, x.date) for x in a.alternatives]
        lines += [
            PromiseLine(r.item_id, loc, a.qty, d, a.wanted, r.customer_id)
            for loc, d in dates
            if d is not None
        ]
    if not lines:
        return answers
    as_of = answers[0].as_of
    scores = risk(lines, as_of)
    values = iter(scores.values)
    out = []
    for a in answers:
        own = next(values) if a.date is not None else None
        alts = tuple(replace(x, risk=next(values)) for x in a.alternatives)
        out.append(replace(a, risk=own, alternatives=alts, risk_note=scores.note))
    return out
