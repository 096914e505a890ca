"""`control-tower outbox send` delivers approved requests now; `outbox list` shows what waits."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from control_tower.cli import main
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings, utc_now
from tests.support.action_outbox import TRANSFER, approved_request


def test_send_delivers_and_list_shows_what_waits(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    settings = load_settings(home)
    with ExceptionStore.open(settings.app_db_url) as store:
        request = approved_request(store, "stock_transfer", TRANSFER, at=utc_now())
    # a webhook nobody listens at: the files are written, the post waits for a retry
    monkeypatch.setenv("CONTROL_TOWER_ACTION_WEBHOOK_URL", "http://127.0.0.1:9/actions")
    monkeypatch.setenv("CONTROL_TOWER_ACTION_WEBHOOK_SECRET", "a-secret-of-16-chars")
    monkeypatch.setattr("control_tower.exceptions.notify.time.sleep", lambda _s: None)
    runner = CliRunner()
    sent = runner.invoke(main, ["--home", str(home), "outbox", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 requests, 1 deliveries made, 1 failed (retried later)" in sent.output
    assert (home / "outbox" / "erp" / f"stock_transfer_{request.request_uid}.csv").is_file()
    listed = runner.invoke(main, ["--home", str(home), "outbox", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["request_uid"], row["channel"], row["status"]) == (
        request.request_uid,
        "webhook",
        "pending",
    )
    assert "Connection refused" in row["error"] or "URLError" in row["error"]


def test_a_webhook_without_its_secret_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONTROL_TOWER_ACTION_WEBHOOK_URL", "https://erp.example/actions")
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "outbox", "list"])
    assert result.exit_code != 0
    assert (
        "but CONTROL_TOWER_ACTION_WEBHOOK_SECRET is not: every action webhook post is signed"
        in result.output
    )
