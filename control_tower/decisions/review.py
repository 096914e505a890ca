"""The decision review's measures over a period: overall, per site and per person.

Every figure is a share with its counts: `hits` of `counted` decisions whose outcome is
known, and `too_early` apart (never a success, never a failure). Each measure is one
GROUPING SETS query over the period's decisions (`outcomes.Outcomes`), so the figures per
site and per person add up to the overall one:

- false positives that stocked out anyway: items resolved `false_positive` whose stockout
  outcome is known; hits = stocked out within the horizon after the resolution. The
  precision of the false-positive calls is 1 minus it. Person: who resolved.
- actions confirmed on time: requests raised from the items, judged (on time, late, not
  confirmed, rejected; cancelled ones are left out); hits = confirmed by `expected_by`.
  Person: who requested.
- re-promises met: re-promised dates (resolutions `re_promised` and `re_promise` requests)
  that are due; hits = delivered in full by the date. Person: who resolved or requested.

And the ranking: the stockout items detected in the period (first detected in it) that the
model scored, ordered by the model's probability and by the rule's days of cover (the
baseline of `risk.model.STOCKOUT`: out of stock first, then fewest days of cover, no demand
last), against whether each stocked out within the horizon after the day its score was
given (its last sighting). Average precision over the whole set (scikit-learn's, as on the
model card) and precision of the top 25 per day of that sighting, averaged over days (the
model card's precision_at_k); items not yet knowable are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score
from sqlalchemy import select

from control_tower.accounts import Scope
from control_tower.decisions.outcomes import (
    TOO_EARLY,
    Outcomes,
    Period,
    Question,
    outcomes,
    stocked_out,
)
from control_tower.exceptions.query import scope_condition
from control_tower.exceptions.store import ExceptionItem, ExceptionStore
from control_tower.kpi.catalog import Catalog
from control_tower.risk.frames import registered
from control_tower.risk.model import DEFAULT_HORIZON, STOCKOUT, TOP_K, precision_at_k

GROUPS = ("all", "site", "person")


@dataclass(frozen=True)
class Figure:
    """One measure for one group: `hits` of `counted` known outcomes, `too_early` apart."""

    group: str  # GROUPS
    key: str  # "" overall, the site or the person
    hits: int
    counted: int
    too_early: int

    @property
    def share(self) -> float | None:
        """hits / counted, None when nothing is known yet."""
        return self.hits / self.counted if self.counted else None


@dataclass(frozen=True)
class Measure:
    """A measure's figures overall, per site and per person."""

    name: str
    label: str
    figures: tuple[Figure, ...]

    @property
    def overall(self) -> Figure:
        """The figure over every decision of the period."""
        found = [f for f in self.figures if f.group == "all"]
        return found[0] if found else Figure("all", "", 0, 0, 0)

    def by(self, group: str) -> list[Figure]:
        """The figures of one group (site or person), by key."""
        return sorted((f for f in self.figures if f.group == group), key=lambda f: f.key)


_MEASURE_SQL = """
SELECT CASE WHEN grouping(location_id) = 0 THEN 'site'
            WHEN grouping(person) = 0 THEN 'person' ELSE 'all' END AS grp,
       coalesce(CASE WHEN grouping(location_id) = 0 THEN location_id
                     WHEN grouping(person) = 0 THEN person END, '') AS key,
       count(*) FILTER (WHERE outcome = $hit) AS hits,
       count(*) FILTER (WHERE list_contains($counted, outcome)) AS counted,
       count(*) FILTER (WHERE outcome = $early) AS too_early
FROM decision_rows
GROUP BY GROUPING SETS ((), (location_id), (person))
"""


def measure(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    label: str,
    rows: pl.DataFrame,
    *,
    hit: str,
    counted: tuple[str, ...],
) -> Measure:
    """One measure over `rows` (location_id, person, outcome), in one query."""
    frame = rows.select(
        pl.col("location_id").cast(pl.String),
        pl.col("person").cast(pl.String),
        pl.col("outcome").cast(pl.String),
    )
    with registered(cur, "decision_rows", frame):
        found = cur.execute(
            _MEASURE_SQL, {"hit": hit, "counted": list(counted), "early": TOO_EARLY}
        ).fetchall()
    figures = tuple(Figure(g, k, int(h), int(c), int(e)) for g, k, h, c, e in found)
    return Measure(name, label, figures)


def false_positive_rows(o: Outcomes) -> pl.DataFrame:
    """The false-positive calls with a stockout outcome: site, who resolved, outcome."""
    return o.items.filter(
        (pl.col("resolution_code") == "false_positive") & pl.col("stockout").is_not_null()
    ).select("location_id", person="resolved_by", outcome="stockout")


def request_rows(o: Outcomes) -> pl.DataFrame:
    """The requests raised from the period's items: site, who requested, outcome."""
    return o.requests.select("location_id", person="requested_by", outcome="outcome")


def promise_rows(o: Outcomes) -> pl.DataFrame:
    """Every re-promised date judged: of resolutions and of re_promise requests."""
    return pl.concat(
        [
            o.items.filter(pl.col("promise").is_not_null()).select(
                "location_id", person="resolved_by", outcome="promise"
            ),
            o.requests.filter(pl.col("promise").is_not_null()).select(
                "location_id", person="requested_by", outcome="promise"
            ),
        ]
    )


def measures(cur: duckdb.DuckDBPyConnection, o: Outcomes) -> list[Measure]:
    """The three decision measures of the period."""
    return [
        measure(
            cur, "false_positive_stocked_out", "False positives that stocked out anyway",
            false_positive_rows(o), hit="stocked_out", counted=("stocked_out", "no_stockout"),
        ),
        measure(
            cur, "actions_on_time", "Actions confirmed on time", request_rows(o),
            hit="on_time", counted=("on_time", "late", "not_confirmed", "rejected"),
        ),
        measure(
            cur, "repromises_met", "Re-promised dates met", promise_rows(o),
            hit="met", counted=("met", "missed"),
        ),
    ]  # fmt: skip


# --- the model's ranking against the rule -----------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """Model and rule ranking the same stockout items against what happened (one group)."""

    key: str  # "" overall, else the site
    items: int  # scored items whose outcome is known
    events: int  # of which stocked out
    too_early: int
    unscored: int  # detected by the rule alone (no model score): not ranked
    days: int  # days of sighting the top-25 precision averages over
    model_ap: float | None
    rule_ap: float | None
    model_top: float | None
    rule_top: float | None


DETECTED_SCHEMA = {
    "exception_id": pl.Int64,
    "location_id": pl.String,
    "item_id": pl.String,
    "t": pl.Date,
    "probability": pl.Float64,
    "days_of_cover": pl.Float64,
    "available_qty": pl.Float64,
}


def _number(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def detected(store: ExceptionStore, scope: Scope, period: Period) -> pl.DataFrame:
    """The stockout_risk items first detected in the period, in scope, with the score and the
    days of cover of their last sighting (one query)."""
    first, after = period.bounds
    query = select(
        ExceptionItem.id, ExceptionItem.location_id, ExceptionItem.item_id,
        ExceptionItem.last_seen_at, ExceptionItem.detail,
    ).where(
        ExceptionItem.type == "stockout_risk", ExceptionItem.created_at >= first,
        ExceptionItem.created_at < after, scope_condition(scope),
    )  # fmt: skip
    with store.session() as s:
        rows = [
            (i, loc, item, seen.date(), _number((d or {}).get("probability")),
             _number((d or {}).get("days_of_cover")), _number((d or {}).get("available_qty")))
            for i, loc, item, seen, d in s.execute(query)
        ]  # fmt: skip
    return pl.DataFrame(rows, schema=DETECTED_SCHEMA, orient="row")


def _top(y: np.ndarray, score: np.ndarray, days: np.ndarray) -> float | None:
    per_day = [precision_at_k(y[days == d], score[days == d], TOP_K) for d in np.unique(days)]
    return float(np.mean(per_day)) if per_day else None


def _ap(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(average_precision_score(y, score)) if len(np.unique(y)) == 2 else None


def _ranked(key: str, judged: pl.DataFrame) -> Ranking:
    scored = judged.filter(pl.col("probability").is_not_null())
    known = scored.filter(pl.col("stocked_out").is_not_null())
    y = known["stocked_out"].to_numpy().astype(int)
    days = known["t"].to_numpy()
    model = known["probability"].to_numpy().astype(float)
    rule = STOCKOUT.baseline_score(known.with_columns(pl.col("available_qty").fill_null(0)))
    return Ranking(
        key=key,
        items=len(known),
        events=int(y.sum()),
        too_early=len(scored) - len(known),
        unscored=len(judged) - len(scored),
        days=len(np.unique(days)),
        model_ap=_ap(y, model),
        rule_ap=_ap(y, rule),
        model_top=_top(y, model, days),
        rule_top=_top(y, rule, days),
    )


def ranking(
    cur: duckdb.DuckDBPyConnection,
    store: ExceptionStore,
    scope: Scope,
    period: Period,
    *,
    horizon: int = DEFAULT_HORIZON,
) -> list[Ranking]:
    """The model against the rule, overall (key "") then per site."""
    items = detected(store, scope, period)
    labels = stocked_out(cur, items, horizon)
    judged = items.join(labels, on=["t", "location_id", "item_id"], how="left")
    sites = sorted(s for s in judged["location_id"].unique().to_list() if s is not None)
    return [_ranked("", judged)] + [
        _ranked(site, judged.filter(pl.col("location_id") == site)) for site in sites
    ]


@dataclass(frozen=True)
class Review:
    """Everything the decision review shows for a period and scope."""

    outcomes: Outcomes
    measures: list[Measure]
    ranking: list[Ranking]


def review(
    cur: duckdb.DuckDBPyConnection, store: ExceptionStore, catalog: Catalog, q: Question
) -> Review:
    """The period's decisions, their measures and the ranking, in scope."""
    found = outcomes(cur, store, catalog, q)
    return Review(
        found,
        measures(cur, found),
        ranking(cur, store, q.scope, q.period, horizon=q.horizon),
    )
