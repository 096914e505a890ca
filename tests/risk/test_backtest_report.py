"""`risk backtest --weeks N` (the weekly retrain replayed) and the model page's week-by-week plot."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner
from dash import dcc, html

from control_tower.cli import main
from control_tower.planning import triage
from control_tower.risk.rolling import COLUMNS
from control_tower.web.risk_ui import CHAMPION_CHART
from control_tower.web.triage_views import model_note


def test_backtest_replays_each_week_with_model_and_rule_figures(landed: Path) -> None:
    runner = CliRunner()
    args = ["--home", str(landed), "risk", "backtest", "--weeks", "2", "--model", "late_order"]
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    weeks = json.loads(result.output)
    assert [list(w) for w in weeks] == [list(COLUMNS)] * 2
    cutoffs = [date.fromisoformat(w["cutoff"]) for w in weeks]
    assert cutoffs[1] - cutoffs[0] == timedelta(days=7)
    for week in weeks:
        assert week["model"] == "late_order"
        assert week["ranked_by"] in ("model", "rule")
        assert week["algorithm"] in ("logistic", "gradient_boosting")
        assert 0 < week["events"] < week["rows"]
        for key in ("model_ap", "rule_ap", "model_auc", "rule_auc", "model_brier", "rule_brier"):
            assert 0.0 <= week[key] <= 1.0, key
    bad = runner.invoke(main, [*args[:5], "0"])
    assert bad.exit_code != 0
    assert "--weeks" in bad.output


def _card(ranked_by: str) -> dict:
    weeks = [
        {"week_start": "2026-02-20", "model_ap": 0.62, "rule_ap": 0.66, "model_brier": 0.05},
        {"week_start": "2026-02-27", "model_ap": 0.60, "rule_ap": 0.64, "model_brier": 0.04},
    ]
    for w in weeks:
        w["rule_brier"] = 0.045
    champion = {
        "ranked_by": ranked_by,
        "weekly": weeks,
        "model_metrics": {"average_precision": 0.61, "brier": 0.045, "roc_auc": 0.90},
        "rule_metrics": {"average_precision": 0.65, "brier": 0.045, "roc_auc": 0.91},
    }
    full = {"version": "stockout-20260318T110000", "champion": champion}
    return {"version": full["version"], "metrics": {}, "card": full}


def _find(node: object, cls: type) -> list:
    found = [node] if isinstance(node, cls) else []
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found += _find(child, cls)
    return found


def test_the_model_note_plots_model_and_rule_week_by_week() -> None:
    queue = triage.Queue("model", [], 0, date(2026, 3, 18), 7)
    note = model_note(queue, _card("rule"))
    (graph,) = _find(note, dcc.Graph)
    assert graph.id == CHAMPION_CHART
    traces = graph.figure["data"]
    assert [t["name"] for t in traces] == [
        "model: average precision",
        "rule: average precision",
        "model: Brier (lower is better)",
        "rule: Brier (lower is better)",
    ]
    assert list(traces[1]["y"]) == [0.66, 0.64]
    assert list(traces[0]["x"]) == ["2026-02-20", "2026-02-27"]
    assert "the rule ranks" in graph.figure["layout"]["title"]["text"]
    (text,) = [
        s for s in _find(note, html.Span) if getattr(s, "id", None) == "planner-model-accuracy"
    ]
    assert text.children.startswith("Ranked by the days-of-cover rule, not the model")
    assert "average precision 0.610 vs 0.650" in text.children
    # a card without weekly figures (trained before they were kept) shows no plot
    old = _card("model")
    old["card"]["champion"].pop("weekly")
    assert not _find(model_note(queue, old), dcc.Graph)
