"""The executive page's money: what the open exceptions put at risk (by queue and by site), the
value of the order backlog and of the stock on hand, under a user's scope.

Every figure is in the reporting currency (`money.settings`), converted by the rules of
docs/currency.md, and for a view of one entity also in that entity's functional currency:

- value at risk: the sum of the unresolved exception items' `value_at_risk` (statuses open,
  acknowledged, snoozed) in the queue's warehouse copy `exc.queue_items`; the rules already
  value them in the reporting currency.
- backlog: the unshipped quantity (ordered - shipped, base units) of the open and backordered
  order lines x their unit price per base unit, in the line's entity currency, converted at
  the rate of the day before the as-of day (the data's day). A site whose currency has no rate
  that day has no converted figure (None, "no rate"), never 0, and is named in `missing`.
- inventory: on hand x the item master's unit cost (the group's standard cost, already in the
  reporting currency) at each site's latest snapshot before the as-of day; in an entity's
  currency at the rate of the snapshot day.

Scope is applied on the rows' own entity and location, so a user scoped to one site sees that
site's money only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from control_tower.accounts import Scope
from control_tower.exceptions.registry import type_label
from control_tower.exceptions.store import UNRESOLVED
from control_tower.money.sql import converted, daily_rate_join, entity_currency_join


class MoneyNotComputedError(LookupError):
    """The snapshot has no `money` tables (it was published before currencies were kept)."""


@dataclass(frozen=True)
class QueueMoney:
    """One exception queue's unresolved items and their value at risk (reporting currency)."""

    type: str
    label: str
    items: int
    valued: int  # items that carry a value at risk
    value_at_risk: float


@dataclass(frozen=True)
class SiteMoney:
    """One site's money. Reporting-currency figures are None where a rate is missing;
    `currency` is the site's entity currency (None: unknown) and the `*_local` figures are in
    it (None: no rate to convert to it, or no currency)."""

    location_id: str | None
    entity_id: str | None
    currency: str | None
    items: int
    value_at_risk: float
    value_at_risk_local: float | None
    backlog: float | None
    backlog_local: float | None
    backlog_lines: int
    inventory: float | None
    inventory_local: float | None
    inventory_day: date | None


@dataclass(frozen=True)
class MissingRate:
    """A site's backlog or inventory that could not be converted: which currency, which day."""

    location_id: str | None
    figure: str  # "backlog" or "inventory"
    from_currency: str | None  # None: the entity's currency is unknown
    to_currency: str
    day: date


@dataclass(frozen=True)
class MoneyView:
    """The executive page's money under a scope, as of `as_of` (the KPI values' day)."""

    reporting_currency: str
    as_of: date
    rate_day: date  # the data's day: the rate point-in-time figures are converted at
    queues: tuple[QueueMoney, ...]  # biggest value at risk first
    sites: tuple[SiteMoney, ...]  # biggest value at risk first
    missing: tuple[MissingRate, ...]

    @property
    def value_at_risk(self) -> float:
        """Every unresolved item's value at risk in scope."""
        return sum(q.value_at_risk for q in self.queues)

    @property
    def backlog(self) -> float | None:
        """The backlog of the sites that could be converted (see `missing` for the others);
        None when none could."""
        return _known_sum(s.backlog for s in self.sites)

    @property
    def inventory(self) -> float | None:
        """The stock value of the sites that could be converted; None when none could."""
        return _known_sum(s.inventory for s in self.sites)

    @property
    def entity(self) -> tuple[str, str] | None:
        """(entity, currency) when every site shown belongs to one entity of known currency
        other than the reporting one: the view then also reads in that currency."""
        pairs = {(s.entity_id, s.currency) for s in self.sites if s.location_id is not None}
        if len(pairs) != 1:
            return None
        entity, currency = next(iter(pairs))
        if entity is None or currency is None or currency == self.reporting_currency:
            return None
        return entity, currency

    def local(self, figure: str) -> float | None:
        """The sum of a figure ("value_at_risk", "backlog", "inventory") in the one entity's
        currency (`entity`); None when not a one-entity view or some site lacks a rate."""
        if self.entity is None:
            return None
        values = [getattr(s, f"{figure}_local") for s in self.sites if s.location_id is not None]
        return None if any(v is None for v in values) else sum(values)


def _known_sum(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def money_view(cur: duckdb.DuckDBPyConnection, scope: Scope, *, as_of: date) -> MoneyView:
    """The money in `scope` as of `as_of`. Raises MoneyNotComputedError when the snapshot has
    no `money` tables."""
    try:
        (reporting,) = cur.execute("SELECT reporting_currency FROM money.settings").fetchone()
    except (duckdb.CatalogException, TypeError) as exc:
        raise MoneyNotComputedError("this snapshot has no currency tables (money)") from exc
    rate_day = as_of - timedelta(days=1)
    items = _items(cur, scope)
    backlog = _backlog(cur, scope, reporting, rate_day)
    stock = _inventory(cur, scope, reporting, as_of)
    queues: dict[str, list[Any]] = {}
    sites: dict[str | None, dict[str, Any]] = {}
    for kind, location, entity, count, valued, value in items:
        q = queues.setdefault(kind, [0, 0, 0.0])
        q[0], q[1], q[2] = q[0] + count, q[1] + valued, q[2] + value
        site = sites.setdefault(location, {"entity_id": entity})
        site["items"] = site.get("items", 0) + count
        site["value_at_risk"] = site.get("value_at_risk", 0.0) + value
    for row in (*backlog, *stock):
        site = sites.setdefault(row["location_id"], {})
        site.setdefault("entity_id", row["entity_id"])
        site.update({k: v for k, v in row.items() if k not in ("location_id", "entity_id")})
    currencies = _site_currencies(cur)
    missing: list[MissingRate] = []
    out: list[SiteMoney] = []
    for location, s in sites.items():
        entity, currency = currencies.get(location, (s.get("entity_id"), None))
        entity = entity or s.get("entity_id")
        var_local = _convert(cur, s.get("value_at_risk", 0.0), reporting, currency, rate_day)
        inv_local = s.get("inventory")
        if inv_local is not None:
            inv_local = _convert(cur, inv_local, reporting, currency, s["inventory_day"])
        if s.get("backlog_lines") and s.get("backlog") is None:
            missing.append(MissingRate(location, "backlog", currency, reporting, rate_day))
        out.append(
            SiteMoney(
                location_id=location,
                entity_id=entity,
                currency=currency,
                items=s.get("items", 0),
                value_at_risk=s.get("value_at_risk", 0.0),
                value_at_risk_local=var_local,
                backlog=s.get("backlog", 0.0 if not s.get("backlog_lines") else None),
                backlog_local=s.get("backlog_local", 0.0 if not s.get("backlog_lines") else None),
                backlog_lines=s.get("backlog_lines", 0),
                inventory=s.get("inventory"),
                inventory_local=inv_local,
                inventory_day=s.get("inventory_day"),
            )
        )
    out.sort(key=lambda s: (-s.value_at_risk, s.location_id is None, s.location_id or ""))
    shown = [QueueMoney(kind, type_label(kind), q[0], q[1], q[2]) for kind, q in queues.items()]
    shown.sort(key=lambda q: (-q.value_at_risk, -q.items, q.type))
    return MoneyView(reporting, as_of, rate_day, tuple(shown), tuple(out), tuple(missing))


def _items(cur: duckdb.DuckDBPyConnection, scope: Scope) -> list[tuple[Any, ...]]:
    """(type, location, entity, items, valued items, value at risk) of unresolved items."""
    condition, params = scope.sql("entity_id", "location_id")
    statuses = ", ".join("?" * len(UNRESOLVED))
    return cur.execute(
        "SELECT type, location_id, any_value(entity_id), count(*), count(value_at_risk), "
        "coalesce(sum(value_at_risk), 0) FROM exc.queue_items "
        f"WHERE status IN ({statuses}) AND {condition} GROUP BY type, location_id",
        [*UNRESOLVED, *params],
    ).fetchall()


# The open and backordered lines' unshipped value by site, in the line's entity currency and
# converted to the reporting currency at the rate of the data's day ($day).
_BACKLOG = f"""
    WITH shipped AS (
        SELECT order_id, line_no, sum(shipped_qty) AS shipped_qty FROM shipments GROUP BY ALL
    ),
    lines AS (
        SELECT l.location_id, l.entity_id,
               greatest(l.ordered_qty - coalesce(s.shipped_qty, 0), 0)
                   * CAST(l.unit_price AS DOUBLE) / coalesce(nullif(l.uom_factor, 0), 1) AS amount
        FROM sales_order_lines AS l
        LEFT JOIN shipped AS s ON s.order_id = l.order_id AND s.line_no = l.line_no
        WHERE l.status IN ('open', 'backordered') AND {{scope}}
    ),
    by_site AS (
        SELECT location_id, entity_id, count(*) AS lines, sum(amount) AS amount
        FROM lines GROUP BY ALL
    )
    SELECT x.location_id, x.entity_id, x.lines, x.amount AS local_amount,
           {converted("x.amount")} AS amount  -- NULL when no rate
    FROM by_site AS x
    {entity_currency_join("x.entity_id")}
    {daily_rate_join("CAST($day AS DATE)")}
"""


def _backlog(
    cur: duckdb.DuckDBPyConnection, scope: Scope, reporting: str, day: date
) -> list[dict[str, Any]]:
    """Per site: backlog lines, value in the entity currency and in the reporting currency."""
    condition, params = scope.sql("l.entity_id", "l.location_id")
    # `?` for the scope, then the day: DuckDB takes one style per statement
    sql = _BACKLOG.replace("$day", "?").format(scope=condition)
    rows = cur.execute(sql, [*params, day]).fetchall()
    by_site: dict[str | None, dict[str, Any]] = {}
    for location, entity, lines, local, in_reporting in rows:
        site = by_site.setdefault(
            location,
            {"location_id": location, "entity_id": entity, "backlog_lines": 0,
             "backlog": 0.0, "backlog_local": 0.0},
        )  # fmt: skip
        site["backlog_lines"] += lines
        site["backlog"] = None if site["backlog"] is None or in_reporting is None else (
            site["backlog"] + in_reporting
        )  # fmt: skip
        site["backlog_local"] = site["backlog_local"] + local if local is not None else None
    return list(by_site.values())


_INVENTORY = """
    WITH latest AS (
        SELECT location_id, max(snapshot_date) AS snapshot_date
        FROM inventory_snapshots WHERE snapshot_date < ? GROUP BY location_id
    )
    SELECT s.location_id, any_value(l.entity_id), s.snapshot_date,
           sum(s.on_hand_qty * CAST(i.unit_cost AS DOUBLE)) AS value
    FROM inventory_snapshots AS s
    JOIN latest USING (location_id, snapshot_date)
    LEFT JOIN items AS i ON i.item_id = s.item_id
    LEFT JOIN locations AS l ON l.location_id = s.location_id
    WHERE {scope}
    GROUP BY s.location_id, s.snapshot_date
"""


def _inventory(
    cur: duckdb.DuckDBPyConnection, scope: Scope, reporting: str, as_of: date
) -> list[dict[str, Any]]:
    """Per site: the stock value (reporting currency) at its latest snapshot before `as_of`."""
    condition, params = scope.sql("l.entity_id", "s.location_id")
    rows = cur.execute(_INVENTORY.format(scope=condition), [as_of, *params]).fetchall()
    return [
        {"location_id": loc, "entity_id": entity, "inventory": value or 0.0, "inventory_day": day}
        for loc, entity, day, value in rows
    ]


def _site_currencies(cur: duckdb.DuckDBPyConnection) -> dict[str | None, tuple[str | None, ...]]:
    """Each location's entity and that entity's functional currency (None: unknown)."""
    rows = cur.execute(
        "SELECT l.location_id, l.entity_id, ec.currency FROM locations AS l "
        "LEFT JOIN money.entity_currencies AS ec ON ec.entity_id = l.entity_id"
    ).fetchall()
    return {loc: (entity, currency) for loc, entity, currency in rows}


def rate(
    cur: duckdb.DuckDBPyConnection, from_currency: str | None, to_currency: str, day: date | None
) -> float | None:
    """The rate of the day (`money.fx_daily`) from one currency to another: 1 for the same
    currency, None when there is none (or the currency is unknown)."""
    if from_currency is None or day is None:
        return None
    if from_currency == to_currency:
        return 1.0
    row = cur.execute(
        "SELECT rate FROM money.fx_daily WHERE from_currency = ? AND to_currency = ? "
        "AND rate_date = ?",
        [from_currency, to_currency, day],
    ).fetchone()
    return None if row is None else float(row[0])


def _convert(
    cur: duckdb.DuckDBPyConnection,
    amount: float,
    reporting: str,
    currency: str | None,
    day: date | None,
) -> float | None:
    """A reporting-currency amount in `currency` at the rate of `day` (None: no rate)."""
    found = rate(cur, reporting, currency, day) if currency is not None else None
    return None if found is None else amount * found
