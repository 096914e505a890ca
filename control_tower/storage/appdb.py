"""The app database (SQLAlchemy: accounts, exception workflow): engine setup and transactions.

The account store and the exception store share one database file; both open it the same way
(SQLite in WAL mode with a busy timeout, foreign keys on; upgraded to this release's schema by
the migrations of `control_tower.storage.migrate`) and hand out sessions the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from control_tower.settings import create_private_file
from control_tower.storage.migrate import upgrade_app_database


def _sqlite_pragmas(dbapi_con: Any, _record: Any) -> None:
    cur = dbapi_con.cursor()
    # Sign-ins and the workflow write while the pipeline writes: readers do not block the
    # writer and the reverse, and a writer waits rather than fails.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_app_engine(url: str) -> Engine:
    """Connect to the app database at `url`, upgraded to this release's schema (created if new).

    A SQLite file is created owner-only (0600, in an owner-only folder when that is new too);
    SQLite gives its journal files the database file's mode.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private_file(Path(database))
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade_app_database(engine)
    return engine


class Base(DeclarativeBase):
    """Declarative base of the app database's product tables (exceptions, requests,
    notifications, KPI sign-offs): one metadata, so one migration history describes them."""


class AppDatabase:
    """A store over the app database: its engine, sessions, `close` and `with` support."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as s, s.begin():
            yield s
