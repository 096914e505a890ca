"""Land every file waiting in an inbox, in load order, one batch per file."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from control_tower.landing.batch import BatchResult, land_file, mark_interrupted
from control_tower.landing.files import discover
from control_tower.landing.progress import ProgressFn


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


def _install_zones(con: duckdb.DuckDBPyConnection) -> None:
    """Time zone names the warehouse can convert (ICU's list, checked against Python's)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _zones AS SELECT name FROM pg_timezone_names() "
        "WHERE name IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(zoneinfo.available_timezones())],
    )


def land_inbox(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    *,
    run_id: str,
    archive: Path,
    rejected: Path,
    keep: bool = False,
    progress: ProgressFn | None = None,
    on_batch: Callable[[BatchResult], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> IngestReport:
    """Land every file in inbox/{erp,wms,tms}/; stops between files when `should_stop()`."""
    started = time.perf_counter()
    report = IngestReport(interrupted_before=mark_interrupted(con))
    _install_zones(con)
    for item in discover(inbox):
        if should_stop():
            report.stopped_early = True
            break
        result = land_file(
            con,
            item,
            run_id=run_id,
            archive=archive,
            rejected=rejected,
            keep=keep,
            progress=progress,
        )
        report.batches.append(result)
        if on_batch:
            on_batch(result)
    report.seconds = time.perf_counter() - started
    return report
