"""The stockout risk model as the planner sees it: whether it has scored, its card (accuracy
in plain words, from `risk.models`), the newest score of an item-location, and the drivers
behind a score in a few words."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb

from control_tower.planning.sql import records, table_exists

SCORE_COLUMNS = (
    "item_id, location_id, entity_id, as_of, horizon_days, probability, baseline_flag, "
    "available_qty, on_hand_qty, daily_demand, days_of_cover, lead_time_days, inbound_qty, "
    "next_receipt_date, unit_cost, value_at_risk, risk_value, drivers, model_version"
)


def parse_drivers(raw: Any) -> list[dict[str, Any]]:
    """The drivers JSON of a score as a list of dicts (empty when missing or unreadable)."""
    if not raw:
        return []
    try:
        drivers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(drivers, list):
        return []
    return [d for d in drivers if isinstance(d, dict) and (d.get("label") or d.get("feature"))]


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def driver_text(driver: dict[str, Any]) -> str:
    """A driver in a few words: ↑ raises / ↓ lowers, its label and value; "≈" marks an
    approximate driver (a boosted model's); the rule, when it ranks, says so (`→`)."""
    label = driver.get("label") or driver.get("feature") or "?"
    if driver.get("feature") == "rule":
        return f"→ {label}"
    arrow = "↑" if driver.get("direction") == "raises" else "↓"
    value = _fmt_value(driver.get("value"))
    approx = "≈ " if driver.get("approximate") else ""
    return f"{arrow} {approx}{label}" + (f" {value}" if value else "")


def reasons(drivers: Sequence[dict[str, Any]], top: int = 3) -> str:
    """The top drivers as one short line."""
    return " · ".join(driver_text(d) for d in drivers[:top])


def active_model(cur: duckdb.DuckDBPyConnection, model: str = "stockout") -> dict[str, Any] | None:
    """The active model's row of `risk.models` (metrics and features parsed), or None."""
    if not table_exists(cur, "risk", "models"):
        return None
    rows = records(
        cur,
        "SELECT model, version, trained_at, train_start, train_end, test_start, test_end, "
        "metrics, features, card FROM risk.models WHERE model = ? AND active "
        "ORDER BY trained_at DESC LIMIT 1",
        [model],
    )
    if not rows:
        return None
    row = rows[0]
    for name in ("metrics", "features", "card"):
        try:
            row[name] = json.loads(row[name]) if row[name] else None
        except (TypeError, ValueError):
            row[name] = None
    return row


def _month(value: Any) -> str:
    return f"{value:%Y-%m}" if isinstance(value, date) else "?"


def describe_model(
    card: dict[str, Any], events: str = "stockouts", rule: str = "the days-of-cover rule"
) -> str:
    """The active model's accuracy in plain words, numbers from `risk.models`."""
    metrics = card.get("metrics") or {}
    model = metrics.get("model") or {}
    base = metrics.get("baseline") or {}
    trained = card.get("trained_at")
    full = card.get("card") or {}
    champion = full.get("champion") or {}
    if champion.get("ranked_by") == "rule":
        return (
            f"Ranked by {rule}, not the model: on the later unseen weeks model "
            f"{full.get('version') or card.get('version') or '?'} did not beat it "
            f"({_versus(champion)})"
        )
    text = f"Model {card.get('version') or '?'}"
    if isinstance(trained, datetime | date):
        text += f" trained {trained:%Y-%m-%d}"
    if card.get("train_start") and card.get("train_end"):
        text += f" on {_month(card['train_start'])}..{_month(card['train_end'])}"
    parts = []
    if model.get("roc_auc") is not None:
        part = f"it ranks {events} with ROC AUC {model['roc_auc']:.2f}"
        if base.get("roc_auc") is not None:
            part += f" vs {base['roc_auc']:.2f} for {rule}"
        parts.append(part)
    if model.get("precision_at_k") is not None:
        k = model.get("k")
        part = f"precision of the top {k}: " if k else "precision at the top: "
        part += f"{model['precision_at_k']:.0%}"
        if base.get("precision_at_k") is not None:
            part += f" vs {base['precision_at_k']:.0%}"
        parts.append(part)
    if parts:
        text += "; on the later unseen period " + "; ".join(parts)
    if full.get("candidate") == "gradient_boosting":
        text += "; gradient boosting: its drivers are approximations (≈)"
    return text


def _versus(champion: dict[str, Any]) -> str:
    """The model's figures beside the rule's, as the champion decision recorded them."""
    m, r = champion.get("model_metrics") or {}, champion.get("rule_metrics") or {}
    names = (("average_precision", "average precision"), ("brier", "Brier"), ("roc_auc", "ROC AUC"))
    out = []
    for key, name in names:
        if m.get(key) is not None and r.get(key) is not None:
            digits = 4 if key == "brier" else 3
            out.append(f"{name} {m[key]:.{digits}f} vs {r[key]:.{digits}f} for the rule")
    return "; ".join(out) or "no figures recorded"


def scores_ready(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the risk model has scored anything (the table exists and has rows)."""
    if not table_exists(cur, "risk", "stockout_scores"):
        return False
    return cur.execute("SELECT 1 FROM risk.stockout_scores LIMIT 1").fetchone() is not None


def item_score(
    cur: duckdb.DuckDBPyConnection, location_id: str, item_id: str
) -> dict[str, Any] | None:
    """The newest model score of an item-location (call after checking scope), or None."""
    if not scores_ready(cur):
        return None
    rows = records(
        cur,
        f"SELECT {SCORE_COLUMNS} FROM risk.stockout_scores WHERE location_id = ? AND item_id = ? "
        "ORDER BY as_of DESC, horizon_days LIMIT 1",
        [location_id, item_id],
    )
    if not rows:
        return None
    rows[0]["drivers"] = parse_drivers(rows[0]["drivers"])
    return rows[0]
