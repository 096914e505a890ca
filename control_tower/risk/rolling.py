"""The weekly retrain replayed: `control-tower risk backtest --weeks N`.

For each of the last N weeks, the retrain that would have run at the week's start
is run again on what was known then: examples dated before the cutoff whose labels
had been observed by it (point-in-time features read only rows dated up to their
as-of day). It measures model and rule on its own test window, decides the
champion, refits on all the labelled history it had (as `training.backtest` does),
and then the week that followed, every day of it, is scored by model and rule:
the figures of each, and which one would have ranked. The examples are built once
(training points and the daily points of the test windows) and cut per week.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from control_tower.risk.model import DEFAULT_HORIZON, SPECS, InsufficientHistory, time_split
from control_tower.risk.training import evaluate_and_refit, every_days_for, examples, measure

WEEK = 7


@dataclass(frozen=True)
class WeekResult:
    """One replayed retrain and the week it would have ranked."""

    model: str
    cutoff: date  # the retrain's day: it knew labels up to here
    week_end: date
    algorithm: str
    ranked_by: str  # "model" or "rule", decided on the retrain's own test window
    rows: int
    events: int
    model_ap: float | None
    rule_ap: float | None
    model_auc: float | None
    rule_auc: float | None
    model_brier: float | None
    rule_brier: float | None
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        """The result as a flat row (dates as ISO text)."""
        row = asdict(self)
        row["cutoff"] = self.cutoff.isoformat()
        row["week_end"] = self.week_end.isoformat()
        return row


COLUMNS = tuple(WeekResult.__dataclass_fields__)


def rolling_backtest(
    con: duckdb.DuckDBPyConnection,
    model: str,
    *,
    weeks: int,
    horizon: int = DEFAULT_HORIZON,
) -> list[WeekResult]:
    """The weekly retrain of `model` replayed over the last `weeks` weeks, oldest first.

    A week whose retrain lacks history is reported with its reason (`note`) and no figures.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    spec = SPECS[model]
    every = every_days_for(con, model)
    train_rows = examples(con, model, horizon=horizon, every_days=every)
    train_rows = train_rows.filter(pl.col("label").is_not_null())
    if train_rows.is_empty():
        raise InsufficientHistory(f"{model}: no labelled examples yet")
    daily = train_rows if every == 1 else None
    last = train_rows["t"].max()
    cutoffs = [last - timedelta(days=WEEK * i) for i in range(weeks, 0, -1)]
    if daily is None:
        # the daily points of every retrain's test window and of the weeks scored after it
        first_cut = _known(train_rows, cutoffs[0])
        start = cutoffs[0]
        if len(first_cut):
            split = time_split(first_cut["t"], first_cut["label_end"])
            start = split.test_window[0] or start
        daily = examples(con, model, horizon=horizon, every_days=1, start=start)
        daily = daily.filter(pl.col("label").is_not_null())
    out = []
    for cutoff in cutoffs:
        week_end = cutoff + timedelta(days=WEEK - 1)
        week = daily.filter((pl.col("t") >= cutoff) & (pl.col("t") <= week_end))
        try:
            out.append(_replay(spec.name, train_rows, daily, week, cutoff, week_end))
        except InsufficientHistory as exc:
            out.append(_empty(model, cutoff, week_end, len(week), str(exc)))
    return out


def _known(rows: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """The examples a retrain on `cutoff` had: as-of before it, label observed by it."""
    return rows.filter((pl.col("t") < cutoff) & (pl.col("label_end") <= cutoff))


def _replay(
    model: str,
    train_rows: pl.DataFrame,
    daily: pl.DataFrame,
    week: pl.DataFrame,
    cutoff: date,
    week_end: date,
) -> WeekResult:
    spec = SPECS[model]
    known = _known(train_rows, cutoff)
    split = time_split(known["t"], known["label_end"])
    test = _known(daily, cutoff).filter(pl.col("t") >= split.test_window[0])
    fitted, _, chosen, _, decision = evaluate_and_refit(spec, known, split, test)
    if week.is_empty() or week["label"].n_unique() < 2:
        return _empty(model, cutoff, week_end, len(week), "no events (or only events) that week")
    figures = measure(fitted, week)
    m, r = figures["model"], figures["baseline"]
    return WeekResult(
        model=model,
        cutoff=cutoff,
        week_end=week_end,
        algorithm=chosen,
        ranked_by=decision["ranked_by"],
        rows=len(week),
        events=int(week["label"].sum()),
        model_ap=m["average_precision"],
        rule_ap=r["average_precision"],
        model_auc=m["roc_auc"],
        rule_auc=r["roc_auc"],
        model_brier=m["brier"],
        rule_brier=r["brier"],
    )


def _empty(model: str, cutoff: date, week_end: date, rows: int, note: str) -> WeekResult:
    return WeekResult(
        model, cutoff, week_end, "", "", rows, 0, None, None, None, None, None, None, note
    )


def timed_backtest(
    con: duckdb.DuckDBPyConnection, model: str, *, weeks: int
) -> tuple[list[WeekResult], float]:
    """`rolling_backtest` and the seconds it took."""
    t0 = time.perf_counter()
    result = rolling_backtest(con, model, weeks=weeks)
    return result, time.perf_counter() - t0
