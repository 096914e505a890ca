"""The gradient-boosting challenger: `HistGradientBoostingClassifier` with approximate drivers.

Trees capture what an additive logistic model cannot (a low cover that matters only
when the next receipt is late, say), but their log-odds has no exact split into
per-feature parts that scikit-learn computes. So a boosted model's drivers are
**approximations**, labelled as such on every driver (`"approximate": true`) and on
the model card: a feature's effect is how much the row's log-odds falls when that
feature alone is set to its training reference (median, or most frequent category),

    effect_j(x) = logit(x) - logit(x with feature j := reference_j)

(occlusion). Effects of features that interact need not add up to the log-odds, so
"raises" reads "this value, against a typical one, raises the risk of this row".
The logistic model stays the explainable one (exact drivers); the boosted model is
used only when it measures better on the calibration window (`training.choose`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from control_tower.risk.model import ModelSpec, RiskModel, RuleCalibration, fit_rule, model_input
from control_tower.risk.model import rule_rates as _rule_rates

# The trees' OpenMP threads: one, so a fit never oversubscribes a machine that other steps share
# (with a thread per core on a busy host, a fit of seconds took minutes).
THREADS = 1
# Shallow, slow-learning trees with early stopping on a held-out tenth: few settings, chosen on
# the tuning seeds (1-4) only.
HGB_PARAMS = {
    "learning_rate": 0.05,
    "max_iter": 400,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.15,
    "n_iter_no_change": 20,
    "random_state": 0,
}


def build_boosted(spec: ModelSpec) -> Pipeline:
    """An unfitted pipeline: numbers as they are (missing values go down their own branch),
    categories as ordinal codes that the trees split as categories."""
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )
    prep = ColumnTransformer(
        [("num", "passthrough", list(spec.numeric)), ("cat", codes, list(spec.categorical))],
        verbose_feature_names_out=False,
    )
    n_num = len(spec.numeric)
    categorical = [n_num + i for i in range(len(spec.categorical))]
    clf = HistGradientBoostingClassifier(categorical_features=categorical or None, **HGB_PARAMS)
    return Pipeline([("prep", prep), ("clf", clf)])


@dataclass
class BoostedModel(RiskModel):
    """A fitted boosted pipeline, its Platt calibration and each feature's reference value."""

    spec: ModelSpec
    pipeline: Pipeline
    calibrated: CalibratedClassifierCV
    reference: dict[str, object]  # training median (numbers) or most frequent category
    baseline_rates: tuple[float, float]
    kind: str = "gradient_boosting"
    exact: bool = False
    rule: RuleCalibration | None = None

    def logit(self, df: pl.DataFrame) -> np.ndarray:
        """The trees' log-odds before calibration."""
        with threadpool_limits(limits=THREADS, user_api="openmp"):
            return self.pipeline.decision_function(model_input(self.spec, df))

    def probability(self, df: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of the event."""
        with threadpool_limits(limits=THREADS, user_api="openmp"):
            return super().probability(df)

    def effects(self, df: pl.DataFrame) -> np.ndarray:
        """Per row and feature, the drop in log-odds when the feature alone is set to its
        reference value (an approximation: see the module docstring)."""
        x = model_input(self.spec, df)
        out = np.empty((len(x), len(self.spec.features)))
        with threadpool_limits(limits=THREADS, user_api="openmp"):
            full = self.pipeline.decision_function(x)
            for j, name in enumerate(self.spec.features):
                ref = self.reference[name]
                dtype = pl.String if name in self.spec.categorical else pl.Float64
                moved = x.with_columns(pl.lit(ref, dtype=dtype).alias(name))
                out[:, j] = full - self.pipeline.decision_function(moved)
        return out


def fit_boosted(spec: ModelSpec, train: pl.DataFrame, calib: pl.DataFrame) -> BoostedModel:
    """Fit the boosted pipeline on `train`, Platt-calibrate it on the later `calib` slice."""
    pipeline = build_boosted(spec)
    x = model_input(spec, train)
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        pipeline.fit(x, train["label"].to_numpy())
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid")
        calibrated.fit(model_input(spec, calib), calib["label"].to_numpy())
    reference: dict[str, object] = {}
    for name in spec.numeric:
        med = x[name].median()
        reference[name] = float(med) if med is not None else 0.0
    for name in spec.categorical:
        reference[name] = x[name].mode().sort()[0]
    return BoostedModel(
        spec,
        pipeline,
        calibrated,
        reference,
        _rule_rates(spec, train),
        rule=fit_rule(spec, train, calib),
    )
