"""Champion and challenger: the model ranks only where it beats its rule on unseen weeks.

Every retrain measures the model and its rule on the same later window that neither
saw. The model is the champion, and ranks the pages and drives the exceptions, when
it is better on the measures that matter:

- average precision higher than the rule's (the queue's ranking where events are few),
- Brier score lower (its probabilities are closer to what happened; the rule's score
  is calibrated to a probability too, so the two are comparable), and
- ROC AUC not lower.

Otherwise the rule is the champion: the rule's score, calibrated to a probability on
the training weeks, ranks, and the pages say so with both figures. The decision, its
reason and both sets of figures are on the model card (`card["champion"]`).
"""

from __future__ import annotations

from typing import Any

RULE_NAMES = {"stockout": "the days-of-cover rule", "late_order": "the no-stock rule"}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def decide(model: str, measured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The champion of `model` from the test-window figures `measured` ({"model": {...},
    "baseline": {...}}, as `metrics` gives them): "model" or "rule", with the reason."""
    m, r = measured["model"], measured["baseline"]
    rule = RULE_NAMES.get(model, "the rule")
    shortfalls = []
    ap, ap_rule = m.get("average_precision"), r.get("average_precision")
    brier, brier_rule = m.get("brier"), r.get("brier")
    auc, auc_rule = m.get("roc_auc"), r.get("roc_auc")
    if ap is None or ap_rule is None or ap <= ap_rule:
        shortfalls.append(f"average precision {_fmt(ap)} vs {_fmt(ap_rule)}")
    if brier is None or brier_rule is None or brier >= brier_rule:
        shortfalls.append(f"Brier {_fmt(brier, 4)} vs {_fmt(brier_rule, 4)}")
    if auc is None or auc_rule is None or auc < auc_rule:
        shortfalls.append(f"ROC AUC {_fmt(auc)} vs {_fmt(auc_rule)}")
    figures = (
        f"average precision {_fmt(ap)} vs {_fmt(ap_rule)}, Brier {_fmt(brier, 4)} vs "
        f"{_fmt(brier_rule, 4)}, ROC AUC {_fmt(auc)} vs {_fmt(auc_rule)}"
    )
    if shortfalls:
        reason = (
            f"ranked by {rule}: on the later unseen weeks the model did not beat it ("
            + "; ".join(f"model {s}" for s in shortfalls)
            + ")"
        )
        ranked_by = "rule"
    else:
        reason = f"ranked by the model: it beat {rule} on the later unseen weeks (model {figures})"
        ranked_by = "model"
    return {
        "ranked_by": ranked_by,
        "reason": reason,
        "rule": rule,
        "model_metrics": {k: m.get(k) for k in ("average_precision", "brier", "roc_auc")},
        "rule_metrics": {k: r.get(k) for k in ("average_precision", "brier", "roc_auc")},
        "criteria": (
            "the model ranks when its average precision is higher, its Brier score lower and "
            "its ROC AUC not lower than the rule's on the test window"
        ),
    }


def ranked_by(card: dict[str, Any] | None) -> str:
    """What ranks a model's scores per its card: "model" or "rule" (a card from before the
    champion decision: the model)."""
    if not card:
        return "model"
    return str((card.get("champion") or {}).get("ranked_by") or "model")


def rule_driver(card: dict[str, Any]) -> dict[str, Any]:
    """The one driver a score ranked by the rule shows: the rule, and why it ranks."""
    champion = card.get("champion") or {}
    m, r = champion.get("model_metrics") or {}, champion.get("rule_metrics") or {}
    rule = champion.get("rule") or "the rule"
    label = (
        f"Ranked by {rule}: model average precision {_fmt(m.get('average_precision'))} vs rule "
        f"{_fmt(r.get('average_precision'))}, Brier {_fmt(m.get('brier'), 4)} vs "
        f"{_fmt(r.get('brier'), 4)}"
    )
    return {
        "feature": "rule",
        "label": label,
        "value": None,
        "effect": 0.0,
        "direction": "raises",
    }
