"""Every pipeline run delivers the action outbox, even a run with nothing new to land."""

from __future__ import annotations

from pathlib import Path

from control_tower.actions.store import ActionRequest
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import load_settings, utc_now
from pipelines.run import run_pipeline
from tests.support.action_outbox import TRANSFER, approved_request
from tests.support.tiny_inbox import write_master


def test_a_run_with_nothing_new_delivers_an_approved_request(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home")
    write_master(settings.inbox)
    run_pipeline(settings, trigger="cli")
    with ExceptionStore.open(settings.app_db_url) as store:
        request = approved_request(store, "stock_transfer", TRANSFER, at=utc_now())
        quiet = run_pipeline(settings, trigger="scheduler")
        assert quiet.ingest.batches == []
        assert quiet.steps == []  # nothing landed: no post-load step ran
        with store.session() as s:
            assert s.get_one(ActionRequest, request.id).status == "sent"
    folder = settings.home / "outbox" / "erp"
    assert sorted(p.suffix for p in folder.glob(f"*{request.request_uid}*")) == [".csv", ".json"]
