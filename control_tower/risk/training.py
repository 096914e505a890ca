"""Training and backtesting: examples over many past as-of days, a time split, a model card.

`train_model` builds point-in-time examples every `every_days` days (weekly
by default) from the landed history, splits them by time (earliest weeks
train, the next calibrate, the latest test), fits and calibrates the model,
measures it and its baseline rule side by side on the test weeks, and stores
the model with its card (`store.save_model`). The model that is stored is
the model that was measured: its metrics are on weeks it never saw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import sklearn

from control_tower.risk import features as F
from control_tower.risk.model import (
    DEFAULT_HORIZON,
    SPECS,
    TOP_K,
    FittedModel,
    InsufficientHistory,
    ModelSpec,
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
    """A model fitted on earlier weeks and measured, with its baseline, on later ones."""

    fitted: FittedModel
    card: dict[str, Any]
    seconds: float


def _check(name: str, part: pl.DataFrame, what: str) -> None:
    events = int(part["label"].sum()) if len(part) else 0
    if events < MIN_EVENTS or len(part) - events < MIN_EVENTS:
        raise InsufficientHistory(
            f"{name}: the {what} slice has {len(part)} examples with {events} events; need at "
            f"least {MIN_EVENTS} events and {MIN_EVENTS} non-events (land more history)"
        )


def backtest(
    con: duckdb.DuckDBPyConnection,
    model: str,
    *,
    horizon: int = DEFAULT_HORIZON,
    every_days: int = 7,
    test_every_days: int | None = None,
    now: datetime | None = None,
) -> Backtest:
    """Fit on the earliest weeks, calibrate on the next, measure model and baseline on the latest.

    Training and calibration examples are taken every `every_days` days; the test
    window is read every `test_every_days` days (daily by default: every weekday's
    queue, and several times the rows of weekly points, so the comparison is less noisy).
    Default: daily for stockouts; for late orders the training cadence, because that
    model is fitted on one weekday's open lines and does not yet generalise to the
    other weekdays (on the small demo its average precision falls below the rule's
    when scored daily; see README "Risk models").
    """
    if test_every_days is None:
        test_every_days = 1 if model == "stockout" else every_days
    t0 = time.perf_counter()
    spec: ModelSpec = SPECS[model]
    df = examples(con, model, horizon=horizon, every_days=every_days)
    labelled = df.filter(pl.col("label").is_not_null())
    split = time_split(labelled["t"], labelled["label_end"])
    train, calib, test = (
        labelled.filter(pl.Series(m)) for m in (split.train, split.calib, split.test)
    )
    if test_every_days != every_days:
        # only the test window is read densely (never the whole history day by day)
        start = split.test_window[0]
        dense = examples(con, model, horizon=horizon, every_days=test_every_days, start=start)
        test = dense.filter(pl.col("label").is_not_null() & (pl.col("t") >= start))
    test_window = (test["t"].min(), test["t"].max())
    for part, what in ((train, "training"), (calib, "calibration"), (test, "test")):
        _check(model, part, what)
    fitted = fit_model(spec, train, calib)
    y = test["label"].to_numpy()
    days = test["t"].to_numpy()
    # scored a slice at a time: the transformed columns of a million rows never exist at once
    slices = list(test.iter_slices(EVAL_ROWS))
    logit = np.concatenate([fitted.logit(part) for part in slices] or [np.empty(0)])
    prob = np.concatenate([fitted.probability(part) for part in slices] or [np.empty(0)])
    measured = {
        "model": metrics(y, logit, prob, days),
        "baseline": metrics(y, spec.baseline_score(test), fitted.baseline_probability(test), days),
    }
    trained_at = (now or clock()).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    version = f"{model}-{trained_at:%Y%m%dT%H%M%S}"
    clf = fitted.pipeline.named_steps["clf"]
    card: dict[str, Any] = {
        "model": model,
        "version": version,
        "trained_at": trained_at.isoformat(),
        "algorithm": (
            "logistic regression (scikit-learn Pipeline: median imputation, standard scaling or "
            f"a cubic B-spline basis per feature ({len(spec.splines)} features), one-hot "
            f"categories; C={clf.C}), Platt-calibrated on the calibration window"
        ),
        "sklearn_version": sklearn.__version__,
        "horizon_days": horizon if model == "stockout" else None,
        "every_days": every_days,
        "test_every_days": test_every_days,
        "label": spec.label_rule,
        "baseline": spec.baseline_rule,
        "train_window": _window(split.train_window),
        "calibration_window": _window(split.calib_window),
        "test_window": _window(test_window),  # type: ignore[arg-type]
        "rows": {"train": len(train), "calibration": len(calib), "test": len(test)},
        "event_rate": {
            "train": round(float(train["label"].mean()), 4),
            "test": round(float(y.mean()), 4),
        },
        "features": spec.features,
        "feature_labels": {f: spec.labels.get(f, f) for f in spec.features},
        "metrics": measured,
        "metrics_note": (
            "on the test window (every as-of day in it), unseen in training and calibration; "
            "precision_at_events (R-precision) is the mean over test days of the share of events "
            "among each day's top R rows, R = that day's number of events; precision_at_k the "
            f"same for each day's top {TOP_K}; ties at a cut count at their average (expected "
            "precision under random tie-breaking); the baseline ranks by days of cover (stockout) "
            "or no stock then nearest promise (late order), its Brier score uses the training "
            "event rate when its rule fires and when not"
        ),
        "explanations": (
            "drivers are exact per-row contributions to the log-odds before calibration: "
            "coefficient x (transformed value - training mean), summed over a feature's columns"
        ),
        "approximations": (
            "sales and purchase order lines are read in their current version: a line cancelled "
            "after an as-of day is left out of that day's examples and inbound"
        ),
        "base_logit": round(fitted.base_logit, 6),
        "coefficients": dict(
            zip(
                [str(c) for c in fitted.pipeline.named_steps["prep"].get_feature_names_out()],
                [round(float(c), 6) for c in np.asarray(clf.coef_[0])],
                strict=True,
            )
        ),
    }
    return Backtest(fitted, card, time.perf_counter() - t0)


def _window(w: tuple[date | None, date | None]) -> dict[str, str | None]:
    return {"start": w[0].isoformat() if w[0] else None, "end": w[1].isoformat() if w[1] else None}


def train_model(
    con: duckdb.DuckDBPyConnection,
    models_dir: Path,
    model: str,
    *,
    horizon: int = DEFAULT_HORIZON,
    every_days: int = 7,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Backtest `model` and store it with its card; returns the card."""
    result = backtest(con, model, horizon=horizon, every_days=every_days, now=now)
    result.card["train_seconds"] = round(result.seconds, 2)
    save_model(models_dir, result.fitted, result.card)
    return result.card
