"""Re-promising an open order line in place: a new promised date and its reason.

`repromise_line` is the one path the customer-service page and the API take:

1. checks: the role may re-promise (planner, customer_service, admin); the line
   exists in the published data and in the user's scope (a line outside it
   looks unknown); it is open or backordered with quantity still to ship; the
   new date is a date from T+1 on (T: the data's as-of day), within the
   longest ATP horizon; the reason is not empty. Each refusal names the field,
   the value and why.
2. judges the new date on the current serving snapshot: the line's open
   quantity is promised at its site on the new date with the line's own demand
   left out (`promising.answer`, `PromiseRequest.line`); covered when the whole
   quantity is promisable on that day. The ATP date is the earliest day from T+1
   on that it is.
3. records the re-promise in the app database (`exc_line_promises`: the new
   date, the promise it replaced, reason, who, when). The line's first
   promise never changes: the KPIs measure against it. The latest re-promise
   is the line's promise until a later extract of the line brings a newer
   one; the exceptions step copies it to the warehouse, where the ATP demand
   and `order_at_risk` read it.
4. notes it on the line's unresolved `order_at_risk` item (a comment, in its
   audit trail), and when the new promise is covered resolves that item with
   the reason `re_promised`, whoever owns the queue: the line has a promise the
   stock keeps.

The outcome says whether the new date is covered, the ATP date, whether the
item closed, and a plain-text message to the customer with the new date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy import select

from control_tower.accounts import Scope
from control_tower.exceptions.store import (
    UNRESOLVED,
    ExceptionItem,
    ExceptionStore,
    LinePromise,
)
from control_tower.exceptions.workflow import MAX_NOTE_LENGTH, REPROMISED, act, check_lengths
from control_tower.promising.answer import (
    PromiseInputError,
    PromiseRequest,
    answer,
    as_of_day,
)
from control_tower.promising.atp import MAX_HORIZON_DAYS
from control_tower.settings import utc_now

REPROMISE_ROLES: tuple[str, ...] = ("planner", "customer_service", "admin")
OPEN_STATUSES = ("open", "backordered")
AT_RISK = "order_at_risk"


class RepromiseError(ValueError):
    """A re-promise that cannot be recorded as asked: names the field, the value and why."""

    def __init__(self, field_name: str, value: Any, why: str) -> None:
        super().__init__(f"{field_name}={value!r}: {why}")
        self.field = field_name


class UnknownLineError(LookupError):
    """No such order line in the published data within the user's scope."""


class RepromiseNotAllowedError(PermissionError):
    """The user's role may not re-promise lines."""


@dataclass(frozen=True)
class OrderLine:
    """An order line as the published data has it, with its effective promise."""

    order_id: str
    line_no: int
    item_id: str
    location_id: str
    entity_id: str
    customer_id: str
    status: str
    open_qty: float
    promised_date: date | None  # the effective promise (the tower's re-promise or landed)
    first_promised_date: date | None
    updated_at: datetime


@dataclass(frozen=True)
class RepromiseOutcome:
    """What a re-promise did: the new date, covered or not, the ATP date, the queue item."""

    line: OrderLine
    old_date: date | None
    new_date: date
    reason: str
    as_of: date
    covered: bool
    atp_date: date | None
    item_id: int | None  # the line's unresolved order_at_risk item, if it had one
    item_closed: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON-ready values."""
        return {
            "order_id": self.line.order_id,
            "line_no": self.line.line_no,
            "item_id": self.line.item_id,
            "location_id": self.line.location_id,
            "open_qty": self.line.open_qty,
            "old_date": _iso(self.old_date),
            "new_date": self.new_date.isoformat(),
            "first_promised_date": _iso(self.line.first_promised_date),
            "as_of": self.as_of.isoformat(),
            "covered": self.covered,
            "atp_date": _iso(self.atp_date),
            "exception_id": self.item_id,
            "item_closed": self.item_closed,
            "message": self.message,
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


_LINE_SQL = """
SELECT l.order_id, l.line_no, l.item_id, l.location_id, l.entity_id, l.customer_id, l.status,
       CAST(l.ordered_qty AS DOUBLE) - coalesce((
           SELECT sum(CAST(s.shipped_qty AS DOUBLE)) FROM main.shipments AS s
           WHERE s.order_id = l.order_id AND s.line_no = l.line_no), 0) AS open_qty,
       l.promised_date, l.first_promised_date, l.updated_at
FROM main.sales_order_lines AS l
WHERE l.order_id = $order_id AND l.line_no = $line_no
"""


def read_line(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, order_id: str, line_no: int
) -> OrderLine | None:
    """The order line with its effective promise: the latest re-promise in the app database
    when recorded after the line's updated_at, else the landed promised date; None if unknown."""
    row = cur.execute(_LINE_SQL, {"order_id": order_id, "line_no": line_no}).fetchone()
    if row is None:
        return None
    line = OrderLine(*row)
    history = store.line_promises(order_id, line_no)
    if history and history[-1].recorded_at > line.updated_at:
        line = OrderLine(**{**vars(line), "promised_date": history[-1].promised_date})
    return line


def _checked_line(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, order_id: str, line_no: int, scope: Scope
) -> OrderLine:
    line = read_line(cur, store, order_id, line_no)
    if line is None or not scope.allows(line.entity_id, line.location_id):
        raise UnknownLineError(f"no order line {order_id} line {line_no} in your scope")
    if line.status not in OPEN_STATUSES:
        raise RepromiseError(
            "line", f"{order_id}/{line_no}", f"it is {line.status}; only open or backordered "
            "lines can be re-promised",
        )  # fmt: skip
    if line.open_qty <= 0:
        raise RepromiseError("line", f"{order_id}/{line_no}", "nothing is left to ship on it")
    return line


def _checked_input(role: str | None, promised: Any, reason: Any, user: str) -> str:
    """The reason, stripped; raises for a role, date or reason that will not do."""
    if role not in REPROMISE_ROLES:
        raise RepromiseNotAllowedError(
            f"the {role} role may not re-promise order lines (only {', '.join(REPROMISE_ROLES)})"
        )
    if not isinstance(promised, date) or isinstance(promised, datetime):
        raise RepromiseError("date", promised, "the new promised date must be a date")
    if not isinstance(reason, str) or not reason.strip():
        raise RepromiseError("reason", reason, "say why the promise changes")
    check_lengths(user=user, note=reason, assignee=None)
    return reason.strip()


def repromise_line(
    cur: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    *,
    order_id: str,
    line_no: int,
    promised_date: date,
    reason: str,
    user: str,
    role: str | None,
    scope: Scope,
    as_of: date | None = None,
    now: datetime | None = None,
) -> RepromiseOutcome:
    """Re-promise one open order line (module docstring) as `user` of `role` within `scope`.

    Raises RepromiseNotAllowedError (role), UnknownLineError (no such line in scope) and
    RepromiseError (line not open, date, reason), recording nothing in those cases. `as_of`
    is the data's as-of day T (default: `promising.answer.as_of_day`)."""
    reason = _checked_input(role, promised_date, reason, user)
    line = _checked_line(cur, store, order_id, line_no, scope)
    as_of = as_of or as_of_day(cur)
    if as_of is None:
        raise RepromiseError("date", promised_date.isoformat(), "no data has been landed yet")
    if promised_date <= as_of:
        raise RepromiseError(
            "date", promised_date.isoformat(),
            f"a new promise must be from {as_of + timedelta(days=1)} on (the day after the "
            f"data's as-of day {as_of})",
        )  # fmt: skip
    if promised_date > as_of + timedelta(days=MAX_HORIZON_DAYS):
        raise RepromiseError(
            "date", promised_date.isoformat(), f"more than {MAX_HORIZON_DAYS} days after {as_of}"
        )
    request = PromiseRequest(
        line.item_id, line.location_id, line.open_qty, promised_date,
        customer_id=line.customer_id, line=(order_id, line_no),
    )  # fmt: skip
    try:
        (found,) = answer(cur, [request], scope=Scope(), as_of=as_of)
    except PromiseInputError as exc:  # masters missing from the published data
        raise RepromiseError("line", f"{order_id}/{line_no}", str(exc)) from None
    covered = found.date is not None and found.date <= promised_date
    atp_date = found.projection.promisable_date(found.qty)  # the earliest, from T+1
    at = now or utc_now()
    store.record_promise(
        LinePromise(
            order_id=order_id, line_no=line_no, promised_date=promised_date,
            previous_promised_date=line.promised_date, reason=reason, actor=user, recorded_at=at,
        )
    )  # fmt: skip
    item_id, closed = _note_on_item(store, line, promised_date, reason, covered, atp_date, user, at)
    return RepromiseOutcome(
        line=line,
        old_date=line.promised_date,
        new_date=promised_date,
        reason=reason,
        as_of=as_of,
        covered=covered,
        atp_date=atp_date,
        item_id=item_id,
        item_closed=closed,
        message=customer_message(line, promised_date),
    )


def _note_on_item(
    store: ExceptionStore,
    line: OrderLine,
    new: date,
    reason: str,
    covered: bool,
    atp_date: date | None,
    user: str,
    at: datetime,
) -> tuple[int | None, bool]:
    """Comment the re-promise on the line's unresolved order_at_risk item and resolve it when
    covered; (its id or None, whether it was resolved)."""
    key = f"{line.order_id}|{line.line_no}"
    with store.session() as s:
        item_id = s.scalars(
            select(ExceptionItem.id).where(
                ExceptionItem.type == AT_RISK,
                ExceptionItem.key == key,
                ExceptionItem.status.in_(UNRESOLVED),
            )
        ).first()
    if item_id is None:
        return None, False
    judged = (
        "the projection covers it"
        if covered
        else f"not covered: the earliest covered day is {_iso(atp_date) or 'beyond the horizon'}"
    )
    note = f"Re-promised from {_iso(line.promised_date) or 'no date'} to {new}: {reason} ({judged})"
    act(store, item_id, "comment", user=user, note=note[:MAX_NOTE_LENGTH], now=at)
    if covered:
        act(store, item_id, "resolve", user=user, reason=REPROMISED, now=at)
    return item_id, covered


def customer_message(line: OrderLine, new: date) -> str:
    """A plain-text draft to the customer: the order, line, item, old and new date."""
    old = f"{line.promised_date:%A %d %B %Y}" if line.promised_date else "not yet dated"
    return (
        f"Dear customer,\n\n"
        f"We have an update on your order {line.order_id}, line {line.line_no} "
        f"(item {line.item_id}, {line.open_qty:g} units still to deliver).\n"
        f"Previously promised delivery: {old}.\n"
        f"New promised delivery: {new:%A %d %B %Y}.\n\n"
        f"We are sorry for any inconvenience this change causes. Please contact us if the new "
        f"date does not work for you.\n\n"
        f"Kind regards,\nCustomer service"
    )
