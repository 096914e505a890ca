"""Sources: where a pipeline run's deliveries come from, all landed the same way.

A `Source` lands its deliveries through the run's `Ledger` and yields one
`BatchResult` per batch. The pipeline loops over a list of sources (the
inbox first, then each enabled source mapping) without knowing their kind.
A source checks `run.stop_requested()` before each delivery, so a stop
finishes the delivery in progress and lands nothing after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb

from control_tower.landing.batch import land_file
from control_tower.landing.files import discover
from control_tower.landing.ledger import Ledger
from control_tower.landing.progress import ProgressFn
from control_tower.landing.records import BatchResult


@dataclass
class LandingRun:
    """What every source of one run shares: the ledger, the folders files move to, the stop flag."""

    ledger: Ledger
    archive: Path
    rejected: Path
    keep: bool = False  # leave files where they are (nothing archived or set aside)
    progress: ProgressFn | None = None
    should_stop: Callable[[], bool] = lambda: False
    stopped_early: bool = False

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The writer connection every batch of the run lands on."""
        return self.ledger.con

    @property
    def run_id(self) -> str:
        """The run the batches belong to."""
        return self.ledger.run_id

    def stop_requested(self) -> bool:
        """Whether to stop before the next delivery (remembered on the run once asked for)."""
        if not self.stopped_early and self.should_stop():
            self.stopped_early = True
        return self.stopped_early


class Source(Protocol):
    """A source of deliveries: canonical inbox files, a file mapping, a database pull..."""

    def land(self, run: LandingRun) -> Iterator[BatchResult]:
        """Land every waiting delivery, yielding each batch's result as it finishes."""
        ...


@dataclass(frozen=True)
class InboxSource:
    """Canonical extracts in `inbox/{erp,wms,tms}/`, one batch per file, in load order."""

    inbox: Path

    def land(self, run: LandingRun) -> Iterator[BatchResult]:
        """Land each waiting file, moving it to the archive (or aside, with its reason)."""
        for item in discover(self.inbox):
            if run.stop_requested():
                return
            yield land_file(
                run.con,
                item,
                run_id=run.run_id,
                archive=run.archive,
                rejected=run.rejected,
                keep=run.keep,
                progress=run.progress,
                ledger=run.ledger,
            )
