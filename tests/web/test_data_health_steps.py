"""The data-health page shows a failing post-load step: its error, failures and next try."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from control_tower.settings import load_settings
from control_tower.web import create_app
from control_tower.web.format import fmt_ts
from pipelines import steps
from pipelines.run import run_pipeline
from tests.support.dash_callbacks import callback_body
from tests.support.tiny_inbox import write_master
from tests.support.web_users import add_test_users, cheap_accounts, client_as

OUTPUTS = [
    ("data-health-asof", "children"),
    ("data-health-empty", "children"),
    ("data-health-body", "hidden"),
    ("data-health-kpis", "children"),
    ("data-health-scheduler", "children"),
    ("data-health-runs", "children"),
    ("data-health-freshness", "children"),
    ("data-health-snapshot", "data"),
]


def _broken(_ctx: steps.StepContext) -> str:
    raise OSError("No space left on device writing '/data/duckdb_tmp/x.tmp'")


def test_a_failing_step_is_listed_above_the_runs_with_its_error_and_next_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = [steps.Step("risk", _broken, "fails"), *steps.POST_LOAD_STEPS[:1]]
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", chosen)
    settings = load_settings(tmp_path)
    add_test_users(settings)
    write_master(settings.inbox)
    report = run_pipeline(settings, trigger="cli")
    assert report.steps[0].status == "failed"
    client = client_as(create_app(settings, accounts=cheap_accounts(settings)), "admin")
    body = callback_body(
        OUTPUTS,
        [("data-health-interval", "n_intervals", 1)],
        state=[("data-health-snapshot", "data", None)],
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    runs = json.dumps(response.get_json()["response"]["data-health-runs"])
    assert "Failing post-load steps" in runs
    assert "OSError: No space left on device writing '\\u2026'" in runs
    assert "/data/duckdb_tmp" not in runs
    assert "--retry-failed-steps" in runs
    assert "failed steps: risk" in runs
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    [(next_try,)] = con.execute(
        "SELECT next_try_at FROM ops.step_state WHERE step = 'risk'"
    ).fetchall()
    con.close()
    assert fmt_ts(next_try) in runs
