"""How the risk models are measured: ranking and calibration metrics, and the time split.

ROC AUC, average precision and Brier score over a test window, the precision of each
day's queue (top k, and R-precision), and a purged time-ordered split (train, then
calibration, then test). Shared by the models, the backtests and the champion decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

TOP_K = 25


def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of events among the k highest scores; ties at the cut count at their average."""
    n = len(y)
    if n == 0:
        return float("nan")
    k = min(k, n)
    order = np.argsort(-score, kind="stable")
    cut = score[order[k - 1]]
    above = score > cut
    tied = score == cut
    take = k - int(above.sum())
    return float((y[above].sum() + take * y[tied].mean()) / k)


def precision_at_events(y: np.ndarray, score: np.ndarray) -> float:
    """R-precision: the share of events among the top R scores, R = the number of events.

    The queue a perfect model would fill exactly: 1.0 means the day's top R rows are
    its R events. Ties at the cut count at their average (expected under random
    tie-breaking). NaN when there are no events.
    """
    r = int(np.sum(y))
    return precision_at_k(y, score, r) if r > 0 else float("nan")


def metrics(
    y: np.ndarray, score: np.ndarray, prob: np.ndarray, dates: np.ndarray, *, k: int = TOP_K
) -> dict[str, float | int]:
    """ROC AUC, average precision, Brier score, precision at top k and at each day's event count.

    The per-day precisions are means over as-of dates (days without events are
    left out of the R-precision mean).
    """
    days = np.unique(dates)
    per_day = [precision_at_k(y[dates == d], score[dates == d], k) for d in days]
    per_day_r = [precision_at_events(y[dates == d], score[dates == d]) for d in days]
    per_day_r = [p for p in per_day_r if not math.isnan(p)]
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": round(float(roc_auc_score(y, score)), 4) if both else None,
        "average_precision": round(float(average_precision_score(y, score)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, prob)), 4),
        "precision_at_events": round(float(np.mean(per_day_r)), 4) if per_day_r else None,
        "precision_at_k": round(float(np.mean(per_day)), 4),
        "k": k,
        "rows": len(y),
        "events": int(y.sum()),
    }


@dataclass(frozen=True)
class Split:
    """A time-ordered backtest split: train, then calibration, then test dates."""

    train: np.ndarray  # boolean masks over the labelled rows
    calib: np.ndarray
    test: np.ndarray
    train_window: tuple[date, date]
    calib_window: tuple[date, date]
    test_window: tuple[date, date]


def time_split(
    t: pl.Series, label_end: pl.Series, *, test_share: float = 0.3, calib_share: float = 0.2
) -> Split:
    """Split labelled rows by as-of date: earliest for training, then calibration, latest for test.

    A row is dropped from a slice when its label window ends after the next
    slice starts (purging), so no training label overlaps a later slice's labels.
    """
    dates = sorted(set(t.to_list()))
    if len(dates) < 3:
        raise InsufficientHistory(f"{len(dates)} labelled as-of dates; need at least 3")
    n_test = max(1, round(len(dates) * test_share))
    n_calib = max(1, round(len(dates) * calib_share))
    if len(dates) - n_test - n_calib < 1:
        n_calib = max(1, len(dates) - n_test - 1)
    test_start = dates[-n_test]
    calib_start = dates[-n_test - n_calib]
    tt = t.to_numpy()
    end = label_end.to_numpy()
    train = (tt < calib_start) & (end <= calib_start)
    calib = (tt >= calib_start) & (tt < test_start) & (end <= test_start)
    test = tt >= test_start

    def window(mask: np.ndarray) -> tuple[date, date]:
        sel = t.filter(pl.Series(mask))
        return (sel.min(), sel.max()) if len(sel) else (None, None)  # type: ignore[return-value]

    return Split(train, calib, test, window(train), window(calib), window(test))


class InsufficientHistory(ValueError):
    """Too little labelled history to train or evaluate a model."""
