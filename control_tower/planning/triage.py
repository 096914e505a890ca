"""Stockout triage: the planner's ranked queue, with each row's suggested action.

The queue ranks item-locations by `risk_value` (calibrated stockout
probability x value at risk) from the risk model's scores
(`risk.stockout_scores`, the newest `as_of`, its shortest horizon). Before
any model has scored (the table is missing or empty) it falls back to the
rule-based `stockout_risk` exception items (mirror `exc.queue_items`,
unresolved), ranked by their value at risk.

Each row carries its inbound supply (`planning.supply`), its projected
stockout date and suggested action (`planning.projection`: transfer,
expedite, raise a PO or monitor).

Every query takes the user's `Scope` and filters on the server; triage
actions go through `exceptions.actions.act_many` like every other screen.

`ranked_queue` (the queue with its suggestions and the model card) reads only
the serving snapshot, which never changes once published, so its answer is
kept per snapshot, scope and filters in the caller's `kpi.serving.SnapshotCache`; queue
status and assignees live in the app database and are read every time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
from sqlalchemy import select

from control_tower.accounts import Scope
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.kpi.serving import SnapshotCache
from control_tower.planning.model import SCORE_COLUMNS, active_model, parse_drivers, scores_ready
from control_tower.planning.projection import stockout_date, suggest_action
from control_tower.planning.sql import as_float, records, table_exists
from control_tower.planning.supply import open_po_lines, site_stock
from control_tower.settings import utc_now

EXCEPTION_TYPE = "stockout_risk"
QUEUE_LIMIT = 500
RANKED_CACHE_SIZE = 64  # ranked queues kept (per snapshot, scope and filters)
UNRESOLVED = ("open", "acknowledged", "snoozed")
RULE_BANNER = (
    "ranked by the days-of-cover rule: no risk model has scored yet (control-tower risk train)"
)


@dataclass(frozen=True)
class Queue:
    """A page of the triage queue: ranked rows, how many match, and where the ranking came from."""

    source: str  # "model" (risk scores) or "rule" (stockout_risk exception items)
    rows: list[dict[str, Any]]
    total: int
    as_of: date | None
    horizon_days: int | None


def queue_key(location_id: str, item_id: str) -> str:
    """The key of an item-location's `stockout_risk` exception item."""
    return f"{location_id}|{item_id}"


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
    columns = ", ".join(f"s.{c.strip()}" for c in SCORE_COLUMNS.split(","))
    rows = records(
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


def ranked_queue(
    cur: duckdb.DuckDBPyConnection,
    scope: Scope,
    *,
    min_probability: float | None = None,
    search: str | None = None,
    cache: SnapshotCache | None = None,
) -> tuple[Queue, dict[str, Any] | None]:
    """The queue (`triage_queue`) with each row's supply, stockout date and suggestion
    (`enrich`), and the active model's card when the ranking comes from the model.

    With a `cache` (the caller's, e.g. its web app's) the answer is kept per snapshot for
    this scope and these filters: callers must not change the rows.
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

    return make() if cache is None else cache.get(cur, key, make)


def _rule_queue(cur: duckdb.DuckDBPyConnection, scope: Scope, text: str, limit: int) -> Queue:
    if not table_exists(cur, "exc", "queue_items"):
        return Queue("rule", [], 0, None, None)
    condition, params = scope.sql("q.entity_id", "q.location_id")
    marks = ", ".join("?" * len(UNRESOLVED))
    rows = records(
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
        available = as_float(row.get("available_qty")) or 0.0
        demand = as_float(row.get("daily_demand")) or 0.0
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
