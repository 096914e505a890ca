"""A pipeline run lands a list of sources in order, whatever their kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from control_tower.landing import BatchResult, Delivery, InboxSource, LandingRun, Source
from control_tower.settings import load_settings
from control_tower.storage import ServingStore
from pipelines import run as run_module
from pipelines.run import run_pipeline
from tests.support.tiny_inbox import write_master

CUSTOMER = {
    "customer_id": "C9",
    "name": "Feed Customer",
    "segment": "retail",
    "priority_tier": "2",
    "region": "US",
    "updated_at": "2026-02-01T00:00:00Z",
}


@dataclass
class FeedSource:
    """A source of customer rows from no file at all: one batch per feed."""

    feeds: list[list[dict[str, str]]]
    landed: list[str] = field(default_factory=list)

    def land(self, run: LandingRun) -> Iterator[BatchResult]:
        ledger = run.ledger
        for n, rows in enumerate(self.feeds):
            if run.stop_requested():
                return
            batch = ledger.start(Delivery.of_rows(f"feed-{n}", "customers"))
            table = pa.Table.from_pylist(rows)
            [result] = ledger.land_together(
                [batch], lambda b=batch, t=table: [ledger.land_rows(b, t)]
            )
            self.landed.append(batch.delivery.name)
            yield result


def test_a_run_lands_every_source_in_order_and_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    feed = FeedSource([[CUSTOMER], [{**CUSTOMER, "customer_id": "C10", "priority_tier": "x"}]])

    def sources(_settings: object, inbox: Path) -> list[Source]:
        return [InboxSource(inbox), feed]

    monkeypatch.setattr(run_module, "sources", sources)
    report = run_pipeline(settings, trigger="cli")
    batches = report.ingest.batches
    assert [(b.table, b.status) for b in batches] == [
        ("locations", "loaded"),
        ("items", "loaded"),
        ("customers", "loaded"),
        ("customers", "loaded"),
        ("customers", "loaded"),
    ]
    assert [b.file.name for b in batches[-2:]] == ["feed-0", "feed-1"]
    assert batches[-1].rows_quarantined == 1
    assert report.published
    store = ServingStore(settings.serving_dir)
    with store.cursor() as cur:
        customers = cur.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()
        quarantined = cur.execute(
            "SELECT file_name, source_line, column_name FROM ops.quarantine"
        ).fetchall()
    store.close()
    assert customers == [("C1",), ("C9",)]
    assert quarantined == [("feed-1", 1, "priority_tier")]


def test_a_stop_request_finishes_the_delivery_in_progress_and_lands_nothing_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(tmp_path)
    first = FeedSource([[CUSTOMER], [{**CUSTOMER, "customer_id": "C10"}]])
    second = FeedSource([[{**CUSTOMER, "customer_id": "C11"}]])
    monkeypatch.setattr(run_module, "sources", lambda _settings, _inbox: [first, second])
    report = run_pipeline(settings, trigger="cli", should_stop=lambda: bool(first.landed))
    assert first.landed == ["feed-0"]
    assert second.landed == []
    assert report.ingest.stopped_early
    assert report.status == "stopped"
    assert [b.status for b in report.ingest.batches] == ["loaded"]
