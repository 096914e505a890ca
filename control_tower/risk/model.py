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
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from control_tower.risk.evaluation import TOP_K as TOP_K

# the measures live in `risk.evaluation`; importable from here as before
from control_tower.risk.evaluation import InsufficientHistory as InsufficientHistory
from control_tower.risk.evaluation import Split as Split
from control_tower.risk.evaluation import metrics as metrics
from control_tower.risk.evaluation import precision_at_events as precision_at_events
from control_tower.risk.evaluation import precision_at_k as precision_at_k
from control_tower.risk.evaluation import time_split as time_split

MODELS: tuple[str, ...] = ("stockout", "late_order")
DEFAULT_HORIZON = 7
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
        # booked order lines not yet allocated take stock that "available" still shows
        "unallocated_backlog_cover_days",
        "net_cover_days",
        "net_due_position_cover_days",
        "z_available_horizon",
        "z_position_horizon",
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
        "unallocated_backlog_cover_days": "Booked lines not yet allocated, in days of demand",
        "net_cover_days": "Days of cover after the booked lines not yet allocated",
        "net_due_position_cover_days": "Days of cover after the lines and receipts due within "
        "the horizon",
        "z_available_horizon": "Stock after the lines due, in standard deviations of the "
        "horizon's demand above its mean",
        "z_position_horizon": "Same, with the receipts due within the horizon",
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


class RiskModel(ABC):
    """What every fitted risk model offers: log-odds, a calibrated probability, the rule as a
    calibrated probability, and per-row drivers (`effects`, exact or approximate)."""

    spec: ModelSpec
    calibrated: CalibratedClassifierCV
    baseline_rates: tuple[float, float]  # training positive rate when the rule is off / on
    kind: str = "logistic"
    exact: bool = True  # whether `effects` add up exactly to the log-odds
    rule: RuleCalibration | None = None  # the rule's score as a probability

    @abstractmethod
    def logit(self, df: pl.DataFrame) -> np.ndarray:
        """Log-odds (or the decision score) before calibration."""

    @abstractmethod
    def effects(self, df: pl.DataFrame) -> np.ndarray:
        """Per row and feature, the contribution to the log-odds (rows x features)."""

    @property
    def feature_names(self) -> list[str]:
        """The features `effects` has a column for, in order."""
        return self.spec.features

    def probability(self, df: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of the event."""
        return self.calibrated.predict_proba(model_input(self.spec, df))[:, 1]

    def baseline_probability(self, df: pl.DataFrame) -> np.ndarray:
        """The rule as a probability: its score calibrated (isotonic) on the training and
        calibration windows; a model stored before that uses the training rate of events when
        the rule is off or on."""
        if self.rule is not None:
            return self.rule.probability(self.spec.baseline_score(df))
        flag = self.spec.baseline_flag(df)
        return np.where(flag, self.baseline_rates[1], self.baseline_rates[0])

    def drivers(self, df: pl.DataFrame, *, top: int = TOP_DRIVERS) -> list[list[dict]]:
        """Per row, its `top` drivers, largest effect first, in the planner page's JSON shape
        (with `"approximate": true` when the effects are approximations)."""
        effects = self.effects(df)
        names = self.feature_names
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
                driver = {
                    "feature": name,
                    "label": self.spec.labels.get(name, name),
                    "value": value,
                    "effect": round(effect, 4),
                    "direction": "raises" if effect > 0 else "lowers",
                }
                if not self.exact:
                    driver["approximate"] = True
                row.append(driver)
            out.append(row)
        return out


@dataclass
class FittedModel(RiskModel):
    """A fitted logistic pipeline, its Platt calibration and what it needs to explain a row."""

    spec: ModelSpec
    pipeline: Pipeline
    calibrated: CalibratedClassifierCV
    column_mean: np.ndarray  # training mean of each transformed column
    groups: list[tuple[str, list[int]]]  # feature -> its transformed columns
    baseline_rates: tuple[float, float]  # training positive rate when the rule is off / on
    kind: str = "logistic"
    exact: bool = True
    rule: RuleCalibration | None = None

    def logit(self, df: pl.DataFrame) -> np.ndarray:
        """Log-odds before calibration."""
        return self.pipeline.decision_function(model_input(self.spec, df))

    @property
    def feature_names(self) -> list[str]:
        """The features `effects` has a column for, in order."""
        return [name for name, _ in self.groups]

    @property
    def base_logit(self) -> float:
        """Log-odds of the average training row: where every explanation starts."""
        clf = self.pipeline.named_steps["clf"]
        return float(clf.intercept_[0] + clf.coef_[0] @ self.column_mean)

    def effects(self, df: pl.DataFrame) -> np.ndarray:
        """Per row and feature, the contribution to the log-odds (rows x features): exact."""
        z = self.pipeline.named_steps["prep"].transform(model_input(self.spec, df))
        contrib = (np.asarray(z, dtype=float) - self.column_mean) * self.pipeline.named_steps[
            "clf"
        ].coef_[0]
        return np.column_stack([contrib[:, idx].sum(axis=1) for _, idx in self.groups])


@dataclass(frozen=True)
class RuleCalibration:
    """A rule's score mapped to a probability: isotonic regression of the event on the score
    (monotone, so the rule's ranking is kept; ties where the data cannot tell scores apart)."""

    iso: IsotonicRegression

    @classmethod
    def fit(cls, score: np.ndarray, y: np.ndarray) -> RuleCalibration:
        """Fit on the rule's scores and the labels of the same rows."""
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(_finite(score), y.astype(float))
        return cls(iso)

    def probability(self, score: np.ndarray) -> np.ndarray:
        """The calibrated probability of each score."""
        return np.clip(self.iso.predict(_finite(score)), 0.0, 1.0)


def _finite(score: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(score, dtype=float), nan=0.0, posinf=1e12, neginf=-1e12)


def fit_model(
    spec: ModelSpec, train: pl.DataFrame, calib: pl.DataFrame, *, C: float = 0.3
) -> FittedModel:
    """Fit the pipeline on `train` and its Platt calibration on the later `calib` slice; the
    rule's score is calibrated on both slices (isotonic)."""
    pipeline = build_pipeline(spec, C=C)
    y = train["label"].to_numpy()
    pipeline.fit(model_input(spec, train), y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid")
    calibrated.fit(model_input(spec, calib), calib["label"].to_numpy())
    prep = pipeline.named_steps["prep"]
    z = np.asarray(prep.transform(model_input(spec, train)), dtype=float)
    groups = feature_groups(spec, prep)
    return FittedModel(
        spec,
        pipeline,
        calibrated,
        z.mean(axis=0),
        groups,
        rule_rates(spec, train),
        rule=fit_rule(spec, train, calib),
    )


def rule_rates(spec: ModelSpec, train: pl.DataFrame) -> tuple[float, float]:
    """The training rate of events when the rule's flag is off, and on."""
    y = train["label"].to_numpy()
    flag = spec.baseline_flag(train)
    return (
        float(y[~flag].mean()) if (~flag).any() else float(y.mean()),
        float(y[flag].mean()) if flag.any() else float(y.mean()),
    )


def fit_rule(spec: ModelSpec, train: pl.DataFrame, calib: pl.DataFrame) -> RuleCalibration:
    """The rule's score calibrated on the training and calibration rows together."""
    both = pl.concat([train, calib], how="vertical_relaxed")
    return RuleCalibration.fit(spec.baseline_score(both), both["label"].to_numpy())
