"""An order to promise as the "Promise an order" page enters it, and its answers as rows.

A line is a dict of text fields (`LINE_FIELDS`: item, qty, uom, date, site, customer) as the
page's grid holds them. `promise_rows` reads every line, refuses the ones it cannot read or
whose site is outside the user's sites (each with its own error), answers the others in one
`promising.answer.answer` call, and returns the lines with their answers (`RESULT_FIELDS`).
An error `answer` raises for one line (an unknown item, a date too far ahead) is set on that
line and the rest of the order is answered without it.

`promise_link` is the drill from an order promise exception item to its line's answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

import duckdb

from control_tower.accounts import Scope
from control_tower.promising.answer import (
    OutOfScopeError,
    PromiseAnswer,
    PromiseInputError,
    PromiseRequest,
    RiskFn,
    answer,
)

LINE_FIELDS = ("item", "qty", "uom", "date", "site", "customer")
RESULT_FIELDS = ("promise", "status", "partial", "alternatives", "risk", "note", "error")
STATUS_WORDS = {
    "promisable": "Promisable on the wanted day",
    "partial": "Part on the wanted day, the rest later",
    "later": "Nothing on the wanted day, all later",
    "not_within_horizon": "Not promisable within the horizon",
}
PROMISE_TYPES = ("order_at_risk", "missed_promise")
# Who may promise (the page's roles); a link to it is offered to these roles only.
ROLES = ("planner", "customer_service", "executive", "admin")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def blank(line: Mapping[str, Any]) -> bool:
    """Whether a line has nothing entered in it (its unit and site are filled in for it)."""
    return not any(_text(line.get(f)) for f in ("item", "qty", "date", "customer"))


def parse_pasted(text: str, default_site: str | None = None) -> list[dict[str, Any]]:
    """Lines pasted as `item,qty,date,site,unit,customer` (comma, semicolon or tab; all but
    item and quantity optional, the unit EA by default; a header line starting with "item"
    skipped), as grid lines."""
    lines = []
    for raw in (text or "").splitlines():
        cells = [c.strip() for c in raw.replace("\t", ",").replace(";", ",").split(",")]
        if not any(cells) or cells[0].lower() == "item":
            continue
        cells += [""] * (6 - len(cells))
        lines.append(
            {
                "item": cells[0],
                "qty": cells[1],
                "uom": cells[4].upper() or "EA",
                "date": cells[2],
                "site": cells[3] or (default_site or ""),
                "customer": cells[5],
            }
        )
    return lines


def read_line(line: Mapping[str, Any], sites: set[str]) -> PromiseRequest:
    """The request of one grid line; PromiseInputError naming the field that cannot be read
    (and OutOfScopeError for a site that is not one of `sites`, the user's)."""
    item, site = _text(line.get("item")), _text(line.get("site"))
    raw_qty, raw_date = _text(line.get("qty")), _text(line.get("date"))
    if not item:
        raise PromiseInputError("item", item, "give an item id")
    try:
        qty = float(raw_qty.replace(",", ""))
    except ValueError:
        raise PromiseInputError("qty", raw_qty, "the quantity must be a number") from None
    try:
        wanted = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise PromiseInputError("date", raw_date, "the date must be YYYY-MM-DD") from None
    if not site:
        raise PromiseInputError("site", site, "choose a site")
    if site not in sites:
        raise OutOfScopeError(f"site {site!r} is not one of your sites")
    uom = (_text(line.get("uom")) or "EA").upper()
    customer = _text(line.get("customer")) or None
    return PromiseRequest(item, site, qty, wanted, uom, customer, _order_line(line))


def _order_line(line: Mapping[str, Any]) -> tuple[str, int] | None:
    """The open order line a grid line promises again (set by a drill from its queue item),
    whose own demand then stays out of its projection; None for a new line."""
    order, number = _text(line.get("order")), _text(line.get("line_no"))
    if not order or not number.isdigit():
        return None
    return order, int(number)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, PromiseInputError):
        message = str(exc)
        return message.split(": ", 1)[1] if exc.line is not None else message
    return str(exc)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def result_fields(a: PromiseAnswer) -> dict[str, Any]:
    """What the page shows of one answer."""
    return {
        "promise": a.date.isoformat() if a.date else "",
        "status": STATUS_WORDS[a.status],
        "partial": a.partial_qty,
        "alternatives": "; ".join(
            f"{x.location_id} {x.date.isoformat()}"
            + (f" (risk {_percent(x.risk)})" if x.risk is not None else "")
            for x in a.alternatives
        ),
        "risk": a.risk,
        "note": "; ".join([*(a.notes or ()), *([a.risk_note] if a.risk_note else [])]),
        "error": "",
    }


def promise_rows(
    cur: duckdb.DuckDBPyConnection,
    lines: Sequence[Mapping[str, Any]],
    *,
    scope: Scope,
    sites: set[str],
    risk: RiskFn | None = None,
) -> list[dict[str, Any]]:
    """The lines with their answers or errors (module docstring); blank lines stay blank."""
    out = [{**dict(line), **dict.fromkeys(RESULT_FIELDS, "")} for line in lines]
    todo: list[tuple[int, PromiseRequest]] = []
    for n, line in enumerate(lines):
        if blank(line):
            continue
        try:
            todo.append((n, read_line(line, sites)))
        except (PromiseInputError, OutOfScopeError) as exc:
            out[n]["error"] = _error_text(exc)
    while todo:
        try:
            answers = answer(cur, [r for _n, r in todo], scope=scope, risk=risk)
        except PromiseInputError as exc:
            if exc.field in ("requests", "as_of"):
                for n, _r in todo:
                    out[n]["error"] = _error_text(exc)
                break
            n, _r = todo.pop((exc.line or 1) - 1)
            out[n]["error"] = _error_text(exc)
            continue
        except OutOfScopeError as exc:
            for n, _r in todo:
                out[n]["error"] = str(exc)
            break
        for (n, _r), a in zip(todo, answers, strict=True):
            out[n].update(result_fields(a))
        break
    return out


def line_answer(
    cur: duckdb.DuckDBPyConnection, line: Mapping[str, Any], *, scope: Scope, sites: set[str]
) -> PromiseAnswer:
    """The answer of one line with its projection (errors as `read_line` and `answer`)."""
    (found,) = answer(cur, [read_line(line, sites)], scope=scope)
    return found


def _number(value: Any) -> str | None:
    """A quantity for a URL: whole numbers without a decimal point, never in exponent form."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return str(int(value)) if float(value).is_integer() else str(float(value))


def promise_link(
    type_name: str,
    item_id: str | None,
    location_id: str | None,
    detail: Mapping[str, Any],
    role: str | None = None,
) -> str | None:
    """`/promise?item=&location=&qty=&date=` for an order promise exception item: its open
    quantity (ordered less delivered for a missed promise) and its promised date; None for
    other types, an item without item and location, or a `role` that may not promise."""
    if type_name not in PROMISE_TYPES or not item_id or not location_id:
        return None
    if role is not None and role not in ROLES:
        return None
    order_line = (detail.get("order_id"), detail.get("line_no"))
    if type_name == "order_at_risk":
        qty, day = detail.get("open_qty"), detail.get("promised_date")
    else:
        ordered, delivered = detail.get("ordered_qty"), detail.get("delivered_qty") or 0
        left = ordered - delivered if isinstance(ordered, int | float) else None
        qty = left if left and left > 0 else ordered
        day = detail.get("first_promised_date")
    return promise_href(item_id, location_id, qty, day, order_line)


def promise_href(
    item_id: Any,
    location_id: Any,
    qty: Any = None,
    day: Any = None,
    order_line: tuple[Any, Any] | None = None,
) -> str:
    """`/promise` with one line filled in: the item at the site (quantity and day when known;
    with `order_line`, the open order line it promises again, left out of its own projection)."""
    query = {"item": str(item_id or ""), "location": str(location_id or "")}
    if order_line and order_line[0] and str(order_line[1]).isdigit():
        query["order"], query["line"] = str(order_line[0]), str(order_line[1])
    if _number(qty):
        query["qty"] = _number(qty) or ""
    if day:
        query["date"] = str(day)[:10]
    return "/promise?" + urlencode(query)
