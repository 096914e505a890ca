"""Stockout triage: the planner's ranked queue, suggested actions and inventory projection.

The queue ranks item-locations by `risk_value` (calibrated stockout
probability x value at risk) from the risk model's scores
(`risk.stockout_scores`, the newest `as_of`, its shortest horizon). Before
any model has scored (the table is missing or empty) it falls back to the
rule-based `stockout_risk` exception items (mirror `exc.queue_items`,
unresolved), ranked by their value at risk.

Suggested action of a row (A = available today, D = daily demand, L = the
item's lead time in days, "need" = ceil(D x L - A), what is missing to last
one lead time):

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
below zero (KPI_SEMANTICS: available <= 0 is a stockout).

Open PO lines: status neither cancelled nor closed, ordered minus received
quantity above zero (quantities are in eaches after landing). Demand: order
lines not cancelled over the 28 days before the snapshot day, per day (the
same window as the `stockout_risk` rule).

Every query takes the user's `Scope` and filters on the server; triage
actions re-check the scope of each item they touch.

`ranked_queue` (the queue with its suggestions and the model card) reads only
the serving snapshot, which never changes once published, so its answer is
kept per snapshot, scope and filters (`kpi.serving.SnapshotCache`); queue
status and assignees live in the app database and are read every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy import select

from control_tower.accounts import Scope
from control_tower.exceptions import workflow
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.kpi.serving import SnapshotCache
from control_tower.settings import utc_now

EXCEPTION_TYPE = "stockout_risk"
DEMAND_WINDOW_DAYS = 28
EXCESS_LEAD_TIMES = 2.0
QUEUE_LIMIT = 500
RANKED_CACHE_SIZE = 64  # ranked queues kept (per snapshot, scope and filters)
MAX_ID_LENGTH = 64
STOCKOUT_SEARCH_DAYS = 730
UNRESOLVED = ("open", "acknowledged", "snoozed")
RULE_BANNER = (
    "ranked by the days-of-cover rule: no risk model has scored yet (control-tower risk train)"
)

_SCORE_COLUMNS = (
    "item_id, location_id, entity_id, as_of, horizon_days, probability, baseline_flag, "
    "available_qty, on_hand_qty, daily_demand, days_of_cover, lead_time_days, inbound_qty, "
    "next_receipt_date, unit_cost, value_at_risk, risk_value, drivers, model_version"
)


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoLine:
    """One open purchase order line for an item at a location (quantities in eaches)."""

    location_id: str
    item_id: str
    po_id: str
    line_no: int
    supplier_id: str | None
    order_date: date | None
    expected_date: date | None
    ordered_qty: float
    open_qty: float


@dataclass(frozen=True)
class SiteStock:
    """An item's stock at one location's latest snapshot, with its recent demand."""

    location_id: str
    entity_id: str | None
    item_id: str
    snapshot_date: date
    on_hand_qty: float
    available_qty: float
    daily_demand: float
    lead_time_days: int | None

    @property
    def days_of_cover(self) -> float | None:
        """Available stock in days of demand (None without demand)."""
        return self.available_qty / self.daily_demand if self.daily_demand > 0 else None

    @property
    def excess_qty(self) -> float:
        """Stock above two lead times of this site's own demand (0 when none)."""
        keep = EXCESS_LEAD_TIMES * (self.lead_time_days or 0) * self.daily_demand
        return max(self.available_qty - keep, 0.0)


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


@dataclass(frozen=True)
class Queue:
    """A page of the triage queue: ranked rows, how many match, and where the ranking came from."""

    source: str  # "model" (risk scores) or "rule" (stockout_risk exception items)
    rows: list[dict[str, Any]]
    total: int
    as_of: date | None
    horizon_days: int | None


@dataclass(frozen=True)
class ItemFacts:
    """What the item master and location master say about one item-location."""

    item_id: str
    description: str | None
    category: str | None
    abc_class: str | None
    supplier_id: str | None
    lead_time_days: int | None
    unit_cost: float | None
    unit_price: float | None
    case_qty: int | None
    location_id: str
    location_name: str | None
    entity_id: str | None


@dataclass(frozen=True)
class ActionOutcome:
    """The result of one triage action on one exception item."""

    item_id: int
    ok: bool
    message: str


# --- helpers ---------------------------------------------------------------------------------


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _records(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict]:
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def valid_id(value: Any) -> str | None:
    """An item or location id as given in a URL, or None when it cannot be one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_ID_LENGTH or any(ord(c) < 32 for c in value):
        return None
    return value


def queue_key(location_id: str, item_id: str) -> str:
    """The key of an item-location's `stockout_risk` exception item."""
    return f"{location_id}|{item_id}"


def parse_drivers(raw: Any) -> list[dict[str, Any]]:
    """The drivers JSON of a score as a list of dicts (empty when missing or unreadable)."""
    if not raw:
        return []
    try:
        drivers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(drivers, list):
        return []
    return [d for d in drivers if isinstance(d, dict) and (d.get("label") or d.get("feature"))]


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def driver_text(driver: dict[str, Any]) -> str:
    """A driver in a few words: ↑ raises / ↓ lowers, its label and value."""
    arrow = "↑" if driver.get("direction") == "raises" else "↓"
    label = driver.get("label") or driver.get("feature") or "?"
    value = _fmt_value(driver.get("value"))
    return f"{arrow} {label}" + (f" {value}" if value else "")


def reasons(drivers: Sequence[dict[str, Any]], top: int = 3) -> str:
    """The top drivers as one short line."""
    return " · ".join(driver_text(d) for d in drivers[:top])


# --- the model card --------------------------------------------------------------------------


def active_model(cur: duckdb.DuckDBPyConnection, model: str = "stockout") -> dict[str, Any] | None:
    """The active model's row of `risk.models` (metrics and features parsed), or None."""
    if not _table_exists(cur, "risk", "models"):
        return None
    rows = _records(
        cur,
        "SELECT model, version, trained_at, train_start, train_end, test_start, test_end, "
        "metrics, features, card FROM risk.models WHERE model = ? AND active "
        "ORDER BY trained_at DESC LIMIT 1",
        [model],
    )
    if not rows:
        return None
    row = rows[0]
    for name in ("metrics", "features", "card"):
        try:
            row[name] = json.loads(row[name]) if row[name] else None
        except (TypeError, ValueError):
            row[name] = None
    return row


def _month(value: Any) -> str:
    return f"{value:%Y-%m}" if isinstance(value, date) else "?"


def describe_model(
    card: dict[str, Any], events: str = "stockouts", rule: str = "the days-of-cover rule"
) -> str:
    """The active model's accuracy in plain words, numbers from `risk.models`."""
    metrics = card.get("metrics") or {}
    model = metrics.get("model") or {}
    base = metrics.get("baseline") or {}
    trained = card.get("trained_at")
    text = f"Model {card.get('version') or '?'}"
    if isinstance(trained, datetime | date):
        text += f" trained {trained:%Y-%m-%d}"
    if card.get("train_start") and card.get("train_end"):
        text += f" on {_month(card['train_start'])}..{_month(card['train_end'])}"
    parts = []
    if model.get("roc_auc") is not None:
        part = f"it ranks {events} with ROC AUC {model['roc_auc']:.2f}"
        if base.get("roc_auc") is not None:
            part += f" vs {base['roc_auc']:.2f} for {rule}"
        parts.append(part)
    if model.get("precision_at_k") is not None:
        k = model.get("k")
        part = f"precision of the top {k}: " if k else "precision at the top: "
        part += f"{model['precision_at_k']:.0%}"
        if base.get("precision_at_k") is not None:
            part += f" vs {base['precision_at_k']:.0%}"
        parts.append(part)
    if parts:
        text += "; on the later unseen period " + "; ".join(parts)
    return text


# --- the queue -------------------------------------------------------------------------------


def scores_ready(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the risk model has scored anything (the table exists and has rows)."""
    if not _table_exists(cur, "risk", "stockout_scores"):
        return False
    return cur.execute("SELECT 1 FROM risk.stockout_scores LIMIT 1").fetchone() is not None


def _search(search: str | None) -> str:
    return (search or "").strip().lower()[:100]


def triage_queue(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    *,
    min_probability: float | None = None,
    search: str | None = None,
    limit: int = QUEUE_LIMIT,
) -> Queue:
    """The queue's top `limit` rows in `scope`, best first, with the number that match.

    `min_probability` (0..1) applies to model scores only; `search` matches the
    item id or description (case-insensitive substring).
    """
    limit = max(1, min(int(limit), QUEUE_LIMIT))
    text = _search(search)
    if scores_ready(cur):
        return _scored_queue(cur, scope, min_probability or 0.0, text, limit)
    return _rule_queue(cur, scope, text, limit)


def _scored_queue(
    cur: duckdb.DuckDBPyConnection, scope: Scope, min_probability: float, text: str, limit: int
) -> Queue:
    condition, params = scope.sql("s.entity_id", "s.location_id")
    pick = cur.execute(
        "SELECT as_of, min(horizon_days) FROM risk.stockout_scores "
        "WHERE as_of = (SELECT max(as_of) FROM risk.stockout_scores) GROUP BY as_of"
    ).fetchone()
    as_of, horizon = (pick[0], pick[1]) if pick else (None, None)
    columns = ", ".join(f"s.{c.strip()}" for c in _SCORE_COLUMNS.split(","))
    rows = _records(
        cur,
        f"""
        SELECT {columns}, i.description, count(*) OVER () AS total
        FROM risk.stockout_scores AS s
        LEFT JOIN items AS i ON i.item_id = s.item_id
        WHERE s.as_of = ? AND s.horizon_days IS NOT DISTINCT FROM ?
          AND {condition}
          AND coalesce(s.probability, 0) >= ?
          AND (? = '' OR contains(lower(s.item_id), ?)
               OR contains(lower(coalesce(i.description, '')), ?))
        ORDER BY s.risk_value DESC NULLS LAST, s.probability DESC NULLS LAST,
                 s.location_id, s.item_id
        LIMIT ?
        """,
        [as_of, horizon, *params, min_probability, text, text, text, limit],
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
        row["drivers"] = parse_drivers(row["drivers"])
        row["source"] = "model"
    return Queue("model", rows, total, as_of, horizon)


_RANKED = SnapshotCache(RANKED_CACHE_SIZE)


def ranked_queue(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    *,
    min_probability: float | None = None,
    search: str | None = None,
) -> tuple[Queue, dict[str, Any] | None]:
    """The queue (`triage_queue`) with each row's supply, stockout date and suggestion
    (`enrich`), and the active model's card when the ranking comes from the model.

    Kept per snapshot for this scope and these filters: callers must not change the rows.
    """
    key = (
        "planner.ranked_queue",
        tuple(sorted(scope.entities)),
        tuple(sorted(scope.locations)),
        min_probability or 0.0,
        _search(search),
    )

    def make() -> tuple[Queue, dict[str, Any] | None]:
        queue = triage_queue(cur, scope, min_probability=min_probability, search=search)
        enrich(cur, scope, queue.rows)
        card = active_model(cur) if queue.source == "model" else None
        return queue, card

    return _RANKED.get(cur, key, make)


def _rule_queue(cur: duckdb.DuckDBPyConnection, scope: Scope, text: str, limit: int) -> Queue:
    if not _table_exists(cur, "exc", "queue_items"):
        return Queue("rule", [], 0, None, None)
    condition, params = scope.sql("q.entity_id", "q.location_id")
    marks = ", ".join("?" * len(UNRESOLVED))
    rows = _records(
        cur,
        f"""
        WITH q AS (
            SELECT item_id, location_id, entity_id, value_at_risk,
                   TRY_CAST(json_extract_string(detail, '$.snapshot_date') AS DATE) AS as_of,
                   TRY_CAST(json_extract_string(detail, '$.available_qty') AS DOUBLE)
                       AS available_qty,
                   TRY_CAST(json_extract_string(detail, '$.daily_demand') AS DOUBLE)
                       AS daily_demand,
                   TRY_CAST(json_extract_string(detail, '$.days_of_cover') AS DOUBLE)
                       AS days_of_cover,
                   TRY_CAST(json_extract_string(detail, '$.lead_time_days') AS INTEGER)
                       AS lead_time_days
            FROM exc.queue_items
            WHERE type = ? AND status IN ({marks})
        ),
        ranked AS (
            SELECT q.*, i.description, CAST(i.unit_cost AS DOUBLE) AS unit_cost,
                   count(*) OVER () AS total
            FROM q LEFT JOIN items AS i ON i.item_id = q.item_id
            WHERE {condition}
              AND (? = '' OR contains(lower(q.item_id), ?)
                   OR contains(lower(coalesce(i.description, '')), ?))
            ORDER BY q.value_at_risk DESC NULLS LAST, q.days_of_cover ASC NULLS FIRST,
                     q.location_id, q.item_id
            LIMIT ?
        )
        SELECT r.*, CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty
        FROM ranked AS r
        LEFT JOIN inventory_snapshots AS s ON s.location_id = r.location_id
             AND s.item_id = r.item_id AND s.snapshot_date = r.as_of
        ORDER BY r.value_at_risk DESC NULLS LAST, r.days_of_cover ASC NULLS FIRST,
                 r.location_id, r.item_id
        """,
        [EXCEPTION_TYPE, *UNRESOLVED, *params, text, text, text, limit],
    )
    total = int(rows[0]["total"]) if rows else 0
    as_of = max((r["as_of"] for r in rows if r["as_of"]), default=None)
    for row in rows:
        row.pop("total")
        row.update(
            probability=None,
            baseline_flag=True,
            inbound_qty=None,
            next_receipt_date=None,
            risk_value=row["value_at_risk"],
            drivers=[],
            model_version=None,
            horizon_days=None,
            source="rule",
        )
    return Queue("rule", rows, total, as_of, None)


# --- supply and stock around a row -----------------------------------------------------------


def open_po_lines(
    cur: duckdb.DuckDBPyConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[PoLine]]:
    """Open PO lines of each (location_id, item_id), earliest expected first."""
    pairs = sorted(set(keys))
    if not pairs:
        return {}
    rows = cur.execute(
        """
        WITH k AS (SELECT unnest(?::VARCHAR[]) AS location_id, unnest(?::VARCHAR[]) AS item_id),
        lines AS (
            SELECT l.* FROM purchase_order_lines AS l JOIN k USING (location_id, item_id)
            WHERE l.status NOT IN ('cancelled', 'closed')
        ),
        got AS (
            SELECT r.po_id, r.po_line_no, sum(CAST(r.received_qty AS DOUBLE)) AS qty
            FROM receipts AS r JOIN lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
            GROUP BY ALL
        )
        SELECT l.location_id, l.item_id, l.po_id, l.line_no, l.supplier_id, l.order_date,
               l.expected_date, CAST(l.ordered_qty AS DOUBLE) AS ordered_qty,
               CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0) AS open_qty
        FROM lines AS l
        LEFT JOIN got AS g ON g.po_id = l.po_id AND g.po_line_no = l.line_no
        WHERE CAST(l.ordered_qty AS DOUBLE) - coalesce(g.qty, 0) > 0
        ORDER BY l.location_id, l.item_id, l.expected_date NULLS LAST, l.po_id, l.line_no
        """,
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    ).fetchall()
    found: dict[tuple[str, str], list[PoLine]] = {}
    for r in rows:
        found.setdefault((r[0], r[1]), []).append(PoLine(*r))
    return found


def site_stock(
    cur: duckdb.DuckDBPyConnection, scope: Scope, item_ids: Iterable[str]
) -> dict[str, list[SiteStock]]:
    """Each item's stock and demand at every location in scope (its latest snapshot there)."""
    items = sorted(set(item_ids))
    if not items:
        return {}
    condition, params = scope.sql("loc.entity_id", "s.location_id")
    rows = cur.execute(
        f"""
        WITH latest AS (
            SELECT location_id, max(snapshot_date) AS snapshot_date
            FROM inventory_snapshots GROUP BY location_id
        ),
        stock AS (
            SELECT s.location_id, loc.entity_id, s.item_id, s.snapshot_date,
                   CAST(s.on_hand_qty AS DOUBLE) AS on_hand_qty,
                   CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE)
                       AS available_qty
            FROM inventory_snapshots AS s
            JOIN latest USING (location_id, snapshot_date)
            LEFT JOIN locations AS loc ON loc.location_id = s.location_id
            WHERE s.item_id IN (SELECT unnest(?::VARCHAR[])) AND {condition}
        ),
        demand AS (
            SELECT o.location_id, o.item_id,
                   CAST(sum(o.ordered_qty) AS DOUBLE) / {DEMAND_WINDOW_DAYS} AS daily_demand
            FROM sales_order_lines AS o JOIN latest AS t USING (location_id)
            WHERE o.status <> 'cancelled' AND o.item_id IN (SELECT unnest(?::VARCHAR[]))
              AND o.order_ts_local_date >= t.snapshot_date - {DEMAND_WINDOW_DAYS}
              AND o.order_ts_local_date < t.snapshot_date
            GROUP BY ALL
        )
        SELECT st.location_id, st.entity_id, st.item_id, st.snapshot_date, st.on_hand_qty,
               st.available_qty, coalesce(d.daily_demand, 0), i.lead_time_days
        FROM stock AS st
        LEFT JOIN demand AS d USING (location_id, item_id)
        LEFT JOIN items AS i ON i.item_id = st.item_id
        ORDER BY st.item_id, st.location_id
        """,
        [items, *params, items],
    ).fetchall()
    found: dict[str, list[SiteStock]] = {}
    for r in rows:
        found.setdefault(r[2], []).append(SiteStock(*r))
    return found


# --- projection and suggestion ---------------------------------------------------------------


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


def enrich(cur: duckdb.DuckDBPyConnection, scope: Scope, rows: list[dict[str, Any]]) -> None:
    """Add inbound supply (rule rows), the projected stockout date and the suggested action."""
    if not rows:
        return
    lines = open_po_lines(cur, ((r["location_id"], r["item_id"]) for r in rows))
    sites = site_stock(cur, scope, (r["item_id"] for r in rows))
    for row in rows:
        key = (row["location_id"], row["item_id"])
        po = lines.get(key, [])
        if row.get("inbound_qty") is None:
            row["inbound_qty"] = sum(ln.open_qty for ln in po)
            row["next_receipt_date"] = min(
                (ln.expected_date for ln in po if ln.expected_date), default=None
            )
        available = _float(row.get("available_qty")) or 0.0
        demand = _float(row.get("daily_demand")) or 0.0
        as_of = row.get("as_of") or utc_now().date()
        row["stockout_date"] = stockout_date(as_of, available, demand, po)
        row["suggestion"] = suggest_action(
            as_of=as_of,
            location_id=row["location_id"],
            entity_id=row.get("entity_id"),
            available=available,
            daily_demand=demand,
            lead_time_days=row.get("lead_time_days"),
            lines=po,
            sites=sites.get(row["item_id"], []),
        )


# --- exception items in the app database -----------------------------------------------------


def queue_items(store: ExceptionStore, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The `stockout_risk` exception items of these keys (`location|item`), by key."""
    wanted = sorted(set(keys))
    found: dict[str, dict[str, Any]] = {}
    with store.session() as s:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = s.execute(
                select(
                    ExceptionItem.key,
                    ExceptionItem.id,
                    ExceptionItem.status,
                    ExceptionItem.assignee,
                    ExceptionItem.version,
                    ExceptionItem.snoozed_until,
                    ExceptionItem.resolution_code,
                    ExceptionItem.entity_id,
                    ExceptionItem.location_id,
                ).where(ExceptionItem.type == EXCEPTION_TYPE, ExceptionItem.key.in_(chunk))
            )
            for r in rows:
                found[r.key] = {
                    "id": r.id,
                    "status": r.status,
                    "assignee": r.assignee,
                    "version": r.version,
                    "snoozed_until": r.snoozed_until,
                    "resolution_code": r.resolution_code,
                    "entity_id": r.entity_id,
                    "location_id": r.location_id,
                }
    return found


def triage(
    store: ExceptionStore,
    scope: Scope,
    user: str,
    targets: Sequence[tuple[int, int | None]],
    action: str,
    *,
    note: str | None = None,
    until: datetime | None = None,
    reason: str | None = None,
    assignee: str | None = None,
) -> list[ActionOutcome]:
    """Do one workflow action on each (item id, version seen) the user may touch.

    Each item is re-read and its type and scope checked before the action; a
    stale version is reported as a conflict and leaves that item unchanged.
    """
    outcomes: list[ActionOutcome] = []
    for item_id, version in targets:
        item = store.get(item_id)
        if (
            item is None
            or item.type != EXCEPTION_TYPE
            or not scope.allows(item.entity_id, item.location_id)
        ):
            outcomes.append(ActionOutcome(item_id, False, f"#{item_id}: not found in your scope"))
            continue
        try:
            workflow.act(
                store,
                item_id,
                action,
                user=user,
                expected_version=version,
                note=note,
                until=until,
                reason=reason,
                assignee=assignee,
            )
        except workflow.ConflictError as exc:
            outcomes.append(ActionOutcome(item_id, False, f"#{item_id}: conflict: {exc}"))
        except workflow.WorkflowError as exc:
            outcomes.append(ActionOutcome(item_id, False, f"#{item_id}: {exc}"))
        else:
            outcomes.append(ActionOutcome(item_id, True, f"#{item_id}: {action} done"))
    return outcomes


# --- one item at one location ----------------------------------------------------------------


def item_facts(
    cur: duckdb.DuckDBPyConnection, scope: Scope, location_id: Any, item_id: Any
) -> ItemFacts | None:
    """The item and location masters of an item-location in scope, or None (unknown or out of scope)."""
    loc, item = valid_id(location_id), valid_id(item_id)
    if loc is None or item is None:
        return None
    condition, params = scope.sql("l.entity_id", "l.location_id")
    row = cur.execute(
        f"""
        SELECT i.item_id, i.description, i.category, i.abc_class, i.supplier_id,
               i.lead_time_days, CAST(i.unit_cost AS DOUBLE), CAST(i.unit_price AS DOUBLE),
               i.case_qty, l.location_id, l.name, l.entity_id
        FROM items AS i, locations AS l
        WHERE i.item_id = ? AND l.location_id = ? AND {condition}
        """,
        [item, loc, *params],
    ).fetchone()
    return ItemFacts(*row) if row else None


def item_score(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str
) -> dict[str, Any] | None:
    """The newest model score of an item-location (call after checking scope), or None."""
    if not scores_ready(cur):
        return None
    rows = _records(
        cur,
        f"SELECT {_SCORE_COLUMNS} FROM risk.stockout_scores WHERE location_id = ? AND item_id = ? "
        "ORDER BY as_of DESC, horizon_days LIMIT 1",
        [location_id, item_id],
    )
    if not rows:
        return None
    rows[0]["drivers"] = parse_drivers(rows[0]["drivers"])
    return rows[0]


def inventory_history(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str, days: int = 90
) -> list[dict[str, Any]]:
    """Daily snapshots (on hand, available, in transit) of the last `days` days with data."""
    return _records(
        cur,
        """
        SELECT snapshot_date, CAST(on_hand_qty AS DOUBLE) AS on_hand_qty,
               CAST(on_hand_qty - allocated_qty - quarantined_qty AS DOUBLE) AS available_qty,
               CAST(in_transit_qty AS DOUBLE) AS in_transit_qty
        FROM inventory_snapshots
        WHERE location_id = ? AND item_id = ?
          AND snapshot_date > (SELECT max(snapshot_date) FROM inventory_snapshots
                               WHERE location_id = ?) - ?
        ORDER BY snapshot_date
        """,
        [location_id, item_id, location_id, days],
    )


def demand_history(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str, until: date, days: int = 60
) -> list[dict[str, Any]]:
    """Units ordered and order lines per day over the `days` days before `until` (inclusive)."""
    return _records(
        cur,
        """
        SELECT order_ts_local_date AS day, CAST(sum(ordered_qty) AS DOUBLE) AS qty,
               count(*) AS lines
        FROM sales_order_lines
        WHERE location_id = ? AND item_id = ? AND status <> 'cancelled'
          AND order_ts_local_date > CAST(? AS DATE) - CAST(? AS INTEGER)
          AND order_ts_local_date <= CAST(? AS DATE)
        GROUP BY ALL ORDER BY day
        """,
        [location_id, item_id, until, days, until],
    )


def supplier_on_time(
    cur: duckdb.DuckDBPyConnection, supplier_ids: Iterable[str], until: date, days: int = 180
) -> dict[str, dict[str, Any]]:
    """Each supplier's receipts of the last `days` days against their PO's expected date."""
    ids = sorted({s for s in supplier_ids if s})
    if not ids:
        return {}
    rows = _records(
        cur,
        """
        SELECT l.supplier_id, count(*) AS receipts,
               avg(CASE WHEN r.arrived_ts_local_date <= l.expected_date THEN 1.0 ELSE 0.0 END)
                   AS on_time_share,
               avg(greatest(r.arrived_ts_local_date - l.expected_date, 0)) AS avg_days_late
        FROM receipts AS r
        JOIN purchase_order_lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
        WHERE l.supplier_id IN (SELECT unnest(?::VARCHAR[]))
          AND r.arrived_ts_local_date > CAST(? AS DATE) - CAST(? AS INTEGER)
          AND r.arrived_ts_local_date <= CAST(? AS DATE)
        GROUP BY l.supplier_id
        """,
        [ids, until, days, until],
    )
    return {r["supplier_id"]: r for r in rows}
