"""The decision review page's content: tiles, per-site and per-person tables, the ranking of
the model against the rule, and the resolved items with their decision and outcome.

Everything is computed by `control_tower.decisions.review` within the user's row scope; this
module only lays the figures out as rows the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from control_tower.decisions.outcomes import Period, PeriodError, Question
from control_tower.decisions.review import Figure, Measure, Ranking, Review, review
from control_tower.exceptions.registry import type_label
from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.catalog import Catalog

PERIOD_DAYS = 28  # the default period: the last 28 days of the product clock
MAX_PERIOD_DAYS = 366
MAX_ITEMS = 5000  # resolved items listed (the figures count them all)

OUTCOME_WORDS = {
    "stocked_out": "stocked out anyway",
    "no_stockout": "did not stock out",
    "met": "met",
    "missed": "missed",
    "no_line": "line not in the data",
    "on_time": "confirmed on time",
    "late": "confirmed late",
    "not_confirmed": "not confirmed",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "too_early": "too early to tell",
}
# Short column names of each measure in the per-site and per-person rows.
MEASURE_FIELDS = {
    "false_positive_stocked_out": "fp",
    "actions_on_time": "actions",
    "repromises_met": "promises",
}


@dataclass(frozen=True)
class DecisionPage:
    """What the page shows for a period and scope."""

    period: Period
    as_of: date | None
    horizon: int
    measures: list[Measure]
    sites: list[dict[str, Any]]
    people: list[dict[str, Any]]
    ranking: list[Ranking]
    items: list[dict[str, Any]]
    items_total: int


def default_period(now: datetime) -> Period:
    """The last PERIOD_DAYS days up to the product clock's day."""
    end = now.date()
    return Period(end - timedelta(days=PERIOD_DAYS - 1), end)


def chosen_period(start: Any, end: Any, now: datetime) -> Period:
    """The period of the picker's two dates (YYYY-MM-DD); the default for an empty one;
    raises PeriodError (`decisions.outcomes`) for a value that is not a date, a start after
    the end or a span over MAX_PERIOD_DAYS."""
    default = default_period(now)
    first = _date("from", start) or default.start
    last = _date("to", end) or default.end
    period = Period(first, last)
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise PeriodError(
            f"period from {first} to {last}: {(last - first).days + 1} days; choose at most "
            f"{MAX_PERIOD_DAYS}"
        )
    return period


def _date(field: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    wrong = PeriodError(f"{field}={value!r}: not a date (YYYY-MM-DD)")
    if not isinstance(value, str):
        raise wrong
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise wrong from None


def _rows(measures: list[Measure], group: str) -> list[dict[str, Any]]:
    """One row per site or person: each measure's share, known and too-early counts."""
    rows: dict[str, dict[str, Any]] = {}
    for m in measures:
        field = MEASURE_FIELDS[m.name]
        for f in m.by(group):
            row = rows.setdefault(f.key, {"key": f.key or "—", "row_id": f.key or "—"})
            row |= {
                f"{field}_share": f.share,
                f"{field}_hits": f.hits,
                f"{field}_counted": f.counted,
                f"{field}_early": f.too_early,
            }
    return [rows[k] for k in sorted(rows)]


def _requests_text(requests: pl.DataFrame) -> dict[int, str]:
    """Per item: its requests, `type #id: outcome`, in id order."""
    out: dict[int, list[str]] = {}
    for r in requests.sort("request_id").iter_rows(named=True):
        text = f"{r['type']} #{r['request_id']}: {OUTCOME_WORDS.get(r['outcome'], r['outcome'])}"
        if r["promise"]:
            text += f" ({_outcome_text(None, r['promise'])})"
        out.setdefault(r["exception_id"], []).append(text)
    return {k: "; ".join(v) for k, v in out.items()}


def _outcome_text(stockout: str | None, promise: str | None) -> str | None:
    """`stockout: stocked out anyway; re-promise: met` (the parts that apply)."""
    parts = [
        f"{what}: {OUTCOME_WORDS.get(value, value)}"
        for what, value in (("stockout", stockout), ("re-promise", promise))
        if value
    ]
    return "; ".join(parts) or None


def _item_rows(r: Review) -> list[dict[str, Any]]:
    requests = _requests_text(r.outcomes.requests)
    rows = []
    items = r.outcomes.items.sort("resolved_at", "exception_id", descending=True)
    for i in items.head(MAX_ITEMS).iter_rows(named=True):
        rows.append(
            {
                "row_id": str(i["exception_id"]),
                "exception_id": i["exception_id"],
                "type": type_label(i["type"]),
                "location_id": i["location_id"],
                "item_id": i["item_id"],
                "key": i["key"],
                "resolved_at": i["resolved_at"].isoformat(sep=" ", timespec="minutes"),
                "resolution_code": i["resolution_code"],
                "resolved_by": i["resolved_by"],
                "promised_date": i["promised_date"].isoformat() if i["promised_date"] else None,
                "outcome": _outcome_text(i["stockout"], i["promise"]),
                "requests": requests.get(i["exception_id"]),
            }
        )
    return rows


def decision_page(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, catalog: Catalog, q: Question
) -> DecisionPage:
    """Everything the page shows, within `q.scope`."""
    r = review(cur, store, catalog, q)
    return DecisionPage(
        period=q.period,
        as_of=r.outcomes.as_of,
        horizon=r.outcomes.horizon,
        measures=r.measures,
        sites=_rows(r.measures, "site"),
        people=_rows(r.measures, "person"),
        ranking=r.ranking,
        items=_item_rows(r),
        items_total=r.outcomes.items.height,
    )


def share_text(f: Figure) -> str:
    """`50% (1 of 2)`, or `—` when nothing is known yet."""
    if f.share is None:
        return "—"
    return f"{f.share:.0%} ({f.hits} of {f.counted})"
