"""App database migrations (Alembic): bring any app database to the newest schema on start.

Every process that opens the app database (web app, scheduler, command line) goes through
`upgrade_app_database`, once per engine: a database at the newest revision costs one query; an
older one is upgraded in one transaction, by one process at a time (PostgreSQL: an advisory
lock; SQLite: a lock file beside the database), so two processes starting together do not both
upgrade; an empty one is created; one created before migrations
existed (tables, no version) is stamped at the baseline, then upgraded.

The revisions live in `migrations/versions/`, one small file each, shipped inside the package.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
# The baseline's tables: a database with all of them and no version predates migrations.
BASELINE_TABLES = frozenset(
    {
        "acct_users",
        "acct_sessions",
        "acct_tokens",
        "exc_items",
        "exc_comments",
        "exc_audit",
        "exc_alert_states",
        "exc_alert_notifications",
    }
)
# Prefixes of the tables the migrations own.
APP_TABLE_PREFIXES = ("acct_", "exc_", "kpi_")
# Serialises upgrades of one PostgreSQL database (pg_advisory_xact_lock key: "ct-migr").
_UPGRADE_LOCK_KEY = 0x63742D6D69677200


class MigrationError(RuntimeError):
    """The app database cannot be brought to this release's schema."""


def is_app_table(name: str) -> bool:
    """Tables the migrations own (accounts, exception workflow, KPI sign-offs), not the
    scheduler's job table."""
    return name.startswith(APP_TABLE_PREFIXES)


def alembic_config(connection: Connection | None = None, **attributes: Any) -> Config:
    """An Alembic configuration over the shipped scripts, running on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


@cache
def head_revision() -> str:
    """The newest revision this release knows."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise MigrationError(
            f"the migration scripts in {MIGRATIONS / 'versions'} have {len(heads)} heads "
            f"({', '.join(sorted(heads))}); each revision must follow exactly one other"
        )
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _upgrade_transaction(engine: Engine) -> Iterator[Connection]:
    """One upgrader at a time: PostgreSQL's advisory lock, or a lock file beside a SQLite file."""
    database = engine.url.database
    with ExitStack() as stack:
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            fd = os.open(f"{database}.upgrade-lock", os.O_RDWR | os.O_CREAT, 0o600)
            stack.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the other upgrader; released on close
        conn = stack.enter_context(engine.begin())
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        yield conn


def upgrade_app_database(engine: Engine) -> str:
    """Bring the app database to the newest revision (see the module docstring); returns it."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return head
    with _upgrade_transaction(engine) as conn:
        current = current_revision(conn)  # again, under the lock: another process may have won
        if current == head:
            return head
        config = alembic_config(conn)
        if current is None and set(inspect(conn).get_table_names()) >= BASELINE_TABLES:
            log.info("app database predates migrations: stamping it at revision %s", BASELINE)
            command.stamp(config, BASELINE)
            current = BASELINE
        log.info("upgrading the app database from revision %s to %s", current or "(empty)", head)
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise MigrationError(
                f"cannot upgrade the app database at {engine.url.render_as_string()} from "
                f"revision {current}: {exc}. A revision this release does not know means a "
                "newer release has upgraded it: run that release (or restore a backup)."
            ) from None
    return head


def history() -> list[tuple[str, str | None, str]]:
    """Every revision, oldest first: (revision, the one it follows, its first docstring line)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    revisions.reverse()
    return [
        (
            r.revision,
            r.down_revision if isinstance(r.down_revision, str) else None,
            (r.doc or "").strip().splitlines()[0] if r.doc else "",
        )
        for r in revisions
    ]
