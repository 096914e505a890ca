"""Scoring: the active models score today's item-locations and open order lines.

`refresh_risk` is the post-load step `risk`: it trains a model that does not
exist yet or is older than the retrain interval (`Settings.risk_retrain_days`,
a week by default; when the history allows), so most runs only score; it
scores with the active models, writes `risk.stockout_scores` and
`risk.late_order_scores` in one transaction, and mirrors the model cards to
`risk.models`. A full refresh replaces every score; a delta replaces only the
scores of the item-locations and open lines whose inputs it touched
(`risk.touched`). The exception rule `stockout_risk` then reads the stockout
scores.

Value at risk of an item-location (money): the units expected to be short
over the horizon plus the item's lead time, at the recent daily demand,

    max(daily_demand x (horizon_days + lead_time_days) - max(available, 0), 0) x unit_price

(open purchase orders are not netted: whether they arrive in time is what the
probability weighs). `risk_value` = probability x value_at_risk ranks the
planner's queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from control_tower.risk import features as F
from control_tower.risk.champion import ranked_by, rule_driver
from control_tower.risk.frames import registered
from control_tower.risk.model import DEFAULT_HORIZON, MODELS, InsufficientHistory, RiskModel
from control_tower.risk.store import NoModelError, active_card, load_model, model_file, sync_models
from control_tower.risk.touched import (
    LATE_SCOPE,
    STATE,
    STOCKOUT_SCOPE,
    Plan,
    no_keys,
    plan_rescore,
    save_fingerprints,
    stored_stamp,
)
from control_tower.settings import clock
from control_tower.storage.changes import Changes

log = logging.getLogger(__name__)

STOCKOUT_COLUMNS = (
    "item_id",
    "location_id",
    "entity_id",
    "as_of",
    "horizon_days",
    "probability",
    "baseline_flag",
    "available_qty",
    "on_hand_qty",
    "daily_demand",
    "days_of_cover",
    "lead_time_days",
    "inbound_qty",
    "next_receipt_date",
    "unit_cost",
    "value_at_risk",
    "risk_value",
    "drivers",
    "model_version",
    "ranked_by",
    "scored_at",
)
LATE_COLUMNS = (
    "order_id",
    "line_no",
    "entity_id",
    "location_id",
    "customer_id",
    "item_id",
    "first_promised_date",
    "probability",
    "baseline_flag",
    "value",
    "drivers",
    "model_version",
    "ranked_by",
    "as_of",
    "scored_at",
)


def _ranking(fitted: RiskModel, card: dict[str, Any], df: pl.DataFrame) -> dict[str, pl.Series]:
    """The probability that ranks, its drivers and which ranked, per the card's champion: the
    model's calibrated probability and drivers, or the rule's calibrated score and a driver
    saying that the rule ranks and why (both figures)."""
    if ranked_by(card) == "rule" and fitted.rule is not None:
        prob = fitted.baseline_probability(df)
        driver = json.dumps([rule_driver(card)])
        drivers = [driver] * len(df)
        by = "rule"
    else:
        prob = fitted.probability(df)
        drivers = [json.dumps(d) for d in fitted.drivers(df)]
        by = "model"
    return {
        "probability": pl.Series(prob, dtype=pl.Float64),
        "drivers": pl.Series(drivers, dtype=pl.String),
        "ranked_by": pl.Series([by] * len(df), dtype=pl.String),
    }


def score_stockout(
    con: duckdb.DuckDBPyConnection,
    fitted: RiskModel,
    card: dict[str, Any],
    *,
    as_of: date,
    scored_at: datetime,
    points: pl.DataFrame | None = None,
    item_locations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Scores of every item-location (or of `item_locations`) at its location's latest
    snapshot on or before `as_of` (`points`, when the caller has them)."""
    horizon = _horizon(card)
    if points is None:
        points = F.latest_points(con, as_of)
    df = F.stockout_frame(con, points, horizon=horizon, item_locations=item_locations)
    if df.is_empty():
        return pl.DataFrame(schema=list(STOCKOUT_COLUMNS))
    short = (
        pl.col("daily_demand") * (horizon + pl.col("lead_time_days").fill_null(0))
        - pl.col("available_qty").clip(0, None)
    ).clip(0, None)
    return (
        df.with_columns(
            as_of=pl.lit(as_of),
            horizon_days=pl.lit(horizon, dtype=pl.Int32),
            baseline_flag=pl.Series(fitted.spec.baseline_flag(df)),
            value_at_risk=short * pl.col("unit_price").fill_null(0),
            **_ranking(fitted, card, df),
            model_version=pl.lit(card["version"]),
            scored_at=pl.lit(scored_at),
        )
        .with_columns(risk_value=pl.col("probability") * pl.col("value_at_risk"))
        .select(STOCKOUT_COLUMNS)
    )


def score_late_orders(
    con: duckdb.DuckDBPyConnection,
    fitted: RiskModel,
    card: dict[str, Any],
    *,
    as_of: date,
    scored_at: datetime,
    lines: pl.DataFrame | None = None,
    groups: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Scores of every order line (or of `lines`) open at `as_of` whose first promise is
    still ahead; `groups` are the day's `late_groups` when the caller has them."""
    df = F.late_frame(con, [as_of], lines=lines, groups=groups)
    if df.is_empty():
        return pl.DataFrame(schema=list(LATE_COLUMNS))
    return df.with_columns(
        baseline_flag=pl.Series(fitted.spec.baseline_flag(df)),
        value=pl.col("line_value"),
        **_ranking(fitted, card, df),
        model_version=pl.lit(card["version"]),
        as_of=pl.lit(as_of),
        scored_at=pl.lit(scored_at),
    ).select(LATE_COLUMNS)


@dataclass
class RiskReport:
    """What one risk refresh did."""

    as_of: date
    trained: list[str] = field(default_factory=list)
    not_trained: dict[str, str] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)  # the model's scores after the refresh
    rescored: dict[str, int] = field(default_factory=dict)  # of them, written by a delta
    versions: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the run log."""
        parts = [
            f"{n} {m} scores ({self.versions[m]}"
            + (f", {self.rescored[m]} rescored" if m in self.rescored else "")
            + ")"
            for m, n in self.scored.items()
        ]
        text = "; ".join(parts) if parts else "no risk scores"
        if self.trained:
            text += f"; trained {', '.join(self.trained)}"
        for model, why in self.not_trained.items():
            text += f"; {model} not trained: {why}"
        return text


_TABLES = {"stockout": "risk.stockout_scores", "late_order": "risk.late_order_scores"}


def stale(card: dict[str, Any] | None, now: datetime, retrain_days: float | None) -> bool:
    """Whether a model is due for training: none yet, or trained `retrain_days` or more before
    `now` (naive UTC, like the card's `trained_at`); never by age when `retrain_days` is None."""
    if card is None:
        return True
    if retrain_days is None:
        return False
    return now - datetime.fromisoformat(card["trained_at"]) >= timedelta(days=retrain_days)


def _horizon(card: dict[str, Any]) -> int:
    return int(card.get("horizon_days") or DEFAULT_HORIZON)


def _stamp(models_dir: Path, card: dict[str, Any], as_of: date) -> str:
    """What scores are made with: the model's version and file content, the day, the horizon."""
    digest = hashlib.sha256(model_file(models_dir, card["version"]).read_bytes()).hexdigest()
    return f"{card['version']}|{digest[:16]}|{as_of.isoformat()}|{_horizon(card)}"


def _rescore(
    con: duckdb.DuckDBPyConnection,
    model: str,
    fitted: RiskModel,
    card: dict[str, Any],
    stamp: str,
    changes: Changes,
    *,
    as_of: date,
    scored_at: datetime,
) -> tuple[Plan, pl.DataFrame]:
    """Which of `model`'s keys this run rescores, and their new scores."""
    if model == "stockout":
        points = F.latest_points(con, as_of)
        plan = plan_rescore(
            con, STOCKOUT_SCOPE, changes, stamp=stamp, views={"risk_points": points}
        )
        if plan.keys is not None and plan.keys.is_empty():
            return plan, pl.DataFrame(schema=list(STOCKOUT_COLUMNS))
        return plan, score_stockout(
            con,
            fitted,
            card,
            as_of=as_of,
            scored_at=scored_at,
            points=points,
            item_locations=plan.keys,
        )
    scope = LATE_SCOPE
    idle = not changes.full and stored_stamp(con, model) == stamp
    if idle and not changes.touches(scope.tables):
        return Plan(model, stamp, no_keys(scope)), pl.DataFrame(schema=list(LATE_COLUMNS))
    groups = F.late_groups(con, [as_of])
    plan = plan_rescore(
        con,
        scope,
        changes,
        stamp=stamp,
        views={"risk_groups": groups},
        params={"t": as_of.isoformat()},
    )
    if plan.keys is not None and plan.keys.is_empty():
        return plan, pl.DataFrame(schema=list(LATE_COLUMNS))
    return plan, score_late_orders(
        con, fitted, card, as_of=as_of, scored_at=scored_at, lines=plan.keys, groups=groups
    )


def _write(con: duckdb.DuckDBPyConnection, table: str, plan: Plan, df: pl.DataFrame) -> None:
    """Replace the rescored keys of `table` (all of them on a full refresh) with `df`."""
    if plan.keys is None:
        con.execute(f"DELETE FROM {table}")  # only the latest scores are kept
    elif not plan.keys.is_empty():
        on = " AND ".join(f"{table}.{c} = k.{c}" for c in plan.keys.columns)
        with registered(con, "risk_rescored", plan.keys):
            con.execute(f"DELETE FROM {table} USING risk_rescored AS k WHERE {on}")
    if not df.is_empty():
        with registered(con, "risk_scored", df):
            cols = ", ".join(df.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM risk_scored")
    save_fingerprints(con, plan)


def refresh_risk(
    con: duckdb.DuckDBPyConnection,
    models_dir: Path,
    *,
    as_of: date,
    train_if_missing: bool = True,
    retrain_days: float | None = None,
    now: datetime | None = None,
    changes: Changes | None = None,
) -> RiskReport:
    """Train missing models, and those `retrain_days` old or more (if the history allows),
    score with the active ones, write the tables. A model that cannot be retrained for
    lack of history keeps scoring.

    With `changes` a delta (default: a full refresh), only the item-locations and open lines
    it touched are rescored (`risk.touched`); a model trained in this run, or another model
    or day than the stored scores were made with, rescores everything. Training follows its
    schedule only: what a run loaded never causes it."""
    from control_tower.risk.training import train_model

    changes = changes or Changes.full_refresh("requested")
    now = (now or clock()).astimezone(UTC).replace(tzinfo=None)
    report = RiskReport(as_of)
    results: dict[str, tuple[Plan, pl.DataFrame]] = {}
    for model in MODELS:
        card = active_card(models_dir, model)
        why = changes
        if train_if_missing and stale(card, now, retrain_days):
            try:
                train_model(con, models_dir, model, now=now)
                report.trained.append(model)
                why = Changes.full_refresh("the model was trained")
            except InsufficientHistory as exc:
                report.not_trained[model] = str(exc)
        try:
            fitted, card = load_model(models_dir, model)
        except NoModelError:
            report.not_trained.setdefault(model, "no model; run `control-tower risk train`")
            continue
        stamp = _stamp(models_dir, card, as_of)
        results[model] = _rescore(con, model, fitted, card, stamp, why, as_of=as_of, scored_at=now)
        report.versions[model] = card["version"]
    con.execute("BEGIN TRANSACTION")
    try:
        for model, table in _TABLES.items():
            if model in results:
                plan, df = results[model]
                _write(con, table, plan, df)
                if not plan.full:
                    report.rescored[model] = len(df)
                report.scored[model] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            else:  # no model: no scores
                con.execute(f"DELETE FROM {table}")
                con.execute(f"DELETE FROM {STATE} WHERE model = ?", [model])
        sync_models(con, models_dir)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return report
