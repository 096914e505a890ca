"""The risk step in the pipeline, the scores it writes, the exception it drives, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.landing.ingest import IngestReport
from control_tower.risk.score import refresh_risk
from control_tower.settings import load_settings
from control_tower.storage import ServingStore
from pipelines.steps import POST_LOAD_STEPS, StepContext
from tests.support.demo_data import DEMO_AS_OF as AS_OF


def test_risk_runs_before_the_exceptions_that_read_it() -> None:
    names = [s.name for s in POST_LOAD_STEPS]
    assert names.index("risk") < names.index("exceptions")


def test_the_pipeline_trained_both_models_and_published_the_cards(landed: Path) -> None:
    cards = sorted(p.name for p in (landed / "models").glob("*.json"))
    assert [c.split("-")[0] for c in cards] == ["late_order", "stockout"]
    store = ServingStore(landed / "serving")
    try:
        with store.cursor() as cur:
            models = cur.execute(
                "SELECT model, active, metrics, features FROM risk.models ORDER BY model"
            ).fetchall()
            assert cur.execute("SELECT count(*) FROM risk.stockout_scores").fetchall()[0][0] > 0
    finally:
        store.close()
    assert [(m, a) for m, a, _, _ in models] == [("late_order", True), ("stockout", True)]
    for _, _, metrics, features in models:
        assert set(json.loads(metrics)) == {"model", "baseline"}
        assert set(json.loads(metrics)["baseline"]) >= {
            "roc_auc",
            "average_precision",
            "brier",
            "precision_at_k",
            "k",
        }
        assert json.loads(features)


def test_scoring_writes_both_tables_and_drives_the_stockout_exception(home: Path) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        report = refresh_risk(con, home / "models", as_of=AS_OF, train_if_missing=False)
        assert report.scored["stockout"] == 753
        assert report.scored["late_order"] > 0
        top = con.execute(
            "SELECT probability, value_at_risk, risk_value, drivers, as_of FROM risk.stockout_scores "
            "ORDER BY risk_value DESC LIMIT 1"
        ).fetchall()[0]
        assert top[2] == top[0] * top[1]
        assert top[4] == AS_OF
        assert json.loads(top[3])[0]["direction"] in ("raises", "lowers")
        late = con.execute(
            "SELECT min(first_promised_date), count(*) FILTER (WHERE drivers IS NULL) "
            "FROM risk.late_order_scores"
        ).fetchall()[0]
        assert late == (late[0], 0)
        assert late[0] > AS_OF
        rule = EXCEPTION_TYPES["stockout_risk"]
        rows = con.execute(rule.rule, rule.bindings(as_of=AS_OF, now=None)).fetchall()
        high = con.execute(
            "SELECT count(*) FROM risk.stockout_scores WHERE probability >= 0.5"
        ).fetchall()[0][0]
        assert len(rows) == high
        assert all(json.loads(r[4])["source"] == "model" for r in rows)
        assert {r[0] for r in rows} <= {
            f"{loc}|{item}"
            for loc, item in con.execute(
                "SELECT location_id, item_id FROM risk.stockout_scores"
            ).fetchall()
        }
        # a day without scores falls back to the cover rule
        fallback = con.execute(rule.rule, rule.bindings(as_of="2026-03-14", now=None)).fetchall()
        assert fallback
        assert "source" not in json.loads(fallback[0][4])
    finally:
        con.close()


def test_cli_evaluate_json_and_score_without_a_model(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(home), "risk", "evaluate", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [c["model"] for c in out] == ["stockout", "late_order"]
    for card in out:
        assert set(card["metrics"]) == {"model", "baseline"}
        assert card["train_window"]["end"] < card["test_window"]["start"]
    for path in (home / "models").iterdir():
        path.unlink()
    result = runner.invoke(main, ["--home", str(home), "risk", "score"])
    assert result.exit_code != 0
    assert "no trained risk model" in result.output
    assert "control-tower risk train" in result.output


def _risk_step_at(home: Path, now: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The pipeline's risk step on the copy `home`, with the product clock at `now`."""
    monkeypatch.setenv("CONTROL_TOWER_NOW", now)
    settings = load_settings(home)
    step = next(s for s in POST_LOAD_STEPS if s.name == "risk")
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        return step.run(StepContext(settings, con, "run-risk", IngestReport(), as_of=AS_OF))
    finally:
        con.close()


def test_the_risk_step_retrains_only_a_model_older_than_the_interval(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def versions() -> list[str]:
        return sorted(p.stem for p in (home / "models").glob("*.json"))

    trained = versions()  # by the landing run, at the suite's clock (2026-03-18 11:00)
    monkeypatch.setenv("CONTROL_TOWER_RISK_RETRAIN_DAYS", "7")
    # a later run within the week scores with the stored models, trains nothing
    summary = _risk_step_at(home, "2026-03-24T11:00:00Z", monkeypatch)
    assert "trained" not in summary
    assert "753 stockout scores" in summary
    assert versions() == trained
    # a week and a day later the models are due: both are retrained once, then used
    summary = _risk_step_at(home, "2026-03-26T11:00:00Z", monkeypatch)
    assert "trained stockout, late_order" in summary
    new = [v for v in versions() if v not in trained]
    assert sorted(v.split("-", 1)[1][:8] for v in new) == ["20260326", "20260326"]
    assert _risk_step_at(home, "2026-03-27T11:00:00Z", monkeypatch).count("trained") == 0
    assert len(versions()) == 4
