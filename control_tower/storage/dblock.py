"""The writer lock in a PostgreSQL app database: one writer across hosts.

The file lock (`storage.lock`) keeps two writers of one data folder apart on one host. When
several hosts share a PostgreSQL app database (each with its own warehouse, all writing the
shared exception queue and alert states), only one of them may run the pipeline: the writer
also takes a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its own,
held for as long as it writes. PostgreSQL releases it when that connection ends, so a writer
that dies does not leave the lock behind.

The holder's connection is named after it (`application_name`: purpose, host, pid), so a
refused writer can say who holds the lock.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

# pg_try_advisory_lock key of the warehouse writer ("ct-write" as a 64-bit integer).
WRITER_LOCK_KEY = 0x63742D7772697465
_HOLDER = text(
    """
    SELECT a.application_name, a.pid, a.client_addr, a.backend_start
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """
)


def uses_postgresql(url: str) -> bool:
    """The app database at `url` is a PostgreSQL database."""
    return make_url(url).get_backend_name() == "postgresql"


def holder_name(purpose: str) -> str:
    """How this process names itself to PostgreSQL (at most 63 bytes, the server's limit)."""
    return f"{purpose} on {socket.gethostname()} (pid {os.getpid()})".encode()[:63].decode(
        errors="ignore"
    )


class DatabaseWriterLock:
    """The advisory lock on one PostgreSQL database, on a dedicated autocommit connection."""

    def __init__(self, url: str, purpose: str) -> None:
        self.url = url
        self.purpose = purpose
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def acquire(self) -> str | None:
        """Take the lock; returns None, or who holds it (then this object holds nothing)."""
        engine = create_engine(
            self.url,
            poolclass=NullPool,
            connect_args={"application_name": holder_name(self.purpose)},
        )
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": WRITER_LOCK_KEY}
        if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar_one():
            self._engine, self._conn = engine, conn
            return None
        parts = {"hi": WRITER_LOCK_KEY >> 32, "lo": WRITER_LOCK_KEY & 0xFFFFFFFF}
        row = conn.execute(_HOLDER, parts).first()
        conn.close()
        engine.dispose()
        if row is None:  # released in between: say so rather than guess
            return "another writer (it has just finished; try again)"
        name, pid, address, since = row
        where = f", connected from {address}" if address else ""
        return (
            f"{name or 'an unnamed connection'} (server process {pid}{where}, "
            f"since {since:%Y-%m-%d %H:%M:%S %Z})"
        )

    def release(self) -> None:
        """Release the lock and close its connection (idempotent)."""
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK_KEY}
                )
            finally:
                self._conn.close()
                self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def held(self) -> bool:
        """This object holds the lock."""
        return self._conn is not None
