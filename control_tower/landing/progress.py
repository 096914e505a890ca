"""Progress of a long batch: the stage it is in and DuckDB's own estimate of the running query."""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb

# (file name, stage, percent of the running query or None when unknown)
ProgressFn = Callable[[str, str, float | None], None]


class ProgressWatcher:
    """Reports the current stage of one file, polling `query_progress()` from a side thread."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        file_name: str,
        callback: ProgressFn | None,
        interval: float = 0.25,
    ) -> None:
        self._con = con
        self._file = file_name
        self._callback = callback
        self._interval = interval
        self._stage = "starting"
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        if callback is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()

    def stage(self, name: str) -> None:
        """Enter a new stage (reading, validating, upserting…)."""
        self._stage = name
        if self._callback is not None:
            self._callback(self._file, name, None)

    def _poll(self) -> None:
        while not self._done.wait(self._interval):
            try:
                pct = self._con.query_progress()
            except duckdb.Error:
                continue
            if pct is not None and pct >= 0 and self._callback is not None:
                self._callback(self._file, self._stage, float(pct))

    def stop(self) -> None:
        """Stop polling (idempotent)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
