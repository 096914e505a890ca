"""The risk models: feature sets, scikit-learn pipelines, baselines, metrics and explanations.

Each model is a logistic regression on standardised numeric features and
one-hot categories (a scikit-learn `Pipeline` with a `ColumnTransformer`),
whose scores are calibrated with Platt scaling (`CalibratedClassifierCV` on a
frozen model) on a later slice of time than it was fitted on.

Why a linear model: its explanation is exact. For a row x, the model's
log-odds before calibration is

    logit(x) = base + sum over features j of effect_j(x)
    effect_j(x) = sum over the columns k of feature j of coef_k * (z_k(x) - mean_k)

where z is the transformed row (standardised value, or 0/1 for a category)
and mean_k the training mean of column k, and base = intercept + sum coef_k *
mean_k is the log-odds of the average training row. Platt scaling is a
monotone increasing map of logit(x), so a driver that raises the log-odds
raises the probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

MODELS: tuple[str, ...] = ("stockout", "late_order")
DEFAULT_HORIZON = 7
TOP_K = 25
TOP_DRIVERS = 5
SPLINE_KNOTS = 5


@dataclass(frozen=True)
class ModelSpec:
    """What a risk model reads, how its baseline rule scores, and how its features read."""

    name: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    labels: dict[str, str]
    baseline_score: Callable[[pl.DataFrame], np.ndarray]
    baseline_flag: Callable[[pl.DataFrame], np.ndarray]
    baseline_rule: str
    label_rule: str
    # numeric features that enter through a B-spline basis (a smooth curve per feature, still
    # additive, so a feature's effect is the sum over its basis columns); the rest are linear
    splines: tuple[str, ...] = ()

    @property
    def features(self) -> list[str]:
        """Every input column, numeric first."""
        return [*self.numeric, *self.categorical]


def _stockout_flag(df: pl.DataFrame) -> np.ndarray:
    cover = df["days_of_cover"].fill_null(math.inf).to_numpy()
    return (df["available_qty"].to_numpy() <= 0) | (cover < df["horizon_days"].to_numpy())


def _stockout_score(df: pl.DataFrame) -> np.ndarray:
    # fewer days of cover ranks higher; no demand ranks last; already out of stock ranks first
    cover = df["days_of_cover"].fill_null(1e9).to_numpy().astype(float)
    return -np.where(df["available_qty"].to_numpy() <= 0, -1e9, cover)


STOCKOUT_SPLINES = (
    "log_cover_days",
    "log_position_cover_days",
    "log_due_position_cover_days",
    "arrival_gap_days",
    "available_in_max_lines",
    "days_to_next_receipt",
    "p10_cover_90",
    "line_peak_ratio",
    "in_transit_cover_days",
    "log_daily_demand",
    "demand_cv",
    "demand_trend",
    "stockout_share_28",
    "stockout_share_90",
    "supplier_delay_days",
    "change_7d_cover_days",
    "inbound_cover_days",
)

STOCKOUT = ModelSpec(
    name="stockout",
    numeric=(
        "cover_days",
        "log_cover_days",
        "cover_within_horizon",
        "cover_within_lead",
        "stocked_out",
        "cover_vs_lead",
        "position_cover_days",
        "log_position_cover_days",
        "inbound_cover_days",
        "overdue_inbound_cover_days",
        "days_to_next_receipt",
        "log_daily_demand",
        "demand_cv",
        "demand_peak_ratio",
        "demand_trend",
        "stockout_share_28",
        "change_7d_cover_days",
        "lead_time",
        "supplier_on_time",
        "supplier_delay_days",
        # the demo's causes the cover rule cannot see (all read up to t only)
        "in_transit_cover_days",
        "log_due_position_cover_days",
        "arrival_gap_days",
        "supplier_late_3d",
        "line_peak_ratio",
        "available_in_max_lines",
        "item_bulk_share_90",
        "p10_cover_90",
        "stockout_share_90",
    ),
    splines=STOCKOUT_SPLINES,
    categorical=("abc_class", "location_id"),
    labels={
        "cover_days": "Days of cover (available / daily demand)",
        "log_cover_days": "Days of cover (log scale)",
        "cover_within_horizon": "Cover shorter than the horizon",
        "cover_within_lead": "Cover shorter than the lead time",
        "log_position_cover_days": "Days of cover including open purchase orders (log scale)",
        "stocked_out": "Already out of stock",
        "cover_vs_lead": "Days of cover relative to lead time",
        "position_cover_days": "Days of cover including open purchase orders",
        "inbound_cover_days": "Open purchase orders, in days of demand",
        "overdue_inbound_cover_days": "Overdue purchase orders, in days of demand",
        "days_to_next_receipt": "Days until the next expected receipt",
        "log_daily_demand": "Daily demand (log)",
        "demand_cv": "Demand variability (coefficient of variation)",
        "demand_peak_ratio": "Largest day of demand vs the average (lumpiness)",
        "demand_trend": "Last 7 days' demand vs the last 28",
        "stockout_share_28": "Share of the last 28 days out of stock",
        "change_7d_cover_days": "Change of available stock in 7 days, in days of demand",
        "lead_time": "Supplier lead time (days)",
        "supplier_on_time": "Supplier on-time share (90 days)",
        "supplier_delay_days": "Supplier's average days late (90 days)",
        "in_transit_cover_days": "Stock in transit from suppliers, in days of demand",
        "log_due_position_cover_days": "Days of cover including orders due within the horizon (log)",
        "arrival_gap_days": "Next receipt (expected date + supplier's usual delay) minus days of cover",
        "supplier_late_3d": "Supplier's share of receipts over 3 days late (90 days)",
        "line_peak_ratio": "Largest order line vs the median line (90 days)",
        "available_in_max_lines": "Available stock in units of the largest order line (90 days)",
        "item_bulk_share_90": "Item's share of bulk lines (over 4x its median, 90 days)",
        "p10_cover_90": "Low point of stock (10th percentile, 90 days), in days of demand",
        "stockout_share_90": "Share of the last 90 days out of stock",
        "abc_class": "ABC class",
        "location_id": "Location",
    },
    baseline_score=_stockout_score,
    baseline_flag=_stockout_flag,
    baseline_rule=(
        "days-of-cover rule: flag when available <= 0 or available / daily demand (28 days) "
        "< horizon; ranked by days of cover, fewest first"
    ),
    label_rule="available (on hand - allocated - quarantined) <= 0 on any snapshot in (t, t + horizon]",
)


def _late_flag(df: pl.DataFrame) -> np.ndarray:
    short = df["stock_short"].to_numpy() > 0
    return short & (df["days_to_promise"].to_numpy() < df["lead_time"].fill_null(0).to_numpy())


def _late_score(df: pl.DataFrame) -> np.ndarray:
    # no stock first, then the nearest promise
    return df["stock_short"].to_numpy() * 1000.0 - df["days_to_promise"].to_numpy()


LATE_ORDER = ModelSpec(
    name="late_order",
    numeric=(
        "days_to_promise",
        "promise_lead_days",
        "days_open",
        "promised_after_request",
        "stock_short",
        "stock_cover_days",
        "log_open_qty",
        "shipped_share",
        "lead_time",
        "location_late_rate_28",
        "customer_late_rate_90",
        "carrier_on_time_90",
        "backlog_days",
        "wave_late_rate_7",
    ),
    categorical=("priority_tier", "location_id", "channel", "promise_weekday", "abc_class"),
    labels={
        "days_to_promise": "Days to the first promise",
        "promise_lead_days": "Promise lead time given (days)",
        "days_open": "Days since the order",
        "promised_after_request": "Days promised after the requested date",
        "stock_short": "Not enough available stock for the line",
        "stock_cover_days": "Stock cover at the location (days)",
        "log_open_qty": "Open quantity (log)",
        "shipped_share": "Share already shipped",
        "lead_time": "Item lead time (days)",
        "location_late_rate_28": "Location's late-line share (28 days)",
        "customer_late_rate_90": "Customer's late-line share (90 days)",
        "carrier_on_time_90": "Customer's carriers on time (90 days)",
        "backlog_days": "Pick backlog at the location (days of shipping)",
        "wave_late_rate_7": "Location's late waves (7 days)",
        "priority_tier": "Customer priority tier",
        "location_id": "Location",
        "channel": "Order channel",
        "promise_weekday": "Weekday of the promise",
        "abc_class": "ABC class",
    },
    baseline_score=_late_score,
    baseline_flag=_late_flag,
    baseline_rule=(
        "days to promise with no stock: flag when available stock at the location is below the "
        "open quantity and the promise is sooner than the item's lead time; ranked no-stock "
        "first, then nearest promise"
    ),
    label_rule="not delivered in full by the end of the first promised date",
)

SPECS: dict[str, ModelSpec] = {STOCKOUT.name: STOCKOUT, LATE_ORDER.name: LATE_ORDER}


def build_pipeline(spec: ModelSpec, *, C: float = 0.3) -> Pipeline:
    """An unfitted scikit-learn pipeline: impute and standardise (or a spline basis), one-hot, logistic regression.

    Each spline feature has its own transformer (named after the feature), so the
    columns of every feature are known after fitting (`ColumnTransformer.output_indices_`).
    """
    linear = [f for f in spec.numeric if f not in spec.splines]
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    parts: list[tuple[str, object, list[str]]] = [("num", numeric, linear)]
    for name in spec.splines:
        basis = SplineTransformer(
            n_knots=SPLINE_KNOTS, degree=3, knots="quantile", extrapolation="constant"
        )
        parts.append(
            (
                f"spline_{name}",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("basis", basis)]),
                [name],
            )
        )
    categories = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    parts.append(("cat", categories, list(spec.categorical)))
    prep = ColumnTransformer(parts, verbose_feature_names_out=False)
    return Pipeline([("prep", prep), ("clf", LogisticRegression(C=C, max_iter=5000))])


def feature_groups(spec: ModelSpec, prep: ColumnTransformer) -> list[tuple[str, list[int]]]:
    """Each input feature with the indices of its transformed columns, in `spec.features` order."""
    index = prep.output_indices_
    linear = [f for f in spec.numeric if f not in spec.splines]
    start = index["num"].start
    cols: dict[str, list[int]] = {f: [start + i] for i, f in enumerate(linear)}
    for name in spec.splines:
        part = index[f"spline_{name}"]
        cols[name] = list(range(part.start, part.stop))
    offset = index["cat"].start
    encoder = prep.named_transformers_["cat"]
    for name, cats in zip(spec.categorical, encoder.categories_, strict=True):
        cols[name] = list(range(offset, offset + len(cats)))
        offset += len(cats)
    return [(f, cols[f]) for f in spec.features]


def model_input(spec: ModelSpec, df: pl.DataFrame):
    """The model's input frame: its feature columns, categories as text, numbers as float."""
    cols = [pl.col(c).cast(pl.Float64) for c in spec.numeric]
    cols += [pl.col(c).cast(pl.String).fill_null("unknown") for c in spec.categorical]
    return df.select(cols)


@dataclass
class FittedModel:
    """A fitted pipeline, its Platt calibration and what it needs to explain a row."""

    spec: ModelSpec
    pipeline: Pipeline
    calibrated: CalibratedClassifierCV
    column_mean: np.ndarray  # training mean of each transformed column
    groups: list[tuple[str, list[int]]]  # feature -> its transformed columns
    baseline_rates: tuple[float, float]  # training positive rate when the rule is off / on

    def logit(self, df: pl.DataFrame) -> np.ndarray:
        """Log-odds before calibration."""
        return self.pipeline.decision_function(model_input(self.spec, df))

    def probability(self, df: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of the event."""
        return self.calibrated.predict_proba(model_input(self.spec, df))[:, 1]

    def baseline_probability(self, df: pl.DataFrame) -> np.ndarray:
        """The rule as a probability: the training rate of events when it is off or on."""
        flag = self.spec.baseline_flag(df)
        return np.where(flag, self.baseline_rates[1], self.baseline_rates[0])

    @property
    def base_logit(self) -> float:
        """Log-odds of the average training row: where every explanation starts."""
        clf = self.pipeline.named_steps["clf"]
        return float(clf.intercept_[0] + clf.coef_[0] @ self.column_mean)

    def effects(self, df: pl.DataFrame) -> np.ndarray:
        """Per row and feature, the contribution to the log-odds (rows x features)."""
        z = self.pipeline.named_steps["prep"].transform(model_input(self.spec, df))
        contrib = (np.asarray(z, dtype=float) - self.column_mean) * self.pipeline.named_steps[
            "clf"
        ].coef_[0]
        return np.column_stack([contrib[:, idx].sum(axis=1) for _, idx in self.groups])

    def drivers(self, df: pl.DataFrame, *, top: int = TOP_DRIVERS) -> list[list[dict]]:
        """Per row, its `top` drivers, largest effect first, in the planner page's JSON shape."""
        effects = self.effects(df)
        names = [name for name, _ in self.groups]
        out: list[list[dict]] = []
        values = {n: df[n].to_list() for n in names}
        for i in range(effects.shape[0]):
            order = np.argsort(-np.abs(effects[i]), kind="stable")[:top]
            row = []
            for j in order:
                effect = float(effects[i, j])
                if effect == 0.0:
                    continue
                name = names[j]
                raw = values[name][i]
                value: object
                if raw is None or isinstance(raw, str):
                    value = raw
                else:
                    value = round(float(raw), 4) if math.isfinite(float(raw)) else None
                row.append(
                    {
                        "feature": name,
                        "label": self.spec.labels.get(name, name),
                        "value": value,
                        "effect": round(effect, 4),
                        "direction": "raises" if effect > 0 else "lowers",
                    }
                )
            out.append(row)
        return out


def fit_model(
    spec: ModelSpec, train: pl.DataFrame, calib: pl.DataFrame, *, C: float = 0.3
) -> FittedModel:
    """Fit the pipeline on `train` and its Platt calibration on the later `calib` slice."""
    pipeline = build_pipeline(spec, C=C)
    y = train["label"].to_numpy()
    pipeline.fit(model_input(spec, train), y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid")
    calibrated.fit(model_input(spec, calib), calib["label"].to_numpy())
    prep = pipeline.named_steps["prep"]
    z = np.asarray(prep.transform(model_input(spec, train)), dtype=float)
    groups = feature_groups(spec, prep)
    flag = spec.baseline_flag(train)
    rates = (
        float(y[~flag].mean()) if (~flag).any() else float(y.mean()),
        float(y[flag].mean()) if flag.any() else float(y.mean()),
    )
    return FittedModel(spec, pipeline, calibrated, z.mean(axis=0), groups, rates)


# --- evaluation -------------------------------------------------------------------------------


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
