"""Where test data folders keep their app database: SQLite beside them, or PostgreSQL.

With `CT_TEST_APP_DB=postgresql` the session starts a private PostgreSQL server
(`tests/support/postgres.py`) and every data folder a test makes gets its own database on it
(named after the folder) instead of `<home>/app.sqlite`; a `postgresql+psycopg://` URL instead
of the word uses that server (its admin URL: the user must be allowed to create databases).
`python3 tasks.py test` runs the web tests (not the browser ones) once more this way.

Helpers that read or copy an app database work on both (`data_copies`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from control_tower import settings as settings_module
from tests.support.postgres import create_database, postgres_server, server_binaries

VARIABLE = "CT_TEST_APP_DB"


def requested() -> str | None:
    """ "postgresql", a server's admin URL, or None (SQLite, the default)."""
    value = os.environ.get(VARIABLE, "").strip()
    if value in ("", "sqlite"):
        return None
    if value != "postgresql" and not value.startswith("postgresql"):
        raise pytest.UsageError(
            f"{VARIABLE}={value!r}: use sqlite, postgresql (a private server) or a "
            "postgresql+psycopg:// admin URL"
        )
    return value


@contextmanager
def admin_url(request: str) -> Iterator[str]:
    """The admin URL of the server `request` names, started for the session when needed."""
    if request != "postgresql":
        yield request
        return
    bin_dir = server_binaries()
    if bin_dir is None:
        raise pytest.UsageError(f"{VARIABLE}=postgresql needs Debian's postgresql package")
    with postgres_server(bin_dir) as url:
        yield url


@contextmanager
def postgresql_app_databases(admin: str) -> Iterator[None]:
    """Every data folder's default app database becomes a database of its own on `admin`'s server."""
    made: dict[Path, str] = {}

    def database_of(home: Path) -> str:
        home = home.resolve()
        if home not in made:
            name = "ct_" + hashlib.sha256(str(home).encode()).hexdigest()[:20]
            made[home] = create_database(admin, name)
        return made[home]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings_module, "_default_app_db_url", database_of)
        yield
