"""Training and backtesting: examples over many past as-of days, a time split, a model card.

`train_model` builds point-in-time examples every `every_days` days (`every_days_for`)
from the landed history, splits them by time (earliest weeks train, the next
calibrate, the latest test), fits and calibrates each candidate algorithm, measures
the chosen one and its baseline rule side by side on the test weeks (metrics on
weeks the model never saw), decides which of the two ranks, refits the chosen
algorithm on all the labelled history and stores it with its card
(`store.save_model`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import sklearn
from sklearn.metrics import average_precision_score

from control_tower.risk import features as F
from control_tower.risk.boosting import fit_boosted
from control_tower.risk.champion import decide
from control_tower.risk.model import (
    DEFAULT_HORIZON,
    SPECS,
    TOP_K,
    FittedModel,
    InsufficientHistory,
    ModelSpec,
    RiskModel,
    Split,
    fit_model,
    metrics,
    time_split,
)
from control_tower.risk.store import save_model
from control_tower.settings import clock

# Demand and late-rate features look back 28 days: examples start once that much history exists.
WARMUP_DAYS = 28
MIN_EVENTS = 5  # events (and non-events) needed in the training and test slices
# Examples come from the last year of history at most (a year of weeks: every season once), so
# their number does not grow with the years landed; and an example set is at most MAX_EXAMPLES
# rows, a deterministic sample of item-locations (or orders) beyond that (`risk.sampling`).
HISTORY_DAYS = 365
MAX_EXAMPLES = 1_000_000
EVAL_ROWS = 100_000  # test rows scored at once
# How often (days) training examples are taken: late orders daily, so the model learns every
# weekday's open lines, as it scores them; stockouts weekly once the history is long
# (`every_days_for`).
EVERY_DAYS = {"stockout": 7, "late_order": 1}
# Stockout examples are taken daily while that gives at most this many rows: with a short
# history, daily points (alike, but not the same) steadied the model on the tuning seeds;
# with a long one, weekly points of every item-location are plenty, and the feature queries
# cost by the row.
DENSE_STOCKOUT_EXAMPLES = 250_000


def every_days_for(con: duckdb.DuckDBPyConnection, model: str) -> int:
    """How often (days) the training examples of `model` are taken on this warehouse."""
    if model != "stockout":
        return EVERY_DAYS[model]
    (rows,) = con.execute(
        "SELECT count(*) FROM inventory_snapshots WHERE snapshot_date > "
        "(SELECT max(snapshot_date) FROM inventory_snapshots) - CAST(? AS INTEGER)",
        [HISTORY_DAYS],
    ).fetchone() or (0,)
    return 1 if rows <= DENSE_STOCKOUT_EXAMPLES else EVERY_DAYS[model]


def examples(
    con: duckdb.DuckDBPyConnection,
    model: str,
    *,
    horizon: int = DEFAULT_HORIZON,
    every_days: int = 7,
    start: date | None = None,
    history_days: int = HISTORY_DAYS,
    max_examples: int = MAX_EXAMPLES,
) -> pl.DataFrame:
    """Point-in-time examples of `model` at every `every_days`-th day with a warm-up behind it.

    As-of days run from `start` (default: the first with a warm-up behind it), and at most
    `history_days` back from the last snapshot; at most `max_examples` examples.
    """
    first, last = con.execute(
        "SELECT min(snapshot_date), max(snapshot_date) FROM inventory_snapshots"
    ).fetchall()[0]
    if first is None:
        raise InsufficientHistory("no inventory snapshots have been landed yet")
    start = max(
        first + timedelta(days=WARMUP_DAYS),
        last - timedelta(days=history_days),
        start or first,
    )
    if model == "stockout":
        points = F.snapshot_points(con, start=start, every_days=every_days)
        return F.stockout_frame(con, points, horizon=horizon, max_examples=max_examples)
    dates = F.late_dates(con, every_days=every_days, start=start)
    return F.late_frame(con, dates, max_examples=max_examples)


@dataclass
class Backtest:
    """A model measured, with its baseline, on later weeks than it saw, then refitted on all of
    the labelled history (`fitted`, the model stored); the champion decision is on the card."""

    fitted: RiskModel
    card: dict[str, Any]
    seconds: float
    candidates: dict[str, RiskModel] = field(default_factory=dict)  # as measured


def _check(name: str, part: pl.DataFrame, what: str) -> None:
    events = int(part["label"].sum()) if len(part) else 0
    if events < MIN_EVENTS or len(part) - events < MIN_EVENTS:
        raise InsufficientHistory(
            f"{name}: the {what} slice has {len(part)} examples with {events} events; need at "
            f"least {MIN_EVENTS} events and {MIN_EVENTS} non-events (land more history)"
        )


def fit_candidates(
    spec: ModelSpec, train: pl.DataFrame, calib: pl.DataFrame
) -> dict[str, RiskModel]:
    """Every candidate algorithm fitted on `train`, calibrated on `calib`."""
    return {name: fit(spec, train, calib) for name, fit in CANDIDATES.items()}


def choose(candidates: dict[str, RiskModel], calib: pl.DataFrame) -> str:
    """The candidate with the highest average precision on the calibration window (never the
    test window, which judges the choice); the logistic model on a tie."""
    y = calib["label"].to_numpy()
    best, best_ap = "logistic", -1.0
    for name, fitted in candidates.items():
        ap = float(average_precision_score(y, _scores(fitted, calib)[0]))
        if ap > best_ap + 1e-9:
            best, best_ap = name, ap
    return best


def _scores(fitted: RiskModel, df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds and calibrated probability, a slice at a time (the transformed columns of a
    million rows never exist at once)."""
    slices = list(df.iter_slices(EVAL_ROWS))
    logit = np.concatenate([fitted.logit(part) for part in slices] or [np.empty(0)])
    prob = np.concatenate([fitted.probability(part) for part in slices] or [np.empty(0)])
    return logit, prob


def measure(fitted: RiskModel, test: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Model and rule figures on `test` (the rule's probability: its calibrated score)."""
    y = test["label"].to_numpy()
    days = test["t"].to_numpy()
    logit, prob = _scores(fitted, test)
    rule_score = fitted.spec.baseline_score(test)
    return {
        "model": metrics(y, logit, prob, days),
        "baseline": metrics(y, rule_score, fitted.baseline_probability(test), days),
    }


def weekly(fitted: RiskModel, test: pl.DataFrame) -> list[dict[str, Any]]:
    """Model and rule figures of each week of `test` (weeks counted from its first day): the
    model card's week-by-week view of its test window, plotted on the planner page."""
    if test.is_empty():
        return []
    first = test["t"].min()
    week = test.select((pl.col("t") - pl.col("t").min()).dt.total_days() // 7).to_series()
    week = week.to_numpy()
    y = test["label"].to_numpy()
    logit, prob = _scores(fitted, test)
    rule_score = fitted.spec.baseline_score(test)
    rule_prob = fitted.baseline_probability(test)
    days = test["t"].to_numpy()
    out = []
    for w in np.unique(week):
        sel = week == w
        m = metrics(y[sel], logit[sel], prob[sel], days[sel])
        r = metrics(y[sel], rule_score[sel], rule_prob[sel], days[sel])
        out.append(
            {
                "week_start": (first + timedelta(days=7 * int(w))).isoformat(),
                "rows": m["rows"],
                "events": m["events"],
                "model_ap": m["average_precision"],
                "rule_ap": r["average_precision"],
                "model_brier": m["brier"],
                "rule_brier": r["brier"],
                "model_auc": m["roc_auc"],
                "rule_auc": r["roc_auc"],
            }
        )
    return out


def refit_split(
    labelled: pl.DataFrame, *, calib_share: float = 0.2
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All labelled history cut for the final fit: the latest `calib_share` of the as-of dates
    calibrate, the earlier ones (purged of labels reaching into them) train."""
    dates = sorted(set(labelled["t"].to_list()))
    n_calib = max(1, round(len(dates) * calib_share))
    start = dates[-n_calib]
    train = labelled.filter((pl.col("t") < start) & (pl.col("label_end") <= start))
    calib = labelled.filter(pl.col("t") >= start)
    return train, calib


def evaluate_and_refit(
    spec: ModelSpec,
    labelled: pl.DataFrame,
    split: Split,
    test: pl.DataFrame,
    *,
    refit: bool = True,
) -> tuple[RiskModel, dict[str, RiskModel], str, dict[str, dict[str, Any]], dict[str, Any]]:
    """Fit the candidates on the training slice, choose one on the calibration slice, measure
    it and the rule on `test`, decide the champion, then (with `refit`) fit the chosen
    algorithm again on every labelled row. Returns the model to store, the candidates as
    measured, the chosen name, the figures and the decision."""
    train, calib = (labelled.filter(pl.Series(m)) for m in (split.train, split.calib))
    for part, what in ((train, "training"), (calib, "calibration"), (test, "test")):
        _check(spec.name, part, what)
    candidates = fit_candidates(spec, train, calib)
    chosen = choose(candidates, calib)
    measured = measure(candidates[chosen], test)
    decision = decide(spec.name, measured)
    final = candidates[chosen]
    decision["weekly"] = weekly(final, test)
    if refit:
        all_train, all_calib = refit_split(labelled)
        if _enough(all_train) and _enough(all_calib):
            final = CANDIDATES[chosen](spec, all_train, all_calib)
    return final, candidates, chosen, measured, decision


def _enough(part: pl.DataFrame) -> bool:
    events = int(part["label"].sum()) if len(part) else 0
    return events >= MIN_EVENTS and len(part) - events >= MIN_EVENTS


def backtest(
    con: duckdb.DuckDBPyConnection,
    model: str,
    *,
    horizon: int = DEFAULT_HORIZON,
    every_days: int | None = None,
    test_every_days: int = 1,
    now: datetime | None = None,
) -> Backtest:
    """Fit on the earliest weeks, calibrate on the next, measure model and rule on the latest,
    decide which ranks, then refit the chosen algorithm on all the labelled history.

    Training and calibration examples are taken every `every_days` days (default
    `every_days_for`: daily for late orders, so every weekday's open lines are learnt, and
    for stockouts while the history is short);
    the test window is read every `test_every_days` days (daily by default: every weekday's
    queue, and several times the rows of weekly points, so the comparison is less noisy).
    """
    t0 = time.perf_counter()
    every_days = every_days or every_days_for(con, model)
    spec: ModelSpec = SPECS[model]
    df = examples(con, model, horizon=horizon, every_days=every_days)
    labelled = df.filter(pl.col("label").is_not_null())
    split = time_split(labelled["t"], labelled["label_end"])
    test = labelled.filter(pl.Series(split.test))
    if test_every_days != every_days:
        # only the test window is read densely (never the whole history day by day)
        start = split.test_window[0]
        dense = examples(con, model, horizon=horizon, every_days=test_every_days, start=start)
        test = dense.filter(pl.col("label").is_not_null() & (pl.col("t") >= start))
    test_window = (test["t"].min(), test["t"].max())
    fitted, candidates, chosen, measured, decision = evaluate_and_refit(spec, labelled, split, test)
    trained_at = (now or clock()).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    version = f"{model}-{trained_at:%Y%m%dT%H%M%S}"
    train_rows = int(split.train.sum())
    card: dict[str, Any] = {
        "model": model,
        "version": version,
        "trained_at": trained_at.isoformat(),
        "algorithm": ALGORITHMS[chosen](spec),
        "candidate": chosen,
        "sklearn_version": sklearn.__version__,
        "horizon_days": horizon if model == "stockout" else None,
        "every_days": every_days,
        "test_every_days": test_every_days,
        "label": spec.label_rule,
        "baseline": spec.baseline_rule,
        "train_window": _window(split.train_window),
        "calibration_window": _window(split.calib_window),
        "test_window": _window(test_window),  # type: ignore[arg-type]
        "rows": {"train": train_rows, "calibration": int(split.calib.sum()), "test": len(test)},
        "event_rate": {
            "train": round(float(labelled.filter(pl.Series(split.train))["label"].mean()), 4),
            "test": round(float(test["label"].mean()), 4),
        },
        "features": spec.features,
        "feature_labels": {f: spec.labels.get(f, f) for f in spec.features},
        "metrics": measured,
        "champion": decision,
        "metrics_note": (
            "on the test window (every as-of day in it), unseen in training and calibration; "
            "precision_at_events (R-precision) is the mean over test days of the share of events "
            "among each day's top R rows, R = that day's number of events; precision_at_k the "
            f"same for each day's top {TOP_K}; ties at a cut count at their average (expected "
            "precision under random tie-breaking); the baseline ranks by days of cover (stockout) "
            "or no stock then nearest promise (late order), its probability (for the Brier "
            "score) is its score calibrated by isotonic regression on the training and "
            "calibration windows"
        ),
        "refit": (
            "after the measurement the chosen algorithm was fitted again on all the labelled "
            "history (the latest fifth of the as-of days calibrating it): the stored model has "
            "seen the test window; the figures are those of the same algorithm fitted without it"
        ),
        "explanations": EXPLANATIONS[chosen],
        "approximations": (
            "sales and purchase order lines are read in their current version: a line cancelled "
            "after an as-of day is left out of that day's examples and inbound"
        ),
    }
    if isinstance(fitted, FittedModel):
        clf = fitted.pipeline.named_steps["clf"]
        card["base_logit"] = round(fitted.base_logit, 6)
        card["coefficients"] = dict(
            zip(
                [str(c) for c in fitted.pipeline.named_steps["prep"].get_feature_names_out()],
                [round(float(c), 6) for c in np.asarray(clf.coef_[0])],
                strict=True,
            )
        )
    return Backtest(fitted, card, time.perf_counter() - t0, candidates)


def _logistic_text(spec: ModelSpec) -> str:
    return (
        "logistic regression (scikit-learn Pipeline: median imputation, standard scaling or "
        f"a cubic B-spline basis per feature ({len(spec.splines)} features), one-hot "
        "categories; C=0.3), Platt-calibrated on the calibration window"
    )


def _boosted_text(spec: ModelSpec) -> str:
    return (
        "gradient boosting (scikit-learn HistGradientBoostingClassifier: "
        f"{len(spec.numeric)} numbers as they are, {len(spec.categorical)} categories as "
        "native categories; early stopping), Platt-calibrated on the calibration window"
    )


ALGORITHMS = {"logistic": _logistic_text, "gradient_boosting": _boosted_text}
EXPLANATIONS = {
    "logistic": (
        "drivers are exact per-row contributions to the log-odds before calibration: "
        "coefficient x (transformed value - training mean), summed over a feature's columns"
    ),
    "gradient_boosting": (
        "drivers are APPROXIMATIONS (each marked approximate): a feature's effect is the "
        "change in the trees' log-odds when that feature alone is set to its training median "
        "(or most frequent category); effects of interacting features need not add up"
    ),
}
CANDIDATES: dict[str, Callable[[ModelSpec, pl.DataFrame, pl.DataFrame], RiskModel]] = {
    "logistic": fit_model,
    "gradient_boosting": fit_boosted,
}


def _window(w: tuple[date | None, date | None]) -> dict[str, str | None]:
    return {"start": w[0].isoformat() if w[0] else None, "end": w[1].isoformat() if w[1] else None}


def train_model(
    con: duckdb.DuckDBPyConnection,
    models_dir: Path,
    model: str,
    *,
    horizon: int = DEFAULT_HORIZON,
    every_days: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Backtest `model` and store it with its card; returns the card."""
    result = backtest(con, model, horizon=horizon, every_days=every_days, now=now)
    result.card["train_seconds"] = round(result.seconds, 2)
    save_model(models_dir, result.fitted, result.card)
    return result.card
