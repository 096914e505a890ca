"""The single-writer lock: only one process at a time may write the warehouse.

DuckDB itself refuses a second read-write open, but with an unhelpful
message and only once the file is opened. This lock is taken first and says
who holds it (pid, command, since when). With a PostgreSQL app database, shared
by several hosts, the writer also holds an advisory lock there (`storage.dblock`),
so two hosts never write the shared exception queue at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from control_tower.settings import PRIVATE_FILE_MODE, Settings, private_dir
from control_tower.storage.dblock import DatabaseWriterLock, uses_postgresql


class WriterBusyError(RuntimeError):
    """Another process holds the writer lock."""


class WriterLock:
    """An exclusive, non-blocking advisory lock on a file, released when the process dies."""

    def __init__(self, path: Path, purpose: str, *, app_db_url: str | None = None) -> None:
        self.path = path
        self.purpose = purpose
        self._fd: int | None = None
        self._db = (
            DatabaseWriterLock(app_db_url, purpose)
            if app_db_url and uses_postgresql(app_db_url)
            else None
        )

    @classmethod
    def for_settings(cls, settings: Settings, purpose: str) -> WriterLock:
        """The installation's writer lock: its lock file, and its app database when PostgreSQL."""
        return cls(settings.writer_lock_path, purpose, app_db_url=settings.app_db_url)

    def holder(self) -> dict[str, object]:
        """What the lock file says about its current holder (may be stale if not locked)."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Take the lock or raise WriterBusyError naming the holder."""
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            info = self.holder()
            who = (
                f"{info.get('purpose', 'another process')} (pid {info.get('pid', '?')}, "
                f"since {info.get('since', '?')})"
            )
            raise WriterBusyError(
                f"the warehouse is already being written by {who}; only one writer may run "
                f"at a time. Stop it first, or let it pick up the files in the inbox."
            ) from None
        os.ftruncate(fd, 0)
        record = {
            "pid": os.getpid(),
            "purpose": self.purpose,
            "command": " ".join(sys.argv),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.write(fd, json.dumps(record).encode())
        self._fd = fd
        holder = self._db.acquire() if self._db is not None else None
        if holder is not None:
            self.release()
            raise WriterBusyError(
                f"the warehouse is already being written by {holder}, which holds the writer "
                f"lock in the PostgreSQL app database; only one host may write at a time. Stop "
                f"it first, or run this one's pipeline there."
            )

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._db is not None:
            self._db.release()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """This object currently holds the lock."""
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
