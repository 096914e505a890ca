"""Private copies of a landed data folder, for tests that change what the app shows.

The app database is SQLite beside the folder, or a PostgreSQL database of its own when the
tests run with one (`tests.support.app_databases`): both helpers work on either.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from control_tower.settings import Settings
from control_tower.storage.appdb import open_app_engine
from control_tower.storage.migrate import is_app_table

UNRESOLVED = "('open', 'acknowledged', 'snoozed')"  # exception statuses still in a queue (SQL)


def private_copy(settings: Settings, home: Path, *, warehouse: bool = False) -> Settings:
    """The folder's snapshots and app database copied to `home` (safe to change); with
    `warehouse`, also the warehouse and the risk models, so the pipeline can run on the copy
    as it would on the original (a delta landed on top of what is there)."""
    shutil.copytree(settings.serving_dir, home / "serving")
    if warehouse:
        shutil.copy2(settings.warehouse_path, home / settings.warehouse_path.name)
        if settings.models_dir.exists():
            shutil.copytree(settings.models_dir, home / settings.models_dir.name)
    copy = settings.with_home(home)
    if copy.app_db_url.startswith("sqlite:"):
        src = sqlite3.connect(settings.app_db_url.removeprefix("sqlite:///"))
        dst = sqlite3.connect(copy.app_db_url.removeprefix("sqlite:///"))
        src.backup(dst)
        src.close()
        dst.close()
    else:
        _copy_rows(settings.app_db_url, copy.app_db_url)
    return copy


def _copy_rows(source_url: str, target_url: str) -> None:
    """Every app table's rows from one PostgreSQL database into a new one (ids kept)."""
    source, target = sa.create_engine(source_url), open_app_engine(target_url)
    tables = sa.MetaData()
    tables.reflect(source, only=lambda name, _meta: is_app_table(name))
    with source.connect() as read, target.begin() as write:
        for table in tables.sorted_tables:
            rows = [dict(r._mapping) for r in read.execute(table.select())]
            if rows:
                write.execute(table.insert(), rows)
            if "id" not in table.c:  # keyed by another table's id: no sequence of its own
                continue
            write.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
            )
    source.dispose()
    target.dispose()


class _Postgres:
    """A psycopg connection that takes sqlite3's `?` placeholders, as the tests write them."""

    def __init__(self, url: str) -> None:
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn = psycopg.connect(dsn)

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), list(params))

    def __enter__(self) -> _Postgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.__exit__(*exc)


def app_db(settings: Settings) -> Any:
    """A connection to the folder's app database (users, exception items); `?` placeholders."""
    if settings.app_db_url.startswith("sqlite:"):
        return sqlite3.connect(settings.app_db_url.removeprefix("sqlite:///"))
    return _Postgres(settings.app_db_url)


def unresolved_ids(settings: Settings, location: str, *, descending: bool = False) -> list[int]:
    """The ids of the location's exception items still in a queue, straight from the app
    database, in id order."""
    order = "DESC" if descending else ""
    with app_db(settings) as db:
        return [
            r[0]
            for r in db.execute(
                f"SELECT id FROM exc_items WHERE location_id = ? AND status IN {UNRESOLVED} "
                f"ORDER BY id {order}",
                [location],
            )
        ]
