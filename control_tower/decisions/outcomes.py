"""What was decided on each exception item resolved in a period, and what happened after.

A decision is an item resolved in the period (`resolved_at` in [start, end], naive UTC days),
in the user's row scope: its resolution code, who resolved it (the actor of its last resolve
in the audit trail; `system` for an item whose condition cleared) and the action requests
raised from it (`exc_action_requests`). Each gets an outcome, or "too early to tell" while
the data cannot yet say, which is never counted as a success:

Stocked out anyway (`stockout_risk` items, and `order_at_risk` items whose line the stock
projection could not cover): the stockout risk model's label (`risk.features`,
STOCKOUT_LABEL_CTES), taken at the day of the resolution: available stock (on hand -
allocated - quarantined) at or below zero on any snapshot of the item at its site in the
`horizon` days after it, the same test the stockout_rate KPI counts (`is_stockout` of the
stock_days model). The model's label is reused rather than the KPI's model because it also
says when the answer is not yet knowable (the site's snapshots do not reach the end of the
horizon) and reads only the snapshots of the items under review, where the KPI's model
builds every item-location-day.

Re-promised date met (items resolved `re_promised`, whose re-promise is the line's latest
`exc_line_promises` row recorded by the resolution; and `re_promise` requests, their
`new_promised_date`): the order promise accuracy KPI's rule (its `order_lines` model,
compiled for those lines only, each judged against the re-promised date as its promise):
delivered in full (shipments on a non-cancelled freight shipment with an actual delivery,
on the shipping location's calendar) by the end of that date. Too early while the date is
not before the data's as-of day and the line is not yet delivered in full.

Action requests: confirmed by the end of `expected_by` (on time), confirmed later (late),
sent and still not confirmed after `expected_by` (not confirmed), rejected, cancelled; a
request awaiting approval or delivery, or sent and not yet due, is too early.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import ColumnElement, and_, func, or_, select, true

from control_tower.accounts import Scope
from control_tower.actions.store import ActionRequest
from control_tower.exceptions.query import scope_condition
from control_tower.exceptions.store import AuditEntry, ExceptionItem, ExceptionStore, LinePromise
from control_tower.kpi.catalog import Catalog
from control_tower.kpi.compiler import model_query
from control_tower.kpi.keyed import scoped_sql
from control_tower.promising.answer import as_of_day
from control_tower.risk.features import STOCKOUT_LABEL_CTES, STOCKOUT_LABEL_VALUE
from control_tower.risk.frames import registered
from control_tower.risk.model import DEFAULT_HORIZON

# The audit actions that resolve an item: a person's resolve, and the detection run's clear.
RESOLVE_ACTIONS = ("resolve", "cleared")
REPROMISED = "re_promised"
TOO_EARLY = "too_early"
STOCKOUT_OUTCOMES = ("stocked_out", "no_stockout", TOO_EARLY)
PROMISE_OUTCOMES = ("met", "missed", TOO_EARLY, "no_line")
REQUEST_OUTCOMES = ("on_time", "late", "not_confirmed", "rejected", "cancelled", TOO_EARLY)
PROMISE_KPI = "order_promise_accuracy"

ITEM_SCHEMA: dict[str, Any] = {
    "exception_id": pl.Int64,
    "type": pl.String,
    "key": pl.String,
    "location_id": pl.String,
    "entity_id": pl.String,
    "item_id": pl.String,
    "resolution_code": pl.String,
    "resolved_by": pl.String,
    "resolved_at": pl.Datetime("us"),
    "stockout_type": pl.Boolean,
    "order_id": pl.String,
    "line_no": pl.Int64,
}
REQUEST_SCHEMA: dict[str, Any] = {
    "request_id": pl.Int64,
    "exception_id": pl.Int64,
    "type": pl.String,
    "status": pl.String,
    "requested_by": pl.String,
    "location_id": pl.String,
    "requested_at": pl.Datetime("us"),
    "expected_by": pl.Date,
    "confirmed_at": pl.Datetime("us"),
    "order_id": pl.String,
    "line_no": pl.Int64,
    "promised_date": pl.Date,
}


class PeriodError(ValueError):
    """A review period that cannot be read (names the dates and why)."""


@dataclass(frozen=True)
class Period:
    """Days [start, end], both included (naive UTC)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise PeriodError(f"period from {self.start} to {self.end}: the start is after the end")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[first instant, first instant after the end)."""
        return datetime.combine(self.start, time()), datetime.combine(
            self.end + timedelta(days=1), time()
        )


@dataclass(frozen=True)
class Question:
    """What a review asks: the decisions of `period` that `scope` may see, judged at `now`
    (naive UTC, the product clock) over `horizon` days after each stockout decision."""

    scope: Scope
    period: Period
    now: datetime
    horizon: int = DEFAULT_HORIZON


@dataclass(frozen=True)
class Outcomes:
    """The decisions of a period: one row per resolved item and per request raised from one."""

    period: Period
    items: pl.DataFrame  # ITEM_SCHEMA + stockout, promised_date, promise
    requests: pl.DataFrame  # REQUEST_SCHEMA + outcome, promise
    as_of: date | None  # the data's as-of day the outcomes were read at
    horizon: int


def model_horizon(cur: duckdb.DuckDBPyConnection) -> int:
    """The horizon of the active stockout model (its card in `risk.models`): the days its
    probability, and so its false-positive calls, are about; DEFAULT_HORIZON without one."""
    try:
        row = cur.execute(
            "SELECT max(CAST(card->>'horizon_days' AS INTEGER)) FROM risk.models "
            "WHERE model = 'stockout' AND active"
        ).fetchall()
    except duckdb.CatalogException:
        return DEFAULT_HORIZON
    return int(row[0][0]) if row and row[0][0] else DEFAULT_HORIZON


def scope_of(scope: Scope, entity: Any, location: Any) -> ColumnElement[bool]:
    """The rows of a table with these entity and location columns that `scope` may see (a row
    without a location or entity is judged by the columns it has)."""
    parts: list[ColumnElement[bool]] = []
    if scope.entities:
        parts.append(or_(entity.is_(None), entity.in_(sorted(scope.entities))))
    if scope.locations:
        parts.append(or_(location.is_(None), location.in_(sorted(scope.locations))))
    return and_(*parts) if parts else true()


def _resolved_ids(scope: Scope, period: Period) -> Any:
    first, after = period.bounds
    return select(ExceptionItem.id).where(
        ExceptionItem.status == "resolved",
        ExceptionItem.resolved_at >= first,
        ExceptionItem.resolved_at < after,
        scope_condition(scope),
    )


def _stockout_type(item_type: str, detail: dict[str, Any]) -> bool:
    """Whether a stockout is the outcome that judges the item: a stockout risk, or a line at
    risk because the stock could not cover it."""
    return item_type == "stockout_risk" or (
        item_type == "order_at_risk" and detail.get("covered") is False
    )


def resolved_items(store: ExceptionStore, scope: Scope, period: Period) -> pl.DataFrame:
    """The items resolved in the period in scope, with who resolved them (one query)."""
    ids = _resolved_ids(scope, period)
    last = (
        select(AuditEntry.item_id, func.max(AuditEntry.id).label("audit_id"))
        .where(AuditEntry.action.in_(RESOLVE_ACTIONS), AuditEntry.item_id.in_(ids))
        .group_by(AuditEntry.item_id)
        .subquery()
    )
    query = (
        select(ExceptionItem, AuditEntry.actor)
        .where(ExceptionItem.id.in_(ids))
        .outerjoin(last, last.c.item_id == ExceptionItem.id)
        .outerjoin(AuditEntry, AuditEntry.id == last.c.audit_id)
        .order_by(ExceptionItem.resolved_at, ExceptionItem.id)
    )
    rows = []
    with store.session() as s:
        for item, actor in s.execute(query):
            d = item.detail or {}
            line = item.type in ("order_at_risk", "missed_promise")
            rows.append(
                (
                    item.id, item.type, item.key, item.location_id, item.entity_id,
                    item.item_id, item.resolution_code, actor, item.resolved_at,
                    _stockout_type(item.type, d),
                    str(d.get("order_id")) if line and d.get("order_id") is not None else None,
                    int(d["line_no"]) if line and d.get("line_no") is not None else None,
                )
            )  # fmt: skip
    return pl.DataFrame(rows, schema=ITEM_SCHEMA, orient="row")


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def raised_requests(store: ExceptionStore, scope: Scope, period: Period) -> pl.DataFrame:
    """The action requests raised from the items resolved in the period, in scope (one query)."""
    query = (
        select(ActionRequest)
        .where(
            ActionRequest.exception_id.in_(_resolved_ids(scope, period)),
            scope_of(scope, ActionRequest.entity_id, ActionRequest.location_id),
        )
        .order_by(ActionRequest.id)
    )
    rows = []
    with store.session() as s:
        for r in s.scalars(query):
            p = r.params or {}
            promise = r.type == "re_promise"
            rows.append(
                (
                    r.id, r.exception_id, r.type, r.status, r.requested_by, r.location_id,
                    r.requested_at, r.expected_by, r.confirmed_at,
                    str(p.get("order_id")) if promise and p.get("order_id") is not None else None,
                    int(p["line_no"]) if promise and p.get("line_no") is not None else None,
                    _day(p.get("new_promised_date")) if promise else None,
                )
            )  # fmt: skip
    return pl.DataFrame(rows, schema=REQUEST_SCHEMA, orient="row")


def repromises(store: ExceptionStore, items: pl.DataFrame) -> pl.DataFrame:
    """The re-promise behind each item resolved `re_promised`: its line's latest
    `exc_line_promises` row recorded by the resolution (exception_id, promised_date)."""
    lines = items.filter(
        (pl.col("resolution_code") == REPROMISED) & pl.col("order_id").is_not_null()
    )
    schema = {"exception_id": pl.Int64, "promised_date": pl.Date}
    if lines.is_empty():
        return pl.DataFrame(schema=schema)
    orders = sorted(set(lines["order_id"].to_list()))
    query = select(
        LinePromise.order_id, LinePromise.line_no, LinePromise.promised_date,
        LinePromise.recorded_at, LinePromise.id,
    ).where(LinePromise.order_id.in_(orders))  # fmt: skip
    with store.session() as s:
        found = pl.DataFrame(
            [tuple(r) for r in s.execute(query)],
            schema={
                "order_id": pl.String, "line_no": pl.Int64, "promised_date": pl.Date,
                "recorded_at": pl.Datetime("us"), "promise_id": pl.Int64,
            },
            orient="row",
        )  # fmt: skip
    return (
        lines.select("exception_id", "order_id", "line_no", "resolved_at")
        .join(found, on=["order_id", "line_no"])
        .filter(pl.col("recorded_at") <= pl.col("resolved_at"))
        .sort("recorded_at", "promise_id")
        .group_by("exception_id", maintain_order=True)
        .last()
        .select(list(schema))
    )


# --- outcomes from the published data ---------------------------------------------------------

_STOCKOUT_SQL = f"""
WITH pts AS (
    SELECT DISTINCT t, location_id, item_id FROM decision_points
),
keys AS (SELECT DISTINCT location_id, item_id FROM pts),
snaps AS (
    SELECT s.* FROM inventory_snapshots AS s SEMI JOIN keys USING (location_id, item_id)
    WHERE s.snapshot_date > (SELECT min(t) FROM pts)
      AND s.snapshot_date <= (SELECT max(t) FROM pts) + CAST($horizon AS INTEGER)
),
{STOCKOUT_LABEL_CTES}
SELECT p.t, p.location_id, p.item_id, {STOCKOUT_LABEL_VALUE} AS stocked_out
FROM pts AS p
LEFT JOIN label USING (t, location_id, item_id)
LEFT JOIN ends ON ends.location_id = p.location_id
""".replace("$horizon", "$horizon_days")


def stocked_out(cur: duckdb.DuckDBPyConnection, points: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Per point (t, location_id, item_id): 1 when the item stocked out at the site in
    (t, t + horizon], 0 when not, NULL while not yet knowable (the model's label)."""
    schema = {"t": pl.Date, "location_id": pl.String, "item_id": pl.String, "stocked_out": pl.Int32}
    points = points.select("t", "location_id", "item_id").drop_nulls()
    if points.is_empty():
        return pl.DataFrame(schema=schema)
    with registered(cur, "decision_points", points):
        found = cur.sql(_STOCKOUT_SQL, params={"horizon_days": int(horizon)}).pl()
    return found.select(list(schema)).cast(schema)  # type: ignore[arg-type]


# The model's lines, each judged against its re-promised date; and its freight shipments read
# through the few shipment ids of those lines (`decision_shipments`, a frame whose size the
# planner knows: a semi join on a subquery it estimates in millions builds its hash table on
# the freight shipments instead, 20 times slower at 10M lines).
_SCOPED_TABLES = {
    "sales_order_lines": (
        "SELECT l.* REPLACE (r.promised_date AS first_promised_date) FROM sales_order_lines "
        "AS l JOIN scope AS r USING (order_id, line_no)"
    ),
    "freight_shipments": (
        "SELECT * FROM freight_shipments SEMI JOIN decision_shipments USING (shipment_id)"
    ),
}
_SHIPMENTS = (
    "SELECT s.shipment_id FROM shipments AS s SEMI JOIN decision_lines USING (order_id, line_no)"
)


def _promise_sql(catalog: Catalog, as_of: date) -> tuple[str, dict[str, Any]]:
    """The order promise accuracy KPI's model, reading only the lines in `decision_lines`
    (order_id, line_no, promised_date), each judged against that date as its promise."""
    kpi = catalog.kpi(PROMISE_KPI)
    sql = scoped_sql(kpi.model, scope="decision_lines", tables=_SCOPED_TABLES)
    return model_query(replace(kpi, model=replace(kpi.model, sql=sql)), as_of=as_of)


def promises_met(
    cur: duckdb.DuckDBPyConnection, catalog: Catalog, lines: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Per row of `lines` (ref, order_id, line_no, promised_date): met, missed, too_early, or
    no_line (the line is cancelled or not in the data). A line judged against several dates
    is read once per date (rarely more than one)."""
    schema = {"ref": pl.String, "promise": pl.String}
    lines = lines.drop_nulls(["order_id", "line_no", "promised_date"])
    if lines.is_empty():
        return pl.DataFrame(schema=schema)
    sql, params = _promise_sql(catalog, as_of)
    query = (
        f"WITH judged AS ({sql}) "
        "SELECT d.ref, CASE WHEN j.order_id IS NULL THEN 'no_line' "
        f"WHEN j.is_promise_due = 0 THEN '{TOO_EARLY}' "
        "WHEN j.is_on_time_to_promise = 1 THEN 'met' ELSE 'missed' END AS promise "
        "FROM decision_refs AS d LEFT JOIN judged AS j USING (order_id, line_no)"
    )
    ranked = lines.with_columns(
        rank=pl.col("promised_date").rank("dense").over("order_id", "line_no")
    )
    parts = []
    for _rank, refs in ranked.group_by("rank"):
        dates = refs.select("order_id", "line_no", "promised_date").unique()
        with registered(cur, "decision_lines", dates), registered(cur, "decision_refs", refs):
            shipments = cur.sql(_SHIPMENTS).pl()
            with registered(cur, "decision_shipments", shipments):
                parts.append(cur.sql(query, params=params).pl())
    return pl.concat(parts).select(list(schema)).cast(schema)  # type: ignore[arg-type]


def request_outcome(requests: pl.DataFrame, today: date) -> pl.Series:
    """Each request's outcome on `today` (REQUEST_OUTCOMES)."""
    confirmed_day = pl.col("confirmed_at").dt.date()
    due = pl.col("expected_by")
    outcome = (
        pl.when(pl.col("status") == "rejected")
        .then(pl.lit("rejected"))
        .when(pl.col("status") == "cancelled")
        .then(pl.lit("cancelled"))
        .when(pl.col("confirmed_at").is_not_null())
        .then(
            pl.when(due.is_null() | (confirmed_day <= due))
            .then(pl.lit("on_time"))
            .otherwise(pl.lit("late"))
        )
        .when(pl.col("status").is_in(["sent", "overdue"]) & (due < pl.lit(today)))
        .then(pl.lit("not_confirmed"))
        .otherwise(pl.lit(TOO_EARLY))
    )
    return requests.select(outcome.alias("outcome"))["outcome"]


def outcomes(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, catalog: Catalog, q: Question
) -> Outcomes:
    """Every decision of the period in scope with its outcome, as the published data and
    the app database tell it at `q.now`."""
    scope, period, now, horizon = q.scope, q.period, q.now, q.horizon
    items = resolved_items(store, scope, period)
    requests = raised_requests(store, scope, period)
    as_of = as_of_day(cur)
    # stocked out anyway, from the day of the resolution
    points = items.filter(pl.col("stockout_type")).select(
        "exception_id", t=pl.col("resolved_at").dt.date(), location_id="location_id",
        item_id="item_id",
    )  # fmt: skip
    labels = stocked_out(cur, points, horizon)
    judged = points.join(labels, on=["t", "location_id", "item_id"], how="left").select(
        "exception_id",
        stockout=pl.when(pl.col("stocked_out") == 1)
        .then(pl.lit("stocked_out"))
        .when(pl.col("stocked_out") == 0)
        .then(pl.lit("no_stockout"))
        .otherwise(pl.lit(TOO_EARLY)),
    )
    items = items.join(judged, on="exception_id", how="left")
    items = items.join(repromises(store, items), on="exception_id", how="left")
    # re-promised dates: of the resolutions and of the re_promise requests, judged together
    lines = pl.concat(
        [
            items.select(
                ref=pl.format("i{}", "exception_id"), order_id="order_id", line_no="line_no",
                promised_date="promised_date",
            ),
            requests.select(
                ref=pl.format("r{}", "request_id"), order_id="order_id", line_no="line_no",
                promised_date="promised_date",
            ),
        ]
    )  # fmt: skip
    met = (
        promises_met(cur, catalog, lines, as_of)
        if as_of is not None
        else pl.DataFrame(schema={"ref": pl.String, "promise": pl.String})
    )
    items = items.with_columns(ref=pl.format("i{}", "exception_id")).join(met, on="ref", how="left")
    requests = requests.with_columns(
        ref=pl.format("r{}", "request_id"), outcome=request_outcome(requests, now.date())
    ).join(met, on="ref", how="left")
    return Outcomes(period, items.drop("ref"), requests.drop("ref"), as_of, horizon)
