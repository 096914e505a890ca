"""One landing run: every source in turn, one batch per delivery, into one report."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from control_tower.landing.ledger import Ledger
from control_tower.landing.progress import ProgressFn
from control_tower.landing.records import BatchResult, mark_interrupted
from control_tower.landing.source import InboxSource, LandingRun, Source


@dataclass
class IngestReport:
    """The batches of one landing run."""

    batches: list[BatchResult] = field(default_factory=list)
    interrupted_before: int = 0  # batches of an earlier, killed run that were marked interrupted
    stopped_early: bool = False
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """Number of batches with this status."""
        return sum(1 for b in self.batches if b.status == status)

    @property
    def rows_loaded(self) -> int:
        """Rows inserted or updated across all batches."""
        return sum(b.counts.loaded for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        """Bad rows kept in quarantine across all batches."""
        return sum(b.rows_quarantined for b in self.batches)

    @property
    def changed(self) -> bool:
        """Whether anything new reached the warehouse."""
        return any(b.status in ("loaded", "rejected", "failed") for b in self.batches)


def install_zones(con: duckdb.DuckDBPyConnection) -> None:
    """Time zone names the warehouse can convert (ICU's list, checked against Python's)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _zones AS SELECT name FROM pg_timezone_names() "
        "WHERE name IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(zoneinfo.available_timezones())],
    )


def land_sources(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[Source],
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool = False,
    progress: ProgressFn | None = None,
    on_batch: Callable[[BatchResult], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> IngestReport:
    """Land every source in order; stops between deliveries when `should_stop()`.

    Batches a killed earlier run left `running` are marked `interrupted` first.
    """
    started = time.perf_counter()
    report = IngestReport(interrupted_before=mark_interrupted(con))
    install_zones(con)
    run = LandingRun(
        Ledger(con, run_id),
        archive,
        rejected,
        keep=keep,
        progress=progress,
        should_stop=should_stop,
    )
    for source in sources:
        if run.stopped_early:
            break
        for result in source.land(run):
            report.batches.append(result)
            if on_batch:
                on_batch(result)
    report.stopped_early = run.stopped_early
    report.seconds = time.perf_counter() - started
    return report


def land_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, **options: Any) -> IngestReport:
    """Land every file in inbox/{erp,wms,tms}/ (options as `land_sources`)."""
    return land_sources(con, [InboxSource(inbox)], **options)
